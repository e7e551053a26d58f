//! The audit's rows, typed: one per cluster, or per subscription skipped or unreadable. The
//! output layer serialises each once; the fields are in the order of the JSON output, and every
//! row has every column (null where absent), so TSV rows line up for `awk -F'\t'`.

use crate::arm::models::RoleBinding;
use crate::commands::audit::verdict::Catalog;
use crate::commands::fleet::discovery::FoundCluster;
use crate::domain::finding::Finding;
use crate::domain::rules::{Level, Risk};
use crate::domain::source_access::Driver;
use serde::Serialize;
use std::collections::BTreeMap;

/// One row of the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub subscription: String,
    pub subscription_id: String,
    pub resource_group: Option<String>,
    pub cluster: Option<String>,
    pub location: Option<String>,
    pub identity_type: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    pub id: Option<String>,
    pub binding_count: Option<usize>,
    pub bindings: Option<Vec<BindingView>>,
    pub verdict: Verdict,
    /// The messages the table shows: warnings, errors and unknowns not suppressed (notes such
    /// as privilege are only in `results`).
    pub findings: Vec<String>,
    /// Every finding, with its rule, level, outcome, hint and suppression.
    pub results: Vec<Finding>,
    pub error: Option<String>,
    /// `--services`: what uses the cluster and which binding serves each (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub services: Option<serde_json::Value>,
}

/// A row's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
    /// A check could not be made (and nothing failed).
    Unknown,
    /// The cluster or subscription could not be read.
    Error,
    /// A subscription not Enabled, not named by the user.
    Skipped,
}

/// A binding as the row shows it: its source, roles, risk (its riskiest role's, when the
/// catalog knows them) and who made it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BindingView {
    pub name: Option<String>,
    pub source_resource_id: Option<String>,
    pub roles: Option<Vec<String>>,
    pub provisioning_state: Option<String>,
    pub risk: Option<Risk>,
    pub made_by: Option<&'static str>,
    /// `--access`: who can drive the binding's source (its risk is then raised by them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principals: Option<Vec<Driver>>,
}

impl BindingView {
    pub fn of(b: &RoleBinding, catalog: Option<&Catalog>) -> Self {
        let risk = catalog.and_then(|c| {
            b.properties
                .roles
                .iter()
                .flatten()
                .filter_map(|r| c.get(&r.to_ascii_lowercase()).map(|e| e.0))
                .max()
        });
        BindingView {
            name: b.name.clone(),
            source_resource_id: b.properties.source_resource_id.clone(),
            roles: b.properties.roles.clone(),
            provisioning_state: b.properties.provisioning_state.clone(),
            risk,
            made_by: b.maker().label(),
            principals: None,
        }
    }
}

impl Row {
    /// A row about a subscription alone: no cluster columns.
    fn subscription(subscription: &str, subscription_id: &str, verdict: Verdict) -> Self {
        Row {
            subscription: subscription.to_string(),
            subscription_id: subscription_id.to_string(),
            resource_group: None,
            cluster: None,
            location: None,
            identity_type: None,
            tags: None,
            id: None,
            binding_count: None,
            bindings: None,
            verdict,
            findings: Vec::new(),
            results: Vec::new(),
            error: None,
            services: None,
        }
    }

    /// A cluster's columns, before its bindings are read.
    fn cluster(cluster: &FoundCluster, identity: &str, verdict: Verdict) -> Self {
        Row {
            resource_group: Some(cluster.id.resource_group.as_str().to_string()),
            cluster: Some(cluster.id.name.as_str().to_string()),
            location: Some(cluster.location.clone()),
            identity_type: Some(identity.to_string()),
            tags: Some(cluster.tags.clone()),
            id: Some(cluster.id.path()),
            ..Row::subscription(
                &cluster.subscription.display(),
                cluster.id.subscription.as_str(),
                verdict,
            )
        }
    }

    /// A cluster checked: its bindings, its findings and the verdict they give.
    pub fn checked(
        cluster: &FoundCluster,
        identity: &str,
        bindings: Vec<BindingView>,
        findings: Vec<Finding>,
    ) -> Self {
        let verdict = Verdict::of(&findings);
        Row {
            binding_count: Some(bindings.len()),
            bindings: Some(bindings),
            findings: shown_messages(&findings),
            results: findings,
            ..Row::cluster(cluster, identity, verdict)
        }
    }

    /// A cluster whose bindings could not be read.
    pub fn cluster_error(cluster: &FoundCluster, identity: &str, why: &str) -> Self {
        Row {
            error: Some(why.to_string()),
            ..Row::cluster(cluster, identity, Verdict::Error)
        }
    }

    /// A subscription whose clusters could not be listed.
    pub fn subscription_error(subscription: &str, subscription_id: &str, why: &str) -> Self {
        Row {
            error: Some(why.to_string()),
            ..Row::subscription(subscription, subscription_id, Verdict::Error)
        }
    }

    /// `--services`: the row carries the column even with no view (a subscription, a cluster
    /// not read, an audit stopped early), as null, so every row of one run has the same fields
    /// and TSV rows line up for `cut -f`.
    pub fn with_services_column(mut self) -> Self {
        self.services.get_or_insert(serde_json::Value::Null);
        self
    }

    /// A subscription not Enabled: skipped, or an error when the user named it (never a silent
    /// `[]`).
    pub fn skipped(subscription: &str, subscription_id: &str, state: &str, named: bool) -> Self {
        if named {
            return Row::subscription_error(
                subscription,
                subscription_id,
                &format!("subscription is {state}: its clusters cannot be audited"),
            );
        }
        Row {
            findings: vec![format!("subscription is {state}")],
            ..Row::subscription(subscription, subscription_id, Verdict::Skipped)
        }
    }
}

impl Verdict {
    /// `fail` when an error-level finding was made; else `unknown` when a check could not be
    /// made (a cluster is never `pass` or `warn` on checks that were not made); else `warn` for
    /// a warning; else `pass`. Findings an ignore-file entry accepted count for none of them.
    pub fn of(findings: &[Finding]) -> Self {
        let counted = || findings.iter().filter(|f| f.counts());
        let worst = counted().filter(|f| !f.unknown).map(|f| f.level).max();
        let unknown = counted().any(|f| f.unknown);
        match worst {
            Some(Level::Error) => Verdict::Fail,
            _ if unknown => Verdict::Unknown,
            Some(Level::Warning) => Verdict::Warn,
            _ => Verdict::Pass,
        }
    }
}

/// The messages of warnings, errors and unknowns not suppressed: what the table shows.
fn shown_messages(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| (f.unknown || f.level > Level::Note) && f.counts())
        .map(|f| {
            if f.unknown {
                format!("unknown: {}", f.message)
            } else {
                f.message.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::{BINDING_LIMIT, PRIVILEGE, SOURCE_UNKNOWN};

    #[test]
    fn a_row_has_every_column_in_order() {
        let row = Row::skipped("s", "0000", "Disabled", false);
        assert_eq!(
            serde_json::to_string(&row).unwrap(),
            r#"{"subscription":"s","subscriptionId":"0000","resourceGroup":null,"cluster":null,"location":null,"identityType":null,"tags":null,"id":null,"bindingCount":null,"bindings":null,"verdict":"skipped","findings":["subscription is Disabled"],"results":[],"error":null}"#
        );
        // `--services`: the column is on every row, null where there is no view.
        let error = Row::subscription_error("s", "0000", "403").with_services_column();
        assert!(
            serde_json::to_string(&error)
                .unwrap()
                .ends_with(r#","error":"403","services":null}"#)
        );
        let mut viewed = Row::subscription_error("s", "0000", "403");
        viewed.services = Some(serde_json::json!({"ml": []}));
        assert_eq!(
            viewed.with_services_column().services,
            Some(serde_json::json!({"ml": []}))
        );
        let named = Row::skipped("s", "0000", "Disabled", true);
        assert_eq!(named.verdict, Verdict::Error);
        assert!(named.findings.is_empty());
    }

    #[test]
    fn the_verdict_is_the_worst_counted_finding_and_unknown_beats_warn() {
        let warn = Finding::new(BINDING_LIMIT, "/c", "w".into());
        let note = Finding::new(PRIVILEGE, "/c", "n".into());
        let unknown = Finding::unknown(SOURCE_UNKNOWN, "/c", "u".into(), "h".into());
        assert_eq!(Verdict::of(std::slice::from_ref(&note)), Verdict::Pass);
        assert_eq!(Verdict::of(&[note.clone(), warn.clone()]), Verdict::Warn);
        assert_eq!(
            Verdict::of(&[warn.clone(), unknown.clone()]),
            Verdict::Unknown
        );
        let mut error = warn.clone();
        error.level = Level::Error;
        assert_eq!(
            Verdict::of(&[unknown.clone(), error.clone()]),
            Verdict::Fail
        );
        error.suppression = Some(crate::domain::finding::Suppressed {
            reason: "r".into(),
            owner: "o".into(),
            expires: "2030-01-01".into(),
            file: "f".into(),
            line: 1,
        });
        assert_eq!(Verdict::of(std::slice::from_ref(&error)), Verdict::Pass);
        assert_eq!(
            shown_messages(&[note, warn, unknown, error]),
            ["w", "unknown: u"]
        );
    }
}
