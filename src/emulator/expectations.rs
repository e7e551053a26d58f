//! The oracle of a generated fleet's services: the findings the generator promises (each kind
//! with its level, where it must fire: cluster, binding, source) and the principals that can
//! act through each binding's source, recorded as the generator decides, never by reading the
//! tables back. Served at `GET /_emulator/expectations`.

use crate::emulator::seed::{ClusterSeed, Seed};
use crate::emulator::services::RoleAssignmentSeed;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};

/// The kinds of service findings, named for what they say (the CLI maps its rule ids onto them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    BackupInstanceWithoutVaultBinding,
    MlComputeWithoutWorkspaceBinding,
    DefenderPlanWithoutBinding,
    VaultBindingWithoutBackupInstance,
    WorkspaceBindingWithoutCompute,
    ComputeOlderThanBinding,
    SourceInAnotherSubscription,
}

pub const KINDS: &[Kind] = &[
    Kind::BackupInstanceWithoutVaultBinding,
    Kind::MlComputeWithoutWorkspaceBinding,
    Kind::DefenderPlanWithoutBinding,
    Kind::VaultBindingWithoutBackupInstance,
    Kind::WorkspaceBindingWithoutCompute,
    Kind::ComputeOlderThanBinding,
    Kind::SourceInAnotherSubscription,
];

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::BackupInstanceWithoutVaultBinding => "backup-instance-without-vault-binding",
            Kind::MlComputeWithoutWorkspaceBinding => "ml-compute-without-workspace-binding",
            Kind::DefenderPlanWithoutBinding => "defender-plan-without-binding",
            Kind::VaultBindingWithoutBackupInstance => "vault-binding-without-backup-instance",
            Kind::WorkspaceBindingWithoutCompute => "workspace-binding-without-compute",
            Kind::ComputeOlderThanBinding => "compute-older-than-binding",
            Kind::SourceInAnotherSubscription => "source-in-another-subscription",
        }
    }

    pub fn level(self) -> &'static str {
        match self {
            Kind::BackupInstanceWithoutVaultBinding
            | Kind::MlComputeWithoutWorkspaceBinding
            | Kind::DefenderPlanWithoutBinding => "error",
            Kind::VaultBindingWithoutBackupInstance
            | Kind::WorkspaceBindingWithoutCompute
            | Kind::ComputeOlderThanBinding => "warning",
            Kind::SourceInAnotherSubscription => "note",
        }
    }

    fn meaning(self) -> &'static str {
        match self {
            Kind::BackupInstanceWithoutVaultBinding => {
                "a backup instance protects the cluster and its vault has no backup-operator binding on it"
            }
            Kind::MlComputeWithoutWorkspaceBinding => {
                "an Azure ML compute is attached to the cluster and its workspace has no mlworkload binding on it"
            }
            Kind::DefenderPlanWithoutBinding => {
                "the cluster's subscription has Defender for Containers at Standard with AgentlessDiscoveryForKubernetes on, and the cluster has no binding from the plan's security operator"
            }
            Kind::VaultBindingWithoutBackupInstance => {
                "a backup-operator binding from a vault that protects no instance of this cluster"
            }
            Kind::WorkspaceBindingWithoutCompute => {
                "an mlworkload binding from a workspace with no compute attached to this cluster"
            }
            Kind::ComputeOlderThanBinding => {
                "the workspace's compute on this cluster was attached (createdOn) before its binding was created (systemData.createdAt)"
            }
            Kind::SourceInAnotherSubscription => {
                "a binding whose source is in another subscription than the cluster"
            }
        }
    }
}

/// A role assignment as the oracle keeps it: who, which role, where.
#[derive(Debug, Clone)]
struct Grant {
    principal: Value,
    role: String,
}

#[derive(Debug, Default)]
pub struct Expected {
    findings: Vec<(Kind, Value)>,
    /// Assignments by their scope, lower-cased.
    grants: HashMap<String, Vec<Grant>>,
    access: Vec<Value>,
}

impl Expected {
    /// A finding of `kind` on `cluster`; `fields` adds where exactly (binding, source, role,
    /// the service item).
    pub fn finding(&mut self, kind: Kind, cluster: &ClusterSeed, fields: Value) {
        let mut entry = Map::new();
        entry.insert("kind".into(), json!(kind.name()));
        entry.insert("level".into(), json!(kind.level()));
        entry.insert("cluster".into(), json!(cluster_id(cluster)));
        // An audit cannot read this cluster's bindings: it cannot see the finding either.
        entry.insert("clusterReadable".into(), json!(cluster.readable));
        if let Value::Object(more) = fields {
            entry.extend(more);
        }
        self.findings.push((kind, Value::Object(entry)));
    }

    pub fn assignment(&mut self, a: &RoleAssignmentSeed, role: &str) {
        self.grants
            .entry(a.scope.to_ascii_lowercase())
            .or_default()
            .push(Grant {
                principal: json!({
                    "principalId": a.principal_id,
                    "principalType": a.principal_type,
                    "role": role,
                    "roleDefinitionId": a.role_definition_id,
                    "scope": a.scope,
                }),
                role: role.to_string(),
            });
    }

    /// Who can act through each binding's source: the assignments the generator made at the
    /// source, its resource group, its subscription or a management group the world lists the
    /// subscription under, whose role drives that kind of source.
    pub fn record_access(&mut self, seed: &Seed) {
        for cluster in &seed.clusters {
            for b in &cluster.bindings {
                let mut scopes = scopes_above(&b.source_resource_id);
                scopes.extend(groups_above(seed, &b.source_resource_id));
                let principals: Vec<Value> = scopes
                    .iter()
                    .filter_map(|s| self.grants.get(s))
                    .flatten()
                    .filter(|g| role_drives(&g.role, &b.source_resource_id))
                    .map(|g| g.principal.clone())
                    .collect();
                if !principals.is_empty() {
                    self.access.push(json!({
                        "cluster": cluster_id(cluster),
                        "clusterReadable": cluster.readable,
                        "binding": b.name,
                        "source": b.source_resource_id,
                        "principals": principals,
                    }));
                }
            }
        }
    }

    pub fn to_json(&self, shape: (usize, usize, usize), percent: u32) -> Value {
        let mut counts = BTreeMap::new();
        for (kind, _) in &self.findings {
            *counts.entry(kind.name()).or_insert(0_usize) += 1;
        }
        let kinds: Map<String, Value> = KINDS
            .iter()
            .map(|k| {
                (
                    k.name().to_string(),
                    json!({"level": k.level(), "means": k.meaning(), "count": counts.get(k.name()).copied().unwrap_or(0)}),
                )
            })
            .collect();
        json!({
            "fleet": format!("{}x{}x{}", shape.0, shape.1, shape.2),
            "servicesPercent": percent,
            "kinds": kinds,
            "findings": self.findings.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
            "access": self.access,
        })
    }
}

/// The source, its resource group and its subscription (lower-cased), where an assignment
/// reaches it.
fn scopes_above(source: &str) -> Vec<String> {
    let lower = source.trim_end_matches('/').to_ascii_lowercase();
    let mut out = vec![lower.clone()];
    if let Some(at) = lower.find("/providers/") {
        let head = &lower[..at];
        if head.contains("/resourcegroups/") {
            out.push(head.to_string());
        }
        let sub: Vec<&str> = lower.trim_start_matches('/').splitn(3, '/').collect();
        if sub.len() >= 2 {
            out.push(format!("/{}/{}", sub[0], sub[1]));
        }
    }
    out
}

/// The management groups (lower-cased ids) whose subscription lists hold the source's.
fn groups_above(seed: &Seed, source: &str) -> Vec<String> {
    let sub = crate::emulator::services::subscription_of(source);
    seed.management_groups
        .iter()
        .filter(|g| g.subscriptions.iter().any(|s| s.eq_ignore_ascii_case(sub)))
        .map(|g| {
            format!(
                "/providers/microsoft.management/managementgroups/{}",
                g.name
            )
            .to_ascii_lowercase()
        })
        .collect()
}

/// Whether a role lets its holder drive a source of this kind (the generator's rule): Owner
/// and Contributor drive anything; Backup Contributor and Operator a vault; the Azure ML roles
/// and the custom ML Compute Attacher a workspace; Reader nothing.
fn role_drives(role: &str, source: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    match role {
        "Owner" | "Contributor" => true,
        "Backup Contributor" | "Backup Operator" => {
            lower.contains("/microsoft.dataprotection/backupvaults/")
        }
        "AzureML Data Scientist" | "AzureML Compute Operator" | "ML Compute Attacher" => {
            lower.contains("/microsoft.machinelearningservices/workspaces/")
        }
        _ => false,
    }
}

pub fn cluster_id(c: &ClusterSeed) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerService/managedClusters/{}",
        c.subscription_id, c.resource_group, c.name
    )
}
