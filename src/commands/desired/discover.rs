//! Which clusters a manifest or an export covers: cluster ids and selectors (subscription id or
//! display name, resource group, tags) resolved against the clusters each subscription lists.
//! Discovery walks ARM (one paged list per subscription); it sits behind `list_clusters` so a
//! Resource Graph query can take its place without touching the callers.

use crate::arm::api;
use crate::arm::ids::{ClusterId, ClusterName, ResourceGroupName, SubscriptionId};
use crate::arm::models::ManagedCluster;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::manifest::{ClusterRef, Manifest, Selector};
use futures_util::stream::{self, StreamExt};
use std::collections::{BTreeMap, HashMap};

/// A cluster as discovery sees it.
#[derive(Debug, Clone)]
pub struct FoundCluster {
    pub id: ClusterId,
    pub location: String,
    pub tags: BTreeMap<String, String>,
}

/// The clusters of one subscription (ARM: `GET …/managedClusters`, paged).
pub async fn list_clusters(ctx: &Context, sub: &SubscriptionId) -> Result<Vec<FoundCluster>> {
    let clusters = api::list_clusters(&ctx.client, sub).await?;
    Ok(clusters.into_iter().filter_map(|c| found(sub, c)).collect())
}

fn found(sub: &SubscriptionId, cluster: ManagedCluster) -> Option<FoundCluster> {
    let id = cluster.id.as_deref()?;
    let parsed = ClusterId::parse_id(id).ok().or_else(|| {
        // Keep the listed subscription when the id is odd but the name and group are not.
        Some(ClusterId {
            subscription: sub.clone(),
            resource_group: ResourceGroupName::parse(crate::arm::ids::resource_group_of(id)?)
                .ok()?,
            name: ClusterName::parse(cluster.name.as_deref()?).ok()?,
        })
    })?;
    let tags = cluster.tags.unwrap_or_default();
    Some(FoundCluster {
        id: parsed,
        location: cluster.location.unwrap_or_default().to_ascii_lowercase(),
        tags,
    })
}

/// The clusters of several subscriptions, listed side by side; a subscription that cannot be
/// listed is reported, not fatal.
pub async fn list_many(
    ctx: &Context,
    subs: Vec<SubscriptionId>,
    parallel: usize,
) -> Vec<(SubscriptionId, Result<Vec<FoundCluster>>)> {
    stream::iter(subs)
        .map(|sub| async move {
            let listed = list_clusters(ctx, &sub).await;
            (sub, listed)
        })
        .buffered(parallel.max(1))
        .collect()
        .await
}

/// One cluster a manifest covers and the entries (indices) that apply to it.
#[derive(Debug)]
pub struct Target {
    pub cluster: FoundCluster,
    pub entries: Vec<usize>,
}

/// The manifest's clusters, in a stable order, and the ones that could not be found or read.
pub struct Resolution {
    pub targets: Vec<Target>,
    /// A named cluster that does not exist, or whose subscription cannot be listed.
    pub unreachable: Vec<(ClusterId, String)>,
    /// Selectors that matched no cluster (worth a warning).
    pub empty_selectors: Vec<String>,
}

/// Resolves every entry's clusters: one list per subscription involved.
pub async fn resolve(ctx: &Context, manifest: &Manifest, parallel: usize) -> Result<Resolution> {
    let names = subscription_names(ctx, manifest).await?;
    let mut subs: Vec<SubscriptionId> = Vec::new();
    let mut add = |s: &SubscriptionId| {
        if !subs
            .iter()
            .any(|x| x.as_str().eq_ignore_ascii_case(s.as_str()))
        {
            subs.push(s.clone());
        }
    };
    for entry in &manifest.entries {
        for r in &entry.clusters {
            match r {
                ClusterRef::Id(id) => add(&id.subscription),
                ClusterRef::Selector(s) => add(&selector_subscription(s, &names, manifest)?),
            }
        }
    }
    let mut listed: HashMap<String, std::result::Result<Vec<FoundCluster>, String>> =
        HashMap::new();
    for (sub, clusters) in list_many(ctx, subs, parallel).await {
        let clusters = clusters.map_err(|e| e.to_string());
        listed.insert(sub.as_str().to_ascii_lowercase(), clusters);
    }
    let mut targets: BTreeMap<String, Target> = BTreeMap::new();
    let mut unreachable: BTreeMap<String, (ClusterId, String)> = BTreeMap::new();
    let mut empty_selectors = Vec::new();
    for (index, entry) in manifest.entries.iter().enumerate() {
        for r in &entry.clusters {
            let matched: Vec<&FoundCluster> = match r {
                ClusterRef::Id(id) => {
                    let key = id.subscription.as_str().to_ascii_lowercase();
                    match listed.get(&key) {
                        Some(Ok(clusters)) => {
                            match clusters.iter().find(|c| c.id.key() == id.key()) {
                                Some(c) => vec![c],
                                None => {
                                    unreachable.insert(
                                        id.key(),
                                        (id.clone(), "the cluster does not exist".into()),
                                    );
                                    vec![]
                                }
                            }
                        }
                        Some(Err(e)) => {
                            unreachable.insert(id.key(), (id.clone(), e.clone()));
                            vec![]
                        }
                        None => vec![],
                    }
                }
                ClusterRef::Selector(s) => {
                    let sub = selector_subscription(s, &names, manifest)?;
                    match listed.get(&sub.as_str().to_ascii_lowercase()) {
                        Some(Ok(clusters)) => {
                            let m: Vec<&FoundCluster> =
                                clusters.iter().filter(|c| matches(s, c)).collect();
                            if m.is_empty() {
                                empty_selectors.push(format!(
                                    "{}:{}: the selector matches no cluster",
                                    manifest.file, s.line
                                ));
                            }
                            m
                        }
                        Some(Err(e)) => {
                            return Err(Error::Config {
                                message: format!(
                                    "{}:{}: cannot list the clusters of subscription '{}': {e}",
                                    manifest.file, s.line, s.subscription
                                ),
                                hint: None,
                            });
                        }
                        None => vec![],
                    }
                }
            };
            for cluster in matched {
                let target = targets.entry(cluster.id.key()).or_insert_with(|| Target {
                    cluster: cluster.clone(),
                    entries: Vec::new(),
                });
                if !target.entries.contains(&index) {
                    target.entries.push(index);
                }
            }
        }
    }
    Ok(Resolution {
        targets: targets.into_values().collect(),
        unreachable: unreachable.into_values().collect(),
        empty_selectors,
    })
}

/// Display names used by selectors, resolved with one list of the visible subscriptions.
async fn subscription_names(
    ctx: &Context,
    manifest: &Manifest,
) -> Result<HashMap<String, Vec<SubscriptionId>>> {
    let needs_names = manifest.entries.iter().any(|e| {
        e.clusters.iter().any(|r| {
            matches!(r, ClusterRef::Selector(s) if SubscriptionId::parse(&s.subscription).is_none())
        })
    });
    let mut names: HashMap<String, Vec<SubscriptionId>> = HashMap::new();
    if !needs_names {
        return Ok(names);
    }
    for s in api::list_subscriptions(&ctx.client).await? {
        if let (Some(name), Some(id)) = (
            s.display_name,
            s.subscription_id.as_deref().and_then(SubscriptionId::parse),
        ) {
            names.entry(name.to_lowercase()).or_default().push(id);
        }
    }
    Ok(names)
}

fn selector_subscription(
    s: &Selector,
    names: &HashMap<String, Vec<SubscriptionId>>,
    manifest: &Manifest,
) -> Result<SubscriptionId> {
    if let Some(id) = SubscriptionId::parse(&s.subscription) {
        return Ok(id);
    }
    match names.get(&s.subscription.to_lowercase()).map(Vec::as_slice) {
        Some([one]) => Ok(one.clone()),
        Some(_) => Err(Error::Config {
            message: format!(
                "{}:{}: subscription name '{}' is ambiguous",
                manifest.file, s.line, s.subscription
            ),
            hint: Some("use the subscription's id".into()),
        }),
        None => Err(Error::Config {
            message: format!(
                "{}:{}: subscription '{}' not found",
                manifest.file, s.line, s.subscription
            ),
            hint: Some(
                "see the subscriptions this identity can see with 'az account list -o table'"
                    .into(),
            ),
        }),
    }
}

/// A selector matches a cluster of its subscription in its resource group (if given) carrying
/// every tag (names case-insensitive, values exact, as Azure Policy compares them).
fn matches(s: &Selector, c: &FoundCluster) -> bool {
    let group_ok = s.resource_group.as_ref().is_none_or(|g| {
        g.as_str()
            .eq_ignore_ascii_case(c.id.resource_group.as_str())
    });
    group_ok
        && s.tags.iter().all(|(name, value)| {
            c.tags
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case(name) && v == value)
        })
}
