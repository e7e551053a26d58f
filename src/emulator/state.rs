//! The emulator's world as it runs: subscriptions, resource groups, clusters, their role
//! bindings, the role catalogs and running operations (seeded from `seed`).

use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use crate::emulator::seed::stable_uuid;

use crate::emulator::seed::CATALOG_JSON;

/// Resource Graph's current quota window: when it started and how many queries it has seen
/// (charged by `graph.rs`; kept here so the world does not depend on the handlers).
#[derive(Debug, Default)]
pub struct GraphQuota {
    pub(crate) window: Option<(Instant, u32)>,
    /// Recent queries' rows, by fingerprint, newest last (at most `KEPT_RESULTS`): the pages
    /// after the first (`$skipToken`) are cut from them rather than evaluated again, as
    /// Resource Graph pages one stored result. Several are kept because a client pages one
    /// query while it sends others (an audit's discovery beside its source checks): with only
    /// the last kept, each discovery page of a 10,000-cluster fleet was evaluated again, and
    /// every request waited on it for about a second.
    pub(crate) results: std::collections::VecDeque<(String, GraphRows)>,
}

/// A Resource Graph query's evaluated rows, shared by the pages cut from them.
pub type GraphRows = std::sync::Arc<Vec<serde_json::Map<String, Value>>>;
pub use crate::emulator::seed::{
    BindingSeed, ClusterSeed, DEFAULT_SUBSCRIPTION, DEFAULT_TENANT, IdentitySeed, LOCATIONS,
    ManagementGroupSeed, ResourceGroupSeed, ResourceSeed, Seed, ServicesSeed, SubscriptionSeed,
};
const BINDING_TYPE: &str = "Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings";

/// A binding as stored.
#[derive(Debug, Clone)]
pub struct Binding {
    pub name: String,
    /// Which life of this name: a binding deleted and created again is another incarnation, so a
    /// late operation of the old one cannot touch the new one.
    pub incarnation: String,
    pub source_resource_id: String,
    pub roles: Vec<String>,
    pub provisioning_state: String,
    pub system_data: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct Cluster {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub identity_type: Option<String>,
    pub bindings: Vec<Binding>,
    pub tags: HashMap<String, String>,
    pub readable: bool,
}

impl Cluster {
    pub fn id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerService/managedClusters/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }

    pub fn binding_json(&self, binding: &Binding) -> Value {
        let mut value = json!({
            "id": format!("{}/trustedAccessRoleBindings/{}", self.id(), binding.name),
            "name": binding.name,
            "type": BINDING_TYPE,
            "properties": {
                "provisioningState": binding.provisioning_state,
                "sourceResourceId": binding.source_resource_id,
                "roles": binding.roles,
            }
        });
        if let Some(system_data) = &binding.system_data {
            value["systemData"] = system_data.clone();
        }
        value
    }

    pub fn to_json(&self) -> Value {
        let mut value = json!({
            "id": self.id(),
            "name": self.name,
            "type": "Microsoft.ContainerService/managedClusters",
            "location": self.location,
            "tags": self.tags,
            "properties": {
                "provisioningState": "Succeeded",
                "kubernetesVersion": "1.33.2",
                "dnsPrefix": format!("{}-dns", self.name),
                "enableRBAC": true,
            }
        });
        if let Some(kind) = &self.identity_type {
            value["identity"] = json!({ "type": kind });
        } else {
            value["properties"]["servicePrincipalProfile"] = json!({ "clientId": "msi" });
        }
        value
    }

    pub fn find_binding(&self, name: &str) -> Option<usize> {
        self.bindings
            .iter()
            .position(|b| b.name.eq_ignore_ascii_case(name))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    Put,
    Delete,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    pub kind: OperationKind,
    /// Index of the cluster in `World::clusters`, and the binding's name.
    pub cluster: usize,
    pub binding: String,
    /// The incarnation of the binding the operation works on.
    pub incarnation: String,
    pub polls_left: u32,
    pub started: Instant,
    pub start_time: String,
    pub end_time: Option<String>,
    /// The status it ends with.
    pub outcome: OperationOutcome,
    /// Who asked for it (the activity log's `caller`, `claims`, client address), its
    /// correlation id, and the status its PUT answered (201 created, 200 updated; 202 delete).
    pub caller: serde_json::Value,
    pub correlation_id: String,
    pub http_status: u16,
}

/// How an operation ends (`--operation-outcome`), spelled in its status as ARM spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OperationOutcome {
    #[default]
    Succeeded,
    Failed,
    Canceled,
}

impl OperationOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            OperationOutcome::Succeeded => "Succeeded",
            OperationOutcome::Failed => "Failed",
            OperationOutcome::Canceled => "Canceled",
        }
    }
}

pub struct World {
    pub subscriptions: Vec<SubscriptionSeed>,
    pub resource_groups: Vec<ResourceGroupSeed>,
    pub clusters: Vec<Cluster>,
    pub catalog: Vec<Value>,
    pub catalogs_by_location: HashMap<String, Vec<Value>>,
    pub operations: HashMap<String, Operation>,
    /// Ids of the operations still running, so the per-request sweep does not walk finished ones.
    pub running: Vec<String>,
    /// Other resources (binding sources), by lower-cased id.
    pub resources: BTreeMap<String, Resource>,
    pub management_groups: Vec<ManagementGroupSeed>,
    /// Resource Graph's per-user quota window.
    pub graph_quota: GraphQuota,
    /// The services that use clusters (served by Resource Graph; `/_emulator/services`).
    pub services: ServicesSeed,
    /// What a generated fleet's services must make an audit find (`/_emulator/expectations`):
    /// the generator's own account, set by whoever generated the world.
    pub expectations: Option<Value>,
}

/// A seeded cluster as the world keeps it: its location lower-cased, each binding given an
/// incarnation (so an operation on a deleted and re-created binding does not touch the new one).
fn cluster_of_seed(c: ClusterSeed) -> Cluster {
    Cluster {
        subscription_id: c.subscription_id,
        resource_group: c.resource_group,
        name: c.name,
        location: c.location.to_ascii_lowercase(),
        identity_type: c.identity_type,
        tags: c.tags,
        readable: c.readable,
        bindings: c
            .bindings
            .into_iter()
            .map(|b| Binding {
                name: b.name,
                incarnation: uuid::Uuid::new_v4().to_string(),
                source_resource_id: b.source_resource_id,
                roles: b.roles,
                provisioning_state: b.provisioning_state,
                system_data: b.system_data,
            })
            .collect(),
    }
}

impl World {
    pub fn from_seed(seed: Seed) -> Result<Self, String> {
        let catalog = match seed.roles {
            Some(roles) => roles,
            None => serde_json::from_str(CATALOG_JSON)
                .map_err(|e| format!("bundled role catalog: {e}"))?,
        };
        let mut resource_groups = seed.resource_groups;
        for c in &seed.clusters {
            if !seed
                .subscriptions
                .iter()
                .any(|s| s.subscription_id.eq_ignore_ascii_case(&c.subscription_id))
            {
                return Err(format!(
                    "cluster {} names unknown subscription {}",
                    c.name, c.subscription_id
                ));
            }
            if !resource_groups.iter().any(|g| {
                g.subscription_id.eq_ignore_ascii_case(&c.subscription_id)
                    && g.name.eq_ignore_ascii_case(&c.resource_group)
            }) {
                resource_groups.push(ResourceGroupSeed {
                    subscription_id: c.subscription_id.clone(),
                    name: c.resource_group.clone(),
                });
            }
        }
        let clusters = seed.clusters.into_iter().map(cluster_of_seed).collect();
        let mut world = World {
            subscriptions: seed.subscriptions,
            resource_groups,
            clusters,
            catalog,
            catalogs_by_location: seed
                .roles_by_location
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
            operations: HashMap::new(),
            running: Vec::new(),
            resources: BTreeMap::new(),
            management_groups: seed.management_groups,
            graph_quota: Default::default(),
            services: seed.services,
            expectations: None,
        };
        world.services.check()?;
        for r in seed.resources {
            world.insert_resource(r)?;
        }
        Ok(world)
    }

    /// Adds (or replaces) a resource; its resource group comes into being with it.
    pub fn insert_resource(&mut self, seed: ResourceSeed) -> Result<(), String> {
        let sub = seed.id.split('/').nth(2).unwrap_or_default().to_string();
        let tenant = self
            .subscription(&sub)
            .map(|s| s.tenant_id.clone())
            .unwrap_or_else(|| DEFAULT_TENANT.to_string());
        let resource = Resource::from_seed(seed, &tenant)?;
        if let Some(group) = resource.resource_group()
            && !self.has_resource_group(&sub, group)
        {
            self.resource_groups.push(ResourceGroupSeed {
                subscription_id: sub.clone(),
                name: group.to_string(),
            });
        }
        self.resources
            .insert(resource.id.to_ascii_lowercase(), resource);
        Ok(())
    }

    /// A resource by id, compared case-insensitively.
    pub fn resource(&self, id: &str) -> Option<&Resource> {
        self.resources
            .get(&id.trim_end_matches('/').to_ascii_lowercase())
    }

    /// The world as a state file, so a session can be saved and replayed.
    pub fn to_seed(&self) -> Seed {
        Seed {
            subscriptions: self.subscriptions.clone(),
            resource_groups: self.resource_groups.clone(),
            clusters: self
                .clusters
                .iter()
                .map(|c| ClusterSeed {
                    subscription_id: c.subscription_id.clone(),
                    resource_group: c.resource_group.clone(),
                    name: c.name.clone(),
                    location: c.location.clone(),
                    identity_type: c.identity_type.clone(),
                    tags: c.tags.clone(),
                    readable: c.readable,
                    bindings: c
                        .bindings
                        .iter()
                        .map(|b| BindingSeed {
                            name: b.name.clone(),
                            source_resource_id: b.source_resource_id.clone(),
                            roles: b.roles.clone(),
                            provisioning_state: b.provisioning_state.clone(),
                            system_data: b.system_data.clone(),
                        })
                        .collect(),
                })
                .collect(),
            roles: Some(self.catalog.clone()),
            roles_by_location: self.catalogs_by_location.clone(),
            resources: self.resources.values().map(Resource::to_seed).collect(),
            management_groups: self.management_groups.clone(),
            services: self.services.clone(),
        }
    }

    pub fn subscription(&self, id: &str) -> Option<&SubscriptionSeed> {
        self.subscriptions
            .iter()
            .find(|s| s.subscription_id.eq_ignore_ascii_case(id))
    }

    pub fn has_resource_group(&self, sub: &str, group: &str) -> bool {
        self.resource_groups.iter().any(|g| {
            g.subscription_id.eq_ignore_ascii_case(sub) && g.name.eq_ignore_ascii_case(group)
        })
    }

    pub fn find_cluster(&self, sub: &str, group: &str, name: &str) -> Option<usize> {
        self.clusters.iter().position(|c| {
            c.name.eq_ignore_ascii_case(name)
                && c.resource_group.eq_ignore_ascii_case(group)
                && c.subscription_id.eq_ignore_ascii_case(sub)
        })
    }

    pub fn catalog_for(&self, location: &str) -> &[Value] {
        self.catalogs_by_location
            .get(&location.to_ascii_lowercase())
            .unwrap_or(&self.catalog)
    }

    /// Applies an operation's end to the binding it changes.
    pub fn finish_operation(&mut self, id: &str, now: String) {
        let Some(op) = self.operations.get_mut(id) else {
            return;
        };
        if op.end_time.is_some() {
            return;
        }
        op.end_time = Some(now);
        self.running.retain(|r| r != id);
        let (kind, cluster, name, incarnation, outcome) = (
            op.kind,
            op.cluster,
            op.binding.clone(),
            op.incarnation.clone(),
            op.outcome,
        );
        let Some(cluster) = self.clusters.get_mut(cluster) else {
            return;
        };
        let Some(index) = cluster
            .find_binding(&name)
            .filter(|&i| cluster.bindings[i].incarnation == incarnation)
        else {
            return;
        };
        match (kind, outcome) {
            (OperationKind::Delete, OperationOutcome::Succeeded) => {
                cluster.bindings.remove(index);
            }
            (_, state) => cluster.bindings[index].provisioning_state = state.as_str().to_string(),
        }
    }
}

/// A resource as stored.
#[derive(Debug, Clone)]
pub struct Resource {
    pub id: String,
    /// `Namespace/type[/childType]`, as the id spells it.
    pub resource_type: String,
    pub location: String,
    pub identity: Option<IdentitySeed>,
    pub tags: HashMap<String, String>,
    pub readable: bool,
}

impl Resource {
    /// A stored resource from its seed: the type comes from the id, a system-assigned identity
    /// gets a stable principal id and the subscription's tenant.
    pub fn from_seed(seed: ResourceSeed, tenant: &str) -> Result<Self, String> {
        let resource_type = resource_type_of(&seed.id)
            .ok_or_else(|| format!("resource id '{}' is not an ARM resource id", seed.id))?;
        let identity = seed.identity.map(|mut i| {
            if i.identity_type.contains("SystemAssigned") {
                i.principal_id.get_or_insert_with(|| stable_uuid(&seed.id));
                i.tenant_id.get_or_insert_with(|| tenant.to_string());
            }
            i
        });
        Ok(Resource {
            id: seed.id.trim_end_matches('/').to_string(),
            resource_type,
            location: seed.location.to_ascii_lowercase(),
            identity,
            tags: seed.tags,
            readable: seed.readable,
        })
    }

    pub fn to_seed(&self) -> ResourceSeed {
        ResourceSeed {
            id: self.id.clone(),
            location: self.location.clone(),
            identity: self.identity.clone(),
            tags: self.tags.clone(),
            readable: self.readable,
        }
    }

    pub fn name(&self) -> &str {
        self.id.rsplit('/').next().unwrap_or_default()
    }

    /// The resource group named in the id, if any.
    pub fn resource_group(&self) -> Option<&str> {
        let segments: Vec<&str> = self.id.split('/').collect();
        segments
            .iter()
            .position(|s| s.eq_ignore_ascii_case("resourcegroups"))
            .and_then(|i| segments.get(i + 1).copied())
    }

    pub fn subscription_id(&self) -> &str {
        self.id.split('/').nth(2).unwrap_or_default()
    }

    pub fn to_json(&self) -> Value {
        let mut value = json!({
            "id": self.id,
            "name": self.name(),
            "type": self.resource_type,
            "location": self.location,
            "tags": self.tags,
            "properties": {"provisioningState": "Succeeded"},
        });
        // A Log Analytics workspace's customer id: what its query API is addressed by.
        if self.resource_type.eq_ignore_ascii_case(WORKSPACE_TYPE) {
            value["properties"]["customerId"] = json!(stable_uuid(&self.id));
            value["properties"]["retentionInDays"] = json!(730);
        }
        if let Some(identity) = &self.identity {
            let mut i = json!({"type": identity.identity_type});
            if let Some(p) = &identity.principal_id {
                i["principalId"] = json!(p);
            }
            if let Some(t) = &identity.tenant_id {
                i["tenantId"] = json!(t);
            }
            value["identity"] = i;
        }
        value
    }
}

/// A Log Analytics workspace's resource type, lower-cased (it answers with a `customerId`).
pub const WORKSPACE_TYPE: &str = "microsoft.operationalinsights/workspaces";

/// `Namespace/type[/childType…]` of a resource id: the segments after the last `providers`,
/// namespace then (type, name) pairs. The emulator's own reading, not the client's parser.
pub fn resource_type_of(id: &str) -> Option<String> {
    let segments: Vec<&str> = id.trim_matches('/').split('/').collect();
    if segments.len() < 2 || !segments[0].eq_ignore_ascii_case("subscriptions") {
        return None;
    }
    let at = segments
        .iter()
        .rposition(|s| s.eq_ignore_ascii_case("providers"))?;
    let rest = &segments[at + 1..];
    if rest.len() < 3 || rest.len().is_multiple_of(2) || rest.iter().any(|s| s.is_empty()) {
        return None;
    }
    let mut kind = rest[0].to_string();
    for pair in rest[1..].chunks(2) {
        kind.push('/');
        kind.push_str(pair[0]);
    }
    Some(kind)
}
