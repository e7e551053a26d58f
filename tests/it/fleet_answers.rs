//! Issue 20's fleet answers: a Resource Graph that refuses long queries and random batches
//! starves no source check (the same findings as `--discovery arm`), a source no path can read
//! is `unknown` (never a pass; exit 1, or 4 beside findings; `--allow-unknown`), and a
//! subscription the caller cannot read is an error row under either discovery.

use crate::audit::expected_verdict;
use crate::harness::*;
use serde_json::Value;

fn rows(out: &Run) -> Vec<Value> {
    json(&out.stdout).as_array().cloned().unwrap_or_default()
}

fn clusters(out: &Run) -> Vec<Value> {
    rows(out)
        .into_iter()
        .filter(|r| r["cluster"].is_string())
        .collect()
}

#[test]
fn a_refusing_resource_graph_gives_the_same_findings_as_the_arm_walk() {
    let (subs, per, bindings) = (3, 60, 2);
    // Every first query of sources is longer than 20,000 characters, and a third of the
    // batches are refused whatever their length: splitting and ARM reads must still check all.
    let emu = Emulator::start_with(&[
        "--fleet",
        "3x60x2",
        "--graph-max-query-chars",
        "20000",
        "--graph-refuse-batches",
        "0.33",
        "--graph-quota",
        "0",
    ]);
    let by_graph = run(emu.cli().args(["audit", "--discovery", "arg"]));
    let by_arm = run(emu.cli().args(["audit", "--discovery", "arm"]));
    assert_eq!(by_graph.code, 1, "{}", by_graph.stderr);
    let (g, a) = (clusters(&by_graph), clusters(&by_arm));
    assert_eq!(g.len(), subs * per);
    assert_eq!(g, a);
    for row in &g {
        let name = row["cluster"].as_str().unwrap();
        let n: Vec<usize> = name[4..].split('-').map(|n| n.parse().unwrap()).collect();
        let n = n[0] * per + n[1];
        assert_eq!(
            row["verdict"],
            expected_verdict(n, bindings),
            "cluster {n}: {row}"
        );
    }
    let dangling = g
        .iter()
        .flat_map(|r| r["results"].as_array().unwrap())
        .filter(|f| f["ruleId"] == "TA003")
        .count();
    assert!(dangling > 0);
    // The long queries (refused) were split and asked again in parts short enough.
    let lengths: Vec<usize> = emu
        .requests()
        .into_iter()
        .filter_map(|r| r["body"]["query"].as_str().map(str::len))
        .collect();
    assert!(lengths.iter().any(|&l| l > 20_000), "{lengths:?}");
    assert!(
        lengths.iter().filter(|&&l| l <= 20_000).count() > 4,
        "{lengths:?}"
    );
}

#[test]
fn an_unreadable_source_is_unknown_with_its_cause_and_never_exits_0() {
    // One cluster, one binding whose source the caller may not read (403).
    let state = serde_json::json!({
        "subscriptions": [{"subscriptionId": "00000000-0000-0000-0000-000000000000", "displayName": "Sub"}],
        "resourceGroups": [{"subscriptionId": "00000000-0000-0000-0000-000000000000", "name": "rg"}],
        "clusters": [{
            "subscriptionId": "00000000-0000-0000-0000-000000000000",
            "resourceGroup": "rg",
            "name": "aks",
            "location": "eastus",
            "identityType": "SystemAssigned",
            "bindings": [{
                "name": "b",
                "sourceResourceId": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/hidden",
                "roles": ["Microsoft.MachineLearningServices/workspaces/mlworkload"]
            }]
        }],
        "resources": [{
            "id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/hidden",
            "location": "eastus",
            "identity": {"type": "SystemAssigned"},
            "readable": false
        }]
    });
    let emu = Emulator::start_with_state(&state, &[]);
    let out = run(emu.cli().arg("audit"));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let row = &rows(&out)[0];
    assert_eq!(row["verdict"], "unknown", "{row}");
    let result = &row["results"][0];
    assert_eq!(
        (&result["ruleId"], &result["outcome"]),
        (&"TA010".into(), &"unknown".into())
    );
    assert!(
        result["hint"].as_str().unwrap().contains("grant Reader"),
        "a 403 is a permission: {result}"
    );
    assert!(
        row["findings"][0]
            .as_str()
            .unwrap()
            .starts_with("unknown: binding b: its source")
    );
    assert!(
        out.stderr.contains(
            ": 0 passing, 0 failing, 1 unknown (1 check that could not be made), 0 errors."
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--allow-unknown"), "{}", out.stderr);
    let table = run(emu.cli().args(["audit", "-o", "table"]));
    assert!(
        table.stdout.contains("unknown: binding b"),
        "{}",
        table.stdout
    );
    let allowed = run(emu.cli().args(["audit", "--allow-unknown"]));
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    // Beside a finding, the exit code is 4.
    let strict = run(emu.cli().args([
        "audit",
        "--require-binding-for",
        "Microsoft.DataProtection/backupVaults",
    ]));
    assert_eq!(strict.code, 4, "{}", strict.stderr);
}

#[test]
fn an_unreadable_subscription_is_an_error_row_under_either_discovery() {
    let emu = Emulator::start_with(&["--fleet", "2x2x1"]);
    for mode in ["arg", "arm", "auto"] {
        let out = run(emu.cli().args(["audit", "--discovery", mode]));
        assert_eq!(out.code, 1, "{mode}: {}", out.stderr);
        let errors: Vec<Value> = rows(&out)
            .into_iter()
            .filter(|r| r["subscription"] == "Fleet Unreadable")
            .collect();
        assert_eq!(errors.len(), 1, "{mode}: {}", out.stdout);
        assert_eq!(errors[0]["verdict"], "error");
        assert!(
            errors[0]["error"]
                .as_str()
                .unwrap()
                .contains("AuthorizationFailed"),
            "{mode}: {}",
            errors[0]
        );
    }
}

#[test]
fn fail_level_note_says_why_it_exits_4_and_list_rules_shows_the_ids() {
    let emu = Emulator::start_with(&["--fleet", "1x1x1"]);
    let out = run(emu.cli().args([
        "audit",
        "--fail-level",
        "note",
        "--subscription",
        "00000000-0000-4000-8000-000000000001",
    ]));
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(": 1 passing, 0 failing, 0 errors; 1 new finding at note level or above."),
        "{}",
        out.stderr
    );
    let table = run(emu.cli().args(["audit", "--list-rules", "-o", "table"]));
    assert_eq!(table.code, 0);
    assert!(table.stdout.starts_with("Id "), "{}", table.stdout);
    assert!(table.stdout.contains("\nTA001 "), "{}", table.stdout);
}
