//! `audit --services`' index as it streams in. Each service table is read in the order of its
//! rows' cluster subscription (`order by`), so a cluster's row is made as soon as every table
//! has moved past the cluster's subscription (or ended), not after the whole index; a row takes
//! its cluster's entries (those of clusters never discovered, as under `-g`, stay to the end).
//! Only subscription ids are compared, never whole resource ids: they are lower-case GUIDs,
//! which any collation Resource Graph may sort with orders as bytes do. A table whose rows come
//! back out of that order stops counting (rows wait for its end); if a row already made may have
//! missed one of its rows, the audit fails (`violation`) rather than print a silent wrong answer.

use crate::commands::audit::service_facts::{Access, ClusterUse, Index, Unread};
use crate::domain::ids::is_uuid;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// The service tables read in order (`--access`'s table is read whole, beside them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Extensions,
    Backup,
    Computes,
    Plans,
}

impl Table {
    pub const ALL: [Table; 4] = [
        Table::Extensions,
        Table::Backup,
        Table::Computes,
        Table::Plans,
    ];

    fn at(self) -> usize {
        self as usize
    }

    /// Whether a row's subscription is the subscription its query looked in (an extension is
    /// its cluster's child, a plan its subscription's). A backup instance or compute lives with
    /// its vault or workspace, which may be in another subscription than its cluster: its order
    /// by cluster only holds within one query, so it counts in the last group of subscriptions.
    fn same_subscription(self) -> bool {
        matches!(self, Table::Extensions | Table::Plans)
    }
}

/// How far one table has been read.
#[derive(Debug, Default)]
struct Progress {
    /// The greatest cluster subscription (lower-cased) its rows have reached.
    past: Option<String>,
    /// Whether `past` says all rows of the subscriptions before it are in.
    counts: bool,
    /// The greatest `past` reached while it counted: rows of clusters in subscriptions before
    /// it may have been made on its word.
    vouched: Option<String>,
    /// `Some` once the table is read: `Some(None)` whole, `Some(Some(why))` stopped.
    end: Option<Unread>,
}

impl Progress {
    /// Whether every row of clusters in `sub` is in.
    fn has_passed(&self, sub: &str) -> bool {
        self.end.is_some() || (self.counts && self.past.as_deref().is_some_and(|p| p > sub))
    }

    /// Why `sub`'s rows could not all be read, if they could not.
    fn unread_for(&self, sub: &str) -> Unread {
        match self.counts && self.past.as_deref().is_some_and(|p| p > sub) {
            true => None,
            false => self.end.clone().flatten(),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    clusters: HashMap<String, ClusterUse>,
    /// By lower-cased subscription: whether its Containers plan wants the Defender binding.
    defender: HashMap<String, bool>,
    tables: [Progress; 4],
    /// `--access`: the assignments once read (or why not).
    access: Option<Arc<Result<Access, String>>>,
    covered: Option<Arc<HashSet<String>>>,
    /// The greatest subscription of a cluster whose row was made.
    released: Option<String>,
    violation: Option<String>,
    /// The tables will never be read (discovery stopped before the scope was known).
    abandoned: bool,
    /// Rows waiting for the tables, by their cluster's subscription.
    waiting: std::collections::BTreeMap<String, usize>,
}

/// How far discovery has gone: the greatest subscription it handed a cluster of, and whether
/// it has ended.
#[derive(Debug, Default, Clone)]
struct Frontier {
    subscription: Option<String>,
    ended: bool,
}

/// The index being gathered, shared by the table readers and every cluster's row.
pub struct Gathering {
    state: Mutex<State>,
    changed: tokio::sync::watch::Sender<()>,
    /// Tables read no further ahead than discovery (see `room`).
    frontier: tokio::sync::watch::Sender<Frontier>,
    access: bool,
}

impl Gathering {
    /// `access`: whether rows also wait for `--access`' assignments.
    pub fn new(access: bool) -> Self {
        Gathering {
            state: Mutex::new(State::default()),
            changed: tokio::sync::watch::channel(()).0,
            frontier: tokio::sync::watch::channel(Frontier::default()).0,
            access,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn changed(&self) {
        self.changed.send_replace(());
    }

    /// The subscriptions (lower-cased) the queries cover; `None` for management groups.
    pub fn start(&self, covered: Option<HashSet<String>>) {
        let mut state = self.lock();
        state.covered = covered.map(Arc::new);
        state.tables.iter_mut().for_each(|t| t.counts = true);
    }

    /// A new group of subscriptions for `table` (`last`: the scope's last group).
    pub fn begin_group(&self, table: Table, last: bool) {
        if table.same_subscription() {
            return;
        }
        let mut state = self.lock();
        let progress = &mut state.tables[table.at()];
        progress.past = None;
        progress.counts = last;
    }

    /// One page of `table`: each row's cluster subscription (for the order) and what to record.
    pub fn page<R>(&self, table: Table, rows: Vec<R>, mut record: impl FnMut(R, &mut Sink<'_>)) {
        let mut state = self.lock();
        let state = &mut *state;
        let mut sink = Sink {
            clusters: &mut state.clusters,
            defender: &mut state.defender,
            subscription: None,
        };
        for row in rows {
            record(row, &mut sink);
            if let Some(sub) = sink.subscription.take() {
                order(
                    &mut state.tables[table.at()],
                    sub,
                    &state.released,
                    &mut state.violation,
                );
            }
        }
        drop(sink);
        self.changed();
    }

    /// `table` is read (`None`) or stopped (`Some(why)`).
    pub fn end(&self, table: Table, unread: Unread) {
        self.lock().tables[table.at()].end = Some(unread);
        self.changed();
    }

    /// `--access`' assignments, or why they could not be read.
    pub fn access_read(&self, access: Result<Access, String>) {
        self.lock().access = Some(Arc::new(access));
        self.changed();
    }

    /// The tables will never be read: rows get no service outcome.
    pub fn abandon(&self) {
        self.lock().abandoned = true;
        self.changed();
    }

    /// Discovery handed on a cluster of `subscription` (or a row of it).
    pub fn discovered(&self, subscription: &str) {
        let sub = subscription.to_ascii_lowercase();
        self.frontier.send_if_modified(|f| {
            let further = f.subscription.as_deref().is_none_or(|s| s < sub.as_str());
            if further {
                f.subscription = Some(sub);
            }
            further
        });
    }

    /// Discovery has ended: the tables read on freely.
    pub fn discovery_ended(&self) {
        self.frontier.send_modify(|f| f.ended = true);
    }

    /// Waits until `table` may ask for its next page: while it has already passed every
    /// subscription discovery has reached, it waits for discovery (which itself runs at most a
    /// backlog ahead of the rows). So the tables' pages spread over the audit beside the source
    /// checks that share Resource Graph's quota, instead of taking it all at the start, and the
    /// index holds only what is a little ahead of the rows. A row waits only on a table that has
    /// not passed its subscription, and such a table is never held here (the row's subscription
    /// is one discovery reached), so nothing waits on itself.
    pub async fn room(&self, table: Table) {
        let mut frontier = self.frontier.subscribe();
        loop {
            let ahead = {
                let state = self.lock();
                let progress = &state.tables[table.at()];
                let f = frontier.borrow_and_update();
                match (&progress.past, &f.subscription) {
                    _ if f.ended || !progress.counts => false,
                    (Some(past), Some(reached)) => past > reached,
                    (Some(_), None) => true,
                    (None, _) => false,
                }
            };
            if !ahead || frontier.changed().await.is_err() {
                return;
            }
        }
    }

    /// Why the audit's rows cannot be vouched for, when a table broke its order.
    pub fn violation(&self) -> Option<String> {
        self.lock().violation.clone()
    }

    /// Waits until every table has passed the cluster's subscription, then takes what uses the
    /// cluster and the rules' view of the index for it; `None` when the tables are never read.
    pub async fn cluster(
        &self,
        cluster_id: &str,
        subscription: &str,
    ) -> Option<(Index, ClusterUse)> {
        let sub = subscription.to_ascii_lowercase();
        let mut changed = self.changed.subscribe();
        let mut counted = false;
        loop {
            {
                let mut state = self.lock();
                if state.abandoned || self.ready(&state, &sub) {
                    if counted {
                        wait(&mut state.waiting, &sub, false);
                    }
                    return (!state.abandoned).then(|| take(&mut state, cluster_id, sub));
                }
                if !counted {
                    wait(&mut state.waiting, &sub, true);
                    counted = true;
                }
            }
            // The sender lives in `self`, so this only waits for the next change.
            if changed.changed().await.is_err() {
                return None;
            }
        }
    }

    /// Whether a row is waiting for `table` now (its next page is on the rows' path): the
    /// table has not passed the furthest subscription a row waits in.
    pub fn starved(&self, table: Table) -> bool {
        let state = self.lock();
        let Some(furthest) = state.waiting.keys().next_back() else {
            return false;
        };
        !state.tables[table.at()].has_passed(furthest)
    }

    fn ready(&self, state: &State, sub: &str) -> bool {
        state.tables.iter().all(|t| t.has_passed(sub)) && (!self.access || state.access.is_some())
    }
}

/// Counts a row in (`true`) or out of the rows waiting for `sub`.
fn wait(waiting: &mut std::collections::BTreeMap<String, usize>, sub: &str, start: bool) {
    if start {
        *waiting.entry(sub.to_string()).or_default() += 1;
    } else if let Some(n) = waiting.get_mut(sub) {
        *n -= 1;
        if *n == 0 {
            waiting.remove(sub);
        }
    }
}

/// Takes one cluster's entry and builds the rules' view of the index for it.
fn take(state: &mut State, cluster_id: &str, sub: String) -> (Index, ClusterUse) {
    let uses = state
        .clusters
        .remove(&cluster_id.trim_end_matches('/').to_ascii_lowercase())
        .unwrap_or_default();
    let unread = |t: Table| state.tables[t.at()].unread_for(&sub);
    let index = Index {
        defender: state
            .defender
            .get(&sub)
            .map(|wanted| HashMap::from([(sub.clone(), *wanted)]))
            .unwrap_or_default(),
        extensions: unread(Table::Extensions),
        backup: unread(Table::Backup),
        computes: unread(Table::Computes),
        plans: unread(Table::Plans),
        access: state.access.clone(),
        covered: state.covered.clone(),
    };
    if state.released.as_deref().is_none_or(|r| r < sub.as_str()) {
        state.released = Some(sub);
    }
    (index, uses)
}

/// Moves a table's progress to a row's subscription, or stops it counting when the row comes
/// before it; records a violation when a row already made may have missed this one.
fn order(
    progress: &mut Progress,
    sub: String,
    released: &Option<String>,
    violation: &mut Option<String>,
) {
    if !is_uuid(&sub) {
        return;
    }
    let late = progress
        .vouched
        .as_deref()
        .is_some_and(|v| sub.as_str() < v)
        && released.as_deref().is_some_and(|r| sub.as_str() <= r);
    if late && violation.is_none() {
        *violation = Some(format!(
            "Resource Graph returned a service table out of the order asked for (a row of subscription {sub} after {}); rows already written may have missed it",
            progress.vouched.as_deref().unwrap_or_default()
        ));
    }
    if !progress.counts {
        return;
    }
    match progress.past.as_deref() {
        Some(past) if sub.as_str() < past => progress.counts = false,
        Some(past) if sub.as_str() == past => {}
        _ => {
            progress.vouched = Some(sub.clone());
            progress.past = Some(sub);
        }
    }
}

/// Where a table's row is recorded: what uses a cluster, the Defender plans, and the row's
/// cluster subscription (set by the recorder, for the order).
pub struct Sink<'a> {
    clusters: &'a mut HashMap<String, ClusterUse>,
    defender: &'a mut HashMap<String, bool>,
    subscription: Option<String>,
}

impl Sink<'_> {
    /// What uses `cluster` (an id; anything else is left out), to be changed by `f`.
    pub fn cluster(&mut self, cluster: &str, f: impl FnOnce(&mut ClusterUse)) {
        if !cluster.starts_with('/') {
            return;
        }
        let key = cluster.trim_end_matches('/').to_ascii_lowercase();
        // Only a well-formed id counts for the order (`//subscriptions/…` sorts elsewhere).
        self.subscription = key
            .starts_with("/subscriptions/")
            .then(|| crate::domain::services::subscription_of(&key))
            .flatten();
        f(self.clusters.entry(key).or_default());
    }

    /// A subscription's Containers plan.
    pub fn plan(&mut self, subscription: String, wanted: bool) {
        self.subscription = Some(subscription.clone());
        self.defender.insert(subscription, wanted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S1: &str = "00000000-0000-0000-0000-000000000001";
    const S2: &str = "00000000-0000-0000-0000-000000000002";
    const S3: &str = "00000000-0000-0000-0000-000000000003";

    fn cluster(sub: &str, name: &str) -> String {
        format!(
            "/subscriptions/{sub}/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/{name}"
        )
    }

    /// Every table read but the backup table, which is in its last group or not.
    fn backup_only(last: bool) -> Gathering {
        let g = Gathering::new(false);
        g.start(None);
        for t in [Table::Extensions, Table::Computes, Table::Plans] {
            g.end(t, None);
        }
        g.begin_group(Table::Backup, last);
        g
    }

    fn backup_page(g: &Gathering, clusters: &[String]) {
        g.page(Table::Backup, clusters.to_vec(), |c, sink| {
            sink.cluster(&c, |u| u.backup_instances.push(format!("{c}/i")))
        });
    }

    fn now<T>(f: impl Future<Output = T>) -> Option<T> {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        match std::pin::pin!(f).poll(&mut cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        }
    }

    #[test]
    fn a_cluster_is_ready_once_every_table_has_passed_its_subscription() {
        let g = backup_only(true);
        backup_page(&g, &[cluster(S1, "a"), cluster(S2, "b")]);
        let (index, uses) = now(g.cluster(&cluster(S1, "a"), S1))
            .flatten()
            .expect("S1 is passed");
        assert_eq!(uses.backup_instances.len(), 1);
        assert_eq!(index.backup, None);
        assert!(
            now(g.cluster(&cluster(S2, "b"), S2)).is_none(),
            "S2 may go on"
        );
        g.end(Table::Backup, Some("429".into()));
        let (index, uses) = now(g.cluster(&cluster(S2, "b"), S2)).flatten().unwrap();
        assert_eq!(
            (uses.backup_instances.len(), index.backup.as_deref()),
            (1, Some("429"))
        );
        assert!(g.violation().is_none());
    }

    #[test]
    fn rows_out_of_order_stop_the_table_counting_and_fail_the_audit_when_late() {
        let g = backup_only(true);
        backup_page(&g, &[cluster(S1, "a"), cluster(S3, "c")]);
        assert!(now(g.cluster(&cluster(S1, "a"), S1)).is_some());
        // A row of S2 after S3: S2's rows were not made yet, so nothing printed was wrong.
        backup_page(&g, &[cluster(S2, "b")]);
        assert!(g.violation().is_none());
        assert!(
            now(g.cluster(&cluster(S2, "b"), S2)).is_none(),
            "waits for the end"
        );
        // A row of S1 now: S1's row was made without it.
        backup_page(&g, &[cluster(S1, "z")]);
        assert!(g.violation().is_some());
    }

    #[test]
    fn a_cross_subscription_table_counts_only_in_the_last_group() {
        let g = backup_only(false);
        backup_page(&g, &[cluster(S1, "a"), cluster(S3, "c")]);
        assert!(now(g.cluster(&cluster(S1, "a"), S1)).is_none());
        g.begin_group(Table::Backup, true);
        backup_page(&g, &[cluster(S1, "b"), cluster(S2, "b")]);
        let (_, uses) = now(g.cluster(&cluster(S1, "a"), S1)).flatten().unwrap();
        assert_eq!(uses.backup_instances.len(), 1);
        assert!(g.violation().is_none());
    }

    #[test]
    fn only_well_formed_ids_move_the_order() {
        let g = backup_only(true);
        backup_page(&g, &[format!("/{}", cluster(S3, "x")), cluster(S1, "a")]);
        assert!(
            now(g.cluster(&cluster(S1, "a"), S1)).is_none(),
            "S3's row did not count"
        );
        backup_page(&g, &[cluster(S2, "b")]);
        assert!(now(g.cluster(&cluster(S1, "a"), S1)).flatten().is_some());
        assert!(g.violation().is_none());
    }

    #[test]
    fn abandoned_tables_give_no_outcome() {
        let g = Gathering::new(true);
        g.abandon();
        assert_eq!(
            now(g.cluster(&cluster(S1, "a"), S1)).map(|o| o.is_none()),
            Some(true)
        );
    }
}
