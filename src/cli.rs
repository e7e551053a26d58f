//! The whole command-line tree (clap derive). Doc comments are the help text; no logic lives here.

use crate::output::OutputFormat;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// Examples and the exit-code table, after the top-level help.
const TOP_LEVEL_HELP: &str = concat!(
    "Examples:
  The roles a Machine Learning workspace or a Backup vault can be granted:
    aks-trustedaccess role list -l westeurope -o table
  The bindings of a cluster, as a table with their roles:
    aks-trustedaccess rolebinding list -g myResourceGroup \\
      --cluster-name myCluster -o table
  Every cluster of every subscription, checked:
    aks-trustedaccess audit -o table
  Try it offline, with no Azure account:
    aks-trustedaccess-emulator --port 8080 &
    export AKS_TRUSTEDACCESS_ARM_ENDPOINT=http://127.0.0.1:8080
    export AKS_TRUSTEDACCESS_ACCESS_TOKEN=emulator
    export AZURE_SUBSCRIPTION_ID=00000000-0000-0000-0000-000000000000
    aks-trustedaccess rolebinding list -g rg1 --cluster-name cluster1

",
    crate::error::exit_code_help!()
);

#[derive(Debug, Parser)]
#[command(
    name = "aks-trustedaccess",
    version,
    about = "Manage AKS Trusted Access roles and role bindings (a fast, az-compatible 'az aks trustedaccess').",
    long_about = "Manage AKS Trusted Access roles and role bindings.\n\n\
        Trusted Access lets an Azure service (a Machine Learning workspace, a Backup vault, Defender \
        for Containers) reach a cluster's Kubernetes API as its managed identity, limited to the \
        permissions of a Trusted Access role. A role binding on the cluster ties a source resource \
        to roles.\n\n\
        Flags, JSON output and exit codes match 'az aks trustedaccess'.",
    arg_required_else_help = true,
    // argparse's conventions, which az scripts rely on: an unambiguous prefix of a long option
    // is that option (`--cluster` for `--cluster-name`), and a single-value option given twice
    // takes the last value (`-o json -o tsv`). Both settings are global (every subcommand).
    infer_long_args = true,
    args_override_self = true,
    after_help = TOP_LEVEL_HELP,
    after_long_help = TOP_LEVEL_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Flags accepted by every command, as in az: listed under their own heading in every help.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Global Arguments")]
pub struct GlobalArgs {
    /// Subscription id or display name. Default: AZURE_SUBSCRIPTION_ID, then az's default
    /// subscription. `audit` takes several.
    #[arg(long, global = true, value_name = "ID_OR_NAME", action = ArgAction::Append)]
    pub subscription: Vec<String>,

    /// Output format. Default: json, or az's `[core] output` / AZURE_CORE_OUTPUT.
    #[arg(
        short = 'o',
        long,
        global = true,
        value_name = "FORMAT",
        ignore_case = true
    )]
    pub output: Option<OutputFormat>,

    /// JMESPath query applied to the output (see http://jmespath.org/).
    #[arg(long, global = true, value_name = "JMESPATH")]
    pub query: Option<String>,

    /// Log every request and response to stderr (tokens redacted).
    #[arg(long, global = true)]
    pub debug: bool,

    /// Log one line per request to stderr.
    #[arg(long, global = true)]
    pub verbose: bool,

    /// Show only errors, suppressing warnings.
    #[arg(long, global = true)]
    pub only_show_errors: bool,

    /// How to sign in; auto takes the first that applies (see the README).
    #[arg(
        long,
        global = true,
        value_name = "METHOD",
        env = "AKS_TRUSTEDACCESS_AUTH",
        default_value = "auto",
        ignore_case = true
    )]
    pub auth: crate::arm::auth::AuthMethod,

    /// Do not cache az/azd tokens across invocations.
    #[arg(long, global = true, env = "AKS_TRUSTEDACCESS_NO_TOKEN_CACHE", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false, num_args = 0, default_missing_value = "true")]
    pub no_token_cache: bool,

    /// Azure cloud. Default: az's active cloud, else AzureCloud.
    #[arg(long, global = true, value_name = "CLOUD", ignore_case = true)]
    pub cloud: Option<crate::arm::cloud::Cloud>,

    /// Retries of a throttled (429), failed (5xx, 408) or dropped request.
    #[arg(
        long,
        global = true,
        value_name = "N",
        env = "AKS_TRUSTEDACCESS_MAX_RETRIES",
        default_value_t = 10,
        hide_env_values = true
    )]
    pub max_retries: u32,

    /// Milliseconds before the first retry when the server names no wait (doubles each retry).
    #[arg(
        long,
        global = true,
        value_name = "MS",
        env = "AKS_TRUSTEDACCESS_RETRY_DELAY_MS",
        default_value_t = 250,
        hide_env_values = true
    )]
    pub retry_delay_ms: u64,

    /// Seconds of waiting between retries of one request, at most.
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        env = "AKS_TRUSTEDACCESS_RETRY_BUDGET",
        default_value_t = 60
    )]
    pub retry_budget: u64,

    /// Seconds one HTTP request may take before it is abandoned (and retried).
    #[arg(long, global = true, value_name = "SECONDS", env = "AKS_TRUSTEDACCESS_REQUEST_TIMEOUT", default_value_t = 60, value_parser = positive_seconds)]
    pub request_timeout: u64,
}

/// Checks before a write, and the dry run.
#[derive(Debug, Args, Clone, Default)]
pub struct WriteChecks {
    /// Send the request without checking the roles against the cluster's location catalog
    /// (the catalog can differ per subscription).
    #[arg(long)]
    pub skip_validation: bool,

    /// Run the checks and print the request that would be sent (method, URL, body); send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// How long a write may wait for its long-running operation.
#[derive(Debug, Args, Clone, Default)]
pub struct WaitArgs {
    /// Return once ARM has accepted the request, without waiting for it to finish.
    #[arg(long)]
    pub no_wait: bool,

    /// Give up waiting for the operation after this many seconds (it keeps running in Azure).
    #[arg(long, value_name = "SECONDS", conflicts_with = "no_wait", value_parser = positive_seconds)]
    pub timeout: Option<u64>,
}

/// A whole number of seconds, at least 1 (clap's range parser would say `0 is not in
/// 1..18446744073709551615`).
fn positive_seconds(raw: &str) -> Result<u64, String> {
    match raw.trim().parse::<u64>() {
        Ok(0) => Err("must be at least 1 second".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{raw}' is not a whole number of seconds")),
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Trusted Access roles a source resource type can be granted.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Role bindings on a managed cluster.
    #[command(subcommand)]
    Rolebinding(RolebindingCommand),
    /// Troubleshoot a partner service's data-plane token (a 401 from the AKS gateway).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Audit Trusted Access across subscriptions: each cluster's bindings, identity and roles.
    #[command(
        after_help = "Verdicts: pass; fail (no binding, identity not system-assigned, a role gone
from the location's catalog, a binding not Succeeded, a required service not
bound); error (could not read); skipped (subscription not Enabled). Exit 0 when
every cluster passes, 4 on findings, 1 on errors.

Examples:
  Every enabled subscription you can see, as a table:
    aks-trustedaccess audit -o table
  Two subscriptions; every cluster must let its Backup vault in:
    aks-trustedaccess audit --subscription Prod --subscription Staging \\
      --require-binding-for Microsoft.DataProtection/backupVaults
  Only the failing clusters and why:
    aks-trustedaccess audit \\
      --query \"[?verdict!='pass'].{cluster:cluster, findings:findings}\"
  Who changed bindings in the last 30 days, in every enabled subscription:
    aks-trustedaccess audit --since 30d -o table
  Try it on a generated fleet:
    aks-trustedaccess-emulator --fleet 20x50x2 --latency-ms 20"
    )]
    Audit {
        /// A service every cluster must bind: a source resource id, or a resource type such as
        /// Microsoft.DataProtection/backupVaults (repeatable).
        #[arg(long, value_name = "ID_OR_TYPE")]
        require_binding_for: Vec<String>,
        /// ARM requests in flight at once.
        #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
        parallel: u16,
        /// How clusters are found: Resource Graph (arg), a listing per subscription (arm), or
        /// Resource Graph falling back to ARM when it refuses (auto).
        #[arg(long, value_name = "HOW", value_enum, default_value_t = Discovery::Auto)]
        discovery: Discovery,
        /// Audit the subscriptions under this management group (Resource Graph; repeatable).
        #[arg(long = "management-group", value_name = "NAME")]
        management_groups: Vec<String>,
        /// Only the clusters of this resource group (repeatable: any of them).
        #[arg(short = 'g', long = "resource-group", value_name = "NAME")]
        resource_groups: Vec<String>,
        /// Only the clusters with this tag, `key=value` or `key` for any value (repeatable: all
        /// of them).
        #[arg(long = "tag", value_name = "KEY[=VALUE]")]
        tags: Vec<String>,
        /// Instead of auditing: who created, updated or deleted bindings in the audited
        /// subscriptions (and -g groups) over this age (Nd or Nh, at most 90d), newest first, as
        /// `rolebinding history` shows them.
        // The audit's own options are refused beside it (exit 2), never silently ignored.
        #[arg(long, value_name = "AGE", conflicts_with_all = [
            "management_groups", "tags", "require_binding_for", "discovery", "parallel",
            "list_rules", "skip_rules", "max_risk", "fail_level", "allow_unknown", "reports",
            "baseline", "ignore_file", "no_annotations",
        ])]
        since: Option<String>,
        #[command(flatten)]
        checks: AuditChecks,
    },
    /// Show what `apply` would change so the clusters match a manifest (exit 4 when anything would).
    #[command(
        after_help = "Actions: + create, ~ update (roles, in place), -/+ replace (the source
changes: delete then create, access is lost in between), - delete (only with
--prune), = adopt (the source is already bound under another name: left as is).
Exit 0 no changes, 4 changes pending, 1 error, 2 invalid manifest or a plan the
service would refuse.

Examples:
  What would change (a diff; -o json for a list of actions):
    aks-trustedaccess plan -f bindings.yaml
  Also delete bindings the manifest does not describe:
    aks-trustedaccess plan -f bindings.yaml --prune"
    )]
    Plan {
        #[command(flatten)]
        desired: DesiredArgs,
    },
    /// Make the clusters match a manifest: create, update, replace and (with --prune) delete bindings.
    #[command(
        after_help = "Deletes and replacements remove access: they are confirmed on a terminal
and need --yes otherwise. Re-running is safe: apply reads the clusters again
and does only what is missing. Exit 0 when every write succeeded, 1 when any
failed (the summary says which and why), 2 invalid manifest or a plan the
service would refuse (nothing written).

Examples:
  Apply, 32 clusters at a time, deletes allowed:
    aks-trustedaccess apply -f bindings.yaml --prune --yes --parallel 32
  Only show what would change:
    aks-trustedaccess apply -f bindings.yaml --dry-run"
    )]
    Apply {
        #[command(flatten)]
        desired: DesiredArgs,
        /// Do not ask before deleting or replacing bindings.
        #[arg(short = 'y', long)]
        yes: bool,
        /// Only plan: print what would change, write nothing (exit 0 or 4, as plan).
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Print a manifest of the bindings that exist (identical bindings grouped), for plan and apply.
    #[command(after_help = "Examples:
  Every cluster of two subscriptions, as YAML:
    aks-trustedaccess export --subscription Prod --subscription Staging >f.yaml
  One resource group, as JSON:
    aks-trustedaccess export --subscription Prod -g myResourceGroup -o json
  As Terraform (azurerm, with import blocks), into main.tf:
    aks-trustedaccess export --format terraform > main.tf
  As Bicep modules, one per resource group:
    aks-trustedaccess export --format bicep --output-dir infra")]
    Export {
        /// Only the clusters of this resource group.
        #[arg(short = 'g', long = "resource-group", value_name = "NAME")]
        resource_group: Option<String>,
        /// ARM requests in flight at once.
        #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
        parallel: u16,
        #[command(flatten)]
        code: ExportCodeArgs,
    },
    /// Print a shell completion script.
    #[command(after_help = "Examples:
  bash:
    aks-trustedaccess completion bash \\
      > ~/.local/share/bash-completion/completions/aks-trustedaccess
  zsh:
    aks-trustedaccess completion zsh > \"${fpath[1]}/_aks-trustedaccess\"
  fish:
    aks-trustedaccess completion fish \\
      > ~/.config/fish/completions/aks-trustedaccess.fish
  PowerShell:
    aks-trustedaccess completion powershell | Out-String | Invoke-Expression")]
    Completion {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Write the man pages (roff), one per command, into a directory, for packagers.
    Man {
        /// The directory to write aks-trustedaccess.1, aks-trustedaccess-role.1, … into.
        #[arg(value_name = "DIR")]
        dir: std::path::PathBuf,
    },
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
}

/// `audit --discovery`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Discovery {
    Arg,
    Arm,
    Auto,
}

/// `export`'s formats: the manifest, or infrastructure as code.
#[derive(Debug, Args, Clone)]
pub struct ExportCodeArgs {
    /// yaml or json: the manifest (default yaml; -o picks its format too). terraform,
    /// terraform-azapi, bicep, arm: the bindings as code, with import blocks for Terraform.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<ExportFormat>,
    /// Write the files into this directory instead of stdout (bicep needs it: a main file and
    /// one module per subscription and resource group). Existing files are never replaced
    /// unless --force.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<std::path::PathBuf>,
    /// Replace files that already exist in --output-dir.
    #[arg(long, requires = "output_dir")]
    pub force: bool,
    /// Keep the bindings a platform made (Defender, Backup) in code formats, which leave them
    /// out by default (the manifest always lists them).
    #[arg(long)]
    pub include_platform: bool,
    /// The api-version written into the azapi, Bicep and ARM resource types.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub api_version: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Yaml,
    Json,
    Terraform,
    TerraformAzapi,
    Bicep,
    Arm,
}

/// The manifest and scope of `plan` and `apply`.
#[derive(Debug, Args, Clone)]
pub struct DesiredArgs {
    /// The manifest (YAML or JSON; '-' reads stdin).
    #[arg(short = 'f', long = "file", value_name = "FILE", required = true)]
    pub file: std::path::PathBuf,
    /// Also delete the bindings of the selected clusters that no entry describes (never those
    /// made by platforms such as Defender or Backup, unless named with --prune-platform).
    #[arg(long)]
    pub prune: bool,
    /// A platform whose bindings --prune may delete too: defender, backup, application or
    /// managed-identity (repeatable).
    #[arg(long, value_name = "NAME", action = ArgAction::Append, requires = "prune")]
    pub prune_platform: Vec<String>,
    /// Clusters read and written at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel: u16,
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// List the Trusted Access roles offered in a location.
    #[command(after_help = "Examples:
  List the roles available in West Europe:
    aks-trustedaccess role list -l westeurope
  Display names work too:
    aks-trustedaccess role list -l \"West Europe\"
  The roles for Backup vaults (type names vary in case: compare without it):
    aks-trustedaccess role list -l westeurope -o tsv \\
      --query \"[].[sourceResourceType, name]\" \\
      | grep -i '^Microsoft.DataProtection/backupVaults'")]
    List {
        /// Location, short name or display name. Default: az's `[defaults] location`.
        #[arg(short = 'l', long, value_name = "LOCATION")]
        location: Option<String>,
    },
    /// Show one role's Kubernetes rules and its risk level, with the reasons.
    #[command(
        after_help = "Risk: high (reads secrets, exec/attach into pods, writes RBAC objects,
escalate/bind/impersonate), medium (wildcards, cluster-wide writes), else low.
The same levels as audit's privilege rule (TA008).

Examples:
  The rules of Azure Machine Learning's role, as a table:
    aks-trustedaccess role show -l westeurope mlworkload -o table
  By its full name (when two source types share a role name):
    aks-trustedaccess role show -l westeurope \\
      Microsoft.MachineLearningServices/workspaces/mlworkload"
    )]
    Show {
        /// Location, short name or display name. Default: az's `[defaults] location`.
        #[arg(short = 'l', long, value_name = "LOCATION")]
        location: Option<String>,
        /// The role: its name (mlworkload) or with its source type
        /// (Microsoft.MachineLearningServices/workspaces/mlworkload).
        #[arg(value_name = "NAME")]
        name: String,
    },
}

/// The managed cluster a binding command acts on.
#[derive(Debug, Args, Clone)]
pub struct ClusterArgs {
    /// Name of the resource group. Default: az's `[defaults] group`.
    #[arg(short = 'g', long = "resource-group", value_name = "NAME")]
    pub resource_group: Option<String>,

    /// Name of the managed cluster.
    #[arg(long = "cluster-name", value_name = "NAME", required = true)]
    pub cluster_name: String,
}

#[derive(Debug, Subcommand)]
pub enum RolebindingCommand {
    /// List the Trusted Access role bindings of a cluster.
    #[command(after_help = "Examples:
  List the role bindings of a cluster:
    aks-trustedaccess rolebinding list -g myResourceGroup \\
      --cluster-name myCluster
  Names and roles only:
    aks-trustedaccess rolebinding list -g myResourceGroup \\
      --cluster-name myCluster --query \"[].{name:name, roles:roles}\"")]
    List {
        #[command(flatten)]
        cluster: ClusterArgs,
    },

    /// Show one Trusted Access role binding.
    #[command(after_help = "Examples:
  Show a role binding:
    aks-trustedaccess rolebinding show -g myResourceGroup \\
      --cluster-name myCluster -n myBinding")]
    Show {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Name of the role binding.
        #[arg(short = 'n', long, value_name = "NAME", required = true)]
        name: String,
    },

    /// Create a Trusted Access role binding; refuses one that exists (use update).
    #[command(after_help = "Examples:
  Bind a Machine Learning workspace (its id from 'az ml workspace show'):
    sub=00000000-0000-0000-0000-000000000000
    ws=/subscriptions/$sub/resourceGroups/myResourceGroup/providers
    ws=$ws/Microsoft.MachineLearningServices/workspaces/myWorkspace
    aks-trustedaccess rolebinding create -g myResourceGroup \\
      --cluster-name myCluster -n mlBinding --source-resource-id \"$ws\" \\
      --roles Microsoft.MachineLearningServices/workspaces/mlworkload
  Several roles; return as soon as ARM has accepted the request:
    aks-trustedaccess rolebinding create -g myResourceGroup \\
      --cluster-name myCluster -n mlBinding2 -s \"$ws\" --no-wait \\
      --roles Microsoft.MachineLearningServices/workspaces/mlworkload \\
      Microsoft.MachineLearningServices/workspaces/inference-v1")]
    Create {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Name of the role binding (1-24 letters, digits, '-').
        #[arg(short = 'n', long, value_name = "NAME", required = true)]
        name: String,
        /// ARM id of the source resource (the service that gets access).
        #[arg(
            short = 's',
            long = "source-resource-id",
            value_name = "ID",
            required = true
        )]
        source_resource_id: String,
        /// Roles to grant: comma-separated ("a,b") and/or several values ("a b", "--roles a --roles b").
        #[arg(long, value_name = "ROLES", required = true, num_args = 1.., action = ArgAction::Append)]
        roles: Vec<String>,
        #[command(flatten)]
        checks: WriteChecks,
        #[command(flatten)]
        wait: WaitArgs,
    },

    /// Replace the roles of a Trusted Access role binding (the source cannot change).
    #[command(after_help = "Examples:
  Replace the roles of a binding:
    aks-trustedaccess rolebinding update -g myResourceGroup \\
      --cluster-name myCluster -n myBinding \\
      --roles Microsoft.MachineLearningServices/workspaces/mlworkload \\
      Microsoft.MachineLearningServices/workspaces/inference-v1")]
    Update {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Name of the role binding.
        #[arg(short = 'n', long, value_name = "NAME", required = true)]
        name: String,
        /// The new roles, replacing the old ones: comma-separated and/or several values.
        #[arg(long, value_name = "ROLES", required = true, num_args = 1.., action = ArgAction::Append)]
        roles: Vec<String>,
        #[command(flatten)]
        checks: WriteChecks,
        #[command(flatten)]
        wait: WaitArgs,
    },

    /// Check why a binding may not work, read only: state, effective yet, roles, source, limit.
    #[command(
        after_help = "Checks: binding-exists, binding-provisioned (with a failed operation's error
from the activity log), binding-effective (5 minutes after its last change),
roles-in-catalog (the cluster's location), roles-fit-source, source-exists,
source-identity (system-assigned), binding-limit (8 per cluster). Exit 0 when
nothing fails, 4 when a check fails, 1 when some could not be checked.

Examples:
  Check a binding:
    aks-trustedaccess rolebinding check -g myResourceGroup \\
      --cluster-name myCluster -n myBinding
  After creating one, wait until it takes effect instead of 'sleep 300':
    aks-trustedaccess rolebinding check -g myResourceGroup \\
      --cluster-name myCluster -n myBinding --wait-effective"
    )]
    Check {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Name of the role binding.
        #[arg(short = 'n', long, value_name = "NAME", required = true)]
        name: String,
        /// When the binding is not effective yet, wait until it is (a countdown on a terminal).
        #[arg(long)]
        wait_effective: bool,
    },

    /// Delete a Trusted Access role binding. Prints nothing.
    #[command(after_help = "Examples:
  Delete a binding without a prompt:
    aks-trustedaccess rolebinding delete -g myResourceGroup \\
      --cluster-name myCluster -n myBinding --yes")]
    Delete {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Name of the role binding.
        #[arg(short = 'n', long, value_name = "NAME", required = true)]
        name: String,
        /// Do not prompt for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
        /// Print the request that would be sent (method, URL); send nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        wait: WaitArgs,
    },

    /// Who created, updated or deleted bindings, and when: the activity log's binding writes
    /// (deleted bindings too), newest first. Of a binding (-n), a cluster, a resource group
    /// (-g alone), or the whole subscription.
    #[command(after_help = "Examples:
  Who changed a binding in the last 30 days:
    aks-trustedaccess rolebinding history -g myResourceGroup \\
      --cluster-name myCluster -n myBinding --since 30d -o table
  Every binding change in the subscription (the last 90 days), as JSON:
    aks-trustedaccess rolebinding history")]
    History {
        /// Only this resource group (alone: every cluster in it).
        #[arg(short = 'g', long = "resource-group", value_name = "NAME")]
        resource_group: Option<String>,
        /// Only this cluster (its group from -g or az's `[defaults] group`).
        #[arg(long = "cluster-name", value_name = "NAME")]
        cluster_name: Option<String>,
        /// Only this binding.
        #[arg(short = 'n', long, value_name = "NAME", requires = "cluster_name")]
        name: Option<String>,
        /// How far back: Nd (days) or Nh (hours), at most 90d (the activity log's retention).
        #[arg(long, value_name = "AGE", default_value = "90d")]
        since: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Check a partner service's token, read only: its claims (decoded, the signature NOT
    /// verified), then the cluster's tenant and a binding for its source. Never prints the token.
    #[command(
        after_help = "Checks: token-format, token-expiry, token-not-before, token-issued-at (5
minutes of clock skew), token-audience, token-issuer, token-source (xms_mirid,
system-assigned), then token-tenant (the cluster's), token-binding (a binding
has the token's source) and that binding's binding-provisioned,
binding-effective, roles-in-catalog, roles-fit-source, source-exists,
source-identity. Exit 0 when nothing fails, 4 when a check fails, 1 when some
could not be checked, 2 for bad input (e.g. not a JWT).

Examples:
  The token on stdin (the default; nothing lands in shell history):
    aks-trustedaccess token check -g myResourceGroup \\
      --cluster-name myCluster < token.txt
  From a file, as JSON for a script:
    aks-trustedaccess token check -g myResourceGroup \\
      --cluster-name myCluster --token-file token.txt -o json"
    )]
    Check {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Read the token from this file ('-': stdin). Default: stdin.
        #[arg(long, value_name = "FILE", conflicts_with = "token")]
        token_file: Option<std::path::PathBuf>,
        /// The token itself (warned against: it may land in your shell history).
        #[arg(long, value_name = "JWT")]
        token: Option<String>,
        /// The audience the AKS gateway expects in `aud`.
        #[arg(long, value_name = "AUDIENCE", default_value = crate::arm::auth::claims::TRUSTED_ACCESS_AUDIENCE)]
        audience: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every command, depth first, with its path.
    fn every_command(
        cmd: &clap::Command,
        path: Vec<String>,
        out: &mut Vec<(Vec<String>, clap::Command)>,
    ) {
        out.push((path.clone(), cmd.clone()));
        for sub in cmd.get_subcommands() {
            let mut p = path.clone();
            p.push(sub.get_name().to_string());
            every_command(sub, p, out);
        }
    }

    /// Help text after the options (examples, verdicts) is never wrapped by clap on an
    /// 80-column terminal: an example printed is an example that runs when pasted.
    #[test]
    fn help_text_fits_80_columns_so_examples_are_never_wrapped() {
        let mut all = Vec::new();
        every_command(&Cli::command(), Vec::new(), &mut all);
        for (path, cmd) in all {
            for text in [cmd.get_after_help(), cmd.get_after_long_help()]
                .into_iter()
                .flatten()
            {
                for line in text.to_string().lines() {
                    assert!(
                        line.chars().count() < 80,
                        "{path:?}: a help line of {} columns wraps on an 80-column terminal: {line}",
                        line.chars().count()
                    );
                }
            }
        }
    }

    #[test]
    fn the_clap_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn roles_accept_repeated_and_space_separated_values() {
        let cli = Cli::try_parse_from([
            "aks-trustedaccess",
            "rolebinding",
            "update",
            "-g",
            "rg",
            "--cluster-name",
            "c",
            "-n",
            "b",
            "--roles",
            "a,b",
            "c",
            "--roles",
            "d",
        ])
        .unwrap();
        let Command::Rolebinding(RolebindingCommand::Update { roles, .. }) = cli.command else {
            panic!("parsed the wrong command");
        };
        assert_eq!(roles, ["a,b", "c", "d"]);
    }

    #[test]
    fn output_is_case_insensitive_and_global() {
        let cli =
            Cli::try_parse_from(["aks-trustedaccess", "role", "list", "-l", "x", "-o", "JSON"])
                .unwrap();
        assert_eq!(cli.global.output, Some(OutputFormat::Json));
    }
}
