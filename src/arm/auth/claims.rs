//! Reads an access token's claims without verifying them, to say why ARM answered 401: expired
//! (when), issued for another audience (which, and which was expected), or for another tenant.
//! These are the troubleshooting steps the Trusted Access documentation gives, done for the user.

use crate::arm::cloud::Cloud;

/// The audience of the AKS regional gateway's tokens (not a publicly documented app, so
/// `--audience` overrides it). Here, below both `cli` (its default) and `resolve`, so neither
/// depends on the other for it.
pub const TRUSTED_ACCESS_AUDIENCE: &str = "839858a7-cb51-4fcf-ad2f-222fe0d2d0d0";
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
pub struct Claims {
    pub aud: Option<Value>,
    pub exp: Option<i64>,
    pub tid: Option<String>,
    pub appid: Option<String>,
    pub oid: Option<String>,
}

/// Now, in the unix seconds token claims use.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// The payload of a JWT, if the token is one.
pub fn decode(token: &str) -> Option<Claims> {
    serde_json::from_value(Value::Object(crate::domain::jwt::payload(token)?)).ok()
}

impl Claims {
    pub fn audiences(&self) -> Vec<String> {
        match &self.aud {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Why a token was refused, in words, or `None` when its claims look right.
/// `expected_tenant` comes from the 401's `WWW-Authenticate` (`authorization_uri=…/<tenant>`).
pub fn diagnose(
    token: &str,
    cloud: Cloud,
    expected_tenant: Option<&str>,
    now: i64,
) -> Option<String> {
    let Some(claims) = decode(token) else {
        return Some(
            "the access token is not a JWT; ARM expects a Microsoft Entra ID access token".into(),
        );
    };
    if let Some(exp) = claims.exp.filter(|exp| *exp <= now) {
        let when = time::OffsetDateTime::from_unix_timestamp(exp)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| exp.to_string());
        let minutes = (now - exp) / 60;
        return Some(format!(
            "the access token expired at {when} ({minutes} min ago): sign in again (az login) or get a fresh token"
        ));
    }
    let audiences = claims.audiences();
    let accepted = cloud.audiences();
    if !audiences.is_empty() && !audiences.iter().any(|a| accepted.contains(a)) {
        return Some(format!(
            "the access token was issued for audience '{}', but ARM in {} expects '{}/' (request it with scope {})",
            audiences.join(", "),
            cloud.name(),
            cloud.arm_endpoint(),
            cloud.scope()
        ));
    }
    if let (Some(expected), Some(tid)) = (expected_tenant, claims.tid.as_deref())
        && !expected.eq_ignore_ascii_case(tid)
    {
        return Some(format!(
            "the access token is for tenant {tid}, but the subscription belongs to tenant {expected}: \
                 sign in to that tenant (az login --tenant {expected})"
        ));
    }
    None
}

/// The tenant named by a 401's `WWW-Authenticate: Bearer authorization_uri="https://login…/<tenant>"`.
pub fn tenant_from_challenge(header: &str) -> Option<String> {
    let start = header.find("authorization_uri=\"")? + "authorization_uri=\"".len();
    let uri = &header[start..];
    let uri = &uri[..uri.find('"')?];
    let tenant = uri.trim_end_matches('/').rsplit('/').next()?;
    (!tenant.is_empty() && tenant != "common").then(|| tenant.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use serde_json::json;

    fn jwt(claims: Value) -> String {
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.sig", b64(&json!({"alg": "none"})), b64(&claims))
    }

    #[test]
    fn an_expired_token_says_when() {
        let token = jwt(json!({"exp": 1_000, "aud": "https://management.azure.com/"}));
        let why = diagnose(&token, Cloud::AzureCloud, None, 1_000 + 600).unwrap();
        assert!(
            why.contains("expired at 1970-01-01T00:16:40Z (10 min ago)"),
            "{why}"
        );
    }

    #[test]
    fn a_wrong_audience_names_both() {
        let token = jwt(json!({"exp": 5_000, "aud": "https://graph.microsoft.com"}));
        let why = diagnose(&token, Cloud::AzureCloud, None, 1_000).unwrap();
        assert!(
            why.contains("'https://graph.microsoft.com'")
                && why.contains("expects 'https://management.azure.com/'"),
            "{why}"
        );
        let ok = jwt(json!({"exp": 5_000, "aud": "https://management.core.windows.net/"}));
        assert_eq!(diagnose(&ok, Cloud::AzureCloud, None, 1_000), None);
    }

    #[test]
    fn a_wrong_tenant_names_the_right_one() {
        let token = jwt(json!({"exp": 5_000, "aud": "https://management.azure.com", "tid": "aaa"}));
        let why = diagnose(&token, Cloud::AzureCloud, Some("bbb"), 1_000).unwrap();
        assert!(
            why.contains("tenant aaa") && why.contains("az login --tenant bbb"),
            "{why}"
        );
        assert_eq!(
            diagnose(&token, Cloud::AzureCloud, Some("AAA"), 1_000),
            None
        );
    }

    #[test]
    fn the_challenge_names_the_tenant() {
        let h = r#"Bearer authorization_uri="https://login.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47", error="invalid_token""#;
        assert_eq!(
            tenant_from_challenge(h).as_deref(),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        assert_eq!(
            tenant_from_challenge(
                r#"Bearer authorization_uri="https://login.microsoftonline.com/common""#
            ),
            None
        );
        assert_eq!(decode("not-a-jwt").map(|_| ()), None);
    }
}
