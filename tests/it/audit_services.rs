//! `audit --services` and `--access` (issue 24): the service tables are read with one Resource
//! Graph query each over the whole scope, beside discovery; a table that cannot be read leaves
//! its checks `unknown` on every cluster, never a pass.

use crate::harness::*;
use serde_json::{Value, json};

/// The Resource Graph queries the emulator received: each one's table (the query's first word),
/// subscriptions and text.
fn graph_queries(emu: &Emulator) -> Vec<(String, Value, String)> {
    emu.requests()
        .iter()
        .filter(|r| r["path"] == "/providers/Microsoft.ResourceGraph/resources")
        .map(|r| {
            let body: Value = match &r["body"] {
                Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
                other => other.clone(),
            };
            let query = body["query"].as_str().unwrap_or_default();
            let table = query.split_whitespace().next().unwrap_or_default();
            (
                table.to_string(),
                body["subscriptions"].clone(),
                query.to_string(),
            )
        })
        .collect()
}

fn refuse_graph(emu: &Emulator) {
    let resp = emu
        .control_client()
        .post(format!("{}/_emulator/script", emu.url))
        .body(
            json!([{"method": "POST", "pathContains": "Microsoft.ResourceGraph", "times": 50,
                "status": 403, "body": json!({"error": {"code": "AuthorizationFailed",
                "message": "The client does not have authorization to perform action 'Microsoft.ResourceGraph/resources/read'."}}).to_string()}])
            .to_string(),
        )
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
}

#[test]
fn refused_service_tables_leave_every_cluster_unknown_with_one_query_per_table() {
    let emu = Emulator::start();
    let plain = run(emu
        .cli()
        .args(["audit", "--discovery", "arm", "-o", "json"]));
    assert!(
        graph_queries(&emu).is_empty(),
        "no --services: no service query"
    );
    let plain = json(&plain.stdout);
    emu.control_client()
        .delete(format!("{}/_emulator/requests", emu.url))
        .send()
        .unwrap();
    refuse_graph(&emu);
    let out = run(emu.cli().args([
        "audit",
        "--discovery",
        "arm",
        "--services",
        "--access",
        "-o",
        "json",
    ]));
    assert_eq!(out.code, 4, "{}", out.stderr);
    let mut tables: Vec<String> = graph_queries(&emu).into_iter().map(|q| q.0).collect();
    tables.sort();
    assert_eq!(
        tables,
        [
            "authorizationresources",
            "kubernetesconfigurationresources",
            "recoveryservicesresources",
            "resourcecontainers",
            "resources",
            "securityresources"
        ]
    );
    let rows = json(&out.stdout);
    let clusters: Vec<&Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["cluster"].is_string() && r["verdict"] != "error")
        .collect();
    assert!(!clusters.is_empty());
    for row in clusters {
        // Every table's check on this cluster is unknown, and no cluster passes on them.
        let unknown: Vec<&str> = row["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["outcome"] == "unknown")
            .map(|f| f["ruleId"].as_str().unwrap())
            .collect();
        assert!(
            unknown.iter().filter(|r| **r == "TA013").count() == 3,
            "{row}"
        );
        assert_ne!(row["verdict"], "pass", "{row}");
        let before = plain
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == row["id"])
            .unwrap();
        if before["verdict"] != "fail" {
            assert_eq!(row["verdict"], "unknown", "{row}");
        }
        let hint = row["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["ruleId"] == "TA013")
            .unwrap()["hint"]
            .as_str()
            .unwrap();
        assert!(hint.contains("grant Reader"), "{hint}");
    }
    assert!(
        out.stderr.contains("checks that could not be made"),
        "{}",
        out.stderr
    );
    // Accepting unknowns: the exit code follows the findings alone.
    let usage = run(emu.cli().args(["audit", "--since", "3d", "--services"]));
    assert_eq!(usage.code, 2, "{}", usage.stderr);
}

/// The fleet the oracle tests run on: 6 subscriptions × 10 clusters × 2 bindings, services on
/// 70% of the clusters the old rules do not already fail.
const FLEET: [&str; 4] = ["--fleet", "6x10x2", "--fleet-services", "70"];

fn expectations(emu: &Emulator) -> Value {
    emu.control_client()
        .get(format!("{}/_emulator/expectations", emu.url))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// A finding, as (rule, cluster, what it is about), lower-cased: the source for a service
/// without its binding, the binding's name for the binding rules, the compute for its age.
type Key = (String, String, String);

fn lower(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_ascii_lowercase()
}

/// The generator's promised findings, on the clusters an audit can read, as rule keys.
fn promised(expected: &Value) -> std::collections::BTreeSet<Key> {
    expected["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["clusterReadable"] == true)
        .map(|f| {
            let (rule, about) = match f["kind"].as_str().unwrap() {
                "backup-instance-without-vault-binding"
                | "ml-compute-without-workspace-binding"
                | "defender-plan-without-binding" => ("TA013", lower(&f["source"])),
                "vault-binding-without-backup-instance" | "workspace-binding-without-compute" => {
                    ("TA014", lower(&f["binding"]))
                }
                "compute-older-than-binding" => ("TA015", lower(&f["compute"])),
                "source-in-another-subscription" => ("TA016", lower(&f["binding"])),
                other => panic!("a kind this test does not know: {other}"),
            };
            (rule.to_string(), lower(&f["cluster"]), about)
        })
        .collect()
}

/// The audit's service findings (TA013–TA016) as the same keys; every one is a real finding
/// (an unknown would fail the comparison: nothing in this world is unreadable).
fn found(rows: &Value) -> std::collections::BTreeSet<Key> {
    let mut out = std::collections::BTreeSet::new();
    for row in rows.as_array().unwrap() {
        for f in row["results"].as_array().into_iter().flatten() {
            let rule = f["ruleId"].as_str().unwrap();
            if !["TA013", "TA014", "TA015", "TA016"].contains(&rule) {
                continue;
            }
            if f["outcome"] == "unknown" {
                // The one check this world cannot answer: the plain fleet's bindings carry no
                // systemData, so whether their compute came first is unknown (the generator
                // promises no age for them), never a pass.
                let message = f["message"].as_str().unwrap();
                assert!(rule == "TA015" && message.contains("binding none"), "{f}");
                let binding = message.split(" before binding ").nth(1).unwrap();
                assert!(binding.starts_with("binding-"), "a plain binding: {f}");
                continue;
            }
            assert_eq!(f["outcome"], "finding", "{f}");
            let resource = lower(&f["resource"]);
            let about = match rule {
                "TA013" => {
                    let hint = f["hint"].as_str().unwrap();
                    let source = hint.split("--source-resource-id ").nth(1).unwrap();
                    source.split(' ').next().unwrap().to_ascii_lowercase()
                }
                "TA015" => resource.clone(),
                _ => resource.rsplit('/').next().unwrap().to_string(),
            };
            out.insert((rule.to_string(), lower(&row["id"]), about));
        }
    }
    out
}

/// (cluster, binding, principal, role, scope) of every principal that can drive a source.
fn drivers_promised(expected: &Value) -> std::collections::BTreeSet<[String; 5]> {
    let mut out = std::collections::BTreeSet::new();
    for a in expected["access"].as_array().unwrap() {
        if a["clusterReadable"] != true {
            continue;
        }
        for p in a["principals"].as_array().unwrap() {
            out.insert([
                lower(&a["cluster"]),
                lower(&a["binding"]),
                lower(&p["principalId"]),
                lower(&p["role"]),
                lower(&p["scope"]),
            ]);
        }
    }
    out
}

fn drivers_found(rows: &Value) -> std::collections::BTreeSet<[String; 5]> {
    let mut out = std::collections::BTreeSet::new();
    for row in rows.as_array().unwrap() {
        for b in row["bindings"].as_array().into_iter().flatten() {
            for p in b["principals"].as_array().into_iter().flatten() {
                out.insert([
                    lower(&row["id"]),
                    lower(&b["name"]),
                    lower(&p["principalId"]),
                    lower(&p["role"]),
                    lower(&p["scope"]),
                ]);
            }
        }
    }
    out
}

#[test]
fn every_service_rule_fires_exactly_where_the_generator_says() {
    let emu = Emulator::start_with(&FLEET);
    let expected = expectations(&emu);
    let promised_findings = promised(&expected);
    // The world has every kind, so no comparison is empty by accident.
    for rule in ["TA013", "TA014", "TA015", "TA016"] {
        assert!(
            promised_findings.iter().any(|k| k.0 == rule),
            "no {rule} in {expected}"
        );
    }
    emu.control_client()
        .delete(format!("{}/_emulator/requests", emu.url))
        .send()
        .unwrap();
    let out = run(emu
        .cli()
        .args(["audit", "--services", "--access", "-o", "json"]));
    assert_eq!(out.code, 1, "an unreadable subscription: {}", out.stderr);
    let rows = json(&out.stdout);
    let actual = found(&rows);
    let missing: Vec<_> = promised_findings.difference(&actual).collect();
    let extra: Vec<_> = actual.difference(&promised_findings).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
    let promised_drivers = drivers_promised(&expected);
    assert!(!promised_drivers.is_empty());
    assert_eq!(drivers_found(&rows), promised_drivers);
    // One query per service table for the whole fleet (each answer fits in one page).
    let queries = graph_queries(&emu);
    let discovery = queries
        .iter()
        .find(|q| q.2.contains("managedclusters"))
        .unwrap();
    for table in [
        "kubernetesconfigurationresources",
        "recoveryservicesresources",
        "securityresources",
        "authorizationresources",
    ] {
        let sent: Vec<_> = queries.iter().filter(|q| q.0 == table).collect();
        assert_eq!(sent.len(), 1, "{table}: {queries:?}");
        assert_eq!(sent[0].1, discovery.1, "discovery's scope");
    }
    let computes: Vec<_> = queries
        .iter()
        .filter(|q| q.2.contains("workspaces/computes"))
        .collect();
    assert_eq!(computes.len(), 1, "{queries:?}");
}

#[test]
fn plan_require_backup_proposes_the_missing_bindings_and_apply_makes_the_audit_clean() {
    let emu = Emulator::start_with(&FLEET);
    let expected = expectations(&emu);
    let missing: std::collections::BTreeSet<(String, String)> = promised(&expected)
        .into_iter()
        .filter(|k| k.0 == "TA013" && k.2.contains("/microsoft.dataprotection/"))
        .map(|k| (k.1, k.2))
        .collect();
    assert!(!missing.is_empty());

    let bad = run(emu.cli().args(["plan", "--require", "backup,nothing"]));
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("--require 'nothing' is not a service"),
        "{}",
        bad.stderr
    );
    let bare = run(emu.cli().args(["plan", "--require", "backup", "--prune"]));
    assert_eq!(bare.code, 2, "{}", bare.stderr);
    assert!(emu.requests().is_empty(), "usage errors send nothing");

    let plan = run(emu
        .cli()
        .args(["plan", "--require", "backup", "-o", "json"]));
    assert_eq!(plan.code, 4, "{}", plan.stderr);
    let actions = json(&plan.stdout);
    let proposed: std::collections::BTreeSet<(String, String)> = actions
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] != "noop" && a["action"] != "adopt")
        .map(|a| {
            assert_eq!(a["action"], "create", "{a}");
            assert_eq!(
                a["after"]["roles"],
                json!(["Microsoft.DataProtection/backupVaults/backup-operator"])
            );
            (lower(&a["cluster"]), lower(&a["after"]["sourceResourceId"]))
        })
        .collect();
    assert_eq!(proposed, missing);

    let applied = run(emu.cli().args(["apply", "--require", "backup", "--yes"]));
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let again = run(emu.cli().args(["plan", "--require", "backup"]));
    assert_eq!(again.code, 0, "nothing left to create: {}", again.stderr);
    let audit = run(emu.cli().args(["audit", "--services", "-o", "json"]));
    let after = found(&json(&audit.stdout));
    assert!(
        !after
            .iter()
            .any(|k| k.0 == "TA013" && k.2.contains("/microsoft.dataprotection/")),
        "{after:#?}"
    );
    // The other services' findings are still there: apply wrote only what backup needs.
    let others = |set: &std::collections::BTreeSet<Key>| -> usize {
        set.iter()
            .filter(|k| k.0 == "TA013" && !k.2.contains("/microsoft.dataprotection/"))
            .count()
    };
    assert_eq!(others(&after), others(&promised(&expected)));
}

#[test]
fn every_tsv_row_of_a_services_audit_has_the_same_fields_errors_included() {
    // Two subscriptions of 13 clusters: cluster 12 cannot be read, nor can the extra
    // subscription; so the run has cluster, cluster-error and subscription rows.
    let emu = Emulator::start_with(&["--fleet", "2x13x1", "--fleet-services", "70"]);
    for flags in [&["--services"][..], &["--services", "--access"]] {
        let rows = json(&run(emu.cli().args(["audit", "-o", "json"]).args(flags)).stdout);
        let rows = rows.as_array().unwrap();
        let error_of = |cluster: bool| {
            rows.iter()
                .any(|r| r["verdict"] == "error" && r["cluster"].is_string() == cluster)
        };
        assert!(error_of(true) && error_of(false), "both kinds of error row");
        let tsv = run(emu.cli().args(["audit", "-o", "tsv"]).args(flags));
        assert_eq!(tsv.code, 1, "{}", tsv.stderr);
        let widths: std::collections::BTreeSet<usize> = tsv
            .stdout
            .lines()
            .map(|line| line.split('\t').count())
            .collect();
        assert_eq!(tsv.stdout.lines().count(), rows.len());
        assert_eq!(widths.len(), 1, "{flags:?}: {widths:?}\n{}", tsv.stdout);
        for row in rows {
            assert!(row.get("services").is_some(), "{flags:?}: {row}");
        }
        // The table shows the same columns as without `--services`, on every row.
        let table = run(emu.cli().args(["audit", "-o", "table"]).args(flags));
        let plain = run(emu.cli().args(["audit", "-o", "table"]));
        let header = |t: &str| {
            t.lines()
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(header(&table.stdout), header(&plain.stdout));
        assert_eq!(
            table.stdout.lines().count(),
            rows.len() + 2,
            "{}",
            table.stdout
        );
    }
    // Without `--services` the rows have no such column at all.
    let plain = json(&run(emu.cli().args(["audit", "-o", "json"])).stdout);
    assert!(
        plain
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r.get("services").is_none())
    );
}

/// A subscription with Defender for Containers on (Standard, agentless discovery) and two
/// clusters: `cluster1` already holds Defender's own binding from its CloudPosture operator,
/// `cluster2` none.
fn defender_world() -> Value {
    let posture = format!(
        "/subscriptions/{SUB}/providers/Microsoft.Security/pricings/CloudPosture/securityOperators/DefenderCSPMSecurityOperator"
    );
    let cluster = |name: &str, bindings: Value| {
        json!({"subscriptionId": SUB, "resourceGroup": "rg1", "name": name,
            "location": "westeurope", "identityType": "SystemAssigned", "bindings": bindings})
    };
    json!({
        "subscriptions": [{"subscriptionId": SUB, "displayName": "Emulated Subscription"}],
        "resourceGroups": [{"subscriptionId": SUB, "name": "rg1"}],
        "clusters": [
            cluster("cluster1", json!([{"name": "microsoft-defender-cspm", "sourceResourceId": posture,
                "roles": ["Microsoft.Security/pricings/microsoft-defender-operator"]}])),
            cluster("cluster2", json!([])),
        ],
        "resources": [{"id": posture, "identity": {"type": "SystemAssigned"}}],
        "services": {"defenderPlans": [{"subscriptionId": SUB, "pricingTier": "Standard",
            "extensions": [{"name": "AgentlessDiscoveryForKubernetes", "isEnabled": "True"}]}]},
    })
}

/// The plan's writes: (action, cluster name, binding name).
fn writes(plan: &Value) -> Vec<(String, String, String)> {
    plan.as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] != "noop" && a["action"] != "adopt")
        .map(|a| {
            let cluster = a["cluster"].as_str().unwrap().rsplit('/').next().unwrap();
            (lower(&a["action"]), cluster.to_string(), lower(&a["name"]))
        })
        .collect()
}

#[test]
fn plan_require_defender_counts_defenders_own_cloudposture_binding_as_the_audit_does() {
    let emu = Emulator::start_with_state(&defender_world(), &[]);
    let plan = run(emu
        .cli()
        .args(["plan", "--require", "defender", "-o", "json"]));
    assert_eq!(plan.code, 4, "{}", plan.stderr);
    let actions = json(&plan.stdout);
    assert_eq!(
        writes(&actions),
        [(
            "create".into(),
            "cluster2".into(),
            "defender-containers".into()
        )]
    );
    let served = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["cluster"].as_str().unwrap().ends_with("/cluster1"))
        .unwrap();
    assert_eq!(served["action"], "adopt", "{served}");
    assert!(
        served["reason"]
            .as_str()
            .unwrap()
            .contains("already served by 'microsoft-defender-cspm'"),
        "{served}"
    );
    // The audit agrees: TA013 for Defender on cluster2 alone.
    let audit = json(&run(emu.cli().args(["audit", "--services", "-o", "json"])).stdout);
    let unbound: Vec<String> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["results"].as_array().unwrap().iter().any(|f| {
                f["ruleId"] == "TA013" && f["message"].as_str().unwrap().contains("Defender")
            })
        })
        .map(|r| lower(&r["cluster"]))
        .collect();
    assert_eq!(unbound, ["cluster2"]);
    // Once cluster2 has its binding nothing is left: exit 0, and the audit finds no TA013.
    let applied = run(emu.cli().args(["apply", "--require", "defender", "--yes"]));
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let again = run(emu
        .cli()
        .args(["plan", "--require", "defender", "-o", "json"]));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(writes(&json(&again.stdout)).is_empty(), "{}", again.stdout);
    let audit = run(emu.cli().args(["audit", "--services", "-o", "json"]));
    assert!(!audit.stdout.contains("\"TA013\""), "{}", audit.stdout);
}

/// `cluster1` holds a vault's binding; the vault's subscription is under `mg-platform`, where a
/// group holds Backup Contributor (it drives the vault), beside a Backup Contributor at
/// `mg-elsewhere`, a group the subscription is not under.
fn management_group_world() -> Value {
    let vault = format!(
        "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.DataProtection/backupVaults/vault1"
    );
    let contributor = |group: &str, principal: &str| {
        json!({"scope": format!("/providers/Microsoft.Management/managementGroups/{group}"),
            "principalId": principal, "principalType": "Group",
            "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/5e467623-bb1f-42f4-a55d-6e525e11384b"})
    };
    json!({
        "subscriptions": [{"subscriptionId": SUB, "displayName": "Emulated Subscription"}],
        "resourceGroups": [{"subscriptionId": SUB, "name": "rg1"}],
        "clusters": [{"subscriptionId": SUB, "resourceGroup": "rg1", "name": "cluster1",
            "location": "westeurope", "identityType": "SystemAssigned",
            "bindings": [{"name": "vault", "sourceResourceId": vault,
                "roles": ["Microsoft.DataProtection/backupVaults/backup-operator"]}]}],
        "resources": [{"id": vault, "identity": {"type": "SystemAssigned"}}],
        "managementGroups": [{"name": "mg-platform", "subscriptions": [SUB]},
            {"name": "mg-elsewhere", "subscriptions": []}],
        "services": {"roleAssignments": [
            contributor("mg-platform", "11111111-0000-0000-0000-000000000001"),
            contributor("mg-elsewhere", "22222222-0000-0000-0000-000000000002"),
        ]},
    })
}

fn ta017(rows: &Value) -> Vec<Value> {
    rows.as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["results"].as_array().unwrap().iter())
        .filter(|f| f["ruleId"] == "TA017")
        .cloned()
        .collect()
}

#[test]
fn access_follows_a_subscription_up_to_its_management_groups_or_says_unknown() {
    let emu = Emulator::start_with_state(&management_group_world(), &[]);
    let out = run(emu.cli().args(["audit", "--access", "-o", "json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows = json(&out.stdout);
    let principals = &rows[0]["bindings"][0]["principals"];
    assert_eq!(
        principals,
        &json!([{"principalId": "11111111-0000-0000-0000-000000000001", "principalType": "Group",
            "role": "Backup Contributor",
            "scope": "/providers/Microsoft.Management/managementGroups/mg-platform"}])
    );
    let found = ta017(&rows);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["outcome"], "finding");
    // One query of the subscriptions' groups, over discovery's scope.
    let queries = graph_queries(&emu);
    let chains: Vec<_> = queries
        .iter()
        .filter(|q| q.0 == "resourcecontainers")
        .collect();
    assert_eq!(chains.len(), 1, "{queries:?}");
    assert!(chains[0].2.contains("managementGroupAncestorsChain"));
    assert_eq!(chains[0].1, json!([SUB]));

    // The groups cannot be read: the group's assignment makes TA017 unknown, never a pass.
    let refuse = json!([{"method": "POST", "pathContains": "Microsoft.ResourceGraph",
        "bodyContains": "resourcecontainers", "times": 10, "status": 403,
        "body": json!({"error": {"code": "AuthorizationFailed", "message": "no"}}).to_string()}]);
    emu.script(&refuse);
    let out = run(emu.cli().args(["audit", "--access", "-o", "json"]));
    assert_eq!(out.code, 1, "a check could not be made: {}", out.stderr);
    let rows = json(&out.stdout);
    assert_eq!(rows[0]["verdict"], "unknown");
    let found = ta017(&rows);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["outcome"], "unknown", "{}", found[0]);
    let message = found[0]["message"].as_str().unwrap();
    assert!(
        message.contains("management group(s) mg-elsewhere, mg-platform"),
        "{message}"
    );
    assert!(found[0]["hint"].as_str().unwrap().contains("grant Reader"));
    // The assignments were read: who acts below the groups is still shown (nobody here).
    assert_eq!(rows[0]["bindings"][0]["principals"], json!([]));
}

/// The line of `text` at which `needle` first appears.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no '{needle}' in:\n{text}"))
}

#[test]
fn apply_require_wait_effective_creates_then_waits_until_the_bindings_take_effect() {
    // Bindings take effect 2 s after their write here (the service: about 5 minutes).
    let emu = Emulator::start_with(&[
        "--fleet",
        "2x8x1",
        "--fleet-services",
        "100",
        "--effect-delay",
        "2",
    ]);
    let apply = ["apply", "--require", "backup", "--yes", "--wait-effective"];
    // Documented refusals: nothing to wait for without waiting for the writes, or writing.
    for extra in ["--no-wait", "--dry-run"] {
        let out = run(emu.cli().args(apply).arg(extra));
        assert_eq!(out.code, 2, "{extra}: {}", out.stderr);
    }
    assert!(emu.requests().is_empty(), "usage errors send nothing");

    let out = run(emu.cli().args(apply).args(["-o", "json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let created: Vec<(String, String)> = json(&out.stdout)
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "create")
        .map(|a| {
            assert_eq!(a["result"], "done", "{a}");
            (
                a["cluster"].as_str().unwrap().to_string(),
                a["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(created.len() >= 2, "{}", out.stdout);
    // The writes, then the wait, then the word that they are in effect.
    let (applied, waiting, done) = (
        line_of(&out.stderr, "Apply: "),
        line_of(&out.stderr, "Waiting"),
        line_of(&out.stderr, "Every binding written is in effect (5 minutes"),
    );
    assert!(applied < waiting && waiting < done, "{}", out.stderr);
    // Each created binding is read back (its systemData) after the last write.
    let requests = emu.request_lines();
    let last_put = requests
        .iter()
        .rposition(|l| l.starts_with("PUT "))
        .unwrap();
    for (cluster, name) in &created {
        let path = format!("{cluster}/trustedAccessRoleBindings/{name}?");
        let put = requests
            .iter()
            .position(|l| l.starts_with(&format!("PUT {path}")))
            .unwrap();
        let read = requests
            .iter()
            .rposition(|l| l.starts_with(&format!("GET {path}")))
            .unwrap_or_else(|| panic!("{name} was not read back: {requests:#?}"));
        assert!(put <= last_put && last_put < read, "{name}: {requests:#?}");
    }
    // Once apply has returned, the doctor agrees they are in effect.
    let (cluster, name) = &created[0];
    let parts: Vec<&str> = cluster.split('/').collect();
    let check = run(emu.cli().args([
        "rolebinding",
        "check",
        "--subscription",
        parts[2],
        "-g",
        parts[4],
        "--cluster-name",
        parts[8],
        "-n",
        name,
        "-o",
        "json",
    ]));
    assert_eq!(check.code, 0, "{}", check.stderr);
    let effective = json(&check.stdout)["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "binding-effective")
        .cloned()
        .unwrap();
    assert_eq!(effective["verdict"], "pass", "{effective}");

    // Nothing left to write: nothing to wait for.
    let again = run(emu.cli().args(apply));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(!again.stderr.contains("Waiting"), "{}", again.stderr);
    assert!(
        again.stderr.contains("(or nothing was written)"),
        "{}",
        again.stderr
    );
}

#[test]
fn apply_wait_effective_does_not_wait_after_a_failed_write() {
    let emu = Emulator::start_with(&[
        "--fleet",
        "1x8x1",
        "--fleet-services",
        "100",
        "--effect-delay",
        "2",
        "--operation-outcome",
        "failed",
    ]);
    let out = run(emu
        .cli()
        .args(["apply", "--require", "backup", "--yes", "--wait-effective"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("writes or cluster reads failed; run apply again"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("Waiting"), "{}", out.stderr);
    assert!(!out.stderr.contains("in effect"), "{}", out.stderr);
}
