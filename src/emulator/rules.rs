//! The service's documented rules, written here from the API reference and not borrowed from
//! the client's parsers, so the emulator is an independent witness: binding names, source ids,
//! and which roles fit which source (a role's type is a whole-segment prefix of the source's).

use crate::emulator::state::resource_type_of;

/// A binding name: 1–24 characters, `^([A-Za-z0-9-])+$`.
pub fn binding_name_ok(name: &str) -> bool {
    (1..=24).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The resource type (`NS/type[/child…]`) of a source resource id, when it is an ARM resource
/// id at all (resource-group or subscription scoped).
pub fn source_type(source: &str) -> Option<String> {
    if !source.starts_with('/') {
        return None;
    }
    resource_type_of(source)
}

/// A role (`<type>/<name>`) fits a source when the role's type is the source's type or a prefix
/// of it by whole segments, compared case-insensitively: Defender's
/// `Microsoft.Security/pricings/microsoft-defender-operator` fits a
/// `Microsoft.Security/pricings/securityOperators` source; `Microsoft.Sec/…` fits nothing.
pub fn role_fits_source(role_type: &str, source_type: &str) -> bool {
    let role: Vec<&str> = role_type.split('/').collect();
    let source: Vec<&str> = source_type.split('/').collect();
    role.len() <= source.len()
        && role
            .iter()
            .zip(&source)
            .all(|(r, s)| r.eq_ignore_ascii_case(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_names_follow_the_documented_pattern() {
        assert!(binding_name_ok("a"));
        assert!(binding_name_ok("ml-binding-01"));
        assert!(binding_name_ok(&"a".repeat(24)));
        assert!(!binding_name_ok(&"a".repeat(25)));
        assert!(!binding_name_ok(""));
        assert!(!binding_name_ok("under_score"));
        assert!(!binding_name_ok("dot.name"));
        assert!(!binding_name_ok("ünïcode"));
    }

    #[test]
    fn source_ids_are_resource_ids() {
        let ws = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w";
        assert_eq!(
            source_type(ws).as_deref(),
            Some("Microsoft.MachineLearningServices/workspaces")
        );
        let defender = "/subscriptions/s/providers/Microsoft.Security/pricings/CloudPosture/securityOperators/DefenderCSPMSecurityOperator";
        assert_eq!(
            source_type(defender).as_deref(),
            Some("Microsoft.Security/pricings/securityOperators")
        );
        assert_eq!(source_type("subscriptions/s/providers/A.B/c/d"), None);
        assert_eq!(source_type("/subscriptions/s/resourceGroups/g"), None);
        assert_eq!(source_type("/subscriptions/s/providers/A.B/c"), None);
    }

    #[test]
    fn a_role_fits_by_whole_segments() {
        let nested = "Microsoft.Security/pricings/securityOperators";
        assert!(role_fits_source("Microsoft.Security/pricings", nested));
        assert!(role_fits_source(
            "microsoft.security/Pricings/securityoperators",
            nested
        ));
        assert!(!role_fits_source("Microsoft.Security/pricing", nested));
        assert!(!role_fits_source("Microsoft.Sec", nested));
        assert!(!role_fits_source(
            "Microsoft.Security/pricings/securityOperators/more",
            nested
        ));
        assert!(role_fits_source(
            "Microsoft.DataProtection/BackupVaults",
            "Microsoft.DataProtection/backupVaults"
        ));
    }
}
