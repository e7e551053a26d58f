//! `audit`: walks subscriptions → clusters → role bindings and gives each cluster a verdict.
//! Requests run in parallel, bounded by `--parallel`; rows come out in a stable order (by
//! subscription, then cluster, as ARM lists them) as soon as they are ready, so memory stays
//! flat with the fleet's size. An unreadable subscription or cluster becomes an error row.

pub mod discovery;
pub mod slots;
mod verdict;

pub use discovery::{DiscoveryMode, Found, FoundCluster, Selector};
use slots::Slots;
use verdict::{Catalog, Requirement, describe, error_row, qualified_role};

use crate::arm::api;
use crate::arm::ids::{Location, SubscriptionId};
use crate::context::Context;
use crate::error::{Error, Result};
pub use crate::resolve::AuditOptions;
use futures_util::stream::{self, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

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
    slots: Slots,
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
        slots: Slots::new(options.parallel),
        catalogs: Mutex::new(HashMap::new()),
    };
    let mut summary = Summary::default();
    let parallel = audit.slots.width();

    // Discovery and the per-cluster audit run side by side in one task (join), so discovery is
    // never starved while the audit is busy; the channel between them holds only cluster
    // metadata not yet audited. Both keep discovery's order, and the slots bound the requests
    // in flight across both.
    let (work_tx, mut work_rx) = tokio::sync::mpsc::unbounded_channel::<Found>();
    let find_all = async {
        // The receiver lives until every row is out; a send cannot fail before then.
        let mut send = |found: Found| {
            let _ = work_tx.send(found);
        };
        let outcome = discovery::discover(
            ctx,
            &options.selector,
            options.discovery,
            &audit.slots,
            &mut send,
        )
        .await;
        drop(work_tx);
        outcome
    };
    // Twice the parallelism in the ordered window, so a slow head does not idle the slots.
    let mut rows = stream::poll_fn(|cx| work_rx.poll_recv(cx))
        .map(|found| {
            let audit = &audit;
            async move {
                match found {
                    Found::Cluster(cluster) => audit.cluster(*cluster).await,
                    Found::Unreadable {
                        subscription,
                        error,
                    } => verdict::subscription_error_row(
                        &subscription.display(),
                        subscription.id.as_str(),
                        &format!("cannot list the clusters: {}", describe(&error)),
                    ),
                    Found::Skipped {
                        subscription,
                        state,
                        named,
                    } => verdict::skipped_row(
                        &subscription.display(),
                        subscription.id.as_str(),
                        &state,
                        named,
                    ),
                }
            }
        })
        .buffered(parallel * 2);
    let emit_rows = async {
        while let Some(row) = rows.next().await {
            match row["verdict"].as_str() {
                Some("pass") => summary.passing += 1,
                Some("fail") => summary.failing += 1,
                Some("skipped") => summary.skipped += 1,
                _ => summary.errors += 1,
            }
            if row["cluster"].is_string() {
                summary.clusters += 1;
            }
            emit(row)?;
        }
        Ok::<(), Error>(())
    };
    let (searched, emitted) = tokio::join!(find_all, emit_rows);
    summary.subscriptions = searched?;
    emitted?;
    Ok(summary)
}

impl Audit<'_> {
    async fn cluster(&self, cluster: FoundCluster) -> Value {
        let identity = cluster
            .identity_type
            .clone()
            .unwrap_or_else(|| "None".into());
        let location = cluster.location.clone();
        let mut row = verdict::cluster_row(&cluster, &identity);
        let bindings = match self
            .slots
            .run(api::list_bindings(&self.ctx.client, &cluster.id))
            .await
        {
            Ok(b) => b,
            Err(e) => return error_row(row, &describe(&e)),
        };
        let catalog = if bindings.is_empty() {
            None
        } else {
            match self.catalog(&cluster.id.subscription, &location).await {
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
            self.slots
                .run(api::list_roles(&self.ctx.client, sub, &location))
                .await
                .map(|roles| Arc::new(roles.iter().filter_map(qualified_role).collect()))
                .map_err(|e| describe(&e))
        })
        .await
        .clone()
    }
}
