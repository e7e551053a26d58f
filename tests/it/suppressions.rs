//! `audit --ignore-file`: a live entry suppresses (exit 0, counted, the entry's reason on the
//! finding), an expired one no longer does and fails the run (exit 4), one that matches nothing
//! is reported as stale (a warning: exit 4 only under --fail-level warning), and a malformed
//! file is exit 2 naming the line, before any request.

use crate::harness::*;
use serde_json::Value;

const CLUSTER2: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/cluster2";

fn entry(rule: &str, resource: &str, expires: &str) -> String {
    format!(
        "- rule: {rule}\n  resource: '{resource}'\n  reason: accepted until the migration (OPS-7)\n  owner: platform-team\n  expires: {expires}\n"
    )
}

/// Writes the ignore file into the emulator's home and runs `audit -o json --ignore-file` with it.
fn audit_with(emu: &Emulator, text: &str, extra: &[&str]) -> (Run, String) {
    let path = emu.home.path().join("ignore.yaml");
    std::fs::write(&path, text).unwrap();
    let path = path.to_string_lossy().into_owned();
    let mut args = vec!["audit", "-o", "json", "--ignore-file", path.as_str()];
    args.extend_from_slice(extra);
    (run(emu.cli().args(&args)), path)
}

fn cluster2_finding(stdout: &str) -> Value {
    let rows = json(stdout);
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cluster"] == "cluster2")
        .unwrap()
        .clone();
    row["results"][0].clone()
}

#[test]
fn a_live_entry_suppresses_its_finding_and_is_counted() {
    let emu = Emulator::start();
    // The glob matches cluster2's id whatever the case of its segments.
    let (out, path) = audit_with(
        &emu,
        &entry("no-binding", "/SUBSCRIPTIONS/*/cluster2", "2999-12-31"),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let finding = cluster2_finding(&out.stdout);
    assert_eq!(finding["ruleId"], "TA001");
    assert_eq!(
        finding["suppression"],
        serde_json::json!({
            "reason": "accepted until the migration (OPS-7)",
            "owner": "platform-team",
            "expires": "2999-12-31",
            "file": path,
            "line": 1,
        })
    );
    let rows = json(&out.stdout);
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["verdict"] == "pass")
    );
    assert!(
        out.stderr
            .contains(": 2 passing, 0 failing, 0 errors, 1 suppressed."),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("WARNING"), "{}", out.stderr);
}

#[test]
fn an_expired_entry_no_longer_suppresses_and_fails_the_run_itself() {
    let emu = Emulator::start();
    let text = entry("TA001", CLUSTER2, "2001-02-03");
    let (out, path) = audit_with(&emu, &text, &[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(cluster2_finding(&out.stdout)["suppression"].is_null());
    assert!(
        out.stderr.contains(&format!(
            "WARNING: {path}:1: the ignore entry for TA001 on '{CLUSTER2}' (owner platform-team) expired on 2001-02-03: it no longer suppresses"
        )),
        "{}",
        out.stderr
    );
    // Even when the finding itself no longer fails the run (the baseline knows it), the
    // expired entry does: someone has to look at it again.
    let baseline = emu.home.path().join("baseline.json");
    std::fs::write(&baseline, &out.stdout).unwrap();
    let (known, _) = audit_with(&emu, &text, &["--baseline", baseline.to_str().unwrap()]);
    assert_eq!(known.code, 4, "{}", known.stderr);
    assert_eq!(cluster2_finding(&known.stdout)["known"], true);
    let (without, _) = audit_with(&emu, "[]\n", &["--baseline", baseline.to_str().unwrap()]);
    assert_eq!(without.code, 0, "{}", without.stderr);
    // Under GitHub Actions the expired entry is an error annotation on its line of the file.
    std::fs::write(&path, &text).unwrap();
    let annotated = run(emu
        .cli()
        .args(["audit", "--ignore-file", &path])
        .env("GITHUB_ACTIONS", "true"));
    assert!(
        annotated.stderr.contains(&format!(
            "::error file={path},line=1,title=TA011 suppression-expired::the ignore entry for TA001 on "
        )),
        "{}",
        annotated.stderr
    );
    // Turned off like any rule.
    let (skipped, _) = audit_with(
        &emu,
        &text,
        &[
            "--baseline",
            baseline.to_str().unwrap(),
            "--skip-rule",
            "suppression-expired",
        ],
    );
    assert_eq!(skipped.code, 0, "{}", skipped.stderr);
}

#[test]
fn an_entry_that_matches_nothing_is_reported_as_stale() {
    let emu = Emulator::start();
    let text = entry("TA001", CLUSTER2, "2999-12-31")
        + &entry("TA003", "/subscriptions/*/rg-gone/*", "2999-12-31");
    let (out, path) = audit_with(&emu, &text, &[]);
    assert_eq!(out.code, 0, "a stale entry is a warning: {}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "WARNING: {path}:6: the ignore entry for TA003 on '/subscriptions/*/rg-gone/*' (owner platform-team) matched no finding (stale)"
        )),
        "{}",
        out.stderr
    );
    let (strict, _) = audit_with(&emu, &text, &["--fail-level", "warning"]);
    assert_eq!(strict.code, 4, "{}", strict.stderr);
}

#[test]
fn a_malformed_ignore_file_is_exit_2_naming_the_line_before_any_request() {
    let emu = Emulator::start();
    for (text, message) in [
        (
            entry("TA001", CLUSTER2, "2999-12-31")
                + "- rule: TA001\n  resource: x\n  reason: r\n  owner: o\n",
            "ignore.yaml:6: entry 2 has no 'expires'",
        ),
        (
            entry("TA001", CLUSTER2, "31.12.2999"),
            "ignore.yaml:5: entry 1: expires '31.12.2999' is not a date such as 2026-12-31",
        ),
        (
            entry("TA404", CLUSTER2, "2999-12-31"),
            "ignore.yaml:1: entry 1: no rule 'TA404'",
        ),
        (
            "rule: TA001\n".to_string(),
            "ignore.yaml:1: the ignore file must be a list",
        ),
    ] {
        let (out, _) = audit_with(&emu, &text, &[]);
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.contains(message), "{message}: {}", out.stderr);
        assert_eq!(out.stdout, "");
    }
    let missing = run(emu
        .cli()
        .args(["audit", "--ignore-file", "/nonexistent/ignore.yaml"]));
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(
        missing
            .stderr
            .contains("cannot read the ignore file /nonexistent/ignore.yaml")
    );
    assert_eq!(emu.requests(), Vec::<Value>::new(), "nothing was sent");
}
