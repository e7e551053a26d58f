//! The checks of one binding that both doctor commands make: provisioned (`Succeeded`), effective
//! yet (5 minutes after its last change), roles in the location's catalog and fitting the
//! source's type. Pure functions of what was read, so each verdict is unit-testable.

use crate::arm::models::{Role, RoleBinding};
use crate::commands::doctor::{Check, EFFECTIVE_AFTER_SECONDS, parse_rfc3339, rfc3339, span};
use crate::domain::ids::SourceResourceId;
use crate::domain::roles::{role_key, role_type_fits_source};
use std::collections::HashSet;

/// `Succeeded`; an operation in flight is a warning; `Failed`, `Canceled`, `Deleting` fail.
/// `operation_error` is the failed operation's error, when it could be read.
pub fn provisioned(binding: &RoleBinding, operation_error: Option<&str>) -> Check {
    const ID: &str = "binding-provisioned";
    let name = binding.name.as_deref().unwrap_or("?");
    let state = binding
        .properties
        .provisioning_state
        .as_deref()
        .unwrap_or("(none)");
    match state.to_ascii_lowercase().as_str() {
        "succeeded" => Check::pass(ID, format!("binding '{name}' is Succeeded")),
        "updating" | "creating" | "accepted" | "provisioning" => Check::warn(
            ID,
            format!("binding '{name}' is {state}: an operation on it is still running"),
            "check again when it has finished (rolebinding show prints its state)",
        ),
        "deleting" => Check::fail(
            ID,
            format!("binding '{name}' is being deleted"),
            "create it again once the delete has finished",
        ),
        _ => {
            let mut message = format!("binding '{name}' is {state}");
            match operation_error {
                Some(error) => message.push_str(&format!("; the operation's error: {error}")),
                None if state.eq_ignore_ascii_case("failed") => {
                    message.push_str("; the operation's error could not be read")
                }
                None => {}
            }
            Check::fail(
                ID,
                message,
                "fix the cause, then write it again with 'aks-trustedaccess rolebinding update' \
                 (same roles) or delete and create it",
            )
        }
    }
}

/// The binding's last change (`lastModifiedAt`, else `createdAt`) and whether it was created
/// then (nothing of it works yet) or changed (its previous state still applies).
fn last_change(binding: &RoleBinding) -> Option<(i64, bool)> {
    let system_data = binding.system_data.as_ref()?;
    let created = system_data.created_at.as_deref().and_then(parse_rfc3339);
    let modified = system_data
        .last_modified_at
        .as_deref()
        .and_then(parse_rfc3339);
    match (created, modified) {
        (Some(c), Some(m)) if m > c => Some((m, false)),
        (Some(c), _) => Some((c, true)),
        (None, Some(m)) => Some((m, false)),
        (None, None) => None,
    }
}

/// Whether the last change's time (`createdAt` when `created`) has a fraction of a second.
fn has_fraction(binding: &RoleBinding, created: bool) -> bool {
    let system_data = binding.system_data.as_ref();
    let text = if created {
        system_data.and_then(|s| s.created_at.as_deref())
    } else {
        system_data.and_then(|s| s.last_modified_at.as_deref())
    };
    text.and_then(|t| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    })
    .is_some_and(|t| t.nanosecond() > 0)
}

/// Effective 5 minutes after the last change. Returns the check and, when not yet, the unix
/// time it should be effective at.
pub fn effective(binding: &RoleBinding, now: i64) -> (Check, Option<i64>) {
    const ID: &str = "binding-effective";
    let Some((changed, created)) = last_change(binding) else {
        return (
            Check::unknown(
                ID,
                "the binding carries no systemData times: cannot tell when it took effect",
                Some("a binding takes effect within about 5 minutes of its last change".into()),
            ),
            None,
        );
    };
    // A fraction of a second counts as a whole one: the effective time is never early.
    let at = changed + i64::from(has_fraction(binding, created)) + EFFECTIVE_AFTER_SECONDS;
    let what = if created { "created" } else { "changed" };
    if at <= now {
        let message = format!(
            "{what} at {}, effective since about {} ({} ago)",
            rfc3339(changed),
            rfc3339(at),
            span(now - at)
        );
        return (Check::pass(ID, message), None);
    }
    let message = format!(
        "{what} at {}: not effective yet, expected by {} (in {})",
        rfc3339(changed),
        rfc3339(at),
        span(at - now)
    );
    let hint = "Trusted Access applies a change within about 5 minutes; --wait-effective waits \
                until then instead of a 'sleep'";
    let check = if created {
        Check::fail(ID, message, hint)
    } else {
        Check::warn(
            ID,
            format!("{message}; until then its previous roles apply"),
            hint,
        )
    };
    (check, Some(at))
}

/// The roles' two checks: in the catalog of the cluster's location, and fitting the source.
pub fn roles(binding: &RoleBinding, catalog: &[Role], location: &str) -> Vec<Check> {
    let roles = binding.properties.roles.clone().unwrap_or_default();
    let offered: HashSet<String> = catalog
        .iter()
        .filter_map(|r| Some(role_key(&r.qualified()?)))
        .collect();
    let missing: Vec<&String> = roles
        .iter()
        .filter(|role| !offered.contains(&role_key(role)))
        .collect();
    let catalog_check = if roles.is_empty() {
        Check::fail(
            "roles-in-catalog",
            "the binding has no roles",
            "give it roles with 'aks-trustedaccess rolebinding update --roles …'",
        )
    } else if missing.is_empty() {
        Check::pass(
            "roles-in-catalog",
            format!("every role is offered in {location}: {}", roles.join(", ")),
        )
    } else {
        Check::fail(
            "roles-in-catalog",
            format!(
                "not in the role catalog of {location}: {}",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!(
                "the catalog differs by region and subscription: see 'aks-trustedaccess role list -l {location}' \
                 and update the binding's roles"
            ),
        )
    };
    vec![catalog_check, fit_check(binding)]
}

/// Every role's type fits the binding's source (needs no catalog).
pub fn fit_check(binding: &RoleBinding) -> Check {
    const ID: &str = "roles-fit-source";
    let roles = binding.properties.roles.clone().unwrap_or_default();
    let source = binding
        .properties
        .source_resource_id
        .as_deref()
        .unwrap_or("");
    let Ok(parsed) = SourceResourceId::parse(source) else {
        return Check::fail(
            ID,
            format!("the binding's source '{source}' is not a well-formed ARM id"),
            "delete the binding and create it with the right --source-resource-id",
        );
    };
    let source_type = parsed.resource_type();
    let misfits: Vec<&str> = roles
        .iter()
        .filter(|role| {
            let role_type = role.rsplit_once('/').map_or("", |(t, _)| t);
            !role_type_fits_source(role_type, source_type)
        })
        .map(String::as_str)
        .collect();
    if misfits.is_empty() {
        Check::pass(
            ID,
            format!("every role is for sources of type {source_type}"),
        )
    } else {
        Check::fail(
            ID,
            format!("not for a {source_type} source: {}", misfits.join(", ")),
            format!(
                "a role's type must be a prefix of the source's type; roles for this source start with '{source_type}/'"
            ),
        )
    }
}

/// Two ARM ids name the same resource: both well formed and equal ignoring case
/// (`resourcegroups` vs `resourceGroups`, a trailing '/').
pub fn same_resource(a: &str, b: &str) -> bool {
    match (SourceResourceId::parse(a), SourceResourceId::parse(b)) {
        (Ok(a), Ok(b)) => a.as_str().eq_ignore_ascii_case(b.as_str()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::doctor::Verdict;
    use serde_json::json;

    const SUB: &str = "00000000-0000-0000-0000-000000000000";

    fn binding(
        state: &str,
        created: &str,
        modified: &str,
        roles: &[&str],
        source: &str,
    ) -> RoleBinding {
        serde_json::from_value(json!({
            "name": "b",
            "systemData": {"createdAt": created, "lastModifiedAt": modified},
            "properties": {"provisioningState": state, "roles": roles, "sourceResourceId": source}
        }))
        .unwrap()
    }

    #[test]
    fn effective_five_minutes_after_the_last_change() {
        let b = binding(
            "Succeeded",
            "1970-01-01T00:00:00Z",
            "1970-01-01T00:00:00Z",
            &[],
            "",
        );
        let (check, at) = effective(&b, 299);
        assert_eq!((check.verdict, at), (Verdict::Fail, Some(300)));
        assert!(check.message.contains("in 1s"), "{}", check.message);
        let (check, at) = effective(&b, 300);
        assert_eq!((check.verdict, at), (Verdict::Pass, None));
        let fraction = binding(
            "Succeeded",
            "1970-01-01T00:00:00.5Z",
            "1970-01-01T00:00:00.5Z",
            &[],
            "",
        );
        assert_eq!(effective(&fraction, 300).1, Some(301), "never early");
        let changed = binding(
            "Succeeded",
            "1970-01-01T00:00:00Z",
            "1970-01-01T01:00:00Z",
            &[],
            "",
        );
        let (check, at) = effective(&changed, 3600 + 10);
        assert_eq!((check.verdict, at), (Verdict::Warn, Some(3900)));
        assert!(check.message.contains("previous roles apply"));
        let none: RoleBinding = serde_json::from_value(json!({"name": "b"})).unwrap();
        assert_eq!(effective(&none, 0).0.verdict, Verdict::Unknown);
    }

    #[test]
    fn states() {
        let b = |s: &str| binding(s, "", "", &[], "");
        assert_eq!(provisioned(&b("Succeeded"), None).verdict, Verdict::Pass);
        assert_eq!(provisioned(&b("Updating"), None).verdict, Verdict::Warn);
        let failed = provisioned(&b("Failed"), Some("(Boom) it broke"));
        assert_eq!(failed.verdict, Verdict::Fail);
        assert!(failed.message.contains("(Boom) it broke"));
        assert!(
            provisioned(&b("Failed"), None)
                .message
                .contains("could not be read")
        );
    }

    #[test]
    fn roles_fit_by_whole_segments() {
        let defender = binding(
            "Succeeded",
            "",
            "",
            &["Microsoft.Security/pricings/microsoft-defender-operator"],
            &format!(
                "/subscriptions/{SUB}/providers/Microsoft.Security/pricings/CloudPosture/securityOperators/DefenderCSPMSecurityOperator"
            ),
        );
        let catalog: Vec<Role> = serde_json::from_value(json!([
            {"name": "microsoft-defender-operator", "sourceResourceType": "Microsoft.Security/pricings"}
        ]))
        .unwrap();
        let checks = roles(&defender, &catalog, "westeurope");
        assert_eq!(checks[0].verdict, Verdict::Pass, "{checks:?}");
        assert_eq!(checks[1].verdict, Verdict::Pass, "{checks:?}");
        let checks = roles(&defender, &[], "westeurope");
        assert_eq!(checks[0].verdict, Verdict::Fail);
    }

    #[test]
    fn ids_compare_as_parsed() {
        let a = format!("/subscriptions/{SUB}/resourceGroups/RG/providers/Microsoft.A/b/c");
        let b = format!("/subscriptions/{SUB}/resourcegroups/rg/providers/microsoft.a/B/C/");
        assert!(same_resource(&a, &b));
        assert!(!same_resource(&a, &format!("{a}x")));
        assert!(!same_resource("x", "x"));
    }
}
