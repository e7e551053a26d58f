//! Azure RBAC's built-in roles that matter to Trusted Access sources (those that drive a Backup
//! vault or an Azure ML workspace, and Reader), and role definitions as ARM and Resource Graph
//! show them.

use serde_json::{Value, json};

/// Built-in roles that drive a vault or a workspace, and Reader: (GUID, name, actions,
/// notActions). The actions are a representative subset of Azure's (unverified in full).
pub const BUILT_IN_ROLES: &[(&str, &str, &[&str], &[&str])] = &[
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", &["*"], &[]),
    (
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "Contributor",
        &["*"],
        &[
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
        ],
    ),
    (
        "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        "Reader",
        &["*/read"],
        &[],
    ),
    (
        "5e467623-bb1f-42f4-a55d-6e525e11384b",
        "Backup Contributor",
        &[
            "Microsoft.Authorization/*/read",
            "Microsoft.DataProtection/backupVaults/backupInstances/*",
            "Microsoft.DataProtection/backupVaults/backupPolicies/*",
            "Microsoft.DataProtection/backupVaults/read",
            "Microsoft.DataProtection/locations/getBackupStatus/action",
        ],
        &[],
    ),
    (
        "00c29273-979b-4161-815c-10b084fb9324",
        "Backup Operator",
        &[
            "Microsoft.Authorization/*/read",
            "Microsoft.DataProtection/backupVaults/backupInstances/backup/action",
            "Microsoft.DataProtection/backupVaults/backupInstances/restore/action",
            "Microsoft.DataProtection/backupVaults/backupInstances/write",
            "Microsoft.DataProtection/backupVaults/read",
        ],
        &[],
    ),
    (
        "f6c7c914-8db3-469d-8ca1-694a8f32e121",
        "AzureML Data Scientist",
        &[
            "Microsoft.MachineLearningServices/workspaces/*/read",
            "Microsoft.MachineLearningServices/workspaces/*/action",
            "Microsoft.MachineLearningServices/workspaces/*/delete",
            "Microsoft.MachineLearningServices/workspaces/*/write",
        ],
        &[
            "Microsoft.MachineLearningServices/workspaces/delete",
            "Microsoft.MachineLearningServices/workspaces/write",
            "Microsoft.MachineLearningServices/workspaces/computes/*/write",
            "Microsoft.MachineLearningServices/workspaces/computes/*/delete",
            "Microsoft.Authorization/*/write",
        ],
    ),
    (
        "e503ece1-11d0-4e8e-8e2c-7a6c3bf38815",
        "AzureML Compute Operator",
        &["Microsoft.MachineLearningServices/workspaces/computes/*"],
        &[],
    ),
];

/// The GUID of a built-in role by its name.
pub fn built_in_role(name: &str) -> Option<&'static str> {
    BUILT_IN_ROLES
        .iter()
        .find(|r| r.1 == name)
        .map(|(guid, ..)| *guid)
}

/// The built-in roles as Resource Graph lists them: tenant-level ids
/// (`/providers/Microsoft.Authorization/RoleDefinitions/{guid}`), no subscription.
pub fn built_in_role_definitions() -> impl Iterator<Item = Value> {
    BUILT_IN_ROLES.iter().map(|(guid, name, actions, not)| {
        let strings = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        role_definition_json(
            &format!("/providers/Microsoft.Authorization/RoleDefinitions/{guid}"),
            guid,
            name,
            "BuiltInRole",
            &strings(actions),
            &strings(not),
            &["/".to_string()],
        )
    })
}

pub fn role_definition_json(
    id: &str,
    guid: &str,
    role_name: &str,
    kind: &str,
    actions: &[String],
    not_actions: &[String],
    scopes: &[String],
) -> Value {
    json!({
        "id": id,
        "name": guid,
        "type": "Microsoft.Authorization/roleDefinitions",
        "location": "",
        "properties": {
            "roleName": role_name,
            "type": kind,
            "description": "",
            "assignableScopes": scopes,
            "permissions": [{
                "actions": actions,
                "notActions": not_actions,
                "dataActions": [],
                "notDataActions": [],
            }],
        }
    })
}
