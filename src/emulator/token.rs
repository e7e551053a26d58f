//! The emulator's own reading of a bearer token: its claims (decoded here, never with the
//! client's parser: the emulator is an independent witness of the service's rules) and the caller
//! they name, as ARM writes it into `systemData` and the activity log.

use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

/// The claims ARM looks at. Unknown claims are ignored; a wrong type makes the token unreadable.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct TokenClaims {
    #[serde(default)]
    pub aud: Option<Value>,
    #[serde(default)]
    pub exp: Option<i64>,
    #[serde(default)]
    pub tid: Option<String>,
    #[serde(default)]
    pub appid: Option<String>,
    /// v2 tokens name the client here instead of `appid`.
    #[serde(default)]
    pub azp: Option<String>,
    #[serde(default)]
    pub oid: Option<String>,
    #[serde(default)]
    pub upn: Option<String>,
    #[serde(default)]
    pub unique_name: Option<String>,
    #[serde(default)]
    pub preferred_username: Option<String>,
    /// `app` for an application's token, `user` for a person's.
    #[serde(default)]
    pub idtyp: Option<String>,
    /// A managed identity's resource id (Entra sets it on managed identities' tokens).
    #[serde(default)]
    pub xms_mirid: Option<String>,
}

/// The claims of a JWT (`header.payload.signature`), unverified; `None` when the token is not one
/// (an opaque token, which the emulator accepts for quick tries).
pub fn claims(token: &str) -> Option<TokenClaims> {
    let mut parts = token.split('.');
    let (_header, payload) = (parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

impl TokenClaims {
    /// `aud` as a list (it is a string or a list of strings).
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

/// Who made a request, as ARM names it: `systemData.createdBy`/`createdByType`, the activity
/// log's `caller`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// A person's sign-in name, or an application's or managed identity's client id.
    pub name: String,
    /// `User`, `Application` or `ManagedIdentity` (ARM's `createdByType` values).
    pub kind: &'static str,
    /// The principal's object id, when the token names one.
    pub object_id: Option<String>,
}

/// The caller of an opaque (non-JWT) token, or of none: the emulator's documented stand-in.
pub const ANONYMOUS_CALLER: &str = "user@example.com";

impl Default for Caller {
    fn default() -> Self {
        Caller {
            name: ANONYMOUS_CALLER.into(),
            kind: "User",
            object_id: None,
        }
    }
}

/// The caller a bearer token names: a person by sign-in name (`upn`, `unique_name`,
/// `preferred_username`), a managed identity (`xms_mirid`) or an application by client id
/// (`appid`, else `azp`). A token that is not a JWT, or names nobody, is the anonymous caller.
pub fn caller(token: &str) -> Caller {
    let Some(claims) = claims(token) else {
        return Caller::default();
    };
    let object_id = claims.oid.clone();
    let person = [&claims.upn, &claims.unique_name, &claims.preferred_username]
        .into_iter()
        .flatten()
        .find(|n| !n.is_empty())
        .filter(|_| claims.idtyp.as_deref() != Some("app"));
    let client = claims.appid.clone().or(claims.azp.clone());
    match (person, client) {
        (Some(name), _) => Caller {
            name: name.clone(),
            kind: "User",
            object_id,
        },
        (None, Some(client)) => Caller {
            name: client,
            kind: if claims.xms_mirid.is_some() {
                "ManagedIdentity"
            } else {
                "Application"
            },
            object_id,
        },
        (None, None) => Caller {
            object_id,
            ..Caller::default()
        },
    }
}

impl Caller {
    /// A new resource's `systemData`: created and last modified by this caller, at `now`.
    pub fn system_data(&self, now: &str) -> Value {
        json!({
            "createdBy": self.name, "createdByType": self.kind, "createdAt": now,
            "lastModifiedBy": self.name, "lastModifiedByType": self.kind, "lastModifiedAt": now,
        })
    }

    /// ARM's 403 message for an action this caller may not take on `scope`.
    pub fn authorization_failed(&self, action: &str, scope: &str) -> String {
        let object_id = self
            .object_id
            .as_deref()
            .unwrap_or("22222222-2222-2222-2222-222222222222");
        format!(
            "The client '{}' with object id '{object_id}' does not have authorization to perform action '{action}' \
             over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
            self.name
        )
    }

    /// Marks `system_data` as last modified by this caller at `now`.
    pub fn touch(&self, system_data: &mut Value, now: &str) {
        system_data["lastModifiedBy"] = json!(self.name);
        system_data["lastModifiedByType"] = json!(self.kind);
        system_data["lastModifiedAt"] = json!(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: Value) -> String {
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.sig", b64(&json!({"alg": "none"})), b64(&claims))
    }

    #[test]
    fn a_person_is_named_by_sign_in_name() {
        let c = caller(&jwt(
            json!({"upn": "ada@contoso.com", "appid": "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "oid": "o1"}),
        ));
        assert_eq!(
            (c.name.as_str(), c.kind, c.object_id.as_deref()),
            ("ada@contoso.com", "User", Some("o1"))
        );
    }

    #[test]
    fn an_application_is_named_by_client_id_and_a_managed_identity_is_told_apart() {
        let app = caller(&jwt(json!({"appid": "c1", "idtyp": "app"})));
        assert_eq!((app.name.as_str(), app.kind), ("c1", "Application"));
        let v2 = caller(&jwt(json!({"azp": "c2"})));
        assert_eq!((v2.name.as_str(), v2.kind), ("c2", "Application"));
        let mi = caller(&jwt(
            json!({"appid": "c3", "xms_mirid": "/subscriptions/s/resourcegroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u"}),
        ));
        assert_eq!((mi.name.as_str(), mi.kind), ("c3", "ManagedIdentity"));
    }

    #[test]
    fn opaque_and_unreadable_tokens_are_the_anonymous_caller() {
        assert_eq!(caller("emulator"), Caller::default());
        assert_eq!(caller("a.!!!.c"), Caller::default());
        assert_eq!(caller(&jwt(json!({"exp": "soon"}))), Caller::default());
    }

    #[test]
    fn claims_tolerate_padding_and_read_list_audiences() {
        let token = jwt(json!({"aud": ["a", "b"], "exp": 5}));
        let (head, rest) = token.split_once('.').unwrap();
        let (payload, sig) = rest.split_once('.').unwrap();
        let padded = format!("{head}.{payload}==.{sig}");
        let c = claims(&padded).unwrap();
        assert_eq!(
            (c.audiences(), c.exp),
            (vec!["a".into(), "b".into()], Some(5))
        );
    }
}
