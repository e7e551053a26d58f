//! Finding clusters: which subscriptions a selector names, then the clusters in them (by Resource
//! Graph, or by listing each subscription through ARM), filtered by resource group and tags.
//! Reusable: `audit` streams what it finds; `clusters` collects it for other commands.

use crate::arm::api;
use crate::arm::ids::{ClusterId, ClusterName, ResourceGroupName, SubscriptionId};
use crate::arm::models::{ManagedCluster, Subscription};
use crate::commands::audit::slots::Slots;
use crate::context::Context;
use crate::error::{Error, Result};
use futures_util::stream::{self, StreamExt};
use std::collections::BTreeMap;

pub use crate::resolve::{DiscoveryMode, Selector};

/// A subscription to look in.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: SubscriptionId,
    pub name: Option<String>,
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

/// The subscriptions a selector names (or every visible one) and what is skipped.
pub async fn subscriptions(ctx: &Context, wanted: &[String]) -> Result<(Vec<Target>, Vec<Found>)> {
    let visible = api::list_subscriptions(&ctx.client).await?;
    let mut targets = Vec::new();
    let mut skipped = Vec::new();
    let mut consider = |s: &Subscription, named: bool| {
        let Some(target) = target_of(s) else { return };
        match s.state.as_deref() {
            Some(state) if state.eq_ignore_ascii_case("Enabled") => targets.push(target),
            state => skipped.push(Found::Skipped {
                subscription: target,
                state: state.unwrap_or("in an unknown state").to_string(),
                named,
            }),
        }
    };
    if wanted.is_empty() {
        visible.iter().for_each(|s| consider(s, false));
        return Ok((targets, skipped));
    }
    for w in wanted {
        let found = visible.iter().find(|s| {
            s.subscription_id
                .as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(w))
                || s.display_name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(w))
        });
        match (found, SubscriptionId::parse(w)) {
            (Some(s), _) => consider(s, true),
            // Named by id but not visible: try it, so the row says what ARM answers.
            (None, Some(id)) => consider(
                &Subscription {
                    subscription_id: Some(id.to_string()),
                    state: Some("Enabled".into()),
                    ..Default::default()
                },
                true,
            ),
            (None, None) => {
                return Err(Error::Config {
                    message: format!("subscription '{w}' not found"),
                    hint: Some(
                        "see the subscriptions this identity can see with 'az account list -o table'"
                            .into(),
                    ),
                });
            }
        }
    }
    Ok((targets, skipped))
}

fn target_of(s: &Subscription) -> Option<Target> {
    let id = s
        .subscription_id
        .as_deref()
        .and_then(SubscriptionId::parse)?;
    Some(Target {
        id,
        name: s.display_name.clone(),
    })
}

/// The ARM walk: lists each subscription's clusters (in parallel, in order), handing each kept
/// cluster or unreadable subscription to `found` as soon as its subscription is listed.
pub async fn arm_walk(
    ctx: &Context,
    selector: &Selector,
    targets: Vec<Target>,
    slots: &Slots,
    found: &mut dyn FnMut(Found),
) {
    let mut listed = stream::iter(targets)
        .map(|sub| async move {
            let clusters = slots.run(api::list_clusters(&ctx.client, &sub.id)).await;
            (sub, clusters)
        })
        .buffered(slots.width());
    while let Some((sub, clusters)) = listed.next().await {
        match clusters {
            Ok(clusters) => {
                for c in clusters {
                    if let Some(cluster) = from_arm(&sub, c)
                        && selector.keeps(cluster.id.resource_group.as_str(), &cluster.tags)
                    {
                        found(Found::Cluster(Box::new(cluster)));
                    }
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
    let id = c.id.as_deref()?;
    let group = crate::arm::ids::resource_group_of(id)?;
    Some(FoundCluster {
        id: ClusterId {
            subscription: sub.id.clone(),
            resource_group: ResourceGroupName::parse(group).ok()?,
            name: ClusterName::parse(c.name.as_deref()?).ok()?,
        },
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
    let mut all = Vec::new();
    discover(ctx, selector, mode, &slots, &mut |f| all.push(f)).await?;
    Ok(all)
}

/// Finds clusters by the chosen mode, handing each to `found` in a stable order. Returns how
/// many subscriptions were searched.
pub async fn discover(
    ctx: &Context,
    selector: &Selector,
    _mode: DiscoveryMode,
    slots: &Slots,
    found: &mut dyn FnMut(Found),
) -> Result<usize> {
    let (targets, skipped) = subscriptions(ctx, &selector.subscriptions).await?;
    skipped.into_iter().for_each(&mut *found);
    let searched = targets.len();
    arm_walk(ctx, selector, targets, slots, found).await;
    Ok(searched)
}
