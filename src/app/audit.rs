//! The audit's runner: streams its rows to the output layer as they are ready, feeds the
//! progress line, the annotations, the ignore file's verdicts and the reports, and ends with a
//! summary on stderr and a typed status.

use super::Status;
use crate::commands::audit;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::output::Printer;
use crate::output::rows::RowWriter;
use crate::resolve::{self, AuditOptions};
use std::time::Duration;

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
pub async fn run(ctx: &Context, printer: &Printer, options: &AuditOptions) -> Result<Status> {
    if options.list_rules {
        printer.print(
            &audit::rules::list(),
            Some(&["id", "name", "level", "severity", "origin"]),
        )?;
        return Ok(Status::Success);
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
        let mut emit = |row: audit::row::Row| sink.push(row);
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
    let failing_entries = super::audit_ignore::report(ctx, options, &summary, &mut sink.report)?;
    sink.report.finish()?;
    ctx.diagnostics.summary(&audit_summary_line(
        &summary,
        options.fail_level,
        started.elapsed(),
    ));
    Ok(if summary.errors > 0 {
        Status::Incomplete(Some(format!(
            "the audit could not read some subscriptions or clusters ({} rows with verdict 'error')",
            summary.errors
        )))
    } else if summary.new_findings + failing_entries > 0 {
        Status::Findings(summary.new_findings + failing_entries)
    } else if summary.unknown_checks > 0 && !options.allow_unknown {
        Status::Incomplete(Some(format!(
            "the audit could not make {} checks (verdict 'unknown'): see each one's hint, or pass --allow-unknown to accept them",
            summary.unknown_checks
        )))
    } else {
        Status::Success
    })
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
    fn push(&mut self, row: audit::row::Row) -> Result<()> {
        if row.cluster.is_some() {
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
                let name = crate::domain::rules::rule(&f.rule).map_or("", |r| r.name);
                crate::diagnostics::write_stderr(&match kind {
                    resolve::Annotations::GitHub => crate::output::report::annotation(f, name),
                    resolve::Annotations::AzureDevOps => {
                        crate::output::logissue::logissue(f, name, None)
                    }
                });
            }
        }
        if !self.report.is_empty() && (row.cluster.is_some() || row.error.is_some()) {
            self.report.push(&subject)?;
        }
        if self.reader_gone {
            return Ok(());
        }
        match self.rows.push(&row) {
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
    summary: &audit::summary::Summary,
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

fn audit_report_rules() -> Vec<crate::output::report::ReportRule> {
    crate::domain::rules::RULES
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
fn audit_subject(row: &audit::row::Row) -> crate::output::report::Subject {
    let clean = |v: &str| crate::diagnostics::sanitize(v).into_owned();
    let name = match &row.cluster {
        Some(cluster) => format!(
            "{}/{}/{}",
            clean(&row.subscription),
            clean(row.resource_group.as_deref().unwrap_or_default()),
            clean(cluster)
        ),
        None => clean(&row.subscription),
    };
    let resource = match &row.id {
        Some(id) => clean(id),
        None => format!("/subscriptions/{}", clean(&row.subscription_id)),
    };
    crate::output::report::Subject {
        name,
        resource,
        findings: row
            .results
            .iter()
            .map(|f| crate::output::report::ReportFinding {
                rule: clean(f.rule),
                level: clean(f.level.as_str()),
                resource: clean(&f.resource),
                message: clean(&f.message),
                known: f.known,
                unknown: f.unknown,
                suppressed: f.suppression.as_ref().map(|s| clean(&s.justification())),
                line: None,
            })
            .collect(),
        error: row.error.as_deref().map(clean),
    }
}
