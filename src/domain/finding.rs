//! A finding: one rule of the catalog broken (or not checkable) by one resource, with the
//! ignore-file entry that accepted it; serialised as the audit's rows carry it (`results`).

use crate::domain::rules::{Level, rule};
use crate::domain::suppressions::Suppression;
use serde::Serialize;

/// One finding: a rule broken by one resource. The fields are in the order of the JSON output
/// (`ruleId`, `level`, `resource`, `message`, `hint`, `known`, `outcome`, `suppression`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    #[serde(rename = "ruleId")]
    pub rule: &'static str,
    pub level: Level,
    /// The ARM id of the cluster or binding.
    pub resource: String,
    pub message: String,
    pub hint: String,
    /// Already in the baseline.
    pub known: bool,
    /// The check could not be made (the message says why): neither a pass nor a failure.
    /// Written as `"outcome": "unknown"` (else `"finding"`).
    #[serde(rename = "outcome", serialize_with = "outcome")]
    pub unknown: bool,
    /// Accepted by a live `--ignore-file` entry; absent from the JSON otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppressed>,
    /// The exact fix, when a binding is it: the command (also the hint) and the desired-state
    /// manifest entry; absent from the JSON otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
}

/// A finding's exact fix: the command to run and the manifest entry for `plan`/`apply`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Remediation {
    pub command: String,
    pub manifest: String,
}

fn outcome<S: serde::Serializer>(unknown: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if *unknown { "unknown" } else { "finding" })
}

/// The ignore-file entry that accepted a finding: why, whose decision, until when, where.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suppressed {
    pub reason: String,
    pub owner: String,
    pub expires: String,
    pub file: String,
    pub line: u64,
}

impl Suppressed {
    pub fn of(file: &str, entry: &Suppression) -> Self {
        Suppressed {
            reason: entry.reason.clone(),
            owner: entry.owner.clone(),
            expires: entry.expires.to_string(),
            file: file.to_string(),
            line: entry.line,
        }
    }

    /// Why the finding is accepted, as reports show it: "reason (owner OWNER, until DATE;
    /// FILE:LINE)".
    pub fn justification(&self) -> String {
        format!(
            "{} (owner {}, until {}; {}:{})",
            self.reason, self.owner, self.expires, self.file, self.line
        )
    }
}

impl Finding {
    /// A finding of `rule_id` (its level and hint from the catalog) about `resource`.
    pub fn new(rule_id: &'static str, resource: &str, message: String) -> Self {
        let rule = rule(rule_id);
        Finding {
            rule: rule_id,
            level: rule.map_or(Level::Error, |r| r.level),
            resource: resource.to_string(),
            message,
            hint: rule.map_or("", |r| r.help).to_string(),
            known: false,
            unknown: false,
            suppression: None,
            remediation: None,
        }
    }

    /// A check of `rule_id` that could not be made; `hint` names the cause's remedy.
    pub fn unknown(rule_id: &'static str, resource: &str, message: String, hint: String) -> Self {
        Finding {
            unknown: true,
            hint,
            ..Finding::new(rule_id, resource, message)
        }
    }

    /// Counts toward the verdict and the exit code: not accepted by an ignore-file entry.
    pub fn counts(&self) -> bool {
        self.suppression.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::{DANGLING_SOURCE, SOURCE_UNKNOWN};

    #[test]
    fn a_finding_serialises_in_the_rows_field_order_with_suppression_only_when_accepted() {
        let mut f = Finding::new(DANGLING_SOURCE, "/c/b", "gone".into());
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"ruleId":"TA003","level":"error","resource":"/c/b","message":"gone","hint":"delete the binding: aks-trustedaccess rolebinding delete","known":false,"outcome":"finding"}"#
        );
        f.suppression = Some(Suppressed {
            reason: "r".into(),
            owner: "o".into(),
            expires: "2030-01-01".into(),
            file: "i.yaml".into(),
            line: 3,
        });
        let json = serde_json::to_string(&f).unwrap();
        assert!(
            json.ends_with(r#""outcome":"finding","suppression":{"reason":"r","owner":"o","expires":"2030-01-01","file":"i.yaml","line":3}}"#),
            "{json}"
        );
        assert_eq!(
            f.suppression.unwrap().justification(),
            "r (owner o, until 2030-01-01; i.yaml:3)"
        );
        let unknown = Finding::unknown(SOURCE_UNKNOWN, "/c/b", "?".into(), "h".into());
        assert!(
            serde_json::to_string(&unknown)
                .unwrap()
                .contains(r#""hint":"h","known":false,"outcome":"unknown"}"#)
        );
    }
}
