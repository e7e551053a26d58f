//! `plan`, `apply` and `export` resolved: the manifest read and checked (file and line on every
//! refusal, exit 2, before any request), prune options, parallelism, how to wait.

use super::Wait;
use crate::cli::{DesiredArgs, GlobalArgs, WaitArgs};
use crate::domain::manifest::{self, Manifest};
use crate::error::Error;
use crate::error::Result;
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

/// What `--prune` may delete.
#[derive(Debug, Clone, Default)]
pub struct PruneOptions {
    /// `--prune`: delete bindings no entry describes.
    pub prune: bool,
    /// `--prune-platform NAME`: platform bindings that may be pruned too (names, any case).
    pub platform: Vec<String>,
}

/// `plan` (and the planning half of `apply`).
#[derive(Debug)]
pub struct PlanRequest {
    pub file: PathBuf,
    pub manifest: Manifest,
    pub prune: PruneOptions,
    pub parallel: usize,
    /// `-o` or `--query` given: print the list of actions, else the readable diff.
    pub structured: bool,
}

/// `apply`.
#[derive(Debug)]
pub struct ApplyRequest {
    pub plan: PlanRequest,
    /// `--yes`: deletes and replacements need no confirmation.
    pub confirmed: bool,
    /// `--dry-run`: only plan.
    pub dry_run: bool,
    pub wait: Wait,
}

/// `export`.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// `--subscription` values (ids or display names); empty: every Enabled subscription.
    pub subscriptions: Vec<String>,
    pub resource_group: Option<crate::domain::ids::ResourceGroupName>,
    pub parallel: usize,
    /// `-o` or `--query` given: that format, else YAML (a manifest).
    pub structured: bool,
}

pub fn plan(args: &DesiredArgs, global: &GlobalArgs) -> Result<PlanRequest> {
    Ok(PlanRequest {
        file: args.file.clone(),
        manifest: load(&args.file)?,
        prune: PruneOptions {
            prune: args.prune,
            platform: args.prune_platform.clone(),
        },
        parallel: usize::from(args.parallel),
        structured: global.output.is_some() || global.query.is_some(),
    })
}

pub fn apply(
    args: &DesiredArgs,
    global: &GlobalArgs,
    yes: bool,
    dry_run: bool,
    wait: &WaitArgs,
) -> Result<ApplyRequest> {
    Ok(ApplyRequest {
        plan: plan(args, global)?,
        confirmed: yes,
        dry_run,
        wait: if wait.no_wait {
            Wait::Accepted
        } else {
            Wait::Done {
                timeout: wait.timeout.map(Duration::from_secs),
            }
        },
    })
}

pub fn export(
    resource_group: Option<&str>,
    parallel: u16,
    global: &GlobalArgs,
) -> Result<ExportRequest> {
    Ok(ExportRequest {
        subscriptions: global.subscription.clone(),
        resource_group: resource_group
            .map(crate::domain::ids::ResourceGroupName::parse)
            .transpose()?,
        parallel: usize::from(parallel),
        structured: global.output.is_some() || global.query.is_some(),
    })
}

/// A manifest larger than this is refused unread (a fleet of 10,000 clusters fits in a few MiB).
const MAX_MANIFEST_BYTES: u64 = 32 * 1024 * 1024;

/// Reads and validates a manifest file (`-` reads stdin).
pub fn load(path: &Path) -> Result<Manifest> {
    let file = path.display().to_string();
    let text = if file == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut std::io::Read::take(std::io::stdin(), MAX_MANIFEST_BYTES),
            &mut text,
        )
        .map_err(|e| Error::usage(format!("cannot read the manifest from stdin: {e}")))?;
        text
    } else {
        let size = std::fs::metadata(path)
            .map_err(|e| Error::usage(format!("cannot read the manifest {file}: {e}")))?
            .len();
        if size > MAX_MANIFEST_BYTES {
            return Err(Error::usage(format!(
                "{file}: the manifest is {size} bytes, more than the {MAX_MANIFEST_BYTES} this tool reads"
            )));
        }
        std::fs::read_to_string(path)
            .map_err(|e| Error::usage(format!("cannot read the manifest {file}: {e}")))?
    };
    manifest::parse(&text, &file)
}
