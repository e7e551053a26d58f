//! ARM's listing of whole subscriptions, collected (`plan`/`apply` confirming ids Resource Graph
//! did not show, `export`): which subscriptions are searched, the one reading of a listed
//! cluster's id (the audit's ARM walk uses it too), and the clusters of several subscriptions
//! listed side by side.

use crate::arm::api;
use crate::arm::models::{ManagedCluster, Subscription};
use crate::context::Context;
use crate::domain::ids::{ClusterId, ClusterName, ResourceGroupName, SubscriptionId};
use crate::error::Result;
use crate::subscription;
use futures_util::stream::{self, StreamExt};
use std::collections::BTreeMap;

/// A cluster as a listing shows it, for the desired-state commands (location lower-cased: the
/// catalogs and the manifest compare it so).
#[derive(Debug, Clone)]
pub struct ListedCluster {
    pub id: ClusterId,
    pub location: String,
    pub tags: BTreeMap<String, String>,
}

/// Whether a subscription is searched when none is named: `Enabled` (ARM's state,
/// case-insensitively). The audit's discovery skips the others by the same rule.
pub fn enabled(s: &Subscription) -> bool {
    s.state
        .as_deref()
        .is_some_and(|st| st.eq_ignore_ascii_case("Enabled"))
}

/// A listed cluster's id, one rule for every listing: the subscription listed, the resource
/// group of ARM's id and the cluster's name (an odd id with a sound group and name is kept);
/// `None` when they do not make a managed cluster this tool can address.
pub fn cluster_id_of(sub: &SubscriptionId, cluster: &ManagedCluster) -> Option<ClusterId> {
    let id = cluster.id.as_deref()?;
    Some(ClusterId {
        subscription: sub.clone(),
        resource_group: ResourceGroupName::parse(crate::domain::ids::resource_group_of(id)?)
            .ok()?,
        name: ClusterName::parse(cluster.name.as_deref()?).ok()?,
    })
}

/// The subscriptions named (through the one resolver, as every command), else every Enabled one.
pub async fn subscriptions(ctx: &Context, wanted: &[String]) -> Result<Vec<SubscriptionId>> {
    if !wanted.is_empty() {
        let resolved = subscription::resolve_all(&ctx.client, &ctx.az_profile(), wanted).await?;
        return Ok(resolved.into_iter().map(|r| r.id).collect());
    }
    Ok(api::list_subscriptions(&ctx.client)
        .await?
        .iter()
        .filter(|s| enabled(s))
        .filter_map(|s| s.subscription_id.as_deref().and_then(SubscriptionId::parse))
        .collect())
}

/// The clusters of one subscription (ARM: `GET …/managedClusters`, paged).
pub async fn list_clusters(ctx: &Context, sub: &SubscriptionId) -> Result<Vec<ListedCluster>> {
    let clusters = api::list_clusters(&ctx.client, sub).await?;
    Ok(clusters
        .into_iter()
        .filter_map(|c| {
            Some(ListedCluster {
                id: cluster_id_of(sub, &c)?,
                location: c.location.unwrap_or_default().to_ascii_lowercase(),
                tags: c.tags.unwrap_or_default(),
            })
        })
        .collect())
}

/// The clusters of several subscriptions, listed side by side; a subscription that cannot be
/// listed is reported, not fatal.
pub async fn list_many(
    ctx: &Context,
    subs: Vec<SubscriptionId>,
    parallel: usize,
) -> Vec<(SubscriptionId, Result<Vec<ListedCluster>>)> {
    stream::iter(subs)
        .map(|sub| async move {
            let listed = list_clusters(ctx, &sub).await;
            (sub, listed)
        })
        .buffered(parallel.max(1))
        .collect()
        .await
}
