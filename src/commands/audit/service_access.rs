//! `audit --access` (TA017): who can drive a binding's source through an Azure role at the
//! source, a parent scope or a management group above its subscription, and the binding's risk
//! raised by them. Pure.

use crate::arm::models::RoleBinding;
use crate::commands::audit::service_facts::Access;
use crate::commands::audit::verdict::unknown_hint;
use crate::domain::finding::Finding;
use crate::domain::rules::{Level, Risk, SOURCE_ACCESS};
use crate::domain::services::source_type_of;
use crate::domain::source_access::{
    Assignment, Driver, builtin_driver, definition_drives, raised, scope_reaches,
};
/// Who can drive a binding's source, and the binding's risk with them.
pub type Exposure = (Vec<Driver>, Option<Risk>);

/// The binding `id`'s TA017 finding (an error when its raised risk is above `max_risk`), and
/// its exposure; an unknown finding when the assignments could not be read.
pub fn exposure(
    id: &str,
    b: &RoleBinding,
    access: &Result<Access, String>,
    (risk, max_risk): (Option<Risk>, Option<Risk>),
) -> (Option<Finding>, Option<Exposure>) {
    let name = b.name.as_deref().unwrap_or("?");
    let Some(source) = b.properties.source_resource_id.as_deref() else {
        return (None, None);
    };
    let access = match access {
        Ok(a) => a,
        Err(why) => {
            let msg = format!("binding {name}: who can drive its source could not be read ({why})");
            return (
                Some(Finding::unknown(SOURCE_ACCESS, id, msg, unknown_hint(why))),
                None,
            );
        }
    };
    let (drivers, unknown_groups) = drivers(access, source);
    let after = risk.map(|r| raised(r, drivers.len()));
    if !unknown_groups.is_empty() {
        let finding = unreached(id, name, &unknown_groups, access, drivers.len());
        return (Some(finding), Some((drivers, after)));
    }
    if drivers.is_empty() {
        return (None, Some((drivers, risk)));
    }
    let who: Vec<String> = drivers
        .iter()
        .map(|d| {
            format!(
                "{} {} ({} at {})",
                d.principal_type, d.principal_id, d.role, d.scope
            )
        })
        .collect();
    let mut finding = Finding::new(
        SOURCE_ACCESS,
        id,
        format!(
            "binding {name}: {} principal(s) can drive its source and act in the cluster with its rights{}: {}",
            drivers.len(),
            match (risk, after) {
                (Some(r), Some(a)) => format!(" (risk {} -> {})", r.as_str(), a.as_str()),
                _ => String::new(),
            },
            who.join("; ")
        ),
    );
    if let (Some(max), Some(a)) = (max_risk, after)
        && a > max
    {
        finding.level = Level::Error;
    }
    (Some(finding), Some((drivers, after)))
}

/// An unknown TA017: assignments whose role drives the source sit at management groups, and
/// whether the source's subscription is under them could not be read.
fn unreached(id: &str, name: &str, groups: &[String], access: &Access, known: usize) -> Finding {
    let why = match &access.groups {
        Some(Err(why)) => why.clone(),
        Some(Ok(_)) => "Resource Graph did not list the subscription's management groups".into(),
        None => "the subscriptions' management groups were not read".into(),
    };
    let msg = format!(
        "binding {name}: whether role assignments at management group(s) {} can drive its source could not be read ({why}); {known} other principal(s) can",
        groups.join(", ")
    );
    Finding::unknown(SOURCE_ACCESS, id, msg, unknown_hint(&why))
}

/// The assignments at the source, a parent scope or a management group above its
/// subscription whose role drives the source's type; and the management groups (lower-cased)
/// of such assignments whose reach could not be read.
pub fn drivers(access: &Access, source: &str) -> (Vec<Driver>, Vec<String>) {
    let Some(kind) = source_type_of(source) else {
        return Default::default();
    };
    let chains = access.groups.as_ref().and_then(|g| g.as_ref().ok());
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for a in &access.assignments {
        let Some(role) = driving_role(access, a, &kind) else {
            continue;
        };
        match scope_reaches(&a.scope, source, chains) {
            Ok(true) => out.push(Driver {
                principal_id: a.principal_id.clone(),
                principal_type: a.principal_type.clone(),
                role,
                scope: a.scope.clone(),
            }),
            Ok(false) => {}
            Err(group) => unknown.push(group),
        }
    }
    out.sort_by(|a, b| {
        (&a.scope, &a.principal_id, &a.role).cmp(&(&b.scope, &b.principal_id, &b.role))
    });
    out.dedup();
    unknown.sort();
    unknown.dedup();
    (out, unknown)
}

/// The name of the assignment's role when it drives sources of `kind`.
fn driving_role(access: &Access, a: &Assignment, kind: &str) -> Option<String> {
    match access.definitions.get(&a.role) {
        Some(d) if builtin_driver(&a.role, kind).is_some() => Some(d.name.clone()),
        Some(d) => definition_drives(d, kind).then(|| d.name.clone()),
        None => builtin_driver(&a.role, kind).map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::audit::ancestry::add_chain;
    use crate::domain::source_access::Chains;
    use serde_json::json;

    const VAULT: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/g/providers/Microsoft.DataProtection/backupVaults/v";
    const BACKUP_CONTRIBUTOR: &str = "5e467623-bb1f-42f4-a55d-6e525e11384b";

    fn access(groups: Option<Result<Chains, String>>) -> Access {
        let assign = |scope: &str, role: &str| Assignment {
            principal_id: "p".into(),
            principal_type: "Group".into(),
            role: role.into(),
            scope: scope.into(),
        };
        Access {
            assignments: vec![
                assign(
                    "/providers/Microsoft.Management/managementGroups/MG-Fleet",
                    BACKUP_CONTRIBUTOR,
                ),
                // Reader drives nothing: its group's reach is never asked.
                assign(
                    "/providers/Microsoft.Management/managementGroups/mg-other",
                    "acdd72a7-3385-48ef-bd42-f606fba81ae7",
                ),
            ],
            definitions: Default::default(),
            groups,
        }
    }

    #[test]
    fn a_management_group_assignment_drives_the_sources_of_its_subscriptions_or_is_unknown() {
        let mut chains = Chains::new();
        add_chain(
            &mut chains,
            &json!({"subscriptionId": "00000000-0000-0000-0000-000000000001",
                "chain": [{"name": "mg-fleet-even", "displayName": "Even"}, {"name": "MG-FLEET", "displayName": "Fleet"}]}),
        );
        add_chain(
            &mut chains,
            &json!({"subscriptionId": "00000000-0000-0000-0000-000000000002", "chain": []}),
        );
        let (drivers_of, unknown) = drivers(&access(Some(Ok(chains.clone()))), VAULT);
        assert_eq!(unknown, Vec::<String>::new());
        assert_eq!(drivers_of.len(), 1);
        assert_eq!(drivers_of[0].role, "Backup Contributor");
        assert_eq!(
            drivers_of[0].scope,
            "/providers/Microsoft.Management/managementGroups/MG-Fleet"
        );
        // A subscription outside the group: no driver, and known.
        let elsewhere = VAULT.replace("0001/", "0002/");
        assert_eq!(
            drivers(&access(Some(Ok(chains))), &elsewhere),
            (vec![], vec![])
        );

        let b: RoleBinding = serde_json::from_value(json!({"name": "b",
            "properties": {"sourceResourceId": VAULT, "roles": ["Microsoft.DataProtection/backupVaults/backup-operator"]}}))
        .unwrap();
        for groups in [
            None,
            Some(Err("Resource Graph: 403 AuthorizationFailed".to_string())),
            Some(Ok(Chains::new())),
        ] {
            let (finding, exposure) = exposure(
                "/b",
                &b,
                &Ok(access(groups.clone())),
                (Some(Risk::Medium), None),
            );
            let finding = finding.unwrap();
            assert!(finding.unknown, "{groups:?}: {finding:?}");
            assert!(
                finding.message.contains("management group(s) mg-fleet "),
                "{}",
                finding.message
            );
            assert_eq!(exposure, Some((vec![], Some(Risk::Medium))));
        }
    }
}
