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

#[cfg(test)]
mod tests {
    use super::*;

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
