//! A cluster's findings: what its identity, bindings, their sources and the location's catalog
//! break of the rule catalog. Pure: the requests are made by the audit pipeline. A new kind of
//! check is a function here called from `findings`, with its rule in `domain/rules.rs`.

use crate::arm::models::{Role, RoleBinding};
use crate::arm::resources::SourceState;
use crate::commands::audit::requirement::Requirement;
use crate::commands::audit::rules::role_risk;
use crate::domain::finding::Finding;
use crate::domain::roles::role_key;
use crate::domain::rules::*;
use std::collections::HashMap;
use std::sync::Arc;

/// A catalog reduced to what the audit compares: lower-cased `<type>/<name>` of each role and
/// its risk with the reasons (a few kilobytes, where the parsed catalog is tens).
pub type Catalog = HashMap<String, RoleRisk>;

/// A role's risk and the reasons for it.
pub type RoleRisk = (Risk, Arc<Vec<String>>);

/// What one cluster's verdict depends on.
pub struct Facts<'a> {
    pub cluster_id: &'a str,
    pub identity: &'a str,
    pub bindings: &'a [RoleBinding],
    pub catalog: Option<&'a Catalog>,
    pub location: &'a str,
    pub requirements: &'a [Requirement],
    /// Each source's state, by lower-cased id.
    pub sources: &'a HashMap<String, SourceState>,
    /// Risk above this is an error-level finding.
    pub max_risk: Option<Risk>,
    /// Why the location's catalog could not be read (the roles' checks are then unknown).
    pub catalog_error: Option<&'a str>,
}

/// Everything wrong with one cluster; empty when it passes.
pub fn findings(f: &Facts) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let cluster = f.cluster_id;
    if f.bindings.is_empty() {
        out.push(Finding::new(
            NO_BINDING,
            cluster,
            "no role binding: Trusted Access is not used".into(),
        ));
    }
    if !f.identity.eq_ignore_ascii_case("SystemAssigned") {
        out.push(Finding::new(CLUSTER_IDENTITY, cluster, format!(
            "identity is {}: Trusted Access needs the cluster to use a system-assigned managed identity",
            f.identity
        )));
    }
    if f.bindings.len() >= 8 {
        out.push(Finding::new(
            BINDING_LIMIT,
            cluster,
            format!(
                "{} role bindings: the cluster is at the limit of 8",
                f.bindings.len()
            ),
        ));
    }
    for b in f.bindings {
        out.extend(binding_findings(f, b));
    }
    for required in f.requirements {
        if !f.bindings.iter().any(|b| required.satisfied_by(b)) {
            out.push(Finding::new(
                REQUIRED_BINDING,
                cluster,
                format!("no binding for {}", required.describe()),
            ));
        }
    }
    out
}

fn binding_findings(f: &Facts, b: &RoleBinding) -> Vec<Finding> {
    let name = b.name.as_deref().unwrap_or("?");
    let id =
        b.id.clone()
            .unwrap_or_else(|| format!("{}/trustedAccessRoleBindings/{name}", f.cluster_id));
    let mut out = Vec::new();
    let state = b
        .properties
        .provisioning_state
        .as_deref()
        .unwrap_or("Succeeded");
    if !state.eq_ignore_ascii_case("Succeeded") {
        out.push(Finding::new(
            NOT_SUCCEEDED,
            &id,
            format!("binding {name} is {state}"),
        ));
    }
    if let Some(source) = b.properties.source_resource_id.as_deref() {
        out.extend(source_finding(f, &id, name, source));
    }
    if let Some(catalog) = f.catalog {
        role_findings(f, catalog, b, &id, name, &mut out);
    } else if let Some(why) = f.catalog_error {
        out.push(Finding::unknown(
            ROLE_GONE,
            &id,
            format!("binding {name}: its roles could not be checked: {why}"),
            unknown_hint(why),
        ));
    }
    out
}

/// What the source's state says about a binding: gone, without identity, or unknown.
fn source_finding(f: &Facts, id: &str, name: &str, source: &str) -> Option<Finding> {
    match f
        .sources
        .get(&source.trim_end_matches('/').to_ascii_lowercase())?
    {
        SourceState::Absent => Some(Finding::new(
            DANGLING_SOURCE,
            id,
            format!(
                "binding {name}: its source {source} no longer exists; a resource created later under that id would be trusted"
            ),
        )),
        state @ SourceState::Present { .. } if state.has_system_identity() == Some(false) => {
            Some(Finding::new(
                SOURCE_IDENTITY,
                id,
                format!(
                    "binding {name}: its source {source} has no system-assigned managed identity, so the binding cannot work"
                ),
            ))
        }
        SourceState::Unreadable(why) => Some(Finding::unknown(
            SOURCE_UNKNOWN,
            id,
            format!("binding {name}: its source {source} could not be read ({why})"),
            unknown_hint(why),
        )),
        _ => None,
    }
}

/// Roles gone from the catalog, and the privilege of the riskiest role (a note, or an error
/// above `--max-risk`).
fn role_findings(
    f: &Facts,
    catalog: &Catalog,
    b: &RoleBinding,
    id: &str,
    name: &str,
    out: &mut Vec<Finding>,
) {
    let mut worst: Option<(Risk, &str, &Arc<Vec<String>>)> = None;
    for role in b.properties.roles.iter().flatten() {
        match catalog.get(&role_key(role)) {
            None => out.push(Finding::new(
                ROLE_GONE,
                id,
                format!(
                    "binding {name}: role {role} no longer exists in {}",
                    f.location
                ),
            )),
            Some((risk, reasons)) if worst.is_none_or(|w| *risk > w.0) => {
                worst = Some((*risk, role, reasons))
            }
            Some(_) => {}
        }
    }
    if let Some((risk, role, reasons)) = worst
        && risk > Risk::Low
    {
        let mut finding = Finding::new(
            PRIVILEGE,
            id,
            format!(
                "binding {name}: {} risk from role {role}: {}",
                risk.as_str(),
                reasons.join("; ")
            ),
        );
        if f.max_risk.is_some_and(|max| risk > max) {
            finding.level = Level::Error;
        }
        out.push(finding);
    }
}

/// A catalog entry: `<sourceResourceType>/<name>` lower-cased (the service compares roles
/// case-insensitively) and the role's risk.
pub fn catalog_entry(role: &Role) -> Option<(String, RoleRisk)> {
    let key = role_key(&role.qualified()?);
    let (risk, reasons) = role_risk(role.rules.as_deref().unwrap_or_default());
    Some((key, (risk, Arc::new(reasons))))
}

/// The remedy for a check that could not be made, by its real cause: a refusal of the caller
/// (401, 403) is a permission to grant; anything else (a 400, a 5xx after retries, a provider
/// that cannot be asked) is not, and the hint says so rather than blaming permissions.
pub fn unknown_hint(why: &str) -> String {
    let denied = [
        "AuthorizationFailed",
        "Forbidden",
        "InvalidAuthenticationToken",
        "does not have authorization",
        "(401)",
        "(403)",
        "HTTP 401",
        "HTTP 403",
    ];
    if denied.iter().any(|d| why.contains(d)) {
        "the audit's identity may not read it: grant Reader on its scope, or pass --allow-unknown to accept unknowns".into()
    } else {
        format!(
            "not a permission problem ({}): run the audit again, or with --discovery arm; --allow-unknown accepts unknowns",
            why.split(':').next().unwrap_or(why).trim()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn binding(roles: &[&str], source: &str) -> RoleBinding {
        serde_json::from_value(
            json!({"name": "b", "properties": {"roles": roles, "sourceResourceId": source}}),
        )
        .unwrap()
    }

    fn facts<'a>(
        identity: &'a str,
        bindings: &'a [RoleBinding],
        catalog: Option<&'a Catalog>,
        sources: &'a HashMap<String, SourceState>,
        requirements: &'a [Requirement],
    ) -> Facts<'a> {
        Facts {
            cluster_id: "/c",
            identity,
            bindings,
            catalog,
            location: "eastus",
            requirements,
            sources,
            max_risk: None,
            catalog_error: None,
        }
    }

    fn rule_ids(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.rule).collect()
    }

    const ROLE: &str = "Microsoft.MachineLearningServices/workspaces/mlworkload";

    /// A catalog with one low-risk role, sources in every state (`/ok`, `/gone`, `/noid`,
    /// `/hidden`), and a binding with nothing wrong.
    fn world() -> (Catalog, HashMap<String, SourceState>, RoleBinding) {
        let role = ROLE;
        let catalog: Catalog = [(role.to_ascii_lowercase(), (Risk::Low, Arc::new(vec![])))].into();
        let present = SourceState::Present {
            identity_type: Some("SystemAssigned".into()),
            principal_id: None,
            tenant_id: None,
        };
        let sources: HashMap<String, SourceState> = [
            ("/ok".to_string(), present),
            ("/gone".to_string(), SourceState::Absent),
            (
                "/noid".to_string(),
                SourceState::Present {
                    identity_type: None,
                    principal_id: None,
                    tenant_id: None,
                },
            ),
            ("/hidden".to_string(), SourceState::Unreadable("403".into())),
        ]
        .into();
        (catalog, sources, binding(&[role], "/ok"))
    }

    #[test]
    fn a_clean_cluster_has_no_finding_and_counts_give_theirs() {
        let (catalog, sources, good) = world();
        assert!(
            findings(&facts(
                "SystemAssigned",
                std::slice::from_ref(&good),
                Some(&catalog),
                &sources,
                &[]
            ))
            .is_empty()
        );
        assert_eq!(
            rule_ids(&findings(&facts(
                "systemassigned",
                &[],
                None,
                &sources,
                &[]
            ))),
            [NO_BINDING]
        );
        let eight: Vec<RoleBinding> = (0..8).map(|_| good.clone()).collect();
        assert_eq!(
            rule_ids(&findings(&facts(
                "SystemAssigned",
                &eight,
                Some(&catalog),
                &sources,
                &[]
            ))),
            [BINDING_LIMIT]
        );
    }

    #[test]
    fn each_problem_is_a_finding_with_its_rule() {
        let (catalog, sources, good) = world();
        let role = ROLE;
        let mut failed = good.clone();
        failed.properties.provisioning_state = Some("Failed".into());
        let required = Requirement::parse("Microsoft.DataProtection/backupVaults").unwrap();
        let bad = [
            failed,
            binding(&[role, "A/b/gone"], "/gone"),
            binding(&[role], "/noid"),
            binding(&[role], "/hidden"),
        ];
        let all = findings(&facts(
            "UserAssigned",
            &bad,
            Some(&catalog),
            &sources,
            std::slice::from_ref(&required),
        ));
        assert_eq!(
            rule_ids(&all),
            [
                CLUSTER_IDENTITY,
                NOT_SUCCEEDED,
                DANGLING_SOURCE,
                ROLE_GONE,
                SOURCE_IDENTITY,
                SOURCE_UNKNOWN,
                REQUIRED_BINDING
            ]
        );
        assert_eq!(all[1].message, "binding b is Failed");
        assert!(all[5].unknown && !all[4].unknown);
        assert!(
            all[5].hint.starts_with("not a permission problem"),
            "{}",
            all[5].hint
        );
    }

    #[test]
    fn privilege_is_a_note_unless_above_the_maximum() {
        let role = "A/b/admin";
        let catalog: Catalog = [(
            role.to_ascii_lowercase(),
            (Risk::High, Arc::new(vec!["reads secrets".to_string()])),
        )]
        .into();
        let sources = HashMap::new();
        let b = [binding(&[role], "/x")];
        let mut f = facts("SystemAssigned", &b, Some(&catalog), &sources, &[]);
        let note = findings(&f);
        assert_eq!((note[0].rule, note[0].level), (PRIVILEGE, Level::Note));
        assert_eq!(
            note[0].message,
            "binding b: high risk from role A/b/admin: reads secrets"
        );
        f.max_risk = Some(Risk::Medium);
        assert_eq!(findings(&f)[0].level, Level::Error);
    }
}
