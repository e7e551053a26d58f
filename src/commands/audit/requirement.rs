//! `--require-binding-for`: a service every cluster must bind, as an exact source id or any
//! source of a resource type, and whether a binding satisfies it.

use crate::arm::models::RoleBinding;
use crate::domain::ids::SourceResourceId;
use crate::error::{Error, Result};

/// A service that must be bound: an exact source id, or any source of a type.
#[derive(Debug, Clone)]
pub enum Requirement {
    Source(String),
    Type(String),
}

impl Requirement {
    pub fn parse(raw: &str) -> Result<Self> {
        if raw.trim_start().starts_with('/') {
            return Ok(Requirement::Source(
                SourceResourceId::parse(raw)?.as_str().to_string(),
            ));
        }
        let segments: Vec<&str> = raw.split('/').collect();
        if segments.len() >= 2
            && segments[0].contains('.')
            && segments.iter().all(|s| !s.is_empty() && !s.contains(' '))
        {
            Ok(Requirement::Type(raw.to_string()))
        } else {
            Err(Error::usage_with_hint(
                format!("invalid --require-binding-for '{raw}'"),
                "give a source resource id (/subscriptions/…) or a resource type such as Microsoft.DataProtection/backupVaults",
            ))
        }
    }

    pub fn satisfied_by(&self, binding: &RoleBinding) -> bool {
        let Some(source) = binding.properties.source_resource_id.as_deref() else {
            return false;
        };
        match self {
            Requirement::Source(id) => source.trim_end_matches('/').eq_ignore_ascii_case(id),
            Requirement::Type(kind) => SourceResourceId::parse(source)
                .is_ok_and(|s| s.resource_type().eq_ignore_ascii_case(kind)),
        }
    }

    pub fn describe(&self) -> &str {
        match self {
            Requirement::Source(s) | Requirement::Type(s) => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_match_ids_or_types() {
        let source = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/g/providers/Microsoft.DataProtection/BackupVaults/v";
        let b: RoleBinding = serde_json::from_value(
            serde_json::json!({"name": "b", "properties": {"roles": [], "sourceResourceId": source}}),
        )
        .unwrap();
        assert!(
            Requirement::parse("Microsoft.DataProtection/backupVaults")
                .unwrap()
                .satisfied_by(&b)
        );
        assert!(
            Requirement::parse(&source.to_lowercase())
                .unwrap()
                .satisfied_by(&b)
        );
        assert!(
            !Requirement::parse("Microsoft.Security/pricings")
                .unwrap()
                .satisfied_by(&b)
        );
        assert!(Requirement::parse("backup").is_err());
    }
}
