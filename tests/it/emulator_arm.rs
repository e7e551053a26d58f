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
