//! `rolebinding check` and `token check` against the emulator: each check made to pass and made
//! to fail, the exit codes (0 / 4 / 1 / 2), the requests made, and no token in any output.

use crate::harness::*;
use base64::Engine;
use serde_json::{Value, json};

const API: &str = "api-version=2026-08-01";
const TENANT: &str = "11111111-1111-1111-1111-111111111111";
const AUDIENCE: &str = "839858a7-cb51-4fcf-ad2f-222fe0d2d0d0";
const WORKSPACE: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ml-workspace";
/// A fake signature; no output may contain it.
const SIGNATURE: &str = "ZmFrZS1zaWduYXR1cmUtbXVzdC1uZXZlci1sZWFr";

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// RFC 3339 for `seconds` ago, as ARM writes systemData times.
fn ago(seconds: i64) -> String {
    let t = time::OffsetDateTime::now_utc() - time::Duration::seconds(seconds);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn binding(name: &str, source: &str, roles: &[&str], created_ago: i64, modified_ago: i64) -> Value {
    json!({
        "name": name,
        "sourceResourceId": source,
        "roles": roles,
        "systemData": {
            "createdBy": "operator@contoso.com", "createdByType": "User", "createdAt": ago(created_ago),
            "lastModifiedBy": "operator@contoso.com", "lastModifiedByType": "User", "lastModifiedAt": ago(modified_ago),
        }
    })
}

/// A source resource with a system-assigned identity.
fn workspace(id: &str) -> Value {
    json!({"id": id, "identity": {"type": "SystemAssigned"}})
}

/// One subscription, cluster1 in rg1 (westeurope) with these bindings, and these resources.
fn world(bindings: Value, resources: Value) -> Value {
    json!({
        "subscriptions": [{"subscriptionId": SUB, "displayName": "Emulated Subscription", "tenantId": TENANT}],
        "resourceGroups": [{"subscriptionId": SUB, "name": "rg1"}],
        "clusters": [{
            "subscriptionId": SUB, "resourceGroup": "rg1", "name": "cluster1",
            "location": "westeurope", "identityType": "SystemAssigned", "bindings": bindings
        }],
        "resources": resources,
    })
}

/// The usual healthy world: ml-binding (an hour old) to a workspace that exists.
fn healthy() -> Value {
    world(
        json!([binding("ml-binding", WORKSPACE, &[ML_ROLE], 3600, 3600)]),
        json!([workspace(WORKSPACE)]),
    )
}

fn check_binding(emu: &Emulator, name: &str, extra: &[&str]) -> (Run, Value) {
    let mut args = vec![
        "rolebinding",
        "check",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster1",
        "-n",
        name,
        "-o",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = run(emu.cli().args(&args));
    let doc = json(&out.stdout);
    (out, doc)
}

/// The verdict of each check, in order.
fn verdicts(doc: &Value) -> Vec<(String, String)> {
    doc["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn verdict<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {doc}"))
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn a_healthy_binding_passes_every_check_with_exactly_these_reads() {
    let emu = Emulator::start_with_state(&healthy(), &[]);
    let (out, doc) = check_binding(&emu, "ml-binding", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        verdicts(&doc),
        pairs(&[
            ("binding-exists", "pass"),
            ("binding-provisioned", "pass"),
            ("binding-effective", "pass"),
            ("roles-in-catalog", "pass"),
            ("roles-fit-source", "pass"),
            ("source-exists", "pass"),
            ("source-identity", "pass"),
            ("binding-limit", "pass"),
        ])
    );
    assert_eq!(doc["verdict"], "pass");
    assert_eq!(doc["binding"]["name"], "ml-binding");
    assert!(out.stderr.contains("8 checks: 8 passed"), "{}", out.stderr);
    let cluster = cluster_path("cluster1");
    assert_eq!(
        emu.request_lines(),
        [
            format!("GET {cluster}?{API}"),
            format!("GET {}?{API}", binding_path("cluster1", "ml-binding")),
            format!(
                "GET /subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/westeurope/trustedAccessRoles?{API}"
            ),
            format!(
                "GET /subscriptions/{SUB}/providers/Microsoft.MachineLearningServices?api-version=2021-04-01"
            ),
            format!("GET {WORKSPACE}?api-version=2024-10-01"),
            format!("GET {cluster}/trustedAccessRoleBindings?{API}"),
        ]
    );
}

#[test]
fn a_missing_binding_or_cluster_fails_binding_exists_and_stops() {
    let emu = Emulator::start_with_state(&healthy(), &[]);
    let (out, doc) = check_binding(&emu, "nope", &[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert_eq!(verdicts(&doc), pairs(&[("binding-exists", "fail")]));
    assert_eq!(
        emu.request_lines(),
        [
            format!("GET {}?{API}", cluster_path("cluster1")),
            format!("GET {}?{API}", binding_path("cluster1", "nope")),
        ]
    );
    assert!(
        verdict(&doc, "binding-exists")["hint"]
            .as_str()
            .unwrap()
            .contains("rolebinding list -g rg1 --cluster-name cluster1")
    );
    let out = run(emu.cli().args([
        "rolebinding",
        "check",
        "-g",
        "rg1",
        "--cluster-name",
        "ghost",
        "-n",
        "b",
        "-o",
        "json",
    ]));
    assert_eq!(out.code, 4, "{}", out.stderr);
    let doc = json(&out.stdout);
    assert!(
        verdict(&doc, "binding-exists")["message"]
            .as_str()
            .unwrap()
            .contains("cluster 'ghost' was not found")
    );
}

#[test]
fn an_unreadable_binding_is_unknown_and_exits_1() {
    let mut state = healthy();
    state["clusters"][0]["readable"] = json!(false);
    let emu = Emulator::start_with_state(&state, &[]);
    let (out, doc) = check_binding(&emu, "ml-binding", &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(verdicts(&doc), pairs(&[("binding-exists", "unknown")]));
    assert!(
        verdict(&doc, "binding-exists")["message"]
            .as_str()
            .unwrap()
            .contains("AuthorizationFailed")
    );
}

#[test]
fn a_failed_binding_shows_its_operations_error_from_the_activity_log() {
    let emu = Emulator::start_with_state(&healthy(), &["--operation-outcome", "failed"]);
    let out = run(emu.cli().args([
        "rolebinding",
        "create",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster1",
        "-n",
        "broken",
        "--source-resource-id",
        WORKSPACE,
        "--roles",
        ML_ROLE,
    ]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let (out, doc) = check_binding(&emu, "broken", &[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    let check = verdict(&doc, "binding-provisioned");
    assert_eq!(check["verdict"], "fail");
    assert_eq!(
        check["message"],
        "binding 'broken' is Failed; the operation's error: (EmulatedOperationFailed) The operation failed (emulator --operation-outcome failed)."
    );
    let log = emu
        .request_lines()
        .into_iter()
        .find(|l| l.contains("Microsoft.Insights"))
        .expect("the activity log was read");
    assert!(
        log.contains("resourceUri+eq+%27") && log.contains("api-version=2015-04-01"),
        "{log}"
    );
}

#[test]
fn a_binding_with_an_operation_running_warns() {
    let mut state = healthy();
    state["clusters"][0]["bindings"][0]["provisioningState"] = json!("Updating");
    let emu = Emulator::start_with_state(&state, &[]);
    let (out, doc) = check_binding(&emu, "ml-binding", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(verdict(&doc, "binding-provisioned")["verdict"], "warn");
}

#[test]
fn a_new_binding_is_not_effective_for_five_minutes() {
    let state = world(
        json!([binding("fresh", WORKSPACE, &[ML_ROLE], 60, 60)]),
        json!([workspace(WORKSPACE)]),
    );
    let emu = Emulator::start_with_state(&state, &[]);
    let (out, doc) = check_binding(&emu, "fresh", &[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    let check = verdict(&doc, "binding-effective");
    assert_eq!(check["verdict"], "fail");
    let message = check["message"].as_str().unwrap();
    assert!(
        message.contains("not effective yet, expected by"),
        "{message}"
    );
    assert!(check["hint"].as_str().unwrap().contains("--wait-effective"));
    assert!(doc["effectiveAt"].is_string());
}

#[test]
fn a_changed_binding_warns_that_its_previous_roles_apply_meanwhile() {
    let state = world(
        json!([binding("changed", WORKSPACE, &[ML_ROLE], 86400, 30)]),
        json!([workspace(WORKSPACE)]),
    );
    let emu = Emulator::start_with_state(&state, &[]);
    let (out, doc) = check_binding(&emu, "changed", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let check = verdict(&doc, "binding-effective");
    assert_eq!(check["verdict"], "warn");
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .contains("previous roles apply")
    );
}

#[test]
fn wait_effective_waits_for_the_binding_then_checks_again() {
    // Changed 4 min 50 s ago: effective in about 10 s, a margin for a slow start (the test
    // needs the first check to come before that; nothing bounds how long the wait takes).
    let state = world(
        json!([binding("almost", WORKSPACE, &[ML_ROLE], 290, 290)]),
        json!([workspace(WORKSPACE)]),
    );
    let emu = Emulator::start_with_state(&state, &[]);
    let (out, doc) = check_binding(&emu, "almost", &["--wait-effective"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(verdict(&doc, "binding-effective")["verdict"], "pass");
    assert!(out.stderr.contains("Waiting"), "{}", out.stderr);
    let binding_reads = emu
        .request_lines()
        .iter()
        .filter(|l| l.starts_with(&format!("GET {}?", binding_path("cluster1", "almost"))))
        .count();
    assert_eq!(binding_reads, 2, "read once, then again after the wait");
}

/// A lastModifiedAt ten years ahead (a wrong clock or a hostile server): --wait-effective says
/// it will not wait, instead of waiting for years (issue 21 item 9).
#[test]
fn wait_effective_does_not_wait_for_a_time_in_the_future() {
    let state = world(
        json!([binding(
            "future",
            WORKSPACE,
            &[ML_ROLE],
            3600,
            -10 * 365 * 86400
        )]),
        json!([workspace(WORKSPACE)]),
    );
    let emu = Emulator::start_with_state(&state, &[]);
    let (out, doc) = check_binding(&emu, "future", &["--wait-effective"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(verdict(&doc, "binding-effective")["verdict"], "warn");
    assert!(out.stderr.contains("not waiting"), "{}", out.stderr);
    assert!(!out.stderr.contains("Waiting"), "{}", out.stderr);
}

#[test]
fn wait_effective_does_not_wait_when_something_else_fails() {
    let misfit = "Microsoft.DataProtection/backupVaults/backup-operator";
    let state = world(
        json!([binding("fresh", WORKSPACE, &[misfit], 10, 10)]),
        json!([workspace(WORKSPACE)]),
    );
    let emu = Emulator::start_with_state(&state, &[]);
    let (out, doc) = check_binding(&emu, "fresh", &["--wait-effective"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert_eq!(verdict(&doc, "roles-fit-source")["verdict"], "fail");
    assert_eq!(verdict(&doc, "binding-effective")["verdict"], "fail");
    assert!(!out.stderr.contains("Waiting"), "{}", out.stderr);
}

#[test]
fn a_role_missing_from_the_locations_catalog_fails() {
    let mut state = healthy();
    state["rolesByLocation"] = json!({"westeurope": [
        {"name": "inference-v1", "sourceResourceType": "Microsoft.MachineLearningServices/workspaces", "rules": []}
    ]});
    let emu = Emulator::start_with_state(&state, &[]);
    let (out, doc) = check_binding(&emu, "ml-binding", &[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    let check = verdict(&doc, "roles-in-catalog");
    assert_eq!(check["verdict"], "fail");
    assert_eq!(
        check["message"],
        format!("not in the role catalog of westeurope: {ML_ROLE}")
    );
    assert!(
        check["hint"]
            .as_str()
            .unwrap()
            .contains("role list -l westeurope")
    );
    assert_eq!(verdict(&doc, "roles-fit-source")["verdict"], "pass");
}

#[test]
fn roles_must_fit_the_source_type_by_whole_segments() {
    let backup_role = "Microsoft.DataProtection/backupVaults/backup-operator";
    let defender_source = format!(
        "/subscriptions/{SUB}/providers/Microsoft.Security/pricings/CloudPosture/securityOperators/DefenderCSPMSecurityOperator"
    );
    let state = world(
        json!([
            binding("misfit", WORKSPACE, &[backup_role], 3600, 3600),
            binding(
                "defender-cloudposture",
                &defender_source,
                &["Microsoft.Security/pricings/microsoft-defender-operator"],
                3600,
                3600
            ),
        ]),
        json!([workspace(WORKSPACE), workspace(&defender_source)]),
    );
    let emu = Emulator::start_with_state(&state, &[]);
    let (out, doc) = check_binding(&emu, "misfit", &[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    let check = verdict(&doc, "roles-fit-source");
    assert_eq!(check["verdict"], "fail");
    assert_eq!(
        check["message"],
        format!("not for a Microsoft.MachineLearningServices/workspaces source: {backup_role}")
    );
    // Defender's nested source: the role's type is a prefix of the source's type.
    let (out, doc) = check_binding(&emu, "defender-cloudposture", &[]);
    assert_eq!(out.code, 0, "{}\n{doc}", out.stderr);
    assert_eq!(verdict(&doc, "roles-fit-source")["verdict"], "pass");
}

#[test]
fn a_deleted_source_makes_the_binding_dangling() {
    let gone = WORKSPACE.replace("ml-workspace", "deleted-ws");
    let state = world(
        json!([binding("dangling", &gone, &[ML_ROLE], 3600, 3600)]),
        json!([workspace(WORKSPACE)]),
    );
    let emu = Emulator::start_with_state(&state, &[]);
    let (out, doc) = check_binding(&emu, "dangling", &[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    let check = verdict(&doc, "source-exists");
    assert_eq!(check["verdict"], "fail");
    assert!(check["message"].as_str().unwrap().contains("dangling"));
    assert!(
        check["hint"]
            .as_str()
            .unwrap()
            .contains("same id would be trusted")
    );
    assert_eq!(verdict(&doc, "source-identity")["verdict"], "unknown");
}

#[test]
fn a_source_without_a_system_assigned_identity_fails() {
    let state = world(
        json!([binding("ml-binding", WORKSPACE, &[ML_ROLE], 3600, 3600)]),
        json!([{"id": WORKSPACE, "identity": {"type": "UserAssigned"}}]),
    );
    let emu = Emulator::start_with_state(&state, &[]);
    let (out, doc) = check_binding(&emu, "ml-binding", &[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert_eq!(verdict(&doc, "source-exists")["verdict"], "pass");
    let check = verdict(&doc, "source-identity");
    assert_eq!(check["verdict"], "fail");
    assert_eq!(
        check["message"],
        "the source's identity is UserAssigned, with no system-assigned principal"
    );
    let no_identity = world(
        json!([binding("ml-binding", WORKSPACE, &[ML_ROLE], 3600, 3600)]),
        json!([{"id": WORKSPACE}]),
    );
    let emu = Emulator::start_with_state(&no_identity, &[]);
    let (out, doc) = check_binding(&emu, "ml-binding", &[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert_eq!(
        verdict(&doc, "source-identity")["message"],
        "the source has no managed identity"
    );
}

#[test]
fn a_source_the_caller_cannot_read_is_unknown_with_the_reason() {
    let state = world(
        json!([binding("ml-binding", WORKSPACE, &[ML_ROLE], 3600, 3600)]),
        json!([{"id": WORKSPACE, "identity": {"type": "SystemAssigned"}, "readable": false}]),
    );
    let emu = Emulator::start_with_state(&state, &[]);
    let (out, doc) = check_binding(&emu, "ml-binding", &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let check = verdict(&doc, "source-exists");
    assert_eq!(check["verdict"], "unknown");
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .contains("(AuthorizationFailed)")
    );
    assert_eq!(
        check["hint"],
        "reading the source needs 'Microsoft.MachineLearningServices/workspaces/read' on it"
    );
}

#[test]
fn a_cluster_at_the_eight_binding_limit_gets_a_note() {
    let bindings: Vec<Value> = (0..8)
        .map(|i| {
            binding(
                &format!("b{i}"),
                &WORKSPACE.replace("ml-workspace", &format!("ws{i}")),
                &[ML_ROLE],
                3600,
                3600,
            )
        })
        .collect();
    let emu = Emulator::start_with_state(
        &world(
            json!(bindings),
            json!([workspace(&WORKSPACE.replace("ml-workspace", "ws0"))]),
        ),
        &[],
    );
    let (out, doc) = check_binding(&emu, "b0", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let check = verdict(&doc, "binding-limit");
    assert_eq!(check["verdict"], "warn");
    assert_eq!(
        check["message"],
        "cluster 'cluster1' has 8 bindings, the limit is 8: no binding can be added"
    );
}

#[test]
fn table_and_tsv_show_one_row_per_check() {
    let emu = Emulator::start_with_state(&healthy(), &[]);
    let base = [
        "rolebinding",
        "check",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster1",
        "-n",
        "nope",
    ];
    let out = run(emu.cli().args(base).args(["-o", "tsv"]));
    assert_eq!(out.code, 4);
    assert_eq!(
        out.stdout,
        "fail\tbinding-exists\tcluster 'cluster1' has no binding named 'nope'\tsee its bindings with 'aks-trustedaccess rolebinding list -g rg1 --cluster-name cluster1'\n"
    );
    let out = run(emu.cli().args(base).args(["-o", "table"]));
    assert_eq!(out.code, 4);
    let header: Vec<&str> = out
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(header, ["Verdict", "Check", "Message", "Hint"]);
    assert!(out.stdout.lines().nth(2).unwrap().starts_with("fail"));
}

#[test]
fn bad_names_are_refused_before_any_request() {
    let emu = Emulator::start();
    let out = run(emu.cli().args([
        "rolebinding",
        "check",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster1",
        "-n",
        "bad_name",
    ]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(emu.requests().is_empty());
}

// ---- token check ----

fn b64(value: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

/// A token with these claims and a fake signature (nothing verifies it; nothing may print it).
fn token(claims: &Value) -> String {
    format!(
        "{}.{}.{SIGNATURE}",
        b64(&json!({"typ": "JWT", "alg": "RS256", "kid": "test-key"})),
        b64(claims)
    )
}

/// A managed identity's token for the workspace, as the gateway wants it.
fn good_claims() -> Value {
    json!({
        "aud": AUDIENCE,
        "iss": format!("https://sts.windows.net/{TENANT}/"),
        "tid": TENANT,
        "oid": "33333333-3333-3333-3333-333333333333",
        "iat": now() - 60, "nbf": now() - 60, "exp": now() + 3600,
        "idtyp": "app",
        "xms_mirid": WORKSPACE.replace("resourceGroups", "resourcegroups"),
    })
}

fn with(claim: &str, value: Value) -> Value {
    let mut claims = good_claims();
    claims[claim] = value;
    claims
}

/// `token check` with the token on stdin; asserts that neither the token nor its signature
/// appears in any output.
fn check_token(emu: &Emulator, token: &str, extra: &[&str]) -> (Run, Value) {
    let mut args = vec![
        "token",
        "check",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster1",
        "-o",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = run(emu.cli().args(&args).write_stdin(token.to_string()));
    assert_no_token(&out, token);
    let doc = if out.stdout.is_empty() {
        Value::Null
    } else {
        json(&out.stdout)
    };
    (out, doc)
}

fn assert_no_token(out: &Run, token: &str) {
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains(SIGNATURE), "the signature leaked: {text}");
        // (Short test inputs such as "a.b" could appear in any text by chance.)
        if token.len() > 16 {
            assert!(!text.contains(token), "the token leaked: {text}");
        }
    }
}

#[test]
fn a_good_token_passes_every_check_and_is_never_printed() {
    let emu = Emulator::start_with_state(&healthy(), &[]);
    let (out, doc) = check_token(&emu, &token(&good_claims()), &[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stderr, out.stdout);
    assert_eq!(
        verdicts(&doc),
        pairs(&[
            ("token-format", "pass"),
            ("token-expiry", "pass"),
            ("token-not-before", "pass"),
            ("token-issued-at", "pass"),
            ("token-audience", "pass"),
            ("token-issuer", "pass"),
            ("token-source", "pass"),
            ("token-tenant", "pass"),
            ("token-binding", "pass"),
            ("binding-provisioned", "pass"),
            ("binding-effective", "pass"),
            ("roles-in-catalog", "pass"),
            ("roles-fit-source", "pass"),
            ("source-exists", "pass"),
            ("source-identity", "pass"),
        ])
    );
    assert!(
        verdict(&doc, "token-format")["message"]
            .as_str()
            .unwrap()
            .contains("WITHOUT verifying the signature")
    );
    assert_eq!(doc["signatureVerified"], false);
    assert_eq!(doc["claims"]["tid"], TENANT);
    assert_eq!(doc["claims"]["alg"], "RS256");
    assert_eq!(doc["binding"]["name"], "ml-binding");
    assert!(verdict(&doc, "token-binding")["message"]
        .as_str()
        .unwrap()
        .contains(&format!("binding 'ml-binding' on cluster 'cluster1' has the token's source, with roles {ML_ROLE}")));
    let cluster = cluster_path("cluster1");
    let lines = emu.request_lines();
    assert_eq!(
        lines[..3],
        [
            format!("GET /subscriptions/{SUB}?api-version=2022-12-01"),
            format!("GET {cluster}/trustedAccessRoleBindings?{API}"),
            format!("GET {cluster}?{API}"),
        ]
    );
}

#[test]
fn what_is_not_a_jwt_is_refused_before_any_request() {
    let emu = Emulator::start_with_state(&healthy(), &[]);
    for bad in [
        "",
        "not-a-token",
        "a.b",
        "eyJhbGciOiJub25lIn0.!!!.sig",
        "a.b.c.d.e",
    ] {
        let (out, _) = check_token(&emu, bad, &[]);
        assert_eq!(out.code, 2, "{bad}: {}", out.stderr);
        assert!(out.stderr.contains("ERROR: the token"), "{}", out.stderr);
    }
    assert!(emu.requests().is_empty());
}

#[test]
fn expired_not_yet_valid_and_future_tokens_fail_with_five_minutes_of_skew() {
    let emu = Emulator::start_with_state(&healthy(), &[]);
    for (claim, value, id, expected) in [
        ("exp", now() - 3600, "token-expiry", "fail"),
        ("exp", now() - 60, "token-expiry", "warn"),
        ("nbf", now() + 3600, "token-not-before", "fail"),
        ("nbf", now() + 60, "token-not-before", "pass"),
        ("iat", now() + 3600, "token-issued-at", "fail"),
    ] {
        let (out, doc) = check_token(&emu, &token(&with(claim, json!(value))), &[]);
        assert_eq!(
            verdict(&doc, id)["verdict"],
            expected,
            "{claim}={value}: {doc}"
        );
        assert_eq!(
            out.code,
            if expected == "fail" { 4 } else { 0 },
            "{}",
            out.stderr
        );
    }
    let (_, doc) = check_token(&emu, &token(&with("exp", json!(now() - 3600))), &[]);
    assert!(
        verdict(&doc, "token-expiry")["message"]
            .as_str()
            .unwrap()
            .contains("(1h 0m ago)")
    );
}

#[test]
fn the_audience_must_be_trusted_access_unless_overridden() {
    let emu = Emulator::start_with_state(&healthy(), &[]);
    let arm = token(&with("aud", json!("https://management.azure.com/")));
    let (out, doc) = check_token(&emu, &arm, &[]);
    assert_eq!(out.code, 4);
    let check = verdict(&doc, "token-audience");
    assert_eq!(
        check["message"],
        format!(
            "the token is for audience https://management.azure.com/; the AKS gateway expects {AUDIENCE}"
        )
    );
    assert!(
        check["hint"]
            .as_str()
            .unwrap()
            .starts_with("this is an ARM token")
    );
    let (out, doc) = check_token(&emu, &arm, &["--audience", "https://management.azure.com"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(verdict(&doc, "token-audience")["verdict"], "pass");
}

#[test]
fn the_tenant_must_be_named_consistently_and_be_the_clusters() {
    let emu = Emulator::start_with_state(&healthy(), &[]);
    let other = "99999999-9999-9999-9999-999999999999";
    let mut claims = with("tid", json!(other));
    claims["iss"] = json!(format!("https://login.microsoftonline.com/{other}/v2.0"));
    let (out, doc) = check_token(&emu, &token(&claims), &[]);
    assert_eq!(out.code, 4);
    assert_eq!(verdict(&doc, "token-issuer")["verdict"], "pass");
    assert_eq!(
        verdict(&doc, "token-tenant")["message"],
        format!(
            "the token is from tenant {other}, the cluster's subscription is in tenant {TENANT}"
        )
    );
    let (out, doc) = check_token(
        &emu,
        &token(&with(
            "iss",
            json!(format!("https://sts.windows.net/{other}/")),
        )),
        &[],
    );
    assert_eq!(out.code, 4);
    assert_eq!(verdict(&doc, "token-issuer")["verdict"], "fail");
    assert_eq!(verdict(&doc, "token-tenant")["verdict"], "pass");
}

#[test]
fn a_user_assigned_identity_is_explained_and_a_missing_mirid_fails() {
    let emu = Emulator::start_with_state(&healthy(), &[]);
    let uami = format!(
        "/subscriptions/{SUB}/resourcegroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/partner-id"
    );
    let mut claims = with("xms_mirid", json!(uami));
    claims["xms_az_rid"] = json!(WORKSPACE);
    let (out, doc) = check_token(&emu, &token(&claims), &[]);
    assert_eq!(out.code, 4);
    let check = verdict(&doc, "token-source");
    assert_eq!(
        check["message"],
        format!("the token is of a user-assigned identity, {uami} (used by {WORKSPACE})")
    );
    assert!(check["hint"].as_str().unwrap().contains("system-assigned"));
    let mut claims = good_claims();
    claims.as_object_mut().unwrap().remove("xms_mirid");
    let (out, doc) = check_token(&emu, &token(&claims), &[]);
    assert_eq!(out.code, 4);
    assert_eq!(verdict(&doc, "token-source")["verdict"], "fail");
    assert_eq!(verdict(&doc, "token-binding")["verdict"], "unknown");
}

#[test]
fn a_source_without_a_binding_fails_token_binding() {
    let emu = Emulator::start_with_state(&healthy(), &[]);
    let other = WORKSPACE.replace("ml-workspace", "other-ws");
    let (out, doc) = check_token(&emu, &token(&with("xms_mirid", json!(other))), &[]);
    assert_eq!(out.code, 4);
    let check = verdict(&doc, "token-binding");
    assert_eq!(
        check["message"],
        format!(
            "no binding on cluster 'cluster1' has the token's source {other} (1 binding checked)"
        )
    );
    assert!(
        check["hint"]
            .as_str()
            .unwrap()
            .contains("rolebinding create -g rg1 --cluster-name cluster1")
    );
}

#[test]
fn unreadable_bindings_leave_the_token_check_incomplete() {
    let mut state = healthy();
    state["clusters"][0]["readable"] = json!(false);
    let emu = Emulator::start_with_state(&state, &[]);
    let (out, doc) = check_token(&emu, &token(&good_claims()), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(verdict(&doc, "token-binding")["verdict"], "unknown");
}

#[test]
fn the_token_comes_from_stdin_a_file_or_an_argument_with_a_warning() {
    let emu = Emulator::start_with_state(&healthy(), &[]);
    let jwt = token(&good_claims());
    let file = emu.home.path().join("token.txt");
    std::fs::write(&file, format!("Bearer {jwt}\n")).unwrap();
    let base = [
        "token",
        "check",
        "-g",
        "rg1",
        "--cluster-name",
        "cluster1",
        "-o",
        "json",
    ];
    let out = run(emu
        .cli()
        .args(base)
        .args(["--token-file", file.to_str().unwrap()]));
    assert_no_token(&out, &jwt);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("WARNING"), "{}", out.stderr);
    let out = run(emu.cli().args(base).args(["--token", &jwt]));
    assert_no_token(&out, &jwt);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("WARNING: a token given with --token may be saved in your shell history"),
        "{}",
        out.stderr
    );
    let out = run(emu
        .cli()
        .args(base)
        .args(["--token-file", "/nonexistent/token"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
}

/// On a terminal (a pseudo-terminal here): the readable list, the countdown, and no token read
/// from a terminal's stdin.
#[cfg(unix)]
mod on_a_terminal {
    use super::*;
    use rexpect::process::WaitStatus;
    use rexpect::session::spawn_command;

    fn exit_code(session: &rexpect::session::PtySession) -> i32 {
        match session.process().wait() {
            Ok(WaitStatus::Exited(_, code)) => code,
            other => panic!("the CLI did not exit normally: {other:?}"),
        }
    }

    #[test]
    fn wait_effective_counts_down_then_prints_the_readable_list() {
        let state = world(
            json!([binding("almost", WORKSPACE, &[ML_ROLE], 290, 290)]),
            json!([workspace(WORKSPACE)]),
        );
        let emu = Emulator::start_with_state(&state, &[]);
        let mut cmd = emu.std_cli();
        cmd.env("NO_COLOR", "1").args([
            "rolebinding",
            "check",
            "-g",
            "rg1",
            "--cluster-name",
            "cluster1",
            "-n",
            "almost",
            "--wait-effective",
        ]);
        let mut session = spawn_command(cmd, Some(60_000)).unwrap();
        session
            .exp_string("Waiting for the binding to take effect: ")
            .unwrap();
        let rest = session.exp_eof().unwrap();
        assert!(rest.contains("PASS     binding-effective"), "{rest}");
        assert!(
            rest.contains("8 passed, 0 failed, 0 warnings, 0 not checked"),
            "{rest}"
        );
        assert!(
            !rest.contains("\"checks\""),
            "not JSON on a terminal: {rest}"
        );
        assert_eq!(exit_code(&session), 0);
    }

    #[test]
    fn token_check_shows_the_claims_and_refuses_a_terminal_as_stdin() {
        let emu = Emulator::start_with_state(&healthy(), &[]);
        let jwt = token(&with("aud", json!("https://management.azure.com/")));
        let file = emu.home.path().join("token.txt");
        std::fs::write(&file, &jwt).unwrap();
        let base = ["token", "check", "-g", "rg1", "--cluster-name", "cluster1"];
        let mut cmd = emu.std_cli();
        cmd.env("NO_COLOR", "1")
            .args(base)
            .args(["--token-file", file.to_str().unwrap()]);
        let mut session = spawn_command(cmd, Some(30_000)).unwrap();
        let all = session.exp_eof().unwrap();
        assert!(
            all.contains("Token claims (decoded; the signature was NOT verified):"),
            "{all}"
        );
        assert!(all.contains("FAIL     token-audience"), "{all}");
        assert!(
            !all.contains(SIGNATURE) && !all.contains(&jwt),
            "the token leaked"
        );
        assert_eq!(exit_code(&session), 4);
        let mut cmd = emu.std_cli();
        cmd.args(base);
        let mut session = spawn_command(cmd, Some(30_000)).unwrap();
        let all = session.exp_eof().unwrap();
        assert!(all.contains("no token: give it on stdin"), "{all}");
        assert_eq!(exit_code(&session), 2);
    }
}

#[test]
fn an_unreadable_catalog_leaves_roles_unknown_but_still_checks_their_fit() {
    let mut state = healthy();
    state["clusters"][0]["location"] = json!("marsnorth");
    let emu = Emulator::start_with_state(&state, &[]);
    let (out, doc) = check_binding(&emu, "ml-binding", &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let check = verdict(&doc, "roles-in-catalog");
    assert_eq!(check["verdict"], "unknown");
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot read the role catalog of marsnorth: (NoRegisteredProviderFound)"),
        "{check}"
    );
    assert_eq!(verdict(&doc, "roles-fit-source")["verdict"], "pass");
    assert_eq!(doc["verdict"], "unknown");
}

#[test]
fn a_deleted_source_fails_even_when_no_resource_of_its_type_is_left() {
    let vault = format!(
        "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.DataProtection/backupVaults/gone"
    );
    let state = world(
        json!([binding(
            "backup",
            &vault,
            &["Microsoft.DataProtection/backupVaults/backup-operator"],
            3600,
            3600
        )]),
        json!([]),
    );
    let emu = Emulator::start_with_state(&state, &[]);
    let (out, doc) = check_binding(&emu, "backup", &[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert_eq!(verdict(&doc, "source-exists")["verdict"], "fail", "{doc}");
}

/// `alg: none` (an unsigned token) fails the format check; time claims at the extremes of i64
/// are no time at all, never an absurd duration or an overflow (issue 21 item 14).
#[test]
fn unsigned_tokens_and_absurd_times_fail_plainly() {
    let emu = Emulator::start_with_state(&healthy(), &[]);
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"typ": "JWT", "alg": "none"})),
        b64(&good_claims())
    );
    let (out, doc) = check_token(&emu, &unsigned, &[]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert_eq!(verdict(&doc, "token-format")["verdict"], "fail");
    for extreme in [json!(i64::MAX), json!(i64::MIN), json!(1e300)] {
        let (out, doc) = check_token(&emu, &token(&with("exp", extreme.clone())), &[]);
        assert_eq!(out.code, 4, "{extreme}: {}", out.stderr);
        let check = verdict(&doc, "token-expiry");
        assert_eq!(check["verdict"], "fail", "{check}");
        assert!(
            check["message"]
                .as_str()
                .unwrap()
                .contains("no usable expiry"),
            "{check}"
        );
        let (out, doc) = check_token(&emu, &token(&with("nbf", extreme.clone())), &[]);
        assert!(out.code == 0 || out.code == 4, "{extreme}: {}", out.stderr);
        assert_eq!(
            verdict(&doc, "token-not-before")["verdict"],
            "pass",
            "{extreme}"
        );
    }
}
