//! The ARM slice the emulator serves: routing (paths compared case-insensitively, as ARM does)
//! and each operation's handler, with the checks and answers the real service gives.

use crate::emulator::EmulatorConfig;
pub use crate::emulator::http::{ArmRequest, Reply};
use crate::emulator::operations::{
    delete_binding, finish_expired_operations, operation_result, operation_status, put_binding,
};
use crate::emulator::state::World;
use crate::emulator::{directory, permissions, regions, versions};
use serde_json::{Value, json};

pub fn handle(world: &mut World, config: &EmulatorConfig, req: &ArmRequest) -> Reply {
    finish_expired_operations(world, config);
    let Some(api_version) = req.query.get("api-version").map(String::as_str) else {
        return Reply::arm_error(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    };
    if let Some(refusal) = versions::malformed(api_version) {
        return refusal;
    }
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let path = Path {
        segments: &segments,
        lower: &lower,
        api_version,
    };
    if lower == ["providers", "microsoft.resourcegraph", "resources"] {
        return crate::emulator::graph::handle(world, config, req);
    }
    if lower == ["subscriptions"] || lower == ["tenants"] {
        if let Some(refusal) = only_get(req.method).or_else(|| versions::resources(api_version)) {
            return refusal;
        }
        return if lower == ["tenants"] {
            list_tenants(world, config, req)
        } else {
            list_subscriptions(world, config, req)
        };
    }
    if lower.len() < 2 || lower[0] != "subscriptions" {
        return no_route(req);
    }
    if let Some(refusal) = check_subscription(world, segments[1], req) {
        return refusal;
    }
    under_subscription(world, config, req, &path)
}

/// A request path: as sent, and lowercased to match routes (ARM compares them case-insensitively).
struct Path<'a> {
    segments: &'a [&'a str],
    lower: &'a [&'a str],
    api_version: &'a str,
}

/// `/subscriptions/{id}/…`, the subscription known and enabled.
fn under_subscription(
    world: &mut World,
    config: &EmulatorConfig,
    req: &ArmRequest,
    path: &Path<'_>,
) -> Reply {
    let (segments, method, sub) = (path.segments, req.method, path.segments[1]);
    if let Some(refusal) = version_refusal(world, path) {
        return refusal;
    }
    match path.lower[2..] {
        [] => only_get(method).unwrap_or_else(|| {
            let s = world
                .subscription(sub)
                .map(directory::subscription_json)
                .unwrap_or(Value::Null);
            Reply::json(200, s)
        }),
        ["locations"] => {
            only_get(method).unwrap_or_else(|| page(directory::locations(sub), config, req))
        }
        ["resourcegroups", _] => {
            only_get(method).unwrap_or_else(|| directory::resource_group(world, sub, segments[3]))
        }
        [
            "providers",
            "microsoft.containerservice",
            "locations",
            _,
            "trustedaccessroles",
        ] => only_get(method).unwrap_or_else(|| list_roles(world, config, req, segments[5])),
        [
            "providers",
            "microsoft.containerservice",
            "locations",
            _,
            "operations",
            _,
        ] => only_get(method).unwrap_or_else(|| operation_status(world, config, segments[7])),
        [
            "providers",
            "microsoft.containerservice",
            "locations",
            _,
            "operationresults",
            _,
        ] => only_get(method).unwrap_or_else(|| operation_result(world, config, req, segments[7])),
        [
            "providers",
            "microsoft.insights",
            "eventtypes",
            "management",
            "values",
        ] => only_get(method).unwrap_or_else(|| {
            crate::emulator::activity::management_events(world, config, req, sub)
        }),
        ["providers", "microsoft.containerservice", "managedclusters"] => {
            only_get(method).unwrap_or_else(|| list_clusters(world, config, req, sub))
        }
        ["providers", "microsoft.authorization", "permissions"] => {
            only_get(method).unwrap_or_else(|| page(permissions::entries(world, sub), config, req))
        }
        [
            "resourcegroups",
            _,
            "providers",
            "microsoft.containerservice",
            "managedclusters",
            _,
            ref rest @ ..,
        ] => under_cluster(world, config, req, path, rest),
        _ => crate::emulator::resources::route(world, req, path.lower)
            .unwrap_or_else(|| no_route(req)),
    }
}

/// The api-version check of a request under a subscription, by the provider that serves it
/// (generic resources and Resource Graph check their own).
fn version_refusal(world: &World, path: &Path<'_>) -> Option<Reply> {
    let (v, segments) = (path.api_version, path.segments);
    match path.lower[2..] {
        [] | ["locations"] | ["resourcegroups", _] | ["providers", _] => versions::resources(v),
        [
            "providers",
            "microsoft.containerservice",
            "locations",
            _,
            "trustedaccessroles",
        ] => {
            let location = segments[5];
            (regions::region(location).is_none() || !versions::AKS.contains(&v)).then(|| {
                versions::no_provider(location, v, "locations/trustedAccessRoles", versions::AKS)
            })
        }
        [
            "providers",
            "microsoft.containerservice",
            "locations",
            _,
            kind,
            _,
        ] if kind == "operations" || kind == "operationresults" => {
            (v != versions::OPERATIONS && !versions::AKS.contains(&v)).then(|| {
                versions::no_provider(
                    segments[5],
                    v,
                    &format!("locations/{kind}"),
                    &[versions::OPERATIONS],
                )
            })
        }
        ["providers", "microsoft.insights", "eventtypes", ..] => (!versions::ACTIVITY_LOG
            .contains(&v))
        .then(|| versions::no_provider("global", v, "eventtypes", versions::ACTIVITY_LOG)),
        ["providers", "microsoft.containerservice", "managedclusters"] => {
            versions::container_service(v, "global", "managedClusters")
        }
        ["providers", "microsoft.authorization", "permissions"] => (!versions::AUTHORIZATION
            .contains(&v))
        .then(|| versions::no_provider("global", v, "permissions", versions::AUTHORIZATION)),
        [
            "resourcegroups",
            _,
            "providers",
            "microsoft.containerservice",
            "managedclusters",
            _,
            ref rest @ ..,
        ] => {
            let location = world
                .find_cluster(segments[1], segments[3], segments[7])
                .map_or("global", |i| world.clusters[i].location.as_str());
            let kind = if rest.is_empty() {
                "managedClusters"
            } else {
                "managedClusters/trustedAccessRoleBindings"
            };
            versions::container_service(v, location, kind)
        }
        _ => None,
    }
}

/// `…/resourceGroups/{g}/providers/Microsoft.ContainerService/managedClusters/{c}/…`: the
/// cluster itself, its bindings, one binding.
fn under_cluster(
    world: &mut World,
    config: &EmulatorConfig,
    req: &ArmRequest,
    path: &Path<'_>,
    rest: &[&str],
) -> Reply {
    let (segments, method) = (path.segments, req.method);
    let (sub, group, cluster) = (segments[1], segments[3], segments[7]);
    if !world.has_resource_group(sub, group) {
        return Reply::arm_error(
            404,
            "ResourceGroupNotFound",
            format!("Resource group '{group}' could not be found."),
        );
    }
    let Some(index) = world.find_cluster(sub, group, cluster) else {
        return Reply::arm_error(
            404,
            "ResourceNotFound",
            format!(
                "The Resource 'Microsoft.ContainerService/managedClusters/{cluster}' under resource group '{group}' was not found. \
                 For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        );
    };
    match rest {
        [] => only_get(method).unwrap_or_else(|| Reply::json(200, world.clusters[index].to_json())),
        ["trustedaccessrolebindings"] => {
            only_get(method).unwrap_or_else(|| list_bindings(world, config, req, index))
        }
        ["trustedaccessrolebindings", _] => {
            let name = segments[9];
            match method {
                "GET" => get_binding(world, req, index, name),
                "PUT" => put_binding(world, config, req, index, name),
                "DELETE" => delete_binding(world, config, req, index, name),
                _ => method_not_allowed(method),
            }
        }
        _ => no_route(req),
    }
}

fn only_get(method: &str) -> Option<Reply> {
    (method != "GET").then(|| method_not_allowed(method))
}

fn method_not_allowed(method: &str) -> Reply {
    Reply::arm_error(
        405,
        "MethodNotAllowed",
        format!("The requested resource does not support http method '{method}'."),
    )
}

fn no_route(req: &ArmRequest) -> Reply {
    Reply::arm_error(
        404,
        "InvalidResourceType",
        format!(
            "The resource type could not be found for path '{}'.",
            req.path
        ),
    )
}

fn check_subscription(world: &World, sub: &str, req: &ArmRequest) -> Option<Reply> {
    let method = req.method;
    let Some(subscription) = world.subscription(sub) else {
        return Some(Reply::arm_error(
            404,
            "SubscriptionNotFound",
            format!("The subscription '{sub}' could not be found."),
        ));
    };
    if !subscription.readable {
        return Some(Reply::arm_error(
            403,
            "AuthorizationFailed",
            req.caller.authorization_failed(
                "Microsoft.ContainerService/managedClusters/read",
                &format!("/subscriptions/{sub}"),
            ),
        ));
    }
    if method != "GET" && !subscription.state.eq_ignore_ascii_case("Enabled") {
        return Some(Reply::arm_error(
            409,
            "ReadOnlyDisabledSubscription",
            format!("The subscription '{sub}' is disabled and therefore marked as read only."),
        ));
    }
    None
}

/// `{value, nextLink}` pages of `page_size` items; `$skipToken` is the offset.
fn page(items: Vec<Value>, config: &EmulatorConfig, req: &ArmRequest) -> Reply {
    let api_version = req.query.get("api-version").cloned().unwrap_or_default();
    let link = |skip: usize| {
        format!(
            "{}{}?api-version={api_version}&$skipToken={skip}",
            req.base, req.path
        )
    };
    let token = req.query.get("$skiptoken");
    if config.leading_empty_page && token.is_none() {
        return Reply::json(200, json!({"value": [], "nextLink": link(0)}));
    }
    let skip = token
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0)
        .min(items.len());
    let size = if config.page_size == 0 {
        items.len()
    } else {
        config.page_size
    };
    let end = (skip + size).min(items.len());
    let mut body = json!({"value": items[skip..end].to_vec()});
    if end < items.len() {
        body["nextLink"] = json!(link(end));
    }
    Reply::json(200, body)
}

fn list_subscriptions(world: &World, config: &EmulatorConfig, req: &ArmRequest) -> Reply {
    page(
        world
            .subscriptions
            .iter()
            .map(directory::subscription_json)
            .collect(),
        config,
        req,
    )
}

fn list_tenants(world: &World, config: &EmulatorConfig, req: &ArmRequest) -> Reply {
    page(directory::tenants(world), config, req)
}

fn list_roles(world: &World, config: &EmulatorConfig, req: &ArmRequest, location: &str) -> Reply {
    page(world.catalog_for(location).to_vec(), config, req)
}

fn list_clusters(world: &World, config: &EmulatorConfig, req: &ArmRequest, sub: &str) -> Reply {
    let items = world
        .clusters
        .iter()
        .filter(|c| c.subscription_id.eq_ignore_ascii_case(sub))
        .map(|c| c.to_json())
        .collect();
    page(items, config, req)
}

fn cluster_forbidden(world: &World, req: &ArmRequest, index: usize) -> Option<Reply> {
    let cluster = &world.clusters[index];
    (!cluster.readable).then(|| {
        Reply::arm_error(
            403,
            "AuthorizationFailed",
            req.caller.authorization_failed(
                "Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings/read",
                &cluster.id(),
            ),
        )
    })
}

fn list_bindings(world: &World, config: &EmulatorConfig, req: &ArmRequest, index: usize) -> Reply {
    if let Some(refusal) = cluster_forbidden(world, req, index) {
        return refusal;
    }
    let cluster = &world.clusters[index];
    page(
        cluster
            .bindings
            .iter()
            .map(|b| cluster.binding_json(b))
            .collect(),
        config,
        req,
    )
}

fn binding_not_found(world: &World, index: usize, name: &str) -> Reply {
    let c = &world.clusters[index];
    Reply::json(
        404,
        json!({
            "code": "NotFound",
            "details": [{"code": "Unspecified", "message": "rpc error: code = NotFound desc = TrustedAccessRoleBinding not found"}],
            "message": format!(
                "Could not find the trusted access role binding {name} in subscription: {}, resourceGroup: {}, clusterName: {}.",
                c.subscription_id, c.resource_group, c.name
            ),
            "subcode": "GetTrustedAccessRoleBinding_NotFound"
        }),
    )
}

fn get_binding(world: &World, req: &ArmRequest, index: usize, name: &str) -> Reply {
    if let Some(refusal) = cluster_forbidden(world, req, index) {
        return refusal;
    }
    let cluster = &world.clusters[index];
    match cluster.find_binding(name) {
        Some(b) => Reply::json(200, cluster.binding_json(&cluster.bindings[b])),
        None => binding_not_found(world, index, name),
    }
}
