//! Concurrent writers: creates of the same binding that all pass their existence check (forced by
//! the emulator's script) end with exactly one winner; nothing is silently replaced.

use crate::harness::*;
use serde_json::{Value, json};

fn script(emu: &Emulator, canned: Value) {
    let resp = emu
        .control_client()
        .post(format!("{}/_emulator/script", emu.url))
        .body(canned.to_string())
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
}

fn roles_of(emu: &Emulator, name: &str) -> Value {
    let out = run(emu.cli().args([
        "rolebinding",
        "show",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster2",
        "-n",
        name,
        "--query",
        "roles",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    json(&out.stdout)
}

#[test]
fn a_binding_created_between_the_check_and_the_put_is_not_replaced() {
    let emu = Emulator::start();
    let first = run(emu.cli().args(create_args("raced", ML_ROLE)));
    assert_eq!(first.code, 0, "{}", first.stderr);
    // The second create's existence check misses it, as when both run at once.
    script(
        &emu,
        json!([{"method": "GET", "pathContains": "/trustedAccessRoleBindings/raced", "status": 404,
                "body": "{\"error\":{\"code\":\"NotFound\",\"message\":\"not found\"}}"}]),
    );
    let second = run(emu.cli().args(create_args("raced", ML_ROLE_2)));
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert!(
        second
            .stderr
            .starts_with("ERROR: TrustedAccess RoleBinding raced already existed"),
        "{}",
        second.stderr
    );
    assert_eq!(
        roles_of(&emu, "raced"),
        json!([ML_ROLE]),
        "the first binding stands"
    );
}

#[test]
fn a_create_answered_200_says_a_binding_was_replaced() {
    let emu = Emulator::start();
    script(
        &emu,
        json!([{"method": "PUT", "status": 200, "body": "{\"name\":\"x\",\"properties\":{}}"}]),
    );
    let out = run(emu.cli().args(create_args("replaced", ML_ROLE)));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("it replaced a binding that already existed"),
        "{}",
        out.stderr
    );
}

/// Six creates at once, each past its existence check before any PUT (the script answers every
/// check 404, as when they all check before any writes): the race is forced, not hoped for, so
/// only the conditional PUT (If-None-Match: *) can keep five of them from replacing the winner.
#[test]
fn of_concurrent_creates_of_one_name_exactly_one_succeeds() {
    let emu = Emulator::start();
    script(
        &emu,
        json!([{"method": "GET", "pathContains": "/trustedAccessRoleBindings/contended",
                "status": 404, "times": 6,
                "body": "{\"error\":{\"code\":\"NotFound\",\"message\":\"not found\"}}"}]),
    );
    let children: Vec<_> = (0..6)
        .map(|i| {
            let role = if i % 2 == 0 { ML_ROLE } else { ML_ROLE_2 };
            // --no-wait: no polling after the PUT, so the six existence checks are the only
            // GETs of the binding and each meets the script.
            emu.std_cli()
                .args(create_args("contended", role))
                .arg("--no-wait")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let requests = emu.requests();
    let count = |method: &str| {
        requests
            .iter()
            .filter(|r| {
                r["method"] == method
                    && r["path"]
                        .as_str()
                        .is_some_and(|p| p.contains("/trustedAccessRoleBindings/contended"))
            })
            .count()
    };
    assert_eq!(count("GET"), 6, "every create checked: {requests:?}");
    assert_eq!(
        count("PUT"),
        6,
        "every create reached its PUT: the race happened"
    );
    let winners: Vec<usize> = (0..6).filter(|i| outputs[*i].status.success()).collect();
    assert_eq!(winners.len(), 1, "exactly one create wins");
    for loser in outputs.iter().filter(|o| !o.status.success()) {
        let stderr = String::from_utf8_lossy(&loser.stderr);
        assert_eq!(loser.status.code(), Some(1), "{stderr}");
        // Refused before writing (412), not found out after replacing the winner (200).
        assert!(
            stderr.starts_with("ERROR: TrustedAccess RoleBinding contended already existed"),
            "{stderr}"
        );
    }
    let winner_role = if winners[0].is_multiple_of(2) {
        ML_ROLE
    } else {
        ML_ROLE_2
    };
    assert_eq!(
        roles_of(&emu, "contended"),
        json!([winner_role]),
        "the winner's binding stands"
    );
}
