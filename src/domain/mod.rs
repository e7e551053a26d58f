//! The service's rules as plain types and functions, with no I/O: identifiers, role names and
//! which sources a role fits, who made a binding, JWTs read without verifying, the audit's rule
//! catalog with its levels and risks (and each rule's severity and remediation), a finding (a
//! rule broken by a resource), the caller's permissions and Azure's action patterns, the
//! desired-state manifest, the audit's suppressions, and the schema reader both files share. Imports nothing of `arm`, `output` or `cli`.

pub mod finding;
pub mod ids;
pub mod jwt;
pub mod manifest;
pub mod permissions;
pub mod provenance;
pub mod roles;
pub mod rule_guidance;
pub mod rules;
pub mod services;
pub mod source_access;
pub mod suppressions;
pub mod yaml_schema;
