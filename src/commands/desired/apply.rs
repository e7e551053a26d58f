//! `apply`: carries out a plan. Clusters are written side by side (`--parallel`), the writes on
//! one cluster in order (deletes first, so the 8-binding limit holds at every step); a failure
//! stops the rest of that cluster only. Every write goes through `rolebinding`'s one write path.

use super::Plan;
use super::diff::{Action, ActionKind, BindingState};
use crate::arm::api;
use crate::commands::rolebinding::{WriteKind, send_delete, send_put};
use crate::context::Context;
use crate::domain::ids::{BindingId, BindingName, ClusterId};
use crate::error::Result;
use crate::resolve::Wait;
use futures_util::stream::{self, StreamExt};
use serde_json::{Value, json};

/// What became of one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Nothing to write (noop, adopt).
    Unchanged,
    Failed(String),
    /// Not written: the binding is no longer what the plan saw (another writer changed it).
    Changed(String),
    /// Not tried: an earlier write on the same cluster failed.
    Skipped,
}

impl Outcome {
    fn as_str(&self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Unchanged => "unchanged",
            Outcome::Failed(_) => "failed",
            Outcome::Changed(_) => "changed",
            Outcome::Skipped => "skipped",
        }
    }
}

/// One action and its outcome (or a cluster that could not be read).
#[derive(Debug)]
pub struct Applied {
    pub cluster: ClusterId,
    pub action: Option<Action>,
    pub outcome: Outcome,
}

impl Applied {
    pub fn to_json(&self) -> Value {
        let mut value = match &self.action {
            Some(a) => a.to_json(),
            None => super::error_json(&self.cluster, ""),
        };
        value["result"] = json!(self.outcome.as_str());
        value["error"] = match &self.outcome {
            Outcome::Failed(why) | Outcome::Changed(why) => json!(why),
            Outcome::Skipped => json!("not tried: an earlier write on this cluster failed"),
            _ => Value::Null,
        };
        if self.action.is_none() {
            value["reason"] = value["error"].clone();
        }
        value
    }
}

/// Hears of each write as it starts (`None`) and as it ends (its outcome).
pub type Progress<'a> = &'a dyn Fn(&Action, Option<&Outcome>);

/// Carries out every write of `plan`; `progress` hears of each write as it starts and ends.
pub async fn apply(
    ctx: &Context,
    plan: &Plan,
    wait: Wait,
    parallel: usize,
    progress: Progress<'_>,
) -> Vec<Applied> {
    // Unordered, so a cluster with several writes does not hold the slots of those after it,
    // and subscriptions in turn (see `by_subscription_in_turn`); results in the plan's order.
    let ids: Vec<&ClusterId> = plan.clusters.iter().map(|c| &c.cluster).collect();
    let mut order = super::by_subscription_in_turn(&ids);
    // Clusters with the most writes first (each of them is a chain of requests that cannot be
    // shortened), so the apply does not end waiting on one long chain started last. Stable: the
    // subscriptions stay in turn among clusters with as many writes.
    let writes = |i: &usize| match &plan.clusters[*i].actions {
        Ok(actions) => actions.iter().filter(|a| a.kind.writes()).count(),
        Err(_) => 0,
    };
    order.sort_by_key(|i| std::cmp::Reverse(writes(i)));
    let mut per_cluster: Vec<(usize, Vec<Applied>)> = stream::iter(order)
        .map(|index| async move {
            let c = &plan.clusters[index];
            let applied = match &c.actions {
                Ok(actions) => apply_cluster(ctx, actions, wait, progress).await,
                Err(why) => vec![Applied {
                    cluster: c.cluster.clone(),
                    action: None,
                    outcome: Outcome::Failed(why.clone()),
                }],
            };
            (index, applied)
        })
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    per_cluster.sort_by_key(|(index, _)| *index);
    per_cluster.into_iter().flat_map(|(_, a)| a).collect()
}

async fn apply_cluster(
    ctx: &Context,
    actions: &[Action],
    wait: Wait,
    progress: Progress<'_>,
) -> Vec<Applied> {
    let mut results = Vec::with_capacity(actions.len());
    let mut failed = false;
    for action in actions {
        let outcome = if !action.kind.writes() {
            Outcome::Unchanged
        } else if failed {
            Outcome::Skipped
        } else {
            progress(action, None);
            let outcome = match write(ctx, action, wait).await {
                Ok(None) => Outcome::Done,
                Ok(Some(why)) => Outcome::Changed(why),
                Err(e) => {
                    failed = true;
                    Outcome::Failed(e.first_line())
                }
            };
            progress(action, Some(&outcome));
            outcome
        };
        results.push(Applied {
            cluster: action.cluster.clone(),
            action: Some(action.clone()),
            outcome,
        });
    }
    results
}

/// One action's writes; `Some(why)` when a delete was not sent because the binding changed.
async fn write(ctx: &Context, action: &Action, wait: Wait) -> Result<Option<String>> {
    let binding = BindingId {
        cluster: action.cluster.clone(),
        name: BindingName::parse(&action.name)?,
    };
    match action.kind {
        ActionKind::Delete => {
            if let Some(why) = changed_since_plan(ctx, &binding, action).await? {
                return Ok(Some(why));
            }
            send_delete(ctx, &binding, wait).await.map(|()| None)
        }
        kind => write_entry(ctx, &binding, kind, action, wait)
            .await
            .map(|()| None),
    }
}

/// A prune deletes by name what the plan read; another writer may have deleted and re-created
/// that name since (another source or roles). Read it again just before the delete: `Some(why)`
/// when it is not what the plan saw, so it is left alone. Gone already is not a change.
async fn changed_since_plan(
    ctx: &Context,
    binding: &BindingId,
    action: &Action,
) -> Result<Option<String>> {
    let Some(now) = api::find_binding(&ctx.client, binding).await? else {
        return Ok(None);
    };
    let now = BindingState::of(&now);
    Ok(match &action.before {
        Some(before) if before.same_as(&now) => None,
        _ => Some(format!(
            "not deleted: the binding changed since the plan (now source {}, roles {}); run plan again",
            crate::diagnostics::sanitize(&now.source),
            crate::diagnostics::sanitize(&now.roles.join(", "))
        )),
    })
}

async fn write_entry(
    ctx: &Context,
    binding: &BindingId,
    kind: ActionKind,
    action: &Action,
    wait: Wait,
) -> Result<()> {
    match kind {
        ActionKind::Delete => send_delete(ctx, binding, wait).await,
        ActionKind::Replace => {
            // The create must not start before the delete has ended, --no-wait or not.
            let delete_wait = match wait {
                Wait::Accepted => Wait::Done { timeout: None },
                done => done,
            };
            send_delete(ctx, binding, delete_wait).await?;
            put(ctx, binding, action.after.as_ref(), WriteKind::Create, wait).await
        }
        ActionKind::Update => {
            put(ctx, binding, action.after.as_ref(), WriteKind::Update, wait).await
        }
        ActionKind::Create => {
            put(ctx, binding, action.after.as_ref(), WriteKind::Create, wait).await
        }
        ActionKind::Adopt | ActionKind::Noop => Ok(()),
    }
}

async fn put(
    ctx: &Context,
    binding: &BindingId,
    after: Option<&BindingState>,
    kind: WriteKind,
    wait: Wait,
) -> Result<()> {
    let Some(after) = after else { return Ok(()) };
    let roles: Vec<&str> = after.roles.iter().map(String::as_str).collect();
    let body = api::binding_body(&after.source, &roles);
    let accepted = send_put(ctx, binding, &body, kind).await?;
    if let Wait::Done { timeout } = wait {
        ctx.client
            .wait_for_operation(&accepted, timeout, &binding.show_command())
            .await?;
    }
    Ok(())
}
