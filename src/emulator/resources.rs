//! Arbitrary ARM resources in the emulator's world (the sources of role bindings): a generic
//! `GET|PUT|DELETE {resourceId}?api-version=…`, the provider endpoint that lists the api-versions
//! each type accepts, and the resources' JSON with their managed identity.

use crate::emulator::http::{ArmRequest, Reply};
pub use crate::emulator::seed::stable_uuid;
use crate::emulator::seed::{IdentitySeed, ResourceSeed};
use crate::emulator::state::World;
pub use crate::emulator::state::{Resource, resource_type_of};
use serde_json::{Value, json};

/// The api-versions every resource type outside Microsoft.ContainerService accepts (what
/// `GET /subscriptions/{s}/providers/{namespace}` lists); any other version answers 400
/// NoRegisteredProviderFound, as ARM does for a version a provider does not serve.
pub const RESOURCE_API_VERSIONS: &[&str] = &[
    "2025-04-01-preview",
    "2024-10-01",
    "2024-04-01",
    "2023-07-01",
    "2022-09-01",
    "2021-04-01",
];

/// Routes a request under `/subscriptions/{sub}` that no Trusted Access route took: the
/// provider endpoint, or a resource by id. `None` when it is neither.
pub fn route(world: &mut World, req: &ArmRequest, lower: &[&str]) -> Option<Reply> {
    match lower {
        ["subscriptions", _, "providers", namespace] => Some(provider(world, req, namespace)),
        ["subscriptions", _, "resourcegroups", _, "providers", ..]
        | ["subscriptions", _, "providers", ..] => {
            let id = req.path.trim_end_matches('/');
            let kind = resource_type_of(id)?;
            Some(match req.method {
                "GET" => get(world, req, id, &kind),
                "PUT" => put(world, req, id, &kind),
                "DELETE" => delete(world, id),
                other => Reply::arm_error(
                    405,
                    "MethodNotAllowed",
                    format!("The requested resource does not support http method '{other}'."),
                ),
            })
        }
        _ => None,
    }
}

/// `GET /subscriptions/{s}/providers/{namespace}`: the types the world holds in that namespace.
fn provider(world: &World, req: &ArmRequest, namespace: &str) -> Reply {
    if req.method != "GET" {
        return Reply::arm_error(
            405,
            "MethodNotAllowed",
            format!(
                "The requested resource does not support http method '{}'.",
                req.method
            ),
        );
    }
    // Real ARM lists every type of a provider, held or not; here: the types of the world's
    // resources and the role catalogs' source types (so a deleted source still has a version).
    let catalog_types = world
        .catalog
        .iter()
        .chain(world.catalogs_by_location.values().flatten())
        .filter_map(|r| r["sourceResourceType"].as_str());
    let mut types: Vec<String> = world
        .resources
        .values()
        .map(|r| r.resource_type.as_str())
        .chain(catalog_types)
        .filter_map(|t| {
            let (ns, kind) = t.split_once('/')?;
            ns.eq_ignore_ascii_case(namespace).then(|| kind.to_string())
        })
        .collect();
    types.sort_by_key(|t| t.to_ascii_lowercase());
    types.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    let spelled = req
        .path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(namespace);
    Reply::json(
        200,
        json!({
            "id": req.path.trim_end_matches('/'),
            "namespace": spelled,
            "registrationState": "Registered",
            "resourceTypes": types.iter().map(|t| json!({
                "resourceType": t,
                "locations": [],
                "apiVersions": versions_of(&format!("{spelled}/{t}")),
            })).collect::<Vec<_>>(),
        }),
    )
}

/// Log Analytics workspaces' api-versions (their provider's own, not the list above).
pub const WORKSPACE_API_VERSIONS: &[&str] = &["2025-02-01", "2023-09-01", "2022-10-01"];

/// The api-versions a resource type accepts.
fn versions_of(kind: &str) -> &'static [&'static str] {
    if kind.eq_ignore_ascii_case(crate::emulator::state::WORKSPACE_TYPE) {
        WORKSPACE_API_VERSIONS
    } else {
        RESOURCE_API_VERSIONS
    }
}

fn version_refused(req: &ArmRequest, kind: &str) -> Option<Reply> {
    let version = req.query.get("api-version")?;
    let accepted = versions_of(kind);
    (!accepted.contains(&version.as_str())).then(|| {
        Reply::arm_error(
            400,
            "NoRegisteredProviderFound",
            format!(
                "No registered resource provider found for location 'global' and API version '{version}' for type '{}'. \
                 The supported api-versions are '{}'.",
                kind.split_once('/').map(|(_, t)| t).unwrap_or(kind),
                accepted.join(", ")
            ),
        )
    })
}

fn not_found(world: &World, id: &str, kind: &str) -> Reply {
    let segments: Vec<&str> = id.trim_matches('/').split('/').collect();
    if let Some(i) = segments
        .iter()
        .position(|s| s.eq_ignore_ascii_case("resourcegroups"))
        && let Some(group) = segments.get(i + 1)
        && !world.has_resource_group(segments[1], group)
    {
        return Reply::arm_error(
            404,
            "ResourceGroupNotFound",
            format!("Resource group '{group}' could not be found."),
        );
    }
    let name = segments.last().copied().unwrap_or_default();
    Reply::arm_error(
        404,
        "ResourceNotFound",
        format!(
            "The Resource '{kind}/{name}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}

fn get(world: &World, req: &ArmRequest, id: &str, kind: &str) -> Reply {
    if let Some(refusal) = version_refused(req, kind) {
        return refusal;
    }
    let sub = id
        .trim_start_matches('/')
        .split('/')
        .nth(1)
        .unwrap_or_default();
    if !crate::emulator::permissions::Sight::of(world).reads(sub, kind) {
        let action = format!("{kind}/read");
        let message = req.caller.authorization_failed(&action, id);
        return Reply::arm_error(403, "AuthorizationFailed", message);
    }
    match world.resource(id) {
        Some(r) if !r.readable => Reply::arm_error(
            403,
            "AuthorizationFailed",
            req.caller
                .authorization_failed(&format!("{}/read", r.resource_type), &r.id),
        ),
        Some(r) => Reply::json(200, r.to_json()),
        None => match world.services.find(id) {
            Some(item) => Reply::json(200, item),
            None => not_found(world, id, kind),
        },
    }
}

/// Creates or replaces a resource: `{"location", "identity": {"type"}, "tags"}`.
fn put(world: &mut World, req: &ArmRequest, id: &str, kind: &str) -> Reply {
    if let Some(refusal) = version_refused(req, kind) {
        return refusal;
    }
    let body: Value = match serde_json::from_slice(req.body) {
        Ok(v) => v,
        Err(e) => {
            return Reply::arm_error(
                400,
                "InvalidRequestContent",
                format!("The request content was invalid and could not be deserialized: {e}"),
            );
        }
    };
    let seed = ResourceSeed {
        id: id.to_string(),
        location: body["location"]
            .as_str()
            .unwrap_or("westeurope")
            .to_string(),
        identity: body["identity"]["type"]
            .as_str()
            .filter(|t| !t.eq_ignore_ascii_case("None"))
            .map(|t| IdentitySeed {
                identity_type: t.to_string(),
                principal_id: None,
                tenant_id: None,
            }),
        tags: serde_json::from_value(body["tags"].clone()).unwrap_or_default(),
        readable: true,
    };
    let existed = world.resource(id).is_some();
    match world.insert_resource(seed) {
        Ok(()) => {
            let created = world
                .resource(id)
                .map(Resource::to_json)
                .unwrap_or_default();
            Reply::json(if existed { 200 } else { 201 }, created)
        }
        Err(e) => Reply::arm_error(400, "InvalidResourceId", e),
    }
}

/// 200 when it existed, 204 when there was nothing to delete (as ARM answers).
fn delete(world: &mut World, id: &str) -> Reply {
    match world.resources.remove(&id.to_ascii_lowercase()) {
        Some(_) => Reply::empty(200),
        None => Reply::empty(204),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_segments_after_the_last_providers() {
        assert_eq!(
            resource_type_of("/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w")
                .as_deref(),
            Some("Microsoft.MachineLearningServices/workspaces")
        );
        assert_eq!(
            resource_type_of("/subscriptions/s/providers/Microsoft.Security/pricings/CloudPosture/securityOperators/Op")
                .as_deref(),
            Some("Microsoft.Security/pricings/securityOperators")
        );
        assert_eq!(
            resource_type_of("/subscriptions/s/providers/Microsoft.Web/sites"),
            None
        );
        assert_eq!(resource_type_of("/subscriptions/s"), None);
    }

    #[test]
    fn stable_uuids_are_stable_and_differ() {
        assert_eq!(stable_uuid("/a"), stable_uuid("/A"));
        assert_ne!(stable_uuid("/a"), stable_uuid("/b"));
        assert_eq!(stable_uuid("/a").len(), 36);
    }
}
