//! The pure heart of `plan`: given what the manifest wants on one cluster and the bindings the
//! cluster has (one read), the actions that make it so, in the order `apply` carries them out.

use crate::arm::models::RoleBinding;
use crate::domain::ids::ClusterId;
use crate::domain::manifest::Entry;
use crate::domain::provenance::{Maker, Platform};
use serde_json::{Value, json};

/// At most this many bindings on one cluster (the service's limit).
pub const MAX_BINDINGS_PER_CLUSTER: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ActionKind {
    /// A binding no manifest entry describes, with `--prune`.
    Delete,
    /// The source changes under the same name: delete, then create (access is lost in between).
    Replace,
    /// The roles change, in place.
    Update,
    Create,
    /// The same source is bound under another name: left as it is, no duplicate.
    Adopt,
    Noop,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Create => "create",
            ActionKind::Update => "update",
            ActionKind::Replace => "replace",
            ActionKind::Delete => "delete",
            ActionKind::Adopt => "adopt",
            ActionKind::Noop => "noop",
        }
    }
    /// Whether `apply` writes anything for it.
    pub fn writes(self) -> bool {
        matches!(
            self,
            ActionKind::Create | ActionKind::Update | ActionKind::Replace | ActionKind::Delete
        )
    }
    /// Whether `apply` writes roles (the location's catalog must offer them).
    pub fn grants_roles(self) -> bool {
        matches!(
            self,
            ActionKind::Create | ActionKind::Update | ActionKind::Replace
        )
    }
    /// Whether access is removed (needs confirmation).
    pub fn destructive(self) -> bool {
        matches!(self, ActionKind::Replace | ActionKind::Delete)
    }
}

/// A binding's source and roles, before or after an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingState {
    pub source: String,
    pub roles: Vec<String>,
}

impl BindingState {
    pub fn of(binding: &RoleBinding) -> Self {
        BindingState {
            source: binding
                .properties
                .source_resource_id
                .clone()
                .unwrap_or_default(),
            roles: binding.properties.roles.clone().unwrap_or_default(),
        }
    }
    fn of_entry(entry: &Entry) -> Self {
        BindingState {
            source: entry.source.as_str().to_string(),
            roles: entry.roles.iter().map(|r| r.as_str().to_string()).collect(),
        }
    }
    /// The same source and roles, compared as ARM does (ignoring case and order).
    pub fn same_as(&self, other: &BindingState) -> bool {
        self.source.eq_ignore_ascii_case(&other.source) && self.same_roles(other)
    }
    pub fn to_json(&self) -> Value {
        json!({"sourceResourceId": self.source, "roles": self.roles})
    }
    pub fn same_roles(&self, other: &BindingState) -> bool {
        let norm = |roles: &[String]| {
            let mut r: Vec<String> = roles.iter().map(|s| s.to_ascii_lowercase()).collect();
            r.sort();
            r.dedup();
            r
        };
        norm(&self.roles) == norm(&other.roles)
    }
}

#[derive(Debug, Clone)]
pub struct Action {
    pub cluster: ClusterId,
    pub name: String,
    pub kind: ActionKind,
    pub before: Option<BindingState>,
    pub after: Option<BindingState>,
    pub reason: String,
    /// The platform that made the binding, for one no entry describes (kept unless
    /// `--prune-platform` names it).
    pub platform: Option<Platform>,
}

impl Action {
    pub fn to_json(&self) -> Value {
        json!({
            "cluster": self.cluster.path(),
            "name": self.name,
            "action": self.kind.as_str(),
            "before": self.before.as_ref().map(BindingState::to_json),
            "after": self.after.as_ref().map(BindingState::to_json),
            "reason": self.reason,
            "platform": self.platform.map(Platform::name),
        })
    }
}

use crate::resolve::PruneOptions;

/// A cluster's bindings with each name once (names compared as ARM does, ignoring case). A list
/// can hold a name twice (a hostile server, or a binding deleted and re-created between two pages
/// of an offset-paged list): copies with the same source and roles are merged; copies that differ
/// make the read unusable (`Err`), since either could be the binding that exists now.
pub fn merge_duplicates(listed: Vec<RoleBinding>) -> Result<Vec<RoleBinding>, String> {
    let mut kept: Vec<RoleBinding> = Vec::with_capacity(listed.len());
    for binding in listed {
        let name = name_of(&binding);
        match kept.iter().find(|k| name_of(k).eq_ignore_ascii_case(&name)) {
            None => kept.push(binding),
            Some(first) => {
                let (a, b) = (BindingState::of(first), BindingState::of(&binding));
                if !a.source.eq_ignore_ascii_case(&b.source) || !a.same_roles(&b) {
                    return Err(format!(
                        "the service listed binding '{}' twice with different sources or roles; nothing is planned for this cluster (read it again later)",
                        crate::diagnostics::sanitize(&name)
                    ));
                }
            }
        }
    }
    Ok(kept)
}

/// The actions for one cluster: `wanted` are the entries that apply to it (already checked not
/// to conflict), `existing` its bindings as read. Each entry claims the binding of its name, else
/// an unclaimed one of its source (adoption), else is created; unclaimed bindings are kept or,
/// with `--prune`, deleted.
pub fn cluster_actions(
    cluster: &ClusterId,
    wanted: &[&Entry],
    existing: &[RoleBinding],
    prune: &PruneOptions,
) -> Vec<Action> {
    let mut claimed = vec![false; existing.len()];
    let mut actions = Vec::new();
    for entry in wanted {
        let after = BindingState::of_entry(entry);
        let (name, kind, before, reason) = if let Some(i) = existing
            .iter()
            .position(|b| name_of(b).eq_ignore_ascii_case(entry.name.as_str()))
        {
            // Every binding of the entry's name is claimed (a name the manifest wants is never
            // pruned, even if a list held it twice).
            for (j, b) in existing.iter().enumerate() {
                if name_of(b).eq_ignore_ascii_case(entry.name.as_str()) {
                    claimed[j] = true;
                }
            }
            let (kind, reason) = same_name_action(&existing[i], &after);
            let before = BindingState::of(&existing[i]);
            (name_of(&existing[i]), kind, Some(before), reason)
        } else if let Some(i) = super::required::served_by(entry, existing, &claimed) {
            // A `--require` entry: the service is served already, by the audit's rule.
            claimed[i] = true;
            let reason = format!(
                "{} is already served by '{}'; no binding is created",
                entry.service.map_or("the service", |s| s.title()),
                name_of(&existing[i])
            );
            let before = Some(BindingState::of(&existing[i]));
            (
                entry.name.as_str().to_string(),
                ActionKind::Adopt,
                before,
                reason,
            )
        } else if let Some(i) = same_source(wanted, existing, &claimed, &after) {
            claimed[i] = true;
            let before = BindingState::of(&existing[i]);
            let roles = if before.same_roles(&after) {
                "with the same roles"
            } else {
                "with other roles, left as they are"
            };
            let reason = format!(
                "the source is already bound as '{}' {roles}; no duplicate is created",
                name_of(&existing[i])
            );
            let name = entry.name.as_str().to_string();
            (name, ActionKind::Adopt, Some(before), reason)
        } else {
            let name = entry.name.as_str().to_string();
            (name, ActionKind::Create, None, "not on the cluster".into())
        };
        actions.push(Action {
            cluster: cluster.clone(),
            name,
            kind,
            before,
            after: Some(after),
            reason,
            platform: None,
        });
    }
    let unclaimed = existing.iter().zip(&claimed).filter(|(_, c)| !**c);
    actions.extend(unclaimed.map(|(binding, _)| leftover_action(cluster, binding, prune)));
    actions.sort_by_key(|a| a.kind);
    actions
}

fn name_of(binding: &RoleBinding) -> String {
    binding.name.clone().unwrap_or_default()
}

/// What an entry does to the binding of its name: replace (other source), update (other roles,
/// or a failed binding written again) or nothing.
fn same_name_action(existing: &RoleBinding, after: &BindingState) -> (ActionKind, String) {
    let before = BindingState::of(existing);
    let state = existing.properties.provisioning_state.as_deref();
    if !before.source.eq_ignore_ascii_case(&after.source) {
        (
            ActionKind::Replace,
            "the source changes, which the service cannot do in place: delete, then create (access is lost in between)".to_string(),
        )
    } else if !before.same_roles(after) {
        (ActionKind::Update, "the roles change".to_string())
    } else if let Some(state) =
        state.filter(|s| s.eq_ignore_ascii_case("Failed") || s.eq_ignore_ascii_case("Canceled"))
    {
        (
            ActionKind::Update,
            format!("provisioningState is {state}; written again"),
        )
    } else {
        (ActionKind::Noop, "as desired".to_string())
    }
}

/// An unclaimed binding of the entry's source that no entry names (adopted, not duplicated).
fn same_source(
    wanted: &[&Entry],
    existing: &[RoleBinding],
    claimed: &[bool],
    after: &BindingState,
) -> Option<usize> {
    existing.iter().enumerate().position(|(i, b)| {
        !claimed[i]
            && b.properties
                .source_resource_id
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case(&after.source))
            && !wanted
                .iter()
                .any(|w| w.name.as_str().eq_ignore_ascii_case(&name_of(b)))
    })
}

/// A binding no entry describes: kept, or deleted with `--prune`; one a platform made (the one
/// rule, `domain::provenance`) only when `--prune-platform` names its platform.
fn leftover_action(cluster: &ClusterId, binding: &RoleBinding, prune: &PruneOptions) -> Action {
    let name = name_of(binding);
    let maker = binding.maker();
    let platform = maker.platform();
    let (kind, reason) = match (prune.prune, &maker) {
        (false, Maker::Platform(p, why)) => (
            ActionKind::Noop,
            format!("made by {} ({why}); no entry describes it; kept", p.label()),
        ),
        (false, _) => (
            ActionKind::Noop,
            "no entry describes it; kept (--prune deletes it)".to_string(),
        ),
        (true, Maker::Platform(p, why)) if !prune.platforms.contains(p) => (
            ActionKind::Noop,
            format!(
                "made by {} ({why}); kept (--prune-platform {} deletes it)",
                p.label(),
                p.name()
            ),
        ),
        (true, _) => (
            ActionKind::Delete,
            "no entry describes it (--prune)".to_string(),
        ),
    };
    Action {
        cluster: cluster.clone(),
        before: Some(BindingState::of(binding)),
        name,
        kind,
        after: None,
        reason,
        platform,
    }
}

/// How many bindings the cluster has once the actions are carried out.
pub fn bindings_after(existing: usize, actions: &[Action]) -> usize {
    let created = actions
        .iter()
        .filter(|a| a.kind == ActionKind::Create)
        .count();
    let deleted = actions
        .iter()
        .filter(|a| a.kind == ActionKind::Delete)
        .count();
    existing + created - deleted.min(existing + created)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::manifest;

    const SUB: &str = "00000000-0000-0000-0000-000000000000";

    fn binding(name: &str, source: &str, roles: &[&str]) -> RoleBinding {
        serde_json::from_value(json!({
            "name": name,
            "properties": {"sourceResourceId": source, "roles": roles, "provisioningState": "Succeeded"}
        }))
        .unwrap()
    }

    fn source(name: &str) -> String {
        format!(
            "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/{name}"
        )
    }

    const ROLE: &str = "Microsoft.MachineLearningServices/workspaces/mlworkload";
    const ROLE2: &str = "Microsoft.MachineLearningServices/workspaces/inference-v1";

    fn entries(items: &[(&str, &str, &str)]) -> Vec<Entry> {
        let mut text = String::from("apiVersion: aks-trustedaccess/v1\nbindings:\n");
        for (name, src, role) in items {
            text.push_str(&format!(
                "  - name: {name}\n    sourceResourceId: {}\n    roles: [{role}]\n    clusters: [/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c]\n",
                source(src)
            ));
        }
        manifest::parse(&text, "m").unwrap().entries
    }

    fn kinds(actions: &[Action]) -> Vec<(String, &'static str)> {
        actions
            .iter()
            .map(|a| (a.name.clone(), a.kind.as_str()))
            .collect()
    }

    /// A manifest and a cluster's bindings that give every kind of action: `same` unchanged,
    /// `roles` to update, `moved` to replace, `new` to create, `adopted` already bound under
    /// another name, `extra` undescribed, and a Defender and a Backup binding.
    fn example() -> (ClusterId, Vec<Entry>, Vec<RoleBinding>) {
        let wanted = entries(&[
            ("same", "a", ROLE),
            ("roles", "b", ROLE2),
            ("moved", "c2", ROLE),
            ("new", "d", ROLE),
            ("adopted", "e", ROLE),
        ]);
        let existing = vec![
            binding("same", &source("a"), &[ROLE]),
            binding("roles", &source("b"), &[ROLE]),
            binding("moved", &source("c"), &[ROLE]),
            binding("old-name", &source("e"), &[ROLE]),
            binding("extra", &source("f"), &[ROLE]),
            binding(
                "defender-containers",
                &format!(
                    "/subscriptions/{SUB}/providers/Microsoft.Security/pricings/Containers/securityOperators/op"
                ),
                &["Microsoft.Security/pricings/microsoft-defender-operator"],
            ),
            // The Backup binding: a GUID name, made by the application Azure Backup.
            serde_json::from_value(json!({
                "name": "6f1c0c52-0f0a-4c48-9b8e-6a1d2b3c4d5e",
                "systemData": {"createdBy": "Azure Backup", "createdByType": "Application"},
                "properties": {"sourceResourceId": source("h"), "roles": [ROLE]}
            }))
            .unwrap(),
        ];
        let cluster = ClusterId::parse_id(&format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c")).unwrap();
        (cluster, wanted, existing)
    }

    #[test]
    fn each_action_is_chosen_by_name_then_source() {
        let (cluster, wanted, existing) = example();
        let refs: Vec<&Entry> = wanted.iter().collect();
        let plain = cluster_actions(&cluster, &refs, &existing, &PruneOptions::default());
        assert_eq!(
            kinds(&plain),
            [
                ("moved".to_string(), "replace"),
                ("roles".to_string(), "update"),
                ("new".to_string(), "create"),
                ("adopted".to_string(), "adopt"),
                ("same".to_string(), "noop"),
                ("extra".to_string(), "noop"),
                ("defender-containers".to_string(), "noop"),
                ("6f1c0c52-0f0a-4c48-9b8e-6a1d2b3c4d5e".to_string(), "noop"),
            ]
        );
        assert_eq!(plain[6].platform, Some(Platform::Defender));
        assert_eq!(plain[7].platform, Some(Platform::Backup));
    }

    #[test]
    fn prune_deletes_what_no_entry_describes_but_platform_bindings_only_when_named() {
        let (cluster, wanted, existing) = example();
        let refs: Vec<&Entry> = wanted.iter().collect();
        let pruned = cluster_actions(
            &cluster,
            &refs,
            &existing,
            &PruneOptions {
                prune: true,
                platforms: vec![],
            },
        );
        assert_eq!(kinds(&pruned)[0], ("extra".to_string(), "delete"));
        assert_eq!(
            pruned[6].reason,
            "made by Microsoft Defender for Cloud (its source is a Microsoft.Security resource); kept (--prune-platform defender deletes it)"
        );
        assert_eq!(
            pruned[7].reason,
            "made by Azure Backup (systemData.createdBy is 'Azure Backup'); kept (--prune-platform backup deletes it)"
        );
        let platform = cluster_actions(
            &cluster,
            &refs,
            &existing,
            &PruneOptions {
                prune: true,
                platforms: vec![Platform::Defender],
            },
        );
        assert_eq!(
            platform
                .iter()
                .filter(|a| a.kind == ActionKind::Delete)
                .count(),
            2
        );
        assert_eq!(bindings_after(existing.len(), &platform), 6);
        assert!(
            platform
                .iter()
                .any(|a| a.platform == Some(Platform::Backup) && a.kind == ActionKind::Noop)
        );
    }
}
