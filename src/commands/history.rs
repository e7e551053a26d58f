//! `rolebinding history`: who created, updated or deleted bindings, from the subscription's
//! activity log. One query in one of the service's filter forms (a binding: `resourceUri`; a
//! cluster or group: `resourceGroupName`; the subscription: `resourceProvider`), every page,
//! then the binding events kept, paired by correlation id into one change each, newest first.
//! With `--workspace`, the same events come from Log Analytics (`workspace_history`).

use crate::arm::api;
use crate::context::Context;
use crate::domain::ids::{ClusterId, ResourceGroupName};
use crate::error::Result;
use crate::resolve::{HistoryRequest, HistoryScope};
use futures_util::stream::{self, StreamExt};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const BINDING_OPERATIONS: &str =
    "microsoft.containerservice/managedclusters/trustedaccessrolebindings/";

/// The columns of `-o table`, in order.
pub const COLUMNS: [&str; 8] = [
    "time",
    "operation",
    "cluster",
    "name",
    "caller",
    "callerType",
    "clientIp",
    "status",
];

/// The changes, and why they may not be all (a workspace's partial result).
#[derive(Debug)]
pub struct History {
    pub changes: Value,
    pub partial: Option<String>,
}

/// From the activity log (`--workspace` reads `workspace_history` instead).
pub async fn history(ctx: &Context, request: &HistoryRequest) -> Result<History> {
    let changes = from_activity_log(ctx, request).await?;
    Ok(History {
        changes,
        partial: None,
    })
}

async fn from_activity_log(ctx: &Context, request: &HistoryRequest) -> Result<Value> {
    let to = time::OffsetDateTime::now_utc();
    // A minute inside the retention, so the clock between here and ARM never crosses it.
    let from = to - request.since + time::Duration::minutes(1).min(request.since / 2);
    if let HistoryScope::Fleet {
        subscriptions,
        groups,
    } = &request.scope
    {
        return fleet(ctx, subscriptions, groups, (from, to)).await;
    }
    let subscription = ctx.subscription().await?.clone();
    let cluster_of = |c: &crate::resolve::ClusterRef| c.id(subscription.clone());
    let (narrow, prefix): (Option<(&str, String)>, Option<String>) = match &request.scope {
        HistoryScope::Subscription => (
            Some(("resourceProvider", "Microsoft.ContainerService".into())),
            None,
        ),
        HistoryScope::Group(g) => (Some(("resourceGroupName", g.as_str().into())), None),
        HistoryScope::Cluster(c) => (
            Some(("resourceGroupName", c.resource_group.as_str().into())),
            Some(format!("{}/", cluster_of(c).bindings_path())),
        ),
        HistoryScope::Binding(c, name) => {
            let id = cluster_of(c).binding(name.clone()).path();
            (Some(("resourceUri", id.clone())), Some(id))
        }
        HistoryScope::Fleet { .. } => (None, None),
    };
    let events = api::activity_events(
        &ctx.client,
        &subscription,
        (from, to),
        narrow.as_ref().map(|(k, v)| (*k, v.as_str())),
    )
    .await?;
    Ok(Value::Array(changes(&events, prefix.as_deref())))
}

/// `audit --since`: the subscriptions audit would cover (named, else every Enabled one), four
/// at a time, each asked for `Microsoft.ContainerService`'s events; a subscription that cannot be
/// read fails the command.
async fn fleet(
    ctx: &Context,
    wanted: &[String],
    groups: &[ResourceGroupName],
    window: (time::OffsetDateTime, time::OffsetDateTime),
) -> Result<Value> {
    let subscriptions = crate::commands::fleet::listing::subscriptions(ctx, wanted).await?;
    let read: Vec<Result<Vec<Value>>> = stream::iter(subscriptions.iter())
        .map(|sub| {
            api::activity_events(
                &ctx.client,
                sub,
                window,
                Some(("resourceProvider", "Microsoft.ContainerService")),
            )
        })
        .buffered(4)
        .collect()
        .await;
    let mut events = Vec::new();
    for listed in read {
        events.extend(listed?.into_iter().filter(|e| {
            groups.is_empty()
                || groups.iter().any(|g| {
                    e["resourceGroupName"]
                        .as_str()
                        .is_some_and(|r| r.eq_ignore_ascii_case(g.as_str()))
                })
        }));
    }
    Ok(Value::Array(changes(&events, None)))
}

/// The binding events (of ids under `prefix`, if given) paired into changes: one per correlation
/// id and binding, newest first. Each says when it was asked for, the operation (create, update,
/// delete; `write` when the log does not tell create from update), the binding, who asked
/// (caller, its type from the token's claims, client address), and how it ended.
pub fn changes(events: &[Value], prefix: Option<&str>) -> Vec<Value> {
    let mut groups: BTreeMap<(String, String, String), Vec<&Value>> = BTreeMap::new();
    for e in events {
        let operation = e["operationName"]["value"].as_str().unwrap_or_default();
        let id = e["resourceId"].as_str().unwrap_or_default();
        let is_binding = operation
            .to_ascii_lowercase()
            .starts_with(BINDING_OPERATIONS);
        let in_scope = prefix.is_none_or(|p| {
            let (id, p) = (id.to_ascii_lowercase(), p.to_ascii_lowercase());
            id == p || id.starts_with(&format!("{}/", p.trim_end_matches('/')))
        });
        if !is_binding || !in_scope {
            continue;
        }
        let correlation = e["correlationId"]
            .as_str()
            .or_else(|| e["eventDataId"].as_str())
            .unwrap_or_default();
        groups
            .entry((
                correlation.to_string(),
                operation.to_ascii_lowercase(),
                id.to_ascii_lowercase(),
            ))
            .or_default()
            .push(e);
    }
    let mut out: Vec<Value> = groups.values().map(|group| change(group)).collect();
    name_writes(&mut out);
    out.sort_by(|a, b| {
        let at = |v: &Value| v["time"].as_str().unwrap_or_default().to_string();
        at(b).cmp(&at(a)).then_with(|| {
            a["correlationId"]
                .as_str()
                .cmp(&b["correlationId"].as_str())
        })
    });
    out
}

/// One change from the events of one operation.
fn change(group: &[&Value]) -> Value {
    let text =
        |f: &dyn Fn(&Value) -> Option<&str>| group.iter().find_map(|e| f(e)).map(str::to_string);
    let status_of = |e: &Value| {
        e["status"]["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let time_of = |e: &Value| e["eventTimestamp"].as_str().unwrap_or_default().to_string();
    let started = group.iter().map(|e| time_of(e)).min().unwrap_or_default();
    let last = group
        .iter()
        .max_by_key(|e| (terminal(&status_of(e)), time_of(e)))
        .copied();
    let status = last.map(status_of).unwrap_or_default();
    let operation_name = text(&|e| e["operationName"]["value"].as_str()).unwrap_or_default();
    let codes: Vec<String> = group
        .iter()
        .filter_map(|e| e["properties"]["statusCode"].as_str())
        .map(str::to_ascii_lowercase)
        .collect();
    // The service answers a create and an update alike (201), so only a 200 tells an update;
    // `name_writes` tells the rest from what came before in the log.
    let operation = if operation_name.to_ascii_lowercase().ends_with("/delete") {
        "delete"
    } else if status.eq_ignore_ascii_case("Succeeded") && codes.iter().any(|c| c == "ok") {
        "update"
    } else {
        "write"
    };
    let resource_id = text(&|e| e["resourceId"].as_str()).unwrap_or_default();
    let (cluster, name) = split_binding_id(&resource_id);
    let claims = group
        .iter()
        .map(|e| &e["claims"])
        .find(|c| c.is_object())
        .cloned()
        .unwrap_or(Value::Null);
    let caller = text(&|e| e["caller"].as_str().filter(|c| !c.is_empty()));
    let error = last
        .filter(|_| status.eq_ignore_ascii_case("Failed"))
        .map(api::event_error);
    json!({
        "time": started,
        "operation": operation,
        "cluster": cluster.as_ref().map(|c| c.name.as_str().to_string()),
        "resourceGroup": cluster.as_ref().map(|c| c.resource_group.as_str().to_string()),
        "subscription": cluster.as_ref().map(|c| c.subscription.as_str().to_string()),
        "name": name,
        "caller": caller,
        "callerType": caller_type(&claims, caller.as_deref()),
        "clientIp": text(&|e| e["httpRequest"]["clientIpAddress"].as_str()),
        "status": status,
        "error": error,
        "correlationId": text(&|e| e["correlationId"].as_str()),
        "resourceId": resource_id,
    })
}

/// A succeeded `write` is an `update` when the log shows the binding written (and not deleted
/// since) earlier in the window, a `create` when it shows it deleted just before; otherwise it
/// stays `write` (the binding may have existed before the window).
fn name_writes(changes: &mut [Value]) {
    let mut order: Vec<usize> = (0..changes.len()).collect();
    order.sort_by(|a, b| {
        changes[*a]["time"]
            .as_str()
            .cmp(&changes[*b]["time"].as_str())
    });
    let mut last: std::collections::HashMap<String, &'static str> = Default::default();
    for i in order {
        let id = changes[i]["resourceId"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !changes[i]["status"]
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("Succeeded"))
        {
            continue;
        }
        let operation = changes[i]["operation"].as_str().unwrap_or_default();
        let named = match (operation, last.get(&id)) {
            ("write", Some(&"delete")) => "create",
            ("write", Some(_)) => "update",
            ("delete", _) => "delete",
            ("update", _) => "update",
            _ => "write",
        };
        changes[i]["operation"] = json!(named);
        last.insert(id, if named == "delete" { "delete" } else { "write" });
    }
}

/// Ended statuses sort after the rest, so a change shows how it ended.
fn terminal(status: &str) -> bool {
    ["Succeeded", "Failed", "Canceled"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(status))
}

/// The cluster and binding name of a binding's id (as ARM wrote it).
fn split_binding_id(id: &str) -> (Option<ClusterId>, Option<String>) {
    let lower = id.to_ascii_lowercase();
    let Some(at) = lower.find("/trustedaccessrolebindings/") else {
        return (None, None);
    };
    let name = id[at + "/trustedaccessrolebindings/".len()..].to_string();
    (ClusterId::parse_id(&id[..at]).ok(), Some(name))
}

/// User, ServicePrincipal or ManagedIdentity, from the claims the log kept: `idtyp` (`user`,
/// `app`), a UPN claim for users, `xms_mirid` (the identity's resource id) for managed
/// identities. Without claims, a caller that looks like a UPN is a user; else `Unknown`.
pub fn caller_type(claims: &Value, caller: Option<&str>) -> &'static str {
    let has = |k: &str| claims[k].as_str().is_some_and(|v| !v.is_empty());
    let idtyp = claims["idtyp"].as_str().unwrap_or_default();
    if idtyp.eq_ignore_ascii_case("user")
        || has("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn")
    {
        "User"
    } else if has("xms_mirid") {
        "ManagedIdentity"
    } else if idtyp.eq_ignore_ascii_case("app") || has("appid") {
        "ServicePrincipal"
    } else if caller.is_some_and(|c| c.contains('@')) {
        "User"
    } else {
        "Unknown"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1/trustedAccessRoleBindings/b1";

    fn event(correlation: &str, action: &str, status: &str, at: &str, code: Option<&str>) -> Value {
        let mut e = json!({
            "correlationId": correlation,
            "operationName": {"value": format!("Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings/{action}")},
            "resourceId": ID,
            "status": {"value": status},
            "eventTimestamp": at,
            "caller": "ana@contoso.com",
            "claims": {"idtyp": "user"},
            "httpRequest": {"clientIpAddress": "10.0.0.1"},
            "properties": {},
        });
        if let Some(code) = code {
            e["properties"]["statusCode"] = json!(code);
        }
        e
    }

    #[test]
    fn events_pair_by_correlation_newest_first() {
        let events = vec![
            event(
                "c2",
                "delete",
                "Succeeded",
                "2026-01-03T00:00:05Z",
                Some("OK"),
            ),
            event("c2", "delete", "Started", "2026-01-03T00:00:00Z", None),
            event(
                "c1",
                "write",
                "Succeeded",
                "2026-01-01T00:00:05Z",
                Some("Created"),
            ),
            event("c1", "write", "Started", "2026-01-01T00:00:00Z", None),
            event("c3", "write", "Started", "2026-01-02T00:00:00Z", None),
            event(
                "c3",
                "write",
                "Failed",
                "2026-01-02T00:00:05Z",
                Some("Conflict"),
            ),
            json!({"correlationId": "c9", "operationName": {"value": "Microsoft.Compute/virtualMachines/write"}, "resourceId": "/x"}),
        ];
        let out = changes(&events, None);
        let summary: Vec<(&str, &str, &str)> = out
            .iter()
            .map(|c| {
                (
                    c["time"].as_str().unwrap(),
                    c["operation"].as_str().unwrap(),
                    c["status"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("2026-01-03T00:00:00Z", "delete", "Succeeded"),
                ("2026-01-02T00:00:00Z", "write", "Failed"),
                ("2026-01-01T00:00:00Z", "write", "Succeeded"),
            ]
        );
        assert_eq!(out[0]["cluster"], "c1");
        assert_eq!(out[0]["resourceGroup"], "rg1");
        assert_eq!(out[0]["name"], "b1");
        assert_eq!(out[0]["callerType"], "User");
        assert_eq!(out[0]["clientIp"], "10.0.0.1");
        assert!(changes(&events, Some(&ID.replace("/b1", "/b2"))).is_empty());
        assert_eq!(changes(&events, Some(&ID.to_uppercase())).len(), 3);
    }

    #[test]
    fn caller_types_come_from_claims() {
        assert_eq!(
            caller_type(&json!({"idtyp": "app", "appid": "x"}), Some("oid")),
            "ServicePrincipal"
        );
        assert_eq!(
            caller_type(
                &json!({"idtyp": "app", "xms_mirid": "/subscriptions/s/…"}),
                None
            ),
            "ManagedIdentity"
        );
        assert_eq!(caller_type(&Value::Null, Some("a@b.c")), "User");
        assert_eq!(caller_type(&Value::Null, Some("1234")), "Unknown");
    }
}
