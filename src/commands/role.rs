//! `role list`: the Trusted Access roles offered in a location.

use crate::arm::api;
use crate::arm::ids::{Location, SubscriptionId};
use crate::arm::models::LocationInfo;
use crate::commands::Outcome;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::resolve::{LocationText, RoleList};
use serde_json::Value;

pub async fn list(ctx: &Context, request: &RoleList) -> Result<Outcome> {
    let subscription = ctx.subscription().await?.clone();
    let location = resolve_location(ctx, &request.location).await?;
    let roles = match api::list_roles(&ctx.client, &subscription, &location).await {
        Ok(roles) => roles,
        Err(refused) => return Err(explain_refusal(ctx, &subscription, &location, refused).await),
    };
    Ok(Outcome::Data(Value::Array(
        roles.iter().map(|r| r.to_az()).collect(),
    )))
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
