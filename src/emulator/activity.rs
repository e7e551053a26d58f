//! The activity log's management events (`Microsoft.Insights/eventtypes/management/values`), as
//! far as the emulator knows them: every role-binding write and delete is an operation, logged
//! as a `Started` event when asked for and a `Succeeded`/`Failed`/`Canceled` one when it ends,
//! both with the operation's correlation id and the caller and claims of the token that asked.
//! Only the service's five `$filter` forms are accepted; at most 90 days back; paged.

use crate::emulator::EmulatorConfig;
use crate::emulator::http::{ArmRequest, Reply};
use crate::emulator::operations::outcome_error;
use crate::emulator::state::{Operation, OperationKind, OperationOutcome, World};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The message of the service's 400 for a filter outside the documented forms.
pub const UNSUPPORTED_FILTER: &str = "The $filter is not supported. Supported forms: \"eventTimestamp ge '<start>' and eventTimestamp le '<end>'\", optionally followed by one of \"and resourceGroupName eq '<group>'\", \"and resourceUri eq '<id>'\", \"and resourceProvider eq '<namespace>'\", \"and correlationId eq '<id>'\".";

/// How far back the log goes.
pub const RETENTION_DAYS: i64 = 90;

/// What the activity log records of a caller: `caller` as ARM names it (the emulator's
/// `token::caller`: a person's sign-in name, else the client id) and the `claims` the log keeps
/// (`idtyp`, `appid`, `xms_mirid`, object id and UPN under their claim URIs). A token that is not
/// a JWT is the anonymous user.
pub fn caller_of(token: &str) -> Value {
    let caller = crate::emulator::token::caller(token);
    let mut claims = json!({});
    if let Some(c) = crate::emulator::token::claims(token) {
        for (key, value) in [
            ("tid", &c.tid),
            ("appid", &c.appid),
            ("idtyp", &c.idtyp),
            ("xms_mirid", &c.xms_mirid),
            (
                "http://schemas.microsoft.com/identity/claims/objectidentifier",
                &c.oid,
            ),
            (
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
                &c.upn,
            ),
        ] {
            if let Some(v) = value {
                claims[key] = json!(v);
            }
        }
    } else {
        claims["http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"] = json!(caller.name);
    }
    json!({"caller": caller.name, "claims": claims})
}

/// The parsed filter: the time window and the one optional narrowing clause.
struct Filter {
    from: OffsetDateTime,
    to: OffsetDateTime,
    narrow: Option<(String, String)>,
}

/// `GET /subscriptions/{s}/providers/Microsoft.Insights/eventtypes/management/values`.
pub fn management_events(
    world: &World,
    config: &EmulatorConfig,
    req: &ArmRequest,
    sub: &str,
) -> Reply {
    let Some(raw) = req.query.get("$filter") else {
        return Reply::arm_error(400, "BadRequest", UNSUPPORTED_FILTER);
    };
    let filter = match parse_filter(raw) {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let mut events: Vec<(String, Value)> = world
        .operations
        .values()
        .flat_map(|op| events_of(world, op))
        .filter(|(_, e)| e["subscriptionId"].as_str() == Some(sub) && filter.keeps(e))
        .collect();
    events.sort_by(|a, b| {
        b.0.cmp(&a.0).then_with(|| {
            b.1["eventDataId"]
                .as_str()
                .cmp(&a.1["eventDataId"].as_str())
        })
    });
    let events: Vec<Value> = events.into_iter().map(|(_, e)| e).collect();
    page(events, config, req, raw)
}

impl Filter {
    fn keeps(&self, event: &Value) -> bool {
        let at = event["eventTimestamp"]
            .as_str()
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
        if !at.is_some_and(|t| t >= self.from && t <= self.to) {
            return false;
        }
        let Some((field, value)) = &self.narrow else {
            return true;
        };
        let actual = match field.as_str() {
            "resourcegroupname" => &event["resourceGroupName"],
            "resourceuri" => &event["resourceId"],
            "resourceprovider" => &event["resourceProviderName"]["value"],
            _ => &event["correlationId"],
        };
        actual
            .as_str()
            .is_some_and(|a| a.eq_ignore_ascii_case(value))
    }
}

/// The five forms, nothing else: `eventTimestamp ge 'A' and eventTimestamp le 'B'`, optionally
/// `and <resourceGroupName|resourceUri|resourceProvider|correlationId> eq 'V'`.
fn parse_filter(raw: &str) -> Result<Filter, Reply> {
    let unsupported = || Reply::arm_error(400, "BadRequest", UNSUPPORTED_FILTER);
    let clauses = clauses(raw).ok_or_else(unsupported)?;
    let time = |c: &(String, String, String), op: &str| {
        (c.0 == "eventtimestamp" && c.1 == op)
            .then(|| OffsetDateTime::parse(&c.2, &Rfc3339).ok())
            .flatten()
    };
    let (from, to) = match clauses.as_slice() {
        [a, b] | [a, b, _] => (time(a, "ge"), time(b, "le")),
        _ => (None, None),
    };
    let (Some(from), Some(to)) = (from, to) else {
        return Err(unsupported());
    };
    let narrow = match clauses.get(2) {
        None => None,
        Some((field, op, value))
            if op == "eq"
                && matches!(
                    field.as_str(),
                    "resourcegroupname" | "resourceuri" | "resourceprovider" | "correlationid"
                ) =>
        {
            Some((field.clone(), value.clone()))
        }
        Some(_) => return Err(unsupported()),
    };
    let oldest = OffsetDateTime::now_utc() - time::Duration::days(RETENTION_DAYS);
    if from < oldest {
        return Err(Reply::arm_error(
            400,
            "BadRequest",
            format!(
                "The start time of the query must be within the last {RETENTION_DAYS} days (the activity log keeps events for {RETENTION_DAYS} days)."
            ),
        ));
    }
    Ok(Filter { from, to, narrow })
}

/// `field op 'value'` clauses joined by `and` (field lower-cased, `''` unescaped), or None.
fn clauses(raw: &str) -> Option<Vec<(String, String, String)>> {
    let mut out = Vec::new();
    let mut rest = raw.trim();
    loop {
        let (field, after) = rest.split_once(char::is_whitespace)?;
        let (op, after) = after.trim_start().split_once(char::is_whitespace)?;
        let mut chars = after
            .trim_start()
            .strip_prefix('\'')?
            .char_indices()
            .peekable();
        let mut value = String::new();
        let end = loop {
            let (i, c) = chars.next()?;
            if c == '\'' {
                if chars.peek().is_some_and(|(_, c)| *c == '\'') {
                    chars.next();
                } else {
                    break i;
                }
            }
            value.push(c);
        };
        out.push((field.to_ascii_lowercase(), op.to_ascii_lowercase(), value));
        let tail = after.trim_start()[1 + end + 1..].trim_start();
        if tail.is_empty() {
            return Some(out);
        }
        let (and, next) = tail.split_once(char::is_whitespace)?;
        if !and.eq_ignore_ascii_case("and") {
            return None;
        }
        rest = next.trim_start();
    }
}

/// An operation's events: `Started` when it was asked for, and its end when it has ended.
pub(crate) fn events_of(world: &World, op: &Operation) -> Vec<(String, Value)> {
    let Some(cluster) = world.clusters.get(op.cluster) else {
        return vec![];
    };
    let id = format!("{}/trustedAccessRoleBindings/{}", cluster.id(), op.binding);
    let action = match op.kind {
        OperationKind::Put => "write",
        OperationKind::Delete => "delete",
    };
    let event = |status: &str, at: &str, code: Option<&str>, n: u32| {
        let mut e = json!({
            "authorization": {"action": format!("Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings/{action}"), "scope": id},
            "caller": op.caller["caller"],
            "claims": op.caller["claims"],
            "correlationId": op.correlation_id,
            "eventDataId": format!("{}-{n}", op.id),
            "eventName": {"value": if n == 0 { "BeginRequest" } else { "EndRequest" }},
            "category": {"value": "Administrative"},
            "eventTimestamp": at,
            "submissionTimestamp": at,
            "httpRequest": {"clientIpAddress": op.caller["clientIp"].as_str().unwrap_or("127.0.0.1"), "method": if action == "write" { "PUT" } else { "DELETE" }},
            "level": if status == "Failed" { "Error" } else { "Informational" },
            "operationId": op.id,
            "operationName": {"value": format!("Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings/{action}")},
            "resourceGroupName": cluster.resource_group,
            "resourceProviderName": {"value": "Microsoft.ContainerService"},
            "resourceType": {"value": "Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings"},
            "resourceId": id,
            "status": {"value": status, "localizedValue": status},
            "subscriptionId": cluster.subscription_id,
            "properties": {},
        });
        if let Some(code) = code {
            e["properties"]["statusCode"] = json!(code);
        }
        if let Some(error) = outcome_error(op.outcome).filter(|_| n > 0) {
            e["properties"]["statusMessage"] =
                json!(json!({"status": status, "error": error}).to_string());
        }
        (at.to_string(), e)
    };
    let mut out = vec![event("Started", &op.start_time, None, 0)];
    if let Some(end) = &op.end_time {
        let code = match (op.outcome, op.http_status) {
            (OperationOutcome::Succeeded, 201) => "Created",
            (OperationOutcome::Succeeded, _) => "OK",
            _ => "Conflict",
        };
        out.push(event(op.outcome.as_str(), end, Some(code), 1));
    }
    out
}

/// One past binding write or delete for `POST /_emulator/activity`: the log's clock cannot be
/// turned back, so tests seed what happened long ago (beyond the 90 days the activity log
/// serves, within what a Log Analytics workspace keeps).
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PastOperation {
    /// The binding's id (its cluster must be in the world; the binding need not be).
    pub binding: String,
    /// `write` or `delete`.
    pub operation: String,
    /// How long ago it was asked for.
    pub days_ago: f64,
    /// The bearer token of the caller (read as the emulator reads any token); none: anonymous.
    #[serde(default)]
    pub token: Option<String>,
    /// `Succeeded` (default), `Failed` or `Canceled`.
    #[serde(default)]
    pub outcome: Option<String>,
}

/// Adds ended operations as if asked for `days_ago` days back (ended 5 seconds later).
pub fn seed_past(world: &mut World, past: Vec<PastOperation>) -> Result<usize, String> {
    let count = past.len();
    for p in past {
        let lower = p.binding.to_ascii_lowercase();
        let (cluster_id, name) = lower
            .split_once("/trustedaccessrolebindings/")
            .ok_or_else(|| format!("'{}' is not a binding id", p.binding))?;
        let cluster = world
            .clusters
            .iter()
            .position(|c| c.id().to_ascii_lowercase() == cluster_id)
            .ok_or_else(|| format!("no cluster '{cluster_id}' in the world"))?;
        let kind = match p.operation.as_str() {
            "write" => OperationKind::Put,
            "delete" => OperationKind::Delete,
            other => return Err(format!("operation '{other}': expected write or delete")),
        };
        let outcome = match p.outcome.as_deref().unwrap_or("Succeeded") {
            "Succeeded" => OperationOutcome::Succeeded,
            "Failed" => OperationOutcome::Failed,
            "Canceled" => OperationOutcome::Canceled,
            other => return Err(format!("outcome '{other}'")),
        };
        let start = OffsetDateTime::now_utc()
            - time::Duration::seconds_f64(p.days_ago.clamp(0.0, 36_500.0) * 86_400.0);
        let at = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
        let id = uuid::Uuid::new_v4().to_string();
        let original = p.binding.rsplit('/').next().unwrap_or(name).to_string();
        world.operations.insert(
            id.clone(),
            Operation {
                id,
                kind,
                cluster,
                binding: original,
                incarnation: uuid::Uuid::new_v4().to_string(),
                polls_left: 0,
                started: std::time::Instant::now(),
                start_time: at(start),
                end_time: Some(at(start + time::Duration::seconds(5))),
                outcome,
                caller: caller_of(p.token.as_deref().unwrap_or_default()),
                correlation_id: uuid::Uuid::new_v4().to_string(),
                http_status: if kind == OperationKind::Put { 201 } else { 202 },
            },
        );
    }
    Ok(count)
}

/// `{value, nextLink}` pages of the configured size; the link keeps the filter.
fn page(events: Vec<Value>, config: &EmulatorConfig, req: &ArmRequest, filter: &str) -> Reply {
    let skip = req
        .query
        .get("$skiptoken")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0)
        .min(events.len());
    let size = if config.page_size == 0 {
        events.len()
    } else {
        config.page_size
    };
    let end = (skip + size).min(events.len());
    let mut body = json!({"value": events[skip..end].to_vec()});
    if end < events.len() {
        let mut link = url::Url::parse(&format!("{}{}", req.base, req.path)).unwrap_or_else(|_| {
            url::Url::parse("http://127.0.0.1/").unwrap_or_else(|_| unreachable!())
        });
        link.query_pairs_mut()
            .append_pair(
                "api-version",
                req.query.get("api-version").map_or("", String::as_str),
            )
            .append_pair("$filter", filter)
            .append_pair("$skipToken", &end.to_string());
        body["nextLink"] = json!(link.to_string());
    }
    Reply::json(200, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_five_forms_parse() {
        let now = OffsetDateTime::now_utc();
        let t = |d: i64| (now - time::Duration::days(d)).format(&Rfc3339).unwrap();
        let window = format!(
            "eventTimestamp ge '{}' and eventTimestamp le '{}'",
            t(30),
            t(0)
        );
        assert!(parse_filter(&window).is_ok());
        for narrow in [
            "resourceGroupName eq 'rg'",
            "resourceUri eq '/a/b''c'",
            "resourceProvider eq 'Microsoft.ContainerService'",
            "correlationId eq 'x'",
        ] {
            let f = parse_filter(&format!("{window} and {narrow}")).unwrap();
            assert!(f.narrow.is_some(), "{narrow}");
        }
        assert_eq!(
            parse_filter(&format!("{window} and resourceUri eq '/a/b''c'"))
                .unwrap()
                .narrow
                .unwrap()
                .1,
            "/a/b'c"
        );
        for bad in [
            format!("eventTimestamp ge '{}'", t(1)),
            format!("{window} and status eq 'Failed'"),
            format!("{window} and resourceGroupName eq 'a' and correlationId eq 'b'"),
            format!("{window} or resourceGroupName eq 'a'"),
            format!(
                "eventTimestamp le '{}' and eventTimestamp ge '{}'",
                t(0),
                t(1)
            ),
        ] {
            let reply = parse_filter(&bad).err().unwrap();
            assert_eq!(reply.status, 400, "{bad}");
        }
        let old = format!(
            "eventTimestamp ge '{}' and eventTimestamp le '{}'",
            t(91),
            t(0)
        );
        let reply = parse_filter(&old).err().unwrap();
        assert!(reply.body.unwrap().to_string().contains("last 90 days"));
    }

    #[test]
    fn callers_come_from_the_token() {
        use base64::Engine;
        let jwt = |claims: Value| {
            let b64 =
                |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
            format!("{}.{}.sig", b64(&json!({"alg": "none"})), b64(&claims))
        };
        let user = caller_of(&jwt(
            json!({"upn": "ana@contoso.com", "oid": "1", "idtyp": "user"}),
        ));
        assert_eq!(user["caller"], "ana@contoso.com");
        let app = caller_of(&jwt(json!({"oid": "2", "appid": "a", "idtyp": "app"})));
        assert_eq!(app["caller"], "a");
        assert_eq!(app["claims"]["appid"], "a");
        assert_eq!(caller_of("static-token")["caller"], "user@example.com");
    }
}
