//! After an audit with `--ignore-file`: its expired entries (TA011, each failing the run) and
//! stale ones (TA012) said on stderr, as CI annotations on the file's line and in the reports.

use crate::context::Context;
use crate::error::Result;
use crate::resolve::AuditOptions;

/// Says which ignore-file entries expired (each fails the run: someone must look again) and
/// which matched nothing (stale: a warning, failing only under `--fail-level warning|note`),
/// on stderr, as CI annotations on the file's line and in the reports (a subject of its own);
/// returns how many fail the run.
pub fn report(
    ctx: &Context,
    options: &AuditOptions,
    summary: &crate::commands::audit::summary::Summary,
    report: &mut crate::output::report::ReportStream,
) -> Result<usize> {
    let Some(ignore) = &options.ignore else {
        return Ok(0);
    };
    let findings = ignore_file_findings(ignore, summary);
    for finding in &findings {
        let line = finding.line.unwrap_or(1);
        ctx.diagnostics
            .warn(&format!("{}:{line}: {}", ignore.file, finding.message));
        let name = crate::domain::rules::rule(&finding.rule).map_or("", |r| r.name);
        let at = Some((ignore.file.as_str(), line));
        if let Some(kind) = options.annotations {
            crate::diagnostics::write_stderr(&match kind {
                crate::resolve::Annotations::GitHub => {
                    crate::output::report::annotation_at(finding, name, at)
                }
                crate::resolve::Annotations::AzureDevOps => {
                    crate::output::logissue::logissue(finding, name, at)
                }
            });
        }
    }
    if !findings.is_empty() && !report.is_empty() {
        report.push(&crate::output::report::Subject {
            name: ignore.file.clone(),
            resource: ignore.file.clone(),
            findings,
            error: None,
        })?;
    }
    let stale_fails = options.fail_level <= crate::domain::rules::Level::Warning;
    Ok(summary.expired.len() + if stale_fails { summary.stale.len() } else { 0 })
}

/// The expired (TA011) and stale (TA012) entries as findings about the ignore file, at their
/// lines.
fn ignore_file_findings(
    ignore: &crate::domain::suppressions::IgnoreFile,
    summary: &crate::commands::audit::summary::Summary,
) -> Vec<crate::output::report::ReportFinding> {
    let expired = summary.expired.iter().map(|i| (*i, true));
    let stale = summary.stale.iter().map(|i| (*i, false));
    expired
        .chain(stale)
        .map(|(i, expired)| {
            let entry = &ignore.entries[i];
            let what = if expired {
                format!(
                    "expired on {}: it no longer suppresses; renew it (with a new date) or fix the finding",
                    entry.expires
                )
            } else {
                "matched no finding (stale): remove it, or correct its rule or resource".into()
            };
            crate::output::report::ReportFinding {
                rule: if expired {
                    crate::domain::rules::SUPPRESSION_EXPIRED
                } else {
                    crate::domain::rules::SUPPRESSION_STALE
                }
                .into(),
                level: if expired { "error" } else { "warning" }.into(),
                resource: ignore.file.clone(),
                message: format!(
                    "the ignore entry for {} on '{}' (owner {}) {what}",
                    entry.rule, entry.resource, entry.owner
                ),
                known: false,
                unknown: false,
                suppressed: None,
                line: Some(entry.line),
            }
        })
        .collect()
}
