//! `role list`: output, location handling, and the requests made.

use crate::harness::*;

#[test]
fn role_list_prints_the_catalog_exactly_as_az_does() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(["role", "list", "-l", "westeurope"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, fixture("role-list.json"));
    assert_eq!(out.stderr, "");
    assert_eq!(
        emu.request_lines(),
        [format!(
            "GET /subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/westeurope/trustedAccessRoles?api-version=2026-08-01"
        )]
    );
}

#[test]
fn role_list_sends_the_standard_headers() {
    let emu = Emulator::start();
    run(emu.cli().args(["role", "list", "--location", "eastus"]));
    let requests = emu.requests();
    let r = &requests[0];
    assert_eq!(r["authorization"], "bearer");
    assert_eq!(r["apiVersion"], "2026-08-01");
    assert!(
        r["userAgent"]
            .as_str()
            .unwrap()
            .starts_with("aks-trustedaccess/")
    );
    assert_eq!(r["clientRequestId"].as_str().unwrap().len(), 36);
}

#[test]
fn role_list_resolves_a_display_name_through_locations() {
    let emu = Emulator::start();
    let out = run(emu
        .cli()
        .args(["role", "list", "-l", "West Europe", "--query", "length(@)"]));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "11\n"),
        "{}",
        out.stderr
    );
    assert_eq!(
        emu.request_lines(),
        [
            format!("GET /subscriptions/{SUB}/locations?api-version=2022-12-01"),
            format!(
                "GET /subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/westeurope/trustedAccessRoles?api-version=2026-08-01"
            ),
        ]
    );
}

#[test]
fn role_list_follows_every_page_including_empty_ones() {
    let emu = Emulator::start_with(&["--page-size", "4", "--leading-empty-page"]);
    let out = run(emu.cli().args(["role", "list", "-l", "westeurope"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, fixture("role-list.json"));
    let base = format!(
        "GET /subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/westeurope/trustedAccessRoles?api-version=2026-08-01"
    );
    assert_eq!(
        emu.request_lines(),
        [
            base.clone(),
            format!("{base}&$skipToken=0"),
            format!("{base}&$skipToken=4"),
            format!("{base}&$skipToken=8"),
        ]
    );
}

#[test]
fn role_list_without_a_location_is_a_usage_error_before_any_request() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(["role", "list"]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("the following arguments are required: --location/-l"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
    assert!(emu.requests().is_empty());
}

#[test]
fn role_list_uses_azs_default_location() {
    let emu = Emulator::start();
    emu.write_az_file("config", b"[defaults]\nlocation = eastus\ngroup = rg1\n");
    let out = run(emu.cli().args(["role", "list", "--query", "[0].name"]));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "\"test-node-reader\"\n"),
        "{}",
        out.stderr
    );
    assert!(emu.request_lines()[0].contains("/locations/eastus/trustedAccessRoles"));
}

#[test]
fn role_list_refuses_a_malformed_location_without_a_request() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(["role", "list", "-l", "west/europe"]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("invalid location 'west/europe'"),
        "{}",
        out.stderr
    );
    assert!(emu.requests().is_empty());
}

#[test]
fn role_list_of_an_unknown_location_says_so_after_the_service_refuses_it() {
    // Issue 10: not the service's api-version error with exit 3, but "unknown location" (exit 2),
    // with no suggestion when no known name is near.
    let emu = Emulator::start();
    let out = run(emu.cli().args(["role", "list", "-l", "moonbase"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "ERROR: unknown location 'moonbase'\nhint: see 'az account list-locations -o table' for the names\n"
    );
    assert_eq!(out.stdout, "");
}

const ROLES_URL: &str = "/providers/Microsoft.ContainerService/locations/westeurope/trustedAccessRoles?api-version=2026-08-01";

#[test]
fn role_show_gives_each_rule_its_risk_and_the_role_its_highest_with_the_reasons() {
    let emu = Emulator::start();
    let out = run(emu
        .cli()
        .args(argv("role show -l westeurope mlworkload -o json")));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    let role = json(&out.stdout);
    assert_eq!(role["name"], "mlworkload");
    assert_eq!(
        role["sourceResourceType"],
        "Microsoft.MachineLearningServices/workspaces"
    );
    assert_eq!(role["location"], "westeurope");
    assert_eq!(role["risk"], "medium");
    assert_eq!(
        role["reasons"],
        serde_json::json!(["writes cluster-wide (services, services/proxy)"])
    );
    assert_eq!(role["rules"].as_array().unwrap().len(), 1);
    assert_eq!(role["rules"][0]["risk"], "medium");
    assert_eq!(
        role["rules"][0]["verbs"],
        serde_json::json!(["create", "get", "list", "patch", "update", "delete"])
    );
    assert_eq!(
        emu.request_lines(),
        [format!("GET /subscriptions/{SUB}{ROLES_URL}")]
    );
}

#[test]
fn role_show_as_a_table_lists_the_reasons_then_one_row_per_rule() {
    let emu = Emulator::start();
    // By its full name, in another case.
    let out = run(emu.cli().args(argv(
        "role show -l westeurope microsoft.compute/virtualMachineScaleSets/TEST-ADMIN -o table",
    )));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[..8],
        [
            "test-admin (Microsoft.Compute/virtualMachineScaleSets) in westeurope: risk high",
            "  - allows escalate, bind or impersonate",
            "  - reads secrets",
            "  - can exec or attach into pods",
            "  - writes RBAC objects (roles and bindings)",
            "  - uses wildcards",
            "  - writes cluster-wide (*)",
            "",
        ]
    );
    let header: Vec<&str> = lines[8].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "Risk",
            "Verbs",
            "ApiGroups",
            "Resources",
            "ResourceNames",
            "NonResourceURLs",
            "Reasons"
        ]
    );
    assert!(
        lines[10].starts_with("high    *        \"\"           *"),
        "{}",
        out.stdout
    );
    assert!(
        lines[10].ends_with("uses wildcards; writes cluster-wide (*)"),
        "{}",
        out.stdout
    );
    assert_eq!(lines.len(), 11, "{}", out.stdout);

    let low = run(emu
        .cli()
        .args(argv("role show -l westeurope test-pod-reader -o table")));
    assert!(
        low.stdout.starts_with(
            "test-pod-reader (Microsoft.Compute/virtualMachineScaleSets) in westeurope: risk low\n  - reads only, no secrets\n"
        ),
        "{}",
        low.stdout
    );
}

#[test]
fn role_show_of_a_role_not_in_the_catalog_exits_3_and_bad_names_send_nothing() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(["role", "show", "-l", "westeurope", "nope"]));
    assert_eq!(out.code, 3);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "ERROR: role 'nope' not found in westeurope\nhint: see the roles with 'aks-trustedaccess role list -l westeurope -o table'\n"
    );
    let before = emu.requests().len();
    let out = run(emu.cli().args(["role", "show", "-l", "westeurope", " "]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.starts_with("ERROR: invalid role name"),
        "{}",
        out.stderr
    );
    let out = run(emu
        .cli()
        .args(["role", "show", "-l", "west/europe", "mlworkload"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(emu.requests().len(), before, "nothing sent for bad input");
}
