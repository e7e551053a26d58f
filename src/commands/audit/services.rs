//! `audit --services` (and `--access`): what uses each cluster, from Resource Graph, one paged
//! query per table for the whole scope (cluster extensions, backup instances, attached ML
//! computes, Defender plans; role assignments and definitions with `--access`), sent beside
//! discovery. Rows are reduced as they arrive to what the rules compare, by cluster, into the
//! streaming index (`service_index`); a table that could not be read leaves its checks
//! `unknown` on the clusters it had not reached.

use crate::arm::graph::{Graph, GraphScope, SUBSCRIPTION_GROUP};
use crate::commands::audit::ancestry::{ANCESTRY_QUERY, add_chain};
use crate::commands::audit::service_facts::Access;
use crate::commands::audit::service_index::{Gathering, Sink, Table};
use crate::commands::fleet::slots::Slots;
use crate::context::Context;
use crate::domain::services::{AGENTLESS_EXTENSIONS, subscription_of};
use crate::domain::source_access::{Assignment, Chains, Definition, role_guid};
use crate::resolve::AuditOptions;
use futures_util::future::join_all;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;

/// The cluster extensions of Backup and Azure ML (`kubernetesconfigurationresources`).
pub const EXTENSIONS_QUERY: &str = "kubernetesconfigurationresources \
| where type =~ 'microsoft.kubernetesconfiguration/extensions' \
| where properties.extensionType in~ ('microsoft.dataprotection.kubernetes', 'microsoft.azureml.kubernetes') \
| project id, extensionType = tostring(properties.extensionType) \
| order by tolower(id) asc";

/// Backup instances of clusters (`recoveryservicesresources`): the datasource is the cluster.
pub const BACKUP_QUERY: &str = "recoveryservicesresources \
| where type =~ 'microsoft.dataprotection/backupvaults/backupinstances' \
| where properties.dataSourceInfo.datasourceType =~ 'Microsoft.ContainerService/managedClusters' \
| project id, cluster = tostring(properties.dataSourceInfo.resourceID) \
| order by tolower(cluster) asc";

/// Azure ML computes attached to clusters (`resources`), and since when.
pub const COMPUTES_QUERY: &str = "resources \
| where type =~ 'microsoft.machinelearningservices/workspaces/computes' \
| where properties.computeType in~ ('Kubernetes', 'AKS') \
| project id, cluster = tostring(properties.resourceId), createdOn = tostring(properties.createdOn) \
| order by tolower(cluster) asc";

/// Defender for Containers' plan of each subscription (`securityresources`).
pub const DEFENDER_QUERY: &str = "securityresources \
| where type =~ 'microsoft.security/pricings' \
| where name =~ 'Containers' \
| project id, subscriptionId, pricingTier = tostring(properties.pricingTier), extensions = properties.extensions \
| order by tolower(subscriptionId) asc";

/// Role assignments and definitions (`authorizationresources`), for `--access`: one query for
/// both types, so the table costs one query like the others.
pub const ACCESS_QUERY: &str = "authorizationresources \
| where type in~ ('microsoft.authorization/roleassignments', 'microsoft.authorization/roledefinitions') \
| project id, type, properties";

/// One audit's `--services` plumbing: discovery hands the scope over (`hand_over`), `gather`
/// reads the tables over it into the index, and each row waits on the index for its cluster.
pub struct Plumbing {
    scope: tokio::sync::oneshot::Receiver<GraphScope>,
    index: Arc<Gathering>,
}

/// Where discovery hands the scope over (once).
pub type ScopeSender = Option<tokio::sync::oneshot::Sender<GraphScope>>;

impl Plumbing {
    /// `access`: rows also wait for `--access`' assignments.
    pub fn new(access: bool) -> (ScopeSender, Self) {
        let (scope_tx, scope) = tokio::sync::oneshot::channel();
        let index = Arc::new(Gathering::new(access));
        (Some(scope_tx), Plumbing { scope, index })
    }

    /// The index the rows wait on.
    pub fn index(&self) -> Arc<Gathering> {
        self.index.clone()
    }

    /// Waits for the scope, then reads the tables (nothing without `--services`); a scope never
    /// handed over (discovery failed first) leaves the rows without a service outcome.
    pub async fn gather(self, ctx: &Context, options: &AuditOptions, slots: &Slots) {
        if !options.services {
            return;
        }
        match self.scope.await {
            Ok(scope) => gather(ctx, scope, options.access, slots, &self.index).await,
            Err(_) => self.index.abandon(),
        }
    }
}

/// Hands discovery's scope to the plumbing, the first time.
pub fn hand_over(sender: &mut ScopeSender, scope: GraphScope) {
    if let Some(tx) = sender.take() {
        let _ = tx.send(scope);
    }
}

/// Sends the table queries over `scope` at once, each row into the index as its page arrives.
pub async fn gather(
    ctx: &Context,
    scope: GraphScope,
    access: bool,
    slots: &Slots,
    index: &Gathering,
) {
    index.start(covered(&scope));
    let graph = Graph::new(&ctx.client, ctx.diagnostics);
    let groups = groups(scope);
    let tables = join_all(Table::ALL.map(|t| read_table(ctx, &groups, slots, index, t)));
    let access_rows = async {
        if access {
            let (mut rows, mut chains) = (Access::default(), Chains::new());
            let mut on_rows = |page: Vec<Value>| page.iter().for_each(|r| rows.add(r));
            let mut on_chains =
                |page: Vec<Value>| page.iter().for_each(|r| add_chain(&mut chains, r));
            let (read, ancestry) = tokio::join!(
                read(&graph, &groups, slots, ACCESS_QUERY, &mut on_rows),
                read(&graph, &groups, slots, ANCESTRY_QUERY, &mut on_chains)
            );
            index.access_read(read.map(|()| rows.with_groups(ancestry, chains)));
        }
    };
    tokio::join!(tables, access_rows);
}

/// One ordered table, group by group, into the index, paced by discovery.
async fn read_table(
    ctx: &Context,
    groups: &[GraphScope],
    slots: &Slots,
    index: &Gathering,
    table: Table,
) {
    let pace = TablePace { index, table };
    let graph = Graph::new(&ctx.client, ctx.diagnostics)
        .paced(&pace)
        .yielding();
    let graph = &graph;
    let query = match table {
        Table::Extensions => EXTENSIONS_QUERY,
        Table::Backup => BACKUP_QUERY,
        Table::Computes => COMPUTES_QUERY,
        Table::Plans => DEFENDER_QUERY,
    };
    for (at, group) in groups.iter().enumerate() {
        index.begin_group(table, at + 1 == groups.len());
        let mut sink =
            |rows: Vec<Value>| index.page(table, rows, |row, sink| record(table, row, sink));
        if let Err(why) = read(graph, std::slice::from_ref(group), slots, query, &mut sink).await {
            index.end(table, Some(why));
            return;
        }
    }
    index.end(table, None);
}

/// One table's pace (`Gathering::room`), for its paged query.
pub struct TablePace<'a> {
    pub index: &'a Gathering,
    pub table: Table,
}

impl crate::arm::graph::Pace for TablePace<'_> {
    fn room(&self) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.index.room(self.table))
    }

    fn starved(&self) -> bool {
        self.index.starved(self.table)
    }
}

/// One row of `table` into the index.
fn record(table: Table, row: Value, sink: &mut Sink<'_>) {
    match table {
        Table::Extensions => {
            let kind = text(&row, "extensionType").to_ascii_lowercase();
            if let Some(cluster) = extension_cluster(text(&row, "id")) {
                sink.cluster(&cluster, |u| u.extensions.push(kind));
            }
        }
        Table::Backup => {
            let id = text(&row, "id").to_string();
            sink.cluster(text(&row, "cluster"), |u| u.backup_instances.push(id));
        }
        Table::Computes => {
            let id = text(&row, "id").to_string();
            let created = Some(text(&row, "createdOn").to_string()).filter(|t| !t.is_empty());
            sink.cluster(text(&row, "cluster"), |u| u.computes.push((id, created)));
        }
        Table::Plans => {
            if let Some((sub, wanted)) = plan_of(&row) {
                sink.plan(sub, wanted);
            }
        }
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

/// The scope as the queries send it: subscriptions in ascending order (so a table ordered by
/// subscription stays ordered across groups), in Resource Graph's groups.
fn groups(scope: GraphScope) -> Vec<GraphScope> {
    match scope {
        GraphScope::Subscriptions(mut subs) => {
            subs.sort_by_key(|s| s.to_ascii_lowercase());
            subs.chunks(SUBSCRIPTION_GROUP)
                .map(|g| GraphScope::Subscriptions(g.to_vec()))
                .collect()
        }
        groups => vec![groups],
    }
}

/// One query over every group, its rows handed to `sink` page by page.
async fn read(
    graph: &Graph<'_>,
    groups: &[GraphScope],
    slots: &Slots,
    query: &str,
    sink: &mut (dyn FnMut(Vec<Value>) + Send),
) -> Result<(), String> {
    for group in groups {
        slots
            .run(graph.query(group, query, sink))
            .await
            .map_err(|e| e.first_line())?;
    }
    Ok(())
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
    use crate::commands::audit::service_facts::ClusterUse;
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
