//! `export`: a manifest of the bindings that exist, identical bindings across clusters grouped
//! into one entry, so `plan` of it right after finds nothing to do.

use crate::arm::models::RoleBinding;
use crate::commands::fleet::listing::{self, ListedCluster};
use crate::context::Context;
use crate::domain::ids::ClusterId;
use crate::domain::manifest::MANIFEST_API_VERSION;
use crate::error::Result;
use crate::resolve::ExportRequest;
use futures_util::stream::{self, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;

/// The manifest, and the clusters or subscriptions it could not read (left out of it).
pub struct Export {
    pub manifest: Value,
    pub unreadable: Vec<String>,
    /// Bindings left out because they are not settled (`Failed`, `Canceled`, `Deleting`): a
    /// manifest asking for them would have `apply` write a failed binding again or re-create
    /// one being deleted; `plan` keeps them as they are (no entry describes them).
    pub unsettled: Vec<String>,
}

pub async fn export(ctx: &Context, options: &ExportRequest) -> Result<Export> {
    let (read, mut unreadable) = read(ctx, options).await?;
    let mut unsettled = Vec::new();
    let entries = group_identical(read, &mut unreadable, &mut unsettled);
    Ok(Export {
        manifest: json!({"apiVersion": MANIFEST_API_VERSION, "bindings": entries}),
        unreadable,
        unsettled,
    })
}

/// Every selected cluster's bindings as read (clusters in id order), and the subscriptions that
/// could not be listed.
pub async fn read(
    ctx: &Context,
    options: &ExportRequest,
) -> Result<(Vec<(ClusterId, Bindings)>, Vec<String>)> {
    let group = options.resource_group.as_ref();
    let subs = listing::subscriptions(ctx, &options.subscriptions).await?;
    let mut unreadable = Vec::new();
    let mut clusters: Vec<ListedCluster> = Vec::new();
    for (sub, listed) in listing::list_many(ctx, subs, options.parallel).await {
        match listed {
            Ok(found) => clusters.extend(found.into_iter().filter(|c| {
                group.as_ref().is_none_or(|g| {
                    g.as_str()
                        .eq_ignore_ascii_case(c.id.resource_group.as_str())
                })
            })),
            Err(e) => unreadable.push(format!("subscription {sub}: {}", e.first_line())),
        }
    }
    clusters.sort_by_key(|c| c.id.key());
    let ids: Vec<&ClusterId> = clusters.iter().map(|c| &c.id).collect();
    let clusters = &clusters;
    let mut read: Vec<_> = stream::iter(super::by_subscription_in_turn(&ids))
        .map(|i| async move {
            let c = &clusters[i];
            (i, super::read_bindings(ctx, &c.id).await)
        })
        .buffer_unordered(options.parallel.max(1))
        .collect()
        .await;
    read.sort_by_key(|(i, _)| *i);
    let read = read
        .into_iter()
        .map(|(i, bindings)| (clusters[i].id.clone(), bindings))
        .collect();
    Ok((read, unreadable))
}

/// A cluster's bindings, or why they could not be read.
pub type Bindings = std::result::Result<Vec<RoleBinding>, String>;

/// Identical bindings grouped into one entry with their clusters: same name, source and roles
/// (compared as ARM does, ignoring case). Unreadable clusters are added to `unreadable`, and
/// bindings not settled to `unsettled`.
fn group_identical(
    read: Vec<(ClusterId, Bindings)>,
    unreadable: &mut Vec<String>,
    unsettled: &mut Vec<String>,
) -> Vec<Value> {
    let mut entries: Vec<Value> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (cluster, bindings) in read {
        let bindings = match bindings {
            Ok(b) => b,
            Err(e) => {
                unreadable.push(format!("cluster {}: {e}", cluster.path()));
                continue;
            }
        };
        for b in bindings {
            let state = b
                .properties
                .provisioning_state
                .as_deref()
                .unwrap_or_default();
            if ["Failed", "Canceled", "Deleting"]
                .iter()
                .any(|s| state.eq_ignore_ascii_case(s))
            {
                unsettled.push(format!(
                    "binding {} on cluster {} is {state}",
                    crate::diagnostics::sanitize(b.name.as_deref().unwrap_or_default()),
                    cluster.path()
                ));
                continue;
            }
            let name = b.name.unwrap_or_default();
            let source = b.properties.source_resource_id.unwrap_or_default();
            let roles = b.properties.roles.unwrap_or_default();
            let mut sorted: Vec<String> = roles.iter().map(|r| r.to_ascii_lowercase()).collect();
            sorted.sort();
            let key = format!(
                "{}\n{}\n{}",
                name.to_ascii_lowercase(),
                source.to_ascii_lowercase(),
                sorted.join(",")
            );
            let i = *index.entry(key).or_insert_with(|| {
                entries.push(json!({
                    "name": name,
                    "sourceResourceId": source,
                    "roles": roles,
                    "clusters": [],
                }));
                entries.len() - 1
            });
            if let Some(list) = entries[i]["clusters"].as_array_mut() {
                list.push(json!(cluster.path()));
            }
        }
    }
    entries
}
