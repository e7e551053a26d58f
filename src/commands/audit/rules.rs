//! The audit's rule list as `--list-rules` prints it (the catalog itself is `domain/rules.rs`),
//! and a role's privilege risk from its Kubernetes rules. Pure: the pipeline and `role list` use it.

use crate::arm::models::RoleRule;
use crate::domain::rule_guidance;
use crate::domain::rules::{Level, RULES, Risk};
use serde::Serialize;

/// One rule as `audit --list-rules` prints it: the catalog's entry with its guidance.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleListing {
    pub id: &'static str,
    pub name: &'static str,
    pub level: Level,
    pub severity: Option<&'static str>,
    pub security_severity: Option<&'static str>,
    pub origin: &'static str,
    pub description: &'static str,
    pub help: &'static str,
    pub fix: Option<&'static str>,
    pub help_uri: String,
}

/// `audit --list-rules`.
pub fn list() -> Vec<RuleListing> {
    RULES
        .iter()
        .map(|r| {
            let g = rule_guidance::guidance(r.id);
            RuleListing {
                id: r.id,
                name: r.name,
                level: r.level,
                severity: g.map(|g| g.severity.as_str()),
                security_severity: g.map(|g| g.score),
                origin: r.origin,
                description: r.description,
                help: r.help,
                fix: g.map(|g| g.command),
                help_uri: rule_guidance::help_uri(r.id, r.name),
            }
        })
        .collect()
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
    use crate::domain::rules::{BINDING_LIMIT, rule};
    use serde_json::{Value, json};

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
