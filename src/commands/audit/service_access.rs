//! `audit --access` (TA017): who can drive a binding's source through an Azure role at the
//! source or a parent scope, and the binding's risk raised by them. Pure.

use crate::arm::models::RoleBinding;
use crate::commands::audit::services::Access;
use crate::commands::audit::verdict::unknown_hint;
use crate::domain::finding::Finding;
use crate::domain::rules::{Level, Risk, SOURCE_ACCESS};
use crate::domain::services::source_type_of;
use crate::domain::source_access::{
    Driver, builtin_driver, definition_drives, raised, scope_covers,
};

/// TA017: who can drive the binding's source, and the binding's risk raised by them.
/// Who can drive a binding's source, and the binding's risk with them.
pub type Exposure = (Vec<Driver>, Option<Risk>);

/// The binding `id`'s TA017 finding (an error when its raised risk is above `max_risk`), and
/// its exposure; an unknown finding when the assignments could not be read.
pub fn exposure(
    id: &str,
    b: &RoleBinding,
    access: &Result<Access, String>,
    (risk, max_risk): (Option<Risk>, Option<Risk>),
) -> (Option<Finding>, Option<Exposure>) {
    let name = b.name.as_deref().unwrap_or("?");
    let Some(source) = b.properties.source_resource_id.as_deref() else {
        return (None, None);
    };
    let access = match access {
        Ok(a) => a,
        Err(why) => {
            let msg = format!("binding {name}: who can drive its source could not be read ({why})");
            return (
                Some(Finding::unknown(SOURCE_ACCESS, id, msg, unknown_hint(why))),
                None,
            );
        }
    };
    let drivers = drivers(access, source);
    if drivers.is_empty() {
        return (None, Some((drivers, risk)));
    }
    let after = risk.map(|r| raised(r, drivers.len()));
    let who: Vec<String> = drivers
        .iter()
        .map(|d| {
            format!(
                "{} {} ({} at {})",
                d.principal_type, d.principal_id, d.role, d.scope
            )
        })
        .collect();
    let mut finding = Finding::new(
        SOURCE_ACCESS,
        id,
        format!(
            "binding {name}: {} principal(s) can drive its source and act in the cluster with its rights{}: {}",
            drivers.len(),
            match (risk, after) {
                (Some(r), Some(a)) => format!(" (risk {} -> {})", r.as_str(), a.as_str()),
                _ => String::new(),
            },
            who.join("; ")
        ),
    );
    if let (Some(max), Some(a)) = (max_risk, after)
        && a > max
    {
        finding.level = Level::Error;
    }
    (Some(finding), Some((drivers, after)))
}

/// The assignments at the source or a parent scope whose role drives the source's type.
pub fn drivers(access: &Access, source: &str) -> Vec<Driver> {
    let Some(kind) = source_type_of(source) else {
        return Vec::new();
    };
    let mut out: Vec<Driver> = access
        .assignments
        .iter()
        .filter(|a| scope_covers(&a.scope, source))
        .filter_map(|a| {
            let role = match access.definitions.get(&a.role) {
                Some(d) if builtin_driver(&a.role, &kind).is_some() => d.name.clone(),
                Some(d) => definition_drives(d, &kind).then(|| d.name.clone())?,
                None => builtin_driver(&a.role, &kind)?.to_string(),
            };
            Some(Driver {
                principal_id: a.principal_id.clone(),
                principal_type: a.principal_type.clone(),
                role,
                scope: a.scope.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.scope, &a.principal_id, &a.role).cmp(&(&b.scope, &b.principal_id, &b.role))
    });
    out.dedup();
    out
}
