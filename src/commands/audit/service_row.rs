//! A cluster's row under `audit --services`: its service findings once the service index is
//! ready, and the row's `services` view with who can drive each binding's source.

use crate::arm::models::RoleBinding;
use crate::commands::audit::row::BindingView;
use crate::commands::audit::service_index::Gathering;
use crate::commands::audit::service_reach::Lookup;
use crate::commands::audit::service_rules::{self, ClusterFacts, Outcome};
use crate::commands::audit::verdict::Catalog;
use crate::commands::fleet::discovery::FoundCluster;
use crate::domain::roles::role_key;
use crate::domain::rules::Risk;
use serde_json::Value;

/// The service findings and view of one cluster, once every service table has passed its
/// subscription (`None` when they never will: the audit stopped before its scope was known).
pub async fn cluster_outcome(
    index: &Gathering,
    cluster: &FoundCluster,
    bindings: &[RoleBinding],
    catalog: Option<&Catalog>,
    max_risk: Option<Risk>,
    reach: &Lookup<'_>,
) -> Option<Outcome> {
    let cluster_id = cluster.id.path();
    let subscription = cluster.id.subscription.as_str().to_ascii_lowercase();
    let (mut index, uses) = index.cluster(&cluster_id, &subscription).await?;
    index.outside_scope(&subscription);
    let seen = reach.seen(&index, &subscription, bindings).await;
    let risks: Vec<Option<Risk>> = bindings
        .iter()
        .map(|b| {
            let catalog = catalog?;
            let roles = b.properties.roles.iter().flatten();
            roles
                .filter_map(|r| catalog.get(&role_key(r)).map(|e| e.0))
                .max()
        })
        .collect();
    Some(service_rules::evaluate(&ClusterFacts {
        cluster_id: &cluster_id,
        resource_group: cluster.id.resource_group.as_str(),
        cluster: cluster.id.name.as_str(),
        subscription: &subscription,
        bindings,
        uses: &uses,
        index: &index,
        seen: &seen,
        risks: &risks,
        max_risk,
    }))
}

/// The row's `services` view; each binding's view gets who can drive its source
/// (`principals`) and the risk they raise it to.
pub fn annotate(views: &mut [BindingView], outcome: Outcome) -> Value {
    for (view, drivers) in views.iter_mut().zip(outcome.drivers) {
        let Some((drivers, risk)) = drivers else {
            continue;
        };
        view.principals = Some(drivers);
        if risk.is_some() {
            view.risk = risk;
        }
    }
    outcome.view
}
