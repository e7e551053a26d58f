//! `audit`: walks subscriptions → clusters → role bindings and gives each cluster a verdict.
//! Requests run in parallel, bounded by `--parallel`; rows come out in a stable order (by
//! subscription, then cluster, as ARM lists them) as soon as they are ready, so memory stays
//! flat with the fleet's size. An unreadable subscription or cluster becomes an error row.

use crate::arm::api;
use crate::arm::ids::{
    ClusterId, ClusterName, Location, ResourceGroupName, SourceResourceId, SubscriptionId,
    resource_group_of,
};
use crate::arm::models::{ManagedCluster, Role, RoleBinding, Subscription};
use crate::context::Context;
use crate::error::{Error, Result};
use futures_util::stream::{self, StreamExt};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::sync::{OnceCell, Semaphore};

/// The table's columns, in order (JSON carries every field).
pub const TABLE_COLUMNS: &[&str] = &[
    "subscription",
    "resourceGroup",
    "cluster",
    "location",
    "identityType",
    "bindingCount",
    "verdict",
    "findings",
    "error",
];

pub struct AuditOptions {
    /// `--subscription` values (ids or names); empty = every enabled subscription.
    pub subscriptions: Vec<String>,
    pub require_binding_for: Vec<String>,
    pub parallel: usize,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub subscriptions: usize,
    pub skipped: usize,
    pub clusters: usize,
    pub passing: usize,
    pub failing: usize,
    pub errors: usize,
}

/// A service that must be bound: an exact source id, or any source of a type.
#[derive(Debug, Clone)]
enum Requirement {
    Source(String),
    Type(String),
}

impl Requirement {
    fn parse(raw: &str) -> Result<Self> {
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

    fn satisfied_by(&self, binding: &RoleBinding) -> bool {
        let Some(source) = binding.properties.source_resource_id.as_deref() else {
            return false;
        };
        match self {
            Requirement::Source(id) => source.trim_end_matches('/').eq_ignore_ascii_case(id),
            Requirement::Type(kind) => SourceResourceId::parse(source)
                .is_ok_and(|s| s.resource_type().eq_ignore_ascii_case(kind)),
        }
    }

    fn describe(&self) -> &str {
        match self {
            Requirement::Source(s) | Requirement::Type(s) => s,
        }
    }
}

/// A location's role catalog, fetched once (or the reason it could not be read).
type CatalogCell = OnceCell<std::result::Result<Arc<Catalog>, String>>;

/// A catalog reduced to what the audit compares: lower-cased `<type>/<name>` of each role
/// (a few hundred bytes, where the parsed catalog with its rules is tens of kilobytes).
type Catalog = HashSet<String>;

/// Shared by every task of one audit.
struct Audit<'a> {
    ctx: &'a Context,
    requirements: Vec<Requirement>,
    /// Bounds requests in flight across all stages.
    permits: Semaphore,
    /// One catalog fetch per (subscription, location), shared by the clusters that need it.
    catalogs: Mutex<HashMap<(String, String), Arc<CatalogCell>>>,
}

/// Runs the audit, handing each row to `emit` as soon as it is ready, in a stable order.
pub async fn run(
    ctx: &Context,
    options: &AuditOptions,
    emit: &mut dyn FnMut(Value) -> Result<()>,
) -> Result<Summary> {
    let requirements = options
        .require_binding_for
        .iter()
        .map(|r| Requirement::parse(r))
        .collect::<Result<Vec<_>>>()?;
    let audit = Audit {
        ctx,
        requirements,
        permits: Semaphore::new(options.parallel.max(1)),
        catalogs: Mutex::new(HashMap::new()),
    };
    let mut summary = Summary::default();
    let (targets, skipped) = audit.subscriptions(&options.subscriptions).await?;
    for row in skipped {
        summary.skipped += 1;
        emit(row)?;
    }
    summary.subscriptions = targets.len();
    let parallel = options.parallel.max(1);

    // Stage 1 lists each subscription's clusters; stage 2 audits each cluster. They run side by
    // side in one task (join), so stage 1 is never starved while stage 2 is busy; the channel
    // between them holds only cluster metadata not yet audited. Both stages keep ARM's order,
    // and the semaphore bounds the requests in flight across both.
    let (work_tx, mut work_rx) = tokio::sync::mpsc::unbounded_channel::<Work>();
    let list_all = async {
        let mut listed = stream::iter(targets)
            .map(|sub| {
                let audit = &audit;
                async move {
                    let clusters = audit
                        .guarded(api::list_clusters(&audit.ctx.client, &sub.id))
                        .await;
                    (sub, clusters)
                }
            })
            .buffered(parallel);
        while let Some((sub, clusters)) = listed.next().await {
            let work: Vec<Work> = match clusters {
                Ok(clusters) => clusters
                    .into_iter()
                    .map(|c| Work::Cluster(sub.clone(), c))
                    .collect(),
                Err(e) => vec![Work::Unreadable(sub, e)],
            };
            for w in work {
                // The receiver lives until every row is out; a send cannot fail before then.
                let _ = work_tx.send(w);
            }
        }
        drop(work_tx);
    };
    // Twice the parallelism in the ordered window, so a slow head does not idle the permits.
    let mut rows = stream::poll_fn(|cx| work_rx.poll_recv(cx))
        .map(|work| {
            let audit = &audit;
            async move {
                match work {
                    Work::Cluster(sub, cluster) => audit.cluster(&sub, cluster).await,
                    Work::Unreadable(sub, e) => subscription_error_row(&sub, &e),
                }
            }
        })
        .buffered(parallel * 2);
    let emit_rows = async {
        while let Some(row) = rows.next().await {
            match row["verdict"].as_str() {
                Some("pass") => summary.passing += 1,
                Some("fail") => summary.failing += 1,
                _ => summary.errors += 1,
            }
            if row["cluster"].is_string() {
                summary.clusters += 1;
            }
            emit(row)?;
        }
        Ok::<(), Error>(())
    };
    let ((), emitted) = tokio::join!(list_all, emit_rows);
    emitted?;
    Ok(summary)
}

enum Work {
    Cluster(Target, ManagedCluster),
    Unreadable(Target, Error),
}

#[derive(Debug, Clone)]
struct Target {
    id: SubscriptionId,
    name: Option<String>,
}

impl Audit<'_> {
    /// Bounds the number of requests in flight.
    async fn guarded<T>(&self, request: impl Future<Output = Result<T>>) -> Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| Error::Io(e.to_string()))?;
        request.await
    }

    /// The subscriptions to audit, and rows for the ones skipped (not Enabled).
    async fn subscriptions(&self, wanted: &[String]) -> Result<(Vec<Target>, Vec<Value>)> {
        let by_id = wanted.iter().all(|w| SubscriptionId::parse(w).is_some());
        if !wanted.is_empty() && by_id {
            let targets = wanted
                .iter()
                .filter_map(|w| SubscriptionId::parse(w))
                .map(|id| Target { id, name: None })
                .collect();
            return Ok((targets, Vec::new()));
        }
        let visible = api::list_subscriptions(&self.ctx.client).await?;
        if !wanted.is_empty() {
            let mut targets = Vec::new();
            for w in wanted {
                let found = visible.iter().find(|s| {
                    s.subscription_id
                        .as_deref()
                        .is_some_and(|id| id.eq_ignore_ascii_case(w))
                        || s.display_name
                            .as_deref()
                            .is_some_and(|n| n.eq_ignore_ascii_case(w))
                });
                match found.and_then(target_of) {
                    Some(t) => targets.push(t),
                    None if SubscriptionId::parse(w).is_some() => targets.push(Target {
                        id: SubscriptionId::parse(w).ok_or_else(|| Error::usage("bad id"))?,
                        name: None,
                    }),
                    None => {
                        return Err(Error::Config {
                            message: format!("subscription '{w}' not found"),
                            hint: Some("see the subscriptions this identity can see with 'az account list -o table'".into()),
                        });
                    }
                }
            }
            return Ok((targets, Vec::new()));
        }
        let mut targets = Vec::new();
        let mut skipped = Vec::new();
        for s in &visible {
            let Some(target) = target_of(s) else { continue };
            match s.state.as_deref() {
                Some(state) if state.eq_ignore_ascii_case("Enabled") => targets.push(target),
                state => skipped.push(json!({
                    "subscription": target.name.clone().unwrap_or_else(|| target.id.to_string()),
                    "subscriptionId": target.id.as_str(),
                    "verdict": "skipped",
                    "findings": [format!("subscription is {}", state.unwrap_or("in an unknown state"))],
                })),
            }
        }
        Ok((targets, skipped))
    }

    async fn cluster(&self, sub: &Target, cluster: ManagedCluster) -> Value {
        let id = cluster.id.clone().unwrap_or_default();
        let name = cluster.name.clone().unwrap_or_default();
        let group = resource_group_of(&id).unwrap_or_default().to_string();
        let location = cluster.location.clone().unwrap_or_default();
        let identity = cluster
            .identity
            .as_ref()
            .and_then(|i| i.identity_type.clone())
            .unwrap_or_else(|| "None".into());
        let mut row = json!({
            "subscription": sub.name.clone().unwrap_or_else(|| sub.id.to_string()),
            "subscriptionId": sub.id.as_str(),
            "resourceGroup": group,
            "cluster": name,
            "location": location,
            "identityType": identity,
            "id": id,
        });
        let cluster_id = match (ResourceGroupName::parse(&group), ClusterName::parse(&name)) {
            (Ok(resource_group), Ok(name)) => ClusterId {
                subscription: sub.id.clone(),
                resource_group,
                name,
            },
            _ => {
                return error_row(
                    row,
                    &format!("the cluster id '{id}' is not a managed cluster id"),
                );
            }
        };
        let bindings = match self
            .guarded(api::list_bindings(&self.ctx.client, &cluster_id))
            .await
        {
            Ok(b) => b,
            Err(e) => return error_row(row, &describe(&e)),
        };
        let mut findings: Vec<String> = Vec::new();
        if bindings.is_empty() {
            findings.push("no role binding: Trusted Access is not used".into());
        }
        if !identity.eq_ignore_ascii_case("SystemAssigned") {
            findings.push(format!(
                "identity is {identity}: Trusted Access needs the cluster to use a system-assigned managed identity"
            ));
        }
        if !bindings.is_empty() {
            match self.catalog(&sub.id, &location).await {
                Ok(catalog) => findings.extend(stale_roles(&bindings, &catalog, &location)),
                Err(e) => {
                    return error_row(
                        row,
                        &format!("cannot read the role catalog of {location}: {e}"),
                    );
                }
            }
        }
        for b in &bindings {
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
        for required in &self.requirements {
            if !bindings.iter().any(|b| required.satisfied_by(b)) {
                findings.push(format!("no binding for {}", required.describe()));
            }
        }
        row["bindingCount"] = json!(bindings.len());
        row["bindings"] = Value::Array(
            bindings
                .iter()
                .map(|b| {
                    json!({
                        "name": b.name,
                        "sourceResourceId": b.properties.source_resource_id,
                        "roles": b.properties.roles,
                        "provisioningState": b.properties.provisioning_state,
                    })
                })
                .collect(),
        );
        row["verdict"] = json!(if findings.is_empty() { "pass" } else { "fail" });
        row["findings"] = json!(findings);
        row["error"] = Value::Null;
        row
    }

    async fn catalog(
        &self,
        sub: &SubscriptionId,
        location: &str,
    ) -> std::result::Result<Arc<Catalog>, String> {
        let cell = {
            let mut catalogs = self.catalogs.lock().unwrap_or_else(|p| p.into_inner());
            catalogs
                .entry((sub.to_string(), location.to_ascii_lowercase()))
                .or_insert_with(|| Arc::new(OnceCell::new()))
                .clone()
        };
        cell.get_or_init(|| async {
            let location = Location::from_service(&location.to_ascii_lowercase());
            self.guarded(api::list_roles(&self.ctx.client, sub, &location))
                .await
                .map(|roles| Arc::new(roles.iter().filter_map(qualified_role).collect()))
                .map_err(|e| describe(&e))
        })
        .await
        .clone()
    }
}

/// `<sourceResourceType>/<name>`, lower-cased: the service compares roles case-insensitively.
fn qualified_role(role: &Role) -> Option<String> {
    Some(
        format!(
            "{}/{}",
            role.source_resource_type.as_deref()?,
            role.name.as_deref()?
        )
        .to_ascii_lowercase(),
    )
}

fn target_of(s: &Subscription) -> Option<Target> {
    let id = s
        .subscription_id
        .as_deref()
        .and_then(SubscriptionId::parse)?;
    Some(Target {
        id,
        name: s.display_name.clone(),
    })
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

fn describe(e: &Error) -> String {
    e.render()
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("ERROR: ")
        .to_string()
}

fn error_row(mut row: Value, why: &str) -> Value {
    row["verdict"] = json!("error");
    row["findings"] = json!([]);
    row["error"] = json!(why);
    row
}

fn subscription_error_row(sub: &Target, e: &Error) -> Value {
    json!({
        "subscription": sub.name.clone().unwrap_or_else(|| sub.id.to_string()),
        "subscriptionId": sub.id.as_str(),
        "verdict": "error",
        "findings": [],
        "error": format!("cannot list the clusters: {}", describe(e)),
    })
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
}
