//! The emulator's sign-in side: a Microsoft Entra token endpoint (`POST /{tenant}/oauth2/v2.0/token`,
//! for service principals, workload identity and pipelines, served over TLS in tests), a
//! managed-identity endpoint (`GET /msi/token`, App Service style), and the checks ARM makes on a
//! JWT bearer token (expiry, audience, tenant). Tokens it issues are unsigned JWTs.

use crate::emulator::http::{ArmRequest, Reply};
use crate::emulator::state::World;
use crate::emulator::token;
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;

const ARM_AUDIENCES: [&str; 4] = [
    "https://management.azure.com",
    "https://management.azure.com/",
    "https://management.core.windows.net",
    "https://management.core.windows.net/",
];

/// A client secret the token endpoint refuses, to test sign-in failures.
pub const REJECTED_SECRET: &str = "wrong-secret";

/// The documented service principal (`--help`, the README): any client id and any other secret
/// are accepted too, but these are the ones `exec --az` signs in with.
pub const EMULATOR_CLIENT_ID: &str = "a3f9c4d2-6e1b-4c8a-9d7e-0b5f2e8a1c34";
pub const EMULATOR_CLIENT_SECRET: &str = "emulator-client-secret";

/// `GET /metadata/endpoints?api-version=…` (unauthenticated, as ARM serves it): where this
/// cloud's ARM and sign-in are, as `az cloud register --endpoint-resource-manager` reads them.
/// 2022-09-01 and later answer one cloud; 2019-05-01 and 2020-06-01 a list of clouds; older
/// versions the first format (`authentication` and a few endpoints).
pub fn metadata_endpoints(base: &str, api_version: Option<&str>) -> Reply {
    let cloud = json!({
        "name": "AksTrustedAccessEmulator",
        "portal": base,
        "resourceManager": format!("{base}/"),
        "authentication": {
            "loginEndpoint": base,
            "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "graph": format!("{base}/graph/"),
        "graphAudience": "https://graph.windows.net/",
        "microsoftGraphResourceId": "https://graph.microsoft.com/",
        "suffixes": {
            "storage": "core.windows.net",
            "keyVaultDns": "vault.azure.net",
            "acrLoginServer": "azurecr.io",
            "sqlServerHostname": "database.windows.net",
        },
    });
    match api_version.unwrap_or_default() {
        v if v >= "2022-09-01" => Reply::json(200, cloud),
        "2019-05-01" | "2020-06-01" => Reply::json(200, json!([cloud])),
        _ => Reply::json(
            200,
            json!({
                "galleryEndpoint": "",
                "graphEndpoint": format!("{base}/graph/"),
                "portalEndpoint": base,
                "authentication": cloud["authentication"].clone(),
            }),
        ),
    }
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration` (and v1 without `/v2.0`): the OpenID
/// discovery document MSAL reads before it asks for a token. `common` and `organizations` give
/// the `{tenantid}` template, as Entra does.
pub fn openid_configuration(base: &str, tenant: &str, v2: bool) -> Reply {
    let issuer_tenant = match tenant.to_ascii_lowercase().as_str() {
        "common" | "organizations" | "consumers" => "{tenantid}".to_string(),
        _ => tenant.to_string(),
    };
    let (version, issuer) = if v2 {
        ("/v2.0", format!("{base}/{issuer_tenant}/v2.0"))
    } else {
        ("", format!("{base}/{issuer_tenant}/"))
    };
    Reply::json(
        200,
        json!({
            "issuer": issuer,
            "token_endpoint": format!("{base}/{tenant}/oauth2{version}/token"),
            "authorization_endpoint": format!("{base}/{tenant}/oauth2{version}/authorize"),
            "device_authorization_endpoint": format!("{base}/{tenant}/oauth2{version}/devicecode"),
            "end_session_endpoint": format!("{base}/{tenant}/oauth2{version}/logout"),
            "jwks_uri": format!("{base}/{tenant}/discovery{version}/keys"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": "WW",
            "cloud_instance_name": "emulator",
            "request_uri_parameter_supported": false,
        }),
    )
}

/// Now, in the unix seconds token claims use.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// An unsigned JWT for ARM, as the emulator hands out.
pub fn issue_token(tenant: &str, client_id: &str, lifetime_seconds: i64) -> (String, i64) {
    issue(
        tenant,
        client_id,
        lifetime_seconds,
        None,
        "https://management.azure.com/",
    )
}

/// An unsigned JWT for another audience (Log Analytics' query API), as the emulator hands out.
pub fn issue_token_for(
    tenant: &str,
    client_id: &str,
    lifetime_seconds: i64,
    audience: &str,
) -> (String, i64) {
    issue(tenant, client_id, lifetime_seconds, None, audience)
}

/// The audience a token for `scope` carries: the scope without `/.default` (az asks for
/// `https://management.core.windows.net//.default`, the SDKs for `https://management.azure.com/.default`).
fn audience_of(scope: &str) -> String {
    let resource = scope.strip_suffix(".default").unwrap_or(scope);
    match resource.strip_suffix('/') {
        Some(r) if r.ends_with('/') => r.to_string(),
        _ => resource.to_string(),
    }
}

/// An unsigned JWT for ARM; a managed identity's carries its resource id (`xms_mirid`), as
/// Entra's do, which is how ARM tells it from an application.
fn issue(
    tenant: &str,
    client_id: &str,
    lifetime_seconds: i64,
    managed_identity: Option<&str>,
    audience: &str,
) -> (String, i64) {
    let now = unix_now();
    let expires = now + lifetime_seconds;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let header = json!({"alg": "none", "typ": "JWT"});
    let mut claims = json!({
        "aud": audience,
        "iss": format!("https://sts.windows.net/{tenant}/"),
        "tid": tenant,
        "appid": client_id,
        "idtyp": "app",
        "oid": crate::emulator::seed::stable_uuid(&format!("{tenant}/{client_id}")),
        "iat": now,
        "nbf": now,
        "exp": expires,
    });
    if let Some(resource_id) = managed_identity {
        claims["xms_mirid"] = json!(resource_id);
    }
    (
        format!("{}.{}.emulator", b64(&header), b64(&claims)),
        expires,
    )
}

/// `POST /{tenant}/oauth2/v2.0/token`: client credentials with a secret or an assertion.
/// Returns the answer and what to record (never the secret or the assertion).
pub fn token_endpoint(tenant: &str, body: &[u8], lifetime_seconds: i64) -> (Reply, Value) {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let recorded = json!({
        "tenant": tenant,
        "grant_type": field("grant_type"),
        "client_id": field("client_id"),
        "scope": field("scope"),
        "client_secret": form.contains_key("client_secret"),
        "client_assertion": form.contains_key("client_assertion"),
        "client_assertion_type": field("client_assertion_type"),
        "assertion": assertion_summary(field("client_assertion")),
    });
    let entra_error = |status: u16, error: &str, code: u32, description: &str| {
        Reply::json(
            status,
            json!({
                "error": error,
                "error_description": format!("AADSTS{code}: {description}"),
                "error_codes": [code],
            }),
        )
    };
    let reply = if field("grant_type") != "client_credentials" {
        entra_error(
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        )
    } else if field("client_id").is_empty() {
        entra_error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        )
    } else if !field("scope").ends_with("/.default") {
        entra_error(
            400,
            "invalid_scope",
            1002012,
            "The provided value for scope is not valid.",
        )
    } else if field("client_secret") == REJECTED_SECRET {
        entra_error(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
        )
    } else if field("client_secret").is_empty() && field("client_assertion").is_empty() {
        entra_error(
            400,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    } else {
        let audience = audience_of(field("scope"));
        let (token, _) = issue(
            tenant,
            field("client_id"),
            lifetime_seconds,
            None,
            &audience,
        );
        Reply::json(
            200,
            json!({"token_type": "Bearer", "expires_in": lifetime_seconds, "ext_expires_in": lifetime_seconds, "access_token": token}),
        )
    };
    (reply, recorded)
}

/// What a client assertion says (header and claims, unverified), without the assertion itself.
fn assertion_summary(assertion: &str) -> Value {
    let part = |i: usize| {
        assertion
            .split('.')
            .nth(i)
            .and_then(|p| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(p)
                    .ok()
            })
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .unwrap_or(Value::Null)
    };
    if assertion.is_empty() {
        return Value::Null;
    }
    let (header, claims) = (part(0), part(1));
    json!({
        "alg": header["alg"],
        "x5t": header["x5t"].is_string(),
        "aud": claims["aud"],
        "iss": claims["iss"],
        "sub": claims["sub"],
        "signed": assertion.split('.').nth(2).is_some_and(|s| s.len() > 100),
    })
}

/// `GET /msi/token?resource=…` with `X-IDENTITY-HEADER`: App Service style managed identity.
pub fn managed_identity_endpoint(
    query: &HashMap<String, String>,
    identity_header: Option<&str>,
    tenant: &str,
    lifetime_seconds: i64,
) -> Reply {
    if identity_header.is_none_or(str::is_empty) {
        return Reply::json(
            400,
            json!({"error": "invalid_request", "error_description": "X-IDENTITY-HEADER is missing"}),
        );
    }
    let resource = query.get("resource").cloned().unwrap_or_default();
    let client = query
        .get("client_id")
        .cloned()
        .unwrap_or_else(|| "system-assigned".into());
    let mirid = format!(
        "/subscriptions/{}/resourcegroups/emulator/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{client}",
        crate::emulator::seed::DEFAULT_SUBSCRIPTION
    );
    let audience = if resource.is_empty() {
        "https://management.azure.com/".to_string()
    } else {
        resource.clone()
    };
    let (token, expires) = issue(tenant, &client, lifetime_seconds, Some(&mirid), &audience);
    Reply::json(
        200,
        json!({"access_token": token, "expires_on": expires.to_string(), "resource": resource, "token_type": "Bearer", "client_id": client}),
    )
}

/// ARM's checks on a JWT bearer token: expiry, audience, and the subscription's tenant.
/// Opaque (non-JWT) tokens are accepted, so any token works for quick tries.
pub fn check_bearer(token: &str, world: &World, req: &ArmRequest) -> Option<Reply> {
    let claims = token::claims(token)?;
    if let Some(exp) = claims.exp.filter(|exp| *exp <= unix_now()) {
        return Some(Reply::arm_error(
            401,
            "ExpiredAuthenticationToken",
            format!(
                "The access token expiry UTC time '{exp}' is earlier than current UTC time '{}'.",
                unix_now()
            ),
        ));
    }
    let audiences = claims.audiences();
    if !audiences.is_empty()
        && !audiences
            .iter()
            .any(|a| ARM_AUDIENCES.contains(&a.as_str()))
    {
        return Some(Reply::arm_error(
            401,
            "InvalidAuthenticationTokenAudience",
            format!(
                "The access token has been obtained for wrong audience or resource '{}'. It should exactly match with one of the allowed audiences '{}'.",
                audiences.join(", "),
                ARM_AUDIENCES.join("','")
            ),
        ));
    }
    let subscription = req
        .path
        .trim_start_matches('/')
        .split('/')
        .nth(1)
        .and_then(|s| world.subscription(s));
    if let (Some(subscription), Some(tid)) = (subscription, claims.tid.as_deref())
        && !subscription.tenant_id.eq_ignore_ascii_case(tid)
    {
        let expected = &subscription.tenant_id;
        let mut reply = Reply::arm_error(
            401,
            "InvalidAuthenticationTokenTenant",
            format!(
                "The access token is from the wrong issuer 'https://sts.windows.net/{tid}/'. It must match the tenant \
                 'https://sts.windows.net/{expected}/' associated with this subscription. Please use the authority (URL) \
                 'https://login.windows.net/{expected}' to get the token."
            ),
        );
        reply.headers.push((
            "www-authenticate".into(),
            format!("Bearer authorization_uri=\"https://login.windows.net/{expected}\", error=\"invalid_token\""),
        ));
        return Some(reply);
    }
    None
}
