//! SARIF 2.1.0 for GitHub code scanning, streamed: each result is spooled (by severity) as the
//! audit produces it, and the log is put together at the end, most severe first, within GitHub's
//! limits (25,000 results per run; only the 5,000 most severe are shown, so order matters).
//! What is left out is counted and said in the run's notifications.

use super::spool::Spool;
use super::{ReportFinding, ReportRule, Severity, Subject, portal_uri};
use serde_json::{Value, json};
use std::io::Write;

/// GitHub code scanning's limit of results per run.
pub const MAX_RESULTS: usize = 25_000;

/// A message longer than this is cut (with an ellipsis): 25,000 results of at most this much
/// text stay far below GitHub's 10 MB (gzip) upload limit.
const MAX_MESSAGE: usize = 1_000;

pub struct SarifWriter {
    /// One spool per severity, most severe first.
    spools: Vec<Spool>,
}

impl SarifWriter {
    pub fn new() -> std::io::Result<Self> {
        Ok(SarifWriter {
            spools: Severity::ALL
                .iter()
                .map(|_| Spool::new())
                .collect::<std::io::Result<_>>()?,
        })
    }

    pub fn push(&mut self, rules: &[ReportRule], subject: &Subject) -> std::io::Result<()> {
        for f in &subject.findings {
            let line = serde_json::to_string(&result(rules, f)).map_err(std::io::Error::other)?;
            self.spools[Severity::of(f) as usize].push(&line)?;
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

fn rule(r: &ReportRule) -> Value {
    json!({
        "id": r.id,
        "name": r.name,
        "shortDescription": {"text": r.description},
        "fullDescription": {"text": r.description},
        "help": {"text": r.help},
        "defaultConfiguration": {"level": r.level},
    })
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
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": portal_uri(&f.resource)}},
            "logicalLocations": [{"fullyQualifiedName": f.resource, "kind": "resource"}],
        }],
        "partialFingerprints": {"resourceRule/v1": format!("{}|{}", f.rule, f.resource.to_ascii_lowercase())},
        "baselineState": if f.known { "unchanged" } else { "new" },
    });
    if let Some(i) = rules.iter().position(|r| r.id == f.rule) {
        result["ruleIndex"] = json!(i);
    }
    result
}
