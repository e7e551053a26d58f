//! Desired state: `plan` (what would change), `apply` (make it so) and `export` (a manifest of
//! what exists). The clusters are the state: each plan starts from one read of every selected
//! cluster's bindings, and refuses before any write what the service would refuse.

pub mod apply;
pub mod diff;
pub mod discover;
pub mod export;
pub mod iac;
pub mod required;

use crate::arm::api;
use crate::arm::models::RoleBinding;
use crate::commands::fleet::catalogs::Catalogs;
use crate::context::Context;
use crate::domain::ids::{ClusterId, SubscriptionId};
use crate::domain::manifest::{Entry, Manifest};
use crate::domain::roles::RoleName;
use crate::domain::roles::role_key;
use crate::error::{Error, Result};
use crate::resolve::PruneOptions;
use diff::{Action, MAX_BINDINGS_PER_CLUSTER};
use discover::Target;
use futures_util::stream::{self, StreamExt};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;

/// What `plan` computed for one cluster.
#[derive(Debug)]
pub struct ClusterPlan {
    pub cluster: ClusterId,
    /// The actions in the order `apply` carries them out, or why the cluster could not be read.
    pub actions: std::result::Result<Vec<Action>, String>,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub clusters: Vec<ClusterPlan>,
    /// What the service would refuse (nothing may be written while there is one).
    pub refusals: Vec<String>,
    /// Selectors that matched nothing.
    pub warnings: Vec<String>,
}

impl Plan {
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.clusters
            .iter()
            .filter_map(|c| c.actions.as_ref().ok())
            .flatten()
    }
    pub fn changes(&self) -> usize {
        self.actions().filter(|a| a.kind.writes()).count()
    }
    pub fn errors(&self) -> usize {
        self.clusters.iter().filter(|c| c.actions.is_err()).count()
    }
    /// The list `-o json` prints: one object per action, and one per unreadable cluster.
    pub fn to_json(&self) -> Value {
        let mut out = Vec::new();
        for c in &self.clusters {
            match &c.actions {
                Ok(actions) => out.extend(actions.iter().map(Action::to_json)),
                Err(why) => out.push(error_json(&c.cluster, why)),
            }
        }
        Value::Array(out)
    }
}

/// The order to work through clusters in: one of each subscription in turn. ARM budgets reads
/// and writes per subscription, and the client pauses a subscription whose budget runs low; in
/// subscription order, every parallel slot would wait on that one subscription while the others
/// have budget to spare. Returns indices into `clusters`.
pub fn by_subscription_in_turn(clusters: &[&ClusterId]) -> Vec<usize> {
    let mut queues: Vec<(String, std::collections::VecDeque<usize>)> = Vec::new();
    for (i, c) in clusters.iter().enumerate() {
        let sub = c.subscription.as_str().to_ascii_lowercase();
        match queues.iter_mut().find(|(s, _)| *s == sub) {
            Some((_, q)) => q.push_back(i),
            None => queues.push((sub, [i].into())),
        }
    }
    let mut order = Vec::with_capacity(clusters.len());
    while order.len() < clusters.len() {
        for (_, q) in &mut queues {
            order.extend(q.pop_front());
        }
    }
    order
}

pub fn error_json(cluster: &ClusterId, why: &str) -> Value {
    json!({"cluster": cluster.path(), "name": null, "action": "error", "before": null, "after": null, "reason": why})
}

struct Planner<'a> {
    ctx: &'a Context,
    manifest: &'a Manifest,
    prune: &'a PruneOptions,
    names: &'a discover::Names,
    /// Each location's catalog as lower-cased `<type>/<name>`.
    catalogs: Catalogs<HashSet<String>>,
}

/// Reads every selected cluster (in parallel, `parallel` at a time) and computes its actions.
pub async fn plan(
    ctx: &Context,
    manifest: &Manifest,
    prune: &PruneOptions,
    parallel: usize,
) -> Result<Plan> {
    let resolution = discover::resolve(ctx, manifest, parallel).await?;
    check_conflicts(manifest, &resolution.targets)?;
    let planner = Planner {
        ctx,
        manifest,
        prune,
        names: &resolution.names,
        catalogs: Catalogs::default(),
    };
    // Unordered: a slow cluster must not hold the window's other slots (the plan is sorted below).
    let ids: Vec<&ClusterId> = resolution.targets.iter().map(|t| &t.cluster.id).collect();
    let order = by_subscription_in_turn(&ids);
    let mut planned: Vec<(ClusterPlan, Vec<String>)> = stream::iter(order)
        .map(|i| planner.cluster(&resolution.targets[i]))
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    // The targets' order (by cluster key), so refusals are listed the same way every run.
    planned.sort_by_key(|(c, _)| c.cluster.key());
    let mut plan = Plan {
        warnings: resolution.empty_selectors,
        ..Plan::default()
    };
    for (cluster, why) in resolution.unreachable {
        plan.clusters.push(ClusterPlan {
            cluster,
            actions: Err(why),
        });
    }
    for (cluster_plan, refusals) in planned {
        plan.refusals.extend(refusals);
        plan.clusters.push(cluster_plan);
    }
    plan.clusters
        .sort_by_key(|c| (c.cluster.key(), c.actions.is_ok()));
    Ok(plan)
}

/// One read of a cluster's bindings, each name once (see `diff::merge_duplicates`), or why not.
pub async fn read_bindings(
    ctx: &Context,
    id: &ClusterId,
) -> std::result::Result<Vec<RoleBinding>, String> {
    let listed = api::list_bindings(&ctx.client, id)
        .await
        .map_err(|e| format!("cannot read the bindings: {}", e.first_line()))?;
    diff::merge_duplicates(listed)
}

/// The refusal of a cluster that would pass the service's limit of bindings, if it would.
fn limit_refusal(id: &ClusterId, existing: usize, actions: &[Action]) -> Option<String> {
    let after = diff::bindings_after(existing, actions);
    (after > MAX_BINDINGS_PER_CLUSTER).then(|| {
        format!(
            "cluster {}: would hold {after} bindings, more than the service's limit of {MAX_BINDINGS_PER_CLUSTER} (it has {existing})",
            id.path()
        )
    })
}

/// Two entries that want different things on one cluster: the same name with another source or
/// roles. Refused (exit 2) with both lines.
fn check_conflicts(manifest: &Manifest, targets: &[Target]) -> Result<()> {
    for target in targets {
        let entries: Vec<&Entry> = target
            .entries
            .iter()
            .map(|i| &manifest.entries[*i])
            .collect();
        for (i, a) in entries.iter().enumerate() {
            for b in &entries[i + 1..] {
                let same_name = a.name.as_str().eq_ignore_ascii_case(b.name.as_str());
                let same_source = a.source.as_str().eq_ignore_ascii_case(b.source.as_str());
                let same_roles = a.roles.len() == b.roles.len()
                    && a.roles.iter().all(|r| {
                        b.roles
                            .iter()
                            .any(|s| s.as_str().eq_ignore_ascii_case(r.as_str()))
                    });
                // One source under two names is allowed (the service, and real fleets, have
                // Defender's binding beside a user's): `export` writes such clusters.
                let what = match (same_name, same_source) {
                    (true, true) if same_roles => continue,
                    (true, _) => format!("two different bindings named '{}'", a.name.as_str()),
                    (false, _) => continue,
                };
                return Err(Error::usage_with_hint(
                    format!(
                        "{file}:{}: and {file}:{}: ask for {what} on cluster {}",
                        a.line,
                        b.line,
                        target.cluster.id.path(),
                        file = manifest.file
                    ),
                    "each cluster holds one binding per name; merge or narrow the entries",
                ));
            }
        }
    }
    Ok(())
}

impl Planner<'_> {
    /// One read of the cluster's bindings, its actions, and what the service would refuse.
    async fn cluster(&self, target: &Target) -> (ClusterPlan, Vec<String>) {
        let id = target.cluster.id.clone();
        let unreadable = |cluster, why| ClusterPlan {
            cluster,
            actions: Err(why),
        };
        let existing = match read_bindings(self.ctx, &id).await {
            Ok(b) => b,
            Err(why) => return (unreadable(id, why), vec![]),
        };
        let mut entries = target.entries.clone();
        let mut actions = self.actions(&id, &entries, &existing);
        if actions.iter().any(|a| a.kind == diff::ActionKind::Delete)
            && discover::has_tag_selectors(self.manifest)
        {
            // Resource Graph lags ARM: a tag selector may have dropped this cluster on old tags,
            // and what it wanted would then be pruned. ARM's tags decide before any delete.
            match self.confirmed_entries(target).await {
                Ok(fresh) if fresh != entries => {
                    actions = self.actions(&id, &fresh, &existing);
                    entries = fresh;
                }
                Ok(_) => {}
                Err(why) => return (unreadable(id, why), vec![]),
            }
        }
        let wanted: Vec<&Entry> = entries.iter().map(|i| &self.manifest.entries[*i]).collect();
        let mut refusals: Vec<String> = limit_refusal(&id, existing.len(), &actions)
            .into_iter()
            .collect();
        if actions.iter().any(|a| a.kind.grants_roles()) {
            let location = &target.cluster.location;
            match self.catalog(&id.subscription, location).await {
                Ok(catalog) => refusals.extend(self.roles_refused(
                    &target.cluster,
                    &actions,
                    &wanted,
                    &catalog,
                )),
                Err(e) => {
                    let why = format!("cannot read the role catalog of {location}: {e}");
                    return (unreadable(id, why), refusals);
                }
            }
        }
        let planned = ClusterPlan {
            cluster: id,
            actions: Ok(actions),
        };
        (planned, refusals)
    }

    fn actions(&self, id: &ClusterId, entries: &[usize], existing: &[RoleBinding]) -> Vec<Action> {
        let wanted: Vec<&Entry> = entries.iter().map(|i| &self.manifest.entries[*i]).collect();
        diff::cluster_actions(id, &wanted, existing, self.prune)
    }

    /// The entries that apply to the cluster by its tags as ARM has them now (one GET), checked
    /// for conflicts as the plan's were; why not, when it cannot be read or they conflict.
    async fn confirmed_entries(&self, target: &Target) -> std::result::Result<Vec<usize>, String> {
        let id = &target.cluster.id;
        let cluster = discover::read_cluster(self.ctx, id).await.map_err(|e| {
            format!(
                "cannot confirm the cluster's tags through ARM before a prune: {}",
                e.first_line()
            )
        })?;
        let entries = discover::entries_for(self.manifest, self.names, &cluster)
            .map_err(|e| e.first_line())?;
        let fresh = Target { cluster, entries };
        check_conflicts(self.manifest, std::slice::from_ref(&fresh)).map_err(|e| e.first_line())?;
        Ok(fresh.entries)
    }

    /// Roles the writes would grant that the location's catalog does not offer.
    fn roles_refused(
        &self,
        cluster: &crate::commands::fleet::listing::ListedCluster,
        actions: &[Action],
        wanted: &[&Entry],
        catalog: &HashSet<String>,
    ) -> Vec<String> {
        let mut refusals = Vec::new();
        for action in actions.iter().filter(|a| a.kind.grants_roles()) {
            let entry = wanted
                .iter()
                .find(|e| e.name.as_str().eq_ignore_ascii_case(&action.name));
            let roles: &[RoleName] = entry.map_or(&[], |e| &e.roles);
            for role in roles {
                if !catalog.contains(&role_key(role.as_str())) {
                    refusals.push(format!(
                        "{}:{}: role '{}' is not offered in {} (cluster {})",
                        self.manifest.file,
                        entry.map_or(0, |e| e.line),
                        role.as_str(),
                        cluster.location,
                        cluster.id.path()
                    ));
                }
            }
        }
        refusals
    }

    async fn catalog(
        &self,
        sub: &SubscriptionId,
        location: &str,
    ) -> std::result::Result<Arc<HashSet<String>>, String> {
        self.catalogs
            .get(sub, location, |location| async move {
                api::list_roles(&self.ctx.client, sub, &location)
                    .await
                    .map(|roles| {
                        roles
                            .iter()
                            .filter_map(|r| Some(role_key(&r.qualified()?)))
                            .collect()
                    })
                    .map_err(|e| e.to_string())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clusters_are_taken_one_subscription_at_a_time() {
        let id = |sub: u8, name: &str| {
            ClusterId::parse_id(&format!(
                "/subscriptions/0000000{sub}-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{name}"
            ))
            .unwrap()
        };
        let clusters = [
            id(1, "a"),
            id(1, "b"),
            id(1, "c"),
            id(2, "d"),
            id(3, "e"),
            id(3, "f"),
        ];
        let refs: Vec<&ClusterId> = clusters.iter().collect();
        assert_eq!(by_subscription_in_turn(&refs), [0, 3, 4, 1, 5, 2]);
        assert!(by_subscription_in_turn(&[]).is_empty());
    }
}
