//! Role assignments on a generated fleet's service sources: which roles each source gets (by
//! its number), the assignments themselves, and the custom role the generator defines.

use crate::emulator::azure_roles::built_in_role;
use crate::emulator::seed::fleet_subscription_id;
use crate::emulator::services::{RoleAssignmentSeed, RoleDefinitionSeed, subscription_of};
use crate::emulator::stable_id::stable_uuid;

/// The custom role the generator defines: write on workspaces' computes (so it can drive one).
pub const ATTACHER_ROLE: &str = "ML Compute Attacher";

/// Source number j's assignments: (scope, role, principal type). The service's own role at the
/// source (`roles[0]`: the vault's backup admins, the workspace's data scientists), and by
/// turns: Contributor at the source's group, nothing more, a Reader (who cannot act) with the
/// second role, an Owner.
pub fn source_assignments<'a>(
    id: &str,
    j: usize,
    roles: &[(&'a str, &'a str)],
) -> Vec<(String, &'a str, &'a str)> {
    let lower = id.to_ascii_lowercase();
    let group = lower
        .find("/providers/")
        .filter(|_| lower.contains("/resourcegroups/"))
        .map(|at| id[..at].to_string());
    let extra: Vec<(String, &str, &str)> = match j % 4 {
        0 => group
            .map(|g| (g, "Contributor", "Group"))
            .into_iter()
            .collect(),
        1 => vec![],
        2 => std::iter::once((id.to_string(), "Reader", "User"))
            .chain(roles.get(1).map(|r| (id.to_string(), r.0, r.1)))
            .collect(),
        _ => vec![(id.to_string(), "Owner", "User")],
    };
    let own = roles.first().map(|r| (id.to_string(), r.0, r.1));
    own.into_iter().chain(extra).collect()
}

/// A role assignment at `scope` to a principal made from the role, the scope and `j`.
pub fn assignment(scope: &str, role: &str, principal_type: &str, j: usize) -> RoleAssignmentSeed {
    let sub = subscription_of(scope).to_string();
    let guid = built_in_role(role)
        .map(str::to_string)
        .unwrap_or_else(attacher_guid);
    RoleAssignmentSeed {
        name: None,
        scope: scope.to_string(),
        principal_id: stable_uuid(&format!("principal|{role}|{scope}|{j}")),
        principal_type: principal_type.into(),
        // At a management group the definition is the tenant's, as ARM spells it there.
        role_definition_id: match sub.is_empty() {
            true => format!("/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
            false => format!(
                "/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
            ),
        },
        created_on: "2025-06-01T00:00:00.0000000Z".into(),
    }
}

/// The custom role, assignable in every generated subscription.
pub fn attacher_role(subscriptions: usize) -> RoleDefinitionSeed {
    RoleDefinitionSeed {
        name: attacher_guid(),
        role_name: ATTACHER_ROLE.into(),
        actions: vec![
            "Microsoft.MachineLearningServices/workspaces/computes/read".into(),
            "Microsoft.MachineLearningServices/workspaces/computes/write".into(),
        ],
        not_actions: vec![],
        assignable_scopes: (0..subscriptions)
            .map(|s| format!("/subscriptions/{}", fleet_subscription_id(s)))
            .collect(),
    }
}

fn attacher_guid() -> String {
    stable_uuid("custom role|ML Compute Attacher")
}

/// The assignments the generator makes at the fleet's management groups: (group, role,
/// principal type). A backup team that drives every vault in the even subscriptions, and a
/// Reader over the whole fleet (who can drive nothing).
pub const GROUP_ASSIGNMENTS: &[(&str, &str, &str)] = &[
    ("mg-fleet-even", "Backup Contributor", "Group"),
    ("mg-fleet", "Reader", "User"),
];

/// A management group's id, where an assignment to it is made.
pub fn management_group_scope(group: &str) -> String {
    format!("/providers/Microsoft.Management/managementGroups/{group}")
}
