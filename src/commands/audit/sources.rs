//! Checking binding sources, each distinct one once: in batches through Resource Graph
//! (`where id in~ (…)`), then an ARM GET for each one Resource Graph did not return (it cannot
//! tell a deleted resource from one the caller cannot read), or ARM GETs only when Resource Graph
//! is not used or refuses.

use crate::arm::graph::{self, Graph, GraphScope};
use crate::arm::resources::{ResourceReader, SourceState};
use crate::commands::audit::discovery::kql_string;
use crate::commands::audit::slots::Slots;
use crate::context::Context;
use crate::domain::ids::SourceResourceId;
use crate::error::Result;
use futures_util::future::join_all;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Ids per Resource Graph query (its page holds 1,000 rows).
pub const SOURCE_BATCH: usize = 1000;

/// Source states kept for later chunks (about two full chunks' sources); beyond it, only the
/// states of the current request's sources are kept.
const KNOWN_LIMIT: usize = 2 * SOURCE_BATCH;

pub struct SourceChecker<'a> {
    ctx: &'a Context,
    graph: Graph<'a>,
    /// Resource Graph may be asked (not `--discovery arm`, and it has not refused).
    use_graph: AtomicBool,
    reader: ResourceReader,
    /// States checked before, at most `KNOWN_LIMIT` of them (plus the last request's).
    known: Mutex<HashMap<String, SourceState>>,
}

impl<'a> SourceChecker<'a> {
    pub fn new(ctx: &'a Context, use_graph: bool) -> Self {
        SourceChecker {
            ctx,
            graph: Graph::new(&ctx.client, ctx.diagnostics),
            use_graph: AtomicBool::new(use_graph),
            reader: ResourceReader::default(),
            known: Mutex::new(HashMap::new()),
        }
    }

    /// The states of `ids` (lower-cased), checking those not checked before.
    pub async fn states(
        &self,
        ids: &[String],
        slots: &Slots,
    ) -> Result<HashMap<String, SourceState>> {
        let mut wanted: Vec<String> = ids.to_vec();
        wanted.sort();
        wanted.dedup();
        let unknown: Vec<String> = {
            let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
            wanted
                .iter()
                .filter(|id| !known.contains_key(*id))
                .cloned()
                .collect()
        };
        let mut found = HashMap::new();
        if self.use_graph.load(Ordering::Relaxed) {
            for batch in unknown.chunks(SOURCE_BATCH) {
                match slots.run(self.by_graph(batch)).await {
                    Ok(states) => found.extend(states),
                    Err(e) if graph::is_refusal(&e) => {
                        self.ctx.diagnostics.warn(
                            "Resource Graph refused the source query; checking sources with ARM reads instead",
                        );
                        self.use_graph.store(false, Ordering::Relaxed);
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        let rest: Vec<&String> = unknown
            .iter()
            .filter(|id| !found.contains_key(*id))
            .collect();
        let read = join_all(rest.iter().map(|id| async move {
            let state = match SourceResourceId::parse(id) {
                Ok(parsed) => slots.run(self.reader.read(&self.ctx.client, &parsed)).await,
                Err(_) => Ok(SourceState::Unreadable("not an ARM resource id".into())),
            };
            ((*id).clone(), state)
        }))
        .await;
        for (id, state) in read {
            found.insert(id, state?);
        }
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: a source shared by clusters is most often shared within a chunk; keeping
        // every state checked (20,000 for a 200×50 fleet) cost ~7 MB of the peak.
        if known.len() + found.len() > KNOWN_LIMIT {
            known.retain(|id, _| wanted.binary_search(id).is_ok());
        }
        known.extend(found);
        Ok(wanted
            .into_iter()
            .filter_map(|id| known.get(&id).cloned().map(|s| (id, s)))
            .collect())
    }

    /// One Resource Graph query for a batch: the sources it returns exist (with their identity).
    async fn by_graph(&self, batch: &[String]) -> Result<HashMap<String, SourceState>> {
        let mut subscriptions: Vec<String> = batch
            .iter()
            .filter_map(|id| id.split('/').nth(2).map(str::to_string))
            .collect();
        subscriptions.sort();
        subscriptions.dedup();
        let ids: Vec<String> = batch.iter().map(|id| kql_string(id)).collect();
        let query = format!(
            "resources | where id in~ ({}) | project id, identity",
            ids.join(", ")
        );
        let mut out = HashMap::new();
        self.graph
            .query(
                &GraphScope::Subscriptions(subscriptions),
                &query,
                &mut |rows: Vec<Value>| {
                    for row in rows {
                        if let Some(id) = row["id"].as_str() {
                            out.insert(id.to_ascii_lowercase(), SourceState::from_resource(&row));
                        }
                    }
                },
            )
            .await?;
        Ok(out)
    }
}
