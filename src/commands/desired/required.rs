//! `plan --require backup|ml|defender` (and `apply`): the bindings the services need, found
//! through Resource Graph (the audit's service tables, one query each over the scope), become
//! manifest entries beside the file's, so the plan proposes exactly what the audit's
//! service-without-binding rule (TA013) asks for. A table that cannot be read is an error: a
//! plan that silently left a service out would be wrong.

use crate::arm::graph::{Graph, GraphScope};
use crate::commands::audit::services::{BACKUP_QUERY, COMPUTES_QUERY, DEFENDER_QUERY};
use crate::commands::fleet::discovery::{self, clusters_query};
use crate::context::Context;
use crate::domain::ids::{BindingName, ClusterId, SourceResourceId};
use crate::domain::manifest::{ClusterRef, Entry, Manifest};
use crate::domain::roles::RoleName;
use crate::domain::services::{Need, Service, defender_source, parent_before};
use crate::error::{Error, Result};
use serde_json::Value;
use std::collections::BTreeMap;

/// `manifest` with an entry per binding the `services` need on a cluster of the subscriptions
/// `wanted` names (every enabled one when empty).
pub async fn with_required(
    ctx: &Context,
    manifest: &Manifest,
    services: &[Service],
    wanted: &[String],
) -> Result<Manifest> {
    let (targets, _) = discovery::subscriptions(ctx, wanted).await?;
    let scope = GraphScope::Subscriptions(
        targets
            .iter()
            .filter(|t| t.listed)
            .map(|t| t.id.to_string())
            .collect(),
    );
    let graph = Graph::new(&ctx.client, ctx.diagnostics);
    // (cluster key, lower-cased source) → the cluster and what needs it, each once.
    let mut needs: BTreeMap<(String, String), (ClusterId, Need)> = BTreeMap::new();
    for service in services {
        for (cluster, need) in service_needs(&graph, &scope, *service).await? {
            let Ok(id) = ClusterId::parse_id(&cluster) else {
                continue;
            };
            let key = (id.key(), need.source.to_ascii_lowercase());
            needs.entry(key).or_insert((id, need));
        }
    }
    let mut out = manifest.clone();
    for (cluster, need) in needs.into_values() {
        out.entries.push(entry(cluster, &need)?);
    }
    Ok(out)
}

/// What one service needs: (cluster id, need) from its table.
async fn service_needs(
    graph: &Graph<'_>,
    scope: &GraphScope,
    service: Service,
) -> Result<Vec<(String, Need)>> {
    let query = match service {
        Service::Backup => BACKUP_QUERY,
        Service::Ml => COMPUTES_QUERY,
        Service::Defender => DEFENDER_QUERY,
    };
    let rows = read(graph, scope, query, service).await?;
    let mut out = Vec::new();
    if service == Service::Defender {
        let subs: Vec<String> = rows
            .iter()
            .filter(|r| wants_defender(r))
            .filter_map(|r| r["subscriptionId"].as_str().map(str::to_string))
            .collect();
        if subs.is_empty() {
            return Ok(out);
        }
        let clusters = read(
            graph,
            &GraphScope::Subscriptions(subs),
            &clusters_query(&Default::default()),
            service,
        )
        .await?;
        for c in clusters {
            let (Some(id), Some(sub)) = (c["id"].as_str(), c["subscriptionId"].as_str()) else {
                continue;
            };
            let because = "the subscription's Defender for Containers plan".to_string();
            let source = defender_source(sub);
            out.push((
                id.to_string(),
                Need {
                    service,
                    source,
                    because,
                },
            ));
        }
        return Ok(out);
    }
    let marker = match service {
        Service::Backup => "backupInstances",
        _ => "computes",
    };
    for row in rows {
        let (Some(child), Some(cluster)) = (row["id"].as_str(), row["cluster"].as_str()) else {
            continue;
        };
        if let Some(source) = parent_before(child, marker) {
            let because = child.to_string();
            out.push((
                cluster.to_string(),
                Need {
                    service,
                    source,
                    because,
                },
            ));
        }
    }
    Ok(out)
}

/// A Containers plan row that wants the binding (Standard, agentless discovery on).
fn wants_defender(row: &Value) -> bool {
    row["pricingTier"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case("Standard"))
        && row["extensions"].as_array().into_iter().flatten().any(|e| {
            let on = match &e["isEnabled"] {
                Value::Bool(b) => *b,
                Value::String(s) => s.eq_ignore_ascii_case("true"),
                _ => false,
            };
            on && crate::domain::services::AGENTLESS_EXTENSIONS
                .iter()
                .any(|n| {
                    e["name"]
                        .as_str()
                        .is_some_and(|m| m.eq_ignore_ascii_case(n))
                })
        })
}

async fn read(
    graph: &Graph<'_>,
    scope: &GraphScope,
    query: &str,
    service: Service,
) -> Result<Vec<Value>> {
    if matches!(scope, GraphScope::Subscriptions(s) if s.is_empty()) {
        return Ok(Vec::new());
    }
    let mut rows = Vec::new();
    graph
        .query(scope, query, &mut |page| rows.extend(page))
        .await
        .map_err(|e| Error::Config {
            message: format!(
                "--require {}: cannot read what uses the clusters through Resource Graph: {}",
                service.name(),
                crate::commands::desired::describe(&e)
            ),
            hint: Some("the identity needs Reader on the subscriptions (Resource Graph shows only what it can read)".into()),
        })?;
    Ok(rows)
}

/// The manifest entry of one need on one cluster.
fn entry(cluster: ClusterId, need: &Need) -> Result<Entry> {
    Ok(Entry {
        name: BindingName::parse(&need.binding_name())?,
        source: SourceResourceId::parse(&need.source)?,
        roles: vec![RoleName::parse(need.service.role())?],
        clusters: vec![ClusterRef::Id(cluster)],
        line: 0,
    })
}
