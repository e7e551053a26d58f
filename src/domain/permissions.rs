//! What the caller may do in a scope, as ARM's permissions API answers it (`actions` and
//! `notActions` per entry), and the one matcher of Azure action patterns: wildcards, compared
//! case-insensitively. Pure.

use serde::Deserialize;

/// One entry of `GET …/providers/Microsoft.Authorization/permissions` (one per role the caller
/// holds there, roughly); the data-plane lists are read but never matter to control-plane reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default)]
    pub not_actions: Vec<String>,
    #[serde(default)]
    pub data_actions: Vec<String>,
    #[serde(default)]
    pub not_data_actions: Vec<String>,
}

/// Reading Azure Backup's backup instances (`recoveryservicesresources`).
pub const READ_BACKUP_INSTANCES: &str =
    "Microsoft.DataProtection/backupVaults/backupInstances/read";
/// Reading Azure ML computes (`resources`).
pub const READ_ML_COMPUTES: &str = "Microsoft.MachineLearningServices/workspaces/computes/read";
/// Reading Defender plans (`securityresources`).
pub const READ_DEFENDER_PLANS: &str = "Microsoft.Security/pricings/read";
/// Reading cluster extensions (`kubernetesconfigurationresources`).
pub const READ_EXTENSIONS: &str = "Microsoft.KubernetesConfiguration/extensions/read";

/// Whether `action` is allowed: some entry's `actions` match it and that same entry's
/// `notActions` do not (ARM's rule: a `notActions` pattern takes an action out of its own
/// entry only; another entry that grants it still does).
pub fn allows(permissions: &[Permission], action: &str) -> bool {
    permissions.iter().any(|p| {
        p.actions.iter().any(|a| pattern_matches(a, action))
            && !p.not_actions.iter().any(|n| pattern_matches(n, action))
    })
}

/// Whether an Azure action pattern matches an action: `*` stands for any run of characters
/// (slashes included: `*/read`, `Microsoft.DataProtection/*`, `Microsoft.Compute/*/read`),
/// anything else compares case-insensitively.
pub fn pattern_matches(pattern: &str, action: &str) -> bool {
    let pattern = pattern.trim().to_ascii_lowercase();
    let action = action.trim().to_ascii_lowercase();
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = action.strip_prefix(first) else {
        return false;
    };
    let tail: Vec<&str> = parts.collect();
    let Some((last, middle)) = tail.split_last() else {
        // No `*`: the whole action must be the pattern.
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(actions: &[&str], not_actions: &[&str]) -> Permission {
        Permission {
            actions: actions.iter().map(|s| s.to_string()).collect(),
            not_actions: not_actions.iter().map(|s| s.to_string()).collect(),
            ..Permission::default()
        }
    }

    #[test]
    fn wildcards_match_any_run_of_characters_and_case_does_not_matter() {
        let a = READ_BACKUP_INSTANCES;
        assert!(pattern_matches("*", a));
        assert!(pattern_matches("*/read", a));
        assert!(pattern_matches("Microsoft.DataProtection/*", a));
        assert!(pattern_matches("microsoft.dataprotection/*", a));
        assert!(pattern_matches("Microsoft.DataProtection/*/read", a));
        assert!(pattern_matches(
            "Microsoft.DataProtection/backupVaults/*",
            a
        ));
        assert!(pattern_matches(
            "MICROSOFT.DATAPROTECTION/BACKUPVAULTS/BACKUPINSTANCES/READ",
            a
        ));
        assert!(pattern_matches("Microsoft.*/backupInstances/read", a));
        assert!(!pattern_matches("*/write", a));
        assert!(!pattern_matches(
            "Microsoft.DataProtection/backupVaults/read",
            a
        ));
        assert!(!pattern_matches("Microsoft.DataProtection", a));
        assert!(!pattern_matches("Microsoft.RecoveryServices/*", a));
        assert!(!pattern_matches(
            "Microsoft.DataProtection/backupVaults/backupInstances/rea",
            a
        ));
        assert!(!pattern_matches("", a));
        // `*` may match nothing, but a pattern's fixed ends must not overlap.
        assert!(pattern_matches("*read", "read"));
        assert!(!pattern_matches("read*read", "read"));
        assert!(pattern_matches("a*b*c", "abc"));
        assert!(!pattern_matches("a*b*c", "acb"));
    }

    #[test]
    fn an_action_is_allowed_by_an_entry_whose_not_actions_do_not_take_it_back() {
        let a = READ_BACKUP_INSTANCES;
        assert!(allows(&[entry(&["*"], &[])], a));
        assert!(!allows(&[], a));
        assert!(!allows(&[entry(&["*/read"], &[a])], a));
        assert!(!allows(
            &[entry(&["*/read"], &["Microsoft.DataProtection/*"])],
            a
        ));
        // Other reads stay allowed by the same entry.
        assert!(allows(
            &[entry(&["*/read"], &["Microsoft.DataProtection/*"])],
            READ_ML_COMPUTES
        ));
        // A custom role without the namespace.
        let aks_only = entry(
            &[
                "Microsoft.ContainerService/*/read",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
            ],
            &[],
        );
        assert!(!allows(std::slice::from_ref(&aks_only), a));
        assert!(!allows(
            std::slice::from_ref(&aks_only),
            READ_DEFENDER_PLANS
        ));
        // A notAction removes from its own entry only: another entry still grants.
        assert!(allows(
            &[
                entry(&["*/read"], &[a]),
                entry(&["Microsoft.DataProtection/*"], &[])
            ],
            a
        ));
        // Case of the notAction does not matter either.
        assert!(!allows(
            &[entry(
                &["*"],
                &["microsoft.kubernetesconfiguration/EXTENSIONS/*"]
            )],
            READ_EXTENSIONS
        ));
    }

    #[test]
    fn the_permissions_api_shape_is_read() {
        let v: Vec<Permission> = serde_json::from_str(
            r#"[{"actions":["*/read"],"notActions":["Microsoft.Security/*"],"dataActions":[],"notDataActions":[]},{"actions":["x"]}]"#,
        )
        .unwrap();
        assert_eq!(v[0].not_actions, ["Microsoft.Security/*"]);
        assert_eq!(v[1], entry(&["x"], &[]));
        assert!(!allows(&v, READ_DEFENDER_PLANS));
    }
}
