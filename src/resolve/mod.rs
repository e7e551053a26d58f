//! The resolve step: clap's raw tree (`cli`) becomes typed, validated requests before any command
//! runs, so commands never see raw strings and bad input is refused before any request.
//! Everything here is pure (flags, environment already read by clap, az's configuration).

mod audit;
mod binding;
mod desired;
mod doctor;
mod history;
mod iac;
pub mod input;
mod role;

pub use audit::{Annotations, AuditOptions, DiscoveryMode, Selector};
pub use binding::{
    BindingDelete, BindingRef, BindingWrite, ClusterRef, Wait, check_roles_match_source,
    cluster_ref, parse_roles, resource_group,
};
pub use desired::{ApplyRequest, ExportRequest, PlanRequest, PruneOptions};
pub use doctor::{BindingCheck, TokenCheck};
pub use history::{HistoryRequest, HistoryScope, Workspace};
pub use iac::{ExportKind, IacFormat, IacRequest};
pub use role::{LocationText, RoleList, RoleShow};

#[cfg(test)]
use crate::azconfig::AzConfig;
use crate::cli::Command;
use crate::cli::az::{RoleCommand, RolebindingCommand};
use crate::cli::desired::{ApplyArgs, ExportArgs};
use crate::cli::global::GlobalArgs;
use crate::error::{Error, Result};
use crate::settings::Settings;

/// One command line, resolved: what to do, with every value already checked.
#[derive(Debug)]
pub enum Request {
    RoleList(RoleList),
    RoleShow(RoleShow),
    BindingList(ClusterRef),
    BindingShow(BindingRef),
    /// `rolebinding create`: `source` is always set.
    BindingCreate(BindingWrite),
    /// `rolebinding update`: `source` is unset (the binding keeps its own).
    BindingUpdate(BindingWrite),
    BindingDelete(BindingDelete),
    Audit(AuditOptions),
    /// `rolebinding check`.
    BindingCheck(BindingCheck),
    /// `token check`: the token already read and decoded.
    TokenCheck(TokenCheck),
    Plan(PlanRequest),
    Apply(ApplyRequest),
    Export(ExportRequest),
    /// `export --format terraform|terraform-azapi|bicep|arm`.
    ExportCode(IacRequest),
    /// `rolebinding history`.
    History(HistoryRequest),
}

/// Resolves the command's arguments. `Completion` and `Man` need no request: the caller handles
/// them before anything else (they never build credentials).
pub fn request(command: &Command, global: &GlobalArgs, settings: &Settings) -> Result<Request> {
    let config = &settings.config;
    match command {
        Command::Role(RoleCommand::List { location }) => Ok(Request::RoleList(RoleList::resolve(
            location.as_deref(),
            config,
        )?)),
        Command::Role(RoleCommand::Show { location, name }) => Ok(Request::RoleShow(
            RoleShow::resolve(location.as_deref(), name, config)?,
        )),
        Command::Rolebinding(RolebindingCommand::Check {
            cluster,
            name,
            wait_effective,
        }) => Ok(Request::BindingCheck(doctor::binding_check(
            cluster,
            name,
            *wait_effective,
            config,
        )?)),
        Command::Rolebinding(RolebindingCommand::History {
            resource_group,
            cluster_name,
            name,
            since,
            workspace,
        }) => Ok(Request::History(history::resolve(
            resource_group.as_deref(),
            cluster_name.as_deref(),
            name.as_deref(),
            since,
            workspace.as_deref(),
            config,
        )?)),
        Command::Rolebinding(sub) => binding::request(sub, config),
        Command::Audit(args) => audit::request(args, global, settings),
        Command::Token(token) => Ok(Request::TokenCheck(doctor::token_check(token, config)?)),
        Command::Plan { desired } => Ok(Request::Plan(desired::plan(desired, settings)?)),
        Command::Apply(ApplyArgs {
            desired,
            yes,
            dry_run,
            wait,
            wait_effective,
        }) => Ok(Request::Apply(desired::apply(
            desired,
            settings,
            *yes,
            *dry_run,
            wait,
            *wait_effective,
        )?)),
        Command::Export(ExportArgs {
            resource_group,
            parallel,
            code,
        }) => Ok(
            match iac::export(resource_group.as_deref(), *parallel, code, global, settings)? {
                ExportKind::Manifest(export) => Request::Export(export),
                ExportKind::Code(code) => Request::ExportCode(code),
            },
        ),
        Command::Completion { .. } | Command::Man { .. } => Err(Error::usage(
            "completion and man are answered before any request is resolved",
        )),
    }
}

/// A command line resolved with no az configuration and no terminal (the resolve tests').
#[cfg(test)]
pub(crate) fn resolve_args(args: &[&str]) -> Result<Request> {
    use clap::Parser;
    let cli = crate::cli::Cli::try_parse_from(
        std::iter::once("aks-trustedaccess").chain(args.iter().copied()),
    )
    .expect("the test's command line parses");
    let settings = Settings::resolve(
        &cli.global,
        AzConfig::default(),
        &crate::settings::Surroundings::default(),
    )?;
    request(&cli.command, &cli.global, &settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(args: &[&str]) -> Result<Request> {
        resolve_args(args)
    }

    #[test]
    fn audit_takes_several_subscriptions() {
        let Ok(Request::Audit(options)) =
            resolve(&["audit", "--subscription", "a", "--subscription", "b"])
        else {
            panic!("audit takes several subscriptions");
        };
        assert_eq!(options.selector.subscriptions, ["a", "b"]);
        assert_eq!(options.parallel, 16);
    }
}
