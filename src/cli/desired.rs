//! The desired-state commands' flags: `plan` and `apply` (the manifest and scope), `apply`'s
//! writes, `export`'s scope and formats.

use crate::cli::global::WaitArgs;
use clap::{ArgAction, Args, ValueEnum};

// `apply`'s flags (its about and examples are on `Command::Apply`).
#[derive(Debug, Args, Clone)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub desired: DesiredArgs,
    /// Do not ask before deleting or replacing bindings.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Only plan: print what would change, write nothing (exit 0 or 4, as plan).
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// After the writes, wait until the bindings created or changed take effect (about 5
    /// minutes after each change, read from the bindings), so a pipeline can go on with
    /// the service (e.g. create the backup instance) right after.
    #[arg(long, conflicts_with_all = ["no_wait", "dry_run"])]
    pub wait_effective: bool,
}

// `export`'s flags (its about and examples are on `Command::Export`).
#[derive(Debug, Args, Clone)]
pub struct ExportArgs {
    /// Only the clusters of this resource group.
    #[arg(short = 'g', long = "resource-group", value_name = "NAME")]
    pub resource_group: Option<String>,
    /// ARM requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel: u16,
    #[command(flatten)]
    pub code: ExportCodeArgs,
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
    /// The manifest (YAML or JSON; '-' reads stdin). Optional with --require.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        required_unless_present = "require"
    )]
    pub file: Option<std::path::PathBuf>,
    /// Also the bindings these services need: backup, ml, defender (repeatable or a comma
    /// list). Found through Resource Graph in the --subscription scope (every enabled one by
    /// default): a vault's backup-operator binding on each cluster it backs up, a workspace's
    /// mlworkload binding on each cluster its computes are attached to, Defender's on each
    /// cluster of a subscription whose Containers plan has agentless discovery on.
    #[arg(long, value_name = "SERVICE", value_delimiter = ',')]
    pub require: Vec<String>,
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
