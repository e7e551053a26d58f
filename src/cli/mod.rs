//! The command-line tree (clap derive): the top level and its commands here, their flags in a
//! file per command group. Doc comments are the help text; no logic lives here.

pub mod audit;
pub mod az;
pub mod desired;
pub mod global;

use clap::{Parser, Subcommand};
use global::GlobalArgs;

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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Trusted Access roles a source resource type can be granted.
    #[command(subcommand)]
    Role(az::RoleCommand),
    /// Role bindings on a managed cluster.
    #[command(subcommand)]
    Rolebinding(az::RolebindingCommand),
    /// Troubleshoot a partner service's data-plane token (a 401 from the AKS gateway).
    #[command(subcommand)]
    Token(az::TokenCommand),
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
    Audit(audit::AuditArgs),
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
    aks-trustedaccess plan -f bindings.yaml --prune
  The bindings Backup, Azure ML and Defender need where they are used:
    aks-trustedaccess plan --require backup,ml,defender"
    )]
    Plan {
        #[command(flatten)]
        desired: desired::DesiredArgs,
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
    aks-trustedaccess apply -f bindings.yaml --dry-run
  The bindings Backup needs, then wait until they take effect:
    aks-trustedaccess apply --require backup --yes --wait-effective"
    )]
    Apply(desired::ApplyArgs),
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
    Export(desired::ExportArgs),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::OutputFormat;
    use az::RolebindingCommand;
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
