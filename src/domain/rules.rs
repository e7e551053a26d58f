//! The audit's rule catalog (stable ids, names, levels, origins, help) with the finding levels and
//! role risks: data the resolve step checks `--skip-rule` against, and that the audit, its reports
//! and `--list-rules` share.

/// How serious a finding is (SARIF's levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Note,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.to_ascii_lowercase().as_str() {
            "note" => Some(Level::Note),
            "warning" => Some(Level::Warning),
            "error" => Some(Level::Error),
            _ => None,
        }
    }
}

/// Written as its name (`"error"`), as rows and reports carry it.
impl serde::Serialize for Level {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What a role lets its holder do in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Risk {
    Low,
    Medium,
    High,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
        }
    }
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.to_ascii_lowercase().as_str() {
            "low" => Some(Risk::Low),
            "medium" => Some(Risk::Medium),
            "high" => Some(Risk::High),
            _ => None,
        }
    }
}

/// Written as its name (`"high"`), as rows carry it.
impl serde::Serialize for Risk {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

pub struct Rule {
    pub id: &'static str,
    pub name: &'static str,
    pub level: Level,
    /// Where the rule comes from.
    pub origin: &'static str,
    pub description: &'static str,
    pub help: &'static str,
}

pub const NO_BINDING: &str = "TA001";
pub const CLUSTER_IDENTITY: &str = "TA002";
pub const DANGLING_SOURCE: &str = "TA003";
pub const SOURCE_IDENTITY: &str = "TA004";
pub const ROLE_GONE: &str = "TA005";
pub const NOT_SUCCEEDED: &str = "TA006";
pub const BINDING_LIMIT: &str = "TA007";
pub const PRIVILEGE: &str = "TA008";
pub const REQUIRED_BINDING: &str = "TA009";
pub const SOURCE_UNKNOWN: &str = "TA010";
pub const SUPPRESSION_EXPIRED: &str = "TA011";
pub const SUPPRESSION_STALE: &str = "TA012";
pub const SERVICE_UNBOUND: &str = "TA013";
pub const BINDING_UNUSED: &str = "TA014";
pub const COMPUTE_BEFORE_BINDING: &str = "TA015";
pub const CROSS_SUBSCRIPTION: &str = "TA016";
pub const SOURCE_ACCESS: &str = "TA017";

pub const RULES: &[Rule] = &[
    Rule {
        id: NO_BINDING,
        name: "no-binding",
        level: Level::Error,
        origin: "Conformity procedure (AKS Trusted Access): the cluster has a Trusted Access role binding",
        description: "The cluster has no Trusted Access role binding.",
        help: "bind the services that need the cluster with 'aks-trustedaccess rolebinding create', or skip this rule with --skip-rule TA001",
    },
    Rule {
        id: CLUSTER_IDENTITY,
        name: "cluster-identity",
        level: Level::Error,
        origin: "Conformity procedure (AKS Trusted Access): the cluster uses a system-assigned managed identity",
        description: "The cluster does not use a system-assigned managed identity.",
        help: "move the cluster to a system-assigned identity: az aks update --enable-managed-identity",
    },
    Rule {
        id: DANGLING_SOURCE,
        name: "dangling-source",
        level: Level::Error,
        origin: "Trusted Access: a binding trusts its source by id; a resource created later under the same id would be trusted",
        description: "The binding's source resource no longer exists.",
        help: "delete the binding: aks-trustedaccess rolebinding delete",
    },
    Rule {
        id: SOURCE_IDENTITY,
        name: "source-without-system-identity",
        level: Level::Error,
        origin: "Trusted Access: the service authenticates with its source's system-assigned managed identity",
        description: "The binding's source has no system-assigned managed identity, so the binding cannot work.",
        help: "enable the source's system-assigned identity, or delete the binding",
    },
    Rule {
        id: ROLE_GONE,
        name: "role-not-in-catalog",
        level: Level::Error,
        origin: "Trusted Access role catalog of the cluster's location, read now",
        description: "A role the binding holds is no longer in the location's catalog.",
        help: "update the binding to roles from 'aks-trustedaccess role list -l LOCATION'",
    },
    Rule {
        id: NOT_SUCCEEDED,
        name: "binding-not-succeeded",
        level: Level::Error,
        origin: "ARM: provisioningState",
        description: "The binding's provisioning state is not Succeeded.",
        help: "look at it with 'aks-trustedaccess rolebinding show' and update or recreate it",
    },
    Rule {
        id: BINDING_LIMIT,
        name: "binding-limit",
        level: Level::Warning,
        origin: "Trusted Access: at most 8 role bindings per cluster",
        description: "The cluster is at the limit of 8 role bindings; no service can be added.",
        help: "delete bindings that are no longer needed (dangling ones first)",
    },
    Rule {
        id: PRIVILEGE,
        name: "privilege",
        level: Level::Note,
        origin: "The roles' Kubernetes rules (secrets, exec/attach, RBAC writes, escalate/bind/impersonate, wildcards, writes)",
        description: "The binding's roles allow powerful actions in the cluster (a note; an error above --max-risk).",
        help: "grant the least powerful role the service needs; see 'aks-trustedaccess role show -l LOCATION NAME'",
    },
    Rule {
        id: REQUIRED_BINDING,
        name: "required-binding",
        level: Level::Error,
        origin: "--require-binding-for",
        description: "A service every cluster must bind is not bound.",
        help: "create the binding with 'aks-trustedaccess rolebinding create'",
    },
    Rule {
        id: SOURCE_UNKNOWN,
        name: "source-unknown",
        level: Level::Note,
        origin: "The binding's source resource could not be read by any path (Resource Graph, then ARM)",
        description: "The binding's source could not be read, so whether it exists is unknown: the cluster's verdict is unknown, and the exit code not 0 (unless --allow-unknown).",
        help: "a 403 needs Reader on the source's scope; any other cause is named in the finding's hint",
    },
    Rule {
        id: SUPPRESSION_EXPIRED,
        name: "suppression-expired",
        level: Level::Error,
        origin: "--ignore-file: an entry past its expires date",
        description: "An ignore-file entry expired: it no longer suppresses, and someone has to decide again.",
        help: "fix the finding, or give the entry a new expires date",
    },
    Rule {
        id: SUPPRESSION_STALE,
        name: "suppression-stale",
        level: Level::Warning,
        origin: "--ignore-file: an entry no finding matched",
        description: "An ignore-file entry matched no finding; it would hide a future one unseen.",
        help: "remove the entry, or correct its rule or resource",
    },
    Rule {
        id: SERVICE_UNBOUND,
        name: "service-without-binding",
        level: Level::Error,
        origin: "--services: Azure Backup, Azure ML and Defender for Containers need their binding (Resource Graph: backup instances, attached computes, Defender plans)",
        description: "A service uses the cluster (a backup instance, an attached ML compute, a Defender plan with agentless features) but its source has no binding with the role it needs, so the service fails.",
        help: "create the binding the finding names (its hint is the exact command), or every missing one with 'aks-trustedaccess apply --require backup,ml,defender'",
    },
    Rule {
        id: BINDING_UNUSED,
        name: "binding-without-service",
        level: Level::Warning,
        origin: "--services: least privilege (a vault binding without a backup instance of the cluster, a workspace binding without a compute on it)",
        description: "A Backup vault or ML workspace is bound to the cluster, but nothing of it uses the cluster: the binding grants rights no service needs.",
        help: "delete the binding if the service is not coming back: aks-trustedaccess rolebinding delete",
    },
    Rule {
        id: COMPUTE_BEFORE_BINDING,
        name: "compute-before-binding",
        level: Level::Warning,
        origin: "--services: Azure ML on AKS (computes attached before their workspace's binding do not work)",
        description: "An Azure ML compute was attached to the cluster before its workspace's binding was made, so it does not work until it is detached and attached again.",
        help: "detach the compute and attach it again: az ml compute detach, then az ml compute attach",
    },
    Rule {
        id: CROSS_SUBSCRIPTION,
        name: "cross-subscription-source",
        level: Level::Note,
        origin: "--services: AKS Trusted Access prerequisite (the resource that accesses the cluster is in the cluster's subscription)",
        description: "The binding's source is in another subscription than the cluster; Trusted Access documents the same subscription as a prerequisite.",
        help: "move the service's resource to the cluster's subscription, or check that the service supports the cross-subscription binding",
    },
    Rule {
        id: SOURCE_ACCESS,
        name: "source-access",
        level: Level::Note,
        origin: "--access: Azure role assignments on the binding's source (CERT/CC VU#284781)",
        description: "Principals whose Azure role on the source (or a parent scope) lets them drive the service act in the cluster with the binding's rights; the binding's risk rises (a note; an error above --max-risk).",
        help: "keep write roles on the source (Owner, Contributor, Backup Contributor, AzureML roles) to the few who need them: az role assignment delete",
    },
];

pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.id.eq_ignore_ascii_case(id) || r.name.eq_ignore_ascii_case(id))
}
