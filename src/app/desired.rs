//! The desired-state runner (`plan`, `apply`, `export`): loads the manifest,
//! asks the commands for data, hands it to the output layer, shows progress and the summary on
//! stderr, and turns the outcome into the exit code.

use super::Status;
use crate::commands::desired::apply::{Applied, Outcome};
use crate::commands::desired::diff::ActionKind;
use crate::commands::desired::{self, Plan};
use crate::context::Context;
use crate::diagnostics::write_stderr;
use crate::error::{Error, Result};
use crate::output::views::desired as render;
use crate::output::{self, Printer, terminal};
use crate::resolve::{ApplyRequest, ExportRequest, PlanRequest};
use serde_json::Value;
use std::time::{Duration, Instant};

/// `plan`: the diff (or `-o` format) on stdout, a summary on stderr; exit 0, 4, 1 or 2.
pub async fn run_plan(ctx: &Context, printer: &Printer, request: &PlanRequest) -> Result<Status> {
    let plan = compute(ctx, request).await?;
    print_plan(printer, request.structured, &plan)?;
    Ok(plan_exit(ctx, &plan))
}

async fn compute(ctx: &Context, request: &PlanRequest) -> Result<Plan> {
    let planned = async {
        let required;
        let manifest = match request.require.is_empty() {
            true => &request.manifest,
            false => {
                required = desired::required::with_required(
                    ctx,
                    &request.manifest,
                    &request.require,
                    &request.subscriptions,
                )
                .await?;
                &required
            }
        };
        desired::plan(ctx, manifest, &request.prune, request.parallel).await
    };
    let plan = tokio::select! {
        plan = planned => plan?,
        signal = crate::signals::stop() => return Err(Error::Interrupted { check: None, signal }),
    };
    for warning in &plan.warnings {
        ctx.diagnostics.warn(warning);
    }
    if !plan.refusals.is_empty() {
        let mut message = format!(
            "the service would refuse this plan ({} problems); nothing was written:",
            plan.refusals.len()
        );
        for refusal in &plan.refusals {
            message.push_str("\n  ");
            message.push_str(refusal);
        }
        return Err(Error::usage_with_hint(
            message,
            "see the roles a location offers with 'aks-trustedaccess role list -l <location>'; a cluster holds at most 8 bindings",
        ));
    }
    Ok(plan)
}

fn print_plan(printer: &Printer, structured: bool, plan: &Plan) -> Result<()> {
    let actions = plan.to_json();
    match structured {
        true => printer.print_value(&actions, None),
        false => output::write_stdout(&render::render_plan(
            actions.as_array().map_or(&[], Vec::as_slice),
            printer.paint,
        )),
    }
}

fn count(plan: &Plan, kind: ActionKind) -> usize {
    plan.actions().filter(|a| a.kind == kind).count()
}

/// The summary line and the exit code of a plan.
fn plan_exit(ctx: &Context, plan: &Plan) -> Status {
    ctx.diagnostics.summary(&format!(
        "Plan: {} to create, {} to update, {} to replace, {} to delete, {} adopted, {} unchanged{}, on {} clusters{}.",
        count(plan, ActionKind::Create),
        count(plan, ActionKind::Update),
        count(plan, ActionKind::Replace),
        count(plan, ActionKind::Delete),
        count(plan, ActionKind::Adopt),
        count(plan, ActionKind::Noop),
        match plan
            .actions()
            .filter(|a| a.kind == ActionKind::Noop && a.platform.is_some())
            .count()
        {
            0 => String::new(),
            n => format!(" ({n} of them made by platforms, kept)"),
        },
        plan.clusters.len(),
        match plan.errors() {
            0 => String::new(),
            n => format!(", {n} could not be read"),
        }
    ));
    if plan.errors() > 0 {
        Status::Incomplete(Some(format!(
            "{} clusters could not be read; the plan is incomplete",
            plan.errors()
        )))
    } else if plan.changes() > 0 {
        Status::Drift(plan.changes())
    } else {
        Status::Success
    }
}

/// `apply`: plan, confirm what removes access, write, report; exit 0, 1 or 2.
pub async fn run_apply(ctx: &Context, printer: &Printer, request: &ApplyRequest) -> Result<Status> {
    let plan = compute(ctx, &request.plan).await?;
    if request.dry_run {
        print_plan(printer, request.plan.structured, &plan)?;
        return Ok(plan_exit(ctx, &plan));
    }
    confirm(ctx, &plan, request.confirmed)?;
    let progress = ctx.diagnostics.progress(
        "{spinner} {pos}/{len} writes in {elapsed}",
        Some(plan.changes() as u64),
    );
    let started = Instant::now();
    let journal = Journal::default();
    let on_write = |action: &desired::diff::Action, outcome: Option<&Outcome>| {
        if outcome.is_some() {
            progress.inc(1);
        }
        journal.note(action, outcome);
    };
    let applied = tokio::select! {
        applied = desired::apply::apply(ctx, &plan, request.wait, request.plan.parallel, &on_write) => applied,
        signal = crate::signals::stop() => {
            progress.finish_and_clear();
            return interrupted(printer, request, &journal, signal);
        }
    };
    progress.finish_and_clear();
    let results: Vec<Value> = applied.iter().map(Applied::to_json).collect();
    if request.plan.structured {
        printer.print_value(&Value::Array(results), None)?;
    } else {
        output::write_stdout(&render::render_applied(&results, printer.paint))?;
    }
    let status = apply_exit(ctx, &applied, plan.clusters.len(), started.elapsed());
    if request.wait_effective && matches!(status, Status::Success) {
        wait_effective(ctx, &applied, request.plan.parallel).await?;
    }
    Ok(status)
}

/// `apply --wait-effective`: reads each binding apply created or changed (its
/// `systemData.lastModifiedAt`), then waits until the last of them takes effect (5 minutes
/// after its change, the doctor's rule), with a countdown on stderr. An effective time further
/// ahead than a change takes (a clock in the future) is reported, not waited for.
async fn wait_effective(ctx: &Context, applied: &[Applied], parallel: usize) -> Result<()> {
    use crate::commands::doctor::{EFFECTIVE_AFTER_SECONDS, binding_rules};
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    let written = applied
        .iter()
        .filter_map(|a| match (&a.outcome, &a.action) {
            (Outcome::Done, Some(action))
                if matches!(
                    action.kind,
                    ActionKind::Create | ActionKind::Update | ActionKind::Replace
                ) =>
            {
                Some(action)
            }
            _ => None,
        });
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    };
    let times: Vec<Option<i64>> = stream::iter(written)
        .map(|action| async move {
            let name = crate::domain::ids::BindingName::parse(&action.name)?;
            let id = action.cluster.binding(name);
            let binding = crate::arm::api::get_binding(&ctx.client, &id).await?;
            Ok::<_, Error>(binding_rules::effective(&binding, now()).1)
        })
        .buffer_unordered(parallel.max(1))
        .try_collect()
        .await?;
    let Some(at) = times.into_iter().flatten().max() else {
        ctx.diagnostics
            .summary("Every binding written is in effect (or nothing was written).");
        return Ok(());
    };
    if at - now() > EFFECTIVE_AFTER_SECONDS + 60 {
        ctx.diagnostics.warn(&format!(
            "not waiting: a binding would take effect in {}, more than the {} a change takes (its lastModifiedAt is in the future)",
            crate::diagnostics::span(at - now()),
            crate::diagnostics::span(EFFECTIVE_AFTER_SECONDS)
        ));
        return Ok(());
    }
    super::countdown::wait_until(at, "the bindings to take effect", ctx.diagnostics).await;
    ctx.diagnostics
        .summary("Every binding written is in effect (5 minutes after its last change).");
    Ok(())
}

/// The writes of an apply as they start and end, so an interrupted apply can say what it did.
#[derive(Default)]
struct Journal {
    /// Each write started: its action (as `-o json` prints it) and its result once it ended.
    writes: std::sync::Mutex<Vec<(Value, Option<Value>)>>,
}

impl Journal {
    fn note(&self, action: &desired::diff::Action, outcome: Option<&Outcome>) {
        let mut writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        let json = action.to_json();
        match outcome {
            None => writes.push((json, None)),
            Some(outcome) => {
                let ended = Applied {
                    cluster: action.cluster.clone(),
                    action: Some(action.clone()),
                    outcome: outcome.clone(),
                }
                .to_json();
                match writes
                    .iter_mut()
                    .rev()
                    .find(|(a, r)| r.is_none() && *a == json)
                {
                    Some(entry) => entry.1 = Some(ended),
                    None => writes.push((json, Some(ended))),
                }
            }
        }
    }

    /// Each write: ended ones with their result, the others as `in-flight`.
    fn results(&self) -> Vec<Value> {
        let writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        writes
            .iter()
            .map(|(action, ended)| match ended {
                Some(result) => result.clone(),
                None => {
                    let mut value = action.clone();
                    value["result"] = "in-flight".into();
                    value["error"] =
                        "interrupted while in flight: it may still be carried out in Azure".into();
                    value
                }
            })
            .collect()
    }
}

/// An interrupted apply: what was written and what was in flight, on stderr and (with `-o json`)
/// on stdout, then exit 128 + the signal's number.
fn interrupted(
    printer: &Printer,
    request: &ApplyRequest,
    journal: &Journal,
    signal: i32,
) -> Result<Status> {
    let results = journal.results();
    let mut lines = format!(
        "Interrupted during apply: {} writes ended, {} in flight.\n",
        results
            .iter()
            .filter(|r| r["result"] != "in-flight")
            .count(),
        results
            .iter()
            .filter(|r| r["result"] == "in-flight")
            .count()
    );
    for r in &results {
        let text =
            |k: &str| crate::diagnostics::sanitize(r[k].as_str().unwrap_or_default()).into_owned();
        lines.push_str(&format!(
            "  {} {} {}/trustedAccessRoleBindings/{}\n",
            text("result"),
            text("action"),
            text("cluster"),
            text("name")
        ));
    }
    write_stderr(&lines);
    if request.plan.structured {
        printer.print_value(&Value::Array(results), None)?;
    }
    Err(Error::Interrupted {
        signal,
        check: Some(format!(
            "aks-trustedaccess plan {} (apply again to finish)",
            plan_arguments(&request.plan)
        )),
    })
}

/// The arguments that plan the same again: `-f FILE` and `--require …` as given.
fn plan_arguments(plan: &PlanRequest) -> String {
    let mut out = Vec::new();
    if !plan.manifest.file.starts_with("--") {
        out.push(format!("-f {}", plan.file.display()));
    }
    if !plan.require.is_empty() {
        let names: Vec<&str> = plan.require.iter().map(|s| s.name()).collect();
        out.push(format!("--require {}", names.join(",")));
    }
    out.join(" ")
}

/// Deletes and replacements remove access: asked on a terminal, `--yes` otherwise.
fn confirm(ctx: &Context, plan: &Plan, yes: bool) -> Result<()> {
    let destructive: Vec<Value> = plan
        .actions()
        .filter(|a| a.kind.destructive())
        .map(desired::diff::Action::to_json)
        .collect();
    // Only --yes or a yes at a terminal: unlike `rolebinding delete` (one binding, named), az's
    // `[core] disable_confirm_prompt` / AZURE_CORE_DISABLE_CONFIRM_PROMPT does not lift this gate,
    // since a prune can remove access fleet-wide. Said on stderr when the setting is on.
    if !yes
        && ctx.config.get_bool("core", "disable_confirm_prompt") == Some(true)
        && !destructive.is_empty()
    {
        ctx.diagnostics.warn(
            "az's disable_confirm_prompt does not apply to apply's deletes and replacements; they need --yes",
        );
    }
    if destructive.is_empty() || yes {
        return Ok(());
    }
    if terminal::stdin_is_terminal() {
        write_stderr(&render::render_plan(&destructive, false));
    }
    let question = format!(
        "apply deletes or replaces {} bindings (access is lost). Continue?",
        destructive.len()
    );
    match terminal::confirm(&question)? {
        Some(true) => Ok(()),
        Some(false) => Err(Error::Cancelled),
        None => Err(Error::usage_with_hint(
            format!(
                "apply would delete or replace {} bindings, which needs --yes when there is no terminal to confirm on; nothing was written",
                destructive.len()
            ),
            "review them with 'aks-trustedaccess plan -f <file>', then run apply with --yes",
        )),
    }
}

fn apply_exit(ctx: &Context, applied: &[Applied], clusters: usize, took: Duration) -> Status {
    let n = |f: fn(&Outcome) -> bool| applied.iter().filter(|a| f(&a.outcome)).count();
    let done = n(|o| *o == Outcome::Done);
    let failed = n(|o| matches!(o, Outcome::Failed(_)));
    let skipped = n(|o| *o == Outcome::Skipped);
    let changed = n(|o| matches!(o, Outcome::Changed(_)));
    ctx.diagnostics.summary(&format!(
        "Apply: {done} done, {failed} failed, {skipped} skipped, {} unchanged, on {clusters} clusters in {:.1} s.{}",
        n(|o| *o == Outcome::Unchanged),
        took.as_secs_f64(),
        match changed {
            0 => String::new(),
            n => format!(" {n} bindings changed since the plan were not deleted."),
        }
    ));
    if failed == 0 && changed == 0 {
        return Status::Success;
    }
    let mut message = match failed {
        0 => format!(
            "{changed} bindings changed since the plan and were left as they are; run plan again to see them:"
        ),
        _ => format!(
            "{failed} writes or cluster reads failed; run apply again to finish what is missing:"
        ),
    };
    message.push_str(&failure_lines(applied));
    Status::Incomplete(Some(message))
}

/// Why each write failed (or was kept), one line each, on stderr as well as in the output:
/// the first `MAX_REASONS`, then how many more.
fn failure_lines(applied: &[Applied]) -> String {
    const MAX_REASONS: usize = 10;
    let reasons: Vec<String> = applied
        .iter()
        .filter_map(|a| match &a.outcome {
            Outcome::Failed(why) | Outcome::Changed(why) => Some(match &a.action {
                Some(action) => format!(
                    "{} {}/trustedAccessRoleBindings/{}: {why}",
                    action.kind.as_str(),
                    a.cluster.path(),
                    action.name
                ),
                None => format!("{}: {why}", a.cluster.path()),
            }),
            _ => None,
        })
        .collect();
    let mut out = String::new();
    for line in reasons.iter().take(MAX_REASONS) {
        out.push_str("\n  ");
        out.push_str(line);
    }
    if reasons.len() > MAX_REASONS {
        out.push_str(&format!(
            "\n  … and {} more (all of them are in the output)",
            reasons.len() - MAX_REASONS
        ));
    }
    out
}

/// `export`: the manifest on stdout (YAML unless `-o`); clusters it could not read are named on
/// stderr, left out, and make it exit 1.
pub async fn run_export(
    ctx: &Context,
    printer: &Printer,
    options: &ExportRequest,
) -> Result<Status> {
    let export = tokio::select! {
        e = desired::export::export(ctx, options) => e?,
        signal = crate::signals::stop() => return Err(Error::Interrupted { check: None, signal }),
    };
    if options.structured {
        printer.print_value(&export.manifest, None)?;
    } else {
        Printer::plain(options.plain).print_value(&export.manifest, None)?;
    }
    for why in &export.unreadable {
        ctx.diagnostics
            .warn(&format!("left out of the manifest: {why}"));
    }
    for what in &export.unsettled {
        ctx.diagnostics.warn(&format!(
            "left out of the manifest: {what} (plan keeps it; add an entry to have apply write it)"
        ));
    }
    Ok(if export.unreadable.is_empty() {
        Status::Success
    } else {
        Status::Incomplete(Some(format!(
            "{} clusters or subscriptions could not be read and are not in the manifest",
            export.unreadable.len()
        )))
    })
}
