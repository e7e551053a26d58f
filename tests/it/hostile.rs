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
    run(emu.cli().args(create_args(name, ML_ROLE)).args(extra))
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

#[test]
fn escape_sequences_from_the_server_never_reach_the_terminal() {
    let emu = Emulator::start();
    let evil = "ok\u{1b}]0;pwned\u{7}\u{1b}[2Jhidden\r";
    let page = json!({"value": [{"name": evil, "sourceResourceType": evil, "rules": []}]});
    for format in ["table", "tsv"] {
        script(&emu, json!([{"body": page.to_string()}]));
        let out = role_list(&emu, &["-o", format]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(
            out.stdout.contains("ok\u{fffd}]0;pwned"),
            "{format}: {:?}",
            out.stdout
        );
        assert!(
            !out.stdout.contains(['\u{1b}', '\u{7}', '\r']),
            "{format}: {:?}",
            out.stdout
        );
    }
    script(
        &emu,
        json!([{"status": 400, "body": json!({"error": {"code": "Bad\u{1b}[31m", "message": evil}}).to_string()}]),
    );
    let out = role_list(&emu, &["--verbose"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("ok\u{fffd}]0;pwned"),
        "{:?}",
        out.stderr
    );
    assert!(
        !out.stderr.contains(['\u{1b}', '\u{7}', '\r']),
        "{:?}",
        out.stderr
    );
}

#[test]
fn a_huge_error_message_is_cut_and_shown_once() {
    let emu = Emulator::start();
    let message = "x".repeat(3 << 20);
    script(
        &emu,
        json!([{"status": 400, "body": json!({"error": {"code": "Huge", "message": message}}).to_string()}]),
    );
    let out = role_list(&emu, &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.len() < 6000,
        "{} bytes on stderr",
        out.stderr.len()
    );
    assert!(
        out.stderr.contains(&format!(
            "… ({} characters more, not shown)",
            (3 << 20) - 4096
        )),
        "{}",
        &out.stderr[out.stderr.len().saturating_sub(300)..]
    );
    assert!(!out.stderr.contains("\nMessage: "), "shown once");
}

#[test]
fn a_cluster_location_that_is_not_a_location_never_becomes_a_path() {
    let emu = Emulator::start();
    script(
        &emu,
        json!([{"method": "GET", "path": cluster_path("cluster2"),
                "body": json!({"name": "cluster2", "location": "../../_evil/steal?x=1#f"}).to_string()}]),
    );
    let out = create(&emu, "evil", &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the cluster's location '../../_evil/steal?x=1#f' is not a location name"),
        "{}",
        out.stderr
    );
    let lines = emu.request_lines();
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("_evil") || l.starts_with("PUT")),
        "{lines:#?}"
    );
}

#[test]
fn an_empty_endpoint_variable_is_unset_and_said_under_verbose() {
    let emu = Emulator::start();
    // An invalid name stops the run before any request: nothing goes to the public cloud.
    let out = run(emu.cli().env("AKS_TRUSTEDACCESS_ARM_ENDPOINT", "").args([
        "rolebinding",
        "show",
        "-g",
        "rg1",
        "--cluster-name",
        "c",
        "-n",
        "bad_name!",
        "--verbose",
    ]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "INFO: AKS_TRUSTEDACCESS_ARM_ENDPOINT is set but empty: treated as unset; using https://management.azure.com/"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn a_query_that_fails_after_a_write_says_the_write_happened() {
    let emu = Emulator::start();
    let out = create(&emu, "queried", &["--query", "abs(name)"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("The write was carried out; only printing its result failed."),
        "{}",
        out.stderr
    );
    assert!(emu.request_lines().iter().any(|l| l.starts_with("PUT ")));
}

#[cfg(unix)]
#[test]
fn fifos_in_place_of_az_files_do_not_hang() {
    let emu = Emulator::start();
    for name in ["config", "azureProfile.json"] {
        let status = std::process::Command::new("mkfifo")
            .arg(emu.home.path().join(name))
            .status()
            .unwrap();
        assert!(status.success());
    }
    let out = run(emu
        .cli()
        .args(["role", "list", "-l", "westeurope"])
        .timeout(std::time::Duration::from_secs(20)));
    assert_eq!(out.code, 0, "{}", out.stderr);
}
