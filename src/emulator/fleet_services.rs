//! Services in generated fleets (`--fleet-services PERCENT`): backup extensions and instances,
//! Azure ML computes, Defender plans, the bindings they need (present, missing or left over)
//! and role assignments on their sources, decided per cluster by arithmetic on its number, so
//! the same shape and percentage always give the same world. The findings this world must
//! produce are recorded by `expectations` from the same decisions (see that module).

use crate::emulator::expectations::{Expected, Kind, cluster_id};
use crate::emulator::fleet_access::{
    ATTACHER_ROLE, GROUP_ASSIGNMENTS, assignment, attacher_role, management_group_scope,
    source_assignments,
};
use crate::emulator::seed::{BindingSeed, IdentitySeed, ResourceSeed, Seed, fleet_subscription_id};
use crate::emulator::services::{
    BackupInstanceSeed, ComputeSeed, DefenderPlanSeed, ExtensionSeed, PlanExtension,
};
use crate::emulator::stable_id::stable_uuid;
use serde_json::{Value, json};
use std::collections::BTreeSet;

pub const BACKUP_ROLE: &str = "Microsoft.DataProtection/backupVaults/backup-operator";
pub const ML_ROLE: &str = "Microsoft.MachineLearningServices/workspaces/mlworkload";
pub const DEFENDER_ROLE: &str = "Microsoft.Security/pricings/microsoft-defender-operator";
/// At most this many bindings per cluster (the service's limit), old and new together.
const BINDING_LIMIT: usize = 8;

/// A fleet (`Seed::fleet_with`) with services on `percent` of the clusters that no old rule
/// already fails (readable, with bindings, outside australiaeast), and the expectations.
/// Each service cluster i (counting service clusters) has a backup case `i % 5` (0 none,
/// 1 protected and bound, 2 protected without the vault's binding, 3 the vault's binding without
/// an instance, 4 the same as 1 with the vault in the next subscription), an ML case `i % 6`
/// (0 none, 1 compute attached after the binding, 2 compute without binding, 3 compute attached
/// a year before the binding, 4 binding without compute, 5 the same as 1 with the workspace in
/// the next subscription), and the Defender binding unless `i % 4 == 3`. Subscription s has a
/// Containers plan: Standard with agentless discovery on when s % 4 == 1 (where every cluster
/// needs the Defender binding; only service clusters have it), Standard with it off when
/// s % 4 == 2, Free when s % 4 == 3, none when s % 4 == 0.
pub fn fleet_with_services(
    subscriptions: usize,
    clusters: usize,
    bindings: usize,
    broken_percent: Option<u32>,
    percent: u32,
) -> Result<(Seed, Value), String> {
    if bindings + 3 > BINDING_LIMIT {
        return Err(format!(
            "--fleet-services adds up to 3 bindings per cluster: at most {} bindings per cluster, not {bindings}",
            BINDING_LIMIT - 3
        ));
    }
    let mut seed = Seed::fleet_with(subscriptions, clusters, bindings, broken_percent);
    let mut world = Generator {
        seed: &mut seed,
        subscriptions,
        sources: BTreeSet::new(),
        ml_extensions: Default::default(),
        expected: Expected::default(),
    };
    world.plain_bindings_get_their_computes();
    world.plans();
    let mut i = 0;
    for n in 0..subscriptions * clusters {
        let service = is_service_cluster(n, percent);
        if service {
            world.service_cluster(n, n / clusters.max(1), i);
        }
        world.defender(n, n / clusters.max(1), service.then_some(i));
        i += usize::from(service);
    }
    world.management_group_access();
    world.custom_role();
    let Generator { mut expected, .. } = world;
    expected.record_access(&seed);
    let shape = (subscriptions, clusters, bindings);
    Ok((seed, expected.to_json(shape, percent)))
}

/// Cluster n carries services: one the old rules do not already fail, picked by a hash of n.
fn is_service_cluster(n: usize, percent: u32) -> bool {
    let eligible = n % 13 != 12 && n % 10 != 9 && n % 11 != 10;
    let bucket = ((n as u64 + 1).wrapping_mul(0xD6E8_FEB8_6659_FD93) >> 32) % 100;
    eligible && bucket < u64::from(percent)
}

/// When cluster i's binding was made, and (`after`) a compute attached half an hour later, or
/// (`!after`) a year earlier: ISO 8601 strings that sort as the times do.
fn binding_time(i: usize) -> String {
    format!(
        "2026-{:02}-{:02}T{:02}:00:00.0000000Z",
        1 + (i / 28) % 12,
        1 + i % 28,
        i % 24
    )
}

fn compute_time(i: usize, after: bool) -> String {
    let t = binding_time(i);
    if after {
        t.replacen(":00:00.", ":30:00.", 1)
    } else {
        t.replacen("2026-", "2025-", 1)
    }
}

struct Generator<'a> {
    seed: &'a mut Seed,
    subscriptions: usize,
    /// Source ids made so far (lower-cased), so each is made once with its role assignments.
    sources: BTreeSet<String>,
    /// Clusters (lower-cased ids) given the Azure ML extension, so none gets it twice.
    ml_extensions: std::collections::HashSet<String>,
    expected: Expected,
}

impl Generator<'_> {
    /// The plain fleet's bindings are all mlworkload bindings from workspaces: each workspace
    /// that exists gets its compute on the cluster (attached 2025-12-01, after the binding: a
    /// plain binding without systemData is given ARM's, made by a user on 2025-11-01, as ARM
    /// returns for every binding, so the compute's age can be judged and none is promised),
    /// and each binding whose workspace is gone (dangling) is a workspace binding without its
    /// compute.
    fn plain_bindings_get_their_computes(&mut self) {
        let existing: std::collections::HashSet<String> = self
            .seed
            .resources
            .iter()
            .map(|r| r.id.to_ascii_lowercase())
            .collect();
        for cluster in &mut self.seed.clusters {
            for b in cluster
                .bindings
                .iter_mut()
                .filter(|b| b.system_data.is_none())
            {
                b.system_data = Some(json!({
                    "createdBy": "platform@contoso.com",
                    "createdByType": "User",
                    "createdAt": "2025-11-01T00:00:00.0000000Z",
                    "lastModifiedBy": "platform@contoso.com",
                    "lastModifiedByType": "User",
                    "lastModifiedAt": "2025-11-01T00:00:00.0000000Z",
                }));
            }
        }
        for cluster in &self.seed.clusters {
            let id = cluster_id(cluster);
            // A Kubernetes compute runs through the Azure ML extension: one per cluster.
            if cluster
                .bindings
                .iter()
                .any(|b| existing.contains(&b.source_resource_id.to_ascii_lowercase()))
            {
                self.ml_extensions.insert(id.to_ascii_lowercase());
                self.seed.services.extensions.push(ExtensionSeed {
                    cluster_id: id.clone(),
                    name: "azureml".into(),
                    extension_type: "microsoft.azureml.kubernetes".into(),
                    provisioning_state: "Succeeded".into(),
                });
            }
            for b in &cluster.bindings {
                if existing.contains(&b.source_resource_id.to_ascii_lowercase()) {
                    self.seed.services.computes.push(ComputeSeed {
                        workspace_id: b.source_resource_id.clone(),
                        name: cluster.name.clone(),
                        compute_type: "Kubernetes".into(),
                        resource_id: id.clone(),
                        created_on: "2025-12-01T00:00:00.0000000Z".into(),
                        location: "westeurope".into(),
                    });
                    continue;
                }
                let fields =
                    json!({"binding": b.name, "source": b.source_resource_id, "role": ML_ROLE});
                self.expected
                    .finding(Kind::WorkspaceBindingWithoutCompute, cluster, fields);
            }
        }
    }

    fn plans(&mut self) {
        for s in 0..self.subscriptions {
            let sub = fleet_subscription_id(s);
            let (tier, agentless) = match s % 4 {
                1 => ("Standard", true),
                2 => ("Standard", false),
                3 => ("Free", false),
                _ => continue,
            };
            let flag = |on: bool| if on { "True" } else { "False" }.to_string();
            self.seed.services.defender_plans.push(DefenderPlanSeed {
                subscription_id: sub.clone(),
                name: "Containers".into(),
                pricing_tier: tier.into(),
                extensions: if tier == "Free" {
                    vec![]
                } else {
                    vec![
                        PlanExtension {
                            name: "AgentlessDiscoveryForKubernetes".into(),
                            is_enabled: flag(agentless),
                        },
                        PlanExtension {
                            name: "ContainerSensor".into(),
                            is_enabled: flag(true),
                        },
                    ]
                },
            });
            if agentless {
                self.source(&defender_source(&sub), &[]);
                // A platform team that owns the whole subscription: it can act through every
                // source there, the old fleet's workspaces included.
                self.assign(&format!("/subscriptions/{sub}"), "Owner", "Group", s);
            }
        }
    }

    /// A source resource (system-assigned identity), made once, with its role assignments.
    fn source(&mut self, id: &str, roles: &[(&str, &str)]) {
        if !self.sources.insert(id.to_ascii_lowercase()) {
            return;
        }
        self.seed.resources.push(ResourceSeed {
            id: id.to_string(),
            location: "westeurope".into(),
            identity: Some(IdentitySeed {
                identity_type: "SystemAssigned".into(),
                principal_id: None,
                tenant_id: None,
            }),
            tags: Default::default(),
            readable: true,
        });
        let j = self.sources.len();
        for (scope, role, kind) in source_assignments(id, j, roles) {
            self.assign(&scope, role, kind, j);
        }
    }

    /// A role assignment at `scope` to a principal made from the role, the scope and `j`.
    fn assign(&mut self, scope: &str, role: &str, principal_type: &str, j: usize) {
        let assignment = assignment(scope, role, principal_type, j);
        self.expected.assignment(&assignment, role);
        self.seed.services.role_assignments.push(assignment);
    }

    /// With any role assignment made, those at the fleet's management groups
    /// (`GROUP_ASSIGNMENTS`), so `--access` must follow subscriptions up to their groups.
    fn management_group_access(&mut self) {
        if self.seed.services.role_assignments.is_empty() {
            return;
        }
        for (j, (group, role, kind)) in GROUP_ASSIGNMENTS.iter().enumerate() {
            if self.seed.management_groups.iter().any(|g| g.name == *group) {
                self.assign(&management_group_scope(group), role, kind, j);
            }
        }
    }

    fn custom_role(&mut self) {
        if self.seed.services.role_assignments.is_empty() {
            return;
        }
        let role = attacher_role(self.subscriptions);
        self.seed.services.role_definitions.push(role);
    }

    /// Cluster n (of subscription s), service cluster number i: its backup, ML and Defender cases.
    fn service_cluster(&mut self, n: usize, s: usize, i: usize) {
        let other = if self.subscriptions > 1 {
            (s + 1) % self.subscriptions
        } else {
            s
        };
        self.backup(n, if i % 5 == 4 { other } else { s }, i);
        self.ml(n, s, if i % 6 == 5 { other } else { s }, i);
    }

    /// In a subscription whose plan needs the Defender binding (s % 4 == 1): service cluster i
    /// has it unless i % 4 == 3; other clusters never have it.
    fn defender(&mut self, n: usize, s: usize, service: Option<usize>) {
        if s % 4 != 1 {
            return;
        }
        let sub = fleet_subscription_id(s);
        let source = defender_source(&sub);
        match service {
            Some(i) if i % 4 != 3 => {
                self.bind(
                    n,
                    "defender-containers",
                    &source,
                    DEFENDER_ROLE,
                    i,
                    "Application",
                );
            }
            _ => {
                let plan = format!(
                    "/subscriptions/{sub}/providers/Microsoft.Security/pricings/Containers"
                );
                let fields = json!({"plan": plan, "source": source, "role": DEFENDER_ROLE});
                let cluster = &self.seed.clusters[n];
                self.expected
                    .finding(Kind::DefenderPlanWithoutBinding, cluster, fields);
            }
        }
    }

    /// A note when a binding's source is in another subscription than its cluster's.
    fn note_other_subscription(&mut self, n: usize, binding: &str, source: &str) {
        let cluster = &self.seed.clusters[n];
        let source_sub = crate::emulator::services::subscription_of(source);
        if !source_sub.eq_ignore_ascii_case(&cluster.subscription_id) {
            let fields =
                json!({"binding": binding, "source": source, "sourceSubscription": source_sub});
            self.expected
                .finding(Kind::SourceInAnotherSubscription, cluster, fields);
        }
    }

    /// Cluster n's backup case (`i % 5`, see `fleet_with_services`): extension, instance,
    /// binding, and the finding each case promises.
    fn backup(&mut self, n: usize, vault_sub: usize, i: usize) {
        let case = i % 5;
        if case == 0 {
            return;
        }
        let cluster = self.seed.clusters[n].clone();
        let cluster_id = cluster_id(&cluster);
        let ss = fleet_subscription_id(vault_sub);
        let vault = format!(
            "/subscriptions/{ss}/resourceGroups/rg-services-{vault_sub}/providers/Microsoft.DataProtection/backupVaults/bv-{vault_sub}-{}",
            i % 2
        );
        self.source(
            &vault,
            &[
                ("Backup Contributor", "User"),
                ("Backup Operator", "ServicePrincipal"),
            ],
        );
        if case != 3 {
            self.seed.services.extensions.push(ExtensionSeed {
                cluster_id: cluster_id.clone(),
                name: "azure-aks-backup".into(),
                extension_type: "microsoft.dataprotection.kubernetes".into(),
                provisioning_state: "Succeeded".into(),
            });
            let instance = BackupInstanceSeed {
                vault_id: vault.clone(),
                name: format!("{}-{}", cluster.name, &stable_uuid(&cluster_id)[..8]),
                data_source_id: cluster_id.clone(),
                data_source_type: "Microsoft.ContainerService/managedClusters".into(),
                protection_status: "ProtectionConfigured".into(),
            };
            if case == 2 {
                let fields =
                    json!({"source": vault, "role": BACKUP_ROLE, "backupInstance": instance.id()});
                self.expected
                    .finding(Kind::BackupInstanceWithoutVaultBinding, &cluster, fields);
            }
            self.seed.services.backup_instances.push(instance);
        }
        if case != 2 {
            let name = format!(
                "backup-{}",
                &stable_uuid(&format!("{cluster_id}|{vault}"))[..8]
            );
            self.bind(n, &name, &vault, BACKUP_ROLE, i, "User");
            self.note_other_subscription(n, &name, &vault);
            if case == 3 {
                let fields = json!({"binding": name, "source": vault, "role": BACKUP_ROLE});
                self.expected
                    .finding(Kind::VaultBindingWithoutBackupInstance, &cluster, fields);
            }
        }
    }

    /// Cluster n's ML case (`i % 6`, see `fleet_with_services`): the extension and compute,
    /// the binding, and the finding each case promises. One function, a little over 60 lines,
    /// so each case reads beside what it promises.
    fn ml(&mut self, n: usize, s: usize, ws_sub: usize, i: usize) {
        let case = i % 6;
        if case == 0 {
            return;
        }
        let cluster = self.seed.clusters[n].clone();
        let cluster_id = cluster_id(&cluster);
        let ss = fleet_subscription_id(ws_sub);
        let workspace = format!(
            "/subscriptions/{ss}/resourceGroups/rg-services-{ws_sub}/providers/Microsoft.MachineLearningServices/workspaces/mlw-{ws_sub}-{}",
            i % 3
        );
        self.source(
            &workspace,
            &[
                ("AzureML Data Scientist", "User"),
                (ATTACHER_ROLE, "ServicePrincipal"),
            ],
        );
        let mut compute_id = String::new();
        if case != 4 {
            if self.ml_extensions.insert(cluster_id.to_ascii_lowercase()) {
                self.seed.services.extensions.push(ExtensionSeed {
                    cluster_id: cluster_id.clone(),
                    name: "azureml".into(),
                    extension_type: "microsoft.azureml.kubernetes".into(),
                    provisioning_state: "Succeeded".into(),
                });
            }
            let compute = ComputeSeed {
                workspace_id: workspace.clone(),
                name: format!("aks-{s}-{}", n % 1000),
                compute_type: "Kubernetes".into(),
                resource_id: cluster_id.clone(),
                created_on: compute_time(i, case != 3),
                location: "westeurope".into(),
            };
            let fields = json!({"source": workspace, "role": ML_ROLE, "compute": compute.id()});
            if case == 2 {
                self.expected
                    .finding(Kind::MlComputeWithoutWorkspaceBinding, &cluster, fields);
            }
            compute_id = compute.id();
            self.seed.services.computes.push(compute);
        }
        if case != 2 {
            let name = format!(
                "aml-{}",
                &stable_uuid(&format!("{cluster_id}|{workspace}"))[..8]
            );
            self.bind(n, &name, &workspace, ML_ROLE, i, "User");
            self.note_other_subscription(n, &name, &workspace);
            let mut fields = json!({"binding": name, "source": workspace, "role": ML_ROLE});
            let kind = match case {
                3 => {
                    fields["compute"] = json!(compute_id);
                    fields["computeCreatedOn"] = json!(compute_time(i, false));
                    fields["bindingCreatedAt"] = json!(binding_time(i));
                    Kind::ComputeOlderThanBinding
                }
                4 => Kind::WorkspaceBindingWithoutCompute,
                _ => return,
            };
            self.expected.finding(kind, &cluster, fields);
        }
    }

    /// A binding on cluster n, made at `binding_time(i)` by a user or an application.
    fn bind(&mut self, n: usize, name: &str, source: &str, role: &str, i: usize, by: &str) {
        if source.contains("/Microsoft.Security/") {
            self.source(source, &[]);
        }
        let created_by = if by == "User" {
            "platform@contoso.com"
        } else {
            "Microsoft Defender for Cloud"
        };
        self.seed.clusters[n].bindings.push(BindingSeed {
            name: name.to_string(),
            source_resource_id: source.to_string(),
            roles: vec![role.to_string()],
            provisioning_state: "Succeeded".into(),
            system_data: Some(serde_json::json!({
                "createdBy": created_by,
                "createdByType": by,
                "createdAt": binding_time(i),
                "lastModifiedBy": created_by,
                "lastModifiedByType": by,
                "lastModifiedAt": binding_time(i),
            })),
        });
    }
}

/// Defender for Containers' source in subscription `sub`: the plan's security operator.
pub fn defender_source(sub: &str) -> String {
    format!(
        "/subscriptions/{sub}/providers/Microsoft.Security/pricings/Containers/securityOperators/DefenderForContainersSecurityOperator"
    )
}
