//! `role list` arguments resolved: the location text (or az's default location), checked
//! before any request. Looking a display name up is the command's job (it takes a request).

use crate::azconfig::AzConfig;
use crate::error::{Error, Result};

/// `role list`.
#[derive(Debug, Clone)]
pub struct RoleList {
    pub location: LocationText,
}

/// A location as the user typed it: a short name (`westeurope`) or a display name
/// (`West Europe`), already known to be one or the other in form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationText(String);

impl LocationText {
    /// Refuses text that cannot be a location before any request.
    pub fn parse(raw: &str) -> Result<Self> {
        let ok = !raw.trim().is_empty()
            && raw.len() <= 64
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '(' || c == ')');
        if ok {
            Ok(LocationText(raw.to_string()))
        } else {
            Err(Error::usage_with_hint(
                format!("invalid location '{raw}'"),
                "give a short name such as 'westeurope' or a display name such as \"West Europe\"",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `role show`: a location and a role, by name or `Type/name`.
#[derive(Debug, Clone)]
pub struct RoleShow {
    pub location: LocationText,
    pub name: String,
}

impl RoleShow {
    pub fn resolve(location: Option<&str>, name: &str, config: &AzConfig) -> Result<Self> {
        let list = RoleList::resolve(location, config)?;
        let name = name.trim();
        if name.is_empty() || name.len() > 512 || name.chars().any(char::is_control) {
            return Err(Error::usage_with_hint(
                format!("invalid role name '{name}'"),
                "give a role name such as mlworkload; see 'aks-trustedaccess role list -l LOCATION'",
            ));
        }
        Ok(RoleShow {
            location: list.location,
            name: name.to_string(),
        })
    }
}

impl RoleList {
    /// `-l`, else az's `[defaults] location`.
    pub fn resolve(location: Option<&str>, config: &AzConfig) -> Result<Self> {
        let raw = location
            .map(str::to_string)
            .or_else(|| config.default_location())
            .ok_or_else(|| {
                Error::usage_with_hint(
                    "the following arguments are required: --location/-l",
                    "or set a default with 'az configure --defaults location=<name>'",
                )
            })?;
        Ok(RoleList {
            location: LocationText::parse(&raw)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_checked_in_form_only() {
        assert!(LocationText::parse("westeurope").is_ok());
        assert!(LocationText::parse("West Europe").is_ok());
        assert!(LocationText::parse("Central US (Stage)").is_ok());
        assert!(LocationText::parse("  ").is_err());
        assert!(LocationText::parse("west/europe").is_err());
        assert!(LocationText::parse(&"a".repeat(65)).is_err());
        assert!(RoleList::resolve(None, &AzConfig::default()).is_err());
    }
}
