//! The ARM operations this tool calls, by name. Commands call these; none of them builds a URL.

use crate::arm::client::{
    ACTIVITY_LOG_API_VERSION, API_VERSION, ArmClient, ArmResponse, PROVIDERS_API_VERSION,
    RESOURCES_API_VERSION,
};
use crate::arm::models::{LocationInfo, ManagedCluster, Role, RoleBinding, Subscription};
use crate::domain::ids::{self, BindingId, ClusterId, Location, SubscriptionId};
use crate::error::Result;
use reqwest::Method;
use serde_json::json;

/// Microsoft.Authorization's api-version for the caller's permissions.
pub const AUTHORIZATION_API_VERSION: &str = "2022-04-01";

pub async fn list_roles(
    client: &ArmClient,
    subscription: &SubscriptionId,
    location: &Location,
) -> Result<Vec<Role>> {
    client
        .list(client.url(&ids::roles_path(subscription, location), API_VERSION))
        .await
}

pub async fn list_bindings(client: &ArmClient, cluster: &ClusterId) -> Result<Vec<RoleBinding>> {
    client
        .list(client.url(&cluster.bindings_path(), API_VERSION))
        .await
}

pub async fn get_binding(client: &ArmClient, binding: &BindingId) -> Result<RoleBinding> {
    client.get(client.url(&binding.path(), API_VERSION)).await
}

/// `None` when the binding does not exist (404).
pub async fn find_binding(client: &ArmClient, binding: &BindingId) -> Result<Option<RoleBinding>> {
    client
        .get_optional(client.url(&binding.path(), API_VERSION))
        .await
}

/// The create-or-update body the service expects.
pub fn binding_body(source_resource_id: &str, roles: &[&str]) -> serde_json::Value {
    json!({"properties": {"sourceResourceId": source_resource_id, "roles": roles}})
}

/// PUT: answers 200/201 and starts a long-running operation.
pub async fn put_binding(
    client: &ArmClient,
    binding: &BindingId,
    body: &serde_json::Value,
) -> Result<ArmResponse> {
    client
        .send(Method::PUT, binding_url(client, binding), Some(body))
        .await
}

/// The PUT of a create: `If-None-Match: *`, so a binding someone else created in the meantime is
/// never replaced (ARM answers 412 Precondition Failed instead). Any status is returned as is.
pub async fn put_new_binding(
    client: &ArmClient,
    binding: &BindingId,
    body: &serde_json::Value,
) -> Result<ArmResponse> {
    client
        .execute_with(
            Method::PUT,
            binding_url(client, binding),
            Some(body),
            &[("if-none-match", "*")],
        )
        .await
}

pub fn binding_url(client: &ArmClient, binding: &BindingId) -> url::Url {
    client.url(&binding.path(), API_VERSION)
}

/// DELETE: 202 with an operation to follow, or 204/200 when there was nothing to delete.
pub async fn delete_binding(client: &ArmClient, binding: &BindingId) -> Result<ArmResponse> {
    client
        .send(Method::DELETE, binding_url(client, binding), None)
        .await
}

pub async fn list_subscriptions(client: &ArmClient) -> Result<Vec<Subscription>> {
    client
        .list(client.url(ids::SUBSCRIPTIONS_PATH, RESOURCES_API_VERSION))
        .await
}

pub async fn list_locations(
    client: &ArmClient,
    subscription: &SubscriptionId,
) -> Result<Vec<LocationInfo>> {
    client
        .list(client.url(&ids::locations_path(subscription), RESOURCES_API_VERSION))
        .await
}

pub async fn get_cluster(client: &ArmClient, cluster: &ClusterId) -> Result<ManagedCluster> {
    client.get(client.url(&cluster.path(), API_VERSION)).await
}

pub async fn list_clusters(
    client: &ArmClient,
    subscription: &SubscriptionId,
) -> Result<Vec<ManagedCluster>> {
    client
        .list(client.url(&ids::clusters_path(subscription), API_VERSION))
        .await
}

pub async fn get_subscription(
    client: &ArmClient,
    subscription: &SubscriptionId,
) -> Result<Subscription> {
    client
        .get(client.url(&ids::subscription_path(subscription), RESOURCES_API_VERSION))
        .await
}

/// What the caller may do in a subscription: ARM's permissions API, every page.
pub async fn caller_permissions(
    client: &ArmClient,
    subscription: &SubscriptionId,
) -> Result<Vec<crate::domain::permissions::Permission>> {
    client
        .list(client.url(
            &ids::permissions_path(subscription),
            AUTHORIZATION_API_VERSION,
        ))
        .await
}

/// A resource provider's registration; `None` when the subscription does not know it (404).
pub async fn get_provider(
    client: &ArmClient,
    subscription: &str,
    namespace: &str,
) -> Result<Option<serde_json::Value>> {
    client
        .get_optional(client.url(
            &ids::provider_path(subscription, namespace),
            PROVIDERS_API_VERSION,
        ))
        .await
}

/// Any resource by its (already validated) ARM id; `None` when it does not exist (404).
pub async fn get_resource(
    client: &ArmClient,
    id: &str,
    api_version: &str,
) -> Result<Option<serde_json::Value>> {
    client.get_optional(client.url(id, api_version)).await
}

/// The error of the newest failed write of a resource, from the subscription's activity log
/// (the last 89 days); `None` when the log has no failed write for it.
pub async fn failed_write_error(
    client: &ArmClient,
    subscription: &SubscriptionId,
    resource_id: &str,
) -> Result<Option<String>> {
    let now = time::OffsetDateTime::now_utc();
    let events = activity_events(
        client,
        subscription,
        (now - time::Duration::days(89), now),
        Some(("resourceUri", resource_id)),
    )
    .await?;
    let newest_failure = events
        .iter()
        .filter(|e| {
            e["status"]["value"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("Failed"))
        })
        .max_by(|a, b| {
            let at = |e: &serde_json::Value| e["eventTimestamp"].as_str().unwrap_or("").to_string();
            at(a).cmp(&at(b))
        });
    Ok(newest_failure.map(event_error))
}

/// The subscription's activity-log events between two times (the service keeps 90 days),
/// narrowed by one of the fields the service filters on (`resourceGroupName`, `resourceUri`,
/// `resourceProvider`, `correlationId`): the only `$filter` forms it accepts. Every page.
pub async fn activity_events(
    client: &ArmClient,
    subscription: &SubscriptionId,
    (from, to): (time::OffsetDateTime, time::OffsetDateTime),
    narrow: Option<(&str, &str)>,
) -> Result<Vec<serde_json::Value>> {
    let at = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let mut filter = format!(
        "eventTimestamp ge '{}' and eventTimestamp le '{}'",
        at(from),
        at(to)
    );
    if let Some((field, value)) = narrow {
        filter.push_str(&format!(" and {field} eq '{}'", value.replace('\'', "''")));
    }
    let mut url = client.url(
        &ids::activity_log_path(subscription),
        ACTIVITY_LOG_API_VERSION,
    );
    url.query_pairs_mut().append_pair("$filter", &filter);
    client.list(url).await
}

/// `(code) message` from an event's `properties.statusMessage` (JSON text, in one of ARM's
/// error shapes), else its `statusCode`.
pub fn event_error(event: &serde_json::Value) -> String {
    let properties = &event["properties"];
    let message = properties["statusMessage"].as_str().unwrap_or("");
    if let Ok(parsed) = serde_json::from_str::<serde_json::Value>(message) {
        let error = if parsed["error"].is_object() {
            &parsed["error"]
        } else {
            &parsed
        };
        if let (Some(code), Some(text)) = (error["code"].as_str(), error["message"].as_str()) {
            return format!("({code}) {text}");
        }
    }
    let code = properties["statusCode"].as_str().unwrap_or("Failed");
    if message.is_empty() {
        code.to_string()
    } else {
        format!("({code}) {}", message.chars().take(500).collect::<String>())
    }
}

/// A Log Analytics workspace's id (`properties.customerId`, what its query API is addressed
/// by), read from its ARM resource id (already validated); `None` when it does not exist.
pub async fn workspace_customer_id(client: &ArmClient, id: &str) -> Result<Option<String>> {
    let url = client.url(id, crate::arm::loganalytics::WORKSPACE_API_VERSION);
    let Some(workspace) = client.get_optional::<serde_json::Value>(url).await? else {
        return Ok(None);
    };
    match workspace["properties"]["customerId"].as_str() {
        Some(customer_id) => Ok(Some(customer_id.to_string())),
        None => Err(crate::error::Error::UnexpectedResponse {
            request: format!("GET {id}"),
            detail: "the workspace has no properties.customerId".into(),
        }),
    }
}
