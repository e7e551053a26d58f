//! `audit`: walks subscriptions → clusters → role bindings and gives each cluster a verdict.
//! Requests run in parallel, bounded by `--parallel`; rows come out in a stable order (by
//! subscription, then cluster, as ARM lists them) as soon as they are ready, so memory stays
//! flat with the fleet's size. An unreadable subscription or cluster becomes an error row.

pub mod ancestry;
pub mod requirement;
pub mod row;
pub mod rules;
pub mod service_access;
pub mod service_facts;
pub mod service_index;
pub mod service_reach;
pub mod service_row;
pub mod service_rules;
pub mod services;
pub mod source_query;
pub mod sources;
pub mod summary;
mod verdict;

use crate::commands::fleet::discovery::{self, Found, FoundCluster};
use crate::commands::fleet::slots::Slots;
use crate::resolve::DiscoveryMode;
use requirement::Requirement;
use row::{BindingView, Row};
use sources::SourceChecker;
use summary::Summary;
use verdict::Catalog;

use crate::arm::api;
use crate::arm::models::RoleBinding;
use crate::arm::resources::SourceState;
use crate::commands::fleet::catalogs::Catalogs;
use crate::context::Context;
use crate::domain::finding::{Finding, Suppressed};
use crate::domain::ids::SubscriptionId;
use crate::domain::rules::{SUPPRESSION_EXPIRED, SUPPRESSION_STALE};
use crate::error::{Error, Result};
use crate::resolve::AuditOptions;
use futures_util::stream::{self, StreamExt};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// Clusters whose bindings are read before their sources are checked together. A chunk waits
/// until it is full (or discovery has ended): its sources then take one Resource Graph query of
/// about 1,000 ids, and Resource Graph's quota (15 queries per 5 s by default) holds. Chunks cut
/// from whatever was ready made ~90 queries for 10,000 clusters, and the audit waited on the
/// quota for half its time.
const CHUNK: usize = 500;

/// The sizes of the first chunks, before full ones: the first rows come out after 50 clusters.
const FIRST_CHUNKS: [usize; 3] = [50, 100, 200];

/// Chunks in progress at once: while some wait on their source checks (Resource Graph's quota
/// can hold a query for seconds), the others keep the requests in flight at `--parallel`.
/// Each holds its clusters' bindings and then rows: six made a 200×50 audit peak at ~44 MB
/// (with the source cache bounded), four at ~39 MB in the same time; three were no faster.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Rows of a chunk made at once (each waits, under `--services`, for the service tables).
const ROWS_AT_ONCE: usize = 64;

/// Clusters discovery may have found ahead of the audit before it waits (two Resource Graph
/// pages): an unbounded queue held all 10,000 clusters of a 200×50 fleet within a second
/// (~2 MB of the peak).
const BACKLOG: usize = 2000;

/// Shared by every task of one audit.
struct Audit<'a> {
    ctx: &'a Context,
    options: &'a AuditOptions,
    requirements: Vec<Requirement>,
    /// Bounds requests in flight across all stages.
    slots: Slots,
    /// One catalog fetch per (subscription, location), shared by the clusters that need it.
    catalogs: Catalogs<Catalog>,
    sources: SourceChecker<'a>,
    /// (rule id, lower-cased resource) of the baseline's findings.
    baseline: HashSet<(String, String)>,
    /// The day ignore-file entries are compared with (one for the whole run).
    today: time::Date,
    /// Findings each ignore-file entry accepted.
    matched: Vec<AtomicUsize>,
    /// `--services`: the service tables' index, as Resource Graph answers.
    services: Option<Arc<service_index::Gathering>>,
    /// `--services`: each subscription's permissions, read once, shared by the rows.
    reach: service_reach::Reach,
}

/// Runs the audit, handing each row to `emit` as soon as it is ready, in a stable order.
pub async fn run(
    ctx: &Context,
    options: &AuditOptions,
    emit: &mut dyn FnMut(Row) -> Result<()>,
) -> Result<Summary> {
    // `--services`: the service tables are queried over discovery's scope, beside it.
    let (mut scope_tx, plumbing) = services::Plumbing::new(options.access);
    let mut audit = Audit::new(ctx, options)?;
    audit.services = options.services.then(|| plumbing.index());
    let audit = audit;
    audit.slots.bind(&ctx.client);
    let gather = plumbing.gather(ctx, options, &audit.slots);
    let mut summary = Summary::default();

    // Discovery and the per-cluster audit run side by side in one task (join), so discovery is
    // never starved while the audit is busy; the channel between them holds only cluster
    // metadata not yet audited. Clusters go in chunks: their bindings are read, then their
    // sources checked together (one Resource Graph query per thousand), then the rows made;
    // a few chunks overlap. Rows keep discovery's order, and the slots bound the requests in
    // flight across all stages.
    let (work_tx, work_rx) = tokio::sync::mpsc::unbounded_channel::<Found>();
    let find_all = async {
        // The receiver lives until every row is out; a send cannot fail before then.
        let services = audit.services.as_deref();
        let mut send = |found: Found| {
            // Only clusters move the frontier: skipped and unreadable subscriptions come
            // first, out of the clusters' order.
            if let (Some(index), Found::Cluster(c)) = (services, &found) {
                index.discovered(c.id.subscription.as_str());
            }
            audit.slots.backlog().add(1);
            let _ = work_tx.send(found);
        };
        let outcome = discovery::discover(
            ctx,
            &options.selector,
            options.discovery,
            &audit.slots,
            &mut send,
            &mut |scope| services::hand_over(&mut scope_tx, scope),
        )
        .await;
        drop(work_tx);
        if let Some(index) = services {
            index.discovery_ended();
        }
        // Discovery is over: a scope never handed over (it failed first) ends the gathering.
        drop(scope_tx);
        outcome
    };
    let chunks = chunked(&audit, work_rx);
    let mut chunks = std::pin::pin!(chunks);
    let emit_rows = async {
        while let Some(rows) = chunks.next().await {
            for row in rows {
                let row = if options.services {
                    row.with_services_column()
                } else {
                    row
                };
                summary.count(&row, options.fail_level);
                emit(row)?;
            }
        }
        Ok::<(), Error>(())
    };
    let (searched, emitted, ()) = tokio::join!(find_all, emit_rows, gather);
    summary.subscriptions = searched?;
    emitted?;
    audit.services_kept_order()?;
    audit.check_ignore_file(&mut summary);
    Ok(summary)
}

/// Discovery's clusters in chunks, each made into rows, a few chunks at once, in order. The
/// first chunks are small, so the first rows come out soon; then full chunks.
fn chunked<'s>(
    audit: &'s Audit<'_>,
    work_rx: tokio::sync::mpsc::UnboundedReceiver<Found>,
) -> impl futures_util::Stream<Item = Vec<Row>> + 's {
    let sizes = FIRST_CHUNKS.into_iter().chain(std::iter::repeat(CHUNK));
    let backlog = audit.slots.backlog();
    stream::unfold((work_rx, sizes), move |(mut rx, mut sizes)| async move {
        let size = sizes.next()?;
        let mut chunk = Vec::with_capacity(size);
        while chunk.len() < size {
            let room = size - chunk.len();
            let taken = rx.recv_many(&mut chunk, room).await;
            if taken == 0 {
                break;
            }
            backlog.take(taken);
        }
        (!chunk.is_empty()).then_some((chunk, (rx, sizes)))
    })
    .map(|chunk| audit.chunk(chunk))
    .buffered(CHUNKS_IN_FLIGHT)
}

impl<'a> Audit<'a> {
    fn new(ctx: &'a Context, options: &'a AuditOptions) -> Result<Self> {
        let requirements = options
            .require_binding_for
            .iter()
            .map(|r| Requirement::parse(r))
            .collect::<Result<Vec<_>>>()?;
        Ok(Audit {
            ctx,
            options,
            requirements,
            slots: Slots::new(options.parallel).paced(BACKLOG),
            catalogs: Catalogs::default(),
            sources: SourceChecker::new(ctx, options.discovery != DiscoveryMode::Arm),
            baseline: options
                .baseline
                .iter()
                .map(|(rule, resource)| (rule.clone(), resource.to_ascii_lowercase()))
                .collect(),
            today: crate::domain::suppressions::today(),
            matched: options
                .ignore
                .iter()
                .flat_map(|f| &f.entries)
                .map(|_| AtomicUsize::new(0))
                .collect(),
            services: None,
            reach: service_reach::Reach::default(),
        })
    }

    /// An error when a service table broke the order its rows were asked in after rows that
    /// relied on it were written (see `service_index`).
    fn services_kept_order(&self) -> Result<()> {
        match self.services.as_ref().and_then(|s| s.violation()) {
            Some(detail) => Err(Error::UnexpectedResponse {
                request: format!("POST {}", crate::arm::graph::GRAPH_PATH),
                detail,
            }),
            None => Ok(()),
        }
    }

    /// Marks the findings a live ignore-file entry accepts, counting each entry's matches.
    fn suppress(&self, findings: &mut [Finding]) {
        let Some(ignore) = &self.options.ignore else {
            return;
        };
        for f in findings {
            if let Some(i) = ignore.live_match(f.rule, &f.resource, self.today) {
                self.matched[i].fetch_add(1, Ordering::Relaxed);
                f.suppression = Some(Suppressed::of(&ignore.file, &ignore.entries[i]));
            }
        }
    }

    /// After the run: the entries past their date, and the live ones that matched nothing.
    fn check_ignore_file(&self, summary: &mut Summary) {
        let Some(ignore) = &self.options.ignore else {
            return;
        };
        let checked = |rule| !self.options.skip_rules.contains(&rule);
        for (i, entry) in ignore.entries.iter().enumerate() {
            if !entry.is_live(self.today) {
                if checked(SUPPRESSION_EXPIRED) {
                    summary.expired.push(i);
                }
            } else if self.matched[i].load(Ordering::Relaxed) == 0 && checked(SUPPRESSION_STALE) {
                summary.stale.push(i);
            }
        }
    }

    /// One chunk of discovery's output, as rows in the same order.
    async fn chunk(&self, chunk: Vec<Found>) -> Vec<Row> {
        // At most twice `--parallel` binding lists of a chunk exist at once (each request future
        // holds its buffers: a chunk of 500 made at once cost megabytes), in any order, so one
        // waiting out a retry holds back no other; the chunk's order is restored after.
        let mut listed: Vec<_> = stream::iter(chunk.into_iter().enumerate())
            .map(|(at, found)| async move { (at, self.list_bindings(found).await) })
            .buffer_unordered(self.slots.width() * 2)
            .collect()
            .await;
        listed.sort_by_key(|(at, _)| *at);
        let listed: Vec<_> = listed.into_iter().map(|(_, item)| item).collect();
        let ids: Vec<String> = listed
            .iter()
            .filter_map(|item| match item {
                Listed::Cluster(_, Ok(bindings)) => Some(bindings),
                _ => None,
            })
            .flatten()
            .filter_map(|b| b.properties.source_resource_id.as_deref())
            .map(|s| s.trim_end_matches('/').to_ascii_lowercase())
            .collect();
        let sources = self.sources.states(&ids, &self.slots).await;
        // In order, a window at a time: a row's future is kilobytes (the service rules wait
        // in it), and a chunk's 500 made at once held megabytes while they waited.
        stream::iter(listed)
            .map(|item| {
                let sources = &sources;
                async move {
                    match item {
                        Listed::Cluster(cluster, bindings) => {
                            self.cluster(*cluster, bindings, sources).await
                        }
                        Listed::Other(row) => *row,
                    }
                }
            })
            .buffered(ROWS_AT_ONCE)
            .collect()
            .await
    }

    /// A discovered cluster's bindings (and, when it has some, its location's catalog, read now
    /// beside the other clusters' lists rather than after the chunk's source checks); a
    /// subscription discovery skipped or could not read becomes its row.
    async fn list_bindings(&self, found: Found) -> Listed {
        match found {
            Found::Cluster(cluster) => {
                let bindings = self
                    .slots
                    .run(api::list_bindings(&self.ctx.client, &cluster.id))
                    .await;
                if bindings.as_ref().is_ok_and(|b| !b.is_empty()) {
                    // The result is kept; an error is reported on the cluster's row.
                    let _ = self
                        .catalog(&cluster.id.subscription, &cluster.location)
                        .await;
                }
                Listed::Cluster(cluster, bindings)
            }
            Found::Unreadable {
                subscription,
                error,
            } => Listed::Other(Box::new(Row::subscription_error(
                &subscription.display(),
                subscription.id.as_str(),
                &format!("cannot list the clusters: {}", error.first_line()),
            ))),
            Found::Skipped {
                subscription,
                state,
                named,
            } => Listed::Other(Box::new(Row::skipped(
                &subscription.display(),
                subscription.id.as_str(),
                &state,
                named,
            ))),
        }
    }

    async fn cluster(
        &self,
        cluster: FoundCluster,
        bindings: Result<Vec<RoleBinding>>,
        sources: &HashMap<String, SourceState>,
    ) -> Row {
        let identity = cluster
            .identity_type
            .clone()
            .unwrap_or_else(|| "None".into());
        let location = cluster.location.clone();
        let bindings = match bindings {
            Ok(b) => b,
            Err(e) => return Row::cluster_error(&cluster, &identity, &e.first_line()),
        };
        // A catalog that cannot be read leaves the roles' checks unknown, not the whole cluster.
        let (catalog, catalog_error) = if bindings.is_empty() {
            (None, None)
        } else {
            match self.catalog(&cluster.id.subscription, &location).await {
                Ok(catalog) => (Some(catalog), None),
                Err(e) => (
                    None,
                    Some(format!("cannot read the role catalog of {location}: {e}")),
                ),
            }
        };
        let cluster_id = cluster.id.path();
        let mut findings = verdict::findings(&verdict::Facts {
            cluster_id: &cluster_id,
            identity: &identity,
            bindings: &bindings,
            catalog: catalog.as_deref(),
            location: &location,
            requirements: &self.requirements,
            sources,
            max_risk: self.options.max_risk,
            catalog_error: catalog_error.as_deref(),
        });
        let served = match &self.services {
            Some(index) => {
                let catalog = catalog.as_deref();
                let max_risk = self.options.max_risk;
                let reach = service_reach::Lookup {
                    reach: &self.reach,
                    ctx: self.ctx,
                    slots: &self.slots,
                };
                service_row::cluster_outcome(index, &cluster, &bindings, catalog, max_risk, &reach)
                    .await
            }
            None => None,
        };
        if let Some(outcome) = &served {
            findings.extend(outcome.findings.iter().cloned());
        }
        findings.retain(|f| !self.options.skip_rules.contains(&f.rule));
        for f in &mut findings {
            f.known = self
                .baseline
                .contains(&(f.rule.to_string(), f.resource.to_ascii_lowercase()));
        }
        self.suppress(&mut findings);
        let mut views: Vec<BindingView> = bindings
            .iter()
            .map(|b| BindingView::of(b, catalog.as_deref()))
            .collect();
        let view = served.map(|outcome| service_row::annotate(&mut views, outcome));
        let mut row = Row::checked(&cluster, &identity, views, findings);
        row.services = view;
        row
    }

    async fn catalog(
        &self,
        sub: &SubscriptionId,
        location: &str,
    ) -> std::result::Result<Arc<Catalog>, String> {
        self.catalogs
            .get(sub, location, |location| async move {
                self.slots
                    .run(api::list_roles(&self.ctx.client, sub, &location))
                    .await
                    .map(|roles| roles.iter().filter_map(verdict::catalog_entry).collect())
                    .map_err(|e| e.first_line())
            })
            .await
    }
}

/// A discovered cluster with its bindings (or why they could not be read), or the row of
/// anything else discovery found.
enum Listed {
    Cluster(Box<FoundCluster>, Result<Vec<RoleBinding>>),
    Other(Box<Row>),
}
