//! The services that use clusters through Trusted Access, as the emulator's world holds them
//! (cluster extensions, Backup vaults' backup instances, Azure ML computes, Defender plans, role
//! assignments and definitions): their state-file form and their ARM JSON, written from Azure's
//! documented shapes (REST specs of Microsoft.KubernetesConfiguration, Microsoft.DataProtection,
//! Microsoft.MachineLearningServices, Microsoft.Security, Microsoft.Authorization).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

/// The `services` section of a state file (and of `GET|PUT /_emulator/services`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServicesSeed {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<ExtensionSeed>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backup_instances: Vec<BackupInstanceSeed>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub computes: Vec<ComputeSeed>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub defender_plans: Vec<DefenderPlanSeed>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub role_assignments: Vec<RoleAssignmentSeed>,
    /// Custom role definitions; the built-in ones of `BUILT_IN_ROLES` are always there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub role_definitions: Vec<RoleDefinitionSeed>,
}

impl ServicesSeed {
    pub fn is_empty(&self) -> bool {
        *self == ServicesSeed::default()
    }

    /// Every id must be an ARM id under a subscription (the rows' subscription and group come
    /// from it), so a state file with a typo is refused at start rather than served oddly.
    pub fn check(&self) -> Result<(), String> {
        let ids = self
            .extensions
            .iter()
            .map(|e| ("extension clusterId", e.cluster_id.as_str()))
            .chain(
                self.backup_instances
                    .iter()
                    .map(|b| ("backup instance vaultId", b.vault_id.as_str())),
            )
            .chain(
                self.computes
                    .iter()
                    .map(|c| ("compute workspaceId", c.workspace_id.as_str())),
            );
        for (what, id) in ids {
            if subscription_of(id).is_empty() || !id.to_ascii_lowercase().contains("/providers/") {
                return Err(format!("services: {what} '{id}' is not an ARM resource id"));
            }
        }
        for a in &self.role_assignments {
            if !a.scope.starts_with('/') {
                return Err(format!(
                    "services: role assignment scope '{}' does not start with '/'",
                    a.scope
                ));
            }
        }
        Ok(())
    }
}

impl ServicesSeed {
    /// A backup instance, compute or Defender plan by its id (case-insensitive), as ARM's GET
    /// answers it; extensions and role assignments are served by Resource Graph only. Only the
    /// list of the id's own type is searched: a GET of any other resource that is not in the
    /// world (a dangling binding source) formatted every compute's id, and a fleet audit's
    /// hundreds of them held the world for seconds.
    pub fn find(&self, id: &str) -> Option<Value> {
        let id = id.trim_end_matches('/');
        let lower = id.to_ascii_lowercase();
        let same = |other: String| other.eq_ignore_ascii_case(id);
        if lower.contains("/backupvaults/") && lower.contains("/backupinstances/") {
            let mut instances = self.backup_instances.iter();
            return instances
                .find(|b| same(b.id()))
                .map(BackupInstanceSeed::to_json);
        }
        if lower.contains("/workspaces/") && lower.contains("/computes/") {
            let mut computes = self.computes.iter();
            return computes.find(|c| same(c.id())).map(ComputeSeed::to_json);
        }
        if lower.contains("/providers/microsoft.security/pricings/") {
            let mut plans = self.defender_plans.iter();
            return plans.find(|p| same(p.id())).map(DefenderPlanSeed::to_json);
        }
        None
    }
}

/// A cluster extension: `{clusterId}/providers/Microsoft.KubernetesConfiguration/extensions/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionSeed {
    pub cluster_id: String,
    pub name: String,
    /// `microsoft.dataprotection.kubernetes` (Backup), `microsoft.azureml.kubernetes` (Azure ML)…
    pub extension_type: String,
    #[serde(default = "succeeded")]
    pub provisioning_state: String,
}

/// A Backup vault's backup instance: `{vaultId}/backupInstances/{name}`, protecting
/// `dataSourceId` (a cluster id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupInstanceSeed {
    pub vault_id: String,
    pub name: String,
    pub data_source_id: String,
    #[serde(default = "cluster_type")]
    pub data_source_type: String,
    #[serde(default = "protection_configured")]
    pub protection_status: String,
}

/// An Azure ML workspace's compute: `{workspaceId}/computes/{name}`, attached to `resourceId`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComputeSeed {
    pub workspace_id: String,
    pub name: String,
    /// `Kubernetes` (attached through the extension) or `AKS` (the older attach).
    #[serde(default = "kubernetes")]
    pub compute_type: String,
    pub resource_id: String,
    /// When it was attached (ISO 8601).
    pub created_on: String,
    #[serde(default = "westeurope")]
    pub location: String,
}

/// A subscription's Defender plan: `/subscriptions/{s}/providers/Microsoft.Security/pricings/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefenderPlanSeed {
    pub subscription_id: String,
    #[serde(default = "containers")]
    pub name: String,
    /// `Standard` or `Free`.
    pub pricing_tier: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<PlanExtension>,
}

/// One of a plan's extensions. `isEnabled` is a string, `"True"` or `"False"`, as the
/// Microsoft.Security REST spec (2023-01-01 and later) has it; a state file may also say
/// `true`/`false`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanExtension {
    pub name: String,
    #[serde(deserialize_with = "true_or_false")]
    pub is_enabled: String,
}

/// A role assignment: `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentSeed {
    /// A GUID; made from the other fields when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The source's id, its resource group's, its subscription's (or a management group's).
    pub scope: String,
    pub principal_id: String,
    /// `User`, `Group`, `ServicePrincipal`…
    #[serde(default = "user")]
    pub principal_type: String,
    /// As ARM spells it: `/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}`.
    pub role_definition_id: String,
    #[serde(default = "long_ago")]
    pub created_on: String,
}

/// A custom role definition (the built-in ones are in `BUILT_IN_ROLES`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinitionSeed {
    /// A GUID.
    pub name: String,
    pub role_name: String,
    pub actions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_actions: Vec<String>,
    /// Where it can be assigned; the first names the subscription its id lives under.
    pub assignable_scopes: Vec<String>,
}

/// The subscription an id names (`/subscriptions/{s}/…`), or "".
pub fn subscription_of(id: &str) -> &str {
    let mut segments = id.trim_start_matches('/').split('/');
    match (segments.next(), segments.next()) {
        (Some(s), Some(sub)) if s.eq_ignore_ascii_case("subscriptions") => sub,
        _ => "",
    }
}

/// The resource group an id names (`…/resourceGroups/{g}/…`), or "".
pub fn group_of(id: &str) -> &str {
    let segments: Vec<&str> = id.trim_matches('/').split('/').collect();
    segments
        .iter()
        .position(|s| s.eq_ignore_ascii_case("resourcegroups"))
        .and_then(|i| segments.get(i + 1).copied())
        .unwrap_or_default()
}

fn last_segment(id: &str) -> &str {
    id.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
}

impl ExtensionSeed {
    pub fn id(&self) -> String {
        format!(
            "{}/providers/Microsoft.KubernetesConfiguration/extensions/{}",
            self.cluster_id.trim_end_matches('/'),
            self.name
        )
    }

    pub fn to_json(&self) -> Value {
        let id = self.id();
        json!({
            "id": id,
            "name": self.name,
            "type": "Microsoft.KubernetesConfiguration/extensions",
            "location": "",
            "identity": null,
            "properties": {
                "extensionType": self.extension_type,
                "autoUpgradeMinorVersion": true,
                "releaseTrain": "stable",
                "version": null,
                "currentVersion": "1.0.0",
                "isSystemExtension": false,
                "scope": {"cluster": {"releaseNamespace": self.name}},
                "configurationSettings": {},
                "provisioningState": self.provisioning_state,
                "statuses": [],
                "aksAssignedIdentity": {
                    "type": "SystemAssigned",
                    "principalId": crate::emulator::stable_id::stable_uuid(&id),
                    "tenantId": null
                },
            }
        })
    }
}

impl BackupInstanceSeed {
    pub fn id(&self) -> String {
        format!(
            "{}/backupInstances/{}",
            self.vault_id.trim_end_matches('/'),
            self.name
        )
    }

    pub fn to_json(&self) -> Value {
        let source = json!({
            "objectType": "Datasource",
            "datasourceType": self.data_source_type,
            "resourceID": self.data_source_id,
            "resourceName": last_segment(&self.data_source_id),
            "resourceType": self.data_source_type,
            "resourceUri": self.data_source_id,
            "resourceLocation": "westeurope",
        });
        json!({
            "id": self.id(),
            "name": self.name,
            "type": "Microsoft.DataProtection/backupVaults/backupInstances",
            "location": "",
            "properties": {
                "objectType": "BackupInstance",
                "friendlyName": format!("{}\\{}", last_segment(&self.data_source_id), self.name),
                "dataSourceInfo": source,
                "dataSourceSetInfo": source,
                "policyInfo": {"policyId": format!("{}/backupPolicies/aks-daily", self.vault_id)},
                "protectionStatus": {"status": self.protection_status},
                "currentProtectionState": self.protection_status,
                "provisioningState": "Succeeded",
            }
        })
    }
}

impl ComputeSeed {
    pub fn id(&self) -> String {
        format!(
            "{}/computes/{}",
            self.workspace_id.trim_end_matches('/'),
            self.name
        )
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id(),
            "name": self.name,
            "type": "Microsoft.MachineLearningServices/workspaces/computes",
            "location": self.location,
            "properties": {
                "computeType": self.compute_type,
                "computeLocation": self.location,
                "resourceId": self.resource_id,
                "createdOn": self.created_on,
                "modifiedOn": self.created_on,
                "provisioningState": "Succeeded",
                "isAttachedCompute": true,
                "disableLocalAuth": true,
                "description": null,
                "properties": {"namespace": "default"},
            }
        })
    }
}

impl DefenderPlanSeed {
    pub fn id(&self) -> String {
        format!(
            "/subscriptions/{}/providers/Microsoft.Security/pricings/{}",
            self.subscription_id, self.name
        )
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id(),
            "name": self.name,
            "type": "Microsoft.Security/pricings",
            "location": "",
            "properties": {
                "pricingTier": self.pricing_tier,
                "subPlan": null,
                "freeTrialRemainingTime": "PT0S",
                "enablementTime": "2026-01-01T00:00:00Z",
                "extensions": self.extensions,
            }
        })
    }
}

impl RoleAssignmentSeed {
    pub fn guid(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            crate::emulator::stable_id::stable_uuid(&format!(
                "{}|{}|{}",
                self.scope, self.principal_id, self.role_definition_id
            ))
        })
    }

    pub fn id(&self) -> String {
        format!(
            "{}/providers/Microsoft.Authorization/roleAssignments/{}",
            self.scope.trim_end_matches('/'),
            self.guid()
        )
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id(),
            "name": self.guid(),
            "type": "Microsoft.Authorization/roleAssignments",
            "location": "",
            "properties": {
                "roleDefinitionId": self.role_definition_id,
                "principalId": self.principal_id,
                "principalType": self.principal_type,
                "scope": self.scope,
                "condition": null,
                "conditionVersion": null,
                "createdOn": self.created_on,
                "updatedOn": self.created_on,
                "createdBy": null,
                "updatedBy": null,
                "description": null,
            }
        })
    }
}

impl RoleDefinitionSeed {
    /// Under the subscription of its first assignable scope, as custom roles' ids are.
    pub fn id(&self) -> String {
        let sub = self
            .assignable_scopes
            .first()
            .map(|s| subscription_of(s))
            .unwrap_or_default();
        format!(
            "/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{}",
            self.name
        )
    }

    pub fn to_json(&self) -> Value {
        crate::emulator::azure_roles::role_definition_json(
            &self.id(),
            &self.name,
            &self.role_name,
            "CustomRole",
            &self.actions,
            &self.not_actions,
            &self.assignable_scopes,
        )
    }
}

fn true_or_false<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::Bool(b) => Ok(if b { "True" } else { "False" }.to_string()),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok("True".into()),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok("False".into()),
        other => Err(serde::de::Error::custom(format!(
            "isEnabled must be \"True\", \"False\", true or false, not {other}"
        ))),
    }
}

fn succeeded() -> String {
    "Succeeded".into()
}
fn cluster_type() -> String {
    "Microsoft.ContainerService/managedClusters".into()
}
fn protection_configured() -> String {
    "ProtectionConfigured".into()
}
fn kubernetes() -> String {
    "Kubernetes".into()
}
fn westeurope() -> String {
    "westeurope".into()
}
fn containers() -> String {
    "Containers".into()
}
fn user() -> String {
    "User".into()
}
fn long_ago() -> String {
    "2025-01-01T00:00:00.0000000Z".into()
}
