//! `audit --services`: what the audit's identity can see of each service. Resource Graph leaves
//! out, without a word, the rows the caller cannot read, so a backup instance the identity may
//! not read would let its cluster pass TA013 and its vault's binding fail TA014. Each
//! subscription the service rules look into gets one read of the caller's permissions there
//! (ARM's permissions API, shared by every cluster); a read action not granted at the
//! subscription, or permissions that could not be read, make those checks `unknown`.

use crate::arm::api;
use crate::arm::models::RoleBinding;
use crate::commands::audit::service_facts::Index;
use crate::commands::audit::verdict::unknown_hint;
use crate::commands::fleet::slots::Slots;
use crate::context::Context;
use crate::domain::ids::SubscriptionId;
use crate::domain::permissions::{
    Permission, READ_BACKUP_INSTANCES, READ_DEFENDER_PLANS, READ_EXTENSIONS, READ_ML_COMPUTES,
    allows,
};
use crate::domain::services::{Service, subscription_of};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// A subscription's permissions as read, or why they could not be.
type Read = Result<Arc<Vec<Permission>>, String>;

/// The read action without which Resource Graph leaves a service's rows out.
pub fn read_action(service: Service) -> &'static str {
    match service {
        Service::Backup => READ_BACKUP_INSTANCES,
        Service::Ml => READ_ML_COMPUTES,
        Service::Defender => READ_DEFENDER_PLANS,
    }
}

/// Each subscription's permissions, read once per audit (the first row that needs them reads;
/// the others wait for that read and share it).
#[derive(Default)]
pub struct Reach {
    cells: Mutex<HashMap<String, Arc<OnceCell<Read>>>>,
}

/// What a cluster's row needs to read the permissions: the cache, the client and the slots.
pub struct Lookup<'a> {
    pub reach: &'a Reach,
    pub ctx: &'a Context,
    pub slots: &'a Slots,
}

impl Lookup<'_> {
    /// The permissions of the subscriptions a cluster's service rules look into: its own (for
    /// what uses it) and its vault and workspace bindings' sources' (for what they serve), each
    /// only when its table was read and, for a source, when the audit's scope covers it.
    pub async fn seen(&self, index: &Index, subscription: &str, bindings: &[RoleBinding]) -> Seen {
        let mut subs: Vec<String> = Vec::new();
        let tables = [
            &index.extensions,
            &index.backup,
            &index.computes,
            &index.plans,
        ];
        if tables.iter().any(|t| t.is_none()) {
            subs.push(subscription.to_ascii_lowercase());
        }
        for b in bindings {
            let source = b.properties.source_resource_id.as_deref().unwrap_or("");
            let read = match Service::of_source(source) {
                Some(Service::Backup) => index.backup.is_none(),
                Some(Service::Ml) => index.computes.is_none(),
                _ => false,
            };
            if let Some(sub) = subscription_of(source)
                && read
                && index.covers(source, subscription)
                && !subs.contains(&sub)
            {
                subs.push(sub);
            }
        }
        // One after the other: a row needs one or two, nearly always read already, and a
        // future per read held by each of a thousand waiting rows cost megabytes.
        let mut seen = HashMap::with_capacity(subs.len());
        for sub in subs {
            let read = self.read(&sub).await;
            seen.insert(sub, read);
        }
        Seen(seen)
    }

    /// One subscription's permissions (lower-cased id), read the first time it is asked for.
    async fn read(&self, sub: &str) -> Read {
        let cell = {
            let mut cells = self.reach.cells.lock().unwrap_or_else(|p| p.into_inner());
            cells.entry(sub.to_string()).or_default().clone()
        };
        if let Some(read) = cell.get() {
            return read.clone();
        }
        cell.get_or_init(|| async {
            let Some(id) = SubscriptionId::parse(sub) else {
                return Err(format!("'{sub}' is not a subscription id"));
            };
            self.slots
                .run(api::caller_permissions(&self.ctx.client, &id))
                .await
                .map(Arc::new)
                .map_err(|e| e.first_line())
        })
        .await
        .clone()
    }
}

/// Why a check could not be made, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unseen {
    pub why: String,
    pub hint: String,
}

/// The permissions of the subscriptions one cluster's service rules look into.
#[derive(Debug, Default)]
pub struct Seen(HashMap<String, Read>);

impl Seen {
    /// Permissions as read (lower-cased subscription ids): for tests and callers that have them.
    pub fn of(reads: impl IntoIterator<Item = (String, Result<Vec<Permission>, String>)>) -> Self {
        Seen(
            reads
                .into_iter()
                .map(|(sub, read)| (sub.to_ascii_lowercase(), read.map(Arc::new)))
                .collect(),
        )
    }

    /// Why the rows of `service` in subscription `sub` may be missing from Resource Graph's
    /// answers: its table could not be read, or the caller may not read them there.
    pub fn blind(&self, index: &Index, service: Service, sub: &str) -> Option<Unseen> {
        let table = match service {
            Service::Backup => &index.backup,
            Service::Ml => &index.computes,
            Service::Defender => &index.plans,
        };
        match table {
            Some(why) => Some(Unseen {
                why: why.clone(),
                hint: unknown_hint(why),
            }),
            None => self.unseen(read_action(service), sub),
        }
    }

    /// Whether the cluster extensions of `sub` could all be seen (their table read, the action
    /// granted).
    pub fn sees_extensions(&self, index: &Index, sub: &str) -> bool {
        index.extensions.is_none() && self.unseen(READ_EXTENSIONS, sub).is_none()
    }

    /// Why rows needing `action` in `sub` may be missing; `None` when the caller may read them
    /// at the subscription's scope.
    pub fn unseen(&self, action: &str, sub: &str) -> Option<Unseen> {
        let sub = sub.to_ascii_lowercase();
        match self.0.get(&sub) {
            Some(Ok(permissions)) if allows(permissions, action) => None,
            Some(Ok(_)) => Some(Unseen {
                why: format!(
                    "the audit's identity is not granted {action} on subscription {sub}, and Resource Graph leaves out what the caller cannot read"
                ),
                hint: format!(
                    "grant the audit's identity Reader (or {action}) on subscription {sub}, or pass --allow-unknown to accept unknowns"
                ),
            }),
            Some(Err(e)) => {
                let why = format!(
                    "the caller's permissions on subscription {sub} could not be read: {e}"
                );
                Some(Unseen {
                    hint: unknown_hint(&why),
                    why,
                })
            }
            None => Some(Unseen {
                why: format!("the caller's permissions on subscription {sub} were not read"),
                hint: "run the audit again; --allow-unknown accepts unknowns".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "00000000-0000-0000-0000-0000000000AA";

    fn granting(actions: &[&str], not_actions: &[&str]) -> Seen {
        Seen::of([(
            SUB.to_string(),
            Ok(vec![Permission {
                actions: actions.iter().map(|s| s.to_string()).collect(),
                not_actions: not_actions.iter().map(|s| s.to_string()).collect(),
                ..Permission::default()
            }]),
        )])
    }

    #[test]
    fn a_service_is_unseen_where_its_read_is_not_granted_or_unknown() {
        let index = Index::default();
        let all = granting(&["*"], &[]);
        for s in Service::ALL {
            assert_eq!(all.blind(&index, s, SUB), None);
        }
        assert!(all.sees_extensions(&index, SUB));
        let no_backup = granting(&["*/read"], &[READ_BACKUP_INSTANCES]);
        let u = no_backup.blind(&index, Service::Backup, SUB).unwrap();
        let sub = SUB.to_ascii_lowercase();
        assert!(u.why.contains(READ_BACKUP_INSTANCES), "{}", u.why);
        assert!(u.why.contains(&sub), "{}", u.why);
        assert!(u.why.contains("Resource Graph leaves out"), "{}", u.why);
        assert!(u.hint.contains("Reader"), "{}", u.hint);
        assert_eq!(no_backup.blind(&index, Service::Ml, SUB), None);
        // A subscription never read is never taken as seen.
        assert!(no_backup.blind(&index, Service::Ml, "other").is_some());
        let refused = Seen::of([(sub.clone(), Err("(AuthorizationFailed) no".to_string()))]);
        let u = refused.blind(&index, Service::Defender, SUB).unwrap();
        assert!(
            u.why
                .contains("could not be read: (AuthorizationFailed) no"),
            "{}",
            u.why
        );
        assert!(u.hint.contains("grant Reader"), "{}", u.hint);
        assert!(!refused.sees_extensions(&index, SUB));
        // A table that could not be read says so first.
        let failed = Index {
            backup: Some("Resource Graph: 500".into()),
            ..Index::default()
        };
        assert_eq!(
            all.blind(&failed, Service::Backup, SUB).unwrap().why,
            "Resource Graph: 500"
        );
    }
}
