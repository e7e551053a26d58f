//! The commands of `az aks trustedaccess` (role, rolebinding) and `token check`: their
//! subcommands and flags.

use crate::cli::global::{WaitArgs, WriteChecks};
use clap::{ArgAction, Args, Subcommand};

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
    aks-trustedaccess rolebinding history
  A year back, from the Log Analytics workspace the activity log goes to:
    aks-trustedaccess rolebinding history --since 365d \\
      --workspace 60368d41-2f48-4aec-82fe-12bcc70931bb")]
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
        /// How far back: Nd (days) or Nh (hours), at most 90d (the activity log's retention);
        /// 730d with --workspace.
        #[arg(long, value_name = "AGE", default_value = "90d")]
        since: String,
        /// Read the history from this Log Analytics workspace's AzureActivity table (where the
        /// subscription's activity log is exported; kept beyond 90 days): its id (customerId, a
        /// GUID) or its ARM resource id.
        #[arg(long, value_name = "ID")]
        workspace: Option<String>,
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
