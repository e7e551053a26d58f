//! GitLab Code Quality (a Code Climate subset), streamed: a JSON array with an issue per finding
//! (description, check_name, fingerprint, severity, location). GitLab reads it on every tier
//! (`artifacts:reports:codequality`). The fingerprint is a hash of the rule and the resource (and
//! the line, for an ignore file's entry), never of the message, so it is the same from run to run
//! and GitLab tracks the finding across pipelines. Findings an ignore-file entry accepted are left
//! out (they are accepted); baseline-known ones stay (GitLab compares with the target branch).

use super::spool::Spool;
use super::{ReportFinding, Subject};
use serde_json::json;
use std::io::Write;

pub struct CodeClimateWriter {
    issues: Spool,
}

impl CodeClimateWriter {
    pub fn new() -> std::io::Result<Self> {
        Ok(CodeClimateWriter {
            issues: Spool::new()?,
        })
    }

    pub fn push(&mut self, subject: &Subject) -> std::io::Result<()> {
        for f in subject.findings.iter().filter(|f| f.suppressed.is_none()) {
            let line = serde_json::to_string(&issue(f)).map_err(std::io::Error::other)?;
            self.issues.push(&line)?;
        }
        Ok(())
    }

    pub fn finish(mut self, out: &mut dyn Write) -> std::io::Result<()> {
        out.write_all(b"[\n")?;
        let mut first = true;
        self.issues.copy_to(out, usize::MAX, ",\n", &mut first)?;
        out.write_all(b"\n]\n")
    }
}

/// One issue. Cloud resources have no file in the repository: the location's path is the ARM
/// id (without its leading `/`), line 1; an ignore file's entry points at its file and line.
pub fn issue(f: &ReportFinding) -> serde_json::Value {
    let guidance = crate::domain::rule_guidance::guidance(&f.rule);
    let name = crate::domain::rules::rule(&f.rule).map_or("", |r| r.name);
    let (path, line) = match f.line {
        Some(line) => (f.resource.clone(), line),
        None => (f.resource.trim_start_matches('/').to_string(), 1),
    };
    json!({
        "type": "issue",
        "description": format!("{} {name}: {}", f.rule, f.message),
        "check_name": format!("{} {name}", f.rule),
        "fingerprint": fingerprint(f),
        // A note (or a check that could not be made) is information, whatever its rule.
        "severity": match guidance {
            Some(g) if !f.unknown && f.level != "note" => g.severity.code_quality(),
            _ => "info",
        },
        "categories": ["Security"],
        "location": {"path": path, "lines": {"begin": line}},
    })
}

/// SHA-256 of rule, lower-cased resource and line, as hex: stable across runs.
pub fn fingerprint(f: &ReportFinding) -> String {
    let key = format!(
        "{}|{}|{}",
        f.rule,
        f.resource.to_ascii_lowercase(),
        f.line.map_or(String::new(), |l| l.to_string())
    );
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
