//! The emulator's own ARM semantics, checked directly over HTTP.

use crate::harness::*;
use serde_json::{Value, json};

pub(crate) fn call(
    emu: &Emulator,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let client = emu.control_client();
    let mut req = client.request(method.parse().unwrap(), format!("{}{path}", emu.url));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        headers,
    )
}

#[test]
fn arm_requests_need_a_bearer_token() {
    let emu = Emulator::start();
    let (status, body, _) = call(
        &emu,
        "GET",
        "/subscriptions?api-version=2022-12-01",
        None,
        None,
    );
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "AuthenticationFailed");
    let (status, _, _) = call(
        &emu,
        "GET",
        "/subscriptions?api-version=2022-12-01",
        Some("anything"),
        None,
    );
    assert_eq!(status, 200);
}

#[test]
fn paths_are_case_insensitive_and_names_keep_their_casing() {
    let emu = Emulator::start();
    let path = format!(
        "/SUBSCRIPTIONS/{SUB}/resourcegroups/RG1/providers/microsoft.containerservice/MANAGEDCLUSTERS/Cluster1/trustedaccessrolebindings/ML-BINDING?api-version=2026-08-01"
    );
    let (status, body, _) = call(&emu, "GET", &path, Some("t"), None);
    assert_eq!(status, 200);
    assert_eq!(body["name"], "ml-binding");
}

#[test]
fn the_api_version_is_required() {
    let emu = Emulator::start();
    let (status, body, _) = call(
        &emu,
        "GET",
        &format!("/subscriptions/{SUB}/locations"),
        Some("t"),
        None,
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("MissingApiVersionParameter"))
    );
}

#[test]
fn put_answers_201_for_a_create_and_an_update_with_an_operation_to_poll() {
    let emu = Emulator::start_with(&["--retry-after", "2"]);
    let path = format!("{}?api-version=2026-08-01", binding_path("cluster2", "x1"));
    let body = json!({"properties": {"sourceResourceId": ML_SOURCE, "roles": [ML_ROLE]}});
    let (status, created, headers) = call(&emu, "PUT", &path, Some("t"), Some(body.clone()));
    assert_eq!(status, 201);
    assert_eq!(created["properties"]["provisioningState"], "Updating");
    assert_eq!(headers["retry-after"], "2");
    let operation = headers["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .to_string();
    let op_path = operation.strip_prefix(&emu.url).unwrap().to_string();
    assert_eq!(
        call(&emu, "GET", &op_path, Some("t"), None).1["status"],
        "InProgress"
    );
    assert_eq!(
        call(&emu, "GET", &op_path, Some("t"), None).1["status"],
        "Succeeded"
    );
    // The recorded service answers an update PUT 201 too, with the binding Updating.
    let (status, updated, _) = call(&emu, "PUT", &path, Some("t"), Some(body));
    assert_eq!(status, 201);
    assert_eq!(updated["properties"]["provisioningState"], "Updating");
}

#[test]
fn put_runs_the_services_checks() {
    let emu = Emulator::start();
    let put = |name: &str, body: Value| {
        call(
            &emu,
            "PUT",
            &format!("{}?api-version=2026-08-01", binding_path("cluster1", name)),
            Some("t"),
            Some(body),
        )
    };
    let cases = [
        (
            "bad_name",
            json!({"properties": {"sourceResourceId": ML_SOURCE, "roles": [ML_ROLE]}}),
            "InvalidParameter",
        ),
        (
            "x",
            json!({"properties": {"roles": [ML_ROLE]}}),
            "InvalidParameter",
        ),
        (
            "x",
            json!({"properties": {"sourceResourceId": ML_SOURCE, "roles": []}}),
            "InvalidParameter",
        ),
        (
            "x",
            json!({"properties": {"sourceResourceId": ML_SOURCE, "roles": ["Microsoft.MachineLearningServices/workspaces/nope"]}}),
            "BadRequest",
        ),
        (
            "x",
            json!({"properties": {"sourceResourceId": ML_SOURCE, "roles": ["Microsoft.DataProtection/backupVaults/backup-operator"]}}),
            "BadRequest",
        ),
        (
            "ml-binding",
            json!({"properties": {"sourceResourceId": ML_SOURCE, "roles": [ML_ROLE]}}),
            "BadRequest",
        ),
    ];
    for (name, body, code) in cases {
        let (status, answer, _) = put(name, body.clone());
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some(code)),
            "{name} {body}: {answer}"
        );
    }
    // Role types compare case-insensitively, as the service does.
    let (status, _, _) = put(
        "y",
        json!({"properties": {"sourceResourceId": ML_SOURCE, "roles": ["microsoft.machinelearningservices/WORKSPACES/mlworkload"]}}),
    );
    assert_eq!(status, 201);
}

#[test]
fn delete_answers_202_with_both_headers_and_204_when_missing() {
    let emu = Emulator::start();
    let path = format!(
        "{}?api-version=2026-08-01",
        binding_path("cluster1", "ml-binding")
    );
    let (status, _, headers) = call(&emu, "DELETE", &path, Some("t"), None);
    assert_eq!(status, 202);
    assert!(headers.contains_key("azure-asyncoperation") && headers.contains_key("location"));
    let missing = format!(
        "{}?api-version=2026-08-01",
        binding_path("cluster1", "nope")
    );
    assert_eq!(call(&emu, "DELETE", &missing, Some("t"), None).0, 204);
}

#[test]
fn a_state_file_seeds_the_world_and_state_round_trips() {
    let emu = Emulator::start();
    let state = emu.state();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let mut edited = state.clone();
    edited["clusters"][1]["bindings"] =
        json!([{"name": "seeded", "sourceResourceId": ML_SOURCE, "roles": [ML_ROLE]}]);
    std::fs::write(&file, edited.to_string()).unwrap();
    let seeded = Emulator::start_with(&["--state", file.to_str().unwrap()]);
    let out = run(seeded.cli().args([
        "rolebinding",
        "list",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster2",
        "--query",
        "[].name",
    ]));
    assert_eq!(json(&out.stdout), json!(["seeded"]));
}

#[test]
fn over_tls_the_links_it_sends_are_https_and_followed() {
    let emu = Emulator::start_tls(&["--page-size", "4"]);
    let ca = emu.home.path().join("ca.pem");
    let out = run(emu
        .cli()
        .env("SSL_CERT_FILE", &ca)
        .args(["role", "list", "-l", "westeurope"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        fixture("role-list.json"),
        "three pages over https"
    );
    let out = run(emu
        .cli()
        .env("SSL_CERT_FILE", &ca)
        .args(create_args("tls", ML_ROLE)));
    assert_eq!(
        out.code, 0,
        "the operation URL is https too: {}",
        out.stderr
    );
    assert_eq!(json(&out.stdout)["provisioningState"], "Succeeded");
}

/// The emulator applies the service's documented rules with its own code (emulator/rules.rs):
/// names the CLI's parser would also refuse are refused here without the CLI, and the
/// role-prefix rule goes by whole segments, so Defender's nested source is accepted.
#[test]
fn the_emulator_rejects_what_the_service_rejects_by_its_own_rules() {
    let emu = Emulator::start();
    let put = |name: &str, source: &str, role: &str| {
        let (status, answer, _) = call(
            &emu,
            "PUT",
            &format!("{}?api-version=2026-08-01", binding_path("cluster1", name)),
            Some("t"),
            Some(json!({"properties": {"sourceResourceId": source, "roles": [role]}})),
        );
        (
            status,
            answer["subcode"].as_str().unwrap_or_default().to_string(),
        )
    };
    let defender = format!(
        "/subscriptions/{SUB}/providers/Microsoft.Security/pricings/CloudPosture/securityOperators/DefenderCSPMSecurityOperator"
    );
    let defender_role = "Microsoft.Security/pricings/microsoft-defender-operator";
    let too_long = "a".repeat(25);
    for (name, source, role, subcode) in [
        (
            too_long.as_str(),
            ML_SOURCE,
            ML_ROLE,
            "InvalidTrustedAccessRoleBindingName",
        ),
        (
            "under_score",
            ML_SOURCE,
            ML_ROLE,
            "InvalidTrustedAccessRoleBindingName",
        ),
        ("x", "not-an-id", ML_ROLE, "InvalidSourceResourceId"),
        (
            "x",
            "/subscriptions/s/resourceGroups/g",
            ML_ROLE,
            "InvalidSourceResourceId",
        ),
        // A role whose type is a prefix of the source's but not by whole segments.
        (
            "x",
            defender.as_str(),
            "Microsoft.Security/pricing/microsoft-defender-operator",
            "InvalidTrustedAccessRole",
        ),
        (
            "x",
            ML_SOURCE,
            defender_role,
            "TrustedAccessRoleSourceTypeMismatch",
        ),
    ] {
        assert_eq!(
            put(name, source, role),
            (400, subcode.to_string()),
            "{name} {source} {role}"
        );
    }
    let longest = "a".repeat(24);
    assert_eq!(put(&longest, ML_SOURCE, ML_ROLE).0, 201);
    assert_eq!(
        put("defender-cloudposture", &defender, defender_role).0,
        201
    );
}
