//! `audit` arguments resolved: which clusters (a selector over subscriptions, management groups,
//! resource groups and tags), how to find them, what every cluster must bind, how wide to run.

use crate::cli::audit::{AuditArgs, AuditChecks, Discovery};
use crate::cli::global::GlobalArgs;
use crate::domain::rules::{Level, Risk};
use crate::error::{Error, Result};
use crate::output::ReportFormat;
use crate::resolve::{Request, history};
use crate::settings::Settings;
use std::collections::BTreeMap;

/// `audit`'s options.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub selector: Selector,
    pub discovery: DiscoveryMode,
    pub require_binding_for: Vec<String>,
    pub parallel: usize,
    /// Rule ids (TA001…) not to check.
    pub skip_rules: Vec<&'static str>,
    /// A binding whose risk is above this is an error-level finding.
    pub max_risk: Option<Risk>,
    /// Findings at or above this level (and not in the baseline) make the exit code 4.
    pub fail_level: Level,
    /// Checks that could not be made (verdict unknown) do not keep the exit code from 0.
    pub allow_unknown: bool,
    /// (rule id, resource) of the findings of a previous run (`--baseline`).
    pub baseline: Vec<(String, String)>,
    /// `--ignore-file`: accepted findings, each until its expiry date.
    pub ignore: Option<std::sync::Arc<crate::domain::suppressions::IgnoreFile>>,
    /// `--report FORMAT=PATH`.
    pub reports: Vec<(ReportFormat, std::path::PathBuf)>,
    /// Print the rules and stop.
    pub list_rules: bool,
    /// Findings as CI annotations: GitHub Actions' (GITHUB_ACTIONS=true) or Azure DevOps'
    /// logging commands (TF_BUILD=True); none with --no-annotations.
    pub annotations: Option<Annotations>,
    /// `--services`: the service rules (Resource Graph's service tables).
    pub services: bool,
    /// `--access`: who can drive each source (implies `services`).
    pub access: bool,
}

/// Where clusters come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiscoveryMode {
    /// Resource Graph only.
    Arg,
    /// A cluster listing per subscription through ARM.
    Arm,
    /// Resource Graph, falling back to ARM when Resource Graph refuses (403, not registered).
    #[default]
    Auto,
}

/// Which clusters: scope (subscriptions, management groups) and filters.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    /// Ids or display names; empty (and no management group) = every visible subscription.
    pub subscriptions: Vec<String>,
    /// Management group names (Resource Graph only).
    pub management_groups: Vec<String>,
    /// Keep clusters in these resource groups (case-insensitive); empty = all.
    pub resource_groups: Vec<String>,
    /// Keep clusters carrying every one of these tags (`key`, or `key` = value).
    pub tags: Vec<(String, Option<String>)>,
}

impl Selector {
    /// Whether a cluster passes the resource-group and tag filters.
    pub fn keeps(&self, group: &str, tags: &BTreeMap<String, String>) -> bool {
        let group_ok = self.resource_groups.is_empty()
            || self
                .resource_groups
                .iter()
                .any(|g| g.eq_ignore_ascii_case(group));
        let tags_ok = self.tags.iter().all(|(key, value)| {
            tags.iter().any(|(k, v)| {
                k.eq_ignore_ascii_case(key) && value.as_ref().is_none_or(|want| want == v)
            })
        });
        group_ok && tags_ok
    }
}

impl From<Discovery> for DiscoveryMode {
    fn from(flag: Discovery) -> Self {
        match flag {
            Discovery::Arg => DiscoveryMode::Arg,
            Discovery::Arm => DiscoveryMode::Arm,
            Discovery::Auto => DiscoveryMode::Auto,
        }
    }
}

/// Which CI system's annotations the audit writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Annotations {
    /// `::error title=…::…` workflow commands.
    GitHub,
    /// `##vso[task.logissue …]` logging commands.
    AzureDevOps,
}

impl Annotations {
    /// The CI system the run is under: GitHub Actions sets GITHUB_ACTIONS=true, Azure
    /// Pipelines TF_BUILD=True.
    pub fn from_environment() -> Option<Self> {
        if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
            Some(Annotations::GitHub)
        } else if std::env::var("TF_BUILD").is_ok_and(|v| v.eq_ignore_ascii_case("true")) {
            Some(Annotations::AzureDevOps)
        } else {
            None
        }
    }
}

/// `audit`: the fleet audit, or with `--since` the fleet's binding history.
pub fn request(args: &AuditArgs, global: &GlobalArgs, settings: &Settings) -> Result<Request> {
    if let Some(since) = &args.since {
        return Ok(Request::History(history::fleet(
            &global.subscription,
            &args.resource_groups,
            since,
            args.workspace.as_deref(),
        )?));
    }
    Ok(Request::Audit(AuditOptions {
        selector: Selector {
            subscriptions: settings.subscriptions.clone(),
            management_groups: args.management_groups.clone(),
            resource_groups: resource_groups(&args.resource_groups)?,
            tags: tags(&args.tags)?,
        },
        discovery: DiscoveryMode::from(args.discovery),
        require_binding_for: args.require_binding_for.clone(),
        parallel: usize::from(args.parallel),
        ..checks(&args.checks)?
    }))
}

/// `-g/--resource-group` (repeatable): names ARM would accept, checked before any request.
pub fn resource_groups(raw: &[String]) -> Result<Vec<String>> {
    raw.iter()
        .map(|g| {
            crate::domain::ids::ResourceGroupName::parse(g.trim()).map(|_| g.trim().to_string())
        })
        .collect()
}

/// `--tag` (repeatable) in az's `key[=value]` form (`az resource list --tag`): `key` alone
/// matches any value. Tag names compare case-insensitively (as ARM's do), values exactly.
pub fn tags(raw: &[String]) -> Result<Vec<(String, Option<String>)>> {
    raw.iter()
        .map(|t| {
            let (key, value) = match t.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.to_string())),
                None => (t.trim(), None),
            };
            if key.is_empty() {
                return Err(Error::usage_with_hint(
                    format!("--tag '{t}': the tag has no name"),
                    "give KEY=VALUE, or KEY for any value, e.g. --tag env=prod",
                ));
            }
            Ok((key.to_string(), value))
        })
        .collect()
}

/// `audit`'s rule, threshold and report flags, checked before any request; the other fields
/// are defaults the caller fills in.
pub fn checks(flags: &AuditChecks) -> Result<AuditOptions> {
    let skip_rules = flags
        .skip_rules
        .iter()
        .map(|id| {
            crate::domain::rules::rule(id).map(|r| r.id).ok_or_else(|| {
                Error::usage_with_hint(
                    format!("--skip-rule: no rule '{id}'"),
                    "see the rules with 'aks-trustedaccess audit --list-rules'",
                )
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let reports = flags
        .reports
        .iter()
        .map(|raw| {
            let (format, path) = raw.split_once('=').unwrap_or((raw, ""));
            match (ReportFormat::parse(format), path.is_empty()) {
                (Some(f), false) => Ok((f, std::path::PathBuf::from(path))),
                _ => Err(Error::usage_with_hint(
                    format!("--report '{raw}': expected FORMAT=PATH"),
                    "formats: sarif, junit, markdown, codeclimate; e.g. --report sarif=audit.sarif",
                )),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let baseline = match &flags.baseline {
        Some(path) => read_baseline(path)?,
        None => Vec::new(),
    };
    Ok(AuditOptions {
        selector: Selector::default(),
        discovery: DiscoveryMode::default(),
        require_binding_for: Vec::new(),
        parallel: 16,
        skip_rules,
        max_risk: flags.max_risk.as_deref().and_then(Risk::parse),
        fail_level: Level::parse(&flags.fail_level).unwrap_or(Level::Error),
        allow_unknown: flags.allow_unknown,
        baseline,
        ignore: match &flags.ignore_file {
            Some(path) => Some(std::sync::Arc::new(read_ignore_file(path)?)),
            None => None,
        },
        reports,
        list_rules: flags.list_rules,
        annotations: if flags.no_annotations {
            None
        } else {
            Annotations::from_environment()
        },
        services: flags.services || flags.access,
        access: flags.access,
    })
}

/// The (rule id, resource) pairs of a previous `audit -o json`.
fn read_baseline(path: &std::path::Path) -> Result<Vec<(String, String)>> {
    let bad = |why: String| {
        Error::usage_with_hint(
            format!("--baseline {}: {why}", path.display()),
            "give the output of a previous 'aks-trustedaccess audit -o json'",
        )
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&text).map_err(|e| bad(format!("not an audit report ({e})")))?;
    Ok(rows
        .iter()
        .flat_map(|row| row["results"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| {
            Some((
                f["ruleId"].as_str()?.to_string(),
                f["resource"].as_str()?.to_string(),
            ))
        })
        .collect())
}

/// An ignore file larger than this is refused unread (thousands of entries fit in a few
/// hundred KiB).
const MAX_IGNORE_BYTES: u64 = 4 * 1024 * 1024;

/// Reads and checks `--ignore-file`.
fn read_ignore_file(path: &std::path::Path) -> Result<crate::domain::suppressions::IgnoreFile> {
    let file = path.display().to_string();
    let unreadable = |e: std::io::Error| {
        Error::usage_with_hint(
            format!("cannot read the ignore file {file}: {e}"),
            crate::domain::suppressions::HINT,
        )
    };
    let size = std::fs::metadata(path).map_err(unreadable)?.len();
    if size > MAX_IGNORE_BYTES {
        return Err(Error::usage(format!(
            "{file}: the ignore file is {size} bytes, more than the {MAX_IGNORE_BYTES} this tool reads"
        )));
    }
    let text = std::fs::read_to_string(path).map_err(unreadable)?;
    crate::domain::suppressions::parse(&text, &file)
}
