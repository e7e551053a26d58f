//! `rolebinding check`: reads the cluster, the binding, the location's role catalog, the source
//! resource and the cluster's bindings, and reports whether the binding can work and why not.

use crate::arm::api;
use crate::arm::auth::claims::unix_now;
use crate::arm::models::RoleBinding;
use crate::commands::doctor::{BINDING_LIMIT, Check, Report, binding_rules, reason, source};
use crate::context::Context;
use crate::domain::ids::{ClusterId, Location};
use crate::error::{Error, Result};
use crate::resolve::BindingCheck;
use serde_json::json;

const EXISTS: &str = "binding-exists";

pub async fn check(ctx: &Context, request: &BindingCheck) -> Result<Report> {
    let binding_id = request.binding.id(ctx.subscription().await?.clone());
    let cluster = binding_id.cluster.clone();
    let mut report = Report::default();
    let location = match api::get_cluster(&ctx.client, &cluster).await {
        Ok(c) => c
            .location
            .map(|l| l.to_ascii_lowercase())
            .ok_or_else(|| "the cluster has no location: cannot choose a role catalog".to_string()),
        Err(e) => {
            report.push(cluster_unreadable(&cluster, &e));
            return Ok(report);
        }
    };
    let binding = match api::find_binding(&ctx.client, &binding_id).await {
        Ok(Some(binding)) => binding,
        Ok(None) => {
            report.push(Check::fail(
                EXISTS,
                format!(
                    "cluster '{}' has no binding named '{}'",
                    cluster.name.as_str(),
                    binding_id.name.as_str()
                ),
                format!(
                    "see its bindings with 'aks-trustedaccess rolebinding list -g {} --cluster-name {}'",
                    cluster.resource_group.as_str(),
                    cluster.name.as_str()
                ),
            ));
            return Ok(report);
        }
        Err(e) => {
            report.push(Check::unknown(
                EXISTS,
                format!("cannot read the binding: {}", reason(&e)),
                None,
            ));
            return Ok(report);
        }
    };
    report.push(Check::pass(
        EXISTS,
        format!(
            "binding '{}' exists on cluster '{}'",
            binding_id.name.as_str(),
            cluster.name.as_str()
        ),
    ));
    report.details.insert("binding".into(), binding.to_az());
    binding_checks(
        ctx,
        &cluster,
        &binding,
        location.as_deref().map_err(String::as_str),
        &mut report,
    )
    .await;
    report.push(binding_limit(ctx, &cluster).await);
    Ok(report)
}

/// A missing cluster fails the check (there is no binding to find); other errors leave it unknown.
fn cluster_unreadable(cluster: &ClusterId, e: &Error) -> Check {
    match e {
        Error::Arm(arm) if arm.status == 404 => Check::fail(
            EXISTS,
            format!(
                "cluster '{}' was not found in resource group '{}': {}",
                cluster.name.as_str(),
                cluster.resource_group.as_str(),
                reason(e)
            ),
            "check -g, --cluster-name and --subscription",
        ),
        _ => Check::unknown(
            EXISTS,
            format!("cannot read the cluster: {}", reason(e)),
            None,
        ),
    }
}

/// State (with the failed operation's error), effective yet, roles, source. Shared with
/// `token check`, which finds the binding by the token's source.
pub(super) async fn binding_checks(
    ctx: &Context,
    cluster: &ClusterId,
    binding: &RoleBinding,
    location: std::result::Result<&str, &str>,
    report: &mut Report,
) {
    let failed = binding
        .properties
        .provisioning_state
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("failed"));
    let operation_error = if failed {
        failed_operation_error(ctx, cluster, binding).await
    } else {
        None
    };
    report.push(binding_rules::provisioned(
        binding,
        operation_error.as_deref(),
    ));
    let (effective, at) = binding_rules::effective(binding, unix_now());
    report.effective_at = at;
    if let Some(at) = at {
        report.details.insert(
            "effectiveAt".into(),
            json!(crate::commands::doctor::rfc3339(at)),
        );
    }
    report.push(effective);
    let catalog = match location {
        // A location the server sent is checked like user input before it goes into a path.
        Ok(location) => match Location::from_service(location) {
            Some(short) => api::list_roles(&ctx.client, &cluster.subscription, &short)
                .await
                .map(|catalog| (location, catalog))
                .map_err(|e| format!("cannot read the role catalog of {location}: {}", reason(&e))),
            None => Err(format!(
                "the cluster's location '{location}' is not a location name"
            )),
        },
        Err(why) => Err(why.to_string()),
    };
    match catalog {
        Ok((location, catalog)) => report
            .checks
            .extend(binding_rules::roles(binding, &catalog, location)),
        // The fit to the source needs no catalog: it is still checked.
        Err(why) => {
            report.push(Check::unknown("roles-in-catalog", why, None));
            report.push(binding_rules::fit_check(binding));
        }
    }
    let source = binding
        .properties
        .source_resource_id
        .as_deref()
        .unwrap_or("");
    report.checks.extend(source::checks(ctx, source).await);
}

/// The error of the binding's last failed write, from the activity log, when it can be read.
async fn failed_operation_error(
    ctx: &Context,
    cluster: &ClusterId,
    binding: &RoleBinding,
) -> Option<String> {
    let id = binding.id.as_deref()?;
    api::failed_write_error(&ctx.client, &cluster.subscription, id)
        .await
        .ok()
        .flatten()
}

/// At most 8 bindings per cluster: a note when at it.
async fn binding_limit(ctx: &Context, cluster: &ClusterId) -> Check {
    const ID: &str = "binding-limit";
    match api::list_bindings(&ctx.client, cluster).await {
        Ok(all) if all.len() >= BINDING_LIMIT => Check::warn(
            ID,
            format!(
                "cluster '{}' has {} bindings, the limit is {BINDING_LIMIT}: no binding can be added",
                cluster.name.as_str(),
                all.len()
            ),
            "to bind another service, delete a binding that is no longer needed",
        ),
        Ok(all) => Check::pass(
            ID,
            format!(
                "cluster '{}' has {} of at most {BINDING_LIMIT} bindings",
                cluster.name.as_str(),
                all.len()
            ),
        ),
        Err(e) => Check::unknown(
            ID,
            format!("cannot list the bindings: {}", reason(&e)),
            None,
        ),
    }
}
