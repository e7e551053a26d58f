//! `token check`'s unit tests, kept beside the module (`#[path]`) so the module itself stays short.

use super::*;
use crate::commands::doctor::Verdict;

const AUD: &str = "839858a7-cb51-4fcf-ad2f-222fe0d2d0d0";
const TID: &str = "11111111-1111-1111-1111-111111111111";
const NOW: i64 = 1_800_000_000;

fn token(claims: Value) -> Jwt {
    Jwt {
        header: json!({"alg": "RS256"}).as_object().cloned().unwrap(),
        claims: claims.as_object().cloned().unwrap(),
    }
}

fn good() -> Value {
    json!({
        "aud": AUD, "tid": TID, "iss": format!("https://sts.windows.net/{TID}/"),
        "exp": NOW + 3600, "nbf": NOW - 60, "iat": NOW - 60,
        "xms_mirid": "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ws"
    })
}

fn verdicts(claims: Value) -> Vec<(&'static str, Verdict)> {
    offline_checks(&token(claims), AUD, NOW)
        .into_iter()
        .map(|c| (c.id, c.verdict))
        .collect()
}

fn verdict_of(claims: Value, id: &str) -> Verdict {
    verdicts(claims)
        .into_iter()
        .find(|(i, _)| *i == id)
        .unwrap()
        .1
}

#[test]
fn a_good_token_passes_every_offline_check() {
    assert!(verdicts(good()).iter().all(|(_, v)| *v == Verdict::Pass));
}

#[test]
fn times_allow_five_minutes_of_skew() {
    let with = |k: &str, v: i64| {
        let mut c = good();
        c[k] = json!(v);
        c
    };
    assert_eq!(
        verdict_of(with("exp", NOW - 301), "token-expiry"),
        Verdict::Fail
    );
    assert_eq!(
        verdict_of(with("exp", NOW - 10), "token-expiry"),
        Verdict::Warn
    );
    assert_eq!(
        verdict_of(with("nbf", NOW + 301), "token-not-before"),
        Verdict::Fail
    );
    assert_eq!(
        verdict_of(with("nbf", NOW + 299), "token-not-before"),
        Verdict::Pass
    );
    assert_eq!(
        verdict_of(with("iat", NOW + 3600), "token-issued-at"),
        Verdict::Fail
    );
    let mut no_exp = good();
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_eq!(verdict_of(no_exp, "token-expiry"), Verdict::Fail);
}

#[test]
fn audience_issuer_and_source() {
    let with = |k: &str, v: Value| {
        let mut c = good();
        c[k] = v;
        c
    };
    assert_eq!(
        verdict_of(with("aud", json!([AUD, "x"])), "token-audience"),
        Verdict::Pass
    );
    assert_eq!(
        verdict_of(
            with("aud", json!("https://management.azure.com/")),
            "token-audience"
        ),
        Verdict::Fail
    );
    assert_eq!(
        verdict_of(
            with(
                "iss",
                json!(format!("https://login.microsoftonline.com/{TID}/v2.0"))
            ),
            "token-issuer"
        ),
        Verdict::Pass
    );
    assert_eq!(
        verdict_of(
            with("iss", json!("https://sts.windows.net/other/")),
            "token-issuer"
        ),
        Verdict::Fail
    );
    assert_eq!(
        verdict_of(with("tid", json!("contoso")), "token-issuer"),
        Verdict::Fail
    );
    assert_eq!(
        verdict_of(with("xms_mirid", json!("not-an-id")), "token-source"),
        Verdict::Fail
    );
    let uami = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1";
    let check = offline_checks(&token(with("xms_mirid", json!(uami))), AUD, NOW)
        .into_iter()
        .find(|c| c.id == "token-source")
        .unwrap();
    assert_eq!(check.verdict, Verdict::Fail);
    assert!(check.hint.unwrap().contains("system-assigned"));
}
