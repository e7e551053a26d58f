//! Everything around a command: subscription resolution, endpoint rules, sign-in, global flags.

use crate::harness::*;

fn list_args() -> Vec<&'static str> {
    vec![
        "rolebinding",
        "list",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster2",
    ]
}

#[test]
fn subscription_display_name_is_resolved_case_insensitively() {
    let emu = Emulator::start();
    let out = run(emu
        .bare_cli()
        .args(list_args())
        .args(["--subscription", "EMULATED subscription"]));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "[]\n"),
        "{}",
        out.stderr
    );
    let lines = emu.request_lines();
    assert_eq!(lines[0], "GET /subscriptions?api-version=2022-12-01");
    assert!(lines[1].starts_with(&format!("GET /subscriptions/{SUB}/resourceGroups/rg1/")));
}

#[test]
fn an_unknown_subscription_name_lists_the_candidates() {
    let emu = Emulator::start();
    let out = run(emu
        .bare_cli()
        .args(list_args())
        .args(["--subscription", "Nope"]));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with(
            "ERROR: Subscription 'Nope' not found. Check the spelling and casing and try again.\n"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("Emulated Subscription ({SUB})")),
        "{}",
        out.stderr
    );
}

#[test]
fn the_subscription_flag_wins_over_the_environment() {
    let emu = Emulator::start();
    let other = "11111111-2222-3333-4444-555555555555";
    let out = run(emu.cli().args(list_args()).args(["--subscription", other]));
    assert_eq!(out.code, 3, "unknown subscription → 404");
    assert!(
        out.stderr.starts_with(&format!(
            "ERROR: (SubscriptionNotFound) The subscription '{other}' could not be found."
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn azs_default_subscription_is_read_from_a_profile_with_a_bom() {
    let emu = Emulator::start();
    let profile = format!(
        "\u{feff}{{\"installationId\": \"x\", \"subscriptions\": [{{\"id\": \"99999999-9999-9999-9999-999999999999\", \"name\": \"Other\", \"isDefault\": false}}, {{\"id\": \"{SUB}\", \"name\": \"Emulated Subscription\", \"isDefault\": true, \"tenantId\": \"t\"}}]}}"
    );
    emu.write_az_file("azureProfile.json", profile.as_bytes());
    let out = run(emu.bare_cli().args(list_args()));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "[]\n"),
        "{}",
        out.stderr
    );
    assert!(emu.request_lines()[0].starts_with(&format!("GET /subscriptions/{SUB}/")));
}

#[test]
fn no_subscription_anywhere_says_the_three_ways_to_give_one() {
    let emu = Emulator::start();
    let out = run(emu.bare_cli().args(list_args()));
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("--subscription"), "{}", out.stderr);
    assert!(
        out.stderr.contains("AZURE_SUBSCRIPTION_ID"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("az account set"), "{}", out.stderr);
    assert!(emu.requests().is_empty());
}

#[test]
fn the_resource_group_defaults_to_azs_configured_group() {
    let emu = Emulator::start();
    emu.write_az_file("config", b"[defaults]\ngroup = rg1\n");
    let out = run(emu
        .cli()
        .args(["rolebinding", "list", "--cluster-name", "cluster2"]));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "[]\n"),
        "{}",
        out.stderr
    );
    let out = run(emu
        .cli()
        .args(["rolebinding", "list", "--cluster-name", "cluster2"])
        .env("AZURE_CONFIG_DIR", "/nonexistent-az-dir"));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--resource-group/-g"), "{}", out.stderr);
}

#[test]
fn plain_http_to_a_non_loopback_host_is_refused_before_any_request() {
    let emu = Emulator::start();
    let out = run(emu
        .cli()
        .args(list_args())
        .env("AKS_TRUSTEDACCESS_ARM_ENDPOINT", "http://192.0.2.10:8080"));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("plain http is only allowed for loopback hosts"),
        "{}",
        out.stderr
    );
}

#[test]
fn without_a_token_and_without_az_the_error_says_how_to_sign_in() {
    let emu = Emulator::start();
    let empty_path = tempfile::tempdir().unwrap();
    let out = run(emu
        .cli()
        .args(list_args())
        .env_remove("AKS_TRUSTEDACCESS_ACCESS_TOKEN")
        .env("PATH", empty_path.path()));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("az login"), "{}", out.stderr);
    assert!(emu.requests().is_empty());
}

#[test]
fn a_bad_query_is_a_usage_error_before_any_request() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(list_args()).args(["--query", "[?name=="]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("invalid jmespath query"),
        "{}",
        out.stderr
    );
    assert!(emu.requests().is_empty());
}

#[test]
fn only_show_errors_cannot_be_combined_with_debug_or_verbose() {
    let emu = Emulator::start();
    for flag in ["--debug", "--verbose"] {
        let out = run(emu
            .cli()
            .args(list_args())
            .args(["--only-show-errors", flag]));
        assert_eq!(out.code, 2, "{flag}");
        assert!(out.stderr.contains("--only-show-errors"), "{}", out.stderr);
    }
    assert!(emu.requests().is_empty());
}

#[test]
fn debug_logs_requests_without_the_token() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(list_args()).arg("--debug"));
    assert_eq!(out.code, 0);
    assert!(
        out.stderr.contains("DEBUG: Request: GET http://127.0.0.1:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("'Authorization': 'Bearer <redacted>'"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("-> 200 OK"), "{}", out.stderr);
    assert_eq!(out.stdout, "[]\n");
}

#[test]
fn unknown_flags_are_usage_errors_and_help_and_version_succeed() {
    let emu = Emulator::start();
    assert_eq!(run(emu.cli().args(["role", "list", "--bogus"])).code, 2);
    let help = run(emu.cli().args(["rolebinding", "create", "--help"]));
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("--source-resource-id"));
    let version = run(emu.cli().arg("--version"));
    assert_eq!(
        (version.code, version.stdout.trim()),
        (0, concat!("aks-trustedaccess ", env!("CARGO_PKG_VERSION")))
    );
    let bare = run(&mut emu.cli());
    assert_eq!(bare.code, 0);
    assert!(bare.stdout.contains("rolebinding"), "{}", bare.stdout);
    assert!(emu.requests().is_empty());
}

#[test]
fn an_ambiguous_subscription_name_lists_the_candidates() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(
        &state,
        serde_json::json!({"subscriptions": [
            {"subscriptionId": SUB, "displayName": "Shared"},
            {"subscriptionId": "22222222-2222-2222-2222-222222222222", "displayName": "shared"}
        ]})
        .to_string(),
    )
    .unwrap();
    let emu = Emulator::start_with(&["--state", state.to_str().unwrap()]);
    let out = run(emu
        .bare_cli()
        .args(list_args())
        .args(["--subscription", "SHARED"]));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("subscription name 'SHARED' is ambiguous"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("Shared ({SUB})"))
            && out
                .stderr
                .contains("shared (22222222-2222-2222-2222-222222222222)"),
        "{}",
        out.stderr
    );
    assert_eq!(
        emu.request_lines(),
        ["GET /subscriptions?api-version=2022-12-01"]
    );
}

#[test]
fn a_proxy_in_the_environment_does_not_capture_the_loopback_emulator() {
    let emu = Emulator::start();
    let out = run(emu
        .cli()
        .args(list_args())
        .env("HTTPS_PROXY", "http://192.0.2.1:9")
        .env("HTTP_PROXY", "http://192.0.2.1:9")
        .args(["--request-timeout", "5", "--max-retries", "0"]));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "[]\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn only_show_errors_silences_warnings_but_not_errors() {
    let emu = Emulator::start();
    let warned = run(emu
        .cli()
        .args(list_args())
        .args(["--cloud", "AzureUSGovernment"]));
    assert!(
        warned
            .stderr
            .starts_with("WARNING: Trusted Access is not offered in AzureUSGovernment"),
        "{}",
        warned.stderr
    );
    let quiet = run(emu
        .cli()
        .args(list_args())
        .args(argv("--cloud AzureUSGovernment --only-show-errors")));
    assert_eq!(
        (quiet.code, quiet.stdout.as_str(), quiet.stderr.as_str()),
        (0, "[]\n", "")
    );
    let failing = run(emu.cli().args(argv(
        "rolebinding show -g rg1 --cluster-name cluster1 -n nope --only-show-errors",
    )));
    assert_eq!(failing.code, 3);
    assert!(
        failing.stderr.starts_with("ERROR: (NotFound) "),
        "{}",
        failing.stderr
    );
}
