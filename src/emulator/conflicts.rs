//! ARM's rule for writes that meet a running operation: a PUT or DELETE of a binding while
//! another operation on it runs is refused with 409 (no lost writes), except the same request
//! again (a retry after a lost answer), which gets the running operation.

use crate::emulator::http::{ArmRequest, Reply};
use crate::emulator::state::{Operation, OperationKind, World};

/// A PUT while another operation on the binding runs is refused (409), except the same PUT again
/// (a client's retry after a lost answer: ARM's PUT is idempotent; `Ok(Some(id))`, the running
/// operation) and a create-only PUT of an existing binding, whose precondition fails first (412).
pub(super) fn conflicting_put(
    world: &World,
    req: &ArmRequest,
    index: usize,
    name: &str,
    source: &str,
    roles: &[String],
) -> Result<Option<String>, Reply> {
    let Some(running) = running_on(world, index, name) else {
        return Ok(None);
    };
    let cluster = &world.clusters[index];
    let current = cluster.find_binding(name).map(|b| &cluster.bindings[b]);
    let repeated = running.kind == OperationKind::Put
        && current
            .is_some_and(|b| b.source_resource_id.eq_ignore_ascii_case(source) && b.roles == roles);
    if req.if_none_match_any && current.is_some() {
        return Ok(None);
    }
    if repeated {
        return Ok(Some(running.id.clone()));
    }
    Err(in_progress(world, index, name).unwrap_or_else(|| Reply::empty(409)))
}

/// The operation still running on this binding, if any.
pub(super) fn running_on<'w>(
    world: &'w World,
    cluster: usize,
    name: &str,
) -> Option<&'w Operation> {
    world.running.iter().find_map(|id| {
        let op = world.operations.get(id)?;
        (op.cluster == cluster && op.end_time.is_none() && op.binding.eq_ignore_ascii_case(name))
            .then_some(op)
    })
}

/// ARM's refusal of a write or delete while another operation on the same binding runs: 409, so
/// a PUT during a DELETE is never silently lost when the DELETE ends.
pub(super) fn in_progress(world: &World, cluster: usize, name: &str) -> Option<Reply> {
    let running = running_on(world, cluster, name)?;
    let doing = match running.kind {
        OperationKind::Put => "Updating",
        OperationKind::Delete => "Deleting",
    };
    Some(Reply::arm_error(
        409,
        "OperationNotAllowed",
        format!(
            "Operation is not allowed: Another operation ({doing}) is in progress, please wait for it to finish before \
             starting a new operation. See https://aka.ms/aks-pending-operation for more details"
        ),
    ))
}
