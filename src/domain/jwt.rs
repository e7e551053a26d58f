//! A JWT's header and claims, decoded WITHOUT verifying the signature (the one decoder: `token
//! check` reads it strictly, the client leniently to explain a 401) (only the AKS gateway,
//! which holds the keys' trust, can). The signature is dropped on decoding: nothing keeps it,
//! so nothing can print it. Refusals never quote the input.

use base64::Engine;
use serde_json::{Map, Value};

/// The readable parts of a JWT. Deliberately no `Clone` of the raw token: it is not kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Jwt {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
}

/// A data-plane token is at most a few kilobytes; anything much larger is not one.
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// Decodes `header.payload.signature`; the error says why it is not a JWT, without quoting it.
pub fn decode(token: &str) -> Result<Jwt, String> {
    let parts: Vec<&str> = token.split('.').collect();
    match parts.len() {
        3 => {}
        5 => {
            return Err(
                "it is an encrypted token (JWE, five parts); its claims cannot be read".into(),
            );
        }
        n => {
            return Err(format!(
                "a JWT has three parts separated by '.', this has {n}"
            ));
        }
    }
    let header = part(parts[0], "header")?;
    if !header.get("alg").is_some_and(Value::is_string) {
        return Err("its header has no 'alg'".into());
    }
    let claims = part(parts[1], "payload")?;
    if parts[2].is_empty() && header.get("alg").and_then(Value::as_str) != Some("none") {
        return Err("it has no signature".into());
    }
    Ok(Jwt { header, claims })
}

/// A token's payload (claims) alone, read leniently: the second of at least two '.'-separated
/// parts, base64url JSON. What the client reads to explain a 401; `decode` is the strict reading.
pub fn payload(token: &str) -> Option<Map<String, Value>> {
    part(token.split('.').nth(1)?, "payload").ok()
}

/// One base64url JSON-object part.
fn part(text: &str, name: &str) -> Result<Map<String, Value>, String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| format!("its {name} is not base64url"))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(format!("its {name} is not a JSON object")),
    }
}

impl Jwt {
    pub fn str_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A NumericDate claim (`exp`, `nbf`, `iat`), as whole unix seconds.
    /// A time claim (Unix seconds) within the years 0001-9999; a value outside (the extremes of
    /// i64, a float like 1e300) is no usable time and reads as absent, so no duration computed
    /// from it can overflow or print as nonsense.
    pub fn time_claim(&self, name: &str) -> Option<i64> {
        const EARLIEST: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
        const LATEST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
        let value = self.claims.get(name)?;
        let seconds = value.as_i64().or_else(|| {
            value
                .as_f64()
                .filter(|f| f.is_finite() && (EARLIEST as f64..=LATEST as f64).contains(f))
                .map(|f| f as i64)
        })?;
        (EARLIEST..=LATEST).contains(&seconds).then_some(seconds)
    }

    /// `aud` is a string or a list of strings.
    pub fn audiences(&self) -> Vec<&str> {
        match self.claims.get("aud") {
            Some(Value::String(a)) => vec![a.as_str()],
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(v: &Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn decodes_header_and_claims_and_refuses_the_rest() {
        let header = b64(&json!({"alg": "RS256", "kid": "k"}));
        let claims = b64(&json!({"aud": ["a", "b"], "exp": 10.5, "tid": "t"}));
        let jwt = decode(&format!("{header}.{claims}.c2ln")).unwrap();
        assert_eq!(jwt.audiences(), ["a", "b"]);
        assert_eq!(jwt.time_claim("exp"), Some(10));
        assert_eq!(jwt.str_claim("tid"), Some("t"));

        assert!(decode("not a token").unwrap_err().contains("this has 1"));
        assert!(decode("a.b.c.d.e").unwrap_err().contains("JWE"));
        assert!(
            decode(&format!("{header}.!!.sig"))
                .unwrap_err()
                .contains("payload")
        );
        assert!(
            decode(&format!("{}.{claims}.sig", b64(&json!({"kid": "k"}))))
                .unwrap_err()
                .contains("alg")
        );
        assert!(
            decode(&format!("{header}.{claims}."))
                .unwrap_err()
                .contains("signature")
        );
        let secret = "eyJzZWNyZXQiOjF9";
        let why = decode(&format!("{header}.{secret}")).unwrap_err();
        assert!(!why.contains(secret), "{why}");
    }
}
