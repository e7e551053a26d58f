//! Source resources in the emulator's world: read by id with a generic ARM GET, with or without
//! a managed identity, deleted (404), unreadable (403), loaded from a state file and generated in
//! fleets.

use crate::harness::*;
use serde_json::{Value, json};

const WS: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ml-workspace";

fn get(emu: &Emulator, path: &str) -> (u16, Value) {
    send(emu, "GET", path, None)
}

fn send(emu: &Emulator, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = emu
        .control_client()
        .request(method.parse().unwrap(), format!("{}{path}", emu.url))
        .bearer_auth("t");
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

/// A state file with one source of each kind.
fn sources_state() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    let rg = format!("/subscriptions/{SUB}/resourceGroups/rg1/providers");
    let state = json!({
        "subscriptions": [{"subscriptionId": SUB, "displayName": "S"}],
        "resources": [
            {"id": format!("{rg}/Microsoft.MachineLearningServices/workspaces/with-identity"),
             "location": "eastus",
             "identity": {"type": "SystemAssigned", "principalId": "aaaaaaaa-0000-0000-0000-000000000001"}},
            {"id": format!("{rg}/Microsoft.MachineLearningServices/workspaces/no-identity")},
            {"id": format!("{rg}/Microsoft.DataProtection/backupVaults/secret"), "readable": false,
             "identity": {"type": "SystemAssigned"}},
            {"id": format!("/subscriptions/{SUB}/providers/Microsoft.Security/pricings/CloudPosture/securityOperators/DefenderCSPMSecurityOperator"),
             "identity": {"type": "SystemAssigned"}}
        ]
    });
    std::fs::write(file.path(), state.to_string()).unwrap();
    file
}

#[test]
fn a_source_is_read_by_id_with_its_identity() {
    let emu = Emulator::start();
    let (status, body) = get(&emu, &format!("{WS}?api-version=2024-04-01"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], WS);
    assert_eq!(body["type"], "Microsoft.MachineLearningServices/workspaces");
    assert_eq!(body["identity"]["type"], "SystemAssigned");
    assert_eq!(
        body["identity"]["tenantId"],
        "11111111-1111-1111-1111-111111111111"
    );
    let principal = body["identity"]["principalId"].as_str().unwrap();
    assert_eq!(principal.len(), 36);
    // The same id in other casing is the same resource, with the same stable principal id.
    let (status, again) = get(
        &emu,
        &format!("{}?api-version=2024-04-01", WS.to_uppercase()),
    );
    assert_eq!(status, 200);
    assert_eq!(again["identity"]["principalId"], principal);
}

#[test]
fn api_versions_the_provider_does_not_serve_are_refused() {
    let emu = Emulator::start();
    let (status, body) = get(&emu, &format!("{WS}?api-version=2019-01-01"));
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "NoRegisteredProviderFound");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("The supported api-versions are '2025-04-01-preview, 2024-10-01")
    );
    // The provider endpoint lists what each type accepts.
    let (status, provider) = get(
        &emu,
        &format!(
            "/subscriptions/{SUB}/providers/Microsoft.MachineLearningServices?api-version=2022-12-01"
        ),
    );
    assert_eq!(status, 200);
    assert_eq!(provider["resourceTypes"][0]["resourceType"], "workspaces");
    assert_eq!(provider["resourceTypes"][0]["apiVersions"][1], "2024-10-01");
}

#[test]
fn deleted_identityless_and_unreadable_sources_answer_as_arm_does() {
    let state = sources_state();
    let emu = Emulator::start_with(&["--state", state.path().to_str().unwrap()]);
    let rg = format!("/subscriptions/{SUB}/resourceGroups/rg1/providers");
    let v = "?api-version=2024-04-01";
    let (status, body) = get(
        &emu,
        &format!("{rg}/Microsoft.MachineLearningServices/workspaces/with-identity{v}"),
    );
    assert_eq!(
        (status, &body["identity"]["principalId"]),
        (200, &json!("aaaaaaaa-0000-0000-0000-000000000001"))
    );
    assert_eq!(body["location"], "eastus");
    let (status, body) = get(
        &emu,
        &format!("{rg}/Microsoft.MachineLearningServices/workspaces/no-identity{v}"),
    );
    assert_eq!(status, 200);
    assert!(body.get("identity").is_none(), "{body}");
    let (status, body) = get(
        &emu,
        &format!("{rg}/Microsoft.DataProtection/backupVaults/secret{v}"),
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("AuthorizationFailed"))
    );
    let (status, body) = get(
        &emu,
        &format!("{rg}/Microsoft.MachineLearningServices/workspaces/gone{v}"),
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("ResourceNotFound"))
    );
    let (status, body) = get(
        &emu,
        &format!(
            "/subscriptions/{SUB}/resourceGroups/nogroup/providers/Microsoft.MachineLearningServices/workspaces/x{v}"
        ),
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("ResourceGroupNotFound"))
    );
    let (status, body) = get(
        &emu,
        &format!(
            "/subscriptions/{SUB}/providers/Microsoft.Security/pricings/CloudPosture/securityOperators/DefenderCSPMSecurityOperator{v}"
        ),
    );
    assert_eq!(status, 200);
    assert_eq!(
        body["type"],
        "Microsoft.Security/pricings/securityOperators"
    );
    // Deleting a source leaves bindings to it dangling; a later PUT makes a new resource there.
    let id = format!("{rg}/Microsoft.MachineLearningServices/workspaces/with-identity");
    assert_eq!(send(&emu, "DELETE", &format!("{id}{v}"), None).0, 200);
    assert_eq!(get(&emu, &format!("{id}{v}")).0, 404);
    assert_eq!(send(&emu, "DELETE", &format!("{id}{v}"), None).0, 204);
    let (status, body) = send(
        &emu,
        "PUT",
        &format!("{id}{v}"),
        Some(json!({"location": "westus2"})),
    );
    assert_eq!(status, 201);
    assert!(body.get("identity").is_none());
    // The state file keeps every kind.
    let saved = emu.state();
    let resources = saved["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 4);
    assert!(resources.iter().any(|r| r["readable"] == false));
}

#[test]
fn fleets_have_dangling_identityless_and_unreadable_sources() {
    let emu = Emulator::start_with(&["--fleet", "2x10x2"]);
    let state = emu.state();
    let sources: Vec<String> = state["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["bindings"].as_array().unwrap().clone())
        .map(|b| b["sourceResourceId"].as_str().unwrap().to_string())
        .collect();
    let resources = state["resources"].as_array().unwrap();
    let find = |id: &str| resources.iter().find(|r| r["id"] == id);
    let dangling = sources.iter().filter(|s| find(s).is_none()).count();
    let identityless = sources
        .iter()
        .filter(|s| find(s).is_some_and(|r| r.get("identity").is_none()))
        .count();
    let unreadable = sources
        .iter()
        .filter(|s| find(s).is_some_and(|r| r["readable"] == false))
        .count();
    assert_eq!(sources.len(), 36);
    assert!(
        dangling >= 2 && identityless >= 1 && unreadable >= 1,
        "{dangling} {identityless} {unreadable}"
    );
    assert_eq!(state["clusters"][0]["tags"]["env"], "prod");
    let (status, _) = get(&emu, &format!("{}?api-version=2024-04-01", sources[0]));
    assert_eq!(status, 200);
}
