//! The audit's rules (stable ids, levels, where each comes from), the findings they make, and a
//! role's privilege risk from its Kubernetes rules. Pure data: reports and the pipeline use it.

use crate::arm::models::RoleRule;
use serde_json::{Value, json};

pub use crate::resolve::{Level, Risk};

pub struct Rule {
    pub id: &'static str,
    pub name: &'static str,
    pub level: Level,
    /// Where the rule comes from.
    pub origin: &'static str,
    pub description: &'static str,
    pub help: &'static str,
}

pub const NO_BINDING: &str = "TA001";
pub const CLUSTER_IDENTITY: &str = "TA002";
pub const DANGLING_SOURCE: &str = "TA003";
pub const SOURCE_IDENTITY: &str = "TA004";
pub const ROLE_GONE: &str = "TA005";
pub const NOT_SUCCEEDED: &str = "TA006";
pub const BINDING_LIMIT: &str = "TA007";
pub const PRIVILEGE: &str = "TA008";
pub const REQUIRED_BINDING: &str = "TA009";
pub const SOURCE_UNKNOWN: &str = "TA010";

pub const RULES: &[Rule] = &[
    Rule {
        id: NO_BINDING,
        name: "no-binding",
        level: Level::Error,
        origin: "Conformity procedure (AKS Trusted Access): the cluster has a Trusted Access role binding",
        description: "The cluster has no Trusted Access role binding.",
        help: "bind the services that need the cluster with 'aks-trustedaccess rolebinding create', or skip this rule with --skip-rule TA001",
    },
    Rule {
        id: CLUSTER_IDENTITY,
        name: "cluster-identity",
        level: Level::Error,
        origin: "Conformity procedure (AKS Trusted Access): the cluster uses a system-assigned managed identity",
        description: "The cluster does not use a system-assigned managed identity.",
        help: "move the cluster to a system-assigned identity: az aks update --enable-managed-identity",
    },
    Rule {
        id: DANGLING_SOURCE,
        name: "dangling-source",
        level: Level::Error,
        origin: "Trusted Access: a binding trusts its source by id; a resource created later under the same id would be trusted",
        description: "The binding's source resource no longer exists.",
        help: "delete the binding: aks-trustedaccess rolebinding delete",
    },
    Rule {
        id: SOURCE_IDENTITY,
        name: "source-without-system-identity",
        level: Level::Error,
        origin: "Trusted Access: the service authenticates with its source's system-assigned managed identity",
        description: "The binding's source has no system-assigned managed identity, so the binding cannot work.",
        help: "enable the source's system-assigned identity, or delete the binding",
    },
    Rule {
        id: ROLE_GONE,
        name: "role-not-in-catalog",
        level: Level::Error,
        origin: "Trusted Access role catalog of the cluster's location, read now",
        description: "A role the binding holds is no longer in the location's catalog.",
        help: "update the binding to roles from 'aks-trustedaccess role list -l LOCATION'",
    },
    Rule {
        id: NOT_SUCCEEDED,
        name: "binding-not-succeeded",
        level: Level::Error,
        origin: "ARM: provisioningState",
        description: "The binding's provisioning state is not Succeeded.",
        help: "look at it with 'aks-trustedaccess rolebinding show' and update or recreate it",
    },
    Rule {
        id: BINDING_LIMIT,
        name: "binding-limit",
        level: Level::Warning,
        origin: "Trusted Access: at most 8 role bindings per cluster",
        description: "The cluster is at the limit of 8 role bindings; no service can be added.",
        help: "delete bindings that are no longer needed (dangling ones first)",
    },
    Rule {
        id: PRIVILEGE,
        name: "privilege",
        level: Level::Note,
        origin: "The roles' Kubernetes rules (secrets, exec/attach, RBAC writes, escalate/bind/impersonate, wildcards, writes)",
        description: "The binding's roles allow powerful actions in the cluster (a note; an error above --max-risk).",
        help: "grant the least powerful role the service needs; see 'aks-trustedaccess role show -l LOCATION NAME'",
    },
    Rule {
        id: REQUIRED_BINDING,
        name: "required-binding",
        level: Level::Error,
        origin: "--require-binding-for",
        description: "A service every cluster must bind is not bound.",
        help: "create the binding with 'aks-trustedaccess rolebinding create'",
    },
    Rule {
        id: SOURCE_UNKNOWN,
        name: "source-unknown",
        level: Level::Note,
        origin: "The caller could not read the binding's source resource",
        description: "The binding's source could not be read, so whether it exists is unknown.",
        help: "run the audit with an identity that can read the source (Reader on its scope)",
    },
];

pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.id.eq_ignore_ascii_case(id) || r.name.eq_ignore_ascii_case(id))
}

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
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "ruleId": self.rule,
            "level": self.level.as_str(),
            "resource": self.resource,
            "message": self.message,
            "hint": self.hint,
            "known": self.known,
        })
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
        })
    }
}

/// `audit --list-rules`.
pub fn list() -> Value {
    Value::Array(
        RULES
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "name": r.name,
                    "level": r.level.as_str(),
                    "origin": r.origin,
                    "description": r.description,
                    "help": r.help,
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
