//! Concurrent writers: two creates of the same binding, and (for the token cache) many runs at
//! once. Exactly one create wins; nothing is silently replaced.

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

#[test]
fn of_concurrent_creates_of_one_name_exactly_one_succeeds() {
    let emu = Emulator::start();
    let children: Vec<_> = (0..6)
        .map(|i| {
            let role = if i % 2 == 0 { ML_ROLE } else { ML_ROLE_2 };
            emu.std_cli()
                .args(create_args("contended", role))
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
    let winners = outputs.iter().filter(|o| o.status.success()).count();
    assert_eq!(winners, 1, "exactly one create wins");
    for loser in outputs.iter().filter(|o| !o.status.success()) {
        let stderr = String::from_utf8_lossy(&loser.stderr);
        assert_eq!(loser.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("already existed"), "{stderr}");
    }
    let puts = emu
        .requests()
        .iter()
        .filter(|r| r["method"] == "PUT")
        .count();
    assert!(puts >= 1);
}
