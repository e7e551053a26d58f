//! Log Analytics' query API (`POST /v1/workspaces/{customerId}/query`) over the world's
//! workspaces (resources of type `Microsoft.OperationalInsights/workspaces`; customer id: a stable
//! uuid of the resource id). A workspace holds the `AzureActivity` rows of its own subscription's
//! activity (as a subscription's diagnostic setting would export it), older than the 90 days the
//! activity log serves, evaluated with the emulator's KQL evaluator; tokens must be for Log
//! Analytics; errors in the service's shape (`{"error":{"code","message","innererror"}}`).

use crate::emulator::EmulatorConfig;
use crate::emulator::http::{ArmRequest, Reply};
use crate::emulator::kql::{self, Stage};
pub use crate::emulator::state::WORKSPACE_TYPE;
use crate::emulator::state::World;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The audiences the query API accepts (its two host names, with and without a slash).
pub const AUDIENCES: &[&str] = &[
    "https://api.loganalytics.io",
    "https://api.loganalytics.io/",
    "https://api.loganalytics.azure.com",
    "https://api.loganalytics.azure.com/",
];

/// The `AzureActivity` columns the emulator fills, in order, with their Log Analytics types.
const COLUMNS: &[(&str, &str)] = &[
    ("TenantId", "string"),
    ("SourceSystem", "string"),
    ("CallerIpAddress", "string"),
    ("CategoryValue", "string"),
    ("CorrelationId", "string"),
    ("Authorization", "string"),
    ("Authorization_d", "dynamic"),
    ("Claims", "string"),
    ("Claims_d", "dynamic"),
    ("Level", "string"),
    ("OperationNameValue", "string"),
    ("Properties", "string"),
    ("Properties_d", "dynamic"),
    ("Caller", "string"),
    ("EventDataId", "string"),
    ("EventSubmissionTimestamp", "datetime"),
    ("HTTPRequest", "string"),
    ("OperationId", "string"),
    ("ResourceGroup", "string"),
    ("ResourceProviderValue", "string"),
    ("ActivityStatusValue", "string"),
    ("ActivitySubstatusValue", "string"),
    ("OperationName", "string"),
    ("ActivityStatus", "string"),
    ("ActivitySubstatus", "string"),
    ("Category", "string"),
    ("ResourceId", "string"),
    ("ResourceProvider", "string"),
    ("Resource", "string"),
    ("SubscriptionId", "string"),
    ("TimeGenerated", "datetime"),
    ("Type", "string"),
    ("_ResourceId", "string"),
];

/// `v1/workspaces/{id}/query`: the workspace id segment, else `None` (not this API).
pub fn query_path(path: &str) -> Option<&str> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        [v1, workspaces, id, query]
            if v1.eq_ignore_ascii_case("v1")
                && workspaces.eq_ignore_ascii_case("workspaces")
                && query.eq_ignore_ascii_case("query") =>
        {
            Some(id)
        }
        _ => None,
    }
}

/// The service's error body: a code, a message and, optionally, the inner error that says more.
fn error(status: u16, code: &str, message: &str, inner: Option<Value>) -> Reply {
    let mut body = json!({"error": {"code": code, "message": message,
        "correlationId": uuid::Uuid::new_v4().to_string()}});
    if let Some(inner) = inner {
        body["error"]["innererror"] = inner;
    }
    Reply::json(status, body)
}

fn bad_argument(code: &str, message: &str, detail: String) -> Reply {
    error(
        400,
        "BadArgumentError",
        "The request had some invalid properties",
        Some(json!({"code": code, "message": message,
            "innererror": {"code": "SYN0002", "message": detail}})),
    )
}

/// `POST /v1/workspaces/{id}/query` with `{"query", "timespan"}`. Longer than most: the
/// service's checks in its order (token, method, workspace, access, body, timespan, query,
/// table), each with its own error shape, read best as one sequence.
pub fn handle(world: &mut World, config: &EmulatorConfig, req: &ArmRequest, token: &str) -> Reply {
    if let Some(refusal) = check_token(token, &req.base) {
        return refusal;
    }
    if req.method != "POST" {
        return error(
            405,
            "MethodNotAllowed",
            "This emulator serves the query API by POST only",
            None,
        );
    }
    let customer_id = query_path(req.path).unwrap_or_default();
    let Some(workspace) = world.resources.values().find(|r| {
        r.resource_type.eq_ignore_ascii_case(WORKSPACE_TYPE)
            && crate::emulator::seed::stable_uuid(&r.id).eq_ignore_ascii_case(customer_id)
    }) else {
        return error(
            404,
            "WorkspaceNotFoundError",
            &format!("The workspace {customer_id} could not be found"),
            None,
        );
    };
    if !workspace.readable {
        return error(
            403,
            "InsufficientAccessError",
            "The provided credentials have insufficient access to perform the requested operation",
            None,
        );
    }
    let subscription = workspace
        .id
        .split('/')
        .nth(2)
        .unwrap_or_default()
        .to_string();
    let body: Value = serde_json::from_slice(req.body).unwrap_or(Value::Null);
    let Some(text) = body["query"].as_str() else {
        return bad_argument(
            "QueryValidationError",
            "The query is missing",
            "the body must be {\"query\": \"…\"}".into(),
        );
    };
    let window = match body["timespan"].as_str().map(timespan).transpose() {
        Ok(w) => w,
        Err(why) => return bad_argument("InvalidTimespan", "The timespan is invalid", why),
    };
    crate::emulator::operations::finish_expired_operations(world, config);
    let query = match kql::parse(text) {
        Ok(q) => q,
        Err(e) => {
            return bad_argument(
                "SyntaxError",
                "A recognition error occurred in the query.",
                format!(
                    "Query could not be parsed at position {}: {}",
                    e.position, e.message
                ),
            );
        }
    };
    if query.table != "AzureActivity" {
        return error(
            400,
            "BadArgumentError",
            "The request had some invalid properties",
            Some(json!({"code": "SemanticError",
                "message": "A semantic error occurred.",
                "innererror": {"code": "SEM0100", "message": format!(
                    "'{0}' operator: Failed to resolve table or column expression named '{0}'", query.table)}})),
        );
    }
    let rows = activity_rows(world, &subscription, window);
    let result = kql::run(&query, rows.into_iter());
    Reply::json(200, table(&query, result))
}

/// Log Analytics' refusal of a token for another audience, or an expired one. Opaque tokens
/// pass, as everywhere in the emulator. The emulator's own address is an audience too: `exec
/// --az` registers it as the cloud's Log Analytics resource, as a private cloud's would be.
fn check_token(token: &str, base: &str) -> Option<Reply> {
    let claims = crate::emulator::token::claims(token)?;
    let unauthorized = |inner: &str, message: String| {
        Some(error(
            401,
            "InvalidTokenError",
            "The provided authentication is not valid for this resource",
            Some(json!({"code": inner, "message": message})),
        ))
    };
    if claims
        .exp
        .is_some_and(|exp| exp <= crate::emulator::identity::unix_now())
    {
        return unauthorized("TokenExpired", "The token has expired".into());
    }
    let audiences = claims.audiences();
    let accepted = |a: &String| AUDIENCES.contains(&a.as_str()) || a.trim_end_matches('/') == base;
    if !audiences.is_empty() && !audiences.iter().any(accepted) {
        return unauthorized(
            "InvalidAudience",
            format!(
                "The token's audience '{}' is not one of '{}'",
                audiences.join(", "),
                AUDIENCES.join("', '")
            ),
        );
    }
    None
}

/// An ISO 8601 duration back from now (`P30D`, `PT12H`, `P1DT2H30M`), or `start/end`.
fn timespan(raw: &str) -> Result<(OffsetDateTime, OffsetDateTime), String> {
    let now = OffsetDateTime::now_utc();
    if let Some((a, b)) = raw.split_once('/') {
        let at = |t: &str| OffsetDateTime::parse(t.trim(), &Rfc3339).map_err(|e| e.to_string());
        return Ok((at(a)?, at(b)?));
    }
    let body = raw
        .strip_prefix('P')
        .ok_or_else(|| format!("'{raw}' is not an ISO 8601 duration"))?;
    let (days, clock) = body.split_once('T').unwrap_or((body, ""));
    let mut seconds = 0f64;
    let mut add = |part: &str, units: &[(char, f64)]| -> Result<(), String> {
        let mut number = String::new();
        for c in part.chars() {
            match units.iter().find(|(u, _)| *u == c) {
                Some((_, scale)) if !number.is_empty() => {
                    seconds += number.parse::<f64>().map_err(|e| e.to_string())? * scale;
                    number.clear();
                }
                _ if c.is_ascii_digit() || c == '.' => number.push(c),
                _ => return Err(format!("'{raw}' is not an ISO 8601 duration")),
            }
        }
        if number.is_empty() {
            Ok(())
        } else {
            Err(format!("'{raw}' is not an ISO 8601 duration"))
        }
    };
    add(days, &[('D', 86_400.0), ('W', 604_800.0)])?;
    add(clock, &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)])?;
    if seconds <= 0.0 {
        return Err(format!("'{raw}' is not an ISO 8601 duration"));
    }
    Ok((now - time::Duration::seconds_f64(seconds), now))
}

/// The workspace's `AzureActivity` rows: the events of its subscription's binding operations
/// (the activity log's own events, as a diagnostic setting exports them), within the window.
fn activity_rows(
    world: &World,
    subscription: &str,
    window: Option<(OffsetDateTime, OffsetDateTime)>,
) -> Vec<Map<String, Value>> {
    let mut events: Vec<(String, Value)> = world
        .operations
        .values()
        .flat_map(|op| crate::emulator::activity::events_of(world, op))
        .filter(|(_, e)| {
            e["subscriptionId"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(subscription))
        })
        .filter(|(at, _)| {
            let at = OffsetDateTime::parse(at, &Rfc3339).ok();
            window.is_none_or(|(from, to)| at.is_some_and(|t| t >= from && t <= to))
        })
        .collect();
    events.sort_by(|a, b| a.0.cmp(&b.0));
    events.iter().map(|(_, e)| row_of(e)).collect()
}

/// One activity-log event as an `AzureActivity` row: operation names upper-cased, statuses in
/// the table's words (`Start`, `Success`, `Failure`), `_ResourceId` lower-cased, the original
/// id in `Properties_d.entity`, claims and properties both as JSON text and as dynamic. One
/// value per column, in `COLUMNS`' order (the array's length is checked against it).
fn row_of(e: &Value) -> Map<String, Value> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let status = s(&e["status"]["value"]);
    let status_value = match status.as_str() {
        "Started" => "Start",
        "Succeeded" => "Success",
        "Failed" => "Failure",
        "Accepted" => "Accept",
        other => other,
    };
    let resource_id = s(&e["resourceId"]);
    let mut properties = json!({
        "entity": resource_id,
        "eventCategory": "Administrative",
        "message": s(&e["operationName"]["value"]),
        "hierarchy": "",
    });
    for key in ["statusCode", "statusMessage"] {
        if let Some(v) = e["properties"][key].as_str() {
            properties[key] = json!(v);
        }
    }
    let substatus = s(&e["properties"]["statusCode"]);
    let operation = s(&e["operationName"]["value"]);
    let values: [Value; COLUMNS.len()] = [
        json!(e["claims"]["tid"].as_str().unwrap_or_default()),
        json!("Azure"),
        e["httpRequest"]["clientIpAddress"].clone(),
        json!("Administrative"),
        e["correlationId"].clone(),
        json!(e["authorization"].to_string()),
        e["authorization"].clone(),
        json!(e["claims"].to_string()),
        e["claims"].clone(),
        e["level"].clone(),
        json!(operation.to_uppercase()),
        json!(properties.to_string()),
        properties,
        e["caller"].clone(),
        e["eventDataId"].clone(),
        e["submissionTimestamp"].clone(),
        json!(e["httpRequest"].to_string()),
        e["operationId"].clone(),
        json!(s(&e["resourceGroupName"]).to_uppercase()),
        json!("MICROSOFT.CONTAINERSERVICE"),
        json!(status_value),
        json!(substatus),
        json!(""),
        json!(""),
        json!(""),
        json!(""),
        json!(""),
        json!(""),
        json!(
            resource_id
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_uppercase()
        ),
        e["subscriptionId"].clone(),
        e["eventTimestamp"].clone(),
        json!("AzureActivity"),
        json!(resource_id.to_lowercase()),
    ];
    COLUMNS
        .iter()
        .zip(values)
        .map(|((name, _), v)| (name.to_string(), v))
        .collect()
}

/// The answer: one `PrimaryResult` table, its columns those the query leaves (the table's,
/// then `project`/`extend`'s), dynamic values as JSON text as the service sends them.
fn table(query: &kql::Query, rows: Vec<Map<String, Value>>) -> Value {
    let mut columns: Vec<String> = COLUMNS.iter().map(|(n, _)| n.to_string()).collect();
    for stage in &query.stages {
        match stage {
            Stage::Project(list) => columns = list.iter().map(|(n, _)| n.clone()).collect(),
            Stage::Extend(list) => {
                for (n, _) in list {
                    if !columns.contains(n) {
                        columns.push(n.clone());
                    }
                }
            }
            _ => {}
        }
    }
    let type_of = |name: &str| {
        COLUMNS
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("string", |(_, t)| t)
    };
    let cells: Vec<Value> = rows
        .iter()
        .map(|row| {
            Value::Array(
                columns
                    .iter()
                    .map(|c| match row.get(c) {
                        Some(v @ (Value::Object(_) | Value::Array(_))) => json!(v.to_string()),
                        Some(v) => v.clone(),
                        None => Value::Null,
                    })
                    .collect(),
            )
        })
        .collect();
    json!({"tables": [{
        "name": "PrimaryResult",
        "columns": columns.iter().map(|c| json!({"name": c, "type": type_of(c)})).collect::<Vec<_>>(),
        "rows": cells,
    }]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans_are_iso_durations_or_intervals() {
        let span = |raw: &str| timespan(raw).map(|(a, b)| (b - a).whole_seconds());
        assert_eq!(span("P30D"), Ok(30 * 86_400));
        assert_eq!(span("PT12H"), Ok(12 * 3_600));
        assert_eq!(span("P1DT2H30M"), Ok(86_400 + 2 * 3_600 + 1_800));
        assert_eq!(
            span("2026-01-01T00:00:00Z/2026-01-02T00:00:00Z"),
            Ok(86_400)
        );
        for bad in ["30D", "P", "PT", "P3X", "PD", "P0D"] {
            assert!(timespan(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_the_query_path_is_this_api() {
        assert_eq!(query_path("/v1/workspaces/abc/query"), Some("abc"));
        assert_eq!(query_path("/v1/workspaces/abc"), None);
        assert_eq!(query_path("/subscriptions/x/query"), None);
    }
}
