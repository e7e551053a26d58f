//! `rolebinding …` arguments resolved: the cluster and binding (names checked, az's default
//! group applied), the `--roles` parser, the roles-fit-the-source rule, and how long to wait.

use super::Request;
use crate::azconfig::AzConfig;
use crate::cli::az::{ClusterArgs, RolebindingCommand};
use crate::cli::global::{WaitArgs, WriteChecks};
use crate::domain::ids::{
    BindingId, BindingName, ClusterId, ClusterName, ResourceGroupName, SourceResourceId,
    SubscriptionId,
};
use crate::domain::roles::{RoleName, role_type_fits_source};
use crate::error::{Error, Result};
use std::time::Duration;

/// A managed cluster, named by its group and name; the subscription is resolved later (it may
/// take a request to look a display name up).
#[derive(Debug, Clone)]
pub struct ClusterRef {
    pub resource_group: ResourceGroupName,
    pub name: ClusterName,
}

impl ClusterRef {
    pub fn id(&self, subscription: SubscriptionId) -> ClusterId {
        ClusterId {
            subscription,
            resource_group: self.resource_group.clone(),
            name: self.name.clone(),
        }
    }
}

/// One role binding of a cluster.
#[derive(Debug, Clone)]
pub struct BindingRef {
    pub cluster: ClusterRef,
    pub name: BindingName,
}

impl BindingRef {
    pub fn id(&self, subscription: SubscriptionId) -> BindingId {
        self.cluster.id(subscription).binding(self.name.clone())
    }
}

/// How long a write waits for its long-running operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// `--no-wait`: return once ARM has accepted the request.
    Accepted,
    /// Follow the operation to its end, giving up after `--timeout` when given.
    Done { timeout: Option<Duration> },
}

/// `rolebinding create | update`.
#[derive(Debug, Clone)]
pub struct BindingWrite {
    pub binding: BindingRef,
    /// The source resource (create); `None` on update, which keeps the binding's own.
    pub source: Option<SourceResourceId>,
    pub roles: Vec<RoleName>,
    /// Check the roles against the cluster location's catalog (not `--skip-validation`).
    pub validate: bool,
    pub dry_run: bool,
    pub wait: Wait,
}

/// `rolebinding delete`. The confirmation prompt is answered before the command runs.
#[derive(Debug, Clone)]
pub struct BindingDelete {
    pub binding: BindingRef,
    /// `--yes`: no prompt.
    pub confirmed: bool,
    pub dry_run: bool,
    pub wait: Wait,
}

pub(super) fn request(command: &RolebindingCommand, config: &AzConfig) -> Result<Request> {
    Ok(match command {
        RolebindingCommand::List { cluster } => Request::BindingList(cluster_ref(cluster, config)?),
        RolebindingCommand::Show { cluster, name } => {
            Request::BindingShow(binding_ref(cluster, name, config)?)
        }
        RolebindingCommand::Create {
            cluster,
            name,
            source_resource_id,
            roles,
            checks,
            wait,
        } => {
            let binding = binding_ref(cluster, name, config)?;
            let source = SourceResourceId::parse(source_resource_id)?;
            // --skip-validation skips every client-side role check (format, type, catalog).
            let roles = roles_of(roles, checks)?;
            if !checks.skip_validation {
                check_roles_match_source(&roles, source.resource_type())?;
            }
            Request::BindingCreate(write(binding, Some(source), roles, checks, wait))
        }
        RolebindingCommand::Update {
            cluster,
            name,
            roles,
            checks,
            wait,
        } => {
            let binding = binding_ref(cluster, name, config)?;
            let roles = roles_of(roles, checks)?;
            Request::BindingUpdate(write(binding, None, roles, checks, wait))
        }
        // Resolved by `doctor` (the caller routes it there; doctor builds on this module).
        RolebindingCommand::Check { .. } | RolebindingCommand::History { .. } => {
            return Err(Error::usage(
                "rolebinding check and history are resolved by resolve::doctor and resolve::history",
            ));
        }
        RolebindingCommand::Delete {
            cluster,
            name,
            yes,
            dry_run,
            wait,
        } => Request::BindingDelete(BindingDelete {
            binding: binding_ref(cluster, name, config)?,
            confirmed: *yes,
            dry_run: *dry_run,
            wait: wait_of(wait),
        }),
    })
}

fn write(
    binding: BindingRef,
    source: Option<SourceResourceId>,
    roles: Vec<RoleName>,
    checks: &WriteChecks,
    wait: &WaitArgs,
) -> BindingWrite {
    BindingWrite {
        binding,
        source,
        roles,
        validate: !checks.skip_validation,
        dry_run: checks.dry_run,
        wait: wait_of(wait),
    }
}

fn wait_of(args: &WaitArgs) -> Wait {
    if args.no_wait {
        Wait::Accepted
    } else {
        Wait::Done {
            timeout: args.timeout.map(Duration::from_secs),
        }
    }
}

/// `-g` (else az's `[defaults] group`) and `--cluster-name`, checked in that order.
pub fn cluster_ref(args: &ClusterArgs, config: &AzConfig) -> Result<ClusterRef> {
    Ok(ClusterRef {
        resource_group: resource_group(args.resource_group.as_deref(), config)?,
        name: ClusterName::parse(&args.cluster_name)?,
    })
}

/// `-g`, else az's `[defaults] group`.
pub fn resource_group(arg: Option<&str>, config: &AzConfig) -> Result<ResourceGroupName> {
    match arg.map(str::to_string).or_else(|| config.default_group()) {
        Some(group) => ResourceGroupName::parse(&group),
        None => Err(Error::usage_with_hint(
            "the following arguments are required: --resource-group/-g",
            "or set a default with 'az configure --defaults group=<name>'",
        )),
    }
}

pub(super) fn binding_ref(args: &ClusterArgs, name: &str, config: &AzConfig) -> Result<BindingRef> {
    Ok(BindingRef {
        cluster: cluster_ref(args, config)?,
        name: BindingName::parse(name)?,
    })
}

/// `--roles`, with the role format checked unless `--skip-validation`.
fn roles_of(values: &[String], checks: &WriteChecks) -> Result<Vec<RoleName>> {
    if checks.skip_validation {
        split_roles(values, |item| Ok(RoleName::unchecked(item)))
    } else {
        parse_roles(values)
    }
}

/// `--roles` values: comma-separated and/or repeated; trimmed; empty items refused; duplicates
/// (compared case-insensitively, as the service does) dropped, first spelling kept.
pub fn parse_roles(values: &[String]) -> Result<Vec<RoleName>> {
    split_roles(values, RoleName::parse)
}

fn split_roles(
    values: &[String],
    parse: impl Fn(&str) -> Result<RoleName>,
) -> Result<Vec<RoleName>> {
    let mut roles: Vec<RoleName> = Vec::new();
    for value in values {
        for item in value.split(',') {
            let item = item.trim();
            if item.is_empty() {
                return Err(Error::usage_with_hint(
                    format!("--roles has an empty item in '{value}'"),
                    "give roles as 'a,b' or '--roles a b'",
                ));
            }
            let role = parse(item)?;
            if !roles
                .iter()
                .any(|r| r.as_str().eq_ignore_ascii_case(role.as_str()))
            {
                roles.push(role);
            }
        }
    }
    if roles.is_empty() {
        return Err(Error::usage("--roles needs at least one role"));
    }
    Ok(roles)
}

/// A role is `<type>/<name>`: its type must be the source's type or a prefix of it by whole
/// segments (case-insensitive, as the service compares; Defender's sources are nested). Caught
/// here instead of by a 400 after a round trip; `update` applies it again once it has read the
/// binding's source.
pub fn check_roles_match_source(roles: &[RoleName], source_type: &str) -> Result<()> {
    for role in roles {
        if !role_type_fits_source(role.source_type(), source_type) {
            return Err(Error::usage_with_hint(
                format!(
                    "role '{}' is for sources of type {}, but the source is a {source_type}",
                    role.as_str(),
                    role.source_type()
                ),
                format!(
                    "a role's type is its source's type or a parent of it ('{source_type}' or a prefix of it, by whole segments); see 'aks-trustedaccess role list -l <location>'"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(args: &[&str]) -> Result<Request> {
        crate::resolve::resolve_args(args)
    }

    const SOURCE: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws";

    #[test]
    fn roles_are_split_trimmed_and_deduplicated() {
        let roles = parse_roles(&[
            "Microsoft.A/b/r1, Microsoft.A/b/r2".into(),
            "microsoft.a/b/R1".into(),
            "Microsoft.A/b/c/r3".into(),
        ])
        .unwrap();
        let names: Vec<&str> = roles.iter().map(RoleName::as_str).collect();
        assert_eq!(
            names,
            ["Microsoft.A/b/r1", "Microsoft.A/b/r2", "Microsoft.A/b/c/r3"]
        );
        assert_eq!(roles[2].source_type(), "Microsoft.A/b/c");
        assert_eq!(roles[2].short_name(), "r3");
        assert!(parse_roles(&["a,,b".into()]).is_err());
        assert!(parse_roles(&[]).is_err());
        let Err(Error::Usage {
            hint: Some(hint), ..
        }) = parse_roles(&["mlworkload".into()])
        else {
            panic!("a bare role must be refused with a hint");
        };
        assert!(hint.contains("Microsoft.MachineLearningServices/workspaces/mlworkload"));
    }

    #[test]
    fn create_resolves_every_value_before_any_request() {
        let Ok(Request::BindingCreate(write)) = resolve(&[
            "rolebinding",
            "create",
            "-g",
            "rg",
            "--cluster-name",
            "c1",
            "-n",
            "b1",
            "-s",
            SOURCE,
            "--roles",
            "Microsoft.MachineLearningServices/workspaces/mlworkload",
            "--timeout",
            "30",
        ]) else {
            panic!("create resolves");
        };
        assert_eq!(write.binding.cluster.resource_group.as_str(), "rg");
        assert_eq!(write.binding.name.as_str(), "b1");
        assert!(write.source.is_some() && write.validate && !write.dry_run);
        assert_eq!(
            write.wait,
            Wait::Done {
                timeout: Some(Duration::from_secs(30))
            }
        );
    }

    #[test]
    fn a_role_of_another_source_type_is_refused_on_create() {
        let err = resolve(&[
            "rolebinding",
            "create",
            "-g",
            "rg",
            "--cluster-name",
            "c1",
            "-n",
            "b1",
            "-s",
            SOURCE,
            "--roles",
            "Microsoft.DataProtection/backupVaults/backup-operator",
        ])
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("is for sources of type Microsoft.DataProtection/backupVaults")
        );
    }

    #[test]
    fn names_are_checked_in_order_group_cluster_binding() {
        let err =
            resolve(&["rolebinding", "show", "--cluster-name", "c1", "-n", "b1"]).unwrap_err();
        assert!(err.to_string().contains("--resource-group/-g"), "{err}");
        let err = resolve(&[
            "rolebinding",
            "show",
            "-g",
            "rg",
            "--cluster-name=-bad",
            "-n",
            "!",
        ])
        .unwrap_err();
        assert!(err.to_string().contains("-bad"), "{err}");
    }

    #[test]
    fn no_wait_and_yes_become_typed() {
        let Ok(Request::BindingDelete(delete)) = resolve(&[
            "rolebinding",
            "delete",
            "-g",
            "rg",
            "--cluster-name",
            "c1",
            "-n",
            "b1",
            "--yes",
            "--no-wait",
        ]) else {
            panic!("delete resolves");
        };
        assert!(delete.confirmed && !delete.dry_run);
        assert_eq!(delete.wait, Wait::Accepted);
    }
}
