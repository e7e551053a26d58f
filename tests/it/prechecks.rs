//! The checks made before a request: the service's role rule (a role's type is a whole-segment
//! prefix of the source's type, so Defender's nested sources pass), `--skip-validation` skipping
//! every client-side role check, and a mistyped location named as such with the nearest names.

use crate::harness::*;
use serde_json::json;

const API: &str = "api-version=2026-08-01";
const DEFENDER_SOURCE: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Security/pricings/CloudPosture/securityOperators/DefenderCSPMSecurityOperator";
const DEFENDER_ROLE: &str = "Microsoft.Security/pricings/microsoft-defender-operator";
const BACKUP_SOURCE: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.DataProtection/backupVaults/vault1";

fn create(name: &str, source: &str, roles: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "rolebinding",
        "create",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster1",
        "-n",
        name,
        "--source-resource-id",
        source,
        "--roles",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(roles.iter().map(|r| r.to_string()));
    args
}

fn puts(emu: &Emulator) -> Vec<serde_json::Value> {
    emu.requests()
        .into_iter()
        .filter(|r| r["method"] == "PUT")
        .map(|r| r["body"].clone())
        .collect()
}

#[test]
fn a_defender_binding_with_a_nested_source_is_accepted() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(create(
        "defender-cloudposture",
        DEFENDER_SOURCE,
        &[DEFENDER_ROLE],
    )));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let binding = json(&out.stdout);
    assert_eq!(binding["sourceResourceId"], DEFENDER_SOURCE);
    assert_eq!(binding["roles"], json!([DEFENDER_ROLE]));
    let lines = emu.request_lines();
    let path = binding_path("cluster1", "defender-cloudposture");
    assert_eq!(lines[0], format!("GET {path}?{API}"));
    assert_eq!(lines[1], format!("GET {}?{API}", cluster_path("cluster1")));
    assert_eq!(
        lines[2],
        format!(
            "GET /subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/westeurope/trustedAccessRoles?{API}"
        )
    );
    assert_eq!(lines[3], format!("PUT {path}?{API}"));
    assert_eq!(
        puts(&emu),
        [json!({"properties": {"sourceResourceId": DEFENDER_SOURCE, "roles": [DEFENDER_ROLE]}})]
    );
}

#[test]
fn a_role_of_a_longer_or_other_type_is_still_refused_before_any_request() {
    let emu = Emulator::start();
    for role in [
        "Microsoft.Security/pricings/securityOperators/x/microsoft-defender-operator",
        "Microsoft.Security/pricingsX/microsoft-defender-operator",
        "Microsoft.MachineLearningServices/workspaces/mlworkload",
    ] {
        let out = run(emu.cli().args(create("d", DEFENDER_SOURCE, &[role])));
        assert_eq!(out.code, 2, "{role}: {}", out.stderr);
        assert!(
            out.stderr.contains("is for sources of type"),
            "{}",
            out.stderr
        );
    }
    assert!(emu.requests().is_empty());
}

#[test]
fn skip_validation_skips_every_client_side_role_check() {
    let emu = Emulator::start();
    // A type mismatch and a bare role name: both go to the service, which refuses them.
    for (role, code) in [
        (
            "Microsoft.MachineLearningServices/workspaces/mlworkload",
            "TrustedAccessRoleSourceTypeMismatch",
        ),
        ("backup-operator", "InvalidTrustedAccessRole"),
    ] {
        let out = run(emu
            .cli()
            .args(create("b1", BACKUP_SOURCE, &[role]))
            .arg("--skip-validation"));
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(
            out.stderr.contains(&format!("Code: {code}")) || out.stderr.contains("(BadRequest)"),
            "{}",
            out.stderr
        );
    }
    let lines = emu.request_lines();
    let path = binding_path("cluster1", "b1");
    assert_eq!(
        lines,
        [
            format!("GET {path}?{API}"),
            format!("PUT {path}?{API}"),
            format!("GET {path}?{API}"),
            format!("PUT {path}?{API}"),
        ],
        "no cluster or catalog read"
    );
    assert_eq!(
        puts(&emu)[1],
        json!({"properties": {"sourceResourceId": BACKUP_SOURCE, "roles": ["backup-operator"]}})
    );
}

#[test]
fn a_mistyped_location_is_unknown_with_the_nearest_names() {
    let emu = Emulator::start();
    let out = run(emu.cli().args(["role", "list", "-l", "westeurop"]));
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (
            2,
            "",
            "ERROR: unknown location 'westeurop'\nhint: did you mean westeurope? (see 'az account list-locations -o table')\n"
        )
    );
    assert_eq!(
        emu.request_lines(),
        [
            format!(
                "GET /subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/westeurop/trustedAccessRoles?{API}"
            ),
            format!("GET /subscriptions/{SUB}/locations?api-version=2022-12-01"),
        ]
    );

    let emu = Emulator::start();
    let out = run(emu.cli().args(["role", "list", "-l", "West Europ"]));
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "ERROR: unknown location 'West Europ'\nhint: did you mean westeurope? (see 'az account list-locations -o table')\n"
    );
    assert_eq!(emu.request_lines().len(), 1, "only the location list");

    // A real location name still gets the roles in one request.
    let emu = Emulator::start();
    let out = run(emu
        .cli()
        .args(["role", "list", "-l", "northeurope", "-o", "none"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(emu.request_lines().len(), 1);
}
