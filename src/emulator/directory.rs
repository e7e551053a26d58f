//! Microsoft.Resources' answers the emulator gives: subscriptions (with `managedByTenants`), the
//! tenants they belong to, the regions, and resource groups.

use crate::emulator::http::Reply;
use crate::emulator::regions::{self, REGIONS};
use crate::emulator::state::{SubscriptionSeed, World};
use serde_json::{Value, json};

/// A subscription as `GET /subscriptions` lists it. No emulated subscription is managed by
/// another tenant (Azure Lighthouse), so `managedByTenants` is empty, as ARM sends it then.
pub fn subscription_json(s: &SubscriptionSeed) -> Value {
    json!({
        "id": format!("/subscriptions/{}", s.subscription_id),
        "subscriptionId": s.subscription_id,
        "displayName": s.display_name,
        "state": s.state,
        "tenantId": s.tenant_id,
        "managedByTenants": [],
        "authorizationSource": "RoleBased",
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"}
    })
}

/// `GET /tenants`: each tenant the world's subscriptions belong to, once, in order.
pub fn tenants(world: &World) -> Vec<Value> {
    let mut seen: Vec<String> = Vec::new();
    for s in &world.subscriptions {
        if !seen.iter().any(|t| t.eq_ignore_ascii_case(&s.tenant_id)) {
            seen.push(s.tenant_id.clone());
        }
    }
    seen.iter()
        .map(|t| {
            json!({
                "id": format!("/tenants/{t}"),
                "tenantId": t,
                "tenantCategory": "Home",
                "countryCode": "US",
                "displayName": "Emulator",
                "domains": ["emulator.onmicrosoft.com"],
                "defaultDomain": "emulator.onmicrosoft.com",
                "tenantType": "AAD",
            })
        })
        .collect()
}

/// `GET /subscriptions/{s}/locations`: every public region.
pub fn locations(sub: &str) -> Vec<Value> {
    REGIONS.iter().map(|r| regions::to_json(sub, r)).collect()
}

/// `GET /subscriptions/{s}/resourcegroups/{g}`: the group, in the region of its first cluster.
pub fn resource_group(world: &World, sub: &str, group: &str) -> Reply {
    let Some(known) = world.resource_groups.iter().find(|g| {
        g.subscription_id.eq_ignore_ascii_case(sub) && g.name.eq_ignore_ascii_case(group)
    }) else {
        return Reply::arm_error(
            404,
            "ResourceGroupNotFound",
            format!("Resource group '{group}' could not be found."),
        );
    };
    let location = world
        .clusters
        .iter()
        .find(|c| {
            c.subscription_id.eq_ignore_ascii_case(sub)
                && c.resource_group.eq_ignore_ascii_case(group)
        })
        .map_or("westeurope", |c| c.location.as_str());
    Reply::json(
        200,
        json!({
            "id": format!("/subscriptions/{}/resourceGroups/{}", known.subscription_id, known.name),
            "name": known.name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": location,
            "properties": {"provisioningState": "Succeeded"},
        }),
    )
}
