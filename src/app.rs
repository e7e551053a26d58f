//! Runs a parsed command line: resolves it into a typed request, builds the context, asks the
//! delete prompt, dispatches the request, hands its data to the output layer, and turns Ctrl-C
//! into a clean stop.

use crate::arm::auth::cache::DiskCache;
use crate::arm::auth::{self, AuthSettings, Credential};
use crate::arm::client::{self, ArmClient, RetryPolicy};
use crate::arm::cloud::Cloud;
use crate::arm::transport;
use crate::azconfig::AzConfig;
use crate::cli::{Cli, Command, GlobalArgs, TokenCommand};
use crate::commands::audit;
use crate::commands::{self, Outcome};
use crate::context::Context;
use crate::desired_app;
use crate::diagnostics::Diagnostics;
use crate::domain::ids::BindingId;
use crate::error::{Error, Result};
use crate::iac_app;
use crate::output::rows::RowWriter;
use crate::output::{self, Printer, terminal};
use crate::resolve::{self, AuditOptions, Request};
use crate::settings::{Settings, Surroundings};
use crate::shell_integration;
use std::time::Duration;

pub async fn run(cli: Cli) -> Result<()> {
    // Commands that need no credentials never build them.
    match &cli.command {
        Command::Completion { shell } => {
            return output::write_stdout(&shell_integration::completion(*shell));
        }
        Command::Man { dir } => {
            let written = shell_integration::write_man_pages(dir)?;
            let list: String = written
                .iter()
                .map(|p| format!("{}\n", p.display()))
                .collect();
            return output::write_stdout(&list);
        }
        _ => {}
    }
    let settings = Settings::resolve(&cli.global, AzConfig::load(), &Surroundings::of_process())?;
    let diagnostics = Diagnostics::new(settings.verbosity).with_color(settings.stderr_color);
    for warning in &settings.warnings {
        diagnostics.warn(warning);
    }
    let global = &cli.global;
    let arm = arm_client(global, &settings.config, diagnostics)?;
    if let Command::Token(TokenCommand::Check { token: Some(_), .. }) = &cli.command {
        diagnostics.warn(
            "a token given with --token may be saved in your shell history; prefer stdin or --token-file",
        );
    }
    let request = resolve::request(&cli.command, &cli.global, &settings)?;
    let readable = settings.output.readable();
    let Settings {
        config,
        output,
        subscription,
        ..
    } = settings;
    let printer = output.printer;
    let mut ctx = Context::new(arm, config, diagnostics, subscription);
    ctx.az_profile_applies = signs_in_with_az(global);
    confirm(&ctx, &request)?;
    tokio::select! {
        // Biased: when Ctrl-C arrives, a command that handles it itself (audit closes its
        // report) is polled first and gets to finish.
        biased;
        done = dispatch(&ctx, &printer, request, readable) => done,
        (signal, binding) = interrupted(&ctx) => Err(Error::Interrupted {
            check: binding.map(|b| b.show_command()),
            signal,
        }),
    }
}

/// Whether sign-in will go through az (then az's profile decides which subscriptions exist).
fn signs_in_with_az(global: &GlobalArgs) -> bool {
    auth::choose(&auth::process_environment(), global.auth)
        .is_ok_and(|source| source == auth::Source::AzureCli)
}

/// Resolves on Ctrl-C, TERM or HUP with the signal and the write it interrupted, read before
/// the command is dropped.
async fn interrupted(ctx: &Context) -> (i32, Option<BindingId>) {
    let signal = crate::signals::stop().await;
    (signal, ctx.write_in_flight())
}

/// The one place a request meets its command; the output layer prints what comes back.
/// `readable`: a doctor report is a readable list (a terminal, and no format chosen).
async fn dispatch(
    ctx: &Context,
    printer: &Printer,
    request: Request,
    readable: bool,
) -> Result<()> {
    use commands::{role, rolebinding};
    let wrote = writes(&request);
    let outcome = match &request {
        Request::RoleList(list) => {
            let listing = role::list(ctx, list).await?;
            return output::role::print_list(printer, &listing.roles, &listing.risks);
        }
        Request::RoleShow(show) => {
            let role = role::show(ctx, show).await?;
            return output::role::print_show(printer, &role, readable);
        }
        Request::BindingList(cluster) => rolebinding::list(ctx, cluster).await?,
        Request::BindingShow(binding) => rolebinding::show(ctx, binding).await?,
        Request::BindingCreate(write) => rolebinding::create(ctx, write).await?,
        Request::BindingUpdate(write) => rolebinding::update(ctx, write).await?,
        Request::BindingDelete(delete) => rolebinding::delete(ctx, delete).await?,
        Request::Audit(options) => return run_audit(ctx, printer, options).await,
        Request::BindingCheck(check) => {
            let report = check_until_effective(ctx, check).await?;
            return print_doctor(ctx, printer, &report, readable);
        }
        Request::TokenCheck(check) => {
            let report = commands::doctor::token::check(ctx, check).await?;
            return print_doctor(ctx, printer, &report, readable);
        }
        Request::Plan(plan) => return desired_app::run_plan(ctx, printer, plan).await,
        Request::Apply(apply) => return desired_app::run_apply(ctx, printer, apply).await,
        Request::Export(export) => return desired_app::run_export(ctx, printer, export).await,
        Request::ExportCode(code) => return iac_app::run_export_code(ctx, code).await,
        Request::History(history) => {
            let changes = commands::history::history(ctx, history).await?;
            return printer.print_value(&changes, Some(&commands::history::COLUMNS));
        }
    };
    match outcome {
        Outcome::Data(data) => printer
            .print_value(&data, None)
            .map_err(|e| after_write(e, wrote)),
        Outcome::Nothing => Ok(()),
    }
}

/// Whether the request sends a write (create, update, delete without --dry-run).
fn writes(request: &Request) -> bool {
    match request {
        Request::BindingCreate(write) | Request::BindingUpdate(write) => !write.dry_run,
        Request::BindingDelete(delete) => !delete.dry_run,
        _ => false,
    }
}

/// An output failure after a write must not read as "nothing happened": the error says the
/// write was carried out, and is never a usage error (exit 2 means nothing was sent).
fn after_write(e: Error, wrote: bool) -> Error {
    if !wrote || matches!(e, Error::OutputClosed) {
        return e;
    }
    let what = match &e {
        Error::QueryFailed { message, .. } => message.clone(),
        other => other.to_string(),
    };
    Error::Io(format!(
        "{what}\nThe write was carried out; only printing its result failed."
    ))
}

/// az's confirmation before a delete, asked before the command runs (commands never prompt):
/// without `--yes` and without a terminal to ask on, nothing is deleted.
fn confirm(ctx: &Context, request: &Request) -> Result<()> {
    let Request::BindingDelete(delete) = request else {
        return Ok(());
    };
    // az asks unless --yes or `[core] disable_confirm_prompt` / AZURE_CORE_DISABLE_CONFIRM_PROMPT.
    let confirmed =
        delete.confirmed || ctx.config.get_bool("core", "disable_confirm_prompt") == Some(true);
    if confirmed || delete.dry_run {
        return Ok(());
    }
    match terminal::confirm("Are you sure you want to perform this operation?")? {
        Some(true) => Ok(()),
        Some(false) => Err(Error::Cancelled),
        None => {
            ctx.diagnostics
                .warn("Unable to prompt for confirmation as no tty available. Use --yes.");
            Err(Error::Cancelled)
        }
    }
}

/// `--cloud`, else az's active cloud, with a warning where Trusted Access is not offered.
fn cloud_of(global: &GlobalArgs, config: &AzConfig, diagnostics: Diagnostics) -> Result<Cloud> {
    let (cloud, unknown_active_cloud) = Cloud::resolve(
        global.cloud,
        config.get("cloud", "name"),
        config.clouds_config().as_ref(),
    )?;
    if let Some(warning) = unknown_active_cloud {
        diagnostics.warn(&warning);
    }
    // A registered cloud (Azure Stack Hub, a private cloud) may offer it; nobody can tell here.
    if matches!(cloud, Cloud::AzureUsGovernment | Cloud::AzureChinaCloud) {
        diagnostics.warn(&format!(
            "Trusted Access is not offered in {} today; expect NoRegisteredProviderFound or InvalidResourceType errors",
            cloud.name()
        ));
    }
    Ok(cloud)
}

/// The ARM client: cloud, endpoint, retry policy, the shared HTTP client, and the sign-in that
/// runs when the first request needs a token (so bad input is reported first).
fn arm_client(
    global: &GlobalArgs,
    config: &AzConfig,
    diagnostics: Diagnostics,
) -> Result<ArmClient> {
    let cloud = cloud_of(global, config, diagnostics)?;
    let endpoint = client::endpoint_from_env(cloud)?;
    if std::env::var_os(client::ENDPOINT_ENV).is_some_and(|v| v.to_string_lossy().trim().is_empty())
    {
        // As az treats an empty setting: unset. Said, so a script's blank variable is visible.
        diagnostics.verbose(&format!(
            "{} is set but empty: treated as unset; using {endpoint}",
            client::ENDPOINT_ENV
        ));
    }
    let retry = RetryPolicy {
        max_retries: global.max_retries,
        budget: Duration::from_secs(global.retry_budget),
        first_delay: Duration::from_millis(global.retry_delay_ms),
    };
    let http = transport::http_client(
        &endpoint,
        Duration::from_secs(global.request_timeout),
        diagnostics,
    )?;
    let direct_http =
        transport::direct_http_client(Duration::from_secs(global.request_timeout), diagnostics)?;
    let sign_in = {
        let (method, http, az_identity) = (global.auth, http.clone(), config.account_key());
        let token_cache = if global.no_token_cache {
            None
        } else {
            DiskCache::default_location()
        };
        move || {
            let env = auth::process_environment();
            let source = auth::choose(&env, method)?;
            Credential::new(
                source,
                &env,
                AuthSettings {
                    cloud,
                    token_cache: token_cache.clone(),
                    http: http.clone(),
                    direct_http: direct_http.clone(),
                    diagnostics,
                    az_identity: az_identity.clone(),
                },
            )
        }
    };
    Ok(ArmClient::new(
        endpoint,
        Box::new(sign_in),
        cloud,
        http,
        diagnostics,
        retry,
    ))
}

/// "1 cluster", "2 clusters".
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `audit` streams its rows to the output layer as they are ready and ends with a summary on
/// stderr; its exit code says whether every cluster passed.
async fn run_audit(ctx: &Context, printer: &Printer, options: &AuditOptions) -> Result<()> {
    if options.list_rules {
        return printer.print_value(
            &audit::rules::list(),
            Some(&["id", "name", "level", "severity", "origin"]),
        );
    }
    let progress = ctx
        .diagnostics
        .progress("{spinner} audited {pos} clusters in {elapsed}", None);
    let started = std::time::Instant::now();
    let mut sink = AuditSink {
        options,
        progress: &progress,
        rows: RowWriter::new(printer, audit::TABLE_COLUMNS),
        report: crate::output::report::ReportStream::new(audit_report_rules(), &options.reports)?,
        reader_gone: false,
    };
    let outcome = {
        let mut emit = |row: serde_json::Value| sink.push(row);
        tokio::select! {
            summary = audit::run(ctx, options, &mut emit) => summary,
            signal = crate::signals::stop() => Err(Error::Interrupted { check: None, signal }),
        }
    };
    progress.finish_and_clear();
    // Close the report even when interrupted (before the first row too: `[]` and exit 128+n),
    // so what was printed stays valid JSON; but an audit that failed before its first row prints
    // nothing, never `[]` (an empty, clean fleet).
    let interrupted = matches!(outcome, Err(Error::Interrupted { .. }));
    let failed_unseen = outcome.is_err() && !interrupted && sink.rows.written() == 0;
    let closed = if sink.reader_gone || failed_unseen {
        Ok(())
    } else {
        sink.rows.finish()
    };
    let summary = outcome?;
    closed?;
    let failing_entries = crate::audit_ignore::report(ctx, options, &summary, &mut sink.report)?;
    sink.report.finish()?;
    ctx.diagnostics.summary(&audit_summary_line(
        &summary,
        options.fail_level,
        started.elapsed(),
    ));
    if summary.errors > 0 {
        Err(Error::AuditErrors(summary.errors))
    } else if summary.new_findings + failing_entries > 0 {
        Err(Error::AuditFindings(summary.new_findings + failing_entries))
    } else if summary.unknown_checks > 0 && !options.allow_unknown {
        Err(Error::AuditUnknown(summary.unknown_checks))
    } else {
        Ok(())
    }
}

/// Where each audit row goes: the progress count, annotations, the reports, stdout.
struct AuditSink<'a> {
    options: &'a AuditOptions,
    progress: &'a indicatif::ProgressBar,
    rows: RowWriter<'a>,
    report: crate::output::report::ReportStream,
    /// The reader went away (`| head -1`): the audit goes on without printing, so the exit
    /// code still reports findings and errors in the clusters not shown.
    reader_gone: bool,
}

impl AuditSink<'_> {
    fn push(&mut self, row: serde_json::Value) -> Result<()> {
        if row["cluster"].is_string() {
            self.progress.inc(1);
        }
        let subject = audit_subject(&row);
        if let Some(kind) = self.options.annotations {
            // The runner (or agent) reads workflow commands on stderr too, so stdout stays data.
            for f in subject
                .findings
                .iter()
                .filter(|f| !f.known && f.suppressed.is_none() && f.level != "note")
            {
                let name = audit::rules::rule(&f.rule).map_or("", |r| r.name);
                crate::diagnostics::write_stderr(&match kind {
                    resolve::Annotations::GitHub => crate::output::report::annotation(f, name),
                    resolve::Annotations::AzureDevOps => {
                        crate::output::logissue::logissue(f, name, None)
                    }
                });
            }
        }
        if !self.report.is_empty() && (row["cluster"].is_string() || row["error"].is_string()) {
            self.report.push(&subject)?;
        }
        if self.reader_gone {
            return Ok(());
        }
        match self.rows.push(row) {
            Err(Error::OutputClosed) => {
                self.reader_gone = true;
                Ok(())
            }
            other => other,
        }
    }
}

/// "Audited N clusters in M subscriptions in T s: …": the counts the exit code comes from
/// (unknowns, and new findings below error level when `--fail-level` counts them).
fn audit_summary_line(
    summary: &audit::Summary,
    fail_level: crate::domain::rules::Level,
    elapsed: Duration,
) -> String {
    let unknown = match summary.unknown_checks {
        0 => String::new(),
        n => format!(
            ", {} unknown ({} that could not be made)",
            summary.unknown,
            plural(n, "check")
        ),
    };
    let below_error = if fail_level < crate::domain::rules::Level::Error && summary.new_findings > 0
    {
        format!(
            "; {} at {} level or above",
            plural(summary.new_findings, "new finding"),
            fail_level.as_str()
        )
    } else {
        String::new()
    };
    format!(
        "Audited {} in {} in {:.1} s: {} passing, {} failing{unknown}, {}{}{}{below_error}.",
        plural(summary.clusters, "cluster"),
        plural(summary.subscriptions, "subscription"),
        elapsed.as_secs_f64(),
        summary.passing,
        summary.failing,
        plural(summary.errors, "error"),
        if summary.suppressed > 0 {
            format!(", {} suppressed", summary.suppressed)
        } else {
            String::new()
        },
        if summary.skipped > 0 {
            format!(
                ", {} skipped (not Enabled)",
                plural(summary.skipped, "subscription")
            )
        } else {
            String::new()
        }
    )
}

/// Prints a doctor report (`rolebinding check`, `token check`) and turns it into the exit code:
/// 0 nothing failed, 4 a check failed, 1 some could not be checked.
fn print_doctor(
    ctx: &Context,
    printer: &Printer,
    report: &commands::doctor::Report,
    readable: bool,
) -> Result<()> {
    use commands::doctor::Outcome;
    output::doctor::print(printer, &report.to_json(), readable)?;
    if !readable {
        ctx.diagnostics.summary(&report.summary_line());
    }
    match report.outcome() {
        Outcome::Passed => Ok(()),
        Outcome::Failed(n) => Err(Error::ChecksFailed(n)),
        Outcome::Incomplete(n) => Err(Error::ChecksIncomplete(n)),
    }
}

/// How far ahead of this machine's clock the service's may be before `--wait-effective` stops
/// trusting an effective time (a minute, beyond the 5 minutes a change takes).
const MAX_CLOCK_SKEW_SECONDS: i64 = 60;

/// `rolebinding check`, and with `--wait-effective` a wait until the binding's effective time
/// then a fresh check (a binding changed meanwhile is waited for again, a few times at most).
/// Waiting makes sense only when nothing else fails.
async fn check_until_effective(
    ctx: &Context,
    request: &resolve::BindingCheck,
) -> Result<commands::doctor::Report> {
    use crate::commands::doctor::{Verdict, binding};
    let mut report = binding::check(ctx, request).await?;
    for _ in 0..3 {
        let Some(at) = report.effective_at.filter(|_| request.wait_effective) else {
            break;
        };
        let other_failure = report
            .checks
            .iter()
            .any(|c| c.verdict == Verdict::Fail && c.id != "binding-effective");
        if other_failure {
            break;
        }
        // A change takes effect about 5 minutes after it is made: an effective time further
        // ahead comes from a lastModifiedAt in the future (a wrong clock or a hostile server),
        // which is reported as "not yet", not waited for (it could be years).
        let limit = crate::commands::doctor::EFFECTIVE_AFTER_SECONDS + MAX_CLOCK_SKEW_SECONDS;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        if at.saturating_sub(now) > limit {
            ctx.diagnostics.warn(&format!(
                "not waiting: the binding would take effect in {}, more than the {} a change takes (its lastModifiedAt is in the future)",
                crate::diagnostics::span(at.saturating_sub(now)),
                crate::diagnostics::span(crate::commands::doctor::EFFECTIVE_AFTER_SECONDS)
            ));
            break;
        }
        output::countdown::wait_until(at, "the binding to take effect", ctx.diagnostics).await;
        report = binding::check(ctx, request).await?;
    }
    Ok(report)
}

fn audit_report_rules() -> Vec<crate::output::report::ReportRule> {
    audit::rules::RULES
        .iter()
        .map(|r| crate::output::report::ReportRule {
            id: r.id.into(),
            name: r.name.into(),
            level: r.level.as_str().into(),
            description: r.description.into(),
            help: r.help.into(),
        })
        .collect()
}

/// One audit row as a report subject: the cluster (or subscription) and its findings. Every
/// string in it goes through the one sanitiser, so reports and annotations never carry escape
/// sequences or characters XML refuses.
fn audit_subject(row: &serde_json::Value) -> crate::output::report::Subject {
    let clean = |v: &serde_json::Value| {
        crate::diagnostics::sanitize(v.as_str().unwrap_or_default()).into_owned()
    };
    let text = |k: &str| clean(&row[k]);
    let name = match row["cluster"].as_str() {
        Some(cluster) => format!(
            "{}/{}/{cluster}",
            text("subscription"),
            text("resourceGroup")
        ),
        None => text("subscription"),
    };
    let resource = match row["id"].is_string() {
        true => text("id"),
        false => format!("/subscriptions/{}", text("subscriptionId")),
    };
    crate::output::report::Subject {
        name,
        resource,
        findings: row["results"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| crate::output::report::ReportFinding {
                rule: clean(&f["ruleId"]),
                level: clean(&f["level"]),
                resource: clean(&f["resource"]),
                message: clean(&f["message"]),
                known: f["known"] == true,
                unknown: f["outcome"] == "unknown",
                suppressed: f["suppression"]
                    .is_object()
                    .then(|| clean(&crate::audit_ignore::justification(&f["suppression"]).into())),
                line: None,
            })
            .collect(),
        error: row["error"].is_string().then(|| text("error")),
    }
}
