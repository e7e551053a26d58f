//! The ARM shapes this tool reads, and their az rendering: properties lifted to the top level,
//! `resourceGroup` added from the id, every known field present (`null` when absent), `systemData`
//! times re-rendered the way Python's datetime prints them. Keys are inserted in the order of
//! the Python SDK model's attributes (what `keys(@)`, `values(@)` and a `--query` table show in
//! az); JSON and YAML output sort them anyway.

use crate::domain::ids::resource_group_of;
use serde::Deserialize;
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleBinding {
    pub id: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    pub system_data: Option<SystemData>,
    #[serde(default)]
    pub properties: RoleBindingProperties,
}

impl RoleBinding {
    /// Who made it, by the one rule (`domain::provenance`).
    pub fn maker(&self) -> crate::domain::provenance::Maker {
        let system = self.system_data.as_ref();
        crate::domain::provenance::made_by(&crate::domain::provenance::Made {
            source: self
                .properties
                .source_resource_id
                .as_deref()
                .unwrap_or_default(),
            created_by: system.and_then(|s| s.created_by.as_deref()),
            created_by_type: system.and_then(|s| s.created_by_type.as_deref()),
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleBindingProperties {
    pub provisioning_state: Option<String>,
    pub source_resource_id: Option<String>,
    pub roles: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemData {
    pub created_by: Option<String>,
    pub created_by_type: Option<String>,
    pub created_at: Option<String>,
    pub last_modified_by: Option<String>,
    pub last_modified_by_type: Option<String>,
    pub last_modified_at: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    pub name: Option<String>,
    pub source_resource_type: Option<String>,
    pub rules: Option<Vec<RoleRule>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRule {
    pub verbs: Option<Vec<String>>,
    pub api_groups: Option<Vec<String>>,
    pub resources: Option<Vec<String>>,
    pub resource_names: Option<Vec<String>>,
    #[serde(rename = "nonResourceURLs")]
    pub non_resource_urls: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: Option<String>,
    pub subscription_id: Option<String>,
    pub display_name: Option<String>,
    pub state: Option<String>,
    pub tenant_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationInfo {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub regional_display_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedCluster {
    pub id: Option<String>,
    pub name: Option<String>,
    pub location: Option<String>,
    pub identity: Option<ClusterIdentity>,
    #[serde(default)]
    pub tags: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClusterIdentity {
    #[serde(rename = "type")]
    pub identity_type: Option<String>,
}

impl RoleBinding {
    pub fn to_az(&self) -> Value {
        let mut map = Map::new();
        map.insert("id".into(), json!(self.id));
        map.insert("name".into(), json!(self.name));
        map.insert("type".into(), json!(self.resource_type));
        map.insert(
            "systemData".into(),
            self.system_data
                .as_ref()
                .map_or(Value::Null, SystemData::to_az),
        );
        map.insert(
            "provisioningState".into(),
            json!(self.properties.provisioning_state),
        );
        map.insert(
            "sourceResourceId".into(),
            json!(self.properties.source_resource_id),
        );
        map.insert("roles".into(), json!(self.properties.roles));
        if let Some(group) = self.id.as_deref().and_then(resource_group_of) {
            map.insert("resourceGroup".into(), json!(group));
        }
        Value::Object(map)
    }
}

impl SystemData {
    fn to_az(&self) -> Value {
        let time = |t: &Option<String>| t.as_deref().map(python_isoformat);
        json!({
            "createdBy": self.created_by,
            "createdByType": self.created_by_type,
            "createdAt": time(&self.created_at),
            "lastModifiedBy": self.last_modified_by,
            "lastModifiedByType": self.last_modified_by_type,
            "lastModifiedAt": time(&self.last_modified_at),
        })
    }
}

impl Role {
    /// `<sourceResourceType>/<name>`, when the service gave both.
    pub fn qualified(&self) -> Option<String> {
        Some(crate::domain::roles::qualified(
            self.source_resource_type.as_deref()?,
            self.name.as_deref()?,
        ))
    }

    pub fn to_az(&self) -> Value {
        let rules = self.rules.as_ref().map(|rules| {
            rules
                .iter()
                .map(|r| {
                    // az prints the SDK attribute name: nonResourceURLs becomes nonResourceUrLs.
                    // The SDK's TrustedAccessRoleRule order.
                    json!({
                        "verbs": r.verbs,
                        "apiGroups": r.api_groups,
                        "resources": r.resources,
                        "resourceNames": r.resource_names,
                        "nonResourceUrLs": r.non_resource_urls,
                    })
                })
                .collect::<Vec<_>>()
        });
        // The SDK's TrustedAccessRole order.
        json!({
            "sourceResourceType": self.source_resource_type,
            "name": self.name,
            "rules": rules,
        })
    }
}

/// Re-renders an ISO 8601 time as az prints it after the SDK parsed it into a Python datetime:
/// `Z` becomes `+00:00`, the fraction is cut to microseconds and left out when zero.
/// Text that is not such a time is kept as it is.
pub fn python_isoformat(text: &str) -> String {
    let Some((date_time, offset)) = split_offset(text) else {
        return text.to_string();
    };
    let (whole, fraction) = match date_time.split_once('.') {
        Some((w, f)) => (w, f),
        None => (date_time, ""),
    };
    let shape_ok = whole.len() == 19
        && whole.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T' || b == b't' || b == b' ',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        })
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if !shape_ok {
        return text.to_string();
    }
    let mut micros: String = fraction.chars().take(6).collect();
    while micros.len() < 6 {
        micros.push('0');
    }
    let mut out = format!("{}T{}", &whole[..10], &whole[11..]);
    if micros != "000000" {
        out.push('.');
        out.push_str(&micros);
    }
    out.push_str(&offset);
    out
}

/// Splits `…Z` / `…+hh:mm` / `…-hh:mm` into the local part and Python's offset rendering.
fn split_offset(text: &str) -> Option<(&str, String)> {
    if let Some(rest) = text.strip_suffix('Z').or_else(|| text.strip_suffix('z')) {
        return Some((rest, "+00:00".to_string()));
    }
    if text.len() > 6 {
        let (rest, offset) = text.split_at(text.len() - 6);
        let b = offset.as_bytes();
        if (b[0] == b'+' || b[0] == b'-')
            && b[3] == b':'
            && [1, 2, 4, 5].iter().all(|&i| b[i].is_ascii_digit())
        {
            return Some((rest, offset.to_string()));
        }
    }
    if text.len() == 19 || text.contains('.') {
        return Some((text, String::new()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_render_like_python_datetimes() {
        assert_eq!(
            python_isoformat("2024-01-01T00:00:00Z"),
            "2024-01-01T00:00:00+00:00"
        );
        assert_eq!(
            python_isoformat("2026-11-22T10:42:08.636Z"),
            "2026-11-22T10:42:08.636000+00:00"
        );
        assert_eq!(
            python_isoformat("2024-01-12T06:05:26.9272171Z"),
            "2024-01-12T06:05:26.927217+00:00"
        );
        assert_eq!(
            python_isoformat("2024-01-01T00:00:00.000Z"),
            "2024-01-01T00:00:00+00:00"
        );
        assert_eq!(
            python_isoformat("2024-01-01T05:00:00+05:30"),
            "2024-01-01T05:00:00+05:30"
        );
        assert_eq!(
            python_isoformat("2024-01-01T00:00:00"),
            "2024-01-01T00:00:00"
        );
        assert_eq!(python_isoformat("yesterday"), "yesterday");
    }

    #[test]
    fn a_binding_is_flattened_with_its_resource_group() {
        let binding: RoleBinding = serde_json::from_value(json!({
            "id": "/subscriptions/s/resourceGroups/RG1/providers/Microsoft.ContainerService/managedClusters/c/trustedAccessRoleBindings/b",
            "name": "b",
            "type": "Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings",
            "properties": {"roles": ["r"], "sourceResourceId": "/x", "provisioningState": "Succeeded", "future": 1}
        }))
        .unwrap();
        let az = binding.to_az();
        let keys: Vec<&String> = az.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "id",
                "name",
                "type",
                "systemData",
                "provisioningState",
                "sourceResourceId",
                "roles",
                "resourceGroup"
            ]
        );
        assert_eq!(az["resourceGroup"], "RG1");
        assert_eq!(az["systemData"], Value::Null);
    }

    #[test]
    fn a_role_uses_azs_spelling_nulls_and_the_sdk_key_order() {
        let role: Role = serde_json::from_value(json!({
            "name": "reader", "sourceResourceType": "A.B/c",
            "rules": [{"verbs": ["get"], "nonResourceURLs": []}]
        }))
        .unwrap();
        assert_eq!(
            role.to_az()["rules"][0],
            json!({"apiGroups": null, "nonResourceUrLs": [], "resourceNames": null, "resources": null, "verbs": ["get"]})
        );
        let az = role.to_az();
        let keys: Vec<&String> = az.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["sourceResourceType", "name", "rules"]);
        let keys: Vec<&String> = az["rules"][0].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "verbs",
                "apiGroups",
                "resources",
                "resourceNames",
                "nonResourceUrLs"
            ]
        );
    }
}
