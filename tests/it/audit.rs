//! `audit`: the right verdict for every cluster of a generated fleet, unreadable subscriptions and
//! clusters as error rows, skipped subscriptions, requirements, formats and exit codes.

use crate::harness::*;
use serde_json::{Value, json};

/// What the fleet generator promises for cluster number `n` (see `Seed::fleet` and
/// `fleet_source`): binding k = n * bindings + b has a dangling source when k % 17 == 5 and an
/// identity-less one when k % 19 == 7; a source the caller cannot read (k % 23 == 11, and not
/// dangling) makes the cluster `unknown` unless something else fails it.
pub fn expected_verdict(n: usize, bindings: usize) -> &'static str {
    let bound = if n % 10 == 9 { 0 } else { bindings };
    let ks = || (0..bound).map(move |b| n * bound + b);
    let unreadable = |k: usize| k % 23 == 11 && k % 17 != 5;
    let broken_source = ks().any(|k| k % 17 == 5 || (k % 19 == 7 && !unreadable(k)));
    if n % 13 == 12 {
        "error"
    } else if n % 10 == 9 || n % 7 == 6 || (n % 11 == 10 && bound > 0) || broken_source {
        "fail"
    } else if ks().any(unreadable) {
        "unknown"
    } else {
        "pass"
    }
}

fn audit_rows(out: &Run) -> Vec<Value> {
    json(&out.stdout).as_array().cloned().unwrap_or_default()
}

#[test]
fn every_cluster_of_a_generated_fleet_gets_the_right_verdict() {
    let (subs, clusters, bindings) = (4, 15, 2);
    let emu = Emulator::start_with(&["--fleet", "4x15x2"]);
    let out = run(emu.cli().args(["audit", "--discovery", "arm"]));
    assert_eq!(
        out.code, 1,
        "unreadable clusters make it exit 1: {}",
        out.stderr
    );
    let rows = audit_rows(&out);
    let skipped: Vec<&Value> = rows.iter().filter(|r| r["verdict"] == "skipped").collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["subscription"], "Fleet Disabled");
    assert_eq!(skipped[0]["findings"], json!(["subscription is Disabled"]));
    let unreadable: Vec<&Value> = rows
        .iter()
        .filter(|r| r["subscription"] == "Fleet Unreadable")
        .collect();
    assert_eq!(unreadable.len(), 1);
    assert_eq!(unreadable[0]["verdict"], "error");
    assert!(
        unreadable[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("cannot list the clusters: (AuthorizationFailed)"),
        "{}",
        unreadable[0]
    );

    let cluster_rows: Vec<&Value> = rows.iter().filter(|r| r["cluster"].is_string()).collect();
    assert_eq!(cluster_rows.len(), subs * clusters);
    let ids: Vec<String> = cluster_rows
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_ascii_lowercase())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(
        ids, sorted,
        "rows come in a stable order: by subscription, then cluster id"
    );
    for row in &cluster_rows {
        let name = row["cluster"].as_str().unwrap();
        let numbers: Vec<usize> = name[4..].split('-').map(|n| n.parse().unwrap()).collect();
        let n = numbers[0] * clusters + numbers[1];
        assert_eq!(
            row["verdict"],
            expected_verdict(n, bindings),
            "cluster {n}: {row}"
        );
        let findings: Vec<&str> = row["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if n % 13 != 12 {
            assert_eq!(
                findings.iter().any(|f| f.starts_with("no role binding")),
                n % 10 == 9,
                "{row}"
            );
            assert_eq!(
                findings
                    .iter()
                    .any(|f| f.starts_with("identity is UserAssigned")),
                n % 7 == 6,
                "{row}"
            );
            assert_eq!(
                findings.iter().any(|f| f.contains("role Microsoft.MachineLearningServices/workspaces/mlworkload no longer exists in australiaeast")),
                n % 11 == 10 && n % 10 != 9,
                "{row}"
            );
            assert_eq!(row["bindingCount"], if n % 10 == 9 { 0 } else { bindings });
        } else {
            assert!(
                row["error"]
                    .as_str()
                    .unwrap()
                    .starts_with("(AuthorizationFailed)"),
                "{row}"
            );
        }
    }
    let errors = cluster_rows
        .iter()
        .filter(|r| r["verdict"] == "error")
        .count()
        + 1;
    let passing = cluster_rows
        .iter()
        .filter(|r| r["verdict"] == "pass")
        .count();
    let failing = cluster_rows
        .iter()
        .filter(|r| r["verdict"] == "fail")
        .count();
    let unknown = cluster_rows
        .iter()
        .filter(|r| r["verdict"] == "unknown")
        .count();
    let checks: usize = cluster_rows
        .iter()
        .flat_map(|r| r["results"].as_array().unwrap())
        .filter(|f| f["outcome"] == "unknown")
        .count();
    assert!(unknown > 0 && checks >= unknown);
    assert!(
        out.stderr.contains(&format!(
            "Audited {} clusters in {} subscriptions in ",
            subs * clusters,
            subs + 1
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!(": {passing} passing, {failing} failing, {unknown} unknown ({checks} checks that could not be made), {errors} errors, 1 subscription skipped (not Enabled).")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("ERROR: the audit could not read"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_result_does_not_depend_on_parallelism() {
    let emu = Emulator::start_with(&["--fleet", "3x12x1", "--latency-ms", "2"]);
    let serial = run(emu.cli().args(["audit", "--parallel", "1"]));
    let parallel = run(emu.cli().args(["audit", "--parallel", "32"]));
    assert_eq!(serial.stdout, parallel.stdout);
    assert_eq!(serial.code, parallel.code);
}

fn small_world() -> Value {
    json!({
        "resources": [
            {"id": format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.DataProtection/BackupVaults/v1"), "identity": {"type": "SystemAssigned"}},
            {"id": ML_SOURCE, "identity": {"type": "SystemAssigned"}}
        ],
        "subscriptions": [
            {"subscriptionId": SUB, "displayName": "Prod"},
            {"subscriptionId": "22222222-0000-0000-0000-000000000000", "displayName": "Old", "state": "Disabled"}
        ],
        "clusters": [
            {"subscriptionId": SUB, "resourceGroup": "rg1", "name": "good", "location": "westeurope", "identityType": "SystemAssigned",
             "bindings": [{"name": "backup", "sourceResourceId": format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.DataProtection/BackupVaults/v1"), "roles": ["Microsoft.DataProtection/backupVaults/backup-operator"]}]},
            {"subscriptionId": SUB, "resourceGroup": "rg1", "name": "sp-cluster", "location": "westeurope",
             "bindings": [{"name": "ml", "sourceResourceId": ML_SOURCE, "roles": [ML_ROLE], "provisioningState": "Failed"}]}
        ]
    })
}

fn start_small() -> Emulator {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("world.json");
    std::fs::write(&path, small_world().to_string()).unwrap();
    let emu = Emulator::start_with(&["--state", path.to_str().unwrap()]);
    drop(dir);
    emu
}

#[test]
fn findings_exit_4_and_the_table_has_one_row_per_cluster() {
    let emu = start_small();
    let out = run(emu.cli().args(["audit", "-o", "table"]));
    assert_eq!(out.code, 4, "{}", out.stderr);
    let findings = "identity is None: Trusted Access needs the cluster to use a system-assigned managed identity; binding ml is Failed";
    let expected = [
        "Subscription    ResourceGroup    Cluster     Location    IdentityType    BindingCount    Verdict    Findings".to_string(),
        format!("--------------  ---------------  ----------  ----------  --------------  --------------  ---------  {}", "-".repeat(findings.len())),
        "Old                                                                                      skipped    subscription is Disabled".to_string(),
        "Prod            rg1              good        westeurope  SystemAssigned  1               pass".to_string(),
        format!("Prod            rg1              sp-cluster  westeurope  None            1               fail       {findings}"),
    ];
    assert_eq!(out.stdout, expected.join("\n") + "\n");
    assert!(
        out.stderr
            .contains("Audited 2 clusters in 1 subscription in "),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(": 1 passing, 1 failing, 0 errors, 1 subscription skipped (not Enabled).\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_required_service_must_be_bound_everywhere() {
    let emu = start_small();
    let out = run(emu.cli().args([
        "audit",
        "--subscription",
        "Prod",
        "--require-binding-for",
        "microsoft.dataprotection/backupvaults",
        "--query",
        "[].{c:cluster, f:findings}",
    ]));
    assert_eq!(out.code, 4);
    assert_eq!(
        json(&out.stdout),
        json!([
            {"c": "good", "f": []},
            {"c": "sp-cluster", "f": [
                "identity is None: Trusted Access needs the cluster to use a system-assigned managed identity",
                "binding ml is Failed",
                "no binding for microsoft.dataprotection/backupvaults"
            ]}
        ])
    );
    let lines = emu.request_lines();
    assert_eq!(
        lines[0], "GET /subscriptions?api-version=2022-12-01",
        "a name is resolved"
    );
    assert!(
        !lines.iter().any(|l| l.contains("22222222")),
        "only the named subscription is read"
    );
}

#[test]
fn a_passing_audit_exits_0_and_bad_requirements_are_refused_before_any_request() {
    let emu = start_small();
    let out = run(emu.cli().args([
        "audit",
        "--subscription",
        SUB,
        "--query",
        "[?cluster=='good'].verdict",
    ]));
    assert_eq!(out.code, 4, "sp-cluster still fails");
    assert_eq!(json(&out.stdout), json!(["pass"]));
    let before = emu.requests().len();
    let out = run(emu.cli().args(["audit", "--require-binding-for", "backup"]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("invalid --require-binding-for 'backup'"),
        "{}",
        out.stderr
    );
    assert_eq!(emu.requests().len(), before);
    let clean = Emulator::start_with(&["--fleet", "1x3x1"]);
    let out = run(clean
        .cli()
        .args(["audit", "--subscription", "Fleet Subscription 0"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(audit_rows(&out).iter().all(|r| r["verdict"] == "pass"));
}

#[test]
fn streamed_formats_equal_the_whole_report_rendered_at_once() {
    let emu = Emulator::start_with(&["--fleet", "2x5x1"]);
    let streamed_json = run(emu.cli().args(["audit"]));
    let collected_json = run(emu.cli().args(["audit", "--query", "@"]));
    assert_eq!(
        streamed_json.stdout, collected_json.stdout,
        "streaming JSON is byte-identical"
    );
    let streamed_yaml = run(emu.cli().args(["audit", "-o", "yaml"]));
    let collected_yaml = run(emu.cli().args(["audit", "-o", "yaml", "--query", "@"]));
    assert_eq!(streamed_yaml.stdout, collected_yaml.stdout);
    let tsv = run(emu.cli().args(["audit", "-o", "tsv"]));
    assert_eq!(tsv.stdout.lines().count(), audit_rows(&streamed_json).len());
}

#[test]
fn audit_survives_throttling_and_faults() {
    let emu = Emulator::start_with(&[
        "--fleet",
        "2x10x1",
        "--faults",
        "throttle,503,drop",
        "--fault-every",
        "4",
        "--throttle-retry-after",
        "0",
    ]);
    let clean = Emulator::start_with(&["--fleet", "2x10x1"]);
    let faulty = run(emu.cli().arg("audit"));
    let reference = run(clean.cli().arg("audit"));
    assert_eq!(faulty.stdout, reference.stdout);
    assert_eq!(faulty.code, reference.code);
}

#[test]
fn the_read_budget_is_honoured_without_failing() {
    // A tiny budget: 20 reads, refilled at 50/s. The audit slows down instead of failing.
    let emu = Emulator::start_with(&[
        "--fleet",
        "1x40x1",
        "--read-budget",
        "20",
        "--read-refill",
        "50",
    ]);
    let clean = Emulator::start_with(&["--fleet", "1x40x1"]);
    let out = run(emu.cli().args(["audit", "--parallel", "8", "--verbose"]));
    assert_eq!(out.stdout, run(clean.cli().arg("audit")).stdout);
    assert!(
        out.stderr.contains("reads left in subscription"),
        "the client saw the budget run low"
    );
}

#[test]
fn tsv_rows_all_have_the_same_columns() {
    let emu = Emulator::start_with(&["--fleet", "2x10x2"]);
    let out = run(emu.cli().args(["audit", "-o", "tsv", "--discovery", "arm"]));
    let widths: std::collections::BTreeSet<usize> =
        out.stdout.lines().map(|l| l.split('\t').count()).collect();
    assert_eq!(widths.len(), 1, "{}", out.stdout);
    assert_eq!(out.stdout.lines().count(), 20 + 2);
}

#[test]
fn a_named_subscription_that_is_disabled_or_unreadable_is_a_row_and_exit_1() {
    let emu = start_small();
    let out = run(emu.cli().args(["audit", "--subscription", "Old"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let rows = audit_rows(&out);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["verdict"], "error");
    assert_eq!(
        rows[0]["error"],
        "subscription is Disabled: its clusters cannot be audited"
    );
    let fleet = Emulator::start_with(&["--fleet", "1x2x1"]);
    let out = run(fleet
        .cli()
        .args(["audit", "--subscription", "Fleet Unreadable", "-o", "tsv"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert!(out.stdout.contains("AuthorizationFailed"), "{}", out.stdout);
}

#[test]
fn rules_are_listed_skipped_thresholded_and_baselined() {
    let emu = start_small();
    let listed = run(emu.cli().args(["audit", "--list-rules"]));
    assert_eq!(listed.code, 0);
    let rules = json(&listed.stdout);
    assert_eq!(rules.as_array().unwrap().len(), 17);
    assert_eq!(rules[0]["id"], "TA001");
    assert!(
        rules[1]["origin"]
            .as_str()
            .unwrap()
            .starts_with("Conformity procedure")
    );
    assert!(emu.requests().is_empty(), "--list-rules sends nothing");
    let bad = run(emu.cli().args(["audit", "--skip-rule", "TA999"]));
    assert_eq!(bad.code, 2);

    // sp-cluster fails on TA002 (identity) and TA006 (Failed); skipping both leaves notes only.
    let skipped = run(emu.cli().args([
        "audit",
        "--skip-rule",
        "TA002",
        "--skip-rule",
        "binding-not-succeeded",
    ]));
    assert_eq!(skipped.code, 0, "{}", skipped.stderr);
    // Privilege is a note, and an error above --max-risk.
    let strict = run(emu.cli().args([
        "audit",
        "--skip-rule",
        "TA002",
        "--skip-rule",
        "TA006",
        "--max-risk",
        "low",
    ]));
    assert_eq!(strict.code, 4, "{}", strict.stderr);
    let rows = audit_rows(&strict);
    let privilege: Vec<&Value> = rows
        .iter()
        .flat_map(|r| r["results"].as_array().unwrap())
        .filter(|f| f["ruleId"] == "TA008")
        .collect();
    assert_eq!(privilege.len(), 2);
    assert!(privilege.iter().all(|f| f["level"] == "error"));
    // --fail-level note: notes fail the run too.
    let notes = run(emu.cli().args([
        "audit",
        "--skip-rule",
        "TA002",
        "--skip-rule",
        "TA006",
        "--fail-level",
        "note",
    ]));
    assert_eq!(notes.code, 4);

    // A baseline of the last run: its findings are known and no longer fail the run.
    let first = run(emu.cli().arg("audit"));
    assert_eq!(first.code, 4);
    let baseline = emu.home.path().join("baseline.json");
    std::fs::write(&baseline, &first.stdout).unwrap();
    let again = run(emu
        .cli()
        .args(["audit", "--baseline", baseline.to_str().unwrap()]));
    assert_eq!(again.code, 0, "{}", again.stderr);
    let known: Vec<bool> = audit_rows(&again)
        .iter()
        .flat_map(|r| r["results"].as_array().unwrap().clone())
        .map(|f| f["known"].as_bool().unwrap())
        .collect();
    assert!(!known.is_empty() && known.iter().all(|k| *k));
}

#[test]
fn a_cluster_waiting_out_a_retry_holds_up_no_other_cluster() {
    let emu = Emulator::start_with(&["--fleet", "1x40x1"]);
    let slow = "/managedClusters/aks-0-0/trustedAccessRoleBindings";
    let resp = emu
        .control_client()
        .post(format!("{}/_emulator/script", emu.url))
        .body(
            json!([{"status": 429, "headers": {"Retry-After": "3"}, "pathContains": slow,
                    "body": "{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"wait\"}}"}])
            .to_string(),
        )
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let out = run(emu
        .cli()
        .args(["audit", "--discovery", "arm", "--parallel", "2"]));
    let clusters = audit_rows(&out)
        .iter()
        .filter(|r| r["cluster"].is_string())
        .count();
    assert_eq!(clusters, 40, "{}", out.stderr);
    let lines = emu.request_lines();
    let bindings: Vec<(usize, &String)> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("/trustedAccessRoleBindings"))
        .collect();
    let slow_attempts: Vec<usize> = bindings
        .iter()
        .filter(|(_, l)| l.contains(slow))
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(slow_attempts.len(), 2, "a throttled try and its retry");
    // While the first cluster waited 3 s to retry, every other cluster was asked for (with two
    // requests at a time): the wait held no slot and the ordered output held no one back.
    let others_after_retry = bindings
        .iter()
        .filter(|(i, l)| !l.contains(slow) && *i > slow_attempts[1])
        .count();
    assert_eq!(others_after_retry, 0, "{lines:#?}");
}

#[test]
fn resource_group_and_tag_filters_keep_only_matching_clusters_under_either_discovery() {
    let clusters = 15;
    let emu = Emulator::start_with(&["--fleet", "4x15x2"]);
    for discovery in ["arg", "arm"] {
        let before = emu.requests().len();
        let out = run(emu.cli().args([
            "audit",
            "--discovery",
            discovery,
            "-g",
            "RG-FLEET-1",
            "--resource-group",
            "rg-fleet-2",
            "--tag",
            "env=prod",
            "--tag",
            "TEAM",
        ]));
        assert!([0, 1, 4].contains(&out.code), "{}", out.stderr);
        let names: Vec<String> = audit_rows(&out)
            .iter()
            .filter_map(|r| r["cluster"].as_str().map(str::to_string))
            .collect();
        // Subscriptions 1 and 2 (rg-fleet-S), clusters with env=prod (n % 3 == 0), in id order.
        let mut expected: Vec<String> = (1..=2)
            .flat_map(|s| (0..clusters).map(move |c| (s, c)))
            .filter(|(s, c)| (s * clusters + c) % 3 == 0)
            .map(|(s, c)| format!("aks-{s}-{c}"))
            .collect();
        expected.sort();
        assert_eq!(names, expected, "--discovery {discovery}");
        let requests = emu.requests()[before..].to_vec();
        let bindings_listed = requests
            .iter()
            .filter(|r| {
                r["path"]
                    .as_str()
                    .unwrap_or_default()
                    .ends_with("/trustedAccessRoleBindings")
            })
            .count();
        assert_eq!(
            bindings_listed,
            expected.len(),
            "only kept clusters are read"
        );
        if discovery == "arg" {
            let query = requests
                .iter()
                .find_map(|r| {
                    r["body"]["query"]
                        .as_str()
                        .filter(|q| q.contains("managedclusters"))
                })
                .expect("a Resource Graph query");
            assert!(
                query.contains("| where resourceGroup in~ ('RG-FLEET-1', 'rg-fleet-2')"),
                "{query}"
            );
        }
    }
}

#[test]
fn a_tag_without_a_name_or_a_bad_resource_group_is_refused_before_any_request() {
    let emu = Emulator::start_with(&["--fleet", "1x2x1"]);
    for (args, message) in [
        (
            ["--tag", "=prod"],
            "ERROR: --tag '=prod': the tag has no name\n",
        ),
        (["-g", "rg/x"], "ERROR: "),
    ] {
        let out = run(emu.cli().arg("audit").args(args));
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.starts_with(message), "{}", out.stderr);
    }
    assert!(emu.requests().is_empty());
}
