//! The emulator's writes: PUT and DELETE of a binding with the service's checks, and the
//! long-running operations they start (status polls, `Location` polls, completion).

use crate::emulator::EmulatorConfig;
use crate::emulator::conflicts::{conflicting_put, in_progress, running_on};
use crate::emulator::http::{ArmRequest, Reply};
use crate::emulator::rules::{binding_name_ok, role_fits_source, source_type};
use crate::emulator::state::{Binding, Cluster, Operation, OperationKind, OperationOutcome, World};
use serde_json::{Value, json};
use std::time::Instant;

/// The service's limit of role bindings on one cluster.
const MAX_BINDINGS: usize = 8;

/// A binding's PUT: the service's checks of the name, the body and the roles, then the write
/// (201 created, 200 updated) and the long-running operation that settles it.
pub(super) fn put_binding(
    world: &mut World,
    config: &EmulatorConfig,
    req: &ArmRequest,
    index: usize,
    name: &str,
) -> Reply {
    let location = world.clusters[index].location.clone();
    let put = match read_put(name, req.body)
        .and_then(|put| check_roles(world, &location, &put).map(|()| put))
    {
        Ok(put) => put,
        Err(refusal) => return refusal,
    };
    match conflicting_put(world, req, index, name, &put.source, &put.roles) {
        Err(refusal) => return refusal,
        Ok(Some(running)) => {
            // The same PUT again: the same answer, with the operation already running.
            let cluster = &world.clusters[index];
            let binding = &cluster.bindings[cluster.find_binding(name).unwrap_or_default()];
            let (async_url, _) = operation_urls(world, req, index, &location, &running);
            return Reply::json(201, cluster.binding_json(binding))
                .header("Azure-AsyncOperation", async_url)
                .retry_after(config);
        }
        Ok(None) => {}
    }
    let written = written_at(config.effect_delay);
    let status = match write_binding(&mut world.clusters[index], req, name, put, &written) {
        Ok(status) => status,
        Err(refusal) => return refusal,
    };
    let cluster = &world.clusters[index];
    let binding = &cluster.bindings[cluster.find_binding(name).unwrap_or_default()];
    let body = cluster.binding_json(binding);
    let binding_name = (binding.name.clone(), binding.incarnation.clone());
    let (async_url, _) = start_operation(
        world,
        config,
        req,
        index,
        binding_name,
        (OperationKind::Put, status),
        &location,
    );
    Reply::json(status, body)
        .header("Azure-AsyncOperation", async_url)
        .retry_after(config)
}

/// A PUT's body, as the service checks it before looking at the roles.
struct Put {
    source: String,
    source_type: String,
    roles: Vec<String>,
}

/// The name and the body: a valid name, JSON, a source id that is an id, roles that are strings.
fn read_put(name: &str, body: &[u8]) -> Result<Put, Reply> {
    if !binding_name_ok(name) {
        return Err(Reply::aks_error(
            400,
            "InvalidParameter",
            "InvalidTrustedAccessRoleBindingName",
            format!(
                "The trusted access role binding name '{name}' is invalid: it must be 1-24 characters of letters, digits and '-'."
            ),
        ));
    }
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return Err(Reply::arm_error(
            400,
            "InvalidRequestContent",
            "The request content was invalid and could not be deserialized.",
        ));
    };
    let properties = &body["properties"];
    let Some(source) = properties["sourceResourceId"]
        .as_str()
        .filter(|s| !s.is_empty())
    else {
        return Err(Reply::aks_error(
            400,
            "InvalidParameter",
            "MissingSourceResourceId",
            "The sourceResourceId of the trusted access role binding is required.",
        ));
    };
    let roles = read_roles(&properties["roles"])?;
    let Some(source_type) = source_type(source) else {
        return Err(Reply::aks_error(
            400,
            "InvalidParameter",
            "InvalidSourceResourceId",
            format!("The sourceResourceId '{source}' is not a valid resource id."),
        ));
    };
    Ok(Put {
        source: source.to_string(),
        source_type,
        roles,
    })
}

/// `properties.roles`: a list of strings, not empty.
fn read_roles(roles: &Value) -> Result<Vec<String>, Reply> {
    let Some(roles) = roles.as_array().filter(|r| !r.is_empty()) else {
        return Err(Reply::aks_error(
            400,
            "InvalidParameter",
            "MissingRoles",
            "The roles of the trusted access role binding must not be empty.",
        ));
    };
    roles
        .iter()
        .map(|r| r.as_str().map(str::to_string))
        .collect::<Option<Vec<String>>>()
        .ok_or_else(|| {
            Reply::aks_error(
                400,
                "InvalidParameter",
                "InvalidRoles",
                "Each role must be a string.",
            )
        })
}

/// Every role exists in the location's catalog and fits the source's type.
fn check_roles(world: &World, location: &str, put: &Put) -> Result<(), Reply> {
    for role in &put.roles {
        let (role_type, role_name) = role.rsplit_once('/').unwrap_or(("", role));
        let known = world.catalog_for(location).iter().any(|r| {
            r["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(role_name))
                && r["sourceResourceType"]
                    .as_str()
                    .is_some_and(|t| t.eq_ignore_ascii_case(role_type))
        });
        if !known {
            return Err(Reply::aks_error(
                400,
                "BadRequest",
                "InvalidTrustedAccessRole",
                format!(
                    "Role '{role}' is not a valid trusted access role in location '{location}'."
                ),
            ));
        }
        // The service's rule (emulator/rules.rs): the role's type is the source's type or a
        // parent of it by whole segments (Defender's nested sources).
        if !role_fits_source(role_type, &put.source_type) {
            return Err(Reply::aks_error(
                400,
                "BadRequest",
                "TrustedAccessRoleSourceTypeMismatch",
                format!(
                    "Role '{role}' cannot be used with source resource type '{}'.",
                    put.source_type
                ),
            ));
        }
    }
    Ok(())
}

/// The write itself: 201 when an existing binding (same source) takes the new roles, and when a
/// new one is added (the service answers both alike); refused under `If-None-Match: *` on an existing binding, on a changed
/// source, or past the cluster's limit.
fn write_binding(
    cluster: &mut Cluster,
    req: &ArmRequest,
    name: &str,
    put: Put,
    now: &str,
) -> Result<u16, Reply> {
    match cluster.find_binding(name) {
        Some(b) if req.if_none_match_any => Err(Reply::arm_error(
            412,
            "PreconditionFailed",
            format!(
                "The trusted access role binding '{}' already exists and the request said If-None-Match: *.",
                cluster.bindings[b].name
            ),
        )),
        Some(b) => {
            let binding = &mut cluster.bindings[b];
            if !binding.source_resource_id.eq_ignore_ascii_case(&put.source) {
                return Err(Reply::aks_error(
                    400,
                    "BadRequest",
                    "SourceResourceIdCannotBeChanged",
                    format!(
                        "The sourceResourceId of trusted access role binding '{}' cannot be changed.",
                        binding.name
                    ),
                ));
            }
            binding.roles = put.roles;
            binding.provisioning_state = "Updating".into();
            match binding.system_data.as_mut() {
                Some(system_data) => req.caller.touch(system_data, now),
                None => binding.system_data = Some(req.caller.system_data(now)),
            }
            // The service answers an update as it answers a create (the recordings: 201 both).
            Ok(201)
        }
        None if cluster.bindings.len() >= MAX_BINDINGS => Err(Reply::aks_error(
            400,
            "BadRequest",
            "TrustedAccessRoleBindingLimitExceeded",
            format!(
                "The managed cluster '{}' already has {MAX_BINDINGS} trusted access role bindings, the maximum.",
                cluster.name
            ),
        )),
        None => {
            cluster.bindings.push(Binding {
                name: name.to_string(),
                incarnation: uuid::Uuid::new_v4().to_string(),
                source_resource_id: put.source,
                roles: put.roles,
                provisioning_state: "Updating".into(),
                system_data: Some(req.caller.system_data(now)),
            });
            Ok(201)
        }
    }
}

pub(super) fn delete_binding(
    world: &mut World,
    config: &EmulatorConfig,
    req: &ArmRequest,
    index: usize,
    name: &str,
) -> Reply {
    // A DELETE repeated while the first still runs gets the same answer, with the operation
    // already running (ARM's DELETE is idempotent); a DELETE during a PUT is refused.
    match running_on(world, index, name) {
        Some(op) if op.kind == OperationKind::Delete => {
            let (id, location) = (op.id.clone(), world.clusters[index].location.clone());
            let (async_url, location_url) = operation_urls(world, req, index, &location, &id);
            return Reply::empty(202)
                .header("Azure-AsyncOperation", async_url)
                .header("Location", location_url)
                .retry_after(config);
        }
        Some(_) => return in_progress(world, index, name).unwrap_or_else(|| Reply::empty(409)),
        None => {}
    }
    let cluster = &mut world.clusters[index];
    let Some(b) = cluster.find_binding(name) else {
        return Reply::empty(204);
    };
    cluster.bindings[b].provisioning_state = "Deleting".into();
    let binding_name = (
        cluster.bindings[b].name.clone(),
        cluster.bindings[b].incarnation.clone(),
    );
    let location = cluster.location.clone();
    let (async_url, location_url) = start_operation(
        world,
        config,
        req,
        index,
        binding_name,
        (OperationKind::Delete, 202),
        &location,
    );
    Reply::empty(202)
        .header("Azure-AsyncOperation", async_url)
        .header("Location", location_url)
        .retry_after(config)
}

/// Registers an operation; returns its `Azure-AsyncOperation` and `Location` URLs.
fn start_operation(
    world: &mut World,
    config: &EmulatorConfig,
    req: &ArmRequest,
    cluster: usize,
    binding: (String, String),
    (kind, http_status): (OperationKind, u16),
    location: &str,
) -> (String, String) {
    let (binding, incarnation) = binding;
    let id = uuid::Uuid::new_v4().to_string();
    let urls = operation_urls(world, req, cluster, location, &id);
    world.running.push(id.clone());
    world.operations.insert(
        id.clone(),
        Operation {
            id,
            kind,
            cluster,
            binding,
            incarnation,
            polls_left: config.operation_polls,
            started: Instant::now(),
            start_time: now_rfc3339(),
            end_time: None,
            outcome: config.operation_outcome,
            caller: req.activity_caller.clone(),
            correlation_id: req.correlation_id.clone(),
            http_status,
        },
    );
    urls
}

/// An operation's `Azure-AsyncOperation` and `Location` URLs.
fn operation_urls(
    world: &World,
    req: &ArmRequest,
    cluster: usize,
    location: &str,
    id: &str,
) -> (String, String) {
    let sub = &world.clusters[cluster].subscription_id;
    let base = format!(
        "{}/subscriptions/{sub}/providers/Microsoft.ContainerService/locations/{location}",
        req.base
    );
    (
        format!("{base}/operations/{id}?api-version=2016-03-30"),
        format!("{base}/operationresults/{id}?api-version=2016-03-30"),
    )
}

/// Operations also end on their own after `--operation-seconds`, as real ones do, so a
/// `--no-wait` write settles even when nobody polls.
pub(super) fn finish_expired_operations(world: &mut World, config: &EmulatorConfig) {
    let Some(limit) = config.operation_seconds else {
        return;
    };
    let expired: Vec<String> = world
        .running
        .iter()
        .filter(|id| {
            world
                .operations
                .get(*id)
                .is_some_and(|op| op.started.elapsed().as_secs_f64() >= limit)
        })
        .cloned()
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

pub(super) fn operation_status(world: &mut World, config: &EmulatorConfig, id: &str) -> Reply {
    let Some(ended) = poll(world, id) else {
        return Reply::arm_error(404, "NotFound", format!("Operation '{id}' was not found."));
    };
    let op = &world.operations[id];
    let mut body = json!({"name": op.id, "startTime": op.start_time});
    if !ended {
        body["status"] = json!("InProgress");
        return Reply::json(200, body).retry_after(config);
    }
    body["status"] = json!(op.outcome.as_str());
    body["endTime"] = json!(op.end_time);
    if let Some(error) = outcome_error(op.outcome) {
        body["error"] = error;
    }
    Reply::json(200, body)
}

/// The error an operation that ended this way reports (its status and the activity log).
pub(super) fn outcome_error(outcome: OperationOutcome) -> Option<Value> {
    match outcome {
        OperationOutcome::Failed => Some(
            json!({"code": "EmulatedOperationFailed", "message": "The operation failed (emulator --operation-outcome failed)."}),
        ),
        OperationOutcome::Canceled => Some(
            json!({"code": "OperationCanceled", "message": "The operation was canceled (emulator --operation-outcome canceled)."}),
        ),
        OperationOutcome::Succeeded => None,
    }
}

pub(super) fn operation_result(
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
            .retry_after(config);
    }
    let op = world.operations[id].clone();
    if op.outcome != OperationOutcome::Succeeded {
        return Reply::arm_error(
            409,
            "EmulatedOperationFailed",
            format!("The operation ended with status {}.", op.outcome.as_str()),
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

/// How long after a change the service applies a binding: about 5 minutes (AKS's Trusted
/// Access documentation). `--effect-delay` shortens it for tests.
pub const SERVICE_EFFECT_SECONDS: u64 = 300;

/// The time a write records in `systemData`: now, or earlier by what `--effect-delay` takes off
/// the service's 5 minutes (clients read the effect as that time plus 5 minutes).
fn written_at(effect_delay: u64) -> String {
    let early = SERVICE_EFFECT_SECONDS.saturating_sub(effect_delay);
    let early = time::Duration::seconds(i64::try_from(early).unwrap_or(0));
    rfc3339(time::OffsetDateTime::now_utc() - early)
}

/// Now, as ARM writes times: RFC 3339 UTC with 7 fractional digits.
pub fn now_rfc3339() -> String {
    rfc3339(time::OffsetDateTime::now_utc())
}

fn rfc3339(now: time::OffsetDateTime) -> String {
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
