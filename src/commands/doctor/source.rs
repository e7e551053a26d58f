//! The binding's source resource: does it exist, and does it have a system-assigned managed
//! identity (Trusted Access authenticates that identity)? Read with a generic ARM GET, at the
//! newest stable api-version its resource provider lists (as `az resource show` does).

use crate::arm::api;
use crate::commands::doctor::{Check, reason};
use crate::context::Context;
use crate::domain::ids::SourceResourceId;
use crate::error::Error;
use serde_json::Value;

const EXISTS: &str = "source-exists";
const IDENTITY: &str = "source-identity";

/// `source-exists` and `source-identity` for one source id.
pub async fn checks(ctx: &Context, source: &str) -> Vec<Check> {
    let Ok(parsed) = SourceResourceId::parse(source) else {
        return vec![Check::fail(
            EXISTS,
            format!("the binding's source '{source}' is not a well-formed ARM id"),
            "delete the binding and create it with the right --source-resource-id",
        )];
    };
    let not_checked = |why: String, hint: Option<String>| {
        vec![
            Check::unknown(EXISTS, why, hint),
            Check::unknown(IDENTITY, "not checked: the source could not be read", None),
        ]
    };
    let (subscription, namespace, child_type) = split(&parsed);
    let api_version = match api::get_provider(&ctx.client, subscription, namespace).await {
        Ok(Some(provider)) => newest_stable(&provider, child_type),
        Ok(None) => None,
        Err(e) => {
            return not_checked(
                format!(
                    "cannot read the resource provider {namespace}: {}",
                    reason(&e)
                ),
                None,
            );
        }
    };
    let Some(api_version) = api_version else {
        return not_checked(
            format!("the resource provider {namespace} lists no api-version for '{child_type}'"),
            Some(format!(
                "is {namespace} registered in subscription {subscription}?"
            )),
        );
    };
    match api::get_resource(&ctx.client, parsed.as_str(), &api_version).await {
        Ok(Some(resource)) => vec![
            Check::pass(EXISTS, format!("the source {} exists", parsed.as_str())),
            identity_check(&resource),
        ],
        Ok(None) => vec![
            Check::fail(
                EXISTS,
                format!(
                    "the source {} does not exist (deleted?): the binding is dangling",
                    parsed.as_str()
                ),
                "delete the binding (aks-trustedaccess rolebinding delete …): a resource created later under \
                 the same id would be trusted by it",
            ),
            Check::unknown(IDENTITY, "not checked: the source does not exist", None),
        ],
        Err(e) => {
            let hint = matches!(&e, Error::Arm(a) if a.status == 403).then(|| {
                format!(
                    "reading the source needs '{}/read' on it",
                    parsed.resource_type()
                )
            });
            not_checked(format!("cannot read the source: {}", reason(&e)), hint)
        }
    }
}

/// Subscription, provider namespace and the type below it (`pricings/securityOperators`).
fn split(id: &SourceResourceId) -> (&str, &str, &str) {
    let subscription = id.as_str().split('/').nth(2).unwrap_or_default();
    let (namespace, child) = id
        .resource_type()
        .split_once('/')
        .unwrap_or((id.resource_type(), ""));
    (subscription, namespace, child)
}

/// The newest api-version without `-preview` the provider lists for the type, else the newest.
fn newest_stable(provider: &Value, child_type: &str) -> Option<String> {
    let types = provider["resourceTypes"].as_array()?;
    let entry = types.iter().find(|t| {
        t["resourceType"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case(child_type))
    })?;
    let mut versions: Vec<&str> = entry["apiVersions"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    versions.sort_unstable_by(|a, b| b.cmp(a));
    versions
        .iter()
        .find(|v| !v.to_ascii_lowercase().contains("preview"))
        .or(versions.first())
        .map(|v| v.to_string())
}

/// Passes when `identity.type` includes SystemAssigned and a `principalId` is there.
fn identity_check(resource: &Value) -> Check {
    let identity = &resource["identity"];
    let kind = identity["type"].as_str().unwrap_or("None");
    let system = kind
        .split(',')
        .any(|k| k.trim().eq_ignore_ascii_case("SystemAssigned"));
    let principal = identity["principalId"].as_str().filter(|p| !p.is_empty());
    match (system, principal) {
        (true, Some(principal)) => Check::pass(
            IDENTITY,
            format!("the source has a system-assigned managed identity (principal {principal})"),
        ),
        _ => Check::fail(
            IDENTITY,
            if identity.is_null() {
                "the source has no managed identity".to_string()
            } else {
                format!("the source's identity is {kind}, with no system-assigned principal")
            },
            "Trusted Access authenticates the source's system-assigned managed identity: turn it on \
             (the resource's Identity page, or its service's CLI); a user-assigned identity is not enough",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::doctor::Verdict;
    use serde_json::json;

    #[test]
    fn the_newest_stable_version_is_chosen() {
        let provider = json!({"resourceTypes": [
            {"resourceType": "workspaces", "apiVersions": ["2024-10-01-preview", "2024-04-01", "2023-01-01"]},
            {"resourceType": "pricings/securityOperators", "apiVersions": ["2023-01-01-preview"]}
        ]});
        assert_eq!(
            newest_stable(&provider, "Workspaces").as_deref(),
            Some("2024-04-01")
        );
        assert_eq!(
            newest_stable(&provider, "pricings/securityoperators").as_deref(),
            Some("2023-01-01-preview")
        );
        assert_eq!(newest_stable(&provider, "vaults"), None);
    }

    #[test]
    fn identities() {
        let check = |v: Value| identity_check(&json!({"identity": v})).verdict;
        assert_eq!(
            check(json!({"type": "SystemAssigned", "principalId": "p"})),
            Verdict::Pass
        );
        assert_eq!(
            check(json!({"type": "SystemAssigned, UserAssigned", "principalId": "p"})),
            Verdict::Pass
        );
        assert_eq!(check(json!({"type": "UserAssigned"})), Verdict::Fail);
        assert_eq!(check(json!({"type": "SystemAssigned"})), Verdict::Fail);
        assert_eq!(identity_check(&json!({})).verdict, Verdict::Fail);
    }
}
