//! `role list`: the Trusted Access roles offered in a location.

use crate::arm::api;
use crate::arm::ids::Location;
use crate::commands::Outcome;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::resolve::{LocationText, RoleList};
use serde_json::Value;

pub async fn list(ctx: &Context, request: &RoleList) -> Result<Outcome> {
    let subscription = ctx.subscription().await?.clone();
    let location = resolve_location(ctx, &request.location).await?;
    let roles = api::list_roles(&ctx.client, &subscription, &location).await?;
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
        .map(Location::from_service)
        .ok_or_else(|| {
            Error::usage_with_hint(
                format!("unknown location '{wanted}'"),
                "see 'az account list-locations -o table' for the names",
            )
        })
}
