//! Which clusters a manifest or an export covers: cluster ids and selectors (subscription id or
//! display name, resource group, tags). A manifest's clusters are found by the fleet audit's
//! discovery (one Resource Graph query over every subscription involved, ARM's listing when
//! Resource Graph refuses); a cluster named by id that Resource Graph does not show (it lags
//! behind ARM) is looked for in its subscription's ARM listing (`fleet::listing`) before it is
//! called missing.

use crate::arm::api;
use crate::commands::fleet::discovery::{self, Found};
use crate::commands::fleet::listing::{ListedCluster, list_many};
use crate::context::Context;
use crate::domain::ids::{ClusterId, SubscriptionId};
use crate::domain::manifest::{ClusterRef, Manifest, Selector};
use crate::error::{Error, Result};
use crate::resolve::DiscoveryMode;
use crate::subscription;
use std::collections::{BTreeMap, HashMap};

/// One cluster a manifest covers and the entries (indices) that apply to it.
#[derive(Debug)]
pub struct Target {
    pub cluster: ListedCluster,
    pub entries: Vec<usize>,
}

/// The manifest's clusters, in a stable order, and the ones that could not be found or read.
pub struct Resolution {
    pub targets: Vec<Target>,
    /// A named cluster that does not exist, or whose subscription cannot be listed.
    pub unreachable: Vec<(ClusterId, String)>,
    /// Selectors that matched no cluster (worth a warning).
    pub empty_selectors: Vec<String>,
    /// Each selector's subscription, resolved.
    pub names: Names,
}

/// The subscription each selector names (its text lower-cased: an id or a display name),
/// resolved once through the one resolver.
pub type Names = HashMap<String, SubscriptionId>;

/// What discovery found per subscription (lower-cased id): its clusters (by lower-cased id), or
/// why it is unreadable.
type Listed = HashMap<String, std::result::Result<BTreeMap<String, ListedCluster>, String>>;

/// Resolves every entry's clusters: one discovery over every subscription involved.
pub async fn resolve(ctx: &Context, manifest: &Manifest, parallel: usize) -> Result<Resolution> {
    let names = subscription_names(ctx, manifest).await?;
    let subs = involved_subscriptions(manifest, &names)?;
    let mut listed = discovered(ctx, &subs, parallel).await?;
    confirm_missing_ids(ctx, manifest, &mut listed, parallel).await;
    let mut resolution = Resolution {
        targets: Vec::new(),
        unreachable: Vec::new(),
        empty_selectors: Vec::new(),
        names: HashMap::new(),
    };
    let mut targets: BTreeMap<String, Target> = BTreeMap::new();
    let mut unreachable: BTreeMap<String, (ClusterId, String)> = BTreeMap::new();
    for (index, entry) in manifest.entries.iter().enumerate() {
        for r in &entry.clusters {
            let matched = match r {
                ClusterRef::Id(id) => match find_id(&listed, id) {
                    Ok(found) => found.into_iter().collect(),
                    Err(why) => {
                        unreachable.insert(id.key(), (id.clone(), why));
                        vec![]
                    }
                },
                ClusterRef::Selector(s) => {
                    let sub = selector_subscription(s, &names, manifest)?;
                    let m = select(&listed, s, &sub, manifest)?;
                    if m.is_empty() {
                        resolution.empty_selectors.push(format!(
                            "{}:{}: the selector matches no cluster",
                            manifest.file, s.line
                        ));
                    }
                    m
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
    resolution.targets = targets.into_values().collect();
    resolution.unreachable = unreachable.into_values().collect();
    resolution.names = names;
    Ok(resolution)
}

/// The entries (indices, in the manifest's order) that apply to one cluster as `cluster` shows
/// it: those naming its id, and those whose selector matches it.
pub fn entries_for(
    manifest: &Manifest,
    names: &Names,
    cluster: &ListedCluster,
) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    for (index, entry) in manifest.entries.iter().enumerate() {
        let mut applies = false;
        for r in &entry.clusters {
            applies |= match r {
                ClusterRef::Id(id) => id.key() == cluster.id.key(),
                ClusterRef::Selector(s) => {
                    let sub = selector_subscription(s, names, manifest)?;
                    sub.as_str()
                        .eq_ignore_ascii_case(cluster.id.subscription.as_str())
                        && matches(s, cluster)
                }
            };
        }
        if applies {
            out.push(index);
        }
    }
    Ok(out)
}

/// Whether any selector picks clusters by tag (which Resource Graph may show stale).
pub fn has_tag_selectors(manifest: &Manifest) -> bool {
    manifest
        .entries
        .iter()
        .flat_map(|e| &e.clusters)
        .any(|r| matches!(r, ClusterRef::Selector(s) if !s.tags.is_empty()))
}

/// One cluster read through ARM (its current tags), for a membership Resource Graph decided.
pub async fn read_cluster(ctx: &Context, id: &ClusterId) -> Result<ListedCluster> {
    let cluster = api::get_cluster(&ctx.client, id).await?;
    Ok(ListedCluster {
        id: id.clone(),
        location: cluster.location.unwrap_or_default().to_ascii_lowercase(),
        tags: cluster.tags.unwrap_or_default(),
    })
}

/// Every subscription the manifest's ids and selectors name, once each, in order.
fn involved_subscriptions(
    manifest: &Manifest,
    names: &HashMap<String, SubscriptionId>,
) -> Result<Vec<SubscriptionId>> {
    let mut subs: Vec<SubscriptionId> = Vec::new();
    for r in manifest.entries.iter().flat_map(|e| &e.clusters) {
        let sub = match r {
            ClusterRef::Id(id) => id.subscription.clone(),
            ClusterRef::Selector(s) => selector_subscription(s, names, manifest)?,
        };
        if !subs
            .iter()
            .any(|x| x.as_str().eq_ignore_ascii_case(sub.as_str()))
        {
            subs.push(sub);
        }
    }
    Ok(subs)
}

/// The clusters of `subs` by the fleet audit's discovery (Resource Graph, else ARM).
async fn discovered(ctx: &Context, subs: &[SubscriptionId], parallel: usize) -> Result<Listed> {
    let mut listed: Listed = subs
        .iter()
        .map(|s| (s.as_str().to_ascii_lowercase(), Ok(BTreeMap::new())))
        .collect();
    if subs.is_empty() {
        return Ok(listed);
    }
    let selector = crate::resolve::Selector {
        subscriptions: subs.iter().map(|s| s.as_str().to_string()).collect(),
        ..Default::default()
    };
    let found = discovery::clusters(ctx, &selector, DiscoveryMode::Auto, parallel).await?;
    for f in found {
        let (sub, outcome) = match f {
            Found::Cluster(c) => {
                let key = c.id.subscription.as_str().to_ascii_lowercase();
                if let Some(Ok(clusters)) = listed.get_mut(&key) {
                    let found = ListedCluster {
                        id: c.id,
                        location: c.location.to_ascii_lowercase(),
                        tags: c.tags,
                    };
                    clusters.insert(found.id.key(), found);
                }
                continue;
            }
            Found::Skipped {
                subscription,
                state,
                ..
            } => {
                let why = format!("subscription {} is {state}", subscription.display());
                (subscription.id, why)
            }
            Found::Unreadable {
                subscription,
                error,
            } => (subscription.id, error.first_line()),
        };
        listed.insert(sub.as_str().to_ascii_lowercase(), Err(outcome));
    }
    Ok(listed)
}

/// Resource Graph lags behind ARM: the subscriptions of ids it did not show are listed through
/// ARM before those clusters are called missing.
async fn confirm_missing_ids(
    ctx: &Context,
    manifest: &Manifest,
    listed: &mut Listed,
    parallel: usize,
) {
    let mut subs: Vec<SubscriptionId> = Vec::new();
    for r in manifest.entries.iter().flat_map(|e| &e.clusters) {
        if let ClusterRef::Id(id) = r
            && matches!(find_id(listed, id), Err(ref why) if why == MISSING)
            && !subs
                .iter()
                .any(|s| s.as_str().eq_ignore_ascii_case(id.subscription.as_str()))
        {
            subs.push(id.subscription.clone());
        }
    }
    for (sub, clusters) in list_many(ctx, subs, parallel).await {
        let clusters = clusters
            .map(|found| found.into_iter().map(|c| (c.id.key(), c)).collect())
            .map_err(|e| e.first_line());
        listed.insert(sub.as_str().to_ascii_lowercase(), clusters);
    }
}

const MISSING: &str = "the cluster does not exist";

/// A cluster named by id, or why it cannot be planned.
fn find_id<'a>(
    listed: &'a Listed,
    id: &ClusterId,
) -> std::result::Result<Option<&'a ListedCluster>, String> {
    match listed.get(&id.subscription.as_str().to_ascii_lowercase()) {
        Some(Ok(clusters)) => match clusters.get(&id.key()) {
            Some(c) => Ok(Some(c)),
            None => Err(MISSING.into()),
        },
        Some(Err(e)) => Err(e.clone()),
        None => Ok(None),
    }
}

/// The clusters a selector picks; an unreadable subscription stops the plan.
fn select<'a>(
    listed: &'a Listed,
    s: &Selector,
    sub: &SubscriptionId,
    manifest: &Manifest,
) -> Result<Vec<&'a ListedCluster>> {
    match listed.get(&sub.as_str().to_ascii_lowercase()) {
        Some(Ok(clusters)) => Ok(clusters.values().filter(|c| matches(s, c)).collect()),
        Some(Err(e)) => Err(Error::Config {
            message: format!(
                "{}:{}: cannot list the clusters of subscription '{}': {e}",
                manifest.file, s.line, s.subscription
            ),
            hint: None,
        }),
        None => Ok(vec![]),
    }
}

/// Each selector's subscription (an id or a display name) through the one resolver, once per
/// distinct value; a refusal names the selector's file and line.
async fn subscription_names(ctx: &Context, manifest: &Manifest) -> Result<Names> {
    let profile = ctx.az_profile();
    let mut visible = None;
    let mut names: Names = HashMap::new();
    for s in manifest.entries.iter().flat_map(|e| &e.clusters) {
        let ClusterRef::Selector(s) = s else { continue };
        let key = s.subscription.to_lowercase();
        if names.contains_key(&key) {
            continue;
        }
        let wanted = std::slice::from_ref(&s.subscription);
        let resolved =
            subscription::resolve_all_listing(&ctx.client, &profile, wanted, &mut visible)
                .await
                .map_err(|e| at_line(e, manifest, s.line))?;
        if let Some(one) = resolved.into_iter().next() {
            names.insert(key, one.id);
        }
    }
    Ok(names)
}

/// A resolver's refusal, prefixed with where the manifest named the subscription.
fn at_line(e: Error, manifest: &Manifest, line: u64) -> Error {
    match e {
        Error::Config { message, hint } => Error::Config {
            message: format!("{}:{line}: {message}", manifest.file),
            hint,
        },
        other => other,
    }
}

fn selector_subscription(
    s: &Selector,
    names: &Names,
    manifest: &Manifest,
) -> Result<SubscriptionId> {
    names
        .get(&s.subscription.to_lowercase())
        .cloned()
        .ok_or_else(|| {
            at_line(
                subscription::not_found(&s.subscription, None),
                manifest,
                s.line,
            )
        })
}

/// A selector matches a cluster of its subscription in its resource group (if given) carrying
/// every tag (names case-insensitive, values exact, as Azure Policy compares them).
fn matches(s: &Selector, c: &ListedCluster) -> bool {
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
