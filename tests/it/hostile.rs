//! A hostile or broken server: endless bodies and lists, huge headers, waits of days, answers
//! that never come, links with credentials, escape sequences. Every case ends quickly with a
//! clear error; the emulator's records show exactly what was asked.

use crate::harness::*;
use serde_json::{Value, json};

const ROLES: &str = "/trustedAccessRoles";

fn script(emu: &Emulator, canned: Value) {
    let resp = emu
        .control_client()
        .post(format!("{}/_emulator/script", emu.url))
        .body(canned.to_string())
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204, "{:?}", resp.text());
}

fn role_list(emu: &Emulator, extra: &[&str]) -> Run {
    run(emu
        .cli()
        .args(["role", "list", "-l", "westeurope"])
        .args(extra))
}

fn requests_to(emu: &Emulator, part: &str) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.contains(part)))
        .count()
}

fn create(emu: &Emulator, name: &str, extra: &[&str]) -> Run {
    run(emu
        .cli()
        .args([
            "rolebinding",
            "create",
            "-g",
            "rg1",
            "--cluster-name",
            "cluster2",
            "-n",
            name,
            "-s",
            ML_SOURCE,
            "--roles",
            ML_ROLE,
        ])
        .args(extra))
}

#[test]
fn an_endless_chunked_body_is_refused_at_the_limit_and_not_retried() {
    let emu = Emulator::start();
    script(
        &emu,
        json!([{"body": "{\"value\":[", "extraBodyBytes": 1u64 << 40, "times": 20}]),
    );
    let out = role_list(&emu, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .contains("the answer's body passed 4194304 bytes; the limit is 4 MiB"),
        "{}",
        out.stderr
    );
    assert_eq!(
        requests_to(&emu, ROLES),
        1,
        "the same answer is not asked for again"
    );
}

#[test]
fn an_endless_list_stops_at_the_page_limit() {
    let emu = Emulator::start();
    let next = format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/westeurope/trustedAccessRoles?api-version=2026-08-01&$skiptoken={{n}}",
        emu.url
    );
    script(
        &emu,
        json!([{"body": json!({"value": [], "nextLink": next}).to_string(), "times": 5000}]),
    );
    let out = role_list(&emu, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("the list goes on past 1000 pages"),
        "{}",
        out.stderr
    );
    // The first page and 1000 next ones (retries of throttled pages aside).
    let mut pages: Vec<String> = emu
        .request_lines()
        .into_iter()
        .filter(|l| l.contains(ROLES))
        .collect();
    pages.dedup();
    assert_eq!(pages.len(), 1001);
}

#[test]
fn a_next_link_with_credentials_in_it_is_not_followed() {
    let emu = Emulator::start();
    let next = emu.url.replace("http://", "http://user:pass@") + "/subscriptions/x";
    script(
        &emu,
        json!([{"body": json!({"value": [], "nextLink": next}).to_string()}]),
    );
    let out = role_list(&emu, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("a link with a user name or password"),
        "{}",
        out.stderr
    );
    assert_eq!(emu.requests().len(), 1);
}

#[test]
fn huge_headers_are_refused_and_not_retried() {
    let emu = Emulator::start();
    script(
        &emu,
        json!([{"headers": {"x-huge": "a".repeat(1 << 20)}, "body": "{\"value\":[]}", "times": 20}]),
    );
    let out = role_list(&emu, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("too large"), "{}", out.stderr);
    assert_eq!(requests_to(&emu, ROLES), 1);
}

#[test]
fn a_request_that_is_never_answered_is_bounded_by_the_retry_budget() {
    let emu = Emulator::start();
    script(&emu, json!([{"hang": true, "times": 100}]));
    let out = role_list(
        &emu,
        &["--request-timeout", "1", "--retry-budget", "2", "--verbose"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("timed out"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the next wait would pass --retry-budget (2 s)"),
        "{}",
        out.stderr
    );
    // Each attempt takes a second: the 2 s budget allows two, never the eleven that counting
    // only the waits between them allowed.
    let attempts = requests_to(&emu, ROLES);
    assert!((1..=3).contains(&attempts), "{attempts} attempts");
}

#[test]
fn a_throttle_that_says_retry_now_still_backs_off() {
    let emu = Emulator::start_with(&[
        "--faults",
        "throttle",
        "--fault-every",
        "1",
        "--throttle-retry-after",
        "0",
    ]);
    let out = role_list(
        &emu,
        &["--max-retries", "3", "--retry-delay-ms", "100", "--verbose"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let waits: Vec<u64> = out
        .stderr
        .lines()
        .filter_map(|l| l.split(" in ").nth(1)?.split(" ms").next()?.parse().ok())
        .collect();
    assert_eq!(waits.len(), 3, "{}", out.stderr);
    for (i, wait) in waits.iter().enumerate() {
        // 100 ms doubled per retry, jittered by [0.5, 1.5).
        assert!(
            *wait >= 50 << i,
            "retry {i} waited {wait} ms: {}",
            out.stderr
        );
    }
}

#[test]
fn a_refused_connection_is_not_retried() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let emu = Emulator::start();
    let out = run(emu
        .cli()
        .env(
            "AKS_TRUSTEDACCESS_ARM_ENDPOINT",
            format!("http://127.0.0.1:{port}"),
        )
        .args(["role", "list", "-l", "westeurope", "--verbose"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("could not connect"), "{}", out.stderr);
    assert!(!out.stderr.contains("retrying"), "{}", out.stderr);
}

#[test]
fn a_rejected_certificate_is_not_retried() {
    let emu = Emulator::start_tls(&[]);
    let out = run(emu
        .cli()
        .args(["role", "list", "-l", "westeurope", "--verbose"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.to_lowercase().contains("certificate"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("retrying"), "{}", out.stderr);
    assert_eq!(emu.requests().len(), 0);
}

#[test]
fn a_retry_after_of_days_on_a_poll_is_capped_and_said() {
    let emu = Emulator::start_with(&[
        "--operation-polls",
        "1000",
        "--operation-seconds",
        "0",
        "--retry-after",
        "999999",
    ]);
    let out = create(&emu, "capped", &["--timeout", "2", "--verbose"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "the server asked to wait 999999 s before the next poll; waiting at most 60 s"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("ERROR: gave up waiting after 2 s"),
        "{}",
        out.stderr
    );
}

#[test]
fn timeout_bounds_the_retries_of_a_failing_poll() {
    let emu = Emulator::start_with(&["--operation-polls", "1000", "--operation-seconds", "0"]);
    script(
        &emu,
        json!([{"status": 500, "body": "{}", "pathContains": "/operations/", "times": 1000}]),
    );
    let out = create(
        &emu,
        "pollfails",
        &["--timeout", "2", "--retry-delay-ms", "250"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(
            "ERROR: gave up waiting after 2 s; the operation is still running in Azure\n"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn timeout_bounds_a_poll_that_never_answers() {
    let emu = Emulator::start_with(&["--operation-polls", "1000", "--operation-seconds", "0"]);
    script(
        &emu,
        json!([{"hang": true, "pathContains": "/operations/", "times": 1000}]),
    );
    let out = create(&emu, "pollhangs", &["--timeout", "2"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("ERROR: gave up waiting after 2 s"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_timeout_too_large_for_the_clock_does_not_panic() {
    let emu = Emulator::start();
    let out = create(&emu, "forever", &["--timeout", "18446744073709551615"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}
