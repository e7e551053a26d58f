//! A hostile Resource Graph (issue 21 items 3, 6, 9, 13): answers without `data`, truncated
//! answers with no way on, endless or looping `$skipToken`s, throttling and quota waits past
//! `--retry-budget`, rows outside the scope asked for. Each ends with a clear error (or the row
//! left out); the emulator's records show how many queries were sent.

use crate::harness::*;
use serde_json::{Value, json};

/// Canned answers for Resource Graph queries only.
fn graph_answers(emu: &Emulator, answer: Value) {
    let mut answer = answer;
    answer["method"] = json!("POST");
    answer["path_contains"] = json!("Microsoft.ResourceGraph");
    emu.script(&json!([answer]));
}

fn queries(emu: &Emulator) -> usize {
    emu.request_lines()
        .iter()
        .filter(|l| l.starts_with("POST /providers/Microsoft.ResourceGraph/resources"))
        .count()
}

fn audit(emu: &Emulator, extra: &[&str]) -> Run {
    run(emu
        .cli()
        .args(["audit", "--discovery", "arg", "-o", "json"])
        .args(extra))
}

fn cluster_rows(out: &Run) -> Vec<Value> {
    json(&out.stdout)
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r["cluster"].is_string())
        .collect()
}

/// `{}` and a truncated answer with no `$skipToken` were taken as "no clusters" (exit 0, the
/// fleet not audited).
#[test]
fn an_answer_without_data_or_truncated_without_a_token_is_an_error() {
    for body in [
        json!({}),
        json!({"totalRecords": 3, "count": 0, "data": [], "resultTruncated": "true"}),
        json!({"totalRecords": 3, "count": 0, "data": [], "resultTruncated": true, "$skipToken": ""}),
    ] {
        let emu = Emulator::start();
        graph_answers(&emu, json!({"body": body.to_string()}));
        let out = audit(&emu, &[]);
        assert_eq!(out.code, 1, "{body}: {}\n{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains("not a Resource Graph answer")
                || out.stderr.contains("resultTruncated"),
            "{}",
            out.stderr
        );
        assert_eq!(queries(&emu), 1);
    }
}

/// Empty pages, each with a fresh token, for ever: the query stops at 100 pages.
#[test]
fn endless_fresh_skip_tokens_stop_at_the_page_limit() {
    let emu = Emulator::start();
    graph_answers(
        &emu,
        json!({"times": 1000, "body": r#"{"totalRecords": 1, "count": 0, "data": [], "$skipToken": "token-{n}"}"#}),
    );
    let out = audit(&emu, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("past 100 pages"), "{}", out.stderr);
    assert_eq!(queries(&emu), 101);
}

/// A token that comes back is a loop: the query stops at the repeat.
#[test]
fn a_repeated_skip_token_is_an_error() {
    let emu = Emulator::start();
    graph_answers(
        &emu,
        json!({"times": 50, "body": r#"{"totalRecords": 1, "count": 0, "data": [], "$skipToken": "same"}"#}),
    );
    let out = audit(&emu, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("$skipToken repeats"), "{}", out.stderr);
    assert_eq!(queries(&emu), 2);
}

/// A 429 that keeps coming: the client's retries and Resource Graph's own quota waits share
/// `--retry-budget` (before: five more rounds of retries after the client gave up).
#[test]
fn throttling_past_the_retry_budget_ends_the_query() {
    let emu = Emulator::start();
    graph_answers(
        &emu,
        json!({"times": 100, "status": 429, "headers": {"Retry-After": "999999", "x-ms-user-quota-resets-after": "00:00:03"},
               "body": r#"{"error": {"code": "RateLimiting", "message": "slow down"}}"#}),
    );
    let out = audit(&emu, &["--retry-budget", "1"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("RateLimiting"), "{}", out.stderr);
    assert_eq!(queries(&emu), 1);
}

/// Every answer claims the quota is used up for five minutes: the next page is not waited for
/// past `--retry-budget` (before: 300 s per query, said only under --verbose).
#[test]
fn a_quota_reset_past_the_retry_budget_is_not_waited_for() {
    let emu = Emulator::start();
    graph_answers(
        &emu,
        json!({"times": 10, "headers": {"x-ms-user-quota-remaining": "0", "x-ms-user-quota-resets-after": "00:05:00"},
               "body": r#"{"totalRecords": 2, "count": 0, "data": [], "$skipToken": "next-{n}", "resultTruncated": "true"}"#}),
    );
    let out = audit(&emu, &["--retry-budget", "5"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("quota is used up and resets in"),
        "{}",
        out.stderr
    );
    assert_eq!(queries(&emu), 1);
}

/// A row whose `subscriptionId` is in scope but whose id is in another subscription, and one
/// whose `name` is not its id's: the first is left out, the second is named from its id.
#[test]
fn rows_are_taken_from_their_id_and_kept_to_the_scope() {
    let emu = Emulator::start();
    let other = "/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/elsewhere";
    let row = |id: &str, name: &str| {
        json!({"id": id, "name": name, "resourceGroup": "rg1", "subscriptionId": SUB,
               "location": "westeurope", "tags": {}, "identityType": "SystemAssigned"})
    };
    let body = json!({"totalRecords": 3, "count": 3, "resultTruncated": "false", "data": [
        row(other, "elsewhere"),
        row(&cluster_path("cluster1"), "cluster1"),
        row(&cluster_path("cluster2"), "someone-else"),
    ]});
    graph_answers(&emu, json!({"body": body.to_string()}));
    let out = audit(&emu, &[]);
    let names: Vec<String> = cluster_rows(&out)
        .iter()
        .map(|r| r["cluster"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        ["cluster1", "cluster2"],
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(
        !emu.request_lines()
            .iter()
            .any(|l| l.contains("99999999-9999-9999-9999-999999999999")),
        "nothing was asked of the subscription outside the scope"
    );
}

/// A cluster on two pages (Resource Graph's pages are not a snapshot) is audited once, with a
/// warning, never as a second row (which would find its service entries taken and pass).
#[test]
fn a_cluster_listed_twice_is_audited_once() {
    let emu = Emulator::start();
    let row = |name: &str| {
        json!({"id": cluster_path(name), "name": name, "resourceGroup": "rg1", "subscriptionId": SUB,
               "location": "westeurope", "tags": {}, "identityType": "SystemAssigned"})
    };
    let body = json!({"totalRecords": 3, "count": 3, "resultTruncated": "false",
        "data": [row("cluster1"), row("cluster1"), row("cluster2")]});
    graph_answers(&emu, json!({"body": body.to_string()}));
    let out = audit(&emu, &[]);
    let names: Vec<Value> = cluster_rows(&out)
        .iter()
        .map(|r| r["cluster"].clone())
        .collect();
    assert_eq!(names, ["cluster1", "cluster2"], "{}", out.stderr);
    assert!(
        out.stderr.contains("was listed twice; audited once"),
        "{}",
        out.stderr
    );
    let lists = emu
        .request_lines()
        .iter()
        .filter(|l| l.contains("/cluster1/trustedAccessRoleBindings"))
        .count();
    assert_eq!(lists, 1, "cluster1's bindings are read once");
}

/// A quota wait and the client's own retries of the same query share one `--retry-budget`: after
/// waiting 2 s of a 3 s budget for the quota, a 503 asking for 2 s more is not retried (before:
/// the client's retries started a budget of their own, so the query could take two budgets).
#[test]
fn a_quota_wait_and_the_retries_after_it_share_one_budget() {
    let emu = Emulator::start();
    let page = r#"{"totalRecords": 2, "count": 0, "data": [], "$skipToken": "next", "resultTruncated": "true"}"#;
    emu.script(&json!([
        {"method": "POST", "path_contains": "Microsoft.ResourceGraph", "body": page,
         "headers": {"x-ms-user-quota-remaining": "0", "x-ms-user-quota-resets-after": "00:00:02"}},
        {"method": "POST", "path_contains": "Microsoft.ResourceGraph", "times": 10, "status": 503,
         "headers": {"Retry-After": "2"},
         "body": r#"{"error": {"code": "ServiceUnavailable", "message": "busy"}}"#}
    ]));
    let out = audit(&emu, &["--retry-budget", "3"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("ServiceUnavailable"), "{}", out.stderr);
    assert_eq!(queries(&emu), 2, "{}", emu.request_lines().join("\n"));
}
