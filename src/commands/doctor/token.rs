//! `token check`: the Trusted Access article's checklist for a partner service's 401 from the AKS
//! regional gateway. Offline first (the token's own claims), then against the cluster: its
//! tenant, and a binding whose source is the token's `xms_mirid`.

use crate::arm::api;
use crate::arm::auth::claims::unix_now;
use crate::arm::models::RoleBinding;
use crate::commands::doctor::binding::binding_checks;
use crate::commands::doctor::binding_rules::same_resource;
use crate::commands::doctor::{Check, Report, reason, rfc3339, span};
use crate::context::Context;
use crate::domain::ids::{ClusterId, SourceResourceId, is_uuid};
use crate::domain::jwt::Jwt;
use crate::error::Result;
use crate::resolve::TokenCheck;
use serde_json::{Map, Value, json};

/// The clock skew allowed on `exp`, `nbf` and `iat` (Microsoft.IdentityModel's default).
pub const CLOCK_SKEW_SECONDS: i64 = 5 * 60;

const USER_ASSIGNED: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";

pub async fn check(ctx: &Context, request: &TokenCheck) -> Result<Report> {
    let token = &request.token;
    let mut report = Report {
        checks: offline_checks(token, &request.audience, unix_now()),
        ..Report::default()
    };
    report.details.insert("claims".into(), shown_claims(token));
    report
        .details
        .insert("signatureVerified".into(), json!(false));
    let cluster = request.cluster.id(ctx.subscription().await?.clone());
    report.push(tenant_check(ctx, &cluster, token).await);
    let Some(source) = token
        .str_claim("xms_mirid")
        .filter(|s| SourceResourceId::parse(s).is_ok())
    else {
        report.push(Check::unknown(
            "token-binding",
            "not checked: the token names no source resource (xms_mirid)",
            None,
        ));
        return Ok(report);
    };
    let Some(binding) = binding_of_source(ctx, &cluster, source, &mut report).await else {
        return Ok(report);
    };
    let binding = &binding;
    let location = match api::get_cluster(&ctx.client, &cluster).await {
        Ok(c) => c
            .location
            .map(|l| l.to_ascii_lowercase())
            .ok_or_else(|| "the cluster has no location: cannot choose a role catalog".to_string()),
        Err(e) => Err(format!("cannot read the cluster: {}", reason(&e))),
    };
    binding_checks(
        ctx,
        &cluster,
        binding,
        location.as_deref().map_err(String::as_str),
        &mut report,
    )
    .await;
    Ok(report)
}

/// The cluster's binding whose source is the token's, with the `token-binding` check (pass,
/// fail, or unknown when the bindings cannot be listed) pushed either way.
async fn binding_of_source(
    ctx: &Context,
    cluster: &ClusterId,
    source: &str,
    report: &mut Report,
) -> Option<RoleBinding> {
    let bindings = match api::list_bindings(&ctx.client, cluster).await {
        Ok(b) => b,
        Err(e) => {
            report.push(Check::unknown(
                "token-binding",
                format!("cannot list the cluster's bindings: {}", reason(&e)),
                None,
            ));
            return None;
        }
    };
    let count = bindings.len();
    let Some(binding) = bindings.into_iter().find(|b| {
        b.properties
            .source_resource_id
            .as_deref()
            .is_some_and(|s| same_resource(s, source))
    }) else {
        report.push(no_binding(cluster, source, count));
        return None;
    };
    let name = binding.name.as_deref().unwrap_or("?");
    report.push(Check::pass(
        "token-binding",
        format!(
            "binding '{name}' on cluster '{}' has the token's source, with roles {}",
            cluster.name.as_str(),
            binding
                .properties
                .roles
                .clone()
                .unwrap_or_default()
                .join(", ")
        ),
    ));
    report.details.insert("binding".into(), binding.to_az());
    Some(binding)
}

fn no_binding(cluster: &ClusterId, source: &str, count: usize) -> Check {
    Check::fail(
        "token-binding",
        format!(
            "no binding on cluster '{}' has the token's source {source} ({count} binding{} checked)",
            cluster.name.as_str(),
            if count == 1 { "" } else { "s" }
        ),
        format!(
            "bind it: aks-trustedaccess rolebinding create -g {} --cluster-name {} -n <name> \
             --source-resource-id {source} --roles <roles> (see 'role list' for the roles)",
            cluster.resource_group.as_str(),
            cluster.name.as_str()
        ),
    )
}

/// The token's tenant against the cluster's (the tenant of its subscription).
async fn tenant_check(ctx: &Context, cluster: &ClusterId, token: &Jwt) -> Check {
    const ID: &str = "token-tenant";
    let Some(tid) = token.str_claim("tid").filter(|t| is_uuid(t)) else {
        return Check::unknown(ID, "not checked: the token names no tenant (tid)", None);
    };
    match api::get_subscription(&ctx.client, &cluster.subscription).await {
        Ok(sub) => match sub.tenant_id.as_deref() {
            Some(tenant) if tenant.eq_ignore_ascii_case(tid) => Check::pass(
                ID,
                format!(
                    "the token's tenant {tid} is the cluster's (subscription {})",
                    cluster.subscription
                ),
            ),
            Some(tenant) => Check::fail(
                ID,
                format!(
                    "the token is from tenant {tid}, the cluster's subscription is in tenant {tenant}"
                ),
                "Trusted Access works within one tenant: the source resource must be in the cluster's tenant",
            ),
            None => Check::unknown(ID, "the subscription does not say its tenant", None),
        },
        Err(e) => Check::unknown(
            ID,
            format!("cannot read the cluster's subscription: {}", reason(&e)),
            None,
        ),
    }
}

/// The claims that identify (never the signature): who, for whom, from when to when.
fn shown_claims(token: &Jwt) -> Value {
    let mut shown = Map::new();
    for name in [
        "aud",
        "iss",
        "tid",
        "oid",
        "appid",
        "azp",
        "idtyp",
        "xms_mirid",
        "xms_az_rid",
    ] {
        if let Some(value) = token.claims.get(name) {
            shown.insert(name.into(), value.clone());
        }
    }
    for name in ["exp", "nbf", "iat"] {
        if let Some(t) = token.time_claim(name) {
            shown.insert(name.into(), json!(rfc3339(t)));
        }
    }
    if let Some(alg) = token.header.get("alg") {
        shown.insert("alg".into(), alg.clone());
    }
    Value::Object(shown)
}

/// The checks that need nothing but the token and the clock.
pub fn offline_checks(token: &Jwt, audience: &str, now: i64) -> Vec<Check> {
    let alg = token
        .header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or("?");
    // `alg: none` (any case) or no alg: an unsigned token, which the gateway never accepts.
    let format = if alg == "?" || alg.eq_ignore_ascii_case("none") {
        Check::fail(
            "token-format",
            format!(
                "a JWT with alg {}: it is not signed",
                crate::diagnostics::sanitize(alg)
            ),
            "Entra ID tokens are signed (RS256); the gateway refuses an unsigned one",
        )
    } else {
        Check::pass(
            "token-format",
            format!(
                "a JWT (alg {}); its claims were decoded WITHOUT verifying the signature \
                 (only the AKS gateway can verify it)",
                crate::diagnostics::sanitize(alg)
            ),
        )
    };
    vec![
        format,
        expiry(token, now),
        not_before(token, now),
        issued_at(token, now),
        audience_check(token, audience),
        issuer_check(token),
        source_check(token),
    ]
}

fn expiry(token: &Jwt, now: i64) -> Check {
    const ID: &str = "token-expiry";
    let renew = "the partner service must get a new token from its managed identity";
    match token.time_claim("exp") {
        None => Check::fail(
            ID,
            "the token has no usable expiry (exp missing, or not a time in the years 1-9999)",
            "the gateway refuses tokens without exp",
        ),
        Some(exp) if exp + CLOCK_SKEW_SECONDS <= now => Check::fail(
            ID,
            format!("expired at {} ({} ago)", rfc3339(exp), span(now - exp)),
            renew,
        ),
        Some(exp) if exp <= now => Check::warn(
            ID,
            format!(
                "expired at {} ({} ago), within the {} clock skew a server may allow",
                rfc3339(exp),
                span(now - exp),
                span(CLOCK_SKEW_SECONDS)
            ),
            renew,
        ),
        Some(exp) => Check::pass(
            ID,
            format!("valid until {} (in {})", rfc3339(exp), span(exp - now)),
        ),
    }
}

fn not_before(token: &Jwt, now: i64) -> Check {
    const ID: &str = "token-not-before";
    match token.time_claim("nbf") {
        None => Check::pass(ID, "no not-before time (nbf)"),
        Some(nbf) if nbf - CLOCK_SKEW_SECONDS > now => Check::fail(
            ID,
            format!("not valid before {} (in {})", rfc3339(nbf), span(nbf - now)),
            "a clock is wrong: compare the clocks of this machine and of the partner service",
        ),
        Some(nbf) => Check::pass(ID, format!("valid since {}", rfc3339(nbf))),
    }
}

fn issued_at(token: &Jwt, now: i64) -> Check {
    const ID: &str = "token-issued-at";
    match token.time_claim("iat") {
        None => Check::pass(ID, "no issue time (iat)"),
        Some(iat) if iat - CLOCK_SKEW_SECONDS > now => Check::fail(
            ID,
            format!(
                "issued in the future: at {} (in {})",
                rfc3339(iat),
                span(iat - now)
            ),
            "a clock is wrong: compare the clocks of this machine and of the partner service",
        ),
        Some(iat) => Check::pass(ID, format!("issued at {}", rfc3339(iat))),
    }
}

fn audience_check(token: &Jwt, expected: &str) -> Check {
    const ID: &str = "token-audience";
    let audiences = token.audiences();
    let matches = |a: &&str| {
        let a = a.trim_end_matches('/');
        a.eq_ignore_ascii_case(expected) || a.eq_ignore_ascii_case(&format!("api://{expected}"))
    };
    if audiences.iter().any(matches) {
        return Check::pass(ID, format!("the audience is {expected}"));
    }
    let found = if audiences.is_empty() {
        "the token has no audience (aud)".to_string()
    } else {
        format!("the token is for audience {}", audiences.join(", "))
    };
    let arm = audiences
        .iter()
        .any(|a| a.contains("management.azure.com") || a.contains("management.core.windows.net"));
    Check::fail(
        ID,
        format!("{found}; the AKS gateway expects {expected}"),
        if arm {
            format!(
                "this is an ARM token: the partner must request its token for {expected} (scope {expected}/.default)"
            )
        } else {
            format!(
                "the partner must request its token for {expected} (scope {expected}/.default); --audience overrides the expected value"
            )
        },
    )
}

/// `tid` names a tenant and `iss` is that tenant's issuer (v1 sts.windows.net or v2 login…/v2.0).
fn issuer_check(token: &Jwt) -> Check {
    const ID: &str = "token-issuer";
    let hint = "a managed identity's token comes from Microsoft Entra ID and names its tenant";
    let Some(tid) = token.str_claim("tid") else {
        return Check::fail(ID, "the token names no tenant (tid)", hint);
    };
    if !is_uuid(tid) {
        return Check::fail(
            ID,
            format!("the tenant '{tid}' is not a tenant id (a GUID)"),
            hint,
        );
    }
    let Some(iss) = token.str_claim("iss") else {
        return Check::fail(ID, format!("tenant {tid}, but no issuer (iss)"), hint);
    };
    let issuer_tenant = url::Url::parse(iss)
        .ok()
        .and_then(|u| u.path_segments()?.next().map(str::to_string));
    if issuer_tenant.is_some_and(|t| t.eq_ignore_ascii_case(tid)) {
        Check::pass(ID, format!("tenant {tid}, issued by {iss}"))
    } else {
        Check::fail(
            ID,
            format!("the issuer {iss} is not tenant {tid}'s"),
            "expected https://sts.windows.net/<tid>/ or https://login.microsoftonline.com/<tid>/v2.0",
        )
    }
}

/// `xms_mirid`: present, a well-formed ARM id, and a resource's own (system-assigned) identity.
fn source_check(token: &Jwt) -> Check {
    const ID: &str = "token-source";
    let Some(mirid) = token.str_claim("xms_mirid") else {
        return Check::fail(
            ID,
            "the token has no xms_mirid claim: it is not a managed identity's token",
            "Trusted Access accepts tokens of the source resource's system-assigned managed identity",
        );
    };
    let Ok(parsed) = SourceResourceId::parse(mirid) else {
        return Check::fail(
            ID,
            format!("xms_mirid '{mirid}' is not a well-formed ARM resource id"),
            "the token must come from an Azure resource's managed identity",
        );
    };
    if parsed.resource_type().eq_ignore_ascii_case(USER_ASSIGNED) {
        let compute = token
            .str_claim("xms_az_rid")
            .map(|r| format!(" (used by {r})"))
            .unwrap_or_default();
        return Check::fail(
            ID,
            format!("the token is of a user-assigned identity, {mirid}{compute}"),
            "Trusted Access authenticates the source resource's system-assigned identity: the partner \
             service must use its system-assigned managed identity for this call",
        );
    }
    Check::pass(
        ID,
        format!(
            "the token is of the system-assigned identity of {mirid} (type {})",
            parsed.resource_type()
        ),
    )
}

#[cfg(test)]
#[path = "token_tests.rs"]
mod tests;
