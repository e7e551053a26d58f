//! Troubleshooting (`rolebinding check`, `token check`): read-only checks, each with a verdict,
//! a message and, where it does not pass, a hint. A report is data; the output layer prints it.

pub mod binding;
pub mod binding_rules;
mod source;
pub mod token;

use crate::error::Error;
use serde::Serialize;
use serde_json::{Map, Value, json};

/// A new or changed binding takes effect within about 5 minutes (the add-on manager reconciles
/// every 5 minutes); until then the previous state applies.
pub const EFFECTIVE_AFTER_SECONDS: i64 = 5 * 60;

/// The most bindings a cluster can have.
pub const BINDING_LIMIT: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
    /// Could not be checked (unreadable, or a prerequisite missing); the message says why.
    Unknown,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
            Verdict::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub verdict: Verdict,
    pub message: String,
    pub hint: Option<String>,
}

impl Check {
    pub fn pass(id: &'static str, message: impl Into<String>) -> Self {
        Check {
            id,
            verdict: Verdict::Pass,
            message: message.into(),
            hint: None,
        }
    }
    pub fn fail(id: &'static str, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Check {
            id,
            verdict: Verdict::Fail,
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
    pub fn warn(id: &'static str, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Check {
            id,
            verdict: Verdict::Warn,
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
    pub fn unknown(id: &'static str, message: impl Into<String>, hint: Option<String>) -> Self {
        Check {
            id,
            verdict: Verdict::Unknown,
            message: message.into(),
            hint,
        }
    }
}

/// The checks of one run, and what they looked at (the binding, the token's claims).
#[derive(Debug, Default)]
pub struct Report {
    pub checks: Vec<Check>,
    /// Fields shown next to the checks (`binding`, `claims`, …).
    pub details: Map<String, Value>,
    /// When the binding becomes effective (unix seconds), if it is not yet.
    pub effective_at: Option<i64>,
}

/// How a report ends: the exit-code contract of the doctor commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing failed (warnings allowed): exit 0.
    Passed,
    /// A check failed: exit 4.
    Failed(usize),
    /// Nothing failed, but some checks could not be made: exit 1.
    Incomplete(usize),
}

impl Report {
    pub fn push(&mut self, check: Check) {
        self.checks.push(check);
    }

    pub fn count(&self, verdict: Verdict) -> usize {
        self.checks.iter().filter(|c| c.verdict == verdict).count()
    }

    pub fn outcome(&self) -> Outcome {
        match (self.count(Verdict::Fail), self.count(Verdict::Unknown)) {
            (0, 0) => Outcome::Passed,
            (0, unknown) => Outcome::Incomplete(unknown),
            (failed, _) => Outcome::Failed(failed),
        }
    }

    /// `{verdict, summary, checks: [{id, verdict, message, hint}], …details}`.
    pub fn to_json(&self) -> Value {
        let verdict = match self.outcome() {
            Outcome::Passed => Verdict::Pass,
            Outcome::Failed(_) => Verdict::Fail,
            Outcome::Incomplete(_) => Verdict::Unknown,
        };
        let mut doc = Map::new();
        doc.insert("verdict".into(), json!(verdict));
        doc.insert(
            "summary".into(),
            json!({
                "pass": self.count(Verdict::Pass),
                "warn": self.count(Verdict::Warn),
                "fail": self.count(Verdict::Fail),
                "unknown": self.count(Verdict::Unknown),
            }),
        );
        doc.insert("checks".into(), json!(self.checks));
        for (key, value) in &self.details {
            doc.insert(key.clone(), value.clone());
        }
        Value::Object(doc)
    }

    /// One line for stderr: "5 checks: 3 passed, 1 failed, 1 warning".
    pub fn summary_line(&self) -> String {
        let mut parts = vec![format!("{} passed", self.count(Verdict::Pass))];
        let mut add = |n: usize, one: &str, many: &str| {
            if n > 0 {
                parts.push(format!("{n} {}", if n == 1 { one } else { many }));
            }
        };
        add(self.count(Verdict::Fail), "failed", "failed");
        add(self.count(Verdict::Warn), "warning", "warnings");
        add(self.count(Verdict::Unknown), "not checked", "not checked");
        let n = self.checks.len();
        format!(
            "{n} check{}: {}",
            if n == 1 { "" } else { "s" },
            parts.join(", ")
        )
    }
}

/// Why a request failed, in one line (the ARM code and message, the request id).
pub fn reason(e: &Error) -> String {
    match e {
        Error::Arm(arm) => {
            let mut text = format!("({}) {}", arm.code, arm.message);
            if let Some(id) = &arm.request_id {
                text.push_str(&format!(" [request id {id}]"));
            }
            text
        }
        other => other.to_string(),
    }
}

/// `2026-11-30T16:20:26Z` for unix seconds.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// Unix seconds of an RFC 3339 time (as ARM writes them, up to 7 fractional digits).
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

use crate::diagnostics::span;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_outranks_an_unknown_and_warnings_pass() {
        let mut report = Report::default();
        report.push(Check::pass("a", "ok"));
        report.push(Check::warn("b", "hm", "look"));
        assert_eq!(report.outcome(), Outcome::Passed);
        report.push(Check::unknown("c", "cannot read", None));
        assert_eq!(report.outcome(), Outcome::Incomplete(1));
        report.push(Check::fail("d", "bad", "fix"));
        assert_eq!(report.outcome(), Outcome::Failed(1));
        let doc = report.to_json();
        assert_eq!(doc["verdict"], "fail");
        assert_eq!(
            doc["summary"],
            json!({"pass": 1, "warn": 1, "fail": 1, "unknown": 1})
        );
        assert_eq!(
            doc["checks"][3],
            json!({"id": "d", "verdict": "fail", "message": "bad", "hint": "fix"})
        );
        assert_eq!(
            report.summary_line(),
            "4 checks: 1 passed, 1 failed, 1 warning, 1 not checked"
        );
    }

    #[test]
    fn times_and_spans() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse_rfc3339("2026-11-02T09:15:04Z"), Some(1793610904));
        assert_eq!(
            parse_rfc3339("2026-11-02T09:15:04.2170000Z"),
            Some(1793610904)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(span(59), "59s");
        assert_eq!(span(252), "4m 12s");
        assert_eq!(span(7380), "2h 3m");
        assert_eq!(span(-90), "1m 30s");
    }
}
