//! Trusted Access role names (`<Namespace>/<type>[/<subtype>]/<name>`) and the `--roles`
//! parser: comma-separated and/or repeated values, trimmed, deduplicated.

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

/// `--roles` values: comma-separated and/or repeated; trimmed; empty items refused; duplicates
/// (compared case-insensitively, as the service does) dropped, first spelling kept.
pub fn parse_roles(values: &[String]) -> Result<Vec<RoleName>> {
    let mut roles: Vec<RoleName> = Vec::new();
    for value in values {
        for item in value.split(',') {
            let item = item.trim();
            if item.is_empty() {
                return Err(Error::usage_with_hint(
                    format!("--roles has an empty item in '{value}'"),
                    "give roles as 'a,b' or '--roles a b'",
                ));
            }
            let role = RoleName::parse(item)?;
            if !roles
                .iter()
                .any(|r| r.as_str().eq_ignore_ascii_case(role.as_str()))
            {
                roles.push(role);
            }
        }
    }
    if roles.is_empty() {
        return Err(Error::usage("--roles needs at least one role"));
    }
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_split_trimmed_and_deduplicated() {
        let roles = parse_roles(&[
            "Microsoft.A/b/r1, Microsoft.A/b/r2".into(),
            "microsoft.a/b/R1".into(),
            "Microsoft.A/b/c/r3".into(),
        ])
        .unwrap();
        let names: Vec<&str> = roles.iter().map(RoleName::as_str).collect();
        assert_eq!(
            names,
            ["Microsoft.A/b/r1", "Microsoft.A/b/r2", "Microsoft.A/b/c/r3"]
        );
        assert_eq!(roles[2].source_type(), "Microsoft.A/b/c");
        assert_eq!(roles[2].short_name(), "r3");
        assert!(parse_roles(&["a,,b".into()]).is_err());
        assert!(parse_roles(&[]).is_err());
        let Err(Error::Usage {
            hint: Some(hint), ..
        }) = parse_roles(&["mlworkload".into()])
        else {
            panic!("a bare role must be refused with a hint");
        };
        assert!(hint.contains("Microsoft.MachineLearningServices/workspaces/mlworkload"));
    }
}
