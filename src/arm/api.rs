//! The ARM operations this tool calls, by name. Commands call these; none of them builds a URL.

use crate::arm::client::{API_VERSION, ArmClient, ArmResponse, RESOURCES_API_VERSION};
use crate::arm::ids::{self, BindingId, ClusterId, Location, SubscriptionId};
use crate::arm::models::{LocationInfo, ManagedCluster, Role, RoleBinding, Subscription};
use crate::error::Result;
use reqwest::Method;
use serde_json::json;

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
