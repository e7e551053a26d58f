//! `rolebinding history --workspace` and `audit --since … --workspace`: the same history read
//! from a Log Analytics workspace's `AzureActivity` table, which keeps what the activity log's
//! 90 days have dropped. The emulator's workspace holds its subscription's activity; its query
//! API checks the token's audience and answers in the service's shapes.

use crate::harness::*;
use base64::Engine;
use serde_json::{Value, json};

pub const WORKSPACE: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.OperationalInsights/workspaces/law1";
const LOG_ANALYTICS: &str = "https://api.loganalytics.io";

/// An unsigned JWT with these claims (the emulator reads, never verifies, them).
fn jwt(claims: Value) -> String {
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.sig",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    )
}

/// Creates the workspace through ARM (the emulator's generic resources) and returns its
/// customer id, read back from ARM.
pub fn create_workspace(emu: &Emulator) -> String {
    let url = format!("{}{WORKSPACE}?api-version=2023-09-01", emu.url);
    let client = emu.control_client();
    let put = client
        .put(&url)
        .bearer_auth("x")
        .json(&json!({"location": "westeurope"}))
        .send()
        .unwrap();
    assert_eq!(put.status().as_u16(), 201);
    let got: Value = client
        .get(&url)
        .bearer_auth("x")
        .send()
        .unwrap()
        .json()
        .unwrap();
    got["properties"]["customerId"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Seeds past binding operations (`POST /_emulator/activity`).
pub fn seed_past(emu: &Emulator, past: Value) {
    let r = emu
        .control_client()
        .post(format!("{}/_emulator/activity", emu.url))
        .json(&past)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().unwrap());
}

fn query(emu: &Emulator, workspace: &str, token: &str, body: Value) -> (u16, Value) {
    let r = emu
        .control_client()
        .post(format!("{}/v1/workspaces/{workspace}/query", emu.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

#[test]
fn the_emulators_workspace_keeps_what_the_activity_log_has_dropped() {
    let emu = Emulator::start();
    let customer_id = create_workspace(&emu);
    let run_ok = run(emu.cli().args(create_args("recent", ML_ROLE)));
    assert_eq!(run_ok.code, 0, "{}", run_ok.stderr);
    seed_past(
        &emu,
        json!([{"binding": binding_path("cluster2", "old"), "operation": "write", "daysAgo": 200,
                "token": jwt(json!({"upn": "old@contoso.com", "idtyp": "user"}))}]),
    );
    let la_token = jwt(json!({"aud": LOG_ANALYTICS, "appid": "a"}));
    let (status, body) = query(
        &emu,
        &customer_id,
        &la_token,
        json!({"query": "AzureActivity | where OperationNameValue startswith 'microsoft.containerservice/managedclusters/trustedaccessrolebindings/' | project TimeGenerated, ActivityStatusValue, Caller, _ResourceId | order by TimeGenerated asc", "timespan": "P365D"}),
    );
    assert_eq!(status, 200, "{body}");
    let table = &body["tables"][0];
    assert_eq!(table["name"], "PrimaryResult");
    assert_eq!(
        table["columns"],
        json!([{"name": "TimeGenerated", "type": "datetime"}, {"name": "ActivityStatusValue", "type": "string"},
               {"name": "Caller", "type": "string"}, {"name": "_ResourceId", "type": "string"}])
    );
    let rows: Vec<(String, String, String)> = table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r[1].as_str().unwrap().to_string(),
                r[2].as_str().unwrap().to_string(),
                r[3].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let old = binding_path("cluster2", "old").to_lowercase();
    let recent = binding_path("cluster2", "recent").to_lowercase();
    assert_eq!(
        rows,
        [
            ("Start".into(), "old@contoso.com".into(), old.clone()),
            ("Success".into(), "old@contoso.com".into(), old),
            ("Start".into(), "user@example.com".into(), recent.clone()),
            ("Success".into(), "user@example.com".into(), recent),
        ]
    );
    // A shorter timespan leaves the old write out.
    let (_, body) = query(
        &emu,
        &customer_id,
        &la_token,
        json!({"query": "AzureActivity | project Caller", "timespan": "P30D"}),
    );
    assert_eq!(body["tables"][0]["rows"].as_array().unwrap().len(), 2);
    // The activity log itself no longer serves it: its window is at most 90 days.
    let out = run(emu.cli().args(["rolebinding", "history", "-o", "json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let changes = json(&out.stdout);
    let names: Vec<&str> = changes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["recent"]);
}

#[test]
fn the_emulators_query_api_refuses_as_the_service_does() {
    let emu = Emulator::start();
    let customer_id = create_workspace(&emu);
    let la_token = jwt(json!({"aud": LOG_ANALYTICS}));
    let arm_token = jwt(json!({"aud": "https://management.azure.com/"}));
    let ok = json!({"query": "AzureActivity", "timespan": "P1D"});
    let (status, body) = query(&emu, &customer_id, &arm_token, ok.clone());
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "InvalidTokenError");
    assert_eq!(body["error"]["innererror"]["code"], "InvalidAudience");
    let (status, body) = query(
        &emu,
        "11111111-1111-4111-8111-111111111111",
        &la_token,
        ok.clone(),
    );
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "WorkspaceNotFoundError");
    let (status, body) = query(
        &emu,
        &customer_id,
        &la_token,
        json!({"query": "AzureActivity | summarize count() by Caller"}),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "BadArgumentError");
    assert_eq!(body["error"]["innererror"]["code"], "SyntaxError");
    assert!(
        body["error"]["innererror"]["innererror"]["message"]
            .as_str()
            .unwrap()
            .contains("'summarize'"),
        "{body}"
    );
    let (status, body) = query(&emu, &customer_id, &la_token, json!({"query": "Heartbeat"}));
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["innererror"]["code"], "SemanticError");
    let (status, _) = query(
        &emu,
        &customer_id,
        &la_token,
        json!({"query": "AzureActivity", "timespan": "30 days"}),
    );
    assert_eq!(status, 400);
    // The requests are recorded with their token's audience.
    let audiences: Vec<Value> = emu
        .requests()
        .iter()
        .filter(|r| r["path"].as_str().unwrap().starts_with("/v1/"))
        .map(|r| r["audience"].clone())
        .collect();
    assert_eq!(audiences[0], "https://management.azure.com/");
    assert!(
        audiences[1..].iter().all(|a| a == LOG_ANALYTICS),
        "{audiences:?}"
    );
}
