//! `rolebinding list | show | create | update | delete`, with az's semantics.

use crate::arm::api;
use crate::arm::ids::{BindingId, BindingName, ClusterId, ClusterName, Location, SourceResourceId};
use crate::arm::models::RoleBinding;
use crate::arm::roles::{RoleName, parse_roles};
use crate::cli::{ClusterArgs, WriteChecks};
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
    checks: &WriteChecks,
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
    if !checks.skip_validation {
        check_roles_in_catalog(ctx, &binding.cluster, &roles, source.resource_type()).await?;
    }
    write_binding(
        ctx,
        &binding,
        source.as_str(),
        &roles,
        Write {
            create: true,
            dry_run: checks.dry_run,
            no_wait,
        },
    )
    .await
}

pub async fn update(
    ctx: &Context,
    args: &ClusterArgs,
    name: &str,
    roles: &[String],
    checks: &WriteChecks,
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
        if !checks.skip_validation {
            check_roles_in_catalog(ctx, &binding.cluster, &roles, parsed.resource_type()).await?;
        }
    }
    write_binding(
        ctx,
        &binding,
        &source,
        &roles,
        Write {
            create: false,
            dry_run: checks.dry_run,
            no_wait,
        },
    )
    .await
}

/// How a binding is written.
struct Write {
    /// A create: the PUT must not replace a binding that exists by the time it arrives.
    create: bool,
    dry_run: bool,
    no_wait: bool,
}

/// Every role must exist in the catalog of the cluster's location and fit the source's type
/// (compared case-insensitively, as the service does): caught here, before the PUT, instead of
/// by a 400 after it. Costs two reads: the cluster (for its location) and the catalog.
async fn check_roles_in_catalog(
    ctx: &Context,
    cluster: &ClusterId,
    roles: &[RoleName],
    source_type: &str,
) -> Result<()> {
    let location = api::get_cluster(&ctx.client, cluster)
        .await?
        .location
        .ok_or_else(|| Error::UnexpectedResponse {
            request: format!("GET {}", cluster.path()),
            detail: "the cluster has no location".into(),
        })?;
    let location = Location::from_service(&location.to_ascii_lowercase());
    let catalog = api::list_roles(&ctx.client, &cluster.subscription, &location).await?;
    let valid: Vec<String> = catalog
        .iter()
        .filter(|r| {
            r.source_resource_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(source_type))
        })
        .filter_map(|r| {
            Some(format!(
                "{}/{}",
                r.source_resource_type.as_deref()?,
                r.name.as_deref()?
            ))
        })
        .collect();
    for role in roles {
        let known = valid.iter().any(|v| v.eq_ignore_ascii_case(role.as_str()));
        if !known {
            return Err(Error::usage_with_hint(
                format!(
                    "role '{}' does not exist in {} for sources of type {source_type}",
                    role.as_str(),
                    location.as_str()
                ),
                if valid.is_empty() {
                    format!(
                        "{} offers no Trusted Access roles for {source_type}; see 'aks-trustedaccess role list -l {}' (--skip-validation sends the request anyway)",
                        location.as_str(),
                        location.as_str()
                    )
                } else {
                    format!(
                        "roles for {source_type} in {}: {} (--skip-validation sends the request anyway)",
                        location.as_str(),
                        valid.join(", ")
                    )
                },
            ));
        }
    }
    Ok(())
}

/// PUT, then (unless `--no-wait`) follow the operation and GET the result, as az does.
/// `--dry-run` stops before the PUT and shows it.
async fn write_binding(
    ctx: &Context,
    binding: &BindingId,
    source: &str,
    roles: &[RoleName],
    write: Write,
) -> Result<Outcome> {
    let Write {
        create,
        dry_run,
        no_wait,
    } = write;
    let role_names: Vec<&str> = roles.iter().map(RoleName::as_str).collect();
    let body = api::binding_body(source, &role_names);
    if dry_run {
        return Ok(Outcome::Data(dry_run_request(
            "PUT",
            &api::binding_url(&ctx.client, binding),
            Some(body),
        )));
    }
    let check = binding.show_command();
    ctx.set_pending_write(Some(check.clone()));
    let accepted = if create {
        put_new(ctx, binding, &body).await?
    } else {
        api::put_binding(&ctx.client, binding, &body).await?
    };
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

/// The PUT of a create, conditional (`If-None-Match: *`): a binding created by someone else
/// between the existence check and this PUT is refused by ARM (412), never replaced.
async fn put_new(
    ctx: &Context,
    binding: &BindingId,
    body: &Value,
) -> Result<crate::arm::client::ArmResponse> {
    let resp = api::put_new_binding(&ctx.client, binding, body).await?;
    match resp.status {
        201 | 202 => Ok(resp),
        200 => Err(Error::UnexpectedResponse {
            request: resp.request,
            detail: format!(
                "the service answered 200 OK to the create of '{}': it replaced a binding that already existed (created by someone else after this command checked); check it with: {}",
                binding.name.as_str(),
                binding.show_command()
            ),
        }),
        412 if resp.attempts > 1 && is_ours(ctx, binding, body).await? => {
            // An earlier attempt whose answer was lost created it, with exactly this content:
            // writing the same content again is safe and gives an operation to follow.
            ctx.diagnostics.verbose(
                "an earlier attempt of this create went through (its answer was lost); writing the same content again to follow it",
            );
            api::put_binding(&ctx.client, binding, body).await
        }
        412 => Err(Error::BindingExists(binding.name.as_str().to_string())),
        _ => Err(ctx.client.error_of(&resp)),
    }
}

/// Whether the binding that now exists has exactly the source and roles this create sent.
async fn is_ours(ctx: &Context, binding: &BindingId, body: &Value) -> Result<bool> {
    let existing = api::get_binding(&ctx.client, binding).await?;
    let sent = &body["properties"];
    let same_source = existing
        .properties
        .source_resource_id
        .as_deref()
        .zip(sent["sourceResourceId"].as_str())
        .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b));
    let mut have: Vec<String> = existing
        .properties
        .roles
        .iter()
        .flatten()
        .map(|r| r.to_ascii_lowercase())
        .collect();
    let mut want: Vec<String> = sent["roles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_ascii_lowercase))
        .collect();
    have.sort();
    want.sort();
    Ok(same_source && have == want)
}

/// What `--dry-run` prints: the request that would have been sent.
fn dry_run_request(method: &str, url: &url::Url, body: Option<Value>) -> Value {
    serde_json::json!({"method": method, "url": url.as_str(), "body": body})
}

pub async fn delete(
    ctx: &Context,
    args: &ClusterArgs,
    name: &str,
    yes: bool,
    dry_run: bool,
    no_wait: bool,
) -> Result<Outcome> {
    let target = target(ctx, args, Some(name))?;
    if dry_run {
        let binding = target.binding_id(ctx).await?;
        return Ok(Outcome::Data(dry_run_request(
            "DELETE",
            &api::binding_url(&ctx.client, &binding),
            None,
        )));
    }
    // az asks unless --yes or `[core] disable_confirm_prompt` / AZURE_CORE_DISABLE_CONFIRM_PROMPT.
    let confirmed = yes || ctx.config.get_bool("core", "disable_confirm_prompt") == Some(true);
    if !confirmed {
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
