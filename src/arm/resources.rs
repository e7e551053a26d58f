//! Reading any ARM resource by id (the sources of bindings): whether it exists, can be read, and
//! which managed identity it has. ARM has no generic api-version, so the version comes from the
//! provider's own list (the newest stable one for the type), asked once per subscription and
//! namespace, as `az resource show --ids` does.

use crate::arm::client::{ArmClient, RESOURCES_API_VERSION};
use crate::domain::ids::SourceResourceId;
use crate::error::Result;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// What a read of a source resource found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceState {
    /// It exists; its managed identity, if any.
    Present {
        identity_type: Option<String>,
        principal_id: Option<String>,
        tenant_id: Option<String>,
    },
    /// It does not exist (404): a binding to it is dangling.
    Absent,
    /// It could not be read (403, or its provider could not be asked): unknown, not a failure.
    Unreadable(String),
}

impl SourceState {
    /// From a resource's JSON (an ARM GET or a Resource Graph row).
    pub fn from_resource(resource: &Value) -> Self {
        let identity = &resource["identity"];
        let text = |v: &Value| v.as_str().map(str::to_string);
        SourceState::Present {
            identity_type: text(&identity["type"]).filter(|t| !t.eq_ignore_ascii_case("None")),
            principal_id: text(&identity["principalId"]),
            tenant_id: text(&identity["tenantId"]),
        }
    }

    /// Whether the source has a system-assigned identity (`None` when unknown or absent).
    pub fn has_system_identity(&self) -> Option<bool> {
        match self {
            SourceState::Present { identity_type, .. } => Some(
                identity_type
                    .as_deref()
                    .is_some_and(|t| t.to_ascii_lowercase().contains("systemassigned")),
            ),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Provider {
    #[serde(default)]
    resource_types: Vec<ProviderType>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProviderType {
    resource_type: String,
    #[serde(default)]
    api_versions: Vec<String>,
}

type Versions = OnceCell<std::result::Result<Arc<Vec<ProviderType>>, String>>;

/// Reads sources by id; keeps each provider's api-versions for the next read.
#[derive(Default)]
pub struct ResourceReader {
    providers: Mutex<HashMap<(String, String), Arc<Versions>>>,
}

impl ResourceReader {
    pub async fn read(&self, client: &ArmClient, id: &SourceResourceId) -> Result<SourceState> {
        let subscription = id.as_str().split('/').nth(2).unwrap_or_default();
        let (namespace, kind) = id
            .resource_type()
            .split_once('/')
            .unwrap_or((id.resource_type(), ""));
        let version = match self.version(client, subscription, namespace, kind).await {
            Ok(v) => v,
            Err(why) => return Ok(SourceState::Unreadable(why)),
        };
        let resp = client
            .execute(Method::GET, client.url(id.as_str(), &version), None)
            .await?;
        match resp.status {
            200..=299 => Ok(SourceState::from_resource(&resp.json::<Value>()?)),
            404 => Ok(SourceState::Absent),
            401 | 403 => Ok(SourceState::Unreadable(client.error_of(&resp).first_line())),
            _ => Err(client.error_of(&resp)),
        }
    }

    /// The newest stable api-version the provider lists for `kind` (newest preview if none).
    async fn version(
        &self,
        client: &ArmClient,
        subscription: &str,
        namespace: &str,
        kind: &str,
    ) -> std::result::Result<String, String> {
        let cell = {
            let mut providers = self.providers.lock().unwrap_or_else(|p| p.into_inner());
            providers
                .entry((
                    subscription.to_ascii_lowercase(),
                    namespace.to_ascii_lowercase(),
                ))
                .or_default()
                .clone()
        };
        let types = cell
            .get_or_init(|| async {
                let path = format!("/subscriptions/{subscription}/providers/{namespace}");
                client
                    .get::<Provider>(client.url(&path, RESOURCES_API_VERSION))
                    .await
                    .map(|p| Arc::new(p.resource_types))
                    .map_err(|e| format!("cannot read provider {namespace}: {}", e.first_line()))
            })
            .await
            .clone()?;
        let versions = types
            .iter()
            .find(|t| t.resource_type.eq_ignore_ascii_case(kind))
            .map(|t| t.api_versions.clone())
            .ok_or_else(|| format!("provider {namespace} does not list the type {kind}"))?;
        newest_stable(&versions)
            .ok_or_else(|| format!("provider {namespace} lists no api-version for {kind}"))
    }
}

/// Api-versions are dates (with `-preview` and similar suffixes): the newest without a suffix,
/// else the newest of all.
pub fn newest_stable(versions: &[String]) -> Option<String> {
    let stable = versions.iter().filter(|v| v.len() == 10).max();
    stable.or_else(|| versions.iter().max()).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_newest_stable_version_wins() {
        let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            newest_stable(&v(&["2025-04-01-preview", "2024-10-01", "2023-01-01"])).as_deref(),
            Some("2024-10-01")
        );
        assert_eq!(
            newest_stable(&v(&["2025-04-01-preview"])).as_deref(),
            Some("2025-04-01-preview")
        );
        assert_eq!(newest_stable(&[]), None);
    }

    #[test]
    fn identities_are_read_from_the_resource() {
        let s = SourceState::from_resource(
            &json!({"identity": {"type": "SystemAssigned, UserAssigned", "principalId": "p"}}),
        );
        assert_eq!(s.has_system_identity(), Some(true));
        let none = SourceState::from_resource(&json!({"identity": {"type": "None"}}));
        assert_eq!(none.has_system_identity(), Some(false));
        assert_eq!(SourceState::Absent.has_system_identity(), None);
    }
}
