//! `--workspace`: the binding events of `rolebinding history` and `audit --since` read from a
//! Log Analytics workspace's `AzureActivity` table (the subscription's activity log exported
//! there, kept beyond 90 days) with one KQL query, each row turned back into the activity log's
//! event shape so the one pairing (`history::changes`) makes the same changes from either.

use crate::arm::{api, loganalytics};
use crate::commands::history::{History, changes};
use crate::context::Context;
use crate::domain::ids::{ResourceGroupName, SubscriptionId};
use crate::error::{Error, Result};
use crate::resolve::{HistoryRequest, HistoryScope, Workspace};
use serde_json::{Map, Value, json};

/// The most events one query reads: a window with more is refused rather than cut (a cut would
/// split operations and drop changes silently); a narrower scope or `--since` reads it.
pub const MAX_EVENTS: usize = 5000;

/// The columns the query keeps: what a change is made of.
const COLUMNS: &str = "TimeGenerated, OperationNameValue, ActivityStatusValue, \
    ActivitySubstatusValue, Caller, CallerIpAddress, CorrelationId, _ResourceId, SubscriptionId, \
    ResourceGroup, Claims, Properties";

/// Which rows a scope reads, as a KQL condition.
pub enum Rows<'a> {
    Subscription(&'a SubscriptionId),
    Group(&'a SubscriptionId, &'a ResourceGroupName),
    /// Ids under this path (a cluster's bindings: `…/trustedAccessRoleBindings/`).
    Under(String),
    Binding(String),
    Subscriptions(&'a [SubscriptionId], &'a [ResourceGroupName]),
}

/// A KQL string literal (`'…'`, backslash escapes).
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The query for a scope: binding operations only, newest first, one more than `MAX_EVENTS`.
pub fn kql(rows: &Rows) -> String {
    let list = |items: Vec<&str>| items.into_iter().map(quoted).collect::<Vec<_>>().join(", ");
    let condition = match rows {
        Rows::Subscription(s) => format!("SubscriptionId =~ {}", quoted(s.as_str())),
        Rows::Group(s, g) => format!(
            "SubscriptionId =~ {} and ResourceGroup =~ {}",
            quoted(s.as_str()),
            quoted(g.as_str())
        ),
        Rows::Under(path) => format!("_ResourceId startswith {}", quoted(path)),
        Rows::Binding(id) => format!("_ResourceId =~ {}", quoted(id)),
        Rows::Subscriptions(subs, groups) => {
            let mut c = format!(
                "SubscriptionId in~ ({})",
                list(subs.iter().map(SubscriptionId::as_str).collect())
            );
            if !groups.is_empty() {
                let names = list(groups.iter().map(ResourceGroupName::as_str).collect());
                c.push_str(&format!(" and ResourceGroup in~ ({names})"));
            }
            c
        }
    };
    format!(
        "AzureActivity | where OperationNameValue startswith \
         'MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/TRUSTEDACCESSROLEBINDINGS/' \
         | where {condition} | project {COLUMNS} | order by TimeGenerated desc | take {}",
        MAX_EVENTS + 1
    )
}

/// `P{days}D`, or `PT{hours}H` for a window that is not whole days.
pub fn timespan(since: time::Duration) -> String {
    let hours = since.whole_hours().max(1);
    if hours % 24 == 0 {
        format!("P{}D", hours / 24)
    } else {
        format!("PT{hours}H")
    }
}

/// The workspace's customer id: as given, or read from its ARM resource (404: exit 3).
pub async fn customer_id(ctx: &Context, workspace: &Workspace) -> Result<String> {
    match workspace {
        Workspace::CustomerId(id) => Ok(id.clone()),
        Workspace::ResourceId(id) => api::workspace_customer_id(&ctx.client, id)
            .await?
            .ok_or_else(|| Error::NotFound {
                message: format!("the workspace {id} was not found"),
                hint: Some(
                    "check --workspace (az monitor log-analytics workspace list --query [].id)"
                        .into(),
                ),
            }),
    }
}

/// The activity-log events of a scope from the workspace, and the service's note when the
/// result is partial.
pub async fn events(
    ctx: &Context,
    customer_id: &str,
    rows: &Rows<'_>,
    since: time::Duration,
) -> Result<(Vec<Value>, Option<String>)> {
    let result =
        loganalytics::query(&ctx.client, customer_id, &kql(rows), &timespan(since)).await?;
    if result.rows.len() > MAX_EVENTS {
        return Err(Error::Config {
            message: format!(
                "the workspace holds more than {MAX_EVENTS} binding events in this window; not reading a cut history"
            ),
            hint: Some("narrow it: -g, --cluster-name, -n, or a shorter --since".into()),
        });
    }
    Ok((result.rows.iter().map(event_of).collect(), result.partial))
}

/// `rolebinding history --workspace` / `audit --since --workspace`: the scope's changes from the
/// workspace, as `history` makes them from the activity log. The endpoint is checked first, so
/// a cloud without Log Analytics fails before any request.
pub async fn history(
    ctx: &Context,
    request: &HistoryRequest,
    workspace: &Workspace,
) -> Result<History> {
    ctx.client.log_analytics_url("")?;
    let fleet_subscriptions;
    let subscription;
    let (rows, prefix) = match &request.scope {
        HistoryScope::Fleet {
            subscriptions,
            groups,
        } => {
            fleet_subscriptions =
                crate::commands::fleet::listing::subscriptions(ctx, subscriptions).await?;
            (Rows::Subscriptions(&fleet_subscriptions, groups), None)
        }
        scope => {
            subscription = ctx.subscription().await?.clone();
            match scope {
                HistoryScope::Group(g) => (Rows::Group(&subscription, g), None),
                HistoryScope::Cluster(c) => {
                    let path = format!("{}/", c.id(subscription.clone()).bindings_path());
                    (Rows::Under(path.clone()), Some(path))
                }
                HistoryScope::Binding(c, name) => {
                    let id = c.id(subscription.clone()).binding(name.clone()).path();
                    (Rows::Binding(id.clone()), Some(id))
                }
                _ => (Rows::Subscription(&subscription), None),
            }
        }
    };
    let customer_id = customer_id(ctx, workspace).await?;
    let (events, partial) = events(ctx, &customer_id, &rows, request.since).await?;
    Ok(History {
        changes: Value::Array(changes(&events, prefix.as_deref())),
        partial,
    })
}

/// A dynamic column as the API sends it (JSON text), or already an object.
fn dynamic(v: Option<&Value>) -> Value {
    match v {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
        Some(v @ Value::Object(_)) => v.clone(),
        _ => Value::Null,
    }
}

/// An `AzureActivity` row as the activity log's event: statuses back in the log's words
/// (`Start` → `Started`, `Success` → `Succeeded`, `Failure` → `Failed`, `Accept` → `Accepted`),
/// the resource id as ARM wrote it (`Properties.entity`; `_ResourceId` is lower-cased), the
/// claims and the status code and message from their JSON columns.
pub fn event_of(row: &Map<String, Value>) -> Value {
    let s = |k: &str| row.get(k).and_then(Value::as_str).unwrap_or_default();
    let status = match s("ActivityStatusValue") {
        "Start" => "Started",
        "Success" => "Succeeded",
        "Failure" => "Failed",
        "Accept" => "Accepted",
        other => other,
    };
    let properties = dynamic(row.get("Properties"));
    let lower = s("_ResourceId");
    let resource_id = properties["entity"]
        .as_str()
        .filter(|e| e.eq_ignore_ascii_case(lower))
        .unwrap_or(lower);
    let code = properties["statusCode"]
        .as_str()
        .or(Some(s("ActivitySubstatusValue")).filter(|c| !c.is_empty()));
    let mut event = json!({
        "eventTimestamp": s("TimeGenerated"),
        "operationName": {"value": s("OperationNameValue")},
        "status": {"value": status},
        "caller": s("Caller"),
        "claims": dynamic(row.get("Claims")),
        "httpRequest": {"clientIpAddress": row.get("CallerIpAddress").cloned().unwrap_or(Value::Null)},
        "correlationId": s("CorrelationId"),
        "resourceId": resource_id,
        "resourceGroupName": s("ResourceGroup"),
        "subscriptionId": s("SubscriptionId"),
        "properties": {},
    });
    if let Some(code) = code {
        event["properties"]["statusCode"] = json!(code);
    }
    if let Some(message) = properties["statusMessage"].as_str() {
        event["properties"]["statusMessage"] = json!(message);
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_map_back_to_the_logs_events() {
        let row: Map<String, Value> = serde_json::from_value(json!({
            "TimeGenerated": "2026-01-01T00:00:05Z",
            "OperationNameValue": "MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/TRUSTEDACCESSROLEBINDINGS/WRITE",
            "ActivityStatusValue": "Success",
            "ActivitySubstatusValue": "Created",
            "Caller": "ana@contoso.com",
            "CallerIpAddress": "10.0.0.1",
            "CorrelationId": "c1",
            "_ResourceId": "/subscriptions/s/resourcegroups/rg1/providers/microsoft.containerservice/managedclusters/c1/trustedaccessrolebindings/b1",
            "Claims": "{\"idtyp\":\"user\"}",
            "Properties": "{\"entity\":\"/subscriptions/s/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1/trustedAccessRoleBindings/b1\"}",
        }))
        .unwrap();
        let e = event_of(&row);
        assert_eq!(e["status"]["value"], "Succeeded");
        assert_eq!(e["properties"]["statusCode"], "Created");
        assert_eq!(e["claims"]["idtyp"], "user");
        assert!(
            e["resourceId"]
                .as_str()
                .unwrap()
                .contains("/managedClusters/c1/")
        );
        assert_eq!(e["httpRequest"]["clientIpAddress"], "10.0.0.1");
    }

    #[test]
    fn queries_quote_their_values_and_timespans_are_iso() {
        assert_eq!(quoted(r"a'b\c"), r"'a\'b\\c'");
        assert!(kql(&Rows::Binding("/x".into())).contains("| where _ResourceId =~ '/x' |"));
        assert_eq!(timespan(time::Duration::days(365)), "P365D");
        assert_eq!(timespan(time::Duration::hours(12)), "PT12H");
    }
}
