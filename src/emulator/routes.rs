//! The ARM slice the emulator serves: routing (paths compared case-insensitively, as ARM does)
//! and each operation's handler, with the checks and answers the real service gives.

use crate::arm::ids::{SourceResourceId, binding_name_is_valid};
use crate::emulator::EmulatorConfig;
use crate::emulator::state::{Binding, LOCATIONS, Operation, OperationKind, World};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Instant;

/// One ARM request as the handlers see it.
pub struct ArmRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// Query parameters, keys lower-cased.
    pub query: HashMap<String, String>,
    pub body: &'a [u8],
    /// `http://host:port`, for links the answer carries.
    pub base: String,
}

/// An answer: status, extra headers, JSON body (or none).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            headers: vec![],
            body: Some(body),
        }
    }
    pub fn empty(status: u16) -> Self {
        Reply {
            status,
            headers: vec![],
            body: None,
        }
    }
    /// ARM's envelope: `{"error":{"code","message"}}`.
    pub fn arm_error(status: u16, code: &str, message: impl Into<String>) -> Self {
        Reply::json(
            status,
            json!({"error": {"code": code, "message": message.into()}}),
        )
    }
    /// AKS's bare error body: `{"code","message","subcode"}`.
    fn aks_error(status: u16, code: &str, subcode: &str, message: impl Into<String>) -> Self {
        Reply::json(
            status,
            json!({"code": code, "message": message.into(), "subcode": subcode}),
        )
    }
    fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

pub fn handle(world: &mut World, config: &EmulatorConfig, req: &ArmRequest) -> Reply {
    finish_expired_operations(world, config);
    let Some(api_version) = req.query.get("api-version") else {
        return Reply::arm_error(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    };
    if !api_version_is_well_formed(api_version) {
        return Reply::arm_error(
            400,
            "InvalidApiVersionParameter",
            format!(
                "The api-version '{api_version}' is invalid. The supported versions are '2023-09-01' and later."
            ),
        );
    }
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let method = req.method;

    if lower == ["subscriptions"] {
        return only_get(method).unwrap_or_else(|| list_subscriptions(world, config, req));
    }
    if lower.len() < 2 || lower[0] != "subscriptions" {
        return no_route(req);
    }
    let sub = segments[1];
    if let Some(refusal) = check_subscription(world, sub, method) {
        return refusal;
    }
    match lower[2..] {
        [] => only_get(method).unwrap_or_else(|| {
            let s = world
                .subscription(sub)
                .map(subscription_json)
                .unwrap_or(Value::Null);
            Reply::json(200, s)
        }),
        ["locations"] => only_get(method).unwrap_or_else(|| list_locations(config, req, sub)),
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
        ["providers", "microsoft.containerservice", "managedclusters"] => {
            only_get(method).unwrap_or_else(|| list_clusters(world, config, req, sub))
        }
        [
            "resourcegroups",
            _,
            "providers",
            "microsoft.containerservice",
            "managedclusters",
            _,
            ref rest @ ..,
        ] => {
            let (group, cluster) = (segments[3], segments[7]);
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
                [] => only_get(method)
                    .unwrap_or_else(|| Reply::json(200, world.clusters[index].to_json())),
                ["trustedaccessrolebindings"] => {
                    only_get(method).unwrap_or_else(|| list_bindings(world, config, req, index))
                }
                ["trustedaccessrolebindings", _] => {
                    let name = segments[9];
                    match method {
                        "GET" => get_binding(world, index, name),
                        "PUT" => put_binding(world, config, req, index, name),
                        "DELETE" => delete_binding(world, config, req, index, name),
                        _ => method_not_allowed(method),
                    }
                }
                _ => no_route(req),
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

fn api_version_is_well_formed(v: &str) -> bool {
    let date = v.strip_suffix("-preview").unwrap_or(v);
    date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
}

fn check_subscription(world: &World, sub: &str, method: &str) -> Option<Reply> {
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
            format!(
                "The client 'user@example.com' with object id '22222222-2222-2222-2222-222222222222' does not have authorization \
                 to perform action 'Microsoft.ContainerService/managedClusters/read' over scope '/subscriptions/{sub}' or the scope is invalid."
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

fn subscription_json(s: &crate::emulator::state::SubscriptionSeed) -> Value {
    json!({
        "id": format!("/subscriptions/{}", s.subscription_id),
        "subscriptionId": s.subscription_id,
        "displayName": s.display_name,
        "state": s.state,
        "tenantId": s.tenant_id,
        "authorizationSource": "RoleBased",
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"}
    })
}

fn list_subscriptions(world: &World, config: &EmulatorConfig, req: &ArmRequest) -> Reply {
    page(
        world.subscriptions.iter().map(subscription_json).collect(),
        config,
        req,
    )
}

fn list_locations(config: &EmulatorConfig, req: &ArmRequest, sub: &str) -> Reply {
    let items = LOCATIONS
        .iter()
        .map(|(name, display, regional)| {
            json!({
                "id": format!("/subscriptions/{sub}/locations/{name}"),
                "name": name,
                "displayName": display,
                "regionalDisplayName": regional,
                "type": "Region",
            })
        })
        .collect();
    page(items, config, req)
}

fn list_roles(world: &World, config: &EmulatorConfig, req: &ArmRequest, location: &str) -> Reply {
    if !LOCATIONS
        .iter()
        .any(|(name, ..)| name.eq_ignore_ascii_case(location))
    {
        return Reply::arm_error(
            404,
            "NoRegisteredProviderFound",
            format!(
                "No registered resource provider found for location '{location}' and API version for type 'locations/trustedAccessRoles'."
            ),
        );
    }
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

fn cluster_forbidden(world: &World, index: usize) -> Option<Reply> {
    let cluster = &world.clusters[index];
    (!cluster.readable).then(|| {
        Reply::arm_error(
            403,
            "AuthorizationFailed",
            format!(
                "The client 'user@example.com' does not have authorization to perform action \
                 'Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings/read' over scope '{}'.",
                cluster.id()
            ),
        )
    })
}

fn list_bindings(world: &World, config: &EmulatorConfig, req: &ArmRequest, index: usize) -> Reply {
    if let Some(refusal) = cluster_forbidden(world, index) {
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

fn get_binding(world: &World, index: usize, name: &str) -> Reply {
    if let Some(refusal) = cluster_forbidden(world, index) {
        return refusal;
    }
    let cluster = &world.clusters[index];
    match cluster.find_binding(name) {
        Some(b) => Reply::json(200, cluster.binding_json(&cluster.bindings[b])),
        None => binding_not_found(world, index, name),
    }
}

fn put_binding(
    world: &mut World,
    config: &EmulatorConfig,
    req: &ArmRequest,
    index: usize,
    name: &str,
) -> Reply {
    if !binding_name_is_valid(name) {
        return Reply::aks_error(
            400,
            "InvalidParameter",
            "InvalidTrustedAccessRoleBindingName",
            format!(
                "The trusted access role binding name '{name}' is invalid: it must be 1-24 characters of letters, digits and '-'."
            ),
        );
    }
    let Ok(body) = serde_json::from_slice::<Value>(req.body) else {
        return Reply::arm_error(
            400,
            "InvalidRequestContent",
            "The request content was invalid and could not be deserialized.",
        );
    };
    let properties = &body["properties"];
    let Some(source) = properties["sourceResourceId"]
        .as_str()
        .filter(|s| !s.is_empty())
    else {
        return Reply::aks_error(
            400,
            "InvalidParameter",
            "MissingSourceResourceId",
            "The sourceResourceId of the trusted access role binding is required.",
        );
    };
    let Some(roles) = properties["roles"].as_array().filter(|r| !r.is_empty()) else {
        return Reply::aks_error(
            400,
            "InvalidParameter",
            "MissingRoles",
            "The roles of the trusted access role binding must not be empty.",
        );
    };
    let Some(roles) = roles
        .iter()
        .map(|r| r.as_str().map(str::to_string))
        .collect::<Option<Vec<String>>>()
    else {
        return Reply::aks_error(
            400,
            "InvalidParameter",
            "InvalidRoles",
            "Each role must be a string.",
        );
    };
    let Ok(parsed_source) = SourceResourceId::parse(source) else {
        return Reply::aks_error(
            400,
            "InvalidParameter",
            "InvalidSourceResourceId",
            format!("The sourceResourceId '{source}' is not a valid resource id."),
        );
    };
    let location = world.clusters[index].location.clone();
    for role in &roles {
        let (role_type, role_name) = role.rsplit_once('/').unwrap_or(("", role));
        let known = world.catalog_for(&location).iter().any(|r| {
            r["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(role_name))
                && r["sourceResourceType"]
                    .as_str()
                    .is_some_and(|t| t.eq_ignore_ascii_case(role_type))
        });
        if !known {
            return Reply::aks_error(
                400,
                "BadRequest",
                "InvalidTrustedAccessRole",
                format!(
                    "Role '{role}' is not a valid trusted access role in location '{location}'."
                ),
            );
        }
        if !role_type.eq_ignore_ascii_case(parsed_source.resource_type()) {
            return Reply::aks_error(
                400,
                "BadRequest",
                "TrustedAccessRoleSourceTypeMismatch",
                format!(
                    "Role '{role}' cannot be used with source resource type '{}'.",
                    parsed_source.resource_type()
                ),
            );
        }
    }
    let now = now_rfc3339();
    let cluster = &mut world.clusters[index];
    let existing = cluster.find_binding(name);
    let status = match existing {
        Some(b) => {
            let binding = &mut cluster.bindings[b];
            if !binding.source_resource_id.eq_ignore_ascii_case(source) {
                return Reply::aks_error(
                    400,
                    "BadRequest",
                    "SourceResourceIdCannotBeChanged",
                    format!(
                        "The sourceResourceId of trusted access role binding '{}' cannot be changed.",
                        binding.name
                    ),
                );
            }
            binding.roles = roles;
            binding.provisioning_state = "Updating".into();
            if let Some(system_data) = binding.system_data.as_mut() {
                system_data["lastModifiedAt"] = json!(now);
            }
            200
        }
        None => {
            cluster.bindings.push(Binding {
                name: name.to_string(),
                source_resource_id: source.to_string(),
                roles,
                provisioning_state: "Updating".into(),
                system_data: Some(json!({
                    "createdBy": "user@example.com", "createdByType": "User", "createdAt": now,
                    "lastModifiedBy": "user@example.com", "lastModifiedByType": "User", "lastModifiedAt": now,
                })),
            });
            201
        }
    };
    let cluster = &world.clusters[index];
    let binding = &cluster.bindings[cluster.find_binding(name).unwrap_or_default()];
    let body = cluster.binding_json(binding);
    let binding_name = binding.name.clone();
    let (async_url, _) = start_operation(
        world,
        config,
        req,
        index,
        binding_name,
        OperationKind::Put,
        &location,
    );
    Reply::json(status, body)
        .header("Azure-AsyncOperation", async_url)
        .header("Retry-After", config.retry_after.to_string())
}

fn delete_binding(
    world: &mut World,
    config: &EmulatorConfig,
    req: &ArmRequest,
    index: usize,
    name: &str,
) -> Reply {
    let cluster = &mut world.clusters[index];
    let Some(b) = cluster.find_binding(name) else {
        return Reply::empty(204);
    };
    cluster.bindings[b].provisioning_state = "Deleting".into();
    let binding_name = cluster.bindings[b].name.clone();
    let location = cluster.location.clone();
    let (async_url, location_url) = start_operation(
        world,
        config,
        req,
        index,
        binding_name,
        OperationKind::Delete,
        &location,
    );
    Reply::empty(202)
        .header("Azure-AsyncOperation", async_url)
        .header("Location", location_url)
        .header("Retry-After", config.retry_after.to_string())
}

/// Registers an operation; returns its `Azure-AsyncOperation` and `Location` URLs.
fn start_operation(
    world: &mut World,
    config: &EmulatorConfig,
    req: &ArmRequest,
    cluster: usize,
    binding: String,
    kind: OperationKind,
    location: &str,
) -> (String, String) {
    let id = uuid::Uuid::new_v4().to_string();
    let sub = &world.clusters[cluster].subscription_id;
    let base = format!(
        "{}/subscriptions/{sub}/providers/Microsoft.ContainerService/locations/{location}",
        req.base
    );
    let urls = (
        format!("{base}/operations/{id}?api-version=2016-03-30"),
        format!("{base}/operationresults/{id}?api-version=2016-03-30"),
    );
    world.operations.insert(
        id.clone(),
        Operation {
            id,
            kind,
            cluster,
            binding,
            polls_left: config.operation_polls,
            started: Instant::now(),
            start_time: now_rfc3339(),
            end_time: None,
            outcome: config.operation_outcome.clone(),
        },
    );
    urls
}

/// Operations also end on their own after `--operation-seconds`, as real ones do, so a
/// `--no-wait` write settles even when nobody polls.
fn finish_expired_operations(world: &mut World, config: &EmulatorConfig) {
    let Some(limit) = config.operation_seconds else {
        return;
    };
    let expired: Vec<String> = world
        .operations
        .values()
        .filter(|op| op.end_time.is_none() && op.started.elapsed().as_secs_f64() >= limit)
        .map(|op| op.id.clone())
        .collect();
    for id in expired {
        world.finish_operation(&id, now_rfc3339());
    }
}

/// Counts a poll; returns whether the operation has ended.
fn poll(world: &mut World, id: &str) -> Option<bool> {
    let op = world.operations.get_mut(id)?;
    if op.end_time.is_none() {
        if op.polls_left > 0 {
            op.polls_left -= 1;
            return Some(false);
        }
        world.finish_operation(id, now_rfc3339());
    }
    Some(true)
}

fn operation_status(world: &mut World, config: &EmulatorConfig, id: &str) -> Reply {
    let Some(ended) = poll(world, id) else {
        return Reply::arm_error(404, "NotFound", format!("Operation '{id}' was not found."));
    };
    let op = &world.operations[id];
    let mut body = json!({"name": op.id, "startTime": op.start_time});
    if !ended {
        body["status"] = json!("InProgress");
        return Reply::json(200, body).header("Retry-After", config.retry_after.to_string());
    }
    body["status"] = json!(op.outcome);
    body["endTime"] = json!(op.end_time);
    match op.outcome.as_str() {
        "Failed" => {
            body["error"] = json!({"code": "EmulatedOperationFailed", "message": "The operation failed (emulator --operation-outcome failed)."})
        }
        "Canceled" => {
            body["error"] = json!({"code": "OperationCanceled", "message": "The operation was canceled (emulator --operation-outcome canceled)."})
        }
        _ => {}
    }
    Reply::json(200, body)
}

fn operation_result(
    world: &mut World,
    config: &EmulatorConfig,
    req: &ArmRequest,
    id: &str,
) -> Reply {
    let Some(ended) = poll(world, id) else {
        return Reply::arm_error(404, "NotFound", format!("Operation '{id}' was not found."));
    };
    if !ended {
        return Reply::empty(202)
            .header(
                "Location",
                format!("{}{}?api-version=2016-03-30", req.base, req.path),
            )
            .header("Retry-After", config.retry_after.to_string());
    }
    let op = world.operations[id].clone();
    if op.outcome != "Succeeded" {
        return Reply::arm_error(
            409,
            "EmulatedOperationFailed",
            format!("The operation ended with status {}.", op.outcome),
        );
    }
    match op.kind {
        OperationKind::Delete => Reply::empty(204),
        OperationKind::Put => {
            let cluster = &world.clusters[op.cluster];
            match cluster.find_binding(&op.binding) {
                Some(b) => Reply::json(200, cluster.binding_json(&cluster.bindings[b])),
                None => Reply::empty(204),
            }
        }
    }
}

/// Now, as ARM writes times: RFC 3339 UTC with 7 fractional digits.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.nanosecond() / 100
    )
}
