//! Who made a binding: one rule, used by the audit's `madeBy`, and by `plan`/`apply --prune`
//! to keep what a platform made. Pure: it reads a binding's name, source and `systemData`.
//!
//! The rule, first match wins:
//! 1. the source's type: a `Microsoft.Security/...` source is Defender for Cloud's (its
//!    operators are nested under `pricings`), a `Microsoft.DataProtection/backupVaults` source is
//!    Azure Backup's;
//! 2. `systemData.createdBy` naming a service: Defender (`Defender`, `Security Center`,
//!    `Microsoft.Security`) or Backup (`Backup`, `DataProtection`);
//! 3. `systemData.createdByType` other than `User`: `Application` or `Key` is an application's,
//!    `ManagedIdentity` a managed identity's; `User` is a user's;
//! 4. no `systemData`: unrecorded (the service records it on every write; a binding without it
//!    is treated as a user's).
//!
//! The binding's name is not evidence (a user may call a binding `defender-x`, and Backup's
//! GUID names are any GUID). A platform binding the manifest describes (by name, or adopted by
//! source) is managed like any other: "unless the manifest adopts it".

/// A platform that makes bindings, as `--prune-platform` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Platform {
    Defender,
    Backup,
    Application,
    ManagedIdentity,
}

impl Platform {
    pub const ALL: [Platform; 4] = [
        Platform::Defender,
        Platform::Backup,
        Platform::Application,
        Platform::ManagedIdentity,
    ];

    /// The name `--prune-platform` takes.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Defender => "defender",
            Platform::Backup => "backup",
            Platform::Application => "application",
            Platform::ManagedIdentity => "managed-identity",
        }
    }

    /// Who it is, as a row or plan says it.
    pub fn label(self) -> &'static str {
        match self {
            Platform::Defender => "Microsoft Defender for Cloud",
            Platform::Backup => "Azure Backup",
            Platform::Application => "application",
            Platform::ManagedIdentity => "managed identity",
        }
    }

    /// A `--prune-platform` value (any case).
    pub fn parse(raw: &str) -> Option<Self> {
        Platform::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(raw.trim()))
    }
}

/// What the rule says about one binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Maker {
    /// `systemData.createdByType` is `User`.
    User,
    /// No `systemData` (treated as a user's).
    Unrecorded,
    /// A platform, and the evidence.
    Platform(Platform, String),
}

impl Maker {
    /// The audit's `madeBy`: the platform's label, `user`, or nothing when unrecorded.
    pub fn label(&self) -> Option<&'static str> {
        match self {
            Maker::User => Some("user"),
            Maker::Unrecorded => None,
            Maker::Platform(p, _) => Some(p.label()),
        }
    }

    pub fn platform(&self) -> Option<Platform> {
        match self {
            Maker::Platform(p, _) => Some(*p),
            _ => None,
        }
    }
}

/// What the rule reads of a binding.
#[derive(Debug, Clone, Copy, Default)]
pub struct Made<'a> {
    pub source: &'a str,
    pub created_by: Option<&'a str>,
    pub created_by_type: Option<&'a str>,
}

/// Who made the binding (see the module's comment for the rule).
pub fn made_by(b: &Made) -> Maker {
    let source = b.source.to_ascii_lowercase();
    if source.contains("/providers/microsoft.security/") {
        return Maker::Platform(
            Platform::Defender,
            "its source is a Microsoft.Security resource".into(),
        );
    }
    if source.contains("/providers/microsoft.dataprotection/backupvaults/") {
        return Maker::Platform(
            Platform::Backup,
            "its source is a Microsoft.DataProtection backup vault".into(),
        );
    }
    if let Some(by) = b.created_by.filter(|s| !s.trim().is_empty()) {
        let lower = by.to_ascii_lowercase();
        let named = |words: &[&str]| words.iter().any(|w| lower.contains(w));
        let service = if named(&["defender", "security center", "microsoft.security"]) {
            Some(Platform::Defender)
        } else if named(&["backup", "dataprotection"]) {
            Some(Platform::Backup)
        } else {
            None
        };
        if let Some(p) = service {
            return Maker::Platform(p, format!("systemData.createdBy is '{}'", by.trim()));
        }
    }
    match b.created_by_type.map(str::trim) {
        None | Some("") => Maker::Unrecorded,
        Some(t) if t.eq_ignore_ascii_case("User") => Maker::User,
        Some(t) => {
            let platform = if t.eq_ignore_ascii_case("ManagedIdentity") {
                Platform::ManagedIdentity
            } else {
                Platform::Application
            };
            Maker::Platform(platform, format!("systemData.createdByType is {t}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn made(source: &str, by: Option<&str>, kind: Option<&str>) -> Maker {
        made_by(&Made {
            source,
            created_by: by,
            created_by_type: kind,
        })
    }

    const WORKSPACE: &str = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w";

    #[test]
    fn each_part_of_the_rule_in_order() {
        let defender = "/subscriptions/s/providers/Microsoft.Security/pricings/CloudPosture/securityOperators/DefenderCSPMSecurityOperator";
        assert_eq!(
            made(defender, None, Some("User")).platform(),
            Some(Platform::Defender)
        );
        let vault =
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.DataProtection/backupVaults/v";
        assert_eq!(made(vault, None, None).platform(), Some(Platform::Backup));
        // The Backup binding: made by an application named Azure Backup.
        assert_eq!(
            made(WORKSPACE, Some("Azure Backup"), Some("Application")),
            Maker::Platform(
                Platform::Backup,
                "systemData.createdBy is 'Azure Backup'".into()
            )
        );
        assert_eq!(
            made(
                WORKSPACE,
                Some("Microsoft Defender for Cloud"),
                Some("Application")
            )
            .platform(),
            Some(Platform::Defender)
        );
        assert_eq!(
            made(WORKSPACE, Some("ci-bot"), Some("application")).platform(),
            Some(Platform::Application)
        );
        assert_eq!(
            made(WORKSPACE, Some("x"), Some("ManagedIdentity")).platform(),
            Some(Platform::ManagedIdentity)
        );
        assert_eq!(made(WORKSPACE, Some("a@b.c"), Some("User")), Maker::User);
        assert_eq!(made(WORKSPACE, None, None), Maker::Unrecorded);
        assert_eq!(made(WORKSPACE, None, None).label(), None);
    }

    #[test]
    fn platform_names_parse_in_any_case_and_nothing_else() {
        for p in Platform::ALL {
            assert_eq!(Platform::parse(&p.name().to_uppercase()), Some(p));
        }
        assert_eq!(Platform::parse("defender-containers"), None);
        assert_eq!(Platform::parse(""), None);
    }
}
