//! `plan`, `apply` and `export` resolved: the manifest read and checked (file and line on every
//! refusal, exit 2, before any request), prune options, parallelism, how to wait.

use super::Wait;
use crate::cli::desired::DesiredArgs;
use crate::cli::global::WaitArgs;
use crate::domain::manifest::{self, Manifest};
use crate::domain::provenance::Platform;
use crate::domain::services::Service;
use crate::error::Error;
use crate::error::Result;
use crate::settings::Settings;
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

/// What `--prune` may delete.
#[derive(Debug, Clone, Default)]
pub struct PruneOptions {
    /// `--prune`: delete bindings no entry describes.
    pub prune: bool,
    /// `--prune-platform NAME`: the platforms whose bindings may be pruned too.
    pub platforms: Vec<Platform>,
}

/// `plan` (and the planning half of `apply`).
#[derive(Debug)]
pub struct PlanRequest {
    /// The manifest's path, or `--require` when only services were required.
    pub file: PathBuf,
    pub manifest: Manifest,
    /// `--require`: the services whose bindings are desired state too.
    pub require: Vec<Service>,
    /// `--subscription` values: where `--require` looks for the services.
    pub subscriptions: Vec<String>,
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
    /// `--wait-effective`: after the writes, wait until the written bindings take effect.
    pub wait_effective: bool,
}

/// `export`.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// `--subscription` values (ids or display names); empty: every Enabled subscription.
    pub subscriptions: Vec<String>,
    pub resource_group: Option<crate::domain::ids::ResourceGroupName>,
    pub parallel: usize,
    /// `-o` or `--query` given: that format, else `plain` (YAML, or JSON with `--format json`).
    pub structured: bool,
    pub plain: crate::output::OutputFormat,
}

/// `--prune-platform` values: platform names (`defender`, `backup`, …); anything else is a
/// usage error before any request.
fn platforms(raw: &[String]) -> Result<Vec<Platform>> {
    raw.iter()
        .map(|name| {
            Platform::parse(name).ok_or_else(|| {
                let known: Vec<&str> = Platform::ALL.iter().map(|p| p.name()).collect();
                Error::usage_with_hint(
                    format!("--prune-platform '{name}' is not a platform"),
                    format!(
                        "name a platform whose bindings --prune may delete: {}",
                        known.join(", ")
                    ),
                )
            })
        })
        .collect()
}

/// `--require` values: service names, repeatable or comma-separated; anything else is a usage
/// error before any request.
pub fn required_services(raw: &[String]) -> Result<Vec<Service>> {
    let mut out = Vec::new();
    for name in raw {
        let service = Service::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Service::ALL.iter().map(|s| s.name()).collect();
            Error::usage_with_hint(
                format!("--require '{name}' is not a service"),
                format!(
                    "name a service whose bindings become desired state: {}",
                    known.join(", ")
                ),
            )
        })?;
        if !out.contains(&service) {
            out.push(service);
        }
    }
    Ok(out)
}

pub fn plan(args: &DesiredArgs, settings: &Settings) -> Result<PlanRequest> {
    let require = required_services(&args.require)?;
    if args.prune && args.file.is_none() {
        return Err(Error::usage_with_hint(
            "--prune needs a manifest (-f): with --require alone it would delete every binding the services do not need",
            "give the manifest of the other bindings with -f, or leave out --prune",
        ));
    }
    let (file, manifest) = match &args.file {
        Some(file) => (file.clone(), load(file)?),
        None => (
            PathBuf::from("--require"),
            Manifest {
                file: "--require".into(),
                entries: Vec::new(),
            },
        ),
    };
    Ok(PlanRequest {
        file,
        manifest,
        require,
        subscriptions: settings.subscriptions.clone(),
        prune: PruneOptions {
            prune: args.prune,
            platforms: platforms(&args.prune_platform)?,
        },
        parallel: usize::from(args.parallel),
        structured: settings.output.flags_chose,
    })
}

pub fn apply(
    args: &DesiredArgs,
    settings: &Settings,
    yes: bool,
    dry_run: bool,
    wait: &WaitArgs,
    wait_effective: bool,
) -> Result<ApplyRequest> {
    Ok(ApplyRequest {
        plan: plan(args, settings)?,
        confirmed: yes,
        dry_run,
        wait_effective,
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
    settings: &Settings,
) -> Result<ExportRequest> {
    Ok(ExportRequest {
        subscriptions: settings.subscriptions.clone(),
        resource_group: resource_group
            .map(crate::domain::ids::ResourceGroupName::parse)
            .transpose()?,
        parallel: usize::from(parallel),
        structured: settings.output.flags_chose,
        plain: crate::output::OutputFormat::Yaml,
    })
}

/// A manifest larger than this is refused unread (a fleet of 10,000 clusters fits in a few MiB).
const MAX_MANIFEST_BYTES: u64 = 32 * 1024 * 1024;

/// Reads and validates a manifest file (`-` reads stdin). The size bound holds on the stream
/// (`/dev/zero`, `/dev/stdin`, a FIFO), and more than it is an error, never a cut manifest.
pub fn load(path: &Path) -> Result<Manifest> {
    let file = path.display().to_string();
    let bytes =
        super::input::read_input(path, MAX_MANIFEST_BYTES).map_err(|e| match file.as_str() {
            "-" => Error::usage(format!("cannot read the manifest from stdin: {e}")),
            _ => Error::usage(format!("cannot read the manifest {file}: {e}")),
        })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::usage(format!("{file}: the manifest is not UTF-8 text")))?;
    if let Some((line, depth)) = too_deep(&text) {
        return Err(Error::usage_with_hint(
            format!(
                "{file}:{line}: the manifest nests deeper than {MAX_MANIFEST_NESTING} levels ({depth}); a manifest needs a handful"
            ),
            "see 'Desired state' in the README for the manifest's format",
        ));
    }
    manifest::parse(&text, &file)
}

/// The deepest nesting a manifest may have, before it is parsed: the schema needs about six
/// levels; the YAML parser's time grows with the square of the depth (400 KB of `[` took 74 s).
const MAX_MANIFEST_NESTING: usize = 64;

/// The first line where the nesting passes [`MAX_MANIFEST_NESTING`], and the depth there: flow
/// brackets (`[`, `{`, outside quotes and comments) plus block levels (leading `- `, `? `
/// markers, and indentation at two columns a level, generously counted as one per 4 columns).
fn too_deep(text: &str) -> Option<(usize, usize)> {
    let mut flow = 0usize;
    for (index, line) in text.lines().enumerate() {
        let rest = line.trim_start_matches(' ');
        let indent = line.len() - rest.len();
        let mut markers = 0;
        let mut tail = rest;
        while let Some(after) = tail.strip_prefix("- ").or_else(|| tail.strip_prefix("? ")) {
            markers += 1;
            tail = after.trim_start_matches(' ');
        }
        let mut quote: Option<char> = None;
        let mut previous = ' ';
        for c in line.chars() {
            match (quote, c) {
                (Some('"'), _) if previous == '\\' => {
                    previous = ' ';
                    continue;
                }
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '#') if previous.is_whitespace() => break,
                (None, '[' | '{') => flow += 1,
                (None, ']' | '}') => flow = flow.saturating_sub(1),
                _ => {}
            }
            previous = c;
        }
        let depth = flow + markers + indent / 4;
        if depth > MAX_MANIFEST_NESTING {
            return Some((index + 1, depth));
        }
    }
    None
}
