//! `plan --require backup|ml|defender` (and `apply`): the bindings the services need, found
//! through Resource Graph (the audit's service tables, one query each over the scope), become
//! manifest entries beside the file's, so the plan proposes exactly what the audit's
//! service-without-binding rule (TA013) asks for. A table that cannot be read is an error: a
//! plan that silently left a service out would be wrong.

use crate::arm::graph::{Graph, GraphScope};
use crate::arm::models::RoleBinding;
use crate::commands::audit::services::{BACKUP_QUERY, COMPUTES_QUERY, DEFENDER_QUERY};
use crate::commands::fleet::discovery::{self, clusters_query};
use crate::context::Context;
use crate::domain::ids::{BindingName, ClusterId, SourceResourceId};
use crate::domain::manifest::{ClusterRef, Entry, Manifest};
use crate::domain::roles::RoleName;
use crate::domain::services::{Bound, Need, Service, defender_source, parent_before};
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
                e.first_line()
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
        service: Some(need.service),
    })
}

/// The binding of `existing` not yet `claimed` that serves a `--require` entry's service, by the
/// audit's one rule (`Need::satisfied_by`: for Defender, any operator binding of the
/// subscription's pricings, Containers or CloudPosture); `None` for the file's own entries.
pub fn served_by(entry: &Entry, existing: &[RoleBinding], claimed: &[bool]) -> Option<usize> {
    let service = entry.service?;
    let need = Need {
        service,
        source: entry.source.as_str().to_string(),
        because: String::new(),
    };
    let open: Vec<usize> = (0..existing.len()).filter(|i| !claimed[*i]).collect();
    let bound: Vec<Bound> = open
        .iter()
        .map(|i| {
            let b = &existing[*i];
            Bound {
                name: b.name.as_deref().unwrap_or_default(),
                source: b
                    .properties
                    .source_resource_id
                    .as_deref()
                    .unwrap_or_default(),
                roles: b.properties.roles.as_deref().unwrap_or_default(),
                created_at: None,
            }
        })
        .collect();
    need.satisfied_by(&bound).map(|at| open[at])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::services::DEFENDER_ROLE;
    use serde_json::json;

    const SUB: &str = "00000000-0000-0000-0000-000000000000";

    fn binding(name: &str, source: &str, roles: &[&str]) -> RoleBinding {
        serde_json::from_value(json!({"name": name,
            "properties": {"sourceResourceId": source, "roles": roles}}))
        .unwrap()
    }

    fn required(service: Service, source: &str) -> Entry {
        let cluster = format!(
            "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c"
        );
        let need = Need {
            service,
            source: source.to_string(),
            because: String::new(),
        };
        entry(ClusterId::parse_id(&cluster).unwrap(), &need).unwrap()
    }

    #[test]
    fn a_required_entry_is_served_by_the_audits_rule_and_a_file_entry_never_is() {
        let defender = required(Service::Defender, &defender_source(SUB));
        let posture = format!(
            "/subscriptions/{SUB}/providers/Microsoft.Security/pricings/CloudPosture/securityOperators/DefenderCSPMSecurityOperator"
        );
        let existing = [
            binding(
                "ml",
                "/subscriptions/x/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w",
                &["Microsoft.MachineLearningServices/workspaces/mlworkload"],
            ),
            binding("cspm", &posture, &[DEFENDER_ROLE]),
        ];
        assert_eq!(served_by(&defender, &existing, &[false, false]), Some(1));
        assert_eq!(
            served_by(&defender, &existing, &[false, true]),
            None,
            "claimed"
        );
        let mut from_file = defender.clone();
        from_file.service = None;
        assert_eq!(served_by(&from_file, &existing, &[false, false]), None);
        // Another subscription's operator, or a pricings source without a pricings role: no.
        let other = posture.replace(SUB, "11111111-1111-1111-1111-111111111111");
        let elsewhere = [binding("cspm", &other, &[DEFENDER_ROLE])];
        assert_eq!(served_by(&defender, &elsewhere, &[false]), None);
        let vault = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/g/providers/Microsoft.DataProtection/backupVaults/v";
        let backup = required(Service::Backup, vault);
        let wrong_role = [binding(
            "b",
            vault,
            &["Microsoft.DataProtection/backupVaults/other"],
        )];
        assert_eq!(served_by(&backup, &wrong_role, &[false]), None);
        let right = [binding(
            "b",
            &vault.to_uppercase(),
            &[crate::domain::services::BACKUP_ROLE],
        )];
        assert_eq!(served_by(&backup, &right, &[false]), Some(0));
    }
}
