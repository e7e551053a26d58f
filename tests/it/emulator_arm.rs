//! ARM's rules as the emulator keeps them: the caller in `systemData`, real api-versions only,
//! conflicting writes refused, every public region, and the sign-in documents clients fetch.

use crate::emulator::call;
use crate::harness::*;
use base64::Engine;
use serde_json::{Value, json};

/// An unsigned JWT with these claims (the emulator reads claims; it does not verify signatures).
fn jwt(claims: Value) -> String {
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.sig", b64(&json!({"alg": "none"})), b64(&claims))
}

fn put_body() -> Value {
    json!({"properties": {"sourceResourceId": ML_SOURCE, "roles": [ML_ROLE]}})
}

#[test]
fn system_data_names_the_caller_from_the_token() {
    let emu = Emulator::start();
    let path = format!("{}?api-version=2026-08-01", binding_path("cluster2", "x1"));
    let app = jwt(
        json!({"appid": "9f1c2d3e-0000-4000-8000-000000000001", "idtyp": "app", "aud": "https://management.azure.com/"}),
    );
    let (status, created, headers) = call(&emu, "PUT", &path, Some(&app), Some(put_body()));
    assert_eq!(status, 201, "{created}");
    let data = &created["systemData"];
    assert_eq!(
        (&data["createdBy"], &data["createdByType"]),
        (
            &json!("9f1c2d3e-0000-4000-8000-000000000001"),
            &json!("Application")
        )
    );
    // The create settles first: a write while another is in progress is refused.
    settle(&emu, &headers);
    let person =
        jwt(json!({"upn": "ada@contoso.com", "aud": "https://management.core.windows.net/"}));
    let (status, updated, _) = call(&emu, "PUT", &path, Some(&person), Some(put_body()));
    assert!(status == 200 || status == 201, "{updated}");
    let data = &updated["systemData"];
    assert_eq!(data["createdBy"], "9f1c2d3e-0000-4000-8000-000000000001");
    assert_eq!(
        (&data["lastModifiedBy"], &data["lastModifiedByType"]),
        (&json!("ada@contoso.com"), &json!("User"))
    );
}

/// Polls a write's `Azure-AsyncOperation` until the operation has ended.
pub(crate) fn settle(emu: &Emulator, headers: &reqwest::header::HeaderMap) {
    let url = headers["azure-asyncoperation"].to_str().unwrap();
    let path = url.strip_prefix(&emu.url).unwrap();
    for _ in 0..20 {
        let (_, body, _) = call(emu, "GET", path, Some("t"), None);
        if body["status"] != "InProgress" {
            return;
        }
    }
    panic!("the operation never ended");
}

fn op_path(emu: &Emulator, headers: &reqwest::header::HeaderMap) -> String {
    let url = headers["azure-asyncoperation"].to_str().unwrap();
    url.strip_prefix(&emu.url).unwrap().to_string()
}

/// The lost write of issue 22: a PUT while a DELETE of the same binding runs was accepted, then
/// the DELETE removed the binding. ARM refuses it (409, its error envelope); a repeated DELETE
/// (a retry) gets the running operation again; once the DELETE has ended, the name is free.
#[test]
fn a_write_while_another_operation_on_the_binding_runs_is_refused_with_409() {
    let emu = Emulator::start_with(&["--operation-polls", "0", "--operation-seconds", "0"]);
    let path = format!(
        "{}?api-version=2026-08-01",
        binding_path("cluster1", "ml-binding")
    );
    let (status, _, first) = call(&emu, "DELETE", &path, Some("t"), None);
    assert_eq!(status, 202);
    let (status, _, retry) = call(&emu, "DELETE", &path, Some("t"), None);
    assert_eq!(status, 202);
    assert_eq!(
        op_path(&emu, &first),
        op_path(&emu, &retry),
        "one operation"
    );
    let source = format!(
        "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ml-workspace"
    );
    let body = json!({"properties": {"sourceResourceId": source, "roles": [ML_ROLE]}});
    let (status, refused, _) = call(&emu, "PUT", &path, Some("t"), Some(body.clone()));
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "OperationNotAllowed");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Operation is not allowed: Another operation (Deleting) is in progress"),
        "{refused}"
    );
    assert_eq!(
        call(&emu, "GET", &op_path(&emu, &first), Some("t"), None).1["status"],
        "Succeeded"
    );
    assert_eq!(call(&emu, "GET", &path, Some("t"), None).0, 404);
    let (status, _, created) = call(&emu, "PUT", &path, Some("t"), Some(body.clone()));
    assert_eq!(status, 201);
    // The same PUT again while it runs (a retry) is the same operation; another PUT or a DELETE
    // meanwhile is refused.
    let (status, _, again) = call(&emu, "PUT", &path, Some("t"), Some(body));
    assert_eq!(
        (status, op_path(&emu, &again)),
        (201, op_path(&emu, &created))
    );
    let other = json!({"properties": {"sourceResourceId": source, "roles": [ML_ROLE, ML_ROLE_2]}});
    assert_eq!(call(&emu, "PUT", &path, Some("t"), Some(other)).0, 409);
    let (status, refused, _) = call(&emu, "DELETE", &path, Some("t"), None);
    assert_eq!(
        (status, &refused["error"]["code"]),
        (409, &json!("OperationNotAllowed"))
    );
    settle(&emu, &created);
    assert_eq!(
        call(&emu, "GET", &path, Some("t"), None).1["properties"]["roles"],
        json!([ML_ROLE])
    );
}

/// Only the service's real api-versions: a well-formed version the provider does not serve is
/// ARM's `400 NoRegisteredProviderFound` (listing the ones it does), a malformed one and an
/// unknown Microsoft.Resources one `400 InvalidApiVersionParameter`. Each endpoint keeps its own
/// list: az's 2026-06-01, the CLI's 2026-08-01, the operation URLs' 2016-03-30, subscriptions'
/// 2022-12-01.
#[test]
fn only_the_services_api_versions_are_served() {
    let emu = Emulator::start();
    let binding = |v: &str| format!("{}?api-version={v}", binding_path("cluster1", "ml-binding"));
    for v in [
        "2026-08-01",
        "2026-06-01",
        "2023-09-01",
        "2024-03-02-preview",
    ] {
        assert_eq!(
            call(&emu, "GET", &binding(v), Some("t"), None).0,
            200,
            "{v}"
        );
    }
    for v in ["2020-01-01", "2099-01-01", "2023-08-01"] {
        let (status, body, _) = call(&emu, "GET", &binding(v), Some("t"), None);
        assert_eq!(
            (status, &body["error"]["code"]),
            (400, &json!("NoRegisteredProviderFound")),
            "{v}"
        );
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!(
                "No registered resource provider found for location 'westeurope' and API version '{v}' for type 'managedClusters/trustedAccessRoleBindings'. The supported api-versions are '2022-04-02-preview, 2022-05-02-preview,"
            )) && message.contains(", 2026-08-01'. The supported locations are 'eastus, eastus2,"),
            "{message}"
        );
    }
    let (status, body, _) = call(&emu, "GET", &binding("latest"), Some("t"), None);
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("InvalidApiVersionParameter"))
    );
    let (status, body, _) = call(
        &emu,
        "GET",
        "/subscriptions?api-version=2099-01-01",
        Some("t"),
        None,
    );
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("InvalidApiVersionParameter"))
    );
    assert!(
        body["error"]["message"].as_str().unwrap().starts_with(
            "The api-version '2099-01-01' is invalid. The supported versions are '2025-04-01,"
        ),
        "{body}"
    );
    assert_eq!(
        call(
            &emu,
            "GET",
            "/subscriptions?api-version=2022-12-01",
            Some("t"),
            None
        )
        .0,
        200
    );
    let roles = format!(
        "/subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/westeurope/trustedAccessRoles"
    );
    assert_eq!(
        call(
            &emu,
            "GET",
            &format!("{roles}?api-version=2026-07-01"),
            Some("t"),
            None
        )
        .0,
        200
    );
    assert_eq!(
        call(
            &emu,
            "GET",
            &format!("{roles}?api-version=2021-04-01"),
            Some("t"),
            None
        )
        .0,
        400
    );
    // A write's operation URL carries ARM's 2016-03-30.
    let put = format!("{}?api-version=2025-02-01", binding_path("cluster2", "v1"));
    let (status, _, headers) = call(&emu, "PUT", &put, Some("t"), Some(put_body()));
    assert_eq!(status, 201);
    assert!(op_path(&emu, &headers).ends_with("?api-version=2016-03-30"));
    settle(&emu, &headers);
}

/// Every public region answers; an unknown one is ARM's 400 (not 404), naming the supported
/// locations, so az exits 1 as it does against ARM.
#[test]
fn every_public_region_is_served_and_an_unknown_one_is_a_400() {
    let emu = Emulator::start();
    let roles = |l: &str| {
        format!(
            "/subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/{l}/trustedAccessRoles?api-version=2026-08-01"
        )
    };
    for l in [
        "southeastasia",
        "francecentral",
        "westus",
        "brazilsoutheast",
        "WestEurope",
    ] {
        let (status, body, _) = call(&emu, "GET", &roles(l), Some("t"), None);
        assert_eq!(status, 200, "{l}: {body}");
        assert!(!body["value"].as_array().unwrap().is_empty(), "{l}");
    }
    let (status, body, _) = call(&emu, "GET", &roles("marsnorth"), Some("t"), None);
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("NoRegisteredProviderFound"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("No registered resource provider found for location 'marsnorth' and API version '2026-08-01' for type 'locations/trustedAccessRoles'."),
        "{body}"
    );
    let (_, locations, _) = call(
        &emu,
        "GET",
        &format!("/subscriptions/{SUB}/locations?api-version=2022-12-01"),
        Some("t"),
        None,
    );
    let list = locations["value"].as_array().unwrap();
    assert!(list.len() >= 50, "{}", list.len());
    let sea = list.iter().find(|l| l["name"] == "southeastasia").unwrap();
    assert_eq!(
        (
            &sea["displayName"],
            &sea["regionalDisplayName"],
            &sea["metadata"]["regionType"]
        ),
        (
            &json!("Southeast Asia"),
            &json!("(Asia Pacific) Southeast Asia"),
            &json!("Physical")
        )
    );
    // The CLI maps a display name through this list.
    let out = run(emu.cli().args([
        "role",
        "list",
        "-l",
        "France Central",
        "--query",
        "length(@)",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_ne!(out.stdout.trim(), "0");
}

/// What az's sign-in and `az group show` read besides Trusted Access: tenants, a subscription's
/// `managedByTenants`, a resource group.
#[test]
fn tenants_resource_groups_and_managed_by_tenants_are_served() {
    let emu = Emulator::start();
    let (status, tenants, _) = call(
        &emu,
        "GET",
        "/tenants?api-version=2022-12-01",
        Some("t"),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(
        tenants["value"][0]["tenantId"],
        "11111111-1111-1111-1111-111111111111"
    );
    let (_, subs, _) = call(
        &emu,
        "GET",
        "/subscriptions?api-version=2022-12-01",
        Some("t"),
        None,
    );
    assert_eq!(subs["value"][0]["managedByTenants"], json!([]));
    let group = |g: &str| format!("/subscriptions/{SUB}/resourcegroups/{g}?api-version=2024-11-01");
    let (status, rg, _) = call(&emu, "GET", &group("RG1"), Some("t"), None);
    assert_eq!(status, 200);
    assert_eq!(
        rg,
        json!({
            "id": format!("/subscriptions/{SUB}/resourceGroups/rg1"), "name": "rg1",
            "type": "Microsoft.Resources/resourceGroups", "location": "westeurope",
            "properties": {"provisioningState": "Succeeded"}
        })
    );
    let (status, missing, _) = call(&emu, "GET", &group("nope"), Some("t"), None);
    assert_eq!(
        (status, &missing["error"]["code"]),
        (404, &json!("ResourceGroupNotFound"))
    );
}

/// A 403 names the caller from the token, as ARM's does.
#[test]
fn a_refusal_names_the_caller_from_the_token() {
    let mut state = Emulator::start().state();
    state["subscriptions"][0]["readable"] = json!(false);
    let emu = Emulator::start_with_state(&state, &[]);
    let token = jwt(
        json!({"appid": "c0ffee00-0000-4000-8000-000000000001", "oid": "0b1ec700-0000-4000-8000-000000000001"}),
    );
    let (status, body, _) = call(
        &emu,
        "GET",
        &format!(
            "/subscriptions/{SUB}/providers/Microsoft.ContainerService/managedClusters?api-version=2026-08-01"
        ),
        Some(&token),
        None,
    );
    assert_eq!(
        (status, &body["error"]["code"]),
        (403, &json!("AuthorizationFailed"))
    );
    assert!(
        body["error"]["message"].as_str().unwrap().starts_with(
            "The client 'c0ffee00-0000-4000-8000-000000000001' with object id '0b1ec700-0000-4000-8000-000000000001' does not have authorization to perform action"
        ),
        "{body}"
    );
}
