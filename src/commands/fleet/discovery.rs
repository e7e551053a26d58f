//! Finding clusters: which subscriptions a selector names, then the clusters in them (by Resource
//! Graph, or by listing each subscription through ARM), filtered by resource group and tags.
//! Reusable: `audit` streams what it finds; `clusters` collects it for other commands.

use crate::arm::api;
use crate::arm::graph::{self, Graph, GraphScope};
use crate::arm::models::{ManagedCluster, Subscription};
use crate::commands::fleet::slots::Slots;
use crate::context::Context;
use crate::domain::ids::{ClusterId, SubscriptionId};
use crate::error::{Error, Result};
use crate::subscription;
use futures_util::stream::{self, StreamExt};
use std::collections::BTreeMap;

use crate::resolve::{DiscoveryMode, Selector};

/// A subscription to look in.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: SubscriptionId,
    pub name: Option<String>,
    /// Whether the subscription listing shows it (a subscription named by id may not be).
    pub listed: bool,
}

impl Target {
    /// The display name when known, else the id.
    pub fn display(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.id.to_string())
    }
}

/// A cluster as discovery finds it.
#[derive(Debug, Clone)]
pub struct FoundCluster {
    pub id: ClusterId,
    pub subscription: Target,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    /// `None` for a service-principal cluster.
    pub identity_type: Option<String>,
}

/// What discovery reports, in a stable order.
#[derive(Debug)]
pub enum Found {
    Cluster(Box<FoundCluster>),
    /// A subscription not Enabled; `named` when the user asked for it.
    Skipped {
        subscription: Target,
        state: String,
        named: bool,
    },
    /// A subscription (or the whole query) that could not be read.
    Unreadable {
        subscription: Target,
        error: Error,
    },
}

/// The subscriptions a selector names (or every visible one) and what is skipped. Names and
/// ids go through the one resolver (`subscription::resolve_all`: az's rules, and az's profile
/// when signing in through az, checked before any request); ARM's listing, read once, gives
/// each its state.
pub async fn subscriptions(ctx: &Context, wanted: &[String]) -> Result<(Vec<Target>, Vec<Found>)> {
    let mut visible = None;
    let resolved =
        subscription::resolve_all_listing(&ctx.client, &ctx.az_profile(), wanted, &mut visible)
            .await?;
    let visible = match visible {
        Some(v) => v,
        None => api::list_subscriptions(&ctx.client).await?,
    };
    let mut targets = Vec::new();
    let mut skipped = Vec::new();
    let mut consider = |s: &Subscription, named: bool| match classify(s, named) {
        Some(Ok(target)) => targets.push(target),
        Some(Err(skip)) => skipped.push(skip),
        None => {}
    };
    if wanted.is_empty() {
        visible.iter().for_each(|s| consider(s, false));
        return Ok((targets, skipped));
    }
    for r in resolved {
        let listed = visible.iter().find(|s| {
            s.subscription_id
                .as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(r.id.as_str()))
        });
        match listed {
            Some(s) => consider(s, true),
            // Named but not listed: try it, so the row says what ARM answers.
            None => consider(
                &Subscription {
                    subscription_id: Some(r.id.to_string()),
                    display_name: r.name,
                    state: None,
                    ..Default::default()
                },
                true,
            ),
        }
    }
    Ok((targets, skipped))
}

/// A listed subscription to search (Enabled), or a skip; a subscription named by id that the
/// listing did not show (no state) is searched, marked unlisted.
fn classify(s: &Subscription, named: bool) -> Option<std::result::Result<Target, Found>> {
    let mut target = target_of(s)?;
    Some(match s.state.as_deref() {
        None if named && s.id.is_none() => {
            target.listed = false;
            Ok(target)
        }
        Some(_) if crate::commands::fleet::listing::enabled(s) => Ok(target),
        state => Err(Found::Skipped {
            subscription: target,
            state: state.unwrap_or("in an unknown state").to_string(),
            named,
        }),
    })
}

fn target_of(s: &Subscription) -> Option<Target> {
    let id = s
        .subscription_id
        .as_deref()
        .and_then(SubscriptionId::parse)?;
    Some(Target {
        id,
        name: s.display_name.clone(),
        listed: true,
    })
}

/// The ARM walk: lists each subscription's clusters (in parallel, in order), handing each kept
/// cluster or unreadable subscription to `found` as soon as its subscription is listed.
pub async fn arm_walk(
    ctx: &Context,
    selector: &Selector,
    targets: Vec<Target>,
    slots: &Slots,
    found: &mut (dyn FnMut(Found) + Send),
) {
    let mut listed = stream::iter(targets)
        .map(|sub| async move {
            let clusters = slots.run(api::list_clusters(&ctx.client, &sub.id)).await;
            (sub, clusters)
        })
        .buffered(slots.width());
    loop {
        slots.backlog().room().await;
        let Some((sub, clusters)) = listed.next().await else {
            break;
        };
        match clusters {
            Ok(clusters) => {
                let mut kept: Vec<FoundCluster> = clusters
                    .into_iter()
                    .filter_map(|c| from_arm(&sub, c))
                    .filter(|c| selector.keeps(c.id.resource_group.as_str(), &c.tags))
                    .collect();
                kept.sort_by_key(|c| c.id.path().to_ascii_lowercase());
                for cluster in kept {
                    found(Found::Cluster(Box::new(cluster)));
                }
            }
            Err(error) => found(Found::Unreadable {
                subscription: sub,
                error,
            }),
        }
    }
}

/// A cluster from ARM's listing; `None` when its id is not a managed-cluster id.
fn from_arm(sub: &Target, c: ManagedCluster) -> Option<FoundCluster> {
    Some(FoundCluster {
        id: crate::commands::fleet::listing::cluster_id_of(&sub.id, &c)?,
        subscription: sub.clone(),
        location: c.location.unwrap_or_default(),
        tags: c.tags.unwrap_or_default(),
        identity_type: c.identity.and_then(|i| i.identity_type),
    })
}

/// Every cluster the selector finds, collected (for commands that need the whole set first).
pub async fn clusters(
    ctx: &Context,
    selector: &Selector,
    mode: DiscoveryMode,
    parallel: usize,
) -> Result<Vec<Found>> {
    let slots = Slots::new(parallel);
    slots.bind(&ctx.client);
    let mut all = Vec::new();
    let mut keep = |f| all.push(f);
    discover(ctx, selector, mode, &slots, &mut keep, &mut |_| {}).await?;
    Ok(all)
}

/// Finds clusters by the chosen mode, handing each to `found` in a stable order (subscription
/// id, then cluster id, case-insensitively, whichever the mode), and telling `scope` the
/// Resource Graph scope as soon as it is known, so other queries over it can start beside.
/// Returns how many subscriptions were searched.
pub async fn discover(
    ctx: &Context,
    selector: &Selector,
    mode: DiscoveryMode,
    slots: &Slots,
    found: &mut (dyn FnMut(Found) + Send),
    scope: &mut (dyn FnMut(GraphScope) + Send),
) -> Result<usize> {
    if mode == DiscoveryMode::Arm && !selector.management_groups.is_empty() {
        return Err(Error::usage_with_hint(
            "--management-group needs Resource Graph",
            "use --discovery arg or auto, or name subscriptions with --subscription",
        ));
    }
    let (mut targets, skipped) = if selector.management_groups.is_empty() {
        subscriptions(ctx, &selector.subscriptions).await?
    } else {
        (Vec::new(), Vec::new())
    };
    targets.sort_by_key(|t| t.id.as_str().to_ascii_lowercase());
    scope(graph_scope(selector, &targets));
    skipped.into_iter().for_each(&mut *found);
    let searched = targets.len();
    // A cluster listed twice (Resource Graph's pages are not a snapshot) is handed on once: a
    // second row would find its service entries already taken and pass on them.
    let mut handed = std::collections::HashSet::new();
    let diagnostics = ctx.diagnostics;
    let found = &mut |f: Found| {
        if let Found::Cluster(c) = &f
            && !handed.insert(c.id.path().to_ascii_lowercase())
        {
            diagnostics.warn(&format!(
                "cluster {} was listed twice; audited once",
                c.id.path()
            ));
            return;
        }
        found(f)
    };
    if mode != DiscoveryMode::Arm {
        match by_graph(ctx, selector, &targets, slots, found).await {
            Ok(by_graph) => return Ok(by_graph.unwrap_or(searched)),
            Err(GraphOutcome::Refused(e)) if mode == DiscoveryMode::Auto => {
                ctx.diagnostics.warn(&format!(
                    "Resource Graph refused the query ({}); finding clusters through ARM instead (one listing per subscription)",
                    e.first_line()
                ));
            }
            Err(GraphOutcome::Refused(e) | GraphOutcome::Failed(e)) => return Err(e),
        }
    }
    arm_walk(ctx, selector, targets, slots, found).await;
    Ok(searched)
}

/// Why discovery by Resource Graph stopped: it refused before any cluster was handed on (an
/// `auto` discovery may then walk ARM instead), or it failed.
enum GraphOutcome {
    Refused(Error),
    Failed(Error),
}

/// Discovery by Resource Graph. Resource Graph silently leaves out what the caller cannot read,
/// so every subscription in scope it returned no cluster for is listed through ARM once (an
/// error row, not an empty result). Clusters are handed on page by page as they arrive, and
/// the confirmed subscriptions after them; when subscriptions were named, the whole answer is
/// held first so the rows keep the subscriptions' order.
async fn by_graph(
    ctx: &Context,
    selector: &Selector,
    targets: &[Target],
    slots: &Slots,
    found: &mut (dyn FnMut(Found) + Send),
) -> std::result::Result<Option<usize>, GraphOutcome> {
    let (listed, unlisted): (Vec<Target>, Vec<Target>) =
        targets.iter().cloned().partition(|t| t.listed);
    for t in unlisted {
        found(Found::Unreadable {
            error: Error::Config {
                message: format!(
                    "subscription {} is not among the subscriptions this identity can see",
                    t.id
                ),
                hint: None,
            },
            subscription: t,
        });
    }
    let streamed = selector.subscriptions.is_empty();
    let mut held = Vec::new();
    let mut handed_on = 0usize;
    let mut seen = std::collections::HashSet::new();
    let outcome = {
        let mut sink = |f: Found| {
            if streamed {
                if let Found::Cluster(c) = &f {
                    seen.insert(c.id.subscription.as_str().to_ascii_lowercase());
                }
                handed_on += 1;
                found(f);
            } else {
                held.push(f);
            }
        };
        graph_walk(ctx, selector, &listed, slots, &mut sink).await
    };
    match outcome {
        Ok(searched) => {
            if streamed {
                // Every listed subscription Resource Graph showed no cluster for is confirmed
                // with one ARM listing (after the others' rows): a 403 or 404 is an error row.
                let empty: Vec<Target> = listed
                    .into_iter()
                    .filter(|t| !seen.contains(&t.id.as_str().to_ascii_lowercase()))
                    .collect();
                arm_walk(ctx, selector, empty, slots, found).await;
            } else {
                confirm_empty(ctx, selector, &listed, slots, &mut held).await;
                held.into_iter().for_each(&mut *found);
            }
            Ok(searched)
        }
        Err(e)
            if handed_on == 0 && selector.management_groups.is_empty() && graph::is_refusal(&e) =>
        {
            Err(GraphOutcome::Refused(e))
        }
        Err(e) => Err(GraphOutcome::Failed(e)),
    }
}

/// Resource Graph shows nothing of a subscription the caller cannot read. A subscription the
/// user named that it returned no cluster for is listed through ARM, so an unreadable one becomes
/// an error row rather than a silent absence. Keeps the subscription order.
async fn confirm_empty(
    ctx: &Context,
    selector: &Selector,
    named: &[Target],
    slots: &Slots,
    found: &mut Vec<Found>,
) {
    let seen: std::collections::HashSet<String> = found
        .iter()
        .filter_map(|f| match f {
            Found::Cluster(c) => Some(c.id.subscription.as_str().to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    let empty: Vec<Target> = named
        .iter()
        .filter(|t| !seen.contains(&t.id.as_str().to_ascii_lowercase()))
        .cloned()
        .collect();
    if empty.is_empty() {
        return;
    }
    arm_walk(ctx, selector, empty, slots, &mut |f| found.push(f)).await;
    found.sort_by_key(|f| match f {
        Found::Cluster(c) => c.id.subscription.as_str().to_ascii_lowercase(),
        Found::Skipped { subscription, .. } | Found::Unreadable { subscription, .. } => {
            subscription.id.as_str().to_ascii_lowercase()
        }
    });
}

/// Where Resource Graph looks: the management groups, or the listed subscriptions.
fn graph_scope(selector: &Selector, targets: &[Target]) -> GraphScope {
    let listed = targets
        .iter()
        .filter(|t| t.listed)
        .map(|t| t.id.to_string());
    GraphScope::over(&selector.management_groups, listed)
}

/// Quotes a KQL string literal.
pub fn kql_string(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The Resource Graph query that finds the selector's clusters.
pub fn clusters_query(selector: &Selector) -> String {
    let mut q =
        String::from("resources | where type =~ 'microsoft.containerservice/managedclusters'");
    if !selector.resource_groups.is_empty() {
        let groups: Vec<String> = selector
            .resource_groups
            .iter()
            .map(|g| kql_string(g))
            .collect();
        q.push_str(&format!(
            " | where resourceGroup in~ ({})",
            groups.join(", ")
        ));
    }
    q.push_str(
        " | extend identityType = tostring(identity.type) \
         | project id, name, resourceGroup, subscriptionId, location, tags, identityType \
         | order by tolower(id) asc",
    );
    q
}

/// Resource Graph's query: one paged query per group of subscriptions (or over the management
/// groups), each cluster handed to `found` as its page arrives. Returns the number of
/// subscriptions seen when the scope was management groups.
async fn graph_walk(
    ctx: &Context,
    selector: &Selector,
    targets: &[Target],
    slots: &Slots,
    found: &mut (dyn FnMut(Found) + Send),
) -> Result<Option<usize>> {
    let graph = Graph::new(&ctx.client, ctx.diagnostics)
        .paced(slots.backlog())
        .yielding();
    let scope = graph_scope(selector, targets);
    if matches!(&scope, GraphScope::Subscriptions(s) if s.is_empty()) {
        return Ok(None);
    }
    let names: std::collections::HashMap<String, Option<String>> = targets
        .iter()
        .map(|t| (t.id.as_str().to_ascii_lowercase(), t.name.clone()))
        .collect();
    let mut subscriptions_seen = std::collections::BTreeSet::new();
    graph
        .query(&scope, &clusters_query(selector), &mut |rows| {
            for row in rows {
                if let Some(cluster) = from_graph(&row, &names)
                    && selector.keeps(cluster.id.resource_group.as_str(), &cluster.tags)
                {
                    subscriptions_seen
                        .insert(cluster.id.subscription.as_str().to_ascii_lowercase());
                    found(Found::Cluster(Box::new(cluster)));
                }
            }
        })
        .await?;
    Ok((!selector.management_groups.is_empty()).then_some(subscriptions_seen.len()))
}

/// A cluster from a Resource Graph row; `None` when the row is not a managed cluster, or not
/// one of the scope's. The row's `id` decides (its subscription, group and name; the row's `name`
/// is not used): a row whose `subscriptionId` disagrees with its id, or whose id is in a
/// subscription outside the ones asked for (`names`, when the scope is subscriptions), is left
/// out.
fn from_graph(
    row: &serde_json::Value,
    names: &std::collections::HashMap<String, Option<String>>,
) -> Option<FoundCluster> {
    let id = ClusterId::parse_id(row["id"].as_str()?).ok()?;
    let subscription = id.subscription.clone();
    let agrees = |key: &str, value: &str| {
        row[key]
            .as_str()
            .is_none_or(|v| v.eq_ignore_ascii_case(value))
    };
    let in_scope =
        names.is_empty() || names.contains_key(&subscription.as_str().to_ascii_lowercase());
    if !in_scope || !agrees("subscriptionId", subscription.as_str()) {
        return None;
    }
    let tags = row["tags"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    Some(FoundCluster {
        id,
        subscription: Target {
            listed: true,
            name: names
                .get(&subscription.as_str().to_ascii_lowercase())
                .cloned()
                .flatten(),
            id: subscription,
        },
        location: row["location"].as_str().unwrap_or_default().to_string(),
        tags,
        identity_type: row["identityType"]
            .as_str()
            .filter(|t| !t.is_empty())
            .map(str::to_string),
    })
}
