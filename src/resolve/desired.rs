//! `plan`, `apply` and `export` resolved: the manifest read and checked (file and line on every
//! refusal, exit 2, before any request), prune options, parallelism, how to wait.

use super::Wait;
use crate::cli::{DesiredArgs, GlobalArgs, WaitArgs};
use crate::error::Result;
use crate::manifest::{self, Manifest};
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
    pub resource_group: Option<crate::arm::ids::ResourceGroupName>,
    pub parallel: usize,
    /// `-o` or `--query` given: that format, else YAML (a manifest).
    pub structured: bool,
}

pub fn plan(args: &DesiredArgs, global: &GlobalArgs) -> Result<PlanRequest> {
    Ok(PlanRequest {
        file: args.file.clone(),
        manifest: manifest::load(&args.file)?,
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
            .map(crate::arm::ids::ResourceGroupName::parse)
            .transpose()?,
        parallel: usize::from(parallel),
        structured: global.output.is_some() || global.query.is_some(),
    })
}
