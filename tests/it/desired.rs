//! Desired state: `plan`, `apply` and `export` against the emulator: each action, adoption,
//! replace, prune and platform bindings, the service's refusals (8 bindings, catalog), invalid
//! manifests with their line, partial failure, faults, an interrupted apply, export → plan.

use crate::harness::*;
use serde_json::{Value, json};
use std::path::Path;

const CLUSTERS: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters";

fn source(name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/{name}"
    )
}

fn binding(name: &str, src: &str, roles: &[&str]) -> Value {
    json!({"name": name, "sourceResourceId": src, "roles": roles})
}

fn cluster(name: &str, location: &str, bindings: Vec<Value>) -> Value {
    json!({"subscriptionId": SUB, "resourceGroup": "rg1", "name": name, "location": location,
           "identityType": "SystemAssigned", "tags": {"env": "prod"}, "bindings": bindings})
}

/// A world of one subscription and these clusters, written where the emulator can read it.
struct World {
    dir: tempfile::TempDir,
    emu: Emulator,
}

impl World {
    fn start(clusters: Vec<Value>, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let seed = json!({
            "subscriptions": [{"subscriptionId": SUB, "displayName": "Emulated Subscription"}],
            "resourceGroups": [{"subscriptionId": SUB, "name": "rg1"}],
            "clusters": clusters,
            "rolesByLocation": {"australiaeast": []},
        });
        let path = dir.path().join("state.json");
        std::fs::write(&path, seed.to_string()).unwrap();
        let mut args = vec!["--state", path.to_str().unwrap()];
        args.extend_from_slice(extra);
        let emu = Emulator::start_with(&args);
        World { dir, emu }
    }

    fn manifest(&self, text: &str) {
        std::fs::write(self.dir.path().join("m.yaml"), text).unwrap();
    }

    fn cli(&self, args: &[&str]) -> Run {
        run(self.emu.cli().current_dir(self.dir.path()).args(args))
    }

    /// name → (source, roles) of each cluster's bindings, from the emulator's own state.
    fn bindings(&self, cluster: &str) -> Vec<(String, String, Vec<String>)> {
        let state = self.emu.state();
        let c = state["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == cluster)
            .unwrap()
            .clone();
        let mut out: Vec<(String, String, Vec<String>)> = c["bindings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["name"].as_str().unwrap().to_string(),
                    b["sourceResourceId"].as_str().unwrap().to_string(),
                    b["roles"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r.as_str().unwrap().to_string())
                        .collect(),
                )
            })
            .collect();
        out.sort();
        out
    }

    fn writes(&self) -> Vec<String> {
        self.emu
            .request_lines()
            .into_iter()
            .filter(|l| l.starts_with("PUT") || l.starts_with("DELETE"))
            .map(|l| l.split('?').next().unwrap().to_string())
            .collect()
    }
}

fn entry(name: &str, src: &str, roles: &[&str], clusters: &[&str]) -> String {
    let clusters: Vec<String> = clusters
        .iter()
        .map(|c| {
            if c.starts_with('{') {
                format!("      - {c}\n")
            } else {
                format!("      - {CLUSTERS}/{c}\n")
            }
        })
        .collect();
    format!(
        "  - name: {name}\n    sourceResourceId: {src}\n    roles: [{}]\n    clusters:\n{}",
        roles.join(", "),
        clusters.concat()
    )
}

fn manifest(entries: &[String]) -> String {
    format!(
        "apiVersion: aks-trustedaccess/v1\nbindings:\n{}",
        entries.concat()
    )
}

fn actions(out: &Run) -> Vec<(String, String)> {
    json(&out.stdout)
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap_or("-").to_string(),
                a["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// The world of the main test: one cluster with a binding for every case.
fn every_case() -> (World, String) {
    let defender = "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Security/pricings/containers";
    let world = World::start(
        vec![cluster(
            "c1",
            "westeurope",
            vec![
                binding("same", &source("a"), &[ML_ROLE]),
                binding("roles", &source("b"), &[ML_ROLE]),
                binding("moved", &source("c"), &[ML_ROLE]),
                binding("old-name", &source("e"), &[ML_ROLE]),
                binding("extra", &source("f"), &[ML_ROLE]),
                binding(
                    "defender-containers",
                    defender,
                    &["Microsoft.Security/pricings/microsoft-defender-operator"],
                ),
            ],
        )],
        &[],
    );
    let text = manifest(&[
        entry("same", &source("a"), &[ML_ROLE], &["c1"]),
        entry("roles", &source("b"), &[ML_ROLE, ML_ROLE_2], &["c1"]),
        entry("moved", &source("c2"), &[ML_ROLE], &["c1"]),
        entry("new", &source("d"), &[ML_ROLE], &["c1"]),
        entry("adopted", &source("e"), &[ML_ROLE], &["c1"]),
    ]);
    world.manifest(&text);
    (world, text)
}

#[test]
fn plan_lists_each_action_from_one_read_and_apply_makes_it_so() {
    let (world, _) = every_case();
    let out = world.cli(&["plan", "-f", "m.yaml", "--prune", "-o", "json"]);
    assert_eq!(out.code, 4, "changes pending: {}", out.stderr);
    assert_eq!(
        actions(&out),
        pairs(&[
            ("extra", "delete"),
            ("moved", "replace"),
            ("roles", "update"),
            ("new", "create"),
            ("adopted", "adopt"),
            ("same", "noop"),
            ("defender-containers", "noop"),
        ])
    );
    let plan = json(&out.stdout);
    assert_eq!(
        plan[4]["reason"],
        "the source is already bound as 'old-name' with the same roles; no duplicate is created"
    );
    assert!(plan[6]["reason"].as_str().unwrap().contains("Defender"));
    assert_eq!(plan[1]["before"]["sourceResourceId"], source("c"));
    assert_eq!(plan[1]["after"]["sourceResourceId"], source("c2"));
    assert!(
        out.stderr.contains("Plan: 1 to create, 1 to update, 1 to replace, 1 to delete, 1 adopted, 2 unchanged (1 of them made by platforms, kept), on 1 clusters."),
        "{}",
        out.stderr
    );
    let reads: Vec<String> = world
        .emu
        .request_lines()
        .iter()
        .map(|l| l.split('?').next().unwrap().to_string())
        .collect();
    assert_eq!(
        reads,
        [
            "GET /subscriptions".to_string(),
            "POST /providers/Microsoft.ResourceGraph/resources".to_string(),
            format!("GET {CLUSTERS}/c1/trustedAccessRoleBindings"),
            format!(
                "GET /subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/westeurope/trustedAccessRoles"
            ),
        ],
        "discovery (the subscriptions, one Resource Graph query), one read of the cluster, one of its location's catalog"
    );

    // Without a terminal, deletes and replacements need --yes: nothing is written.
    let refused = world.cli(&["apply", "-f", "m.yaml", "--prune"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("needs --yes"), "{}", refused.stderr);
    assert!(world.writes().is_empty());

    let applied = world.cli(&["apply", "-f", "m.yaml", "--prune", "--yes"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let binding_path = |n: &str| format!("{CLUSTERS}/c1/trustedAccessRoleBindings/{n}");
    assert_eq!(
        world.writes(),
        [
            format!("DELETE {}", binding_path("extra")),
            format!("DELETE {}", binding_path("moved")),
            format!("PUT {}", binding_path("moved")),
            format!("PUT {}", binding_path("roles")),
            format!("PUT {}", binding_path("new")),
        ],
        "deletes first, a replacement deletes before it creates"
    );
    assert!(
        applied
            .stderr
            .contains("Apply: 4 done, 0 failed, 0 skipped, 3 unchanged, on 1 clusters"),
        "{}",
        applied.stderr
    );
    let names: Vec<String> = world.bindings("c1").into_iter().map(|b| b.0).collect();
    assert_eq!(
        names,
        [
            "defender-containers",
            "moved",
            "new",
            "old-name",
            "roles",
            "same"
        ]
    );
    assert!(world.bindings("c1").contains(&(
        "moved".into(),
        source("c2"),
        vec![ML_ROLE.to_string()]
    )));
    let again = world.cli(&["plan", "-f", "m.yaml", "--prune"]);
    assert_eq!(
        again.code, 0,
        "after apply, plan finds nothing: {}",
        again.stderr
    );
    assert_eq!(
        again.stdout,
        format!(
            "cluster {CLUSTERS}/c1\n  = adopted: {}\n      (the source is already bound as 'old-name' with the same roles; no duplicate is created)\n  . defender-containers: /subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Security/pricings/containers roles [Microsoft.Security/pricings/microsoft-defender-operator], kept\n      (made by Microsoft Defender for Cloud (its source is a Microsoft.Security resource); kept (--prune-platform defender deletes it))\n",
            source("e")
        ),
        "only the adoption and the platform binding kept are reported"
    );
}

#[test]
fn the_diff_is_readable_and_platform_bindings_are_pruned_only_when_named() {
    let (world, _) = every_case();
    let out = world.cli(&["plan", "-f", "m.yaml"]);
    assert_eq!(out.code, 4);
    let c1 = format!("{CLUSTERS}/c1");
    assert!(
        out.stdout
            .starts_with(&format!("cluster {c1}\n  -/+ moved: source ")),
        "{}",
        out.stdout
    );
    for mark in ["  ~ roles: roles [", "  + new: ", "  = adopted: "] {
        assert!(out.stdout.contains(mark), "{mark} in {}", out.stdout);
    }
    assert!(!out.stdout.contains("extra"), "no delete without --prune");
    // A binding's name is not a platform: refused before any request.
    let before = world.emu.requests().len();
    let wrong = world.cli(&[
        "plan",
        "-f",
        "m.yaml",
        "--prune",
        "--prune-platform",
        "defender-containers",
    ]);
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
    assert!(
        wrong
            .stderr
            .starts_with("ERROR: --prune-platform 'defender-containers' is not a platform\n"),
        "{}",
        wrong.stderr
    );
    assert!(
        wrong
            .stderr
            .contains("defender, backup, application, managed-identity")
    );
    assert_eq!(world.emu.requests().len(), before, "nothing sent");
    let named = world.cli(&[
        "plan",
        "-f",
        "m.yaml",
        "--prune",
        "--prune-platform",
        "Defender",
        "-o",
        "json",
    ]);
    let deletes: Vec<String> = actions(&named)
        .into_iter()
        .filter(|(_, a)| a == "delete")
        .map(|(n, _)| n)
        .collect();
    assert_eq!(deletes, ["extra", "defender-containers"]);
}

/// Issue 20's Backup binding (a GUID name, `createdByType: Application`, `createdBy: Azure
/// Backup`, an ordinary-looking source) and a Defender one are kept by `--prune`, each listed
/// with why; only `--prune-platform backup` lets it go. A user's binding is pruned.
#[test]
fn prune_keeps_what_platforms_made_and_names_them() {
    let backup_name = "6f1c0c52-0f0a-4c48-9b8e-6a1d2b3c4d5e";
    let mut backup = binding(backup_name, &source("vault"), &[ML_ROLE]);
    backup["systemData"] = json!({"createdBy": "Azure Backup", "createdByType": "Application"});
    let mut mine = binding("mine", &source("old"), &[ML_ROLE]);
    mine["systemData"] = json!({"createdBy": "me@contoso.com", "createdByType": "User"});
    let defender = binding(
        "defender-containers",
        "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Security/pricings/containers",
        &["Microsoft.Security/pricings/microsoft-defender-operator"],
    );
    let world = World::start(
        vec![cluster("c1", "westeurope", vec![backup, mine, defender])],
        &[],
    );
    world.manifest(&manifest(&[entry(
        "wanted",
        &source("a"),
        &[ML_ROLE],
        &["c1"],
    )]));
    let out = world.cli(&["plan", "-f", "m.yaml", "--prune"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stdout.contains("  - mine: "), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!("  . {backup_name}: {} roles [{ML_ROLE}], kept\n      (made by Azure Backup (systemData.createdBy is 'Azure Backup'); kept (--prune-platform backup deletes it))\n", source("vault"))),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("  . defender-containers: "),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("2 unchanged (2 of them made by platforms, kept)"),
        "{}",
        out.stderr
    );
    let json_plan = world.cli(&[
        "plan",
        "-f",
        "m.yaml",
        "--prune",
        "--prune-platform",
        "backup",
        "-o",
        "json",
    ]);
    let deletes: Vec<String> = actions(&json_plan)
        .into_iter()
        .filter(|(_, a)| a == "delete")
        .map(|(n, _)| n)
        .collect();
    assert_eq!(deletes, [backup_name, "mine"]);
    let applied = world.cli(&["apply", "-f", "m.yaml", "--prune", "--yes"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let names: Vec<String> = world.bindings("c1").into_iter().map(|b| b.0).collect();
    assert_eq!(names, [backup_name, "defender-containers", "wanted"]);
}

#[test]
fn invalid_manifests_are_refused_with_the_line_before_any_request() {
    let world = World::start(vec![cluster("c1", "westeurope", vec![])], &[]);
    let good = manifest(&[entry("b1", &source("a"), &[ML_ROLE], &["c1"])]);
    let cases = [
        (
            good.replace("roles:", "rolez:"),
            "m.yaml:5: unknown key 'rolez' in bindings[0]",
        ),
        (
            good.replace("  - name: b1\n", "  -\n"),
            "m.yaml:4: bindings[0] has no 'name'",
        ),
        (
            good.replace("name: b1", "name: b_1"),
            "m.yaml:3: bindings[0]: invalid role binding name 'b_1'",
        ),
        (
            good.replace("mlworkload", "x/y"),
            "m.yaml:5: bindings[0]: role 'Microsoft.MachineLearningServices/workspaces/x/y' is for sources of type",
        ),
        (
            good.replace("managedClusters/c1", "managedClusters/c1/x"),
            "m.yaml:7: bindings[0]: invalid cluster id",
        ),
        (
            good.replace("aks-trustedaccess/v1", "aks-trustedaccess/v2"),
            "m.yaml:1: apiVersion 'aks-trustedaccess/v2' is not supported",
        ),
        (
            "apiVersion: [\n".to_string(),
            "m.yaml:2: not valid YAML or JSON",
        ),
        (
            "{\"apiVersion\": \"aks-trustedaccess/v1\",\n \"bindings\": [{\"name\": \"b\"}]}"
                .to_string(),
            "m.yaml:2: bindings[0] has no 'sourceResourceId'",
        ),
    ];
    for (text, expected) in cases {
        world.manifest(&text);
        for command in ["plan", "apply"] {
            let out = world.cli(&[command, "-f", "m.yaml"]);
            assert_eq!(out.code, 2, "{command} {expected}: {}", out.stderr);
            assert!(
                out.stderr.starts_with(&format!("ERROR: {expected}")),
                "expected {expected:?}, got {}",
                out.stderr
            );
        }
    }
    assert!(world.emu.requests().is_empty(), "nothing was sent");
}

#[test]
fn the_services_refusals_stop_the_whole_apply_before_any_write() {
    let seven: Vec<Value> = (0..7)
        .map(|i| binding(&format!("b{i}"), &source(&format!("s{i}")), &[ML_ROLE]))
        .collect();
    let world = World::start(
        vec![
            cluster("full", "westeurope", seven),
            cluster("other", "westeurope", vec![]),
            cluster("aus", "australiaeast", vec![]),
        ],
        &[],
    );
    world.manifest(&manifest(&[
        entry("n1", &source("n1"), &[ML_ROLE], &["full", "other"]),
        entry("n2", &source("n2"), &[ML_ROLE], &["full", "other"]),
        entry("n3", &source("n3"), &[ML_ROLE], &["aus"]),
    ]));
    for command in ["plan", "apply"] {
        let out =
            world.cli(&[command, "-f", "m.yaml", "--yes"][..if command == "plan" { 3 } else { 4 }]);
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(
            out.stderr
                .contains("the service would refuse this plan (2 problems); nothing was written"),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains(&format!(
                "cluster {CLUSTERS}/full: would hold 9 bindings, more than the service's limit of 8"
            )),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains(&format!(
                "m.yaml:15: role '{ML_ROLE}' is not offered in australiaeast"
            )),
            "{}",
            out.stderr
        );
    }
    assert!(
        world.writes().is_empty(),
        "not even on the cluster that was fine"
    );
}

#[test]
fn conflicting_entries_are_refused_with_both_lines() {
    let world = World::start(vec![cluster("c1", "westeurope", vec![])], &[]);
    world.manifest(&manifest(&[
        entry("b1", &source("a"), &[ML_ROLE], &["c1"]),
        entry(
            "b1",
            &source("b"),
            &[ML_ROLE],
            &["{subscription: Emulated Subscription, tags: {env: prod}}"],
        ),
    ]));
    let out = world.cli(&["plan", "-f", "m.yaml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(&format!("ERROR: m.yaml:3: and m.yaml:8: ask for two different bindings named 'b1' on cluster {CLUSTERS}/c1")),
        "{}",
        out.stderr
    );
}

/// The service allows one source under two names on a cluster (Defender's platform binding
/// beside a user's): a manifest asking for it is planned, not refused.
#[test]
fn one_source_under_two_names_is_planned() {
    let world = World::start(vec![cluster("c1", "westeurope", vec![])], &[]);
    world.manifest(&manifest(&[
        entry("b1", &source("a"), &[ML_ROLE], &["c1"]),
        entry("b2", &source("a"), &[ML_ROLE], &["c1"]),
    ]));
    let out = world.cli(&["apply", "-f", "m.yaml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let names: Vec<String> = world.bindings("c1").into_iter().map(|b| b.0).collect();
    assert_eq!(names, ["b1", "b2"]);
    assert_eq!(world.cli(&["plan", "-f", "m.yaml"]).code, 0);
}

#[test]
fn one_unreadable_cluster_fails_alone() {
    let mut locked = cluster("locked", "westeurope", vec![]);
    locked["readable"] = json!(false);
    let world = World::start(
        vec![
            cluster("c1", "westeurope", vec![]),
            locked,
            cluster("c3", "westeurope", vec![]),
        ],
        &[],
    );
    world.manifest(&manifest(&[entry(
        "b1",
        &source("a"),
        &[ML_ROLE],
        &["c1", "locked", "c3", "missing"],
    )]));
    let plan = world.cli(&["plan", "-f", "m.yaml", "-o", "json"]);
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    let listed = json(&plan.stdout);
    let errors: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "error")
        .collect();
    assert_eq!(errors.len(), 2);
    assert!(
        errors[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("cannot read the bindings: (AuthorizationFailed)"),
        "{}",
        errors[0]
    );
    assert_eq!(errors[1]["reason"], "the cluster does not exist");
    let out = world.cli(&["apply", "-f", "m.yaml", "-o", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("Apply: 2 done, 2 failed, 0 skipped"),
        "{}",
        out.stderr
    );
    let results = json(&out.stdout);
    let done: Vec<&str> = results
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["result"] == "done")
        .map(|r| r["cluster"].as_str().unwrap())
        .collect();
    assert_eq!(done, [format!("{CLUSTERS}/c1"), format!("{CLUSTERS}/c3")]);
    assert_eq!(world.bindings("c3").len(), 1);
}

/// A plan of a manifest whose selectors name subscriptions by display name, group and tags, on
/// a 2 × 6 fleet started with `emulator_args`; returns the run and the requests it made.
fn plan_selectors(emulator_args: &[&str]) -> (Run, Vec<String>) {
    let mut args = vec!["--fleet", "2x6x1"];
    args.extend_from_slice(emulator_args);
    let emu = Emulator::start_with(&args);
    let dir = tempfile::tempdir().unwrap();
    let src = format!(
        "/subscriptions/{SUB0}/resourceGroups/rg-fleet-0/providers/Microsoft.DataProtection/backupVaults/v"
    );
    std::fs::write(
        dir.path().join("m.yaml"),
        manifest(&[format!(
            "  - name: backup\n    sourceResourceId: {src}\n    roles: [Microsoft.DataProtection/backupVaults/backup-operator]\n    clusters:\n      - subscription: Fleet Subscription 0\n        resourceGroup: rg-fleet-0\n        tags: {{env: prod}}\n      - subscription: Fleet Subscription 1\n        tags: {{env: nowhere}}\n"
        )]),
    )
    .unwrap();
    let out = run(emu
        .cli()
        .current_dir(dir.path())
        .args(["plan", "-f", "m.yaml", "-o", "json"]));
    let mut requests: Vec<String> = emu
        .request_lines()
        .iter()
        .map(|l| l.split('?').next().unwrap().to_string())
        .collect();
    // Discovery comes first, in order; the clusters are then read side by side.
    requests[3..].sort();
    (out, requests)
}

fn assert_selected(out: &Run) {
    assert_eq!(out.code, 4, "{}", out.stderr);
    let clusters: Vec<String> = json(&out.stdout)
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "create")
        .map(|a| {
            a["cluster"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        clusters,
        ["aks-0-0", "aks-0-3"],
        "every third cluster is env: prod"
    );
    assert!(
        out.stderr
            .contains("WARNING: m.yaml:10: the selector matches no cluster"),
        "{}",
        out.stderr
    );
}

const SUB0: &str = "00000000-0000-4000-8000-000000000001";

/// What the plan of `plan_selectors` reads once its clusters are found (sorted): both clusters'
/// bindings and the catalogs of their two locations.
fn selected_reads() -> Vec<String> {
    let provider = format!("GET /subscriptions/{SUB0}/providers/Microsoft.ContainerService");
    let cluster = |n: u32| {
        format!(
            "GET /subscriptions/{SUB0}/resourceGroups/rg-fleet-0/providers/Microsoft.ContainerService/managedClusters/aks-0-{n}/trustedAccessRoleBindings"
        )
    };
    vec![
        format!("{provider}/locations/eastus/trustedAccessRoles"),
        format!("{provider}/locations/westus3/trustedAccessRoles"),
        cluster(0),
        cluster(3),
    ]
}

#[test]
fn selectors_pick_clusters_by_subscription_name_group_and_tags_through_resource_graph() {
    let (out, requests) = plan_selectors(&[]);
    assert_selected(&out);
    let mut expected = vec![
        "GET /subscriptions".to_string(),
        "GET /subscriptions".to_string(),
        "POST /providers/Microsoft.ResourceGraph/resources".to_string(),
    ];
    expected.extend(selected_reads());
    assert_eq!(
        requests, expected,
        "display names (one listing), discovery (the subscriptions, one query for both), the two clusters, their catalogs"
    );
}

#[test]
fn selectors_fall_back_to_arm_listings_when_resource_graph_refuses() {
    let (out, requests) = plan_selectors(&["--graph-refuse", "forbidden"]);
    assert_selected(&out);
    assert!(
        out.stderr
            .contains("WARNING: Resource Graph refused the query"),
        "{}",
        out.stderr
    );
    let listing = |sub: &str| {
        format!("GET /subscriptions/{sub}/providers/Microsoft.ContainerService/managedClusters")
    };
    let mut reads = selected_reads();
    reads.push(listing(SUB0));
    reads.push(listing("00000001-0000-4000-8000-000000000002"));
    reads.sort();
    let mut expected = vec![
        "GET /subscriptions".to_string(),
        "GET /subscriptions".to_string(),
        "POST /providers/Microsoft.ResourceGraph/resources".to_string(),
    ];
    expected.extend(reads);
    assert_eq!(
        requests, expected,
        "the refused query, then one ARM listing per subscription"
    );
}

/// Applies until it succeeds (at most `tries` times); returns the exit codes.
fn apply_until_done(world: &World, tries: usize) -> Vec<i32> {
    let mut codes = Vec::new();
    for _ in 0..tries {
        let out = world.cli(&[
            "apply",
            "-f",
            "m.yaml",
            "--prune",
            "--yes",
            "--parallel",
            "4",
        ]);
        codes.push(out.code);
        if out.code == 0 {
            break;
        }
        assert_eq!(
            out.code, 1,
            "a fault is a failure, never a crash: {}",
            out.stderr
        );
    }
    codes
}

fn fleet_world(extra: &[&str]) -> World {
    let clusters = (0..6)
        .map(|c| {
            cluster(
                &format!("c{c}"),
                "westeurope",
                (0..3)
                    .map(|b| {
                        binding(
                            &format!("old{b}"),
                            &source(&format!("old-{c}-{b}")),
                            &[ML_ROLE],
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    let world = World::start(clusters, extra);
    let all: Vec<&str> = vec!["c0", "c1", "c2", "c3", "c4", "c5"];
    world.manifest(&manifest(&[
        entry("b1", &source("one"), &[ML_ROLE], &all),
        entry("b2", &source("two"), &[ML_ROLE, ML_ROLE_2], &all),
        entry("old0", &source("zero"), &[ML_ROLE], &all),
    ]));
    world
}

fn assert_desired(world: &World) {
    for c in 0..6 {
        assert_eq!(
            world.bindings(&format!("c{c}")),
            [
                ("b1".to_string(), source("one"), vec![ML_ROLE.to_string()]),
                (
                    "b2".to_string(),
                    source("two"),
                    vec![ML_ROLE.to_string(), ML_ROLE_2.to_string()]
                ),
                (
                    "old0".to_string(),
                    source("zero"),
                    vec![ML_ROLE.to_string()]
                ),
            ],
            "cluster c{c}"
        );
    }
}

#[test]
fn faults_on_one_request_in_three_still_end_in_exactly_the_desired_state() {
    let world = fleet_world(&[
        "--fault-every",
        "3",
        "--faults",
        "throttle,500,503,drop,html,lost",
        "--throttle-retry-after",
        "0",
    ]);
    let codes = apply_until_done(&world, 3);
    assert_eq!(codes.last(), Some(&0), "apply converges: {codes:?}");
    assert_desired(&world);
    let plan = world.cli(&["plan", "-f", "m.yaml", "--prune"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
}

#[test]
fn apply_again_after_an_interrupted_apply_does_only_what_is_missing() {
    let world = fleet_world(&["--latency-ms", "40"]);
    let mut child = world
        .emu
        .std_cli()
        .current_dir(world.dir.path())
        .args([
            "apply",
            "-f",
            "m.yaml",
            "--prune",
            "--yes",
            "--parallel",
            "1",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Stop it once it has written something, far from the end (6 clusters × 6 writes).
    let mut waited = 0;
    while world.writes().len() < 4 && waited < 600 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        waited += 1;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = world.writes().len();
    assert!(
        (4..36).contains(&before),
        "interrupted midway: {before} writes"
    );
    let plan = world.cli(&["plan", "-f", "m.yaml", "--prune"]);
    assert_eq!(plan.code, 4, "work is left: {}", plan.stderr);
    let out = world.cli(&["apply", "-f", "m.yaml", "--prune", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let second = world.writes().len() - before;
    assert!(
        second < 36,
        "the second apply redid nothing: {second} writes"
    );
    assert_desired(&world);
    assert_eq!(world.cli(&["plan", "-f", "m.yaml", "--prune"]).code, 0);
}

#[test]
fn export_groups_identical_bindings_and_plan_of_it_finds_nothing() {
    let shared = binding("shared", &source("s"), &[ML_ROLE]);
    let world = World::start(
        vec![
            cluster(
                "c1",
                "westeurope",
                vec![shared.clone(), binding("own", &source("o"), &[ML_ROLE])],
            ),
            cluster("c2", "westeurope", vec![shared]),
        ],
        &[],
    );
    let out = world.cli(&["export", "-o", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        json(&out.stdout),
        json!({"apiVersion": "aks-trustedaccess/v1", "bindings": [
            {"name": "shared", "sourceResourceId": source("s"), "roles": [ML_ROLE], "clusters": [format!("{CLUSTERS}/c1"), format!("{CLUSTERS}/c2")]},
            {"name": "own", "sourceResourceId": source("o"), "roles": [ML_ROLE], "clusters": [format!("{CLUSTERS}/c1")]},
        ]})
    );
    let yaml = world.cli(&["export"]);
    assert!(
        yaml.stdout
            .starts_with("apiVersion: aks-trustedaccess/v1\nbindings:\n- clusters:\n"),
        "{}",
        yaml.stdout
    );
    world.manifest(&yaml.stdout);
    let plan = world.cli(&["plan", "-f", "m.yaml", "--prune"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
}

#[test]
fn export_then_plan_exits_0_on_a_generated_20_by_50_fleet() {
    let emu = Emulator::start_with(&["--fleet", "20x50x2", "--page-size", "0"]);
    let dir = tempfile::tempdir().unwrap();
    let out = run(emu.cli().args(["export", "--parallel", "32"]));
    // Every 13th cluster and one subscription cannot be read: named on stderr, left out, exit 1.
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr
            .matches("WARNING: left out of the manifest: cluster ")
            .count(),
        76
    );
    assert!(
        out.stderr
            .contains("WARNING: left out of the manifest: subscription ")
    );
    let file = dir.path().join("fleet.yaml");
    std::fs::write(&file, &out.stdout).unwrap();
    let plan = run(emu
        .cli()
        .args(["plan", "-f", file.to_str().unwrap(), "--parallel", "32"]));
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(plan.stderr.contains("0 to create, 0 to update, 0 to replace, 0 to delete, 0 adopted, 1662 unchanged, on 831 clusters"), "{}", plan.stderr);
    assert!(Path::new(&file).exists());
}
