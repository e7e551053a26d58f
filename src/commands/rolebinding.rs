//! `rolebinding list | show | create | update | delete`, with az's semantics. Requests arrive
//! resolved (names checked, roles parsed); the prompt of `delete` is answered before dispatch.

use crate::arm::api;
use crate::arm::models::{Role, RoleBinding};
use crate::commands::Outcome;
use crate::context::Context;
use crate::domain::ids::{BindingId, ClusterId, Location, SourceResourceId};
use crate::domain::roles::{RoleName, role_key, role_type_fits_source};
use crate::error::{Error, Result};
use crate::resolve::{
    BindingDelete, BindingRef, BindingWrite, ClusterRef, Wait, check_roles_match_source,
};
use serde_json::Value;

async fn cluster_id(ctx: &Context, cluster: &ClusterRef) -> Result<ClusterId> {
    Ok(cluster.id(ctx.subscription().await?.clone()))
}

async fn binding_id(ctx: &Context, binding: &BindingRef) -> Result<BindingId> {
    Ok(binding.id(ctx.subscription().await?.clone()))
}

pub async fn list(ctx: &Context, cluster: &ClusterRef) -> Result<Outcome> {
    let cluster = cluster_id(ctx, cluster).await?;
    let bindings = api::list_bindings(&ctx.client, &cluster).await?;
    Ok(Outcome::Data(Value::Array(
        bindings.iter().map(RoleBinding::to_az).collect(),
    )))
}

pub async fn show(ctx: &Context, binding: &BindingRef) -> Result<Outcome> {
    let binding = binding_id(ctx, binding).await?;
    Ok(Outcome::Data(
        api::get_binding(&ctx.client, &binding).await?.to_az(),
    ))
}

/// Refuses a binding that exists (az's rule: use update), checks the roles against the
/// location's catalog, then writes.
pub async fn create(ctx: &Context, request: &BindingWrite) -> Result<Outcome> {
    let source = request.source.as_ref().ok_or_else(|| {
        Error::usage("the following arguments are required: --source-resource-id/-s")
    })?;
    let binding = binding_id(ctx, &request.binding).await?;
    if api::find_binding(&ctx.client, &binding).await?.is_some() {
        return Err(Error::BindingExists(binding.name.as_str().to_string()));
    }
    if request.validate {
        check_roles_in_catalog(
            ctx,
            &binding.cluster,
            &request.roles,
            source.resource_type(),
        )
        .await?;
    }
    write_binding(ctx, &binding, source.as_str(), request).await
}

/// Replaces the roles; the source is the binding's own, read first.
pub async fn update(ctx: &Context, request: &BindingWrite) -> Result<Outcome> {
    let binding = binding_id(ctx, &request.binding).await?;
    let existing = api::get_binding(&ctx.client, &binding).await?;
    let source =
        existing
            .properties
            .source_resource_id
            .ok_or_else(|| Error::UnexpectedResponse {
                request: format!("GET {}", binding.path()),
                detail: "the existing binding has no sourceResourceId".into(),
            })?;
    // --skip-validation skips every client-side role check, the type rule included.
    if let (true, Ok(parsed)) = (request.validate, SourceResourceId::parse(&source)) {
        check_roles_match_source(&request.roles, parsed.resource_type())?;
        check_roles_in_catalog(
            ctx,
            &binding.cluster,
            &request.roles,
            parsed.resource_type(),
        )
        .await?;
    }
    write_binding(ctx, &binding, &source, request).await
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
    let location = Location::from_service(&location).ok_or_else(|| Error::UnexpectedResponse {
        request: format!("GET {}", cluster.path()),
        detail: format!(
            "the cluster's location '{}' is not a location name; refusing to put it in a request",
            crate::diagnostics::sanitize(&location)
        ),
    })?;
    let catalog = api::list_roles(&ctx.client, &cluster.subscription, &location).await?;
    let valid: Vec<String> = catalog
        .iter()
        .filter(|r| {
            r.source_resource_type
                .as_deref()
                .is_some_and(|t| role_type_fits_source(t, source_type))
        })
        .filter_map(Role::qualified)
        .collect();
    for role in roles {
        let known = valid.iter().any(|v| role_key(v) == role_key(role.as_str()));
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
    request: &BindingWrite,
) -> Result<Outcome> {
    let role_names: Vec<&str> = request.roles.iter().map(RoleName::as_str).collect();
    let body = api::binding_body(source, &role_names);
    if request.dry_run {
        return Ok(Outcome::Data(dry_run_request(
            "PUT",
            &api::binding_url(&ctx.client, binding),
            Some(body),
        )));
    }
    let _in_flight = ctx.writing(binding);
    // A create (it has a source) must not replace a binding that exists by the time it arrives.
    let kind = if request.source.is_some() {
        WriteKind::Create
    } else {
        WriteKind::Update
    };
    let accepted = send_put(ctx, binding, &body, kind).await?;
    let Wait::Done { timeout } = request.wait else {
        let returned: RoleBinding = accepted.json()?;
        return Ok(Outcome::Data(returned.to_az()));
    };
    ctx.client
        .wait_for_operation(&accepted, timeout, &binding.show_command())
        .await?;
    Ok(Outcome::Data(
        api::get_binding(&ctx.client, binding).await?.to_az(),
    ))
}

/// A new binding, or new roles for an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Create,
    Update,
}

/// The one PUT of a binding, shared by `rolebinding create | update` and `apply`: a create is
/// conditional (`put_new`) whichever command makes it.
pub async fn send_put(
    ctx: &Context,
    binding: &BindingId,
    body: &Value,
    kind: WriteKind,
) -> Result<crate::arm::client::ArmResponse> {
    match kind {
        WriteKind::Create => put_new(ctx, binding, body).await,
        WriteKind::Update => api::put_binding(&ctx.client, binding, body).await,
    }
}

/// The one DELETE of a binding, shared by `rolebinding delete` and `apply`: follows the
/// operation unless `--no-wait` (a 204 means there was nothing to delete).
pub async fn send_delete(ctx: &Context, binding: &BindingId, wait: Wait) -> Result<()> {
    let accepted = api::delete_binding(&ctx.client, binding).await?;
    if let Wait::Done { timeout } = wait
        && accepted.status == 202
    {
        ctx.client
            .wait_for_operation(&accepted, timeout, &binding.show_command())
            .await?;
    }
    Ok(())
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

/// Deletes (the caller has confirmed); prints nothing.
pub async fn delete(ctx: &Context, request: &BindingDelete) -> Result<Outcome> {
    let binding = binding_id(ctx, &request.binding).await?;
    if request.dry_run {
        return Ok(Outcome::Data(dry_run_request(
            "DELETE",
            &api::binding_url(&ctx.client, &binding),
            None,
        )));
    }
    let _in_flight = ctx.writing(&binding);
    send_delete(ctx, &binding, request.wait).await?;
    Ok(Outcome::Nothing)
}
