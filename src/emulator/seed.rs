//! What the emulator's world starts from: the state file format, the small default world, and
//! generated fleets for audits and benchmarks.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;

pub use crate::emulator::services::ServicesSeed;
pub use crate::emulator::stable_id::stable_uuid;

pub const DEFAULT_SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";
pub const DEFAULT_TENANT: &str = "11111111-1111-1111-1111-111111111111";
/// The published Trusted Access role catalog (see `../shared/conformance/role-catalog.json` upstream).
pub const CATALOG_JSON: &str = include_str!("role-catalog.json");

/// The state file format (also what `GET /_emulator/state` returns).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seed {
    pub subscriptions: Vec<SubscriptionSeed>,
    #[serde(default)]
    pub resource_groups: Vec<ResourceGroupSeed>,
    #[serde(default)]
    pub clusters: Vec<ClusterSeed>,
    /// The role catalog for every location; default: the published catalog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Value>>,
    /// Per-location catalogs that replace `roles` there (a region that lacks some roles).
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub roles_by_location: HashMap<String, Vec<Value>>,
    /// Other ARM resources (the sources of bindings). A binding whose source is not here is
    /// dangling: a GET of its id answers 404.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceSeed>,
    /// Management groups (Resource Graph scopes): a name and the subscriptions under it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub management_groups: Vec<ManagementGroupSeed>,
    /// The services that use clusters (extensions, backup instances, ML computes, Defender
    /// plans, role assignments and definitions on their sources).
    #[serde(default, skip_serializing_if = "ServicesSeed::is_empty")]
    pub services: ServicesSeed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagementGroupSeed {
    pub name: String,
    pub subscriptions: Vec<String>,
}

/// Any ARM resource, read with a generic `GET {id}?api-version=…`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSeed {
    pub id: String,
    #[serde(default = "default_location")]
    pub location: String,
    /// `None`: the resource has no managed identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentitySeed>,
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub tags: HashMap<String, String>,
    /// `false`: reading it answers 403 (the caller has no read access there).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub readable: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentitySeed {
    /// SystemAssigned, UserAssigned, "SystemAssigned, UserAssigned" or None.
    #[serde(rename = "type")]
    pub identity_type: String,
    /// Generated from the resource id when absent (system-assigned identities only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionSeed {
    pub subscription_id: String,
    pub display_name: String,
    #[serde(default = "enabled")]
    pub state: String,
    #[serde(default = "default_tenant")]
    pub tenant_id: String,
    /// `false`: every request in this subscription answers 403 (an identity without access).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub readable: bool,
    /// What the caller may do here (its permissions API; Resource Graph and resource GETs
    /// follow it); absent: everything, `[{"actions": ["*"]}]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<PermissionSeed>>,
}

/// One entry of a subscription's `permissions` (a state file's, or `PUT /_emulator/permissions`);
/// `emulator::permissions` reads them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PermissionSeed {
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default)]
    pub not_actions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroupSeed {
    pub subscription_id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSeed {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    /// SystemAssigned, UserAssigned, None, or absent (a service-principal cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_type: Option<String>,
    #[serde(default)]
    pub bindings: Vec<BindingSeed>,
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub tags: HashMap<String, String>,
    /// `false`: reading this cluster's bindings answers 403.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub readable: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BindingSeed {
    pub name: String,
    pub source_resource_id: String,
    pub roles: Vec<String>,
    #[serde(default = "succeeded")]
    pub provisioning_state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_data: Option<Value>,
}

fn enabled() -> String {
    "Enabled".into()
}
fn succeeded() -> String {
    "Succeeded".into()
}
fn default_tenant() -> String {
    DEFAULT_TENANT.into()
}
fn default_location() -> String {
    "westeurope".into()
}
fn yes() -> bool {
    true
}
fn is_true(b: &bool) -> bool {
    *b
}

/// Locations every emulated subscription offers: (name, displayName, regionalDisplayName).
pub const LOCATIONS: &[(&str, &str, &str)] = &[
    ("eastus", "East US", "(US) East US"),
    ("eastus2", "East US 2", "(US) East US 2"),
    ("westus2", "West US 2", "(US) West US 2"),
    ("westus3", "West US 3", "(US) West US 3"),
    ("centralus", "Central US", "(US) Central US"),
    ("northeurope", "North Europe", "(Europe) North Europe"),
    ("westeurope", "West Europe", "(Europe) West Europe"),
    ("uksouth", "UK South", "(Europe) UK South"),
    ("swedencentral", "Sweden Central", "(Europe) Sweden Central"),
    ("japaneast", "Japan East", "(Asia Pacific) Japan East"),
    (
        "australiaeast",
        "Australia East",
        "(Asia Pacific) Australia East",
    ),
];

impl Seed {
    /// One subscription, one resource group, two clusters, one binding: enough to try every command.
    pub fn default_world() -> Self {
        let sub = DEFAULT_SUBSCRIPTION.to_string();
        Seed {
            subscriptions: vec![SubscriptionSeed {
                subscription_id: sub.clone(),
                display_name: "Emulated Subscription".into(),
                state: enabled(),
                tenant_id: default_tenant(),
                readable: true,
                permissions: None,
            }],
            resource_groups: vec![ResourceGroupSeed {
                subscription_id: sub.clone(),
                name: "rg1".into(),
            }],
            clusters: vec![
                ClusterSeed {
                    subscription_id: sub.clone(),
                    resource_group: "rg1".into(),
                    name: "cluster1".into(),
                    location: "westeurope".into(),
                    identity_type: Some("SystemAssigned".into()),
                    bindings: vec![BindingSeed {
                        name: "ml-binding".into(),
                        source_resource_id: format!(
                            "/subscriptions/{sub}/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ml-workspace"
                        ),
                        roles: vec![
                            "Microsoft.MachineLearningServices/workspaces/mlworkload".into(),
                        ],
                        provisioning_state: succeeded(),
                        system_data: Some(json!({
                            "createdBy": "operator@contoso.com",
                            "createdByType": "User",
                            "createdAt": "2026-11-02T09:15:04.217Z",
                            "lastModifiedBy": "operator@contoso.com",
                            "lastModifiedByType": "User",
                            "lastModifiedAt": "2026-11-02T09:15:04.217Z"
                        })),
                    }],
                    tags: HashMap::new(),
                    readable: true,
                },
                ClusterSeed {
                    subscription_id: sub,
                    resource_group: "rg1".into(),
                    name: "cluster2".into(),
                    location: "westeurope".into(),
                    identity_type: Some("SystemAssigned".into()),
                    bindings: vec![],
                    tags: HashMap::new(),
                    readable: true,
                },
            ],
            roles: None,
            roles_by_location: HashMap::new(),
            resources: vec![ResourceSeed {
                id: format!(
                    "/subscriptions/{DEFAULT_SUBSCRIPTION}/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ml-workspace"
                ),
                location: default_location(),
                identity: Some(IdentitySeed {
                    identity_type: "SystemAssigned".into(),
                    principal_id: None,
                    tenant_id: None,
                }),
                tags: HashMap::new(),
                readable: true,
            }],
            management_groups: vec![],
            services: ServicesSeed::default(),
        }
    }

    /// A generated fleet: `subscriptions` × `clusters` × `bindings`, for audits and benchmarks.
    /// Cluster number n (counting across subscriptions) is unreadable when n % 13 == 12, has no
    /// binding when n % 10 == 9, is user-assigned when n % 7 == 6, and sits in australiaeast,
    /// whose catalog lacks `mlworkload`, when n % 11 == 10. Two more subscriptions are added: a
    /// disabled one and one the identity cannot read. So an audit has every kind of verdict.
    /// Clusters are tagged `env` (prod when n % 3 == 0, else dev) and `team` (team-(s % 4)).
    /// Binding sources follow `fleet_source` (some dangling, identity-less or unreadable).
    /// Management groups: `mg-fleet` (every generated subscription), `mg-fleet-even`.
    pub fn fleet(subscriptions: usize, clusters: usize, bindings: usize) -> Self {
        Self::fleet_with(subscriptions, clusters, bindings, None)
    }

    /// `fleet`, with `broken_percent` of the sources dangling and as many without identity
    /// (see `fleet_broken`) instead of 1 in 17 and 1 in 19.
    pub fn fleet_with(
        subscriptions: usize,
        clusters: usize,
        bindings: usize,
        broken_percent: Option<u32>,
    ) -> Self {
        let mut seed = Seed {
            subscriptions: vec![],
            resource_groups: vec![],
            clusters: vec![],
            roles: None,
            roles_by_location: fleet_roles_by_location(),
            resources: vec![],
            management_groups: fleet_management_groups(subscriptions),
            services: ServicesSeed::default(),
        };
        for s in 0..subscriptions {
            let sub = fleet_subscription_id(s);
            seed.subscriptions.push(SubscriptionSeed {
                subscription_id: sub.clone(),
                display_name: format!("Fleet Subscription {s}"),
                state: enabled(),
                tenant_id: default_tenant(),
                readable: true,
                permissions: None,
            });
            let group = format!("rg-fleet-{s}");
            seed.resource_groups.push(ResourceGroupSeed {
                subscription_id: sub.clone(),
                name: group.clone(),
            });
            for c in 0..clusters {
                let n = s * clusters + c;
                let bindings = if n % 10 == 9 { 0 } else { bindings };
                let sources: Vec<String> = (0..bindings)
                    .map(|b| {
                        format!(
                            "/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.MachineLearningServices/workspaces/ws-{c}-{b}"
                        )
                    })
                    .collect();
                seed.resources
                    .extend(sources.iter().enumerate().filter_map(|(b, source)| {
                        fleet_source_with(source.clone(), n * bindings + b, broken_percent)
                    }));
                let name = format!("aks-{s}-{c}");
                seed.clusters
                    .push(fleet_cluster(&sub, &group, name, s, n, sources));
            }
        }
        for (i, (name, state, readable)) in [
            ("Fleet Disabled", "Disabled", true),
            ("Fleet Unreadable", "Enabled", false),
        ]
        .into_iter()
        .enumerate()
        {
            seed.subscriptions.push(SubscriptionSeed {
                subscription_id: fleet_subscription_id(subscriptions + i),
                display_name: name.into(),
                state: state.into(),
                tenant_id: default_tenant(),
                readable,
                permissions: None,
            });
        }
        seed
    }
}

/// The fleet's catalogs: australiaeast lacks `mlworkload`, so bindings there are stale.
fn fleet_roles_by_location() -> HashMap<String, Vec<Value>> {
    let mut roles_by_location = HashMap::new();
    if let Ok(catalog) = serde_json::from_str::<Vec<Value>>(CATALOG_JSON) {
        let without_mlworkload = catalog
            .into_iter()
            .filter(|r| r["name"] != "mlworkload")
            .collect();
        roles_by_location.insert("australiaeast".to_string(), without_mlworkload);
    }
    roles_by_location
}

/// `mg-fleet` holds every generated subscription, `mg-fleet-even` every other one.
fn fleet_management_groups(subscriptions: usize) -> Vec<ManagementGroupSeed> {
    let all: Vec<String> = (0..subscriptions).map(fleet_subscription_id).collect();
    vec![
        ManagementGroupSeed {
            name: "mg-fleet".into(),
            subscriptions: all.clone(),
        },
        ManagementGroupSeed {
            name: "mg-fleet-even".into(),
            subscriptions: all.iter().step_by(2).cloned().collect(),
        },
    ]
}

/// Generated cluster number `n` (of subscription `s`), with a binding per source; its
/// location, identity, tags and readability follow `n` as `Seed::fleet` says.
fn fleet_cluster(
    sub: &str,
    group: &str,
    name: String,
    s: usize,
    n: usize,
    sources: Vec<String>,
) -> ClusterSeed {
    ClusterSeed {
        subscription_id: sub.to_string(),
        resource_group: group.to_string(),
        name,
        location: LOCATIONS[n % LOCATIONS.len()].0.into(),
        identity_type: Some(
            if n % 7 == 6 {
                "UserAssigned"
            } else {
                "SystemAssigned"
            }
            .into(),
        ),
        bindings: sources
            .into_iter()
            .enumerate()
            .map(|(b, source_resource_id)| BindingSeed {
                name: format!("binding-{b}"),
                source_resource_id,
                roles: vec!["Microsoft.MachineLearningServices/workspaces/mlworkload".into()],
                provisioning_state: succeeded(),
                system_data: None,
            })
            .collect(),
        tags: HashMap::from([
            (
                "env".to_string(),
                if n.is_multiple_of(3) { "prod" } else { "dev" }.to_string(),
            ),
            ("team".to_string(), format!("team-{}", s % 4)),
        ]),
        readable: n % 13 != 12,
    }
}

/// The source resource of generated binding number `k` (counting across the fleet): absent
/// (dangling) when k % 17 == 5, without identity when k % 19 == 7, unreadable (403) when
/// k % 23 == 11, else with a system-assigned identity.
pub fn fleet_source(id: String, k: usize) -> Option<ResourceSeed> {
    fleet_source_with(id, k, None)
}

/// With `broken_percent` P: dangling and identity-less are `fleet_broken(k, P)`.
pub fn fleet_source_with(
    id: String,
    k: usize,
    broken_percent: Option<u32>,
) -> Option<ResourceSeed> {
    let (dangling, no_identity) = match broken_percent {
        Some(p) => fleet_broken(k, p),
        None => (k % 17 == 5, k % 19 == 7),
    };
    if dangling {
        return None;
    }
    Some(ResourceSeed {
        id,
        location: default_location(),
        identity: (!no_identity).then(|| IdentitySeed {
            identity_type: "SystemAssigned".into(),
            principal_id: None,
            tenant_id: None,
        }),
        tags: HashMap::new(),
        readable: k % 23 != 11,
    })
}

/// Source k's (dangling, without identity) for `--fleet-broken-percent P`: a Fibonacci hash of
/// k taken modulo 100 is below P (dangling) or at least 100 - P (no identity); P ≤ 50.
pub fn fleet_broken(k: usize, percent: u32) -> (bool, bool) {
    let bucket = ((k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % 100;
    let p = u64::from(percent);
    (bucket < p, bucket >= 100 - p)
}

/// The id of generated subscription number `s`.
pub fn fleet_subscription_id(s: usize) -> String {
    format!("{s:08x}-0000-4000-8000-{:012x}", s + 1)
}
