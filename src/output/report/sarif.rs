//! SARIF 2.1.0 for GitHub code scanning, streamed: each result is spooled (by severity) as the
//! audit produces it, and the log is put together at the end, most severe first, within GitHub's
//! limits (25,000 results per run; only the 5,000 most severe are shown, so order matters).
//! What is left out is counted and said in the run's notifications. Within a level, results go
//! by their rule's severity (its `security-severity`), which each rule carries with its help,
//! tags and README link; a suppressed finding carries its justification.

use super::spool::Spool;
use super::{ReportFinding, ReportRule, Severity, Subject, portal_uri};
use crate::domain::rule_guidance::{self, Severity as RuleSeverity, guidance};
use serde_json::{Value, json};
use std::io::Write;

/// GitHub code scanning's limit of results per run.
pub const MAX_RESULTS: usize = 25_000;

/// A message longer than this is cut (with an ellipsis): 25,000 results of at most this much
/// text stay far below GitHub's 10 MB (gzip) upload limit.
const MAX_MESSAGE: usize = 1_000;

/// The rules' severities, most severe first: within a level, results go in this order.
const RULE_SEVERITIES: [RuleSeverity; 4] = [
    RuleSeverity::Critical,
    RuleSeverity::High,
    RuleSeverity::Medium,
    RuleSeverity::Low,
];

pub struct SarifWriter {
    /// One spool per (level, rule severity), most severe first.
    spools: Vec<Spool>,
}

impl SarifWriter {
    pub fn new() -> std::io::Result<Self> {
        Ok(SarifWriter {
            spools: (0..Severity::ALL.len() * RULE_SEVERITIES.len())
                .map(|_| Spool::new())
                .collect::<std::io::Result<_>>()?,
        })
    }

    pub fn push(&mut self, rules: &[ReportRule], subject: &Subject) -> std::io::Result<()> {
        for f in &subject.findings {
            let line = serde_json::to_string(&result(rules, f)).map_err(std::io::Error::other)?;
            self.spools[spool_of(f)].push(&line)?;
        }
        Ok(())
    }

    /// The whole log: the rules, then the spooled results, most severe first.
    pub fn finish(mut self, rules: &[ReportRule], out: &mut dyn Write) -> std::io::Result<()> {
        let driver = json!({
            "name": "aks-trustedaccess",
            "version": env!("CARGO_PKG_VERSION"),
            "rules": rules.iter().map(rule).collect::<Vec<_>>(),
        });
        write!(
            out,
            "{{\n\"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n\"version\": \"2.1.0\",\n\"runs\": [{{\n\"tool\": {{\"driver\": {driver}}},\n\"results\": [\n"
        )?;
        let total: usize = self.spools.iter().map(|s| s.lines).sum();
        let (mut written, mut first) = (0, true);
        for spool in &mut self.spools {
            written += spool.copy_to(out, MAX_RESULTS - written, ",\n", &mut first)?;
        }
        out.write_all(b"\n]")?;
        if written < total {
            let note = json!([{
                "executionSuccessful": true,
                "toolExecutionNotifications": [{
                    "level": "warning",
                    "message": {"text": format!(
                        "{} of {total} results are left out (the least severe): GitHub code scanning takes at most {MAX_RESULTS} results per run; the audit's JSON output (-o json) and the JUnit report have every finding",
                        total - written
                    )},
                }],
            }]);
            write!(out, ",\n\"invocations\": {note}")?;
        }
        out.write_all(b"\n}]\n}\n")
    }
}

/// The spool of a finding: its level's bucket, then its rule's severity (unknown rules last).
fn spool_of(f: &ReportFinding) -> usize {
    let by_rule = guidance(&f.rule)
        .and_then(|g| RULE_SEVERITIES.iter().position(|s| *s == g.severity))
        .unwrap_or(RULE_SEVERITIES.len() - 1);
    Severity::of(f) as usize * RULE_SEVERITIES.len() + by_rule
}

/// A rule with what code scanning ranks and explains it by: `security-severity` and tags
/// (`security` first), the README section (`helpUri`), and help with the remediation.
fn rule(r: &ReportRule) -> Value {
    let mut out = json!({
        "id": r.id,
        "name": r.name,
        "shortDescription": {"text": r.description},
        "fullDescription": {"text": r.description},
        "help": {"text": r.help},
        "defaultConfiguration": {"level": r.level},
    });
    if let Some(g) = guidance(&r.id) {
        out["helpUri"] = json!(rule_guidance::help_uri(&r.id, &r.name));
        out["help"] = json!({
            "text": rule_guidance::text(g, &r.description),
            "markdown": rule_guidance::markdown(g, &r.description),
        });
        out["properties"] = json!({
            "security-severity": g.score,
            "tags": g.tags,
            "precision": "very-high",
            "problem.severity": r.level,
        });
    }
    out
}

/// Where a result points: the resource's portal page, or an ignore file's line.
fn location(f: &ReportFinding) -> Value {
    match f.line {
        Some(line) => json!({
            "physicalLocation": {
                "artifactLocation": {"uri": file_uri(&f.resource)},
                "region": {"startLine": line},
            },
        }),
        None => json!({
            "physicalLocation": {"artifactLocation": {"uri": portal_uri(&f.resource)}},
            "logicalLocations": [{"fullyQualifiedName": f.resource, "kind": "resource"}],
        }),
    }
}

/// A file path as a SARIF URI: relative paths as they are (code scanning places them in the
/// repository), absolute ones as `file://` URIs; spaces and `%` escaped.
fn file_uri(path: &str) -> String {
    let escaped = path
        .replace('\\', "/")
        .replace('%', "%25")
        .replace(' ', "%20");
    if escaped.starts_with('/') {
        format!("file://{escaped}")
    } else {
        escaped
    }
}

/// One result. An unknown (a check that could not be made) is SARIF's `kind: open` ("the tool
/// could not determine whether the target passes"), whose level is `none` by the spec.
fn result(rules: &[ReportRule], f: &ReportFinding) -> Value {
    let mut message = f.message.clone();
    if message.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    let mut result = json!({
        "ruleId": f.rule,
        "kind": if f.unknown { "open" } else { "fail" },
        "level": if f.unknown { "none" } else { f.level.as_str() },
        "message": {"text": message},
        "locations": [location(f)],
        "partialFingerprints": {"resourceRule/v1": match f.line {
            Some(line) => format!("{}|{}|{line}", f.rule, f.resource),
            None => format!("{}|{}", f.rule, f.resource.to_ascii_lowercase()),
        }},
        "baselineState": if f.known { "unchanged" } else { "new" },
    });
    if let Some(why) = &f.suppressed {
        result["suppressions"] = json!([{"kind": "external", "justification": why}]);
    }
    if let Some(i) = rules.iter().position(|r| r.id == f.rule) {
        result["ruleIndex"] = json!(i);
    }
    result
}
