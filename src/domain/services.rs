//! The services that use a cluster through Trusted Access (Azure Backup, Azure Machine Learning,
//! Defender for Containers): which binding each needs, whether a cluster's bindings give it, and
//! the names `plan --require` and the audit's remediation give the bindings they propose. Pure.

use crate::domain::ids::{SourceResourceId, binding_name_is_valid};

/// The role a Backup vault needs on the clusters it protects.
pub const BACKUP_ROLE: &str = "Microsoft.DataProtection/backupVaults/backup-operator";
/// The role an Azure ML workspace needs on the clusters its computes are attached to.
pub const ML_ROLE: &str = "Microsoft.MachineLearningServices/workspaces/mlworkload";
/// The role Defender for Containers' agentless features need.
pub const DEFENDER_ROLE: &str = "Microsoft.Security/pricings/microsoft-defender-operator";
/// The security operator of the Containers plan, the source Defender binds.
pub const DEFENDER_OPERATOR: &str = "DefenderForContainersSecurityOperator";
/// The name `plan --require defender` gives the Defender binding (the one Defender uses).
pub const DEFENDER_BINDING_NAME: &str = "defender-containers";
/// The Containers plan's extensions that reach clusters through the binding (agentless).
pub const AGENTLESS_EXTENSIONS: &[&str] = &["AgentlessDiscoveryForKubernetes"];

/// A service that needs a binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Backup,
    Ml,
    Defender,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::Backup, Service::Ml, Service::Defender];

    /// The word `--require` takes.
    pub fn name(self) -> &'static str {
        match self {
            Service::Backup => "backup",
            Service::Ml => "ml",
            Service::Defender => "defender",
        }
    }

    /// What users call it.
    pub fn title(self) -> &'static str {
        match self {
            Service::Backup => "Azure Backup",
            Service::Ml => "Azure Machine Learning",
            Service::Defender => "Defender for Containers",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim().to_ascii_lowercase();
        Service::ALL
            .into_iter()
            .find(|s| s.name() == raw || (raw == "azureml" && *s == Service::Ml))
    }

    pub fn role(self) -> &'static str {
        match self {
            Service::Backup => BACKUP_ROLE,
            Service::Ml => ML_ROLE,
            Service::Defender => DEFENDER_ROLE,
        }
    }

    /// The resource type of the source that holds the binding (as a role's type prefix).
    pub fn source_type(self) -> &'static str {
        match self {
            Service::Backup => "Microsoft.DataProtection/backupVaults",
            Service::Ml => "Microsoft.MachineLearningServices/workspaces",
            Service::Defender => "Microsoft.Security/pricings",
        }
    }

    /// The service whose source `source` is (by its resource type), if any.
    pub fn of_source(source: &str) -> Option<Self> {
        let kind = source_type_of(source)?;
        Service::ALL.into_iter().find(|s| {
            let t = s.source_type();
            kind.len() >= t.len()
                && kind[..t.len()].eq_ignore_ascii_case(t)
                && (kind.len() == t.len() || kind.as_bytes()[t.len()] == b'/')
        })
    }
}

/// The source id of the Defender binding of a subscription's clusters.
pub fn defender_source(subscription: &str) -> String {
    format!(
        "/subscriptions/{subscription}/providers/Microsoft.Security/pricings/Containers/securityOperators/{DEFENDER_OPERATOR}"
    )
}

/// A source id's type (`Namespace/type[/subtype…]`), by the one reading of a source id
/// (`SourceResourceId`); `None` for an id that is not a well-formed source.
pub fn source_type_of(id: &str) -> Option<String> {
    SourceResourceId::parse(id)
        .ok()
        .map(|s| s.resource_type().to_string())
}

/// The subscription of an ARM id (`/subscriptions/{s}/…`), lower-cased.
pub fn subscription_of(id: &str) -> Option<String> {
    let mut parts = id.trim_start_matches('/').split('/');
    match (parts.next(), parts.next()) {
        (Some(head), Some(sub))
            if head.eq_ignore_ascii_case("subscriptions") && !sub.is_empty() =>
        {
            Some(sub.to_ascii_lowercase())
        }
        _ => None,
    }
}

/// The parent of a child resource id (`…/backupVaults/v/backupInstances/i` → `…/backupVaults/v`):
/// the id up to the `marker` segment (case-insensitive).
pub fn parent_before(id: &str, marker: &str) -> Option<String> {
    let lower = id.to_ascii_lowercase();
    let at = lower.find(&format!("/{}/", marker.to_ascii_lowercase()))?;
    Some(id[..at].to_string())
}

/// A binding as the rules see it.
#[derive(Debug, Clone)]
pub struct Bound<'a> {
    pub name: &'a str,
    pub source: &'a str,
    pub roles: &'a [String],
    /// `systemData.createdAt`.
    pub created_at: Option<&'a str>,
}

/// A binding a service needs on a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub service: Service,
    /// The source that must be bound.
    pub source: String,
    /// What uses the cluster (a backup instance, a compute, the subscription's plan).
    pub because: String,
}

impl Need {
    /// Whether one of `bindings` gives the service what it needs: a binding from the source
    /// (ids compared case-insensitively) with the role. For Defender, a binding from any
    /// security operator of the subscription's pricings with a `Microsoft.Security/pricings`
    /// role: Defender makes them itself, under names and operators that vary (Containers or
    /// CloudPosture), so the source type is the reliable sign.
    pub fn satisfied_by(&self, bindings: &[Bound]) -> Option<usize> {
        bindings.iter().position(|b| match self.service {
            Service::Defender => {
                let prefix = format!(
                    "/subscriptions/{}/providers/microsoft.security/pricings/",
                    subscription_of(&self.source).unwrap_or_default()
                );
                b.source.to_ascii_lowercase().starts_with(&prefix)
                    && b.roles.iter().any(|r| {
                        r.to_ascii_lowercase()
                            .starts_with("microsoft.security/pricings/")
                    })
            }
            _ => {
                same_id(b.source, &self.source)
                    && b.roles
                        .iter()
                        .any(|r| r.eq_ignore_ascii_case(self.service.role()))
            }
        })
    }

    /// The name `plan --require` and the remediation give the binding.
    pub fn binding_name(&self) -> String {
        binding_name(self.service, &self.source)
    }
}

/// ARM ids compared as ARM does (case-insensitively, trailing `/` ignored).
pub fn same_id(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// A binding name for a service's source: `backup-` or `ml-` and 8 hex digits of a stable hash
/// of the lower-cased source id (within the service's 24 characters whatever the source's
/// name, and different for two vaults of one name in two groups); `defender-containers` for
/// Defender, the name Defender gives its own.
pub fn binding_name(service: Service, source: &str) -> String {
    let name = match service {
        Service::Defender => DEFENDER_BINDING_NAME.to_string(),
        _ => format!(
            "{}-{:08x}",
            service.name(),
            fnv1a(source.trim_end_matches('/').to_ascii_lowercase().as_bytes()) as u32
        ),
    };
    debug_assert!(binding_name_is_valid(&name));
    name
}

/// FNV-1a (64 bits): stable across builds and platforms, unlike std's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// An attached compute's time against its binding's: `Some(true)` when the compute was
/// attached before the binding was made (it must be detached and attached again), `None` when
/// either time is missing or not RFC 3339.
pub fn attached_before(
    compute_created: Option<&str>,
    binding_created: Option<&str>,
) -> Option<bool> {
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;
    let parse = |t: Option<&str>| OffsetDateTime::parse(t?.trim(), &Rfc3339).ok();
    Some(parse(compute_created)? < parse(binding_created)?)
}

/// The manifest entry (`plan`/`apply`'s format) for a binding on one cluster.
pub fn manifest_entry(name: &str, source: &str, role: &str, cluster_id: &str) -> String {
    format!(
        "apiVersion: aks-trustedaccess/v1\nbindings:\n  - name: {name}\n    sourceResourceId: {source}\n    roles: [{role}]\n    clusters: [{cluster_id}]"
    )
}

/// The command that creates a binding on a cluster.
pub fn create_command(group: &str, cluster: &str, name: &str, source: &str, role: &str) -> String {
    format!(
        "aks-trustedaccess rolebinding create -g {group} --cluster-name {cluster} -n {name} --source-resource-id {source} --roles {role}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "00000000-0000-0000-0000-0000000000aa";

    fn vault() -> String {
        format!(
            "/subscriptions/{SUB}/resourceGroups/g/providers/Microsoft.DataProtection/backupVaults/v1"
        )
    }

    #[test]
    fn services_parse_and_sources_are_classified_by_type() {
        assert_eq!(Service::parse("Backup"), Some(Service::Backup));
        assert_eq!(Service::parse("ml"), Some(Service::Ml));
        assert_eq!(Service::parse("defender"), Some(Service::Defender));
        assert_eq!(Service::parse("backups"), None);
        assert_eq!(
            Service::of_source(&vault().to_lowercase()),
            Some(Service::Backup)
        );
        assert_eq!(
            Service::of_source(&defender_source(SUB)),
            Some(Service::Defender)
        );
        let ws = format!(
            "/subscriptions/{SUB}/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w"
        );
        assert_eq!(Service::of_source(&ws), Some(Service::Ml));
        let other = format!(
            "/subscriptions/{SUB}/resourceGroups/g/providers/Microsoft.DataProtection/backupVaultsX/v"
        );
        assert_eq!(Service::of_source(&other), None);
        assert_eq!(
            source_type_of(&defender_source(SUB)).as_deref(),
            Some("Microsoft.Security/pricings/securityOperators")
        );
        assert_eq!(
            parent_before(&format!("{}/backupInstances/i", vault()), "backupinstances"),
            Some(vault())
        );
        assert_eq!(subscription_of(&vault()).as_deref(), Some(SUB));
    }

    fn bound<'a>(source: &'a str, roles: &'a [String]) -> Bound<'a> {
        Bound {
            name: "n",
            source,
            roles,
            created_at: None,
        }
    }

    #[test]
    fn a_need_is_met_only_by_its_source_with_its_role() {
        let need = Need {
            service: Service::Backup,
            source: vault(),
            because: "i".into(),
        };
        let role = [BACKUP_ROLE.to_ascii_lowercase()];
        let wrong = ["Microsoft.DataProtection/backupVaults/pvbackup".to_string()];
        let (upper, other) = (vault().to_uppercase(), vault().replace("v1", "v2"));
        assert_eq!(
            need.satisfied_by(&[bound(&other, &role), bound(&upper, &role)]),
            Some(1)
        );
        assert_eq!(need.satisfied_by(&[bound(&upper, &wrong)]), None);
        let defender = Need {
            service: Service::Defender,
            source: defender_source(SUB),
            because: "plan".into(),
        };
        let cspm = format!(
            "/subscriptions/{SUB}/providers/Microsoft.Security/pricings/CloudPosture/securityOperators/DefenderCSPMSecurityOperator"
        );
        let op = [DEFENDER_ROLE.to_string()];
        assert_eq!(defender.satisfied_by(&[bound(&cspm, &op)]), Some(0));
        let elsewhere = defender_source("11111111-0000-0000-0000-000000000000");
        assert_eq!(defender.satisfied_by(&[bound(&elsewhere, &op)]), None);
        assert_eq!(defender.satisfied_by(&[bound(&cspm, &wrong)]), None);
    }

    #[test]
    fn binding_names_are_valid_stable_and_differ_by_source() {
        let a = binding_name(Service::Backup, &vault());
        assert_eq!(a, binding_name(Service::Backup, &vault().to_uppercase()));
        assert_ne!(
            a,
            binding_name(Service::Backup, &vault().replace("/g/", "/h/"))
        );
        assert!(a.starts_with("backup-") && binding_name_is_valid(&a), "{a}");
        assert_eq!(binding_name(Service::Defender, "x"), "defender-containers");
        assert!(binding_name_is_valid(&binding_name(Service::Ml, "/w")));
    }

    #[test]
    fn a_compute_attached_before_its_binding_is_told_apart() {
        let early = Some("2026-01-01T00:00:00Z");
        let late = Some("2026-02-01T10:00:00.123+00:00");
        assert_eq!(attached_before(early, late), Some(true));
        assert_eq!(attached_before(late, early), Some(false));
        assert_eq!(attached_before(None, late), None);
        assert_eq!(attached_before(Some("yesterday"), late), None);
    }
}
