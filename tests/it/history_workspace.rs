//! `rolebinding history --workspace` and `audit --since … --workspace`: the same history read
//! from a Log Analytics workspace's `AzureActivity` table, which keeps what the activity log's
//! 90 days have dropped. The emulator's workspace holds its subscription's activity; its query
//! API checks the token's audience and answers in the service's shapes.

use crate::harness::*;
use crate::history::{BINDING, jwt, service_principal, three_writes, user};
use serde_json::{Value, json};

pub const WORKSPACE: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.OperationalInsights/workspaces/law1";
const LOG_ANALYTICS: &str = "https://api.loganalytics.io";

/// The CLI with a Log Analytics token beside the static ARM one.
fn cli(emu: &Emulator) -> assert_cmd::Command {
    let mut cmd = emu.cli();
    cmd.env(
        "AKS_TRUSTEDACCESS_LOGANALYTICS_ACCESS_TOKEN",
        jwt(json!({"aud": LOG_ANALYTICS, "appid": "reader"})),
    );
    cmd
}

/// The Log Analytics requests recorded (`POST /v1/…`).
fn queries(emu: &Emulator) -> Vec<Value> {
    emu.requests()
        .into_iter()
        .filter(|r| r["path"].as_str().unwrap().starts_with("/v1/"))
        .collect()
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

#[test]
fn writes_by_two_identities_read_the_same_from_the_workspace_as_from_the_activity_log() {
    let emu = Emulator::start_with(&["--page-size", "1"]);
    let customer_id = create_workspace(&emu);
    three_writes(&emu);
    let la_token = jwt(json!({"aud": LOG_ANALYTICS, "appid": "reader"}));
    let binding = ["-g", "rg1", "--cluster-name", "cluster2", "-n", BINDING];
    for scope in [
        &[][..],
        &["-g", "rg1"][..],
        &["-g", "rg1", "--cluster-name", "cluster2"][..],
        &binding[..],
    ] {
        for format in [
            &["-o", "json"][..],
            &["-o", "table"][..],
            &["-o", "yaml"][..],
            &["-o", "tsv"][..],
        ] {
            let log = run(cli(&emu)
                .args(["rolebinding", "history"])
                .args(scope)
                .args(format));
            let workspace = run(cli(&emu)
                .args(["rolebinding", "history", "--workspace", &customer_id])
                .args(scope)
                .args(format));
            assert_eq!((log.code, workspace.code), (0, 0), "{}", workspace.stderr);
            assert_eq!(workspace.stdout, log.stdout, "{scope:?} {format:?}");
            assert_eq!(workspace.stderr, "");
            // Neither token is ever printed.
            for text in [&workspace.stdout, &log.stdout] {
                assert!(!text.contains(&la_token) && !text.contains(TOKEN));
            }
        }
    }
    let out = run(cli(&emu)
        .args([
            "rolebinding",
            "history",
            "--workspace",
            &customer_id,
            "-o",
            "json",
        ])
        .args(binding));
    let seen: Vec<(String, String)> = json(&out.stdout)
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["operation"].as_str().unwrap().to_string(),
                c["callerType"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        seen,
        pairs(&[
            ("delete", "User"),
            ("update", "ServicePrincipal"),
            ("write", "User")
        ])
    );
    // One query per run, by POST to the workspace, with a Log Analytics token, for the binding.
    let sent = queries(&emu);
    assert_eq!(sent.len(), 17, "{sent:#?}");
    let last = sent.last().unwrap();
    assert_eq!(last["method"], "POST");
    assert_eq!(last["path"], format!("/v1/workspaces/{customer_id}/query"));
    assert_eq!(last["audience"], LOG_ANALYTICS);
    assert_eq!(last["body"]["timespan"], "P90D");
    let query = last["body"]["query"].as_str().unwrap();
    assert_eq!(
        query,
        format!(
            "AzureActivity | where OperationNameValue startswith 'MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/TRUSTEDACCESSROLEBINDINGS/' \
             | where _ResourceId =~ '{}' | project TimeGenerated, OperationNameValue, ActivityStatusValue, \
             ActivitySubstatusValue, Caller, CallerIpAddress, CorrelationId, _ResourceId, SubscriptionId, \
             ResourceGroup, Claims, Properties | order by TimeGenerated desc | take 5001",
            binding_path("cluster2", BINDING)
        )
    );
    // ARM got the activity-log reads with the static token, never a Log Analytics one.
    for r in emu.requests() {
        if r["path"].as_str().unwrap().starts_with("/subscriptions/") {
            assert_eq!(r["audience"], Value::Null, "{r}");
        }
    }
}

#[test]
fn an_event_older_than_90_days_shows_only_through_the_workspace() {
    let emu = Emulator::start();
    let customer_id = create_workspace(&emu);
    seed_past(
        &emu,
        json!([
            {"binding": binding_path("cluster2", "old"), "operation": "write", "daysAgo": 200, "token": user()},
            {"binding": binding_path("cluster2", "old"), "operation": "delete", "daysAgo": 120, "token": service_principal()},
        ]),
    );
    let out = run(cli(&emu).args(["rolebinding", "history", "-o", "json"]));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "[]\n"),
        "{}",
        out.stderr
    );
    let refused = run(cli(&emu).args(["rolebinding", "history", "--since", "365d"]));
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("longer with --workspace"),
        "{}",
        refused.stderr
    );
    let args = |extra: &[&str]| {
        let mut a = vec!["--since", "365d", "--workspace", &customer_id, "-o", "tsv"];
        a.extend_from_slice(extra);
        a.extend([
            "--query",
            "[].[operation, name, caller, callerType, status]",
        ]);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    // The first write in the window may have updated an older binding: `write`, as the log says.
    let expected = "delete\told\t33333333-3333-3333-3333-333333333333\tServicePrincipal\tSucceeded\n\
                    write\told\tana@contoso.com\tUser\tSucceeded\n";
    let history = run(cli(&emu).args(["rolebinding", "history"]).args(args(&[])));
    assert_eq!(history.stdout, expected, "{}", history.stderr);
    let audit = run(cli(&emu).args(["audit"]).args(args(&[])));
    assert_eq!(audit.code, 0, "{}", audit.stderr);
    assert_eq!(audit.stdout, expected);
    let sent = queries(&emu);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0]["body"]["timespan"], "P365D");
    assert!(
        sent[1]["body"]["query"]
            .as_str()
            .unwrap()
            .contains(&format!("| where SubscriptionId in~ ('{SUB}'")),
        "{}",
        sent[1]["body"]
    );
}

#[test]
fn a_workspace_given_by_resource_id_is_read_through_arm_first() {
    let emu = Emulator::start();
    let customer_id = create_workspace(&emu);
    three_writes(&emu);
    emu.control_client()
        .delete(format!("{}/_emulator/requests", emu.url))
        .send()
        .unwrap();
    let out = run(cli(&emu).args([
        "rolebinding",
        "history",
        "-g",
        "rg1",
        "--workspace",
        WORKSPACE,
        "-o",
        "tsv",
        "--query",
        "[].operation",
    ]));
    assert_eq!(out.stdout, "delete\nupdate\nwrite\n", "{}", out.stderr);
    assert_eq!(
        emu.request_lines(),
        [
            format!("GET {WORKSPACE}?api-version=2023-09-01"),
            format!("POST /v1/workspaces/{customer_id}/query"),
        ]
    );
    let missing = WORKSPACE.replace("law1", "law2");
    let out = run(cli(&emu).args(["rolebinding", "history", "--workspace", &missing]));
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("law2"), "{}", out.stderr);
}

#[test]
fn bad_workspace_input_is_refused_before_any_request() {
    let emu = Emulator::start();
    for (args, says) in [
        (
            "rolebinding history --workspace law1",
            "invalid --workspace 'law1'",
        ),
        (
            "rolebinding history --workspace /subscriptions/x/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w",
            "invalid --workspace",
        ),
        (
            "rolebinding history --since 731d --workspace 00000000-0000-4000-8000-000000000001",
            "invalid --since '731d'",
        ),
        (
            "audit --workspace 00000000-0000-4000-8000-000000000001",
            "--since",
        ),
        (
            "rolebinding list -g rg1 --cluster-name cluster1 --workspace 00000000-0000-4000-8000-000000000001",
            "--workspace",
        ),
    ] {
        let out = run(cli(&emu).args(argv(args)));
        assert_eq!(out.code, 2, "{args}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{args}: {}", out.stderr);
    }
    let out = run(emu
        .cli()
        .env("AKS_TRUSTEDACCESS_LOGANALYTICS_ENDPOINT", "http://10.0.0.1")
        .args(argv(
            "rolebinding history --workspace 00000000-0000-4000-8000-000000000001",
        )));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("invalid AKS_TRUSTEDACCESS_LOGANALYTICS_ENDPOINT"),
        "{}",
        out.stderr
    );
    assert!(emu.request_lines().is_empty(), "{:?}", emu.request_lines());
}

#[test]
fn log_analytics_refusals_are_decoded_plainly() {
    let emu = Emulator::start();
    let customer_id = create_workspace(&emu);
    let history = format!("rolebinding history --workspace {customer_id}");
    // The static ARM token is never sent to Log Analytics: without its own token, nothing is.
    let out = run(emu
        .cli()
        .env_remove("AKS_TRUSTEDACCESS_LOGANALYTICS_ACCESS_TOKEN")
        .args(argv(&history)));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stderr.contains(TOKEN), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("AKS_TRUSTEDACCESS_LOGANALYTICS_ACCESS_TOKEN"),
        "{}",
        out.stderr
    );
    assert!(queries(&emu).is_empty());
    // A token for ARM given as Log Analytics': the service's 401, with what to do.
    let out = run(emu
        .cli()
        .env(
            "AKS_TRUSTEDACCESS_LOGANALYTICS_ACCESS_TOKEN",
            jwt(json!({"aud": "https://management.azure.com/"})),
        )
        .args(argv(&history)));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("(InvalidTokenError)"), "{}", out.stderr);
    assert!(
        out.stderr.contains("https://api.loganalytics.io"),
        "{}",
        out.stderr
    );
    let unknown = run(cli(&emu).args(argv(
        "rolebinding history --workspace 00000000-0000-4000-8000-000000000009",
    )));
    assert_eq!(unknown.code, 3, "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("(WorkspaceNotFoundError)"),
        "{}",
        unknown.stderr
    );
    // Canned answers carry their body as text.
    let script = |mut answers: Value| {
        for a in answers.as_array_mut().unwrap() {
            a["body"] = json!(a["body"].to_string());
        }
        let r = emu
            .control_client()
            .post(format!("{}/_emulator/script", emu.url))
            .json(&answers)
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 204);
    };
    script(
        json!([{"status": 403, "pathContains": "/v1/workspaces/", "body": {"error": {"code": "InsufficientAccessError",
        "message": "The provided credentials have insufficient access to perform the requested operation"}}}]),
    );
    let out = run(cli(&emu).args(argv(&history)));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "(InsufficientAccessError) The provided credentials have insufficient access"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Log Analytics Reader"),
        "{}",
        out.stderr
    );
    script(
        json!([{"status": 400, "pathContains": "/v1/workspaces/", "body": {"error": {"code": "BadArgumentError",
        "message": "The request had some invalid properties", "innererror": {"code": "SemanticError",
        "message": "A semantic error occurred.", "innererror": {"code": "SEM0100",
        "message": "'where' operator: Failed to resolve column or scalar expression named 'OperationNameValue'"}}}}}]),
    );
    let out = run(cli(&emu).args(argv(&history)));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("(BadArgumentError) The request had some invalid properties: A semantic error occurred.: 'where' operator: Failed to resolve column or scalar expression named 'OperationNameValue'"), "{}", out.stderr);
    // A partial result: what arrived is printed, and the run fails saying so.
    let row = json!([
        "2026-12-01T10:00:00Z",
        "MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/TRUSTEDACCESSROLEBINDINGS/DELETE",
        "Success",
        "OK",
        "ana@contoso.com",
        "10.0.0.9",
        "c-1",
        binding_path("cluster2", "gone").to_lowercase(),
        SUB,
        "RG1",
        "{\"idtyp\":\"user\"}",
        "{}"
    ]);
    let columns: Vec<Value> = [
        "TimeGenerated",
        "OperationNameValue",
        "ActivityStatusValue",
        "ActivitySubstatusValue",
        "Caller",
        "CallerIpAddress",
        "CorrelationId",
        "_ResourceId",
        "SubscriptionId",
        "ResourceGroup",
        "Claims",
        "Properties",
    ]
    .iter()
    .map(|c| json!({"name": c, "type": "string"}))
    .collect();
    script(
        json!([{"status": 200, "pathContains": "/v1/workspaces/", "body": {
        "tables": [{"name": "PrimaryResult", "columns": columns, "rows": [row]}],
        "error": {"code": "PartialError", "message": "There were some errors when processing your query.",
            "details": [{"code": "EngineError", "message": "Query result set has exceeded the internal data size limit"}]}}}]),
    );
    let out =
        run(cli(&emu)
            .args(argv(&history))
            .args(["-o", "tsv", "--query", "[].[operation, name]"]));
    assert_eq!(out.stdout, "delete\tgone\n");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("partial result"), "{}", out.stderr);
    assert!(out.stderr.contains("(PartialError)"), "{}", out.stderr);
    assert!(
        out.stderr.contains("internal data size limit"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_signed_in_identity_asks_one_token_per_audience() {
    let emu = Emulator::start();
    let customer_id = create_workspace(&emu);
    let out = run(emu
        .cli()
        .env_remove("AKS_TRUSTEDACCESS_ACCESS_TOKEN")
        .env("PATH", emu.home.path().join("no-bin"))
        .env("IDENTITY_ENDPOINT", format!("{}/msi/token", emu.url))
        .env("IDENTITY_HEADER", "header-secret-value")
        .args(["rolebinding", "history", "--workspace", WORKSPACE]));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "[]\n"),
        "{}",
        out.stderr
    );
    // The workspace read through ARM with an ARM token, the query with a Log Analytics one.
    let sent: Vec<(String, Value)> = emu
        .requests()
        .iter()
        .filter(|r| r.get("signIn").is_none())
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["audience"].clone(),
            )
        })
        .collect();
    assert_eq!(
        sent[sent.len() - 2..],
        [
            (WORKSPACE.to_string(), json!("https://management.azure.com")),
            (
                format!("/v1/workspaces/{customer_id}/query"),
                json!(LOG_ANALYTICS)
            ),
        ]
    );
}
