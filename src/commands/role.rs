//! `role list` and `role show`: the Trusted Access roles offered in a location, and each role's
//! risk from its Kubernetes rules (the levels audit's privilege rule uses).

use crate::arm::api;
use crate::arm::models::LocationInfo;
use crate::arm::models::Role;
use crate::commands::audit::rules::role_risk;
use crate::context::Context;
use crate::domain::ids::{Location, SubscriptionId};
use crate::error::{Error, Result};
use crate::resolve::{LocationText, RoleList, RoleShow};
use serde_json::{Value, json};

/// `role list`: az's objects, and each role's risk level (a table shows it; JSON stays az's).
pub struct RoleListing {
    pub roles: Value,
    pub risks: Vec<&'static str>,
}

pub async fn list(ctx: &Context, request: &RoleList) -> Result<RoleListing> {
    let (_, roles) = catalog(ctx, &request.location).await?;
    Ok(RoleListing {
        risks: roles
            .iter()
            .map(|r| role_risk(r.rules.as_deref().unwrap_or_default()).0.as_str())
            .collect(),
        roles: Value::Array(roles.iter().map(|r| r.to_az()).collect()),
    })
}

/// `role show`: one role's rules, each with its own risk and reasons, and the role's level (its
/// riskiest rule's) with every reason. A name that is not in the catalog is exit 3.
pub async fn show(ctx: &Context, request: &RoleShow) -> Result<Value> {
    let (location, roles) = catalog(ctx, &request.location).await?;
    let role = find_role(&roles, &request.name, &location)?;
    let rules = role.rules.as_deref().unwrap_or_default();
    let (risk, reasons) = role_risk(rules);
    let az = role.to_az();
    let shown: Vec<Value> = rules
        .iter()
        .zip(az["rules"].as_array().into_iter().flatten())
        .map(|(rule, shown)| {
            let (risk, reasons) = role_risk(std::slice::from_ref(rule));
            let mut shown = shown.clone();
            shown["risk"] = json!(risk.as_str());
            shown["reasons"] = json!(reasons);
            shown
        })
        .collect();
    Ok(json!({
        "name": role.name,
        "sourceResourceType": role.source_resource_type,
        "location": location.as_str(),
        "risk": risk.as_str(),
        "reasons": reasons,
        "rules": shown,
    }))
}

/// A role by name (`mlworkload`) or with its source type (`Microsoft.X/type/mlworkload`),
/// case-insensitively; a bare name two source types share is refused, naming both.
fn find_role<'a>(roles: &'a [Role], wanted: &str, location: &Location) -> Result<&'a Role> {
    let location = location.as_str();
    let full = |r: &Role| {
        format!(
            "{}/{}",
            r.source_resource_type.as_deref().unwrap_or_default(),
            r.name.as_deref().unwrap_or_default()
        )
    };
    let matches: Vec<&Role> = roles
        .iter()
        .filter(|r| {
            full(r).eq_ignore_ascii_case(wanted)
                || r.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::NotFound {
            message: format!("role '{wanted}' not found in {location}"),
            hint: Some(format!(
                "see the roles with 'aks-trustedaccess role list -l {location} -o table'"
            )),
        }),
        several => Err(Error::usage_with_hint(
            format!("role name '{wanted}' is ambiguous in {location}"),
            format!(
                "name it with its source type: {}",
                several
                    .iter()
                    .map(|r| full(r))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// A location's role catalog (the location resolved as `role list` does).
async fn catalog(ctx: &Context, text: &LocationText) -> Result<(Location, Vec<Role>)> {
    let subscription = ctx.subscription().await?.clone();
    let location = resolve_location(ctx, text).await?;
    match api::list_roles(&ctx.client, &subscription, &location).await {
        Ok(roles) => Ok((location, roles)),
        Err(refused) => Err(explain_refusal(ctx, &subscription, &location, refused).await),
    }
}

/// A short name is used as is; a display name ("West Europe") is looked up in the
/// subscription's locations, as az does.
pub async fn resolve_location(ctx: &Context, text: &LocationText) -> Result<Location> {
    let raw = text.as_str();
    if let Some(location) = Location::short_name(raw) {
        return Ok(location);
    }
    let subscription = ctx.subscription().await?;
    let wanted = raw.trim();
    let locations = api::list_locations(&ctx.client, subscription).await?;
    locations
        .iter()
        .find(|l| {
            [&l.display_name, &l.regional_display_name, &l.name]
                .iter()
                .any(|n| n.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(wanted)))
        })
        .and_then(|l| l.name.as_deref())
        .and_then(Location::from_service)
        .ok_or_else(|| unknown_location(wanted, &locations))
}

/// A short name is sent as it is (one request on the common path). When ARM refuses it, the
/// subscription's locations say whether the name is a typo: then "unknown location" with the
/// nearest names (exit 2, as for a display name), else ARM's own error. Checking the list first
/// would cost every `role list` a second request to catch a typo.
async fn explain_refusal(
    ctx: &Context,
    subscription: &SubscriptionId,
    location: &Location,
    refused: Error,
) -> Error {
    let Error::Arm(arm) = &refused else {
        return refused;
    };
    let about_location = arm.status == 404
        || [
            "NoRegisteredProviderFound",
            "LocationNotAvailableForResourceType",
            "InvalidLocation",
            "LocationNotFound",
        ]
        .iter()
        .any(|c| arm.code.eq_ignore_ascii_case(c));
    if !about_location {
        return refused;
    }
    match api::list_locations(&ctx.client, subscription).await {
        Ok(locations)
            if !locations.is_empty()
                && !locations.iter().any(|l| {
                    l.name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(location.as_str()))
                }) =>
        {
            unknown_location(location.as_str(), &locations)
        }
        _ => refused,
    }
}

/// "unknown location", with up to three known names nearest to what was typed.
fn unknown_location(wanted: &str, locations: &[LocationInfo]) -> Error {
    let typed = wanted.to_lowercase().replace(' ', "");
    let mut nearest: Vec<(usize, &str)> = locations
        .iter()
        .filter_map(|l| {
            let name = l.name.as_deref()?;
            let distance = [Some(name), l.display_name.as_deref()]
                .into_iter()
                .flatten()
                .map(|n| strsim::levenshtein(&typed, &n.to_lowercase().replace(' ', "")))
                .min()?;
            Some((distance, name))
        })
        .filter(|(d, _)| *d <= (typed.len() / 3).max(2))
        .collect();
    nearest.sort();
    nearest.dedup_by(|a, b| a.1 == b.1);
    let names: Vec<&str> = nearest.iter().take(3).map(|(_, n)| *n).collect();
    let hint = if names.is_empty() {
        "see 'az account list-locations -o table' for the names".to_string()
    } else {
        format!(
            "did you mean {}? (see 'az account list-locations -o table')",
            names.join(", ")
        )
    };
    Error::usage_with_hint(format!("unknown location '{wanted}'"), hint)
}
