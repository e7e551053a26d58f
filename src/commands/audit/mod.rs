//! `audit`: walks subscriptions → clusters → role bindings and gives each cluster a verdict.
//! Requests run in parallel, bounded by `--parallel`; rows come out in a stable order (by
//! subscription, then cluster, as ARM lists them) as soon as they are ready, so memory stays
//! flat with the fleet's size. An unreadable subscription or cluster becomes an error row.

mod verdict;

use verdict::{Catalog, Requirement, describe, error_row, qualified_role};

use crate::arm::api;
use crate::arm::ids::{
    ClusterId, ClusterName, Location, ResourceGroupName, SubscriptionId, resource_group_of,
};
use crate::arm::models::{ManagedCluster, Subscription};
use crate::context::Context;
use crate::error::{Error, Result};
use futures_util::stream::{self, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
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

/// A location's role catalog, fetched once (or the reason it could not be read).
type CatalogCell = OnceCell<std::result::Result<Arc<Catalog>, String>>;

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
                    Work::Unreadable(sub, e) => {
                        verdict::subscription_error_row(&sub.display(), sub.id.as_str(), &e)
                    }
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
        let catalog = if bindings.is_empty() {
            None
        } else {
            match self.catalog(&sub.id, &location).await {
                Ok(catalog) => Some(catalog),
                Err(e) => {
                    return error_row(
                        row,
                        &format!("cannot read the role catalog of {location}: {e}"),
                    );
                }
            }
        };
        let findings = verdict::findings(
            &identity,
            &bindings,
            catalog.as_deref(),
            &location,
            &self.requirements,
        );
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

impl Target {
    /// The display name when known, else the id.
    fn display(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.id.to_string())
    }
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
