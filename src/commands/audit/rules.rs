//! The audit's rules (stable ids, levels, where each comes from), the findings they make, and a
//! role's privilege risk from its Kubernetes rules. Pure data: reports and the pipeline use it.

use crate::arm::models::RoleRule;
use serde_json::{Value, json};

pub use crate::domain::rules::{Level, Risk};

pub use crate::domain::rules::*;

/// One finding: a rule broken by one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: &'static str,
    pub level: Level,
    /// The ARM id of the cluster or binding.
    pub resource: String,
    pub message: String,
    pub hint: String,
    /// Already in the baseline.
    pub known: bool,
    /// Accepted by a live `--ignore-file` entry.
    pub suppression: Option<Suppressed>,
    /// The check could not be made (the message says why): neither a pass nor a failure.
    pub unknown: bool,
}

/// The ignore-file entry that accepted a finding: why, whose decision, until when, where.
#[derive(Debug, Clone, PartialEq)]
pub struct Suppressed {
    pub reason: String,
    pub owner: String,
    pub expires: String,
    pub file: String,
    pub line: u64,
}

impl Suppressed {
    pub fn of(file: &str, entry: &crate::domain::suppressions::Suppression) -> Self {
        Suppressed {
            reason: entry.reason.clone(),
            owner: entry.owner.clone(),
            expires: entry.expires.to_string(),
            file: file.to_string(),
            line: entry.line,
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "reason": self.reason,
            "owner": self.owner,
            "expires": self.expires,
            "file": self.file,
            "line": self.line,
        })
    }

    fn from_json(v: &Value) -> Option<Self> {
        Some(Suppressed {
            reason: v["reason"].as_str()?.to_string(),
            owner: v["owner"].as_str()?.to_string(),
            expires: v["expires"].as_str()?.to_string(),
            file: v["file"].as_str()?.to_string(),
            line: v["line"].as_u64()?,
        })
    }
}

impl Finding {
    pub fn new(rule_id: &'static str, resource: &str, message: String) -> Self {
        let rule = rule(rule_id);
        Finding {
            rule: rule_id,
            level: rule.map_or(Level::Error, |r| r.level),
            resource: resource.to_string(),
            message,
            hint: rule.map_or("", |r| r.help).to_string(),
            known: false,
            suppression: None,
            unknown: false,
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

    /// The finding as rows carry it; `suppression` only when an ignore-file entry accepted it.
    pub fn to_json(&self) -> Value {
        let mut out = json!({
            "ruleId": self.rule,
            "level": self.level.as_str(),
            "resource": self.resource,
            "message": self.message,
            "hint": self.hint,
            "known": self.known,
            "outcome": if self.unknown { "unknown" } else { "finding" },
        });
        if let Some(s) = &self.suppression {
            out["suppression"] = s.to_json();
        }
        out
    }

    pub fn from_json(v: &Value) -> Option<Self> {
        let rule_id = rule(v["ruleId"].as_str()?)?.id;
        Some(Finding {
            rule: rule_id,
            level: Level::parse(v["level"].as_str()?)?,
            resource: v["resource"].as_str()?.to_string(),
            message: v["message"].as_str().unwrap_or_default().to_string(),
            hint: v["hint"].as_str().unwrap_or_default().to_string(),
            known: v["known"].as_bool().unwrap_or(false),
            suppression: Suppressed::from_json(&v["suppression"]),
            unknown: v["outcome"] == "unknown",
        })
    }
}

/// `audit --list-rules`.
pub fn list() -> Value {
    Value::Array(
        RULES
            .iter()
            .map(|r| {
                let g = crate::domain::rule_guidance::guidance(r.id);
                json!({
                    "id": r.id,
                    "name": r.name,
                    "level": r.level.as_str(),
                    "severity": g.map(|g| g.severity.as_str()),
                    "securitySeverity": g.map(|g| g.score),
                    "origin": r.origin,
                    "description": r.description,
                    "help": r.help,
                    "fix": g.map(|g| g.command),
                    "helpUri": crate::domain::rule_guidance::help_uri(r.id, r.name),
                })
            })
            .collect(),
    )
}

fn has(list: &Option<Vec<String>>, wanted: &[&str]) -> bool {
    list.iter()
        .flatten()
        .any(|v| v == "*" || wanted.iter().any(|w| v.eq_ignore_ascii_case(w)))
}

const WRITES: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];
const READS: &[&str] = &["get", "list", "watch"];
const RBAC: &[&str] = &[
    "roles",
    "clusterroles",
    "rolebindings",
    "clusterrolebindings",
];

/// A role's risk from its Kubernetes rules, with the reasons (a role's rules are a ClusterRole,
/// so every write is cluster-wide).
pub fn role_risk(rules: &[RoleRule]) -> (Risk, Vec<String>) {
    let mut reasons: Vec<(Risk, String)> = Vec::new();
    for r in rules {
        let verbs = &r.verbs;
        let resources = &r.resources;
        if has(verbs, &["escalate", "bind", "impersonate"]) {
            reasons.push((Risk::High, "allows escalate, bind or impersonate".into()));
        }
        if has(resources, &["secrets"]) && has(verbs, READS) {
            reasons.push((Risk::High, "reads secrets".into()));
        }
        if has(resources, &["pods/exec", "pods/attach"]) {
            reasons.push((Risk::High, "can exec or attach into pods".into()));
        }
        if has(resources, RBAC) && has(verbs, WRITES) {
            reasons.push((
                Risk::High,
                "writes RBAC objects (roles and bindings)".into(),
            ));
        }
        let wildcard = |l: &Option<Vec<String>>| l.iter().flatten().any(|v| v == "*");
        if wildcard(verbs) || wildcard(resources) || wildcard(&r.api_groups) {
            reasons.push((Risk::Medium, "uses wildcards".into()));
        }
        if has(verbs, WRITES) {
            let what = resources
                .iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            reasons.push((Risk::Medium, format!("writes cluster-wide ({what})")));
        }
    }
    reasons.sort_by_key(|r| std::cmp::Reverse(r.0));
    reasons.dedup_by(|a, b| a.1 == b.1);
    let level = reasons.first().map_or(Risk::Low, |r| r.0);
    let mut words: Vec<String> = reasons.into_iter().map(|r| r.1).collect();
    if words.is_empty() {
        words.push("reads only, no secrets".into());
    }
    (level, words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(v: Value) -> Vec<RoleRule> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn risk_follows_what_the_rules_allow() {
        let read =
            rules(json!([{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]));
        assert_eq!(
            role_risk(&read),
            (Risk::Low, vec!["reads only, no secrets".to_string()])
        );
        let write = rules(
            json!([{"verbs": ["create"], "apiGroups": ["apps"], "resources": ["deployments"]}]),
        );
        assert_eq!(role_risk(&write).0, Risk::Medium);
        let admin = rules(json!([
            {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]},
            {"verbs": ["create"], "apiGroups": [""], "resources": ["pods/exec"]},
            {"verbs": ["create"], "apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterrolebindings"]}
        ]));
        let (risk, reasons) = role_risk(&admin);
        assert_eq!(risk, Risk::High);
        assert!(reasons.contains(&"reads secrets".to_string()));
        assert!(reasons.contains(&"can exec or attach into pods".to_string()));
        assert!(reasons.contains(&"writes RBAC objects (roles and bindings)".to_string()));
    }

    #[test]
    fn rules_are_found_by_id_or_name_and_ids_are_unique() {
        assert_eq!(rule("ta003").unwrap().name, "dangling-source");
        assert_eq!(rule("binding-limit").unwrap().id, BINDING_LIMIT);
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
    }
}
