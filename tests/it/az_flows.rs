//! The az-compatible flows without az: az 2.91's sign-in requests, and the role-binding
//! lifecycle and role list azure-cli recorded against Azure, replayed against the emulator with
//! the recorded statuses and body shapes expected back (tests/fixtures/az-recordings).

use crate::harness::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const TENANT: &str = "11111111-1111-1111-1111-111111111111";
const CLIENT: &str = "a3f9c4d2-6e1b-4c8a-9d7e-0b5f2e8a1c34";

fn recording(name: &str) -> Value {
    json(&fixture(&format!("az-recordings/{name}")))
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// az registers the emulator as a cloud from `/metadata/endpoints`, MSAL discovers the tenant and
/// gets a token with the client secret, and az lists subscriptions with it: each request as az
/// 2.91 sent it, each answer with what az reads from it.
#[test]
fn az_signs_in_as_it_does_against_azure() {
    let emu = Emulator::start_tls(&[]);
    let client = emu.control_client();
    let flow = recording("az-2.91-sign-in.json");
    let steps = flow["requests"].as_array().unwrap();
    let path = |i: usize| {
        steps[i]["path"]
            .as_str()
            .unwrap()
            .replace("{tenant}", TENANT)
            .replace("{subscription}", SUB)
    };
    let url = |i: usize| {
        format!(
            "{}{}?{}",
            emu.url,
            path(i),
            steps[i]["query"].as_str().unwrap()
        )
    };
    // The cloud's metadata, unauthenticated: what az's _arm_to_cli_mapper reads.
    let metadata: Value = client.get(url(0)).send().unwrap().json().unwrap();
    assert_eq!(metadata["authentication"]["loginEndpoint"], emu.url);
    assert_eq!(metadata["resourceManager"], format!("{}/", emu.url));
    assert_eq!(
        metadata["authentication"]["audiences"][0],
        "https://management.core.windows.net/"
    );
    assert!(metadata["name"].is_string() && metadata["suffixes"].is_object());
    // OpenID discovery: MSAL accepts an issuer on the authority's scheme and host.
    let openid: Value = client.get(url(1)).send().unwrap().json().unwrap();
    assert_eq!(openid["issuer"], format!("{}/{TENANT}/v2.0", emu.url));
    assert_eq!(
        openid["token_endpoint"],
        format!("{}/{}", emu.url, path(2).trim_start_matches('/'))
    );
    // The token, with the form MSAL sends.
    let form: Vec<(String, String)> = steps[2]["form"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let v = v.as_str().unwrap().replace("{client}", CLIENT);
            (k.clone(), v.replace("{secret}", "emulator-client-secret"))
        })
        .collect();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&form)
        .finish();
    let answer = client
        .post(format!("{}{}", emu.url, path(2)))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200);
    let token: Value = answer.json().unwrap();
    assert_eq!(
        (&token["token_type"], token["expires_in"].is_number()),
        (&json!("Bearer"), true)
    );
    let bearer = token["access_token"].as_str().unwrap();
    // What az stores in azureProfile.json from the list, and then the command itself.
    let subs: Value = client
        .get(url(3))
        .bearer_auth(bearer)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let sub = &subs["value"][0];
    for field in [
        "id",
        "subscriptionId",
        "displayName",
        "state",
        "tenantId",
        "managedByTenants",
    ] {
        assert!(!sub[field].is_null(), "{field}: {sub}");
    }
    let list = client.get(url(4)).bearer_auth(bearer).send().unwrap();
    assert_eq!(list.status(), 200);
    let list: Value = list.json().unwrap();
    assert_eq!(list["value"][0]["name"], "ml-binding");
    // The write az would make next is recorded as made by the service principal.
    assert_eq!(emu.requests().last().unwrap()["authorization"], "bearer");
}

/// The recorded lifecycle, replayed: each request with the recording's names mapped onto the
/// emulator's world, each answer with the recorded status and the recorded body's keys, the
/// operations polled through the URLs the emulator gives (InProgress, then Succeeded, as recorded).
#[test]
fn the_recorded_rolebinding_lifecycle_answers_as_the_service_did() {
    let emu = Emulator::start_tls(&["--operation-polls", "1", "--retry-after", "0"]);
    let client = emu.control_client();
    let map = |text: &str| {
        text.replace("https://management.azure.com", &emu.url)
            .replace("clitest000001", "rg1")
            .replace("cliakstest000001", "cluster2")
            .replace("fake_workspace", "ws2")
    };
    let mut operation = String::new();
    for (i, step) in recording("rolebinding-lifecycle.json")
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let recorded_uri = step["uri"].as_str().unwrap();
        let uri = if recorded_uri.contains("/operations/") {
            operation.clone()
        } else {
            let path = recorded_uri.split('?').next().unwrap();
            format!("{}?api-version=2026-06-01", map(path))
        };
        let method = step["method"].as_str().unwrap();
        let mut request = client
            .request(method.parse().unwrap(), &uri)
            .bearer_auth(TOKEN);
        if !step["requestBody"].is_null() {
            request = request.json(&json(&map(&step["requestBody"].to_string())));
        }
        let answer = request.send().unwrap();
        let status = answer.status().as_u16();
        if let Some(op) = answer.headers().get("azure-asyncoperation") {
            operation = op.to_str().unwrap().to_string();
        }
        let recorded_headers = keys(&step["headers"]);
        for header in ["azure-asyncoperation", "location"] {
            if recorded_headers.contains(header) {
                assert!(answer.headers().contains_key(header), "step {i}: {header}");
            }
        }
        let body: Value = answer.json().unwrap_or(Value::Null);
        assert_eq!(status, step["status"], "step {i}: {method} {uri}: {body}");
        let recorded = &step["responseBody"];
        if recorded_uri.contains("/operations/") {
            assert_eq!(body["status"], recorded["status"], "step {i}");
            assert!(
                keys(&body).is_superset(&["name", "startTime", "status"].map(String::from).into())
            );
        } else if recorded.is_object() {
            let missing: Vec<_> = keys(recorded).difference(&keys(&body)).cloned().collect();
            assert!(
                missing.is_empty(),
                "step {i}: missing {missing:?} in {body}"
            );
            if recorded["properties"].is_object() {
                assert_eq!(
                    keys(&body["properties"]),
                    keys(&recorded["properties"]),
                    "step {i}"
                );
                assert_eq!(
                    body["properties"]["roles"], recorded["properties"]["roles"],
                    "step {i}"
                );
            }
            if let Some(items) = recorded["value"].as_array() {
                assert_eq!(
                    body["value"].as_array().unwrap().len(),
                    items.len(),
                    "step {i}"
                );
            }
        }
    }
}

/// Every role the service listed for az is in the emulator's catalog, with the same rules.
#[test]
fn the_recorded_role_list_is_served() {
    let emu = Emulator::start();
    let recorded = recording("role-list.json");
    assert_eq!(recorded["status"], 200);
    let out = run(emu.cli().args(["role", "list", "-l", "westus2"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let served = json(&out.stdout);
    for role in recorded["responseBody"]["value"].as_array().unwrap() {
        let found = served.as_array().unwrap().iter().find(|r| {
            r["name"] == role["name"] && r["sourceResourceType"] == role["sourceResourceType"]
        });
        let found = found.unwrap_or_else(|| panic!("{} is not served", role["name"]));
        assert_eq!(
            found["rules"].as_array().unwrap().len(),
            role["rules"].as_array().unwrap().len()
        );
    }
}
