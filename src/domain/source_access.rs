//! Who can act through a binding's source: which Azure role assignments (at the source or a
//! parent scope) let a principal drive the service that holds the binding's Kubernetes rights
//! (CERT/CC VU#284781: Backup Contributor on a vault reached cluster-admin-level rights through
//! the vault's binding), and how much they raise the binding's risk. Pure.

use crate::domain::rules::Risk;
use std::collections::HashMap;

/// Built-in roles that drive a source, by role definition GUID (the last segment of
/// `roleDefinitionId`, the same in every subscription): Owner and Contributor drive every
/// source; the others the sources of their service. Used when Resource Graph returns no
/// definition row for the GUID; a definition row (custom roles) is judged by its actions.
const BUILTIN_DRIVERS: &[(&str, &str, &[&str])] = &[
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", &[]),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor", &[]),
    (
        "5e467623-bb1f-42f4-a55d-6e525e11384b",
        "Backup Contributor",
        &["microsoft.dataprotection/", "microsoft.recoveryservices/"],
    ),
    (
        "00c29273-979b-4161-815c-10b084fb9324",
        "Backup Operator",
        &["microsoft.dataprotection/", "microsoft.recoveryservices/"],
    ),
    (
        "f6c7c914-8db3-469d-8ca1-694a8f32e121",
        "AzureML Data Scientist",
        &["microsoft.machinelearningservices/"],
    ),
    (
        "e503ece1-11d0-4e8e-8e2c-7a6c3bf38815",
        "AzureML Compute Operator",
        &["microsoft.machinelearningservices/"],
    ),
    (
        "fb1c8493-542b-48eb-b624-b4c8fea62acd",
        "Security Admin",
        &["microsoft.security/"],
    ),
];

/// A role assignment as Resource Graph's `authorizationresources` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub principal_id: String,
    pub principal_type: String,
    /// The role definition's GUID, lower-cased.
    pub role: String,
    /// Where it is assigned (a resource, group, subscription or management group id).
    pub scope: String,
}

/// A role definition: its name and whether its actions drive a source type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    pub name: String,
    /// `permissions[].actions`, lower-cased.
    pub actions: Vec<String>,
    /// `permissions[].notActions`, lower-cased.
    pub not_actions: Vec<String>,
}

/// A principal who can drive a source, through which role at which scope.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Driver {
    pub principal_id: String,
    pub principal_type: String,
    pub role: String,
    pub scope: String,
}

/// The GUID a `roleDefinitionId` ends with, lower-cased.
pub fn role_guid(role_definition_id: &str) -> String {
    role_definition_id
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Each subscription's management groups, as Resource Graph's `resourcecontainers` gives
/// them (`managementGroupAncestorsChain`): by lower-cased subscription id, the groups' names
/// lower-cased, nearest first, up to the tenant root group.
pub type Chains = HashMap<String, Vec<String>>;

/// The management group an assignment's scope is
/// (`/providers/Microsoft.Management/managementGroups/{name}`), lower-cased.
pub fn management_group(scope: &str) -> Option<String> {
    let lower = scope.trim_end_matches('/').to_ascii_lowercase();
    let name = lower.strip_prefix("/providers/microsoft.management/managementgroups/")?;
    (!name.is_empty() && !name.contains('/')).then(|| name.to_string())
}

/// Whether an assignment at `scope` reaches `source`: the source or a parent id
/// (`scope_covers`), or a management group in the chain of the source's subscription, at any
/// depth. `Err(group)` when the scope is a management group and that chain is not known
/// (`chains` could not be read, or has no row for the subscription): never a silent no.
pub fn scope_reaches(scope: &str, source: &str, chains: Option<&Chains>) -> Result<bool, String> {
    let Some(group) = management_group(scope) else {
        return Ok(scope_covers(scope, source));
    };
    let subscription = crate::domain::services::subscription_of(source);
    match (chains, subscription) {
        (Some(chains), Some(sub)) => match chains.get(&sub) {
            Some(chain) => Ok(chain.contains(&group)),
            None => Err(group),
        },
        _ => Err(group),
    }
}

/// Whether `scope` is the source or one of its parents (resource group, subscription, the
/// root `/`), compared case-insensitively, by id alone; management groups are
/// `scope_reaches`'s.
pub fn scope_covers(scope: &str, source: &str) -> bool {
    let scope = scope.trim_end_matches('/').to_ascii_lowercase();
    let source = source.trim_end_matches('/').to_ascii_lowercase();
    scope.is_empty() || source == scope || source.starts_with(&format!("{scope}/"))
}

/// Whether an action pattern allows a write (or an action) on resources of `source_type`: `*`,
/// a wildcard over its namespace or type (`Microsoft.DataProtection/*`), or a pattern under
/// the type whose operation is `write`, `delete`, `action` or `*`. Reads never do.
pub fn action_drives(pattern: &str, source_type: &str) -> bool {
    let p = pattern.to_ascii_lowercase();
    let t = format!("{}/", source_type.to_ascii_lowercase());
    if p == "*" {
        return true;
    }
    if let Some(prefix) = p.strip_suffix('*')
        && t.starts_with(prefix)
    {
        return true;
    }
    if !p.starts_with(&t) {
        return false;
    }
    let operation = p.rsplit('/').next().unwrap_or_default();
    matches!(operation, "write" | "delete" | "action" | "*")
}

/// Whether a definition's actions drive `source_type` (a `notActions` entry that removes the
/// same pattern, or a wildcard over the type, takes it back).
pub fn definition_drives(d: &Definition, source_type: &str) -> bool {
    let t = source_type.to_ascii_lowercase();
    d.actions.iter().any(|a| action_drives(a, &t))
        && !d
            .not_actions
            .iter()
            .any(|n| n == "*" || n == &format!("{t}/*") || n == &format!("{t}/write"))
}

/// The built-in role of a GUID that drives `source_type`, by name.
pub fn builtin_driver(guid: &str, source_type: &str) -> Option<&'static str> {
    let t = source_type.to_ascii_lowercase();
    BUILTIN_DRIVERS
        .iter()
        .find(|(id, _, namespaces)| {
            id.eq_ignore_ascii_case(guid)
                && (namespaces.is_empty() || namespaces.iter().any(|n| t.starts_with(n)))
        })
        .map(|(_, name, _)| *name)
}

/// The risk a binding has once principals can drive its source: a step above its roles' own
/// (low → medium → high), since whoever drives the source acts with the binding's rights.
pub fn raised(risk: Risk, drivers: usize) -> Risk {
    match (drivers, risk) {
        (0, r) => r,
        (_, Risk::Low) => Risk::Medium,
        _ => Risk::High,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VAULT: &str = "Microsoft.DataProtection/backupVaults";

    #[test]
    fn writes_on_the_type_drive_and_reads_do_not() {
        for p in [
            "*",
            "Microsoft.DataProtection/*",
            "microsoft.dataprotection/backupvaults/*",
            "Microsoft.DataProtection/backupVaults/write",
            "Microsoft.DataProtection/backupVaults/backupInstances/write",
            "Microsoft.DataProtection/backupVaults/backupInstances/restore/action",
        ] {
            assert!(action_drives(p, VAULT), "{p}");
        }
        for p in [
            "*/read",
            "Microsoft.DataProtection/backupVaults/read",
            "Microsoft.DataProtection/backupVaults/*/read",
            "Microsoft.Compute/*",
            "Microsoft.DataProtection/backupVaultsX/write",
        ] {
            assert!(!action_drives(p, VAULT), "{p}");
        }
        let custom = Definition {
            name: "vault ops".into(),
            actions: vec!["microsoft.dataprotection/*".into()],
            not_actions: vec![],
        };
        assert!(definition_drives(&custom, VAULT));
        let taken_back = Definition {
            not_actions: vec!["microsoft.dataprotection/backupvaults/*".into()],
            ..custom
        };
        assert!(!definition_drives(&taken_back, VAULT));
    }

    #[test]
    fn scopes_cover_their_children_only() {
        let source =
            "/subscriptions/S/resourceGroups/G/providers/Microsoft.DataProtection/backupVaults/v";
        assert!(scope_covers("/subscriptions/s", source));
        assert!(scope_covers("/subscriptions/s/resourcegroups/g", source));
        assert!(scope_covers(&source.to_lowercase(), source));
        assert!(scope_covers("/", source));
        assert!(!scope_covers("/subscriptions/s/resourceGroups/G2", source));
        assert!(!scope_covers(
            "/providers/Microsoft.Management/managementGroups/m",
            source
        ));
    }

    #[test]
    fn management_groups_reach_the_subscriptions_in_their_chain_at_any_depth() {
        let source =
            "/subscriptions/S/resourceGroups/G/providers/Microsoft.DataProtection/backupVaults/v";
        let mg = |name: &str| format!("/providers/Microsoft.Management/managementGroups/{name}");
        assert_eq!(
            management_group(&mg("Mg-Fleet")).as_deref(),
            Some("mg-fleet")
        );
        assert_eq!(management_group("/subscriptions/s"), None);
        assert_eq!(management_group(&format!("{}/x", mg("m"))), None);
        let chains = Chains::from([(
            "s".to_string(),
            vec![
                "mg-even".to_string(),
                "mg-fleet".to_string(),
                "root".to_string(),
            ],
        )]);
        for (group, reaches) in [
            ("MG-EVEN", true),
            ("mg-fleet", true),
            ("root", true),
            ("other", false),
        ] {
            assert_eq!(
                scope_reaches(&mg(group), source, Some(&chains)),
                Ok(reaches),
                "{group}"
            );
        }
        // Not known: the chains were not read, or have no row for the source's subscription.
        assert_eq!(
            scope_reaches(&mg("mg-fleet"), source, None),
            Err("mg-fleet".into())
        );
        let other = source.replace("/S/", "/T/");
        assert_eq!(
            scope_reaches(&mg("mg-fleet"), &other, Some(&chains)),
            Err("mg-fleet".into())
        );
        // Ids are still compared as ids, chains or not.
        assert_eq!(scope_reaches("/subscriptions/s", source, None), Ok(true));
        assert_eq!(scope_reaches("/subscriptions/t", source, None), Ok(false));
    }

    #[test]
    fn builtin_roles_drive_their_services_sources() {
        let guid = role_guid(
            "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/5E467623-bb1f-42f4-a55d-6e525e11384b",
        );
        assert_eq!(builtin_driver(&guid, VAULT), Some("Backup Contributor"));
        assert_eq!(
            builtin_driver(&guid, "Microsoft.MachineLearningServices/workspaces"),
            None
        );
        assert_eq!(
            builtin_driver("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Any.Thing/x"),
            Some("Owner")
        );
        assert_eq!(
            builtin_driver("acdd72a7-3385-48ef-bd42-f606fba81ae7", VAULT),
            None
        );
        assert_eq!(raised(Risk::Low, 0), Risk::Low);
        assert_eq!(raised(Risk::Low, 2), Risk::Medium);
        assert_eq!(raised(Risk::Medium, 1), Risk::High);
    }
}
