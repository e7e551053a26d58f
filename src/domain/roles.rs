//! Trusted Access role names (`<Namespace>/<type>[/<subtype>]/<name>`), parsed once into a typed
//! value. The `--roles` flag's own parsing lives in the resolve step (`resolve::parse_roles`).

use crate::error::{Error, Result};

/// A qualified role: `<Namespace>/<type>[/<subtype>]/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleName {
    raw: String,
    split: usize,
}

impl RoleName {
    pub fn parse(raw: &str) -> Result<Self> {
        let segments: Vec<&str> = raw.split('/').collect();
        let well_formed = segments.len() >= 3
            && segments
                .iter()
                .all(|s| !s.is_empty() && !s.chars().any(char::is_whitespace))
            && segments[0].contains('.');
        if !well_formed {
            let hint = if segments.len() == 1 && !raw.is_empty() {
                format!(
                    "a role is qualified with its source's resource type, e.g. \
                     Microsoft.MachineLearningServices/workspaces/{raw}; see 'aks-trustedaccess role list -l <location>'"
                )
            } else {
                "a role is '<Namespace>/<type>[/<subtype>]/<name>', e.g. \
                 Microsoft.MachineLearningServices/workspaces/mlworkload"
                    .to_string()
            };
            return Err(Error::usage_with_hint(
                format!("invalid role '{raw}'"),
                hint,
            ));
        }
        let split = raw.rfind('/').unwrap_or_default();
        Ok(RoleName {
            raw: raw.to_string(),
            split,
        })
    }
    pub fn as_str(&self) -> &str {
        &self.raw
    }
    pub fn source_type(&self) -> &str {
        &self.raw[..self.split]
    }
    pub fn short_name(&self) -> &str {
        &self.raw[self.split + 1..]
    }
}

impl RoleName {
    /// A role taken as given (`--skip-validation`): no format rule, the service judges it.
    pub fn unchecked(raw: &str) -> Self {
        RoleName {
            raw: raw.to_string(),
            split: raw.rfind('/').unwrap_or_default(),
        }
    }
}

/// The service's rule: a role fits a source when the role's type is a prefix, by whole segments
/// and case-insensitively, of the source's type. Defender's sources are nested
/// (`Microsoft.Security/pricings/securityOperators`) and its roles are
/// `Microsoft.Security/pricings/<role>`, so equal types would refuse valid bindings.
pub fn role_type_fits_source(role_type: &str, source_type: &str) -> bool {
    let role: Vec<&str> = role_type.split('/').collect();
    let source: Vec<&str> = source_type.split('/').collect();
    role.len() >= 2
        && role.len() <= source.len()
        && role
            .iter()
            .zip(&source)
            .all(|(r, s)| r.eq_ignore_ascii_case(s))
}

/// A catalog role's full name as bindings give it: `<sourceResourceType>/<name>`.
pub fn qualified(source_type: &str, name: &str) -> String {
    format!("{source_type}/{name}")
}

/// What roles are compared by (a binding's against a catalog's): the service compares them
/// case-insensitively.
pub fn role_key(role: &str) -> String {
    role.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_fits_a_source_whose_type_it_prefixes_by_whole_segments() {
        let defender = "Microsoft.Security/pricings/securityOperators";
        assert!(role_type_fits_source(
            "Microsoft.Security/pricings",
            defender
        ));
        assert!(role_type_fits_source(
            "microsoft.security/PRICINGS",
            defender
        ));
        assert!(role_type_fits_source(defender, defender));
        assert!(!role_type_fits_source(
            "Microsoft.Security/pricing",
            defender
        ));
        assert!(!role_type_fits_source("Microsoft.Security", defender));
        assert!(!role_type_fits_source(
            "Microsoft.Security/pricings/securityOperators/x",
            defender
        ));
        assert!(!role_type_fits_source(
            "Microsoft.MachineLearningServices/workspaces",
            "Microsoft.MachineLearningServices/workspacesX"
        ));
    }

    #[test]
    fn a_role_splits_into_source_type_and_name() {
        let role = RoleName::parse("Microsoft.A/b/c/r3").unwrap();
        assert_eq!(role.source_type(), "Microsoft.A/b/c");
        assert_eq!(role.short_name(), "r3");
        assert!(RoleName::parse("Microsoft.A/b").is_err());
        assert!(RoleName::parse("A/b/r").is_err());
        assert!(RoleName::parse("Microsoft.A//r").is_err());
    }
}
