//! The service's rules as plain types and functions, with no I/O: identifiers, role names and
//! which sources a role fits, the audit's rule catalog with its levels and risks, and the
//! desired-state manifest. Imports nothing of `arm`, `output` or `cli`.

pub mod ids;
pub mod manifest;
pub mod roles;
pub mod rules;
