//! What `audit --services` knows of one cluster and of the scope, as the service rules read it:
//! what uses the cluster (`ClusterUse`), each table's outcome for the cluster's subscription
//! and what every row shares (`Index`), and `--access`' assignments (`Access`).

use crate::domain::services::{parent_before, subscription_of};
use crate::domain::source_access::{Assignment, Chains, Definition};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

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

/// The index as the rules see it for one cluster: each table's outcome for the cluster's
/// subscription, its subscription's Defender plan, and what is shared by every row.
#[derive(Debug, Default)]
pub struct Index {
    /// The cluster's subscription (lower-cased) when its Containers plan is Standard: `true`
    /// with agentless features on, `false` without them.
    pub defender: HashMap<String, bool>,
    pub extensions: Unread,
    pub backup: Unread,
    pub computes: Unread,
    pub plans: Unread,
    /// `--access`: the assignments and definitions, or why they could not be read; `None`
    /// without `--access`.
    pub access: Option<Arc<Result<Access, String>>>,
    /// Subscriptions (lower-cased) the queries covered; `None` for management-group scopes.
    pub covered: Option<Arc<HashSet<String>>>,
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
    /// A cluster in a subscription the queries did not cover (named by id, not shown by the
    /// subscription listing, walked through ARM): each table's outcome for it is unknown, never
    /// "read, nothing found".
    pub fn outside_scope(&mut self, subscription: &str) {
        let sub = subscription.to_ascii_lowercase();
        if self.covered.as_ref().is_none_or(|c| c.contains(&sub)) {
            return;
        }
        let why = format!(
            "subscription {sub} is not in Resource Graph's scope (the subscription listing does not show it)"
        );
        for t in [
            &mut self.extensions,
            &mut self.backup,
            &mut self.computes,
            &mut self.plans,
        ] {
            t.get_or_insert_with(|| why.clone());
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_outside_the_queries_scope_is_unknown_on_every_table() {
        let covered = Some(Arc::new(HashSet::from(["s1".to_string()])));
        let mut inside = Index {
            covered: covered.clone(),
            ..Index::default()
        };
        inside.outside_scope("S1");
        assert_eq!((inside.backup, inside.computes), (None, None));
        let mut outside = Index {
            covered,
            plans: Some("429".into()),
            ..Index::default()
        };
        outside.outside_scope("s2");
        assert!(
            outside
                .backup
                .as_deref()
                .is_some_and(|w| w.contains("not in Resource Graph's scope"))
        );
        assert!(outside.extensions.is_some() && outside.computes.is_some());
        assert_eq!(
            outside.plans.as_deref(),
            Some("429"),
            "a known reason is kept"
        );
    }
}
