//! Throttling, server errors, dropped connections, slow answers, time limits and Ctrl-C: the
//! tool survives the first, bounds the waits, and always says what happened to a write.

use crate::harness::*;
use serde_json::{Value, json};

const API: &str = "api-version=2026-08-01";

fn stats(emu: &Emulator) -> Value {
    emu.control_client()
        .get(format!("{}/_emulator/stats", emu.url))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

fn script(emu: &Emulator, canned: Value) {
    let resp = emu
        .control_client()
        .post(format!("{}/_emulator/script", emu.url))
        .body(canned.to_string())
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
}

/// Every command once, in an order that leaves the world as it found it; returns their outputs
/// (with creation times scrubbed) and exit codes.
fn every_command(emu: &Emulator, name: &str) -> Vec<(i32, String)> {
    let commands: Vec<Vec<&str>> = vec![
        vec!["role", "list", "-l", "westeurope"],
        vec!["role", "list", "-l", "West Europe", "-o", "table"],
        vec![
            "rolebinding",
            "list",
            "-g",
            "rg1",
            "--cluster-name",
            "cluster1",
        ],
        vec![
            "rolebinding",
            "show",
            "-g",
            "rg1",
            "--cluster-name",
            "cluster1",
            "-n",
            "ml-binding",
        ],
        create_args(name, ML_ROLE),
        vec![
            "rolebinding",
            "update",
            "-g",
            "rg1",
            "--cluster-name",
            "cluster2",
            "-n",
            name,
            "--roles",
            ML_ROLE,
            ML_ROLE_2,
        ],
        vec![
            "rolebinding",
            "list",
            "-g",
            "rg1",
            "--cluster-name",
            "cluster2",
            "-o",
            "tsv",
            "--query",
            "[].[name, length(roles)]",
        ],
        vec![
            "rolebinding",
            "delete",
            "-g",
            "rg1",
            "--cluster-name",
            "cluster2",
            "-n",
            name,
            "--yes",
        ],
        vec![
            "rolebinding",
            "list",
            "-g",
            "rg1",
            "--cluster-name",
            "cluster2",
        ],
    ];
    commands
        .iter()
        .map(|args| {
            let out = run(emu
                .cli()
                .args(args)
                .args(["--subscription", "Emulated Subscription"]));
            let stdout = match serde_json::from_str::<Value>(&out.stdout) {
                Ok(value) if value.is_object() => scrub_times(value).to_string(),
                _ => out.stdout,
            };
            assert!(
                out.code == 0 || !out.stderr.is_empty(),
                "a failure always says why"
            );
            (
                out.code,
                if out.code == 0 {
                    stdout
                } else {
                    format!("{args:?} failed: {}", out.stderr)
                },
            )
        })
        .collect()
}

/// Compares two runs command by command, reporting only the first difference.
fn assert_same(outputs: &[(i32, String)], baseline: &[(i32, String)], context: &str) {
    for (i, (got, want)) in outputs.iter().zip(baseline).enumerate() {
        assert!(
            got == want,
            "{context}: command {i} differs:\n got: {:?}\nwant: {:?}",
            got,
            want.0
        );
    }
}

#[test]
fn every_command_gives_the_same_output_under_each_kind_of_fault() {
    let clean = Emulator::start();
    let baseline = every_command(&clean, "fault-test");
    assert!(baseline.iter().all(|(code, _)| *code == 0), "{baseline:?}");
    for kinds in [
        "throttle",
        "500",
        "503",
        "drop",
        "html",
        "lost",
        "throttle,500,503,drop,lost",
    ] {
        let emu = Emulator::start_with(&[
            "--faults",
            kinds,
            "--fault-every",
            "3",
            "--throttle-retry-after",
            "0",
        ]);
        for round in 0..3 {
            let outputs = every_command(&emu, "fault-test");
            assert_same(
                &outputs,
                &baseline,
                &format!("faults {kinds}, round {round}"),
            );
        }
        let stats = stats(&emu);
        assert!(
            stats["faultsInjected"].as_u64().unwrap() >= 10,
            "{kinds}: {stats}"
        );
    }
}

#[test]
fn a_third_of_requests_failing_at_random_changes_nothing() {
    let clean = Emulator::start();
    let baseline = every_command(&clean, "random-faults");
    // Seeded: the same seed gives the same faults to the same requests (AKS_TEST_SEED explores).
    let seed = test_seed(20_261_130).to_string();
    let emu = Emulator::start_with(&[
        "--faults",
        "throttle,500,503,drop,lost",
        "--fault-ratio",
        "0.33",
        "--fault-seed",
        &seed,
        "--throttle-retry-after",
        "0",
    ]);
    for round in 0..3 {
        let outputs = every_command(&emu, "random-faults");
        if outputs != baseline {
            // The request log marks each injected answer: the run a failure came from.
            let log: Vec<String> = emu
                .requests()
                .iter()
                .map(|r| format!("{} {} {}", r["method"], r["path"], r["fault"]))
                .collect();
            panic!(
                "random faults (seed {seed}), round {round}: {:?}\nrequests:\n{}",
                outputs
                    .iter()
                    .zip(&baseline)
                    .find(|(got, want)| got != want),
                log.join("\n")
            );
        }
    }
}

#[test]
fn retries_are_bounded_and_logged_then_the_last_error_is_shown() {
    let emu = Emulator::start_with(&["--faults", "503", "--fault-every", "1"]);
    let out = run(emu.cli().args([
        "role",
        "list",
        "-l",
        "westeurope",
        "--max-retries",
        "2",
        "--verbose",
    ]));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("ERROR: (ServiceUnavailable) The service is unavailable (injected)."),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.matches("INFO: retrying GET ").count(),
        2,
        "{}",
        out.stderr
    );
    assert_eq!(emu.requests().len(), 3, "one try and two retries");
}

#[test]
fn retry_after_on_a_throttle_is_honoured() {
    let emu = Emulator::start_with(&[
        "--faults",
        "throttle",
        "--fault-every",
        "1",
        "--throttle-retry-after",
        "1",
    ]);
    let out = run(emu
        .cli()
        .args(["role", "list", "-l", "westeurope", "--max-retries", "1"]));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with("ERROR: (TooManyRequests) "),
        "{}",
        out.stderr
    );
    // Measured on the emulator's clock: the retry came at least Retry-After after the 429.
    let requests = emu.requests();
    assert_eq!(requests.len(), 2);
    assert!(
        gap_ms(&requests[0], &requests[1]) >= 1000,
        "waited Retry-After: {} ms",
        gap_ms(&requests[0], &requests[1])
    );
}

#[test]
fn a_proxys_html_page_is_reported_clearly() {
    let emu = Emulator::start_with(&["--faults", "html", "--fault-every", "1"]);
    let out = run(emu.cli().args([
        "rolebinding",
        "show",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster1",
        "-n",
        "ml-binding",
        "--max-retries",
        "0",
    ]));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with(&format!(
            "ERROR: (BadGateway) GET {} answered 502 Bad Gateway: <html>",
            binding_path("cluster1", "ml-binding")
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn a_slow_answer_times_out_and_is_retried() {
    let emu = Emulator::start_with(&["--latency-ms", "1500"]);
    let out = run(emu.cli().args([
        "role",
        "list",
        "-l",
        "westeurope",
        "--request-timeout",
        "1",
        "--max-retries",
        "1",
    ]));
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("timed out"), "{}", out.stderr);
    assert!(
        out.stderr.contains("gave up after 2 attempts"),
        "{}",
        out.stderr
    );
    assert_eq!(emu.requests().len(), 2);
}

#[test]
fn timeout_stops_waiting_and_says_the_operation_still_runs() {
    let emu = Emulator::start_with(&[
        "--operation-polls",
        "1000",
        "--operation-seconds",
        "0",
        "--retry-after",
        "1",
    ]);
    let out = run(emu.cli().args([
        "rolebinding",
        "create",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster2",
        "-n",
        "slow",
        "-s",
        ML_SOURCE,
        "--roles",
        ML_ROLE,
        "--timeout",
        "2",
    ]));
    assert_eq!(out.code, 1);
    // It stopped polling (no wall clock: a slow machine only polls less): with Retry-After 1 s
    // and --timeout 2, at most two polls of an operation that never ends.
    let polls = emu
        .request_lines()
        .iter()
        .filter(|l| l.contains("/operations/"))
        .count();
    assert!(polls <= 2, "{polls} polls");
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.starts_with(
            "ERROR: gave up waiting after 2 s; the operation is still running in Azure\n"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("hint: check it with: aks-trustedaccess rolebinding show"),
        "{}",
        out.stderr
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_during_a_wait_exits_130_and_says_the_operation_continues() {
    let emu = Emulator::start_with(&[
        "--operation-polls",
        "1000",
        "--operation-seconds",
        "0",
        "--retry-after",
        "1",
    ]);
    let child = emu
        .std_cli()
        .args(create_args("interrupted", ML_ROLE))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !emu.requests().iter().any(|r| r["method"] == "PUT") {
        assert!(std::time::Instant::now() < deadline, "the PUT never came");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert!(
        stderr.starts_with("Interrupted: stopped waiting; the operation continues in Azure.\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("aks-trustedaccess rolebinding show"),
        "{stderr}"
    );
}

#[test]
fn malformed_and_unexpected_answers_name_the_request() {
    let emu = Emulator::start();
    let show = [
        "rolebinding",
        "show",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster1",
        "-n",
        "ml-binding",
    ];
    script(&emu, json!([{"status": 200, "body": "{\"id\": "}]));
    let out = run(emu.cli().args(show));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with(&format!(
            "ERROR: unexpected answer to GET {}: the body is not the expected JSON",
            binding_path("cluster1", "ml-binding")
        )),
        "{}",
        out.stderr
    );

    script(
        &emu,
        json!([{"status": 200, "body": "{\"value\": {\"not\": \"a list\"}}"}]),
    );
    let out = run(emu.cli().args([
        "rolebinding",
        "list",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster1",
    ]));
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("not a list page"), "{}", out.stderr);

    // A state the API has not defined yet is shown as it is.
    script(
        &emu,
        json!([{"status": 200, "body": json!({"id": binding_path("cluster1", "ml-binding"), "name": "ml-binding", "properties": {"provisioningState": "Migrating"}}).to_string()}]),
    );
    let out = run(emu.cli().args(show));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(json(&out.stdout)["provisioningState"], "Migrating");

    // An operation status without a status.
    let create = [
        "rolebinding",
        "create",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster2",
        "-n",
        "scripted",
        "-s",
        ML_SOURCE,
        "--roles",
        ML_ROLE,
        "--skip-validation",
    ];
    let op = format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/westeurope/operations/x?api-version=2016-03-30",
        emu.url
    );
    script(
        &emu,
        json!([
            {"status": 404, "body": "{}"},
            {"status": 201, "headers": {"Azure-AsyncOperation": op, "Retry-After": "0"}, "body": "{}"},
            {"status": 200, "body": "{\"name\": \"x\"}"}
        ]),
    );
    let out = run(emu.cli().args(create));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("the operation status has no 'status' field"),
        "{}",
        out.stderr
    );

    // An operation URL on another host is refused: the token stays with ARM.
    script(
        &emu,
        json!([
            {"status": 404, "body": "{}"},
            {"status": 201, "headers": {"Azure-AsyncOperation": "https://evil.example.com/op"}, "body": "{}"}
        ]),
    );
    let out = run(emu.cli().args(create));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("refusing to send credentials there"),
        "{}",
        out.stderr
    );
    let _ = API;
}

#[test]
fn a_location_header_is_polled_until_the_final_answer() {
    let emu = Emulator::start();
    let poll = format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/westeurope/operationresults/op1?api-version=2016-03-30",
        emu.url
    );
    let binding = json!({"id": binding_path("cluster2", "loc"), "name": "loc", "properties": {"provisioningState": "Succeeded", "roles": [ML_ROLE], "sourceResourceId": ML_SOURCE}});
    script(
        &emu,
        json!([
            {"status": 404, "body": "{}"},
            {"status": 202, "headers": {"Location": poll, "Retry-After": "0"}, "body": ""},
            {"status": 202, "headers": {"Location": poll, "Retry-After": "0"}, "body": ""},
            {"status": 200, "body": binding.to_string()},
            {"status": 200, "body": binding.to_string()}
        ]),
    );
    let out = run(emu.cli().args([
        "rolebinding",
        "create",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster2",
        "-n",
        "loc",
        "-s",
        ML_SOURCE,
        "--roles",
        ML_ROLE,
        "--skip-validation",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(json(&out.stdout)["name"], "loc");
    let lines = emu.request_lines();
    assert_eq!(
        lines.len(),
        5,
        "GET, PUT, two Location polls, final GET: {lines:#?}"
    );
    assert!(
        lines[2].contains("/operationresults/op1") && lines[3].contains("/operationresults/op1")
    );
}
