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
    // Every first query of sources is longer than 500 characters (a chunk's names: about
    // 1,000), and a third of the batches are refused whatever their length: splitting and ARM
    // reads must still check all.
    let emu = Emulator::start_with(&[
        "--fleet",
        "3x60x2",
        "--graph-max-query-chars",
        "500",
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
    assert!(lengths.iter().any(|&l| l > 500), "{lengths:?}");
    assert!(
        lengths.iter().filter(|&&l| l <= 500).count() > 4,
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

/// The Resource Graph queries of an audit: (discovery's, the source checks').
fn graph_queries(emu: &Emulator) -> (Vec<Value>, Vec<Value>) {
    emu.requests()
        .into_iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .unwrap_or_default()
                .ends_with("/Microsoft.ResourceGraph/resources")
        })
        .map(|r| r["body"].clone())
        .partition(|b| {
            b["query"]
                .as_str()
                .unwrap_or_default()
                .contains("managedclusters")
        })
}

#[test]
fn source_checks_take_one_resource_graph_query_per_chunk_of_clusters() {
    // 1,000 clusters come in chunks of 50, 100, 200, 500 and 150 clusters; each chunk's sources
    // (at most 1,000) take one query, naming them within their subscription and type. Before
    // (full ids, at most 400 and 48,000 characters a query) this fleet took 8 queries: 1 for
    // discovery and 7 for sources (the 500-cluster chunk alone took 3).
    let (subs, per, bindings) = (10, 100, 2);
    let emu = Emulator::start_with(&["--fleet", "10x100x2", "--graph-quota", "0"]);
    let by_graph = run(emu.cli().args(["audit", "--discovery", "arg"]));
    assert_eq!(by_graph.code, 1, "{}", by_graph.stderr);
    let (discovery, sources) = graph_queries(&emu);
    assert_eq!((discovery.len(), sources.len()), (1, 5), "{sources:#?}");
    for body in &sources {
        let query = body["query"].as_str().unwrap();
        assert!(
            query.starts_with("resources | where (subscriptionId =~ '")
                && query.contains(
                    " and type =~ 'microsoft.machinelearningservices/workspaces' and name in~ ('ws-"
                )
                && query.ends_with(") | project id, identity"),
            "{query}"
        );
        // One page each: no query is followed with a $skipToken, none is near the length bound.
        assert!(body["options"]["$skipToken"].is_null(), "{body}");
        assert!(query.len() < 20_000, "{}", query.len());
    }
    // The same findings as reading every source through ARM, as the generator promises.
    let by_arm = run(emu.cli().args(["audit", "--discovery", "arm"]));
    let (g, a) = (clusters(&by_graph), clusters(&by_arm));
    assert_eq!(g.len(), subs * per);
    assert_eq!(g, a);
    for row in &g {
        let name = row["cluster"].as_str().unwrap();
        let n: Vec<usize> = name[4..].split('-').map(|n| n.parse().unwrap()).collect();
        let n = n[0] * per + n[1];
        assert_eq!(row["verdict"], expected_verdict(n, bindings), "{row}");
    }
}

#[test]
fn a_resource_of_the_same_name_elsewhere_does_not_pass_for_a_deleted_source() {
    // Sources asked for by name: `ws` (deleted) and `ws2` (no identity) in rg1, while rg2 has a
    // `ws` and a `ws2` with identities. Resource Graph returns rg2's; they must not count.
    let sub = "00000000-0000-0000-0000-000000000000";
    let source = |group: &str, name: &str| {
        format!(
            "/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.MachineLearningServices/workspaces/{name}"
        )
    };
    let resource = |id: String, identity: bool| {
        let identity = identity.then(|| serde_json::json!({"type": "SystemAssigned"}));
        serde_json::json!({"id": id, "location": "eastus", "identity": identity})
    };
    let binding = |name: &str, source: String| {
        serde_json::json!({
            "name": name,
            "sourceResourceId": source,
            "roles": ["Microsoft.MachineLearningServices/workspaces/mlworkload"]
        })
    };
    let state = serde_json::json!({
        "subscriptions": [{"subscriptionId": sub, "displayName": "Sub"}],
        "resourceGroups": [
            {"subscriptionId": sub, "name": "rg1"},
            {"subscriptionId": sub, "name": "rg2"}
        ],
        "clusters": [{
            "subscriptionId": sub,
            "resourceGroup": "rg1",
            "name": "aks",
            "location": "eastus",
            "identityType": "SystemAssigned",
            "bindings": [binding("gone", source("rg1", "ws")), binding("bare", source("rg1", "ws2"))]
        }],
        "resources": [
            resource(source("rg1", "ws2"), false),
            resource(source("rg2", "ws"), true),
            resource(source("rg2", "ws2"), true)
        ]
    });
    let emu = Emulator::start_with_state(&state, &[]);
    let out = run(emu.cli().args(["audit", "--discovery", "arg"]));
    assert_eq!(out.code, 4, "{}", out.stderr);
    let (_, sources) = graph_queries(&emu);
    assert_eq!(sources.len(), 1);
    assert!(
        sources[0]["query"]
            .as_str()
            .unwrap()
            .contains("and name in~ ('ws', 'ws2'))"),
        "{}",
        sources[0]
    );
    // The deleted source, not returned for itself, is read through ARM (404: dangling; the
    // audit reads ids lower-cased, as it compares them).
    let reads: Vec<String> = emu
        .request_lines()
        .into_iter()
        .filter(|l| l.contains("/workspaces/"))
        .collect();
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert!(
        reads[0].starts_with(&format!(
            "GET {}?",
            source("rg1", "ws").to_ascii_lowercase()
        )),
        "{reads:?}"
    );
    let row = &rows(&out)[0];
    assert_eq!(row["verdict"], "fail", "{row}");
    let mut rules: Vec<(&str, &str)> = row["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["ruleId"].as_str().unwrap(),
                f["resource"].as_str().unwrap(),
            )
        })
        .filter(|(rule, _)| ["TA003", "TA004"].contains(rule))
        .collect();
    rules.sort();
    assert_eq!(rules.len(), 2, "{row}");
    assert!(
        rules[0].1.ends_with("/gone") && rules[0].0 == "TA003",
        "{rules:?}"
    );
    assert!(
        rules[1].1.ends_with("/bare") && rules[1].0 == "TA004",
        "{rules:?}"
    );
    let by_arm = run(emu.cli().args(["audit", "--discovery", "arm"]));
    assert_eq!(clusters(&by_arm), clusters(&out));
}
