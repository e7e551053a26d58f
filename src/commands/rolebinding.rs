//! `rolebinding list | show | create | update | delete`, with az's semantics.

use crate::arm::api;
use crate::arm::ids::{
    BindingId, BindingName, ClusterId, ClusterName, RoleName, SourceResourceId, parse_roles,
};
use crate::arm::models::RoleBinding;
use crate::cli::ClusterArgs;
use crate::commands::Outcome;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::output::terminal;
use serde_json::Value;

/// Cluster and binding names are checked before the subscription is resolved: bad input never
/// costs a request.
struct Target {
    group: crate::arm::ids::ResourceGroupName,
    cluster: ClusterName,
    name: Option<BindingName>,
}

fn target(ctx: &Context, args: &ClusterArgs, name: Option<&str>) -> Result<Target> {
    let group = ctx.resource_group(args.resource_group.as_deref())?;
    let cluster = ClusterName::parse(&args.cluster_name)?;
    let name = name.map(BindingName::parse).transpose()?;
    Ok(Target {
        group,
        cluster,
        name,
    })
}

impl Target {
    async fn cluster_id(self, ctx: &Context) -> Result<(ClusterId, Option<BindingName>)> {
        let subscription = ctx.subscription().await?.clone();
        Ok((
            ClusterId {
                subscription,
                resource_group: self.group,
                name: self.cluster,
            },
            self.name,
        ))
    }

    async fn binding_id(self, ctx: &Context) -> Result<BindingId> {
        let (cluster, name) = self.cluster_id(ctx).await?;
        let name =
            name.ok_or_else(|| Error::usage("the following arguments are required: --name/-n"))?;
        Ok(cluster.binding(name))
    }
}

pub async fn list(ctx: &Context, args: &ClusterArgs) -> Result<Outcome> {
    let (cluster, _) = target(ctx, args, None)?.cluster_id(ctx).await?;
    let bindings = api::list_bindings(&ctx.client, &cluster).await?;
    Ok(Outcome::Data(Value::Array(
        bindings.iter().map(RoleBinding::to_az).collect(),
    )))
}

pub async fn show(ctx: &Context, args: &ClusterArgs, name: &str) -> Result<Outcome> {
    let binding = target(ctx, args, Some(name))?.binding_id(ctx).await?;
    Ok(Outcome::Data(
        api::get_binding(&ctx.client, &binding).await?.to_az(),
    ))
}

pub async fn create(
    ctx: &Context,
    args: &ClusterArgs,
    name: &str,
    source_resource_id: &str,
    roles: &[String],
    no_wait: bool,
) -> Result<Outcome> {
    let target = target(ctx, args, Some(name))?;
    let source = SourceResourceId::parse(source_resource_id)?;
    let roles = parse_roles(roles)?;
    check_roles_match_source(&roles, source.resource_type())?;
    let binding = target.binding_id(ctx).await?;
    if api::find_binding(&ctx.client, &binding).await?.is_some() {
        return Err(Error::BindingExists(binding.name.as_str().to_string()));
    }
    write_binding(ctx, &binding, source.as_str(), &roles, no_wait).await
}

pub async fn update(
    ctx: &Context,
    args: &ClusterArgs,
    name: &str,
    roles: &[String],
    no_wait: bool,
) -> Result<Outcome> {
    let target = target(ctx, args, Some(name))?;
    let roles = parse_roles(roles)?;
    let binding = target.binding_id(ctx).await?;
    let existing = api::get_binding(&ctx.client, &binding).await?;
    let source =
        existing
            .properties
            .source_resource_id
            .ok_or_else(|| Error::UnexpectedResponse {
                request: format!("GET {}", binding.path()),
                detail: "the existing binding has no sourceResourceId".into(),
            })?;
    if let Ok(parsed) = SourceResourceId::parse(&source) {
        check_roles_match_source(&roles, parsed.resource_type())?;
    }
    write_binding(ctx, &binding, &source, &roles, no_wait).await
}

/// PUT, then (unless `--no-wait`) follow the operation and GET the result, as az does.
async fn write_binding(
    ctx: &Context,
    binding: &BindingId,
    source: &str,
    roles: &[RoleName],
    no_wait: bool,
) -> Result<Outcome> {
    let role_names: Vec<&str> = roles.iter().map(RoleName::as_str).collect();
    let body = api::binding_body(source, &role_names);
    let check = binding.show_command();
    ctx.set_pending_write(Some(check.clone()));
    let accepted = api::put_binding(&ctx.client, binding, &body).await?;
    if no_wait {
        ctx.set_pending_write(None);
        let returned: RoleBinding = accepted.json()?;
        return Ok(Outcome::Data(returned.to_az()));
    }
    ctx.client
        .wait_for_operation(&accepted, ctx.operation_timeout, &check)
        .await?;
    ctx.set_pending_write(None);
    Ok(Outcome::Data(
        api::get_binding(&ctx.client, binding).await?.to_az(),
    ))
}

pub async fn delete(
    ctx: &Context,
    args: &ClusterArgs,
    name: &str,
    yes: bool,
    no_wait: bool,
) -> Result<Outcome> {
    let target = target(ctx, args, Some(name))?;
    if !yes {
        match terminal::confirm("Are you sure you want to perform this operation?")? {
            Some(true) => {}
            Some(false) => return Err(Error::Cancelled),
            None => {
                ctx.diagnostics
                    .warn("Unable to prompt for confirmation as no tty available. Use --yes.");
                return Err(Error::Cancelled);
            }
        }
    }
    let binding = target.binding_id(ctx).await?;
    let check = binding.show_command();
    ctx.set_pending_write(Some(check.clone()));
    let accepted = api::delete_binding(&ctx.client, &binding).await?;
    if !no_wait && accepted.status == 202 {
        ctx.client
            .wait_for_operation(&accepted, ctx.operation_timeout, &check)
            .await?;
    }
    ctx.set_pending_write(None);
    Ok(Outcome::Nothing)
}

/// A role is `<source type>/<name>`: its type must be the source's (case-insensitive, as the
/// service compares). Caught here instead of by a 400 after a round trip.
fn check_roles_match_source(roles: &[RoleName], source_type: &str) -> Result<()> {
    for role in roles {
        if !role.source_type().eq_ignore_ascii_case(source_type) {
            return Err(Error::usage_with_hint(
                format!(
                    "role '{}' is for sources of type {}, but the source is a {source_type}",
                    role.as_str(),
                    role.source_type()
                ),
                format!(
                    "roles for this source start with '{source_type}/'; see 'aks-trustedaccess role list -l <location>'"
                ),
            ));
        }
    }
    Ok(())
}
