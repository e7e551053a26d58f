//! Checking binding sources, each distinct one once, in a way a refusing server cannot starve:
//! small Resource Graph queries (compact: sources named within their subscription and type,
//! see `source_query`; bounded in ids and in characters), a batch that fails split in halves
//! and asked again, and what still fails read through ARM (a GET per source, within the
//! client's request budget). Resource Graph's answer is then completed with an ARM GET for each
//! source it did not return (it cannot tell a deleted resource from one the caller cannot
//! read). A source no path could read is `Unreadable` with the reason, which the audit reports
//! as `unknown`, never as a pass.

use crate::arm::graph::{self, Graph, GraphScope};
use crate::arm::resources::{ResourceReader, SourceState};
use crate::commands::audit::source_query::{MAX_QUERY_CHARS, SOURCE_BATCH, SourceQuery};
use crate::commands::fleet::slots::Slots;
use crate::context::Context;
use crate::domain::ids::SourceResourceId;
use crate::error::Result;
use futures_util::future::join_all;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// A failed batch is split in halves while it has more ids than this; a smaller one that
/// still fails is read through ARM (a handful of GETs costs less than more queries against
/// Resource Graph's quota).
const MIN_SPLIT: usize = 16;

/// Source states kept for later chunks (about two full chunks' sources); beyond it, only the
/// states of the current request's sources are kept.
const KNOWN_LIMIT: usize = 2000;

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

    /// The states of `ids` (lower-cased), checking those not checked before. Never fails as a
    /// whole: a source no path could read is `Unreadable` with the reason.
    pub async fn states(&self, ids: &[String], slots: &Slots) -> HashMap<String, SourceState> {
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
            let batches = batches(&unknown);
            let answers = join_all(batches.iter().map(|b| self.by_graph_split(b, slots))).await;
            answers.into_iter().for_each(|a| found.extend(a));
        }
        let rest: Vec<&String> = unknown
            .iter()
            .filter(|id| !found.contains_key(*id))
            .collect();
        let read = join_all(rest.iter().map(|id| async move {
            let state = match SourceResourceId::parse(id) {
                Ok(parsed) => slots
                    .run(self.reader.read(&self.ctx.client, &parsed))
                    .await
                    .unwrap_or_else(|e| SourceState::Unreadable(e.first_line())),
                Err(_) => SourceState::Unreadable("not an ARM resource id".into()),
            };
            ((*id).clone(), state)
        }))
        .await;
        found.extend(read);
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: a source shared by clusters is most often shared within a chunk; keeping
        // every state checked (20,000 for a 200×50 fleet) cost ~7 MB of the peak.
        if known.len() + found.len() > KNOWN_LIMIT {
            known.retain(|id, _| wanted.binary_search(id).is_ok());
        }
        known.extend(found);
        wanted
            .into_iter()
            .filter_map(|id| known.get(&id).cloned().map(|s| (id, s)))
            .collect()
    }

    /// A batch through Resource Graph, split in halves (and each half asked again) while it
    /// fails; what is left unanswered is for ARM. A refusal of the caller (403, not registered)
    /// stops Resource Graph for the rest of the audit.
    async fn by_graph_split(
        &self,
        batch: &[String],
        slots: &Slots,
    ) -> HashMap<String, SourceState> {
        let mut out = HashMap::new();
        let mut pending: Vec<&[String]> = vec![batch];
        while let Some(part) = pending.pop() {
            if !self.use_graph.load(Ordering::Relaxed) {
                break;
            }
            match slots.run(self.by_graph(part)).await {
                Ok(states) => out.extend(states),
                Err(e) if graph::is_refusal(&e) => {
                    self.ctx.diagnostics.warn(
                        "Resource Graph refused the source query; checking sources with ARM reads instead",
                    );
                    self.use_graph.store(false, Ordering::Relaxed);
                }
                Err(e) if part.len() > MIN_SPLIT => {
                    self.ctx.diagnostics.verbose(&format!(
                        "Resource Graph failed a query of {} sources ({}); asking again in two halves",
                        part.len(),
                        e.first_line()
                    ));
                    let (a, b) = part.split_at(part.len() / 2);
                    pending.push(b);
                    pending.push(a);
                }
                // Left for ARM reads.
                Err(_) => {}
            }
        }
        out
    }

    /// One Resource Graph query for a batch: the sources it returns exist (with their identity).
    /// Rows of resources the batch did not ask for (the same name elsewhere) are dropped.
    async fn by_graph(&self, batch: &[String]) -> Result<HashMap<String, SourceState>> {
        let mut subscriptions: Vec<String> = batch
            .iter()
            .filter_map(|id| id.split('/').nth(2).map(str::to_string))
            .collect();
        subscriptions.sort();
        subscriptions.dedup();
        let query = SourceQuery::of(batch);
        let wanted = query.wants();
        let mut out = HashMap::new();
        self.graph
            .query(
                &GraphScope::Subscriptions(subscriptions),
                &query.text(),
                &mut |rows: Vec<Value>| {
                    for row in rows {
                        let Some(id) = row["id"].as_str().map(str::to_ascii_lowercase) else {
                            continue;
                        };
                        if wanted.contains(&id) {
                            out.insert(id, SourceState::from_resource(&row));
                        }
                    }
                },
            )
            .await?;
        Ok(out)
    }
}

/// The ids in batches of at most `SOURCE_BATCH` ids and `MAX_QUERY_CHARS` characters of query
/// (an id too long for a query alone gets a batch of its own, which ARM reads if refused).
fn batches(ids: &[String]) -> Vec<&[String]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut query = SourceQuery::default();
    for (i, id) in ids.iter().enumerate() {
        if query.count() > 0
            && (query.count() >= SOURCE_BATCH || query.len_with(id) > MAX_QUERY_CHARS)
        {
            out.push(&ids[start..i]);
            start = i;
            query = SourceQuery::default();
        }
        query.add(id);
    }
    if start < ids.len() {
        out.push(&ids[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_at_most_the_ids_and_characters_allowed() {
        let ids: Vec<String> = (0..1000)
            .map(|n| {
                format!(
                    "/subscriptions/00000000-0000-4000-8000-000000000001/resourcegroups/g/providers/microsoft.x/y/{}",
                    "n".repeat(1 + n % 300)
                )
            })
            .collect();
        let all = batches(&ids);
        assert_eq!(all.iter().map(|b| b.len()).sum::<usize>(), 1000);
        for b in &all {
            let query = SourceQuery::of(b).text();
            assert!(
                b.len() <= SOURCE_BATCH && query.len() <= MAX_QUERY_CHARS,
                "{}",
                query.len()
            );
        }
        // Names of up to 300 characters: the characters cut the batches, not the count.
        assert!(all.len() > 1, "{}", all.len());
        assert!(batches(&[]).is_empty());
    }

    #[test]
    fn a_batch_holds_a_page_of_sources_when_names_are_short() {
        let ids: Vec<String> = (0..2500)
            .map(|n| {
                format!(
                    "/subscriptions/{:08x}-0000-4000-8000-000000000001/resourcegroups/g/providers/microsoft.x/y/ws-{n}",
                    n / 50
                )
            })
            .collect();
        let sizes: Vec<usize> = batches(&ids).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [1000, 1000, 500]);
    }
}
