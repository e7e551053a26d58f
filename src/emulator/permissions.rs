//! The caller's permissions in the emulator's world, per subscription: what ARM's permissions
//! API answers (`GET /subscriptions/{s}/providers/Microsoft.Authorization/permissions`), what
//! Resource Graph leaves out (rows whose `{type}/read` the caller lacks there) and which
//! resource GETs answer 403. Absent, a subscription grants everything (`*`), so every world
//! without them is unchanged. Its own reading of action patterns, written apart from the CLI's.

pub use crate::emulator::seed::PermissionSeed;
use crate::emulator::state::World;
use serde_json::{Value, json};
use std::collections::HashMap;

/// What a subscription without `permissions` grants: everything.
pub fn everything() -> Vec<PermissionSeed> {
    vec![PermissionSeed {
        actions: vec!["*".into()],
        not_actions: vec![],
    }]
}

/// ARM's answer entries for a subscription (the caller's effective permissions there).
pub fn entries(world: &World, sub: &str) -> Vec<Value> {
    let listed = world
        .subscription(sub)
        .and_then(|s| s.permissions.clone())
        .unwrap_or_else(everything);
    listed
        .iter()
        .map(|p| {
            json!({"actions": p.actions, "notActions": p.not_actions,
                   "dataActions": [], "notDataActions": []})
        })
        .collect()
}

/// The subscriptions whose permissions are not everything, for the checks of one request.
pub struct Sight<'a> {
    limited: HashMap<String, &'a [PermissionSeed]>,
}

impl<'a> Sight<'a> {
    pub fn of(world: &'a World) -> Self {
        let limited = world
            .subscriptions
            .iter()
            .filter_map(|s| {
                let p = s.permissions.as_deref()?;
                Some((s.subscription_id.to_ascii_lowercase(), p))
            })
            .collect();
        Sight { limited }
    }

    /// Whether the caller may read resources of type `kind` in subscription `sub` (resources
    /// with no subscription, such as built-in role definitions, are readable by all).
    pub fn reads(&self, sub: &str, kind: &str) -> bool {
        if self.limited.is_empty() || sub.is_empty() {
            return true;
        }
        match self.limited.get(&sub.to_ascii_lowercase()) {
            None => true,
            Some(granted) => may(granted, &format!("{kind}/read")),
        }
    }
}

/// Whether an entry grants `action` and the same entry does not take it back.
pub fn may(granted: &[PermissionSeed], action: &str) -> bool {
    let action = action.to_lowercase();
    let hits = |patterns: &[String]| {
        patterns
            .iter()
            .any(|p| glob(p.to_lowercase().as_bytes(), action.as_bytes()))
    };
    granted
        .iter()
        .any(|e| hits(&e.actions) && !hits(&e.not_actions))
}

/// `*` matches any run of bytes; every other byte itself.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| glob(rest, &text[skip..])),
        Some((c, rest)) => text.first() == Some(c) && glob(rest, &text[1..]),
    }
}

/// `PUT /_emulator/permissions`: `{subscriptionId: [{actions, notActions}] | null}`; `null`
/// gives a subscription back everything. Every subscription must exist, else nothing changes.
pub fn replace(world: &mut World, body: &[u8]) -> Result<(), String> {
    let asked: HashMap<String, Option<Vec<PermissionSeed>>> =
        serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if let Some(unknown) = asked.keys().find(|s| world.subscription(s).is_none()) {
        return Err(format!("no subscription '{unknown}' in this world"));
    }
    for s in world.subscriptions.iter_mut() {
        let key = asked
            .keys()
            .find(|k| k.eq_ignore_ascii_case(&s.subscription_id));
        if let Some(key) = key {
            s.permissions = asked[key].clone();
        }
    }
    Ok(())
}

/// `GET /_emulator/permissions`: every subscription's, as its permissions API answers.
pub fn all(world: &World) -> Value {
    let mut out = serde_json::Map::new();
    for s in &world.subscriptions {
        out.insert(
            s.subscription_id.clone(),
            json!(entries(world, &s.subscription_id)),
        );
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(actions: &[&str], not_actions: &[&str]) -> PermissionSeed {
        PermissionSeed {
            actions: actions.iter().map(|a| a.to_string()).collect(),
            not_actions: not_actions.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn patterns_are_globs_without_case() {
        let read = "microsoft.dataprotection/backupvaults/backupinstances/read";
        assert!(may(&everything(), read));
        assert!(may(&[entry(&["*/read"], &[])], read));
        assert!(may(&[entry(&["Microsoft.DataProtection/*"], &[])], read));
        assert!(!may(
            &[entry(&["*/read"], &["Microsoft.DataProtection/*"])],
            read
        ));
        assert!(!may(
            &[entry(&["Microsoft.ContainerService/*/read"], &[])],
            read
        ));
        assert!(may(
            &[entry(&["*/read"], &[read]), entry(&["*"], &[])],
            read
        ));
        assert!(!may(&[], read));
    }
}
