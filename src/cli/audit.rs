//! `audit`'s flags: what to audit (subscriptions, groups, tags), how (discovery, parallelism),
//! its rules, thresholds and reports, and `--since` (the fleet's binding history instead).

use clap::Args;

// `audit`'s flags (its about and examples are on `Command::Audit`).
#[derive(Debug, Args, Clone)]
pub struct AuditArgs {
    /// A service every cluster must bind: a source resource id, or a resource type such as
    /// Microsoft.DataProtection/backupVaults (repeatable).
    #[arg(long, value_name = "ID_OR_TYPE")]
    pub require_binding_for: Vec<String>,
    /// ARM requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel: u16,
    /// How clusters are found: Resource Graph (arg), a listing per subscription (arm), or
    /// Resource Graph falling back to ARM when it refuses (auto).
    #[arg(long, value_name = "HOW", value_enum, default_value_t = Discovery::Auto)]
    pub discovery: Discovery,
    /// Audit the subscriptions under this management group (Resource Graph; repeatable).
    #[arg(long = "management-group", value_name = "NAME")]
    pub management_groups: Vec<String>,
    /// Only the clusters of this resource group (repeatable: any of them).
    #[arg(short = 'g', long = "resource-group", value_name = "NAME")]
    pub resource_groups: Vec<String>,
    /// Only the clusters with this tag, `key=value` or `key` for any value (repeatable: all
    /// of them).
    #[arg(long = "tag", value_name = "KEY[=VALUE]")]
    pub tags: Vec<String>,
    /// Instead of auditing: who created, updated or deleted bindings in the audited
    /// subscriptions (and -g groups) over this age (Nd or Nh, at most 90d; 730d with
    /// --workspace), newest first, as `rolebinding history` shows them.
    // The audit's own options are refused beside it (exit 2), never silently ignored.
    #[arg(long, value_name = "AGE", conflicts_with_all = [
        "management_groups", "tags", "require_binding_for", "discovery", "parallel",
        "list_rules", "skip_rules", "max_risk", "fail_level", "allow_unknown", "reports",
        "baseline", "ignore_file", "no_annotations", "services", "access",
    ])]
    pub since: Option<String>,
    /// With --since: read the changes from this Log Analytics workspace's AzureActivity
    /// table (kept beyond 90 days; --since up to 730d): its id (a GUID) or ARM resource id.
    #[arg(long, value_name = "ID", requires = "since")]
    pub workspace: Option<String>,
    #[command(flatten)]
    pub checks: AuditChecks,
}

/// `audit`'s rules, thresholds and reports.
#[derive(Debug, Args, Clone)]
pub struct AuditChecks {
    /// Print the rules (id, level, where each comes from) and exit.
    #[arg(long)]
    pub list_rules: bool,
    /// Do not check this rule (an id such as TA001 or a name; repeatable).
    #[arg(long = "skip-rule", value_name = "ID")]
    pub skip_rules: Vec<String>,
    /// Bindings whose roles are riskier than this are error-level findings (default: a note).
    #[arg(long, value_name = "RISK", value_parser = ["low", "medium", "high"])]
    pub max_risk: Option<String>,
    /// Findings at or above this level make the exit code 4.
    #[arg(long, value_name = "LEVEL", default_value = "error", value_parser = ["error", "warning", "note"])]
    pub fail_level: String,
    /// Exit 0 even when some checks could not be made (verdict unknown); they are still shown.
    #[arg(long)]
    pub allow_unknown: bool,
    /// Also write a report: sarif, junit, markdown or codeclimate (GitLab Code Quality), e.g.
    /// sarif=audit.sarif (repeatable).
    #[arg(long = "report", value_name = "FORMAT=PATH")]
    pub reports: Vec<String>,
    /// A previous `audit -o json`: findings already in it are known and do not fail the run.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<std::path::PathBuf>,
    /// Accepted findings that expire (YAML entries: rule, resource glob, reason, owner, expires):
    /// a live entry suppresses, an expired one fails the run, one matching nothing is stale.
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Option<std::path::PathBuf>,
    /// No CI annotations, even under GitHub Actions (GITHUB_ACTIONS=true) or Azure Pipelines
    /// (TF_BUILD=True).
    #[arg(long)]
    pub no_annotations: bool,
    /// Also check the services that use each cluster (Azure Backup, Azure ML, Defender for
    /// Containers; four Resource Graph queries for the whole scope): a service without its
    /// binding, a binding without its service, a compute attached before its binding, a source
    /// in another subscription.
    #[arg(long)]
    pub services: bool,
    /// Implies --services; also who can drive each binding's source through an Azure role
    /// (Owner, Contributor, Backup Contributor, AzureML roles, any role with write on it),
    /// raising the binding's risk (two more Resource Graph queries: role assignments, and the
    /// subscriptions' management groups, so an assignment at a group above one counts).
    #[arg(long)]
    pub access: bool,
}

/// `audit --discovery`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Discovery {
    Arg,
    Arm,
    Auto,
}
