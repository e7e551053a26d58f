//! The activity log's management events (`Microsoft.Insights/eventtypes/management/values`), as
//! far as the emulator knows them: one event per finished role-binding operation, so a client
//! can read why a binding's write failed. Filtered by `resourceUri eq '…'`, newest first.

use crate::emulator::http::{ArmRequest, Reply};
use crate::emulator::operations::outcome_error;
use crate::emulator::state::{OperationKind, OperationOutcome, World};
use serde_json::{Value, json};

/// `GET /subscriptions/{s}/providers/Microsoft.Insights/eventtypes/management/values`.
pub fn management_events(world: &World, req: &ArmRequest, sub: &str) -> Reply {
    let Some(filter) = req.query.get("$filter") else {
        return Reply::arm_error(
            400,
            "BadRequest",
            "The $filter query parameter is required (eventTimestamp ge '…').",
        );
    };
    if !filter.to_ascii_lowercase().contains("eventtimestamp ge") {
        return Reply::arm_error(
            400,
            "BadRequest",
            "The $filter must limit eventTimestamp with 'eventTimestamp ge'.",
        );
    }
    let resource = quoted_after(filter, "resourceuri eq");
    let mut events: Vec<(String, Value)> = world
        .operations
        .values()
        .filter_map(|op| {
            let end = op.end_time.clone()?;
            let cluster = world.clusters.get(op.cluster)?;
            if !cluster.subscription_id.eq_ignore_ascii_case(sub) {
                return None;
            }
            let id = format!("{}/trustedAccessRoleBindings/{}", cluster.id(), op.binding);
            if resource.as_deref().is_some_and(|r| !r.eq_ignore_ascii_case(&id)) {
                return None;
            }
            let action = match op.kind {
                OperationKind::Put => "write",
                OperationKind::Delete => "delete",
            };
            let outcome = op.outcome.as_str();
            let mut status = json!({"status": outcome});
            if let Some(error) = outcome_error(op.outcome) {
                status["error"] = error;
            }
            let event = json!({
                "eventTimestamp": end,
                "operationId": op.id,
                "operationName": {
                    "value": format!("Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings/{action}"),
                },
                "resourceId": id,
                "status": {"value": outcome, "localizedValue": outcome},
                "properties": {
                    "statusCode": if op.outcome == OperationOutcome::Succeeded { "OK" } else { "Conflict" },
                    "statusMessage": status.to_string(),
                },
            });
            Some((end, event))
        })
        .collect();
    events.sort_by(|a, b| b.0.cmp(&a.0));
    Reply::json(
        200,
        json!({"value": events.into_iter().map(|(_, e)| e).collect::<Vec<_>>()}),
    )
}

/// The `'…'` value after `key` in an OData filter (`''` is an escaped quote), key matched
/// case-insensitively.
fn quoted_after(filter: &str, key: &str) -> Option<String> {
    let at = filter.to_ascii_lowercase().find(key)? + key.len();
    let rest = filter[at..].trim_start().strip_prefix('\'')?;
    let mut value = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
            } else {
                return Some(value);
            }
        }
        value.push(c);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_values_are_unquoted() {
        assert_eq!(
            quoted_after(
                "eventTimestamp ge 'x' and resourceUri eq '/a/b''c'",
                "resourceuri eq"
            )
            .as_deref(),
            Some("/a/b'c")
        );
        assert_eq!(
            quoted_after("eventTimestamp ge 'x'", "resourceuri eq"),
            None
        );
    }
}
