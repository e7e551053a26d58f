//! The tables the emulator's Resource Graph serves, built from the world as ARG shapes its rows
//! (`id, name, type` lower-cased, `tenantId, kind, location, resourceGroup` lower-cased,
//! `subscriptionId, managedBy, sku, plan, properties, tags, identity, zones`): `resources`
//! (clusters, other resources, Azure ML computes), `kubernetesconfigurationresources` (cluster
//! extensions), `recoveryservicesresources` (backup instances), `securityresources` (Defender
//! plans), `authorizationresources` (role assignments and definitions) and `resourcecontainers`
//! (subscriptions, with their management groups). As ARG does, a row whose `{type}/read` the
//! caller lacks in its subscription is left out without a word.

use crate::emulator::azure_roles::built_in_role_definitions;
use crate::emulator::permissions::Sight;
use crate::emulator::services::{group_of, subscription_of};
use crate::emulator::state::{Cluster, Resource, World};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};

/// The tables served, as queries name them (compared case-insensitively).
pub const TABLES: &[&str] = &[
    "resources",
    "kubernetesconfigurationresources",
    "recoveryservicesresources",
    "securityresources",
    "authorizationresources",
    "resourcecontainers",
];

/// What a query's leading `where` lets the table skip before building rows: the ids of
/// `id in~ (…)` (lower-cased when `in~`), and the lower-cased type of `type =~ '…'`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Index<'a> {
    pub ids: Option<(&'a HashSet<String>, bool)>,
    pub kind: Option<&'a str>,
}

impl Index<'_> {
    /// Whether a row of this id and type may match; each is worked out only when asked.
    fn keeps<I: AsRef<str>, K: AsRef<str>>(
        &self,
        id: impl FnOnce() -> I,
        kind: impl FnOnce() -> K,
    ) -> bool {
        let by_id = match self.ids {
            Some((set, true)) => set.contains(&id().as_ref().to_ascii_lowercase()),
            Some((set, false)) => set.contains(id().as_ref()),
            None => true,
        };
        by_id
            && self
                .kind
                .is_none_or(|k| k.eq_ignore_ascii_case(kind().as_ref()))
    }
}

/// A service item: its id, its lower-cased type, and how to make its ARM JSON.
type Item<'a> = (String, &'static str, Box<dyn Fn() -> Value + 'a>);

/// The rows of `table` in the subscriptions of `scope` (lower-cased ids).
pub fn rows<'a>(
    world: &'a World,
    table: &str,
    scope: &'a [String],
    index: Index<'a>,
) -> Box<dyn Iterator<Item = Map<String, Value>> + 'a> {
    let in_scope: HashSet<&str> = scope.iter().map(String::as_str).collect();
    let tenants: HashMap<String, &str> = world
        .subscriptions
        .iter()
        .map(|s| (s.subscription_id.to_ascii_lowercase(), s.tenant_id.as_str()))
        .collect();
    let tenant = move |sub: &str| {
        tenants
            .get(&sub.to_ascii_lowercase())
            .copied()
            .unwrap_or_default()
    };
    let sight = Sight::of(world);
    let wanted = move |sub: &str, kind: &str| {
        in_scope.contains(sub.to_ascii_lowercase().as_str()) && sight.reads(sub, kind)
    };
    if table.eq_ignore_ascii_case("resources") {
        return resources(world, wanted, tenant, index);
    }
    if table.eq_ignore_ascii_case("resourcecontainers") {
        return subscriptions(world, wanted, index);
    }
    let items = service_items(&world.services, table);
    Box::new(
        items
            .filter(move |(id, kind, _)| {
                let sub = subscription_of(id);
                (sub.is_empty() || wanted(sub, kind)) && index.keeps(|| id.as_str(), || *kind)
            })
            .map(move |(id, _, make)| {
                let sub = subscription_of(&id);
                row(&make(), sub, group_of(&id), tenant(sub))
            }),
    )
}

/// The items of a services table, each with its id and type, its ARM JSON made only once its
/// subscription and the index keep it.
fn service_items<'a>(
    services: &'a crate::emulator::services::ServicesSeed,
    table: &str,
) -> Box<dyn Iterator<Item = Item<'a>> + 'a> {
    match table.to_ascii_lowercase().as_str() {
        "kubernetesconfigurationresources" => Box::new(services.extensions.iter().map(|e| {
            let make: Box<dyn Fn() -> Value + 'a> = Box::new(|| e.to_json());
            (e.id(), "microsoft.kubernetesconfiguration/extensions", make)
        })),
        "recoveryservicesresources" => Box::new(services.backup_instances.iter().map(|b| {
            let make: Box<dyn Fn() -> Value + 'a> = Box::new(|| b.to_json());
            (
                b.id(),
                "microsoft.dataprotection/backupvaults/backupinstances",
                make,
            )
        })),
        "securityresources" => Box::new(services.defender_plans.iter().map(|p| {
            let make: Box<dyn Fn() -> Value + 'a> = Box::new(|| p.to_json());
            (p.id(), "microsoft.security/pricings", make)
        })),
        _ => {
            let assignments = services.role_assignments.iter().map(|a| {
                let make: Box<dyn Fn() -> Value + 'a> = Box::new(|| a.to_json());
                (a.id(), "microsoft.authorization/roleassignments", make)
            });
            let custom = services.role_definitions.iter().map(|d| {
                let make: Box<dyn Fn() -> Value + 'a> = Box::new(|| d.to_json());
                (d.id(), "microsoft.authorization/roledefinitions", make)
            });
            // Built-in roles are tenant-level rows (no subscription): in every scope.
            let built_in = built_in_role_definitions().map(|v| {
                let id = v["id"].as_str().unwrap_or_default().to_string();
                let make: Box<dyn Fn() -> Value + 'a> = Box::new(move || v.clone());
                (id, "microsoft.authorization/roledefinitions", make)
            });
            Box::new(assignments.chain(custom).chain(built_in))
        }
    }
}

/// Table `resources`: clusters, other resources and Azure ML computes of the subscriptions in
/// scope that the caller may read, skipping what the index rules out before any row is built.
fn resources<'a>(
    world: &'a World,
    wanted: impl Fn(&str, &str) -> bool + 'a,
    tenant: impl Fn(&str) -> &'a str + 'a,
    index: Index<'a>,
) -> Box<dyn Iterator<Item = Map<String, Value>> + 'a> {
    let clusters = world.clusters.iter().map(Entry::Cluster);
    let others = world
        .resources
        .values()
        .filter(|r| r.readable)
        .map(Entry::Resource);
    let computes = world.services.computes.iter().map(|c| Entry::Other {
        id: c.id(),
        kind: "microsoft.machinelearningservices/workspaces/computes",
        make: Box::new(move || c.to_json()),
    });
    Box::new(
        clusters
            .chain(others)
            .chain(computes)
            .filter(move |e| wanted(e.subscription(), &e.kind()))
            .filter(move |e| index.keeps(|| e.id(), || e.kind()))
            .map(move |e| match e {
                Entry::Cluster(c) => {
                    let sub = &c.subscription_id;
                    row(&c.to_json(), sub, &c.resource_group, tenant(sub))
                }
                Entry::Resource(r) => {
                    let (sub, group) =
                        (r.subscription_id(), r.resource_group().unwrap_or_default());
                    row(&r.to_json(), sub, group, tenant(sub))
                }
                Entry::Other { id, make, .. } => {
                    let sub = subscription_of(&id);
                    row(&make(), sub, group_of(&id), tenant(sub))
                }
            }),
    )
}

/// Table `resourcecontainers`: a row per subscription in scope, with
/// `properties.managementGroupAncestorsChain` as ARG gives it (`{name, displayName}`, nearest
/// first, ending with the tenant root group, named for the tenant).
fn subscriptions<'a>(
    world: &'a World,
    wanted: impl Fn(&str, &str) -> bool + 'a,
    index: Index<'a>,
) -> Box<dyn Iterator<Item = Map<String, Value>> + 'a> {
    let kind = "microsoft.resources/subscriptions";
    Box::new(
        world
            .subscriptions
            .iter()
            .filter(move |s| wanted(&s.subscription_id, kind))
            .filter(move |s| {
                index.keeps(|| format!("/subscriptions/{}", s.subscription_id), || kind)
            })
            .map(move |s| {
                let sub = &s.subscription_id;
                let mut chain: Vec<Value> = ancestors(&world.management_groups, sub)
                    .into_iter()
                    .map(|g| json!({"name": g, "displayName": g}))
                    .collect();
                chain.push(json!({"name": s.tenant_id, "displayName": "Tenant Root Group"}));
                let v = json!({"id": format!("/subscriptions/{sub}"), "name": sub, "type": kind,
                    "properties": {"state": s.state, "managementGroupAncestorsChain": chain}});
                row(&v, sub, "", &s.tenant_id)
            }),
    )
}

/// The groups above a subscription, nearest first: the world lists each group with every
/// subscription under it at any depth, so a group holding fewer subscriptions sits below one
/// holding more (ties by name).
fn ancestors<'a>(
    groups: &'a [crate::emulator::seed::ManagementGroupSeed],
    subscription: &str,
) -> Vec<&'a str> {
    let mut above: Vec<_> = groups
        .iter()
        .filter(|g| {
            g.subscriptions
                .iter()
                .any(|s| s.eq_ignore_ascii_case(subscription))
        })
        .collect();
    above.sort_by(|a, b| (a.subscriptions.len(), &a.name).cmp(&(b.subscriptions.len(), &b.name)));
    above.into_iter().map(|g| g.name.as_str()).collect()
}

/// A row-to-be of `resources`, whose subscription is checked before its JSON is made.
enum Entry<'a> {
    Cluster(&'a Cluster),
    Resource(&'a Resource),
    Other {
        id: String,
        kind: &'static str,
        make: Box<dyn Fn() -> Value + 'a>,
    },
}

impl Entry<'_> {
    fn id(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Entry::Cluster(c) => c.id().into(),
            Entry::Resource(r) => r.id.as_str().into(),
            Entry::Other { id, .. } => id.as_str().into(),
        }
    }

    fn kind(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Entry::Cluster(_) => "microsoft.containerservice/managedclusters".into(),
            Entry::Resource(r) => r.resource_type.as_str().into(),
            Entry::Other { kind, .. } => (*kind).into(),
        }
    }

    fn subscription(&self) -> &str {
        match self {
            Entry::Cluster(c) => &c.subscription_id,
            Entry::Resource(r) => r.subscription_id(),
            Entry::Other { id, .. } => subscription_of(id),
        }
    }
}

/// A row: ARG's columns, `type` and `resourceGroup` lower-cased as ARG has them.
fn row(v: &Value, subscription: &str, group: &str, tenant: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), v["id"].clone());
    m.insert("name".into(), v["name"].clone());
    m.insert(
        "type".into(),
        json!(v["type"].as_str().unwrap_or_default().to_ascii_lowercase()),
    );
    m.insert("tenantId".into(), json!(tenant));
    m.insert("kind".into(), json!(""));
    m.insert(
        "location".into(),
        v.get("location").cloned().unwrap_or(json!("")),
    );
    m.insert("resourceGroup".into(), json!(group.to_ascii_lowercase()));
    m.insert("subscriptionId".into(), json!(subscription));
    m.insert("managedBy".into(), json!(""));
    m.insert("sku".into(), Value::Null);
    m.insert("plan".into(), Value::Null);
    m.insert("properties".into(), v["properties"].clone());
    m.insert("tags".into(), v.get("tags").cloned().unwrap_or(json!({})));
    m.insert(
        "identity".into(),
        v.get("identity").cloned().unwrap_or(Value::Null),
    );
    m.insert("zones".into(), Value::Null);
    m
}
