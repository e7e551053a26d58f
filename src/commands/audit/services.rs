//! `audit --services` (and `--access`): what uses each cluster, from Resource Graph, one paged
//! query per table for the whole scope (cluster extensions, backup instances, attached ML
//! computes, Defender plans; role assignments and definitions with `--access`), sent beside
//! discovery. Rows are reduced as they arrive to what the rules compare, by cluster; a table
//! that could not be read leaves its checks `unknown` on every cluster.

use crate::arm::graph::{Graph, GraphScope};
use crate::commands::audit::ancestry::{ANCESTRY_QUERY, add_chain};
use crate::commands::audit::verdict::describe;
use crate::commands::fleet::slots::Slots;
use crate::context::Context;
use crate::domain::services::{AGENTLESS_EXTENSIONS, parent_before, subscription_of};
use crate::domain::source_access::{Assignment, Chains, Definition, role_guid};
use crate::resolve::AuditOptions;
use futures_util::future::join_all;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// The index once gathered (`None` until then), shared by every cluster's row.
pub type Ready = tokio::sync::watch::Receiver<Option<Arc<Index>>>;

/// The cluster extensions of Backup and Azure ML (`kubernetesconfigurationresources`).
pub const EXTENSIONS_QUERY: &str = "kubernetesconfigurationresources \
| where type =~ 'microsoft.kubernetesconfiguration/extensions' \
| where properties.extensionType in~ ('microsoft.dataprotection.kubernetes', 'microsoft.azureml.kubernetes') \
| project id, extensionType = tostring(properties.extensionType), provisioningState = tostring(properties.provisioningState)";

/// Backup instances of clusters (`recoveryservicesresources`): the datasource is the cluster.
pub const BACKUP_QUERY: &str = "recoveryservicesresources \
| where type =~ 'microsoft.dataprotection/backupvaults/backupinstances' \
| where properties.dataSourceInfo.datasourceType =~ 'Microsoft.ContainerService/managedClusters' \
| project id, cluster = tostring(properties.dataSourceInfo.resourceID)";

/// Azure ML computes attached to clusters (`resources`), and since when.
pub const COMPUTES_QUERY: &str = "resources \
| where type =~ 'microsoft.machinelearningservices/workspaces/computes' \
| where properties.computeType in~ ('Kubernetes', 'AKS') \
| project id, cluster = tostring(properties.resourceId), createdOn = tostring(properties.createdOn)";

/// Defender for Containers' plan of each subscription (`securityresources`).
pub const DEFENDER_QUERY: &str = "securityresources \
| where type =~ 'microsoft.security/pricings' \
| where name =~ 'Containers' \
| project id, subscriptionId, pricingTier = tostring(properties.pricingTier), extensions = properties.extensions";

/// Role assignments and definitions (`authorizationresources`), for `--access`: one query for
/// both types, so the table costs one query like the others.
pub const ACCESS_QUERY: &str = "authorizationresources \
| where type in~ ('microsoft.authorization/roleassignments', 'microsoft.authorization/roledefinitions') \
| project id, type, properties";

/// What Resource Graph says uses one cluster.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ClusterUse {
    /// Extension types (lower-cased) installed on the cluster.
    pub extensions: Vec<String>,
    /// Backup instance ids whose datasource is the cluster.
    pub backup_instances: Vec<String>,
    /// Attached ML computes: id and `createdOn`.
    pub computes: Vec<(String, Option<String>)>,
}

impl ClusterUse {
    /// The vaults of its backup instances: (vault, first instance), each vault once.
    pub fn vaults(&self) -> Vec<(String, &str)> {
        parents(&self.backup_instances, "backupInstances")
    }

    /// The workspaces of its computes: (workspace, first compute), each workspace once.
    pub fn workspaces(&self) -> Vec<(String, &str)> {
        let ids: Vec<String> = self.computes.iter().map(|c| c.0.clone()).collect();
        parents(&ids, "computes")
            .into_iter()
            .map(|(w, first)| {
                let at = ids.iter().position(|i| i == first).unwrap_or_default();
                (w, self.computes[at].0.as_str())
            })
            .collect()
    }
}

fn parents<'a>(children: &'a [String], marker: &str) -> Vec<(String, &'a str)> {
    let mut out: Vec<(String, &str)> = Vec::new();
    for child in children {
        if let Some(parent) = parent_before(child, marker)
            && !out.iter().any(|(p, _)| p.eq_ignore_ascii_case(&parent))
        {
            out.push((parent, child));
        }
    }
    out
}

/// One table's outcome: `None` when read, else why it could not be.
pub type Unread = Option<String>;

/// Everything the service rules need, for the whole scope.
#[derive(Debug, Default)]
pub struct Index {
    /// By lower-cased cluster id; a cluster's entry is taken when its row is made.
    pub clusters: Mutex<HashMap<String, ClusterUse>>,
    /// Subscriptions (lower-cased) whose Containers plan is Standard with agentless features on:
    /// `true`; Standard without them: `false`.
    pub defender: HashMap<String, bool>,
    pub extensions: Unread,
    pub backup: Unread,
    pub computes: Unread,
    pub plans: Unread,
    /// `--access`: the assignments and definitions, or why they could not be read; `None`
    /// without `--access`.
    pub access: Option<Result<Access, String>>,
    /// Subscriptions (lower-cased) the queries covered; `None` for management-group scopes.
    pub covered: Option<HashSet<String>>,
}

/// Role assignments and the definitions Resource Graph returned, by GUID.
#[derive(Debug, Default)]
pub struct Access {
    pub assignments: Vec<Assignment>,
    pub definitions: HashMap<String, Definition>,
    /// Each subscription's management groups, or why they could not be read (`None`: not
    /// read); management-group assignments are matched through them.
    pub groups: Option<Result<Chains, String>>,
}

impl Index {
    /// Takes what uses a cluster (each cluster's row is made once, so its entry is dropped).
    pub fn take(&self, cluster_id: &str) -> ClusterUse {
        self.clusters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&cluster_id.to_ascii_lowercase())
            .unwrap_or_default()
    }

    /// Whether a source's subscription was in the queries' scope, so its absence from the
    /// answers means it is not there.
    pub fn covers(&self, source: &str, cluster_subscription: &str) -> bool {
        let Some(sub) = subscription_of(source) else {
            return false;
        };
        sub.eq_ignore_ascii_case(cluster_subscription)
            || self.covered.as_ref().is_some_and(|c| c.contains(&sub))
    }
}

/// One audit's `--services` plumbing: discovery hands the scope over (`hand_over`), `gather`
/// queries the tables over it, and each row waits on `ready` for the index.
pub struct Plumbing {
    scope: tokio::sync::oneshot::Receiver<GraphScope>,
    ready: tokio::sync::watch::Sender<Option<Arc<Index>>>,
}

/// Where discovery hands the scope over (once).
pub type ScopeSender = Option<tokio::sync::oneshot::Sender<GraphScope>>;

impl Plumbing {
    pub fn new() -> (ScopeSender, Self) {
        let (scope_tx, scope) = tokio::sync::oneshot::channel();
        let (ready, _) = tokio::sync::watch::channel(None);
        (Some(scope_tx), Plumbing { scope, ready })
    }

    /// The index as the rows wait for it.
    pub fn ready(&self) -> Ready {
        self.ready.subscribe()
    }

    /// Waits for the scope, then gathers the index (nothing without `--services`).
    pub async fn gather(self, ctx: &Context, options: &AuditOptions, slots: &Slots) {
        if !options.services {
            return;
        }
        if let Ok(scope) = self.scope.await {
            let index = gather(ctx, scope, options.access, slots).await;
            let _ = self.ready.send(Some(Arc::new(index)));
        }
    }
}

/// Hands discovery's scope to the plumbing, the first time.
pub fn hand_over(sender: &mut ScopeSender, scope: GraphScope) {
    if let Some(tx) = sender.take() {
        let _ = tx.send(scope);
    }
}

/// Sends the table queries over `scope` at once and builds the index.
pub async fn gather(ctx: &Context, scope: GraphScope, access: bool, slots: &Slots) -> Index {
    let covered = covered(&scope);
    let clusters = Mutex::new(HashMap::<String, ClusterUse>::new());
    let mut defender = HashMap::new();
    let (mut access_rows, mut chains) = (Access::default(), Chains::new());
    let graph = Graph::new(&ctx.client, ctx.diagnostics);
    let run = |query: &'static str, sink| read(&graph, &scope, slots, query, sink);
    let add = |cluster: Option<String>, f: &mut dyn FnMut(&mut ClusterUse)| {
        if let Some(c) = cluster.filter(|c| c.starts_with('/')) {
            let mut all = clusters.lock().unwrap_or_else(|p| p.into_inner());
            f(all
                .entry(c.trim_end_matches('/').to_ascii_lowercase())
                .or_default());
        }
    };
    let mut on_extensions = |rows: Vec<Value>| {
        for row in rows {
            let kind = text(&row, "extensionType").to_ascii_lowercase();
            add(extension_cluster(text(&row, "id")), &mut |u| {
                u.extensions.push(kind.clone())
            });
        }
    };
    let mut on_backup = |rows: Vec<Value>| {
        for row in rows {
            let id = text(&row, "id").to_string();
            add(Some(text(&row, "cluster").to_string()), &mut |u| {
                u.backup_instances.push(id.clone())
            });
        }
    };
    let mut on_computes = |rows: Vec<Value>| {
        for row in rows {
            let id = text(&row, "id").to_string();
            let created = Some(text(&row, "createdOn").to_string()).filter(|t| !t.is_empty());
            add(Some(text(&row, "cluster").to_string()), &mut |u| {
                u.computes.push((id.clone(), created.clone()))
            });
        }
    };
    let mut on_plans = |rows: Vec<Value>| {
        for row in rows {
            if let Some((sub, wanted)) = plan_of(&row) {
                defender.insert(sub, wanted);
            }
        }
    };
    let mut on_access = |rows: Vec<Value>| rows.iter().for_each(|r| access_rows.add(r));
    let mut on_chains = |rows: Vec<Value>| rows.iter().for_each(|r| add_chain(&mut chains, r));
    let (reads, access_read) = tokio::join!(
        join_all([
            run(EXTENSIONS_QUERY, &mut on_extensions),
            run(BACKUP_QUERY, &mut on_backup),
            run(COMPUTES_QUERY, &mut on_computes),
            run(DEFENDER_QUERY, &mut on_plans),
        ]),
        async {
            match access {
                true => Some(tokio::join!(
                    run(ACCESS_QUERY, &mut on_access),
                    run(ANCESTRY_QUERY, &mut on_chains)
                )),
                false => None,
            }
        }
    );
    let mut reads = reads.into_iter().map(Result::err);
    let mut next = || reads.next().flatten();
    let (extensions, backup, computes, plans) = (next(), next(), next(), next());
    Index {
        clusters,
        defender,
        extensions,
        backup,
        computes,
        plans,
        access: access_read.map(|(a, g)| a.map(|()| access_rows.with_groups(g, chains))),
        covered,
    }
}

/// The subscriptions a scope covers (lower-cased); `None` for management groups.
fn covered(scope: &GraphScope) -> Option<HashSet<String>> {
    match scope {
        GraphScope::Subscriptions(subs) => {
            Some(subs.iter().map(|s| s.to_ascii_lowercase()).collect())
        }
        GraphScope::ManagementGroups(_) => None,
    }
}

/// One table's query, its rows handed to `sink` page by page.
async fn read(
    graph: &Graph<'_>,
    scope: &GraphScope,
    slots: &Slots,
    query: &str,
    sink: &mut (dyn FnMut(Vec<Value>) + Send),
) -> Result<(), String> {
    slots
        .run(graph.query(scope, query, sink))
        .await
        .map_err(|e| describe(&e))
}

fn text<'a>(row: &'a Value, key: &str) -> &'a str {
    row[key].as_str().unwrap_or_default()
}

/// The cluster an extension is installed on: its id up to the extension provider.
fn extension_cluster(id: &str) -> Option<String> {
    let at = id
        .to_ascii_lowercase()
        .find("/providers/microsoft.kubernetesconfiguration/extensions/")?;
    Some(id[..at].to_string())
}

/// A Containers plan row: its subscription, and whether it wants the Defender binding
/// (Standard, with an agentless extension enabled; `isEnabled` is the string `"True"` in
/// ARM's pricings API, a boolean accepted too).
fn plan_of(row: &Value) -> Option<(String, bool)> {
    let sub = row["subscriptionId"]
        .as_str()
        .map(str::to_ascii_lowercase)
        .or_else(|| subscription_of(text(row, "id")))?;
    if !text(row, "pricingTier").eq_ignore_ascii_case("Standard") {
        return None;
    }
    let agentless = row["extensions"].as_array().into_iter().flatten().any(|e| {
        let on = match &e["isEnabled"] {
            Value::Bool(b) => *b,
            Value::String(s) => s.eq_ignore_ascii_case("true"),
            _ => false,
        };
        on && AGENTLESS_EXTENSIONS
            .iter()
            .any(|n| n.eq_ignore_ascii_case(text(e, "name")))
    });
    Some((sub, agentless))
}

impl Access {
    /// With the subscriptions' management groups, or why they could not be read.
    fn with_groups(mut self, read: Result<(), String>, chains: Chains) -> Self {
        self.groups = Some(read.map(|()| chains));
        self
    }

    /// One `authorizationresources` row: an assignment or a definition.
    fn add(&mut self, row: &Value) {
        let p = &row["properties"];
        let kind = text(row, "type").to_ascii_lowercase();
        if kind.ends_with("/roleassignments") {
            let scope = text(p, "scope");
            if scope.is_empty() {
                return;
            }
            self.assignments.push(Assignment {
                principal_id: text(p, "principalId").to_string(),
                principal_type: text(p, "principalType").to_string(),
                role: role_guid(text(p, "roleDefinitionId")),
                scope: scope.to_string(),
            });
        } else if kind.ends_with("/roledefinitions") {
            let list = |key: &str| -> Vec<String> {
                p["permissions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|perm| perm[key].as_array().into_iter().flatten())
                    .filter_map(|a| a.as_str().map(str::to_ascii_lowercase))
                    .collect()
            };
            self.definitions.insert(
                role_guid(text(row, "id")),
                Definition {
                    name: text(p, "roleName").to_string(),
                    actions: list("actions"),
                    not_actions: list("notActions"),
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plans_want_the_binding_when_standard_with_agentless_discovery() {
        let row = |tier: &str, on: Value| {
            json!({"id": "/subscriptions/S/providers/Microsoft.Security/pricings/Containers",
                   "pricingTier": tier,
                   "extensions": [{"name": "ContainerSensor", "isEnabled": "True"},
                                  {"name": "AgentlessDiscoveryForKubernetes", "isEnabled": on}]})
        };
        assert_eq!(
            plan_of(&row("Standard", json!("True"))),
            Some(("s".into(), true))
        );
        assert_eq!(
            plan_of(&row("Standard", json!(true))),
            Some(("s".into(), true))
        );
        assert_eq!(
            plan_of(&row("Standard", json!("False"))),
            Some(("s".into(), false))
        );
        assert_eq!(plan_of(&row("Free", json!("True"))), None);
    }

    #[test]
    fn rows_are_reduced_to_their_cluster_and_parent() {
        let c = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/c";
        assert_eq!(
            extension_cluster(&format!(
                "{c}/providers/Microsoft.KubernetesConfiguration/extensions/azure-aks-backup"
            ))
            .as_deref(),
            Some(c)
        );
        let vault =
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.DataProtection/backupVaults/v";
        let ws = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w";
        let u = ClusterUse {
            extensions: vec![],
            backup_instances: vec![
                format!("{vault}/backupInstances/a"),
                format!("{vault}/BACKUPINSTANCES/b"),
            ],
            computes: vec![(format!("{ws}/computes/k"), None)],
        };
        assert_eq!(
            u.vaults(),
            [(
                vault.to_string(),
                format!("{vault}/backupInstances/a").as_str()
            )]
        );
        assert_eq!(u.workspaces()[0].0, ws);
        let mut access = Access::default();
        access.add(&json!({"type": "microsoft.authorization/roleassignments", "properties": {
            "scope": vault, "principalId": "p", "principalType": "User",
            "roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/ABC"}}));
        access.add(&json!({"id": "/providers/Microsoft.Authorization/roleDefinitions/abc",
            "type": "microsoft.authorization/roledefinitions", "properties": {
            "roleName": "Vault ops", "permissions": [{"actions": ["Microsoft.DataProtection/*"], "notActions": []}]}}));
        assert_eq!(access.assignments[0].role, "abc");
        assert_eq!(
            access.definitions["abc"].actions,
            ["microsoft.dataprotection/*"]
        );
    }
}
