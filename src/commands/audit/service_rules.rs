//! The service rules of one cluster (`audit --services`, `--access`): a service without its
//! binding (TA013), a binding without its service (TA014), a compute attached before its
//! binding (TA015), a source in another subscription (TA016), who can drive a source (TA017);
//! and the cluster's service view for its row. Pure: the facts come from `services::gather`.

use crate::arm::models::RoleBinding;
use crate::commands::audit::service_access::{self, Exposure};
use crate::commands::audit::service_facts::{ClusterUse, Index};
use crate::commands::audit::service_reach::{Seen, Unseen, read_action};
use crate::commands::audit::verdict::unknown_hint;
use crate::domain::finding::{Finding, Remediation};
use crate::domain::rules::{
    BINDING_UNUSED, COMPUTE_BEFORE_BINDING, CROSS_SUBSCRIPTION, Risk, SERVICE_UNBOUND,
};
use crate::domain::services::{
    Bound, Need, Service, attached_before, create_command, defender_source, manifest_entry,
    subscription_of,
};
use serde_json::{Value, json};

/// One cluster, as the service rules see it.
pub struct ClusterFacts<'a> {
    pub cluster_id: &'a str,
    pub resource_group: &'a str,
    pub cluster: &'a str,
    /// Lower-cased.
    pub subscription: &'a str,
    pub bindings: &'a [RoleBinding],
    pub uses: &'a ClusterUse,
    pub index: &'a Index,
    /// What the caller may read in the subscriptions the rules look into.
    pub seen: &'a Seen,
    /// Each binding's own risk (its riskiest role's), when the catalog knows it.
    pub risks: &'a [Option<Risk>],
    pub max_risk: Option<Risk>,
}

/// What the service rules found on a cluster.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    /// The row's `services`: what uses the cluster and which binding serves each.
    pub view: Value,
    /// Per binding (same order), with `--access`: who can drive its source, and its risk raised.
    pub drivers: Vec<Option<Exposure>>,
}

/// The bindings as the domain rules see them.
fn bound(bindings: &[RoleBinding]) -> Vec<Bound<'_>> {
    bindings
        .iter()
        .map(|b| Bound {
            name: b.name.as_deref().unwrap_or("?"),
            source: b.properties.source_resource_id.as_deref().unwrap_or(""),
            roles: b.properties.roles.as_deref().unwrap_or_default(),
            created_at: b.system_data.as_ref().and_then(|s| s.created_at.as_deref()),
        })
        .collect()
}

fn binding_id(f: &ClusterFacts, b: &RoleBinding) -> String {
    b.id.clone().unwrap_or_else(|| {
        format!(
            "{}/trustedAccessRoleBindings/{}",
            f.cluster_id,
            b.name.as_deref().unwrap_or("?")
        )
    })
}

/// Every service finding of one cluster, and its service view.
pub fn evaluate(f: &ClusterFacts) -> Outcome {
    let bound = bound(f.bindings);
    let mut out = Outcome::default();
    let (needs, unknown) = needs(f);
    out.findings.extend(unknown);
    // Extensions the caller may not see are unknown (`null`), not none.
    let extensions = f.seen.sees_extensions(f.index, f.subscription);
    let mut view = json!({"backup": [], "ml": [], "defender": null,
        "extensions": extensions.then_some(&f.uses.extensions)});
    for need in &needs {
        let serving = need.satisfied_by(&bound);
        let entry = json!({"source": need.source, "because": need.because,
            "binding": serving.map(|i| bound[i].name)});
        match need.service {
            Service::Backup => push(&mut view["backup"], entry),
            Service::Ml => push(&mut view["ml"], entry),
            Service::Defender => view["defender"] = entry,
        }
        match serving {
            None => out.findings.push(missing(f, need)),
            Some(i) if need.service == Service::Ml => {
                out.findings
                    .extend(compute_ages(f, need, &f.bindings[i], bound[i].created_at))
            }
            Some(_) => {}
        }
    }
    for (b, view_of) in f.bindings.iter().zip(&bound) {
        out.findings.extend(unused(f, b, view_of, &needs));
        out.findings
            .extend(cross_subscription(f, b, view_of.source));
    }
    if let Some(access) = &f.index.access {
        for (i, b) in f.bindings.iter().enumerate() {
            let risk = f.risks.get(i).copied().flatten();
            let (finding, drivers) =
                service_access::exposure(&binding_id(f, b), b, access, (risk, f.max_risk));
            out.findings.extend(finding);
            out.drivers.push(drivers);
        }
    }
    out.view = view;
    out
}

fn push(list: &mut Value, entry: Value) {
    if let Value::Array(items) = list {
        items.push(entry);
    }
}

/// The bindings the cluster's services need, and an unknown finding per table not read.
fn needs(f: &ClusterFacts) -> (Vec<Need>, Vec<Finding>) {
    let mut needs = Vec::new();
    let mut unknown = Vec::new();
    let mut not_read = |service: Service| match f.seen.blind(f.index, service, f.subscription) {
        Some(Unseen { why, hint }) => {
            unknown.push(Finding::unknown(
                SERVICE_UNBOUND,
                f.cluster_id,
                format!(
                    "{}: whether it uses the cluster could not be read ({why})",
                    service.title()
                ),
                hint,
            ));
            true
        }
        None => false,
    };
    if !not_read(Service::Backup) {
        for (vault, instance) in f.uses.vaults() {
            needs.push(Need {
                service: Service::Backup,
                source: vault,
                because: format!("backup instance {instance}"),
            });
        }
    }
    if !not_read(Service::Ml) {
        for (workspace, compute) in f.uses.workspaces() {
            needs.push(Need {
                service: Service::Ml,
                source: workspace,
                because: format!("attached compute {compute}"),
            });
        }
    }
    if !not_read(Service::Defender) && f.index.defender.get(f.subscription) == Some(&true) {
        needs.push(Need {
            service: Service::Defender,
            source: defender_source(f.subscription),
            because:
                "the subscription's Defender for Containers plan (Standard, agentless discovery on)"
                    .into(),
        });
    }
    (needs, unknown)
}

/// TA013: a service that uses the cluster without its binding; the hint is the exact command.
fn missing(f: &ClusterFacts, need: &Need) -> Finding {
    let name = need.binding_name();
    let role = need.service.role();
    let mut finding = Finding::new(
        SERVICE_UNBOUND,
        f.cluster_id,
        format!(
            "{}: {} uses the cluster, but {} has no binding with {role}",
            need.service.title(),
            need.because,
            need.source
        ),
    );
    finding.hint = create_command(f.resource_group, f.cluster, &name, &need.source, role);
    finding.remediation = Some(Remediation {
        command: finding.hint.clone(),
        manifest: manifest_entry(&name, &need.source, role, f.cluster_id),
    });
    finding
}

/// TA015: each compute of the workspace attached before the binding that serves it was made.
fn compute_ages(
    f: &ClusterFacts,
    need: &Need,
    b: &RoleBinding,
    made: Option<&str>,
) -> Vec<Finding> {
    let id = binding_id(f, b);
    let name = b.name.as_deref().unwrap_or("?");
    let of_workspace = f.uses.computes.iter().filter(|(c, _)| {
        crate::domain::services::parent_before(c, "computes")
            .is_some_and(|w| crate::domain::services::same_id(&w, &need.source))
    });
    of_workspace
        .filter_map(|(compute, created)| match attached_before(created.as_deref(), made) {
            Some(true) => Some(Finding::new(
                COMPUTE_BEFORE_BINDING,
                compute,
                format!("compute {compute} was attached ({}) before binding {name} was made ({}): detach it and attach it again", created.as_deref().unwrap_or("?"), made.unwrap_or("?")),
            )),
            Some(false) => None,
            None => Some(Finding::unknown(
                COMPUTE_BEFORE_BINDING,
                compute,
                format!("compute {compute}: whether it was attached before binding {name} is unknown (a creation time is missing: compute {}, binding {})", created.as_deref().unwrap_or("none"), made.unwrap_or("none")),
                format!("read the binding's systemData.createdAt and the compute's createdOn ({id})"),
            )),
        })
        .collect()
}

/// TA014: a vault or workspace binding with nothing of its service on the cluster.
fn unused(f: &ClusterFacts, b: &RoleBinding, v: &Bound, needs: &[Need]) -> Option<Finding> {
    let service = Service::of_source(v.source).filter(|s| *s != Service::Defender)?;
    let id = binding_id(f, b);
    let why = match service {
        Service::Backup => &f.index.backup,
        _ => &f.index.computes,
    };
    let what = match service {
        Service::Backup => "backup instance of the cluster in that vault",
        _ => "compute of that workspace attached to the cluster",
    };
    if let Some(why) = why {
        return Some(Finding::unknown(
            BINDING_UNUSED,
            &id,
            format!(
                "binding {}: whether a {what} exists could not be read ({why})",
                v.name
            ),
            unknown_hint(why),
        ));
    }
    if needs
        .iter()
        .any(|n| n.service == service && crate::domain::services::same_id(&n.source, v.source))
    {
        return None;
    }
    if !f.index.covers(v.source, f.subscription) {
        return Some(Finding::unknown(
            BINDING_UNUSED,
            &id,
            format!(
                "binding {}: its source {} is in a subscription outside the audit's scope, so whether a {what} exists is unknown",
                v.name, v.source
            ),
            "add the source's subscription with --subscription".into(),
        ));
    }
    // The source's instances or computes are in its subscription: unseen there, unknown.
    let sub = subscription_of(v.source).unwrap_or_default();
    if let Some(Unseen { why, hint }) = f.seen.unseen(read_action(service), &sub) {
        let message = format!(
            "binding {}: whether a {what} exists could not be read ({why})",
            v.name
        );
        return Some(Finding::unknown(BINDING_UNUSED, &id, message, hint));
    }
    let mut finding = Finding::new(
        BINDING_UNUSED,
        &id,
        format!(
            "binding {}: no {what} ({}); the binding grants rights no service uses",
            v.name, v.source
        ),
    );
    finding.hint = format!(
        "aks-trustedaccess rolebinding delete -g {} --cluster-name {} -n {} --yes",
        f.resource_group, f.cluster, v.name
    );
    Some(finding)
}

/// TA016: a source in another subscription than the cluster.
fn cross_subscription(f: &ClusterFacts, b: &RoleBinding, source: &str) -> Option<Finding> {
    let sub = subscription_of(source)?;
    if sub.eq_ignore_ascii_case(f.subscription) {
        return None;
    }
    let name = b.name.as_deref().unwrap_or("?");
    let backup = match Service::of_source(source) {
        Some(Service::Backup) => " (Azure Backup requires the vault in the cluster's subscription)",
        _ => "",
    };
    Some(Finding::new(
        CROSS_SUBSCRIPTION,
        &binding_id(f, b),
        format!(
            "binding {name}: its source is in subscription {sub}, not the cluster's; Trusted Access documents the same subscription as a prerequisite{backup}"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::audit::service_facts::Access;
    use crate::domain::rules::{Level, SOURCE_ACCESS};
    use crate::domain::services::{BACKUP_ROLE, ML_ROLE};
    use crate::domain::source_access::Assignment;
    use std::collections::HashMap;

    const SUB: &str = "00000000-0000-0000-0000-0000000000aa";
    const OTHER: &str = "00000000-0000-0000-0000-0000000000bb";

    fn id(sub: &str, kind: &str, name: &str) -> String {
        format!("/subscriptions/{sub}/resourceGroups/g/providers/{kind}/{name}")
    }

    fn binding(name: &str, source: &str, role: &str, created: Option<&str>) -> RoleBinding {
        serde_json::from_value(json!({"name": name, "systemData": {"createdAt": created},
            "properties": {"roles": [role], "sourceResourceId": source}}))
        .unwrap()
    }

    fn run(index: &Index, uses: &ClusterUse, bindings: &[RoleBinding]) -> Outcome {
        let all = crate::domain::permissions::Permission {
            actions: vec!["*".into()],
            ..Default::default()
        };
        run_seeing(
            index,
            uses,
            bindings,
            &Seen::of([(SUB.into(), Ok(vec![all]))]),
        )
    }

    fn run_seeing(
        index: &Index,
        uses: &ClusterUse,
        bindings: &[RoleBinding],
        seen: &Seen,
    ) -> Outcome {
        let cluster = id(SUB, "Microsoft.ContainerService/managedClusters", "c");
        evaluate(&ClusterFacts {
            cluster_id: &cluster,
            resource_group: "g",
            cluster: "c",
            subscription: SUB,
            bindings,
            uses,
            index,
            seen,
            risks: &vec![Some(Risk::Low); bindings.len()],
            max_risk: Some(Risk::Low),
        })
    }

    fn rules(o: &Outcome) -> Vec<(&str, bool)> {
        o.findings.iter().map(|f| (f.rule, f.unknown)).collect()
    }

    #[test]
    fn each_service_rule_fires_where_its_facts_say() {
        let vault = id(SUB, "Microsoft.DataProtection/backupVaults", "v");
        let unused_vault = id(SUB, "Microsoft.DataProtection/backupVaults", "old");
        let ws = id(SUB, "Microsoft.MachineLearningServices/workspaces", "w");
        let far_ws = id(OTHER, "Microsoft.MachineLearningServices/workspaces", "far");
        let uses = ClusterUse {
            extensions: vec!["microsoft.dataprotection.kubernetes".into()],
            backup_instances: vec![format!("{vault}/backupInstances/i")],
            computes: vec![(
                format!("{ws}/computes/k"),
                Some("2026-01-01T00:00:00Z".into()),
            )],
        };
        let mut index = Index {
            defender: HashMap::from([(SUB.to_string(), true)]),
            ..Index::default()
        };
        let bindings = [
            binding("ml", &ws, ML_ROLE, Some("2026-02-01T00:00:00Z")),
            binding("old", &unused_vault, BACKUP_ROLE, None),
            binding("far", &far_ws, ML_ROLE, None),
        ];
        let o = run(&index, &uses, &bindings);
        assert_eq!(
            rules(&o),
            [
                (SERVICE_UNBOUND, false), // the vault of the backup instance
                (COMPUTE_BEFORE_BINDING, false),
                (SERVICE_UNBOUND, false), // Defender
                (BINDING_UNUSED, false),  // old vault
                (BINDING_UNUSED, true),   // a workspace outside the scope
                (CROSS_SUBSCRIPTION, false),
            ]
        );
        let backup = &o.findings[0];
        assert_eq!(
            backup.resource,
            id(SUB, "Microsoft.ContainerService/managedClusters", "c")
        );
        let name = crate::domain::services::binding_name(Service::Backup, &vault);
        assert_eq!(
            backup.hint,
            format!(
                "aks-trustedaccess rolebinding create -g g --cluster-name c -n {name} --source-resource-id {vault} --roles {BACKUP_ROLE}"
            )
        );
        assert!(
            backup
                .remediation
                .as_ref()
                .unwrap()
                .manifest
                .contains(&format!("sourceResourceId: {vault}"))
        );
        assert_eq!(o.view["ml"][0]["binding"], "ml");
        assert_eq!(o.view["backup"][0]["binding"], Value::Null);

        // A table that could not be read: its checks are unknown, never a pass.
        index.backup = Some("Resource Graph: 403 AuthorizationFailed".into());
        index.defender.clear();
        let o = run(&index, &ClusterUse::default(), &bindings[1..2]);
        assert_eq!(rules(&o), [(SERVICE_UNBOUND, true), (BINDING_UNUSED, true)]);
    }

    #[test]
    fn a_service_the_caller_may_not_read_is_unknown_never_a_pass() {
        let vault = id(SUB, "Microsoft.DataProtection/backupVaults", "v");
        let no_backup = crate::domain::permissions::Permission {
            actions: vec!["*/read".into()],
            not_actions: vec![read_action(Service::Backup).into()],
            ..Default::default()
        };
        let seen = Seen::of([(SUB.into(), Ok(vec![no_backup]))]);
        let bindings = [binding("v", &vault, BACKUP_ROLE, None)];
        let o = run_seeing(&Index::default(), &ClusterUse::default(), &bindings, &seen);
        // No TA013 pass on backup, no false TA014 on the vault; ML and Defender judged.
        assert_eq!(rules(&o), [(SERVICE_UNBOUND, true), (BINDING_UNUSED, true)]);
        assert!(o.findings[1].message.contains("Resource Graph leaves out"));
    }

    #[test]
    fn principals_that_drive_a_source_raise_its_risk() {
        let vault = id(SUB, "Microsoft.DataProtection/backupVaults", "v");
        let assign = |scope: &str, role: &str| Assignment {
            principal_id: "p1".into(),
            principal_type: "User".into(),
            role: role.into(),
            scope: scope.into(),
        };
        let index = Index {
            access: Some(std::sync::Arc::new(Ok(Access {
                assignments: vec![
                    assign(
                        &format!("/subscriptions/{SUB}/resourceGroups/g"),
                        "5e467623-bb1f-42f4-a55d-6e525e11384b",
                    ),
                    assign(
                        &format!("/subscriptions/{SUB}"),
                        "acdd72a7-3385-48ef-bd42-f606fba81ae7",
                    ),
                    assign(
                        &format!("/subscriptions/{OTHER}"),
                        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
                    ),
                ],
                definitions: HashMap::new(),
                groups: None,
            }))),
            ..Index::default()
        };
        let uses = ClusterUse {
            backup_instances: vec![format!("{vault}/backupInstances/i")],
            ..ClusterUse::default()
        };
        let o = run(&index, &uses, &[binding("b", &vault, BACKUP_ROLE, None)]);
        assert_eq!(rules(&o), [(SOURCE_ACCESS, false)]);
        let f = &o.findings[0];
        assert_eq!(f.level, Level::Error, "medium is above --max-risk low");
        assert!(f.message.contains("(risk low -> medium)"), "{}", f.message);
        assert!(
            f.message.contains(&format!(
                "User p1 (Backup Contributor at /subscriptions/{SUB}/resourceGroups/g)"
            )),
            "{}",
            f.message
        );
        let (drivers, risk) = o.drivers[0].clone().unwrap();
        assert_eq!((drivers.len(), risk), (1, Some(Risk::Medium)));
    }
}
