//! Resource Graph discovery: the emulator's endpoint (KQL evaluation, paging, quota, errors) and
//! the audit's use of it (no per-subscription cluster listing, fallback to ARM, management
//! groups, quota waits).

use crate::harness::*;
use serde_json::{Value, json};

const GRAPH: &str = "/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01";

fn post(emu: &Emulator, body: Value) -> (u16, Value, reqwest::header::HeaderMap) {
    let resp = emu
        .control_client()
        .post(format!("{}{GRAPH}", emu.url))
        .bearer_auth("t")
        .json(&body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, resp.json().unwrap_or(Value::Null), headers)
}

fn rows(out: &Run) -> Vec<Value> {
    json(&out.stdout).as_array().cloned().unwrap_or_default()
}

fn graph_posts(emu: &Emulator) -> Vec<Value> {
    emu.requests()
        .into_iter()
        .filter(|r| r["path"] == "/providers/Microsoft.ResourceGraph/resources")
        .collect()
}

#[test]
fn the_emulator_evaluates_queries_and_names_what_it_does_not_understand() {
    let emu = Emulator::start_with(&["--fleet", "2x3x1"]);
    let (status, body, headers) = post(
        &emu,
        json!({"query": "resources | where type =~ 'Microsoft.ContainerService/managedClusters' and name in~ ('AKS-0-1', 'aks-1-2') | project id, name, env = tostring(tags.env) | order by name asc"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totalRecords"], 2);
    assert_eq!(
        body["data"],
        json!([
            {"id": "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-fleet-0/providers/Microsoft.ContainerService/managedClusters/aks-0-1", "name": "aks-0-1", "env": "dev"},
            {"id": "/subscriptions/00000001-0000-4000-8000-000000000002/resourceGroups/rg-fleet-1/providers/Microsoft.ContainerService/managedClusters/aks-1-2", "name": "aks-1-2", "env": "dev"},
        ])
    );
    assert!(headers.contains_key("x-ms-user-quota-remaining"));
    assert_eq!(
        headers["x-ms-user-quota-resets-after"]
            .to_str()
            .unwrap()
            .len(),
        8
    );

    let (status, body, _) = post(
        &emu,
        json!({"query": "resources | summarize count() by type"}),
    );
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "BadRequest");
    assert_eq!(body["error"]["details"][0]["code"], "InvalidQuery");
    let why = body["error"]["details"][1]["message"].as_str().unwrap();
    assert!(why.contains("the operator 'summarize'"), "{why}");
    let (status, body, _) = post(
        &emu,
        json!({"query": "resources | where name matches regex 'aks'"}),
    );
    assert_eq!(status, 400);
    assert!(
        body["error"]["details"][1]["message"]
            .as_str()
            .unwrap()
            .contains("'matches'")
    );
    let (status, _, _) = post(&emu, json!({"query": "advisorresources"}));
    assert_eq!(status, 400);
}

#[test]
fn pages_of_a_thousand_rows_are_followed_with_the_skip_token_and_the_quota_is_waited_for() {
    // One query per second: the second page waits for the quota to reset instead of failing.
    let emu = Emulator::start_with(&[
        "--fleet",
        "3x450x0",
        "--graph-quota",
        "1",
        "--graph-window-seconds",
        "1",
        "--read-budget",
        "0",
    ]);
    let out = run(emu
        .cli()
        .args(["audit", "--verbose", "--query", "length(@)"]));
    // 1,350 clusters, the disabled subscription (skipped) and the unreadable one (an error row:
    // Resource Graph showed nothing of it, and one ARM listing answered 403).
    assert_eq!(out.stdout.trim(), "1352", "{}", out.stderr);
    assert!(
        out.stderr.contains("Resource Graph quota used up: waiting"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("2024-04-01 -> 429"),
        "the quota is waited for, never hit: {}",
        out.stderr
    );
    let posts = graph_posts(&emu);
    assert_eq!(posts.len(), 2, "1,350 clusters are two pages");
    assert_eq!(posts[0]["body"]["options"]["$top"], 1000);
    assert!(posts[0]["body"]["options"].get("$skipToken").is_none());
    assert!(posts[1]["body"]["options"]["$skipToken"].is_string());
    assert_eq!(posts[1]["body"]["query"], posts[0]["body"]["query"]);
    assert_eq!(
        posts[1]["body"]["subscriptions"].as_array().unwrap().len(),
        4
    );
    let listings: Vec<String> = emu
        .request_lines()
        .into_iter()
        .filter(|l| l.contains("/managedClusters?"))
        .collect();
    assert_eq!(
        listings.len(),
        1,
        "one ARM listing, of the subscription Resource Graph showed nothing of: {listings:?}"
    );
    assert!(listings[0].contains("/subscriptions/00000004-0000-4000-8000-000000000005/"));
}

#[test]
fn resource_graph_and_the_arm_walk_give_the_same_verdicts() {
    let emu = Emulator::start_with(&["--fleet", "3x12x2"]);
    let by_graph = run(emu.cli().args(["audit", "--discovery", "arg"]));
    let by_arm = run(emu.cli().args(["audit", "--discovery", "arm"]));
    let clusters = |out: &Run| -> Vec<Value> {
        rows(out)
            .into_iter()
            .filter(|r| r["cluster"].is_string())
            .collect()
    };
    assert_eq!(clusters(&by_graph).len(), 36);
    assert_eq!(clusters(&by_graph), clusters(&by_arm));
}

#[test]
fn auto_falls_back_to_arm_when_resource_graph_refuses() {
    for how in ["forbidden", "unregistered"] {
        let emu = Emulator::start_with(&["--fleet", "2x3x1", "--graph-refuse", how]);
        let out = run(emu.cli().arg("audit"));
        assert!(
            out.stderr.contains("Resource Graph refused the query")
                && out.stderr.contains("finding clusters through ARM instead"),
            "{}",
            out.stderr
        );
        assert_eq!(
            rows(&out)
                .iter()
                .filter(|r| r["cluster"].is_string())
                .count(),
            6
        );
        assert!(
            emu.request_lines()
                .iter()
                .any(|l| l.contains("/managedClusters?"))
        );
        let strict = run(emu.cli().args(["audit", "--discovery", "arg"]));
        assert_eq!(strict.code, 1, "{}", strict.stderr);
        assert!(
            strict.stderr.contains("AuthorizationFailed")
                || strict.stderr.contains("MissingSubscriptionRegistration"),
            "{}",
            strict.stderr
        );
        json(&strict.stdout);
    }
}

#[test]
fn management_groups_scope_the_query() {
    let emu = Emulator::start_with(&["--fleet", "4x2x1"]);
    let out = run(emu
        .cli()
        .args(["audit", "--management-group", "mg-fleet-even"]));
    let subs: std::collections::BTreeSet<String> = rows(&out)
        .iter()
        .map(|r| r["subscriptionId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(subs.len(), 2, "{subs:?}");
    assert!(
        subs.iter()
            .all(|s| s.starts_with("00000000") || s.starts_with("00000002"))
    );
    assert_eq!(
        graph_posts(&emu)[0]["body"]["managementGroups"],
        json!(["mg-fleet-even"])
    );
    let refused = run(emu
        .cli()
        .args(["audit", "--management-group", "x", "--discovery", "arm"]));
    assert_eq!(refused.code, 2);
    assert!(
        refused
            .stderr
            .contains("--management-group needs Resource Graph")
    );
}

#[test]
fn pages_come_from_the_query_s_stored_result_while_other_queries_come_between() {
    // Resource Graph pages one stored result: page 2 of a query is cut from the rows its first
    // page was cut from, even after other queries and a change to the world (an audit pages
    // discovery while it checks sources; evaluating again would cost a second per page).
    let sub = "00000000-0000-0000-0000-000000000000";
    let id = |name: &str| {
        format!(
            "/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/{name}"
        )
    };
    let resources: Vec<Value> = ["a", "b", "c"]
        .iter()
        .map(|n| json!({"id": id(n), "location": "eastus"}))
        .collect();
    let state = json!({
        "subscriptions": [{"subscriptionId": sub, "displayName": "Sub"}],
        "resourceGroups": [{"subscriptionId": sub, "name": "rg"}],
        "resources": resources
    });
    let emu = Emulator::start_with_state(&state, &["--graph-quota", "0"]);
    let paged = json!({
        "subscriptions": [sub],
        "query": "resources | where type =~ 'microsoft.machinelearningservices/workspaces' | project name | order by name asc",
        "options": {"$top": 1}
    });
    let (_, first, _) = post(&emu, paged.clone());
    assert_eq!(first["data"], json!([{"name": "a"}]));
    let (_, other, _) = post(
        &emu,
        json!({"subscriptions": [sub], "query": "resources | where name =~ 'c' | project name"}),
    );
    assert_eq!(other["data"], json!([{"name": "c"}]));
    let deleted = emu
        .control_client()
        .delete(format!("{}{}?api-version=2024-04-01", emu.url, id("b")))
        .bearer_auth("t")
        .send()
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    let mut next = paged.clone();
    next["options"]["$skipToken"] = first["$skipToken"].clone();
    let (status, second, _) = post(&emu, next);
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["data"], json!([{"name": "b"}]), "{second}");
    // A new query sees the change.
    let (_, fresh, _) = post(&emu, paged);
    assert_eq!(fresh["totalRecords"], 2, "{fresh}");
}
