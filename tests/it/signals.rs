//! TERM and HUP are handled like Ctrl-C: the run says what write is pending, closes its output
//! validly and exits 128 + the signal's number; a reader that goes away (`| head`) does not hide
//! the audit's verdict in the exit code; an audit that cannot list never prints `[]`.
#![cfg(unix)]

use crate::harness::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

fn kill(signal: &str, pid: u32) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "{what} never happened");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn term_and_hup_during_a_wait_say_the_write_continues_and_exit_128_plus_n() {
    for (signal, code) in [("-TERM", 143), ("-HUP", 129)] {
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
            .args(create_args("signalled", ML_ROLE))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for("the PUT", || {
            emu.requests().iter().any(|r| r["method"] == "PUT")
        });
        kill(signal, child.id());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{signal}: {stderr}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "");
        assert!(
            stderr.starts_with("Interrupted: stopped waiting; the operation continues in Azure.\n"),
            "{signal}: {stderr}"
        );
        assert!(
            stderr.contains("aks-trustedaccess rolebinding show"),
            "{stderr}"
        );
    }
}

#[test]
fn term_during_a_json_audit_leaves_valid_json() {
    let emu = Emulator::start_with(&["--fleet", "2x200x1", "--latency-ms", "20"]);
    let mut child = emu
        .std_cli()
        .args(["audit", "--parallel", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    // Wait until rows are streaming, then stop the run in the middle of the report.
    while !text.contains("\"verdict\"") {
        assert!(stdout.read_line(&mut text).unwrap() > 0, "no rows: {text}");
    }
    kill("-TERM", child.id());
    std::io::Read::read_to_string(&mut stdout, &mut text).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    let rows: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let rows = rows.as_array().unwrap();
    assert!(!rows.is_empty() && rows.len() < 400, "{} rows", rows.len());
}

#[test]
fn a_reader_that_goes_away_does_not_hide_findings() {
    let emu = Emulator::start_with(&["--fleet", "2x30x1"]);
    let whole = run(emu.cli().args(["audit", "-o", "tsv"]));
    assert!(
        [1, 4].contains(&whole.code),
        "the fleet has findings or errors: {}",
        whole.stderr
    );
    let mut child = emu
        .std_cli()
        .args(["audit", "-o", "tsv"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // `| head -1`: read one line, then close the pipe.
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(!line.is_empty());
    assert_eq!(child.wait().unwrap().code(), Some(whole.code));
}

#[test]
fn an_audit_that_cannot_list_subscriptions_prints_no_empty_report() {
    let emu = Emulator::start_with(&["--fleet", "1x3x1"]);
    let resp = emu
        .control_client()
        .post(format!("{}/_emulator/script", emu.url))
        .body(
            json!([{"status": 500, "path": "/subscriptions", "times": 50, "body": "{}"}])
                .to_string(),
        )
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let out = run(emu.cli().args(["audit", "--max-retries", "0"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "", "no `[]`: the fleet was not seen");
}
