//! A cluster's verdict: which findings its identity, bindings and the location's catalog give,
//! and the rows the report prints. Pure: the requests are made by the audit pipeline.

use crate::arm::ids::SourceResourceId;
use crate::arm::models::{Role, RoleBinding};
use crate::commands::audit::discovery::FoundCluster;
use crate::error::{Error, Result};
use serde_json::{Value, json};
use std::collections::HashSet;

/// A service that must be bound: an exact source id, or any source of a type.
#[derive(Debug, Clone)]
pub enum Requirement {
    Source(String),
    Type(String),
}

impl Requirement {
    pub fn parse(raw: &str) -> Result<Self> {
        if raw.trim_start().starts_with('/') {
            return Ok(Requirement::Source(
                SourceResourceId::parse(raw)?.as_str().to_string(),
            ));
        }
        let segments: Vec<&str> = raw.split('/').collect();
        if segments.len() >= 2
            && segments[0].contains('.')
            && segments.iter().all(|s| !s.is_empty() && !s.contains(' '))
        {
            Ok(Requirement::Type(raw.to_string()))
        } else {
            Err(Error::usage_with_hint(
                format!("invalid --require-binding-for '{raw}'"),
                "give a source resource id (/subscriptions/…) or a resource type such as Microsoft.DataProtection/backupVaults",
            ))
        }
    }

    pub fn satisfied_by(&self, binding: &RoleBinding) -> bool {
        let Some(source) = binding.properties.source_resource_id.as_deref() else {
            return false;
        };
        match self {
            Requirement::Source(id) => source.trim_end_matches('/').eq_ignore_ascii_case(id),
            Requirement::Type(kind) => SourceResourceId::parse(source)
                .is_ok_and(|s| s.resource_type().eq_ignore_ascii_case(kind)),
        }
    }

    pub fn describe(&self) -> &str {
        match self {
            Requirement::Source(s) | Requirement::Type(s) => s,
        }
    }
}

/// A catalog reduced to what the audit compares: lower-cased `<type>/<name>` of each role
/// (a few hundred bytes, where the parsed catalog with its rules is tens of kilobytes).
pub type Catalog = HashSet<String>;

/// Everything wrong with one cluster, in words; empty when it passes. `catalog` is `None` when the
/// cluster has no binding (nothing to compare).
pub fn findings(
    identity: &str,
    bindings: &[RoleBinding],
    catalog: Option<&Catalog>,
    location: &str,
    requirements: &[Requirement],
) -> Vec<String> {
    let mut findings: Vec<String> = Vec::new();
    if bindings.is_empty() {
        findings.push("no role binding: Trusted Access is not used".into());
    }
    if !identity.eq_ignore_ascii_case("SystemAssigned") {
        findings.push(format!(
            "identity is {identity}: Trusted Access needs the cluster to use a system-assigned managed identity"
        ));
    }
    if let Some(catalog) = catalog {
        findings.extend(stale_roles(bindings, catalog, location));
    }
    for b in bindings {
        let state = b
            .properties
            .provisioning_state
            .as_deref()
            .unwrap_or("Succeeded");
        if !state.eq_ignore_ascii_case("Succeeded") {
            findings.push(format!(
                "binding {} is {state}",
                b.name.as_deref().unwrap_or("?")
            ));
        }
    }
    for required in requirements {
        if !bindings.iter().any(|b| required.satisfied_by(b)) {
            findings.push(format!("no binding for {}", required.describe()));
        }
    }
    findings
}

/// `<sourceResourceType>/<name>`, lower-cased: the service compares roles case-insensitively.
pub fn qualified_role(role: &Role) -> Option<String> {
    Some(
        format!(
            "{}/{}",
            role.source_resource_type.as_deref()?,
            role.name.as_deref()?
        )
        .to_ascii_lowercase(),
    )
}

/// Roles a binding holds that the location's catalog no longer has (or that do not fit the
/// binding's source type).
fn stale_roles(bindings: &[RoleBinding], catalog: &Catalog, location: &str) -> Vec<String> {
    let mut findings = Vec::new();
    for binding in bindings {
        let name = binding.name.as_deref().unwrap_or("?");
        for role in binding.properties.roles.iter().flatten() {
            let exists = catalog.contains(&role.to_ascii_lowercase());
            if !exists {
                findings.push(format!(
                    "binding {name}: role {role} no longer exists in {location}"
                ));
            }
        }
    }
    findings
}

pub fn describe(e: &Error) -> String {
    e.render()
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("ERROR: ")
        .to_string()
}

/// Every row has every column (null where absent), so TSV rows line up for `awk -F'\t'`.
fn blank_row(subscription: &str, subscription_id: &str) -> Value {
    json!({
        "subscription": subscription,
        "subscriptionId": subscription_id,
        "resourceGroup": null,
        "cluster": null,
        "location": null,
        "identityType": null,
        "tags": null,
        "id": null,
        "bindingCount": null,
        "bindings": null,
        "verdict": null,
        "findings": [],
        "error": null,
    })
}

/// A cluster's row before its bindings are read.
pub fn cluster_row(cluster: &FoundCluster, identity: &str) -> Value {
    let mut row = blank_row(
        &cluster.subscription.display(),
        cluster.id.subscription.as_str(),
    );
    row["resourceGroup"] = json!(cluster.id.resource_group.as_str());
    row["cluster"] = json!(cluster.id.name.as_str());
    row["location"] = json!(cluster.location);
    row["identityType"] = json!(identity);
    row["tags"] = json!(cluster.tags);
    row["id"] = json!(cluster.id.path());
    row
}

pub fn error_row(mut row: Value, why: &str) -> Value {
    row["verdict"] = json!("error");
    row["findings"] = json!([]);
    row["error"] = json!(why);
    row
}

pub fn subscription_error_row(subscription: &str, subscription_id: &str, why: &str) -> Value {
    error_row(blank_row(subscription, subscription_id), why)
}

/// A subscription not Enabled: skipped, or an error when the user named it (never a silent `[]`).
pub fn skipped_row(subscription: &str, subscription_id: &str, state: &str, named: bool) -> Value {
    let mut row = blank_row(subscription, subscription_id);
    if named {
        return error_row(
            row,
            &format!("subscription is {state}: its clusters cannot be audited"),
        );
    }
    row["verdict"] = json!("skipped");
    row["findings"] = json!([format!("subscription is {state}")]);
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(roles: &[&str], source: &str) -> RoleBinding {
        serde_json::from_value(
            json!({"name": "b", "properties": {"roles": roles, "sourceResourceId": source}}),
        )
        .unwrap()
    }

    #[test]
    fn roles_missing_from_the_catalog_are_findings() {
        let roles: Vec<Role> = serde_json::from_value(json!([{"name": "mlworkload", "sourceResourceType": "Microsoft.MachineLearningServices/workspaces"}])).unwrap();
        let catalog: Catalog = roles.iter().filter_map(qualified_role).collect();
        let b = binding(
            &[
                "microsoft.machinelearningservices/WORKSPACES/mlworkload",
                "Microsoft.MachineLearningServices/workspaces/gone",
            ],
            "/x",
        );
        assert_eq!(
            stale_roles(std::slice::from_ref(&b), &catalog, "eastus"),
            [
                "binding b: role Microsoft.MachineLearningServices/workspaces/gone no longer exists in eastus"
            ]
        );
    }

    #[test]
    fn requirements_match_ids_or_types() {
        let source = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/g/providers/Microsoft.DataProtection/BackupVaults/v";
        let b = binding(&[], source);
        assert!(
            Requirement::parse("Microsoft.DataProtection/backupVaults")
                .unwrap()
                .satisfied_by(&b)
        );
        assert!(
            Requirement::parse(&source.to_lowercase())
                .unwrap()
                .satisfied_by(&b)
        );
        assert!(
            !Requirement::parse("Microsoft.Security/pricings")
                .unwrap()
                .satisfied_by(&b)
        );
        assert!(Requirement::parse("backup").is_err());
    }

    #[test]
    fn each_problem_is_a_finding_and_a_clean_cluster_has_none() {
        let catalog: Catalog =
            ["microsoft.machinelearningservices/workspaces/mlworkload".to_string()].into();
        let good = binding(
            &["Microsoft.MachineLearningServices/workspaces/mlworkload"],
            "/x",
        );
        assert!(
            findings(
                "SystemAssigned",
                std::slice::from_ref(&good),
                Some(&catalog),
                "eastus",
                &[]
            )
            .is_empty()
        );
        assert_eq!(
            findings("systemassigned", &[], None, "eastus", &[]),
            ["no role binding: Trusted Access is not used"]
        );
        let mut failed = good.clone();
        failed.properties.provisioning_state = Some("Failed".into());
        let required = Requirement::parse("Microsoft.DataProtection/backupVaults").unwrap();
        assert_eq!(
            findings(
                "UserAssigned",
                &[failed],
                Some(&catalog),
                "eastus",
                &[required]
            ),
            [
                "identity is UserAssigned: Trusted Access needs the cluster to use a system-assigned managed identity",
                "binding b is Failed",
                "no binding for Microsoft.DataProtection/backupVaults",
            ]
        );
    }
}
