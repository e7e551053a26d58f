//! Typed, validated names and resource ids; every ARM path this tool calls is built here, once.
//! A value of these types is already valid: parsing refuses bad input before any request.

use crate::error::{Error, Result};
use std::fmt;

const PROVIDER: &str = "Microsoft.ContainerService";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionId(String);

impl SubscriptionId {
    /// Accepts a UUID only; display names are resolved elsewhere (they need a request).
    pub fn parse(raw: &str) -> Option<Self> {
        is_uuid(raw.trim()).then(|| SubscriptionId(raw.trim().to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceGroupName(String);

impl ResourceGroupName {
    /// 1–90 characters of letters, digits, `-`, `_`, `.`, `(`, `)`; not ending with `.`.
    pub fn parse(raw: &str) -> Result<Self> {
        let ok = (1..=90).contains(&raw.chars().count())
            && raw
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'))
            && !raw.ends_with('.');
        if ok {
            Ok(ResourceGroupName(raw.to_string()))
        } else {
            Err(Error::usage_with_hint(
                format!("invalid resource group name '{raw}'"),
                "a resource group name is 1-90 letters, digits, '-', '_', '.', '(' or ')', and does not end with '.'",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterName(String);

impl ClusterName {
    /// 1–63 characters, `^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$`.
    pub fn parse(raw: &str) -> Result<Self> {
        let bytes = raw.as_bytes();
        let edge_ok = |b: u8| b.is_ascii_alphanumeric();
        let ok = (1..=63).contains(&bytes.len())
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
            && edge_ok(bytes[0])
            && edge_ok(bytes[bytes.len() - 1]);
        if ok {
            Ok(ClusterName(raw.to_string()))
        } else {
            Err(Error::usage_with_hint(
                format!("invalid cluster name '{raw}'"),
                "a cluster name is 1-63 letters, digits, '-' or '_', starting and ending with a letter or digit",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingName(String);

impl BindingName {
    /// 1–24 characters of `[A-Za-z0-9-]`, the service's rule.
    pub fn parse(raw: &str) -> Result<Self> {
        if binding_name_is_valid(raw) {
            Ok(BindingName(raw.to_string()))
        } else {
            Err(Error::usage_with_hint(
                format!("invalid role binding name '{raw}'"),
                "a role binding name is 1-24 characters of letters, digits and '-' (^[A-Za-z0-9-]{1,24}$)",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub fn binding_name_is_valid(raw: &str) -> bool {
    (1..=24).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A location's short name (`westeurope`). Display names are resolved by the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location(String);

impl Location {
    /// `Some` for a short name (letters and digits, lower-cased), `None` when it needs resolving.
    pub fn short_name(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        (!raw.is_empty() && raw.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| Location(raw.to_ascii_lowercase()))
    }
    /// A location the service named (a cluster's, a listing's), held to the same rule as user
    /// input: it becomes part of a request path, so `../x?y#z` must never pass.
    pub fn from_service(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        (!lower.is_empty() && lower.len() <= 64 && lower.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then_some(Location(lower))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A managed cluster: subscription, resource group, name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterId {
    pub subscription: SubscriptionId,
    pub resource_group: ResourceGroupName,
    pub name: ClusterName,
}

impl ClusterId {
    /// A managed cluster's full ARM id,
    /// `/subscriptions/<uuid>/resourceGroups/<group>/providers/Microsoft.ContainerService/managedClusters/<name>`
    /// (segment names compared case-insensitively, the caller's casing kept).
    pub fn parse_id(raw: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::usage_with_hint(
                format!("invalid cluster id '{raw}': {why}"),
                "expected /subscriptions/<uuid>/resourceGroups/<group>/providers/Microsoft.ContainerService/managedClusters/<name>",
            )
        };
        let segments: Vec<&str> = raw.trim().trim_matches('/').split('/').collect();
        let [
            subs,
            sub,
            groups,
            group,
            providers,
            provider,
            clusters,
            name,
        ] = segments[..]
        else {
            return Err(bad("it does not have the segments of a managed cluster id"));
        };
        let keywords_ok = subs.eq_ignore_ascii_case("subscriptions")
            && groups.eq_ignore_ascii_case("resourceGroups")
            && providers.eq_ignore_ascii_case("providers")
            && provider.eq_ignore_ascii_case(PROVIDER)
            && clusters.eq_ignore_ascii_case("managedClusters");
        if !keywords_ok {
            return Err(bad(
                "it is not a Microsoft.ContainerService/managedClusters id",
            ));
        }
        Ok(ClusterId {
            subscription: SubscriptionId::parse(sub)
                .ok_or_else(|| bad("the subscription must be a UUID"))?,
            resource_group: ResourceGroupName::parse(group)?,
            name: ClusterName::parse(name)?,
        })
    }
    /// The id lower-cased: ARM compares ids case-insensitively, so maps are keyed by this.
    pub fn key(&self) -> String {
        self.path().to_ascii_lowercase()
    }
    pub fn path(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{PROVIDER}/managedClusters/{}",
            self.subscription,
            self.resource_group.as_str(),
            self.name.as_str()
        )
    }
    pub fn bindings_path(&self) -> String {
        format!("{}/trustedAccessRoleBindings", self.path())
    }
    pub fn binding(&self, name: BindingName) -> BindingId {
        BindingId {
            cluster: self.clone(),
            name,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingId {
    pub cluster: ClusterId,
    pub name: BindingName,
}

impl BindingId {
    pub fn path(&self) -> String {
        format!("{}/{}", self.cluster.bindings_path(), self.name.as_str())
    }
    /// The command that shows this binding, for "check it with" hints.
    pub fn show_command(&self) -> String {
        format!(
            "aks-trustedaccess rolebinding show --subscription {} -g {} --cluster-name {} -n {}",
            self.cluster.subscription,
            self.cluster.resource_group.as_str(),
            self.cluster.name.as_str(),
            self.name.as_str()
        )
    }
}

pub fn roles_path(subscription: &SubscriptionId, location: &Location) -> String {
    format!(
        "/subscriptions/{subscription}/providers/{PROVIDER}/locations/{}/trustedAccessRoles",
        location.as_str()
    )
}

pub fn clusters_path(subscription: &SubscriptionId) -> String {
    format!("/subscriptions/{subscription}/providers/{PROVIDER}/managedClusters")
}

pub fn locations_path(subscription: &SubscriptionId) -> String {
    format!("/subscriptions/{subscription}/locations")
}

pub const SUBSCRIPTIONS_PATH: &str = "/subscriptions";

pub fn subscription_path(subscription: &SubscriptionId) -> String {
    format!("/subscriptions/{subscription}")
}

/// The subscription's activity log (management events).
pub fn activity_log_path(subscription: &SubscriptionId) -> String {
    format!(
        "/subscriptions/{subscription}/providers/Microsoft.Insights/eventtypes/management/values"
    )
}

/// What the caller may do in a subscription (ARM's permissions API).
pub fn permissions_path(subscription: &SubscriptionId) -> String {
    format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/permissions")
}

/// A resource provider's registration (its resource types and their api-versions).
pub fn provider_path(subscription: &str, namespace: &str) -> String {
    format!("/subscriptions/{subscription}/providers/{namespace}")
}

/// `--source-resource-id`: a well-formed ARM id, resource-group or subscription scoped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceResourceId {
    raw: String,
    resource_type: String,
}

impl SourceResourceId {
    pub fn parse(raw: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::usage_with_hint(
                format!("invalid --source-resource-id '{raw}': {why}"),
                "expected /subscriptions/<uuid>/resourceGroups/<group>/providers/<Namespace>/<type>/<name>, \
                 or a subscription-scoped id such as /subscriptions/<uuid>/providers/Microsoft.Security/pricings/containers",
            )
        };
        let raw_trimmed = raw.trim();
        let Some(rest) = raw_trimmed.strip_prefix('/') else {
            return Err(bad("it must start with '/subscriptions/'"));
        };
        let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        if segments
            .iter()
            .any(|s| s.is_empty() || s.chars().any(char::is_whitespace))
        {
            return Err(bad("it has an empty segment or whitespace"));
        }
        if segments.len() < 2 || !segments[0].eq_ignore_ascii_case("subscriptions") {
            return Err(bad("it must start with '/subscriptions/'"));
        }
        if !is_uuid(segments[1]) {
            return Err(bad("the subscription must be a UUID"));
        }
        let mut i = 2;
        if segments.len() > i && segments[i].eq_ignore_ascii_case("resourceGroups") {
            if segments.len() < i + 2 {
                return Err(bad("the resource group name is missing"));
            }
            ResourceGroupName::parse(segments[i + 1])
                .map_err(|_| bad("the resource group name is invalid"))?;
            i += 2;
        }
        if segments.len() <= i || !segments[i].eq_ignore_ascii_case("providers") {
            return Err(bad(
                "it does not name a resource ('/providers/<Namespace>/<type>/<name>')",
            ));
        }
        let namespace = segments.get(i + 1).copied().unwrap_or_default();
        if !namespace.contains('.') {
            return Err(bad(
                "the provider namespace must look like 'Microsoft.Service'",
            ));
        }
        let type_and_names = &segments[(i + 2).min(segments.len())..];
        if type_and_names.is_empty() || !type_and_names.len().is_multiple_of(2) {
            return Err(bad(
                "each resource type must be followed by a resource name",
            ));
        }
        let mut resource_type = namespace.to_string();
        for pair in type_and_names.chunks(2) {
            resource_type.push('/');
            resource_type.push_str(pair[0]);
        }
        Ok(SourceResourceId {
            raw: raw_trimmed.trim_end_matches('/').to_string(),
            resource_type,
        })
    }
    pub fn as_str(&self) -> &str {
        &self.raw
    }
    /// `Namespace/type[/child]`, e.g. `Microsoft.MachineLearningServices/workspaces`.
    pub fn resource_type(&self) -> &str {
        &self.resource_type
    }
    /// The subscription segment, as written (parse checked it is a UUID).
    pub fn subscription(&self) -> &str {
        self.raw.split('/').nth(2).unwrap_or_default()
    }
}

/// Parses the resource group out of an ARM id, as az does to add `resourceGroup`.
pub fn resource_group_of(id: &str) -> Option<&str> {
    let mut segments = id.split('/');
    while let Some(segment) = segments.next() {
        if segment.eq_ignore_ascii_case("resourceGroups") {
            return segments.next().filter(|s| !s.is_empty());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "00000000-0000-0000-0000-000000000000";

    #[test]
    fn binding_names_follow_the_service_rule() {
        assert!(BindingName::parse("a").is_ok());
        assert!(BindingName::parse("abc-DEF-123456789012345").is_ok());
        assert!(BindingName::parse(&"a".repeat(24)).is_ok());
        assert!(BindingName::parse(&"a".repeat(25)).is_err());
        assert!(BindingName::parse("").is_err());
        assert!(BindingName::parse("a_b").is_err());
        assert!(BindingName::parse("a.b").is_err());
    }

    #[test]
    fn cluster_and_group_names() {
        assert!(ClusterName::parse("c").is_ok());
        assert!(ClusterName::parse("my_cluster-1").is_ok());
        assert!(ClusterName::parse("-c").is_err());
        assert!(ClusterName::parse("c-").is_err());
        assert!(ClusterName::parse(&"c".repeat(64)).is_err());
        assert!(ResourceGroupName::parse("rg.(1)_x-y").is_ok());
        assert!(ResourceGroupName::parse("rg.").is_err());
        assert!(ResourceGroupName::parse("r g").is_err());
        assert!(ResourceGroupName::parse("").is_err());
    }

    #[test]
    fn source_ids_yield_their_type() {
        let id = SourceResourceId::parse(&format!(
            "/subscriptions/{SUB}/resourceGroups/b/providers/Microsoft.MachineLearningServices/workspaces/c"
        ))
        .unwrap();
        assert_eq!(
            id.resource_type(),
            "Microsoft.MachineLearningServices/workspaces"
        );
        let id = SourceResourceId::parse(&format!(
            "/subscriptions/{SUB}/providers/Microsoft.Security/pricings/containers"
        ))
        .unwrap();
        assert_eq!(id.resource_type(), "Microsoft.Security/pricings");
        let id = SourceResourceId::parse(&format!(
            "/SUBSCRIPTIONS/{SUB}/resourcegroups/b/providers/Microsoft.Web/sites/s/slots/x"
        ))
        .unwrap();
        assert_eq!(id.resource_type(), "Microsoft.Web/sites/slots");
        for bad in [
            "",
            "subscriptions/x",
            "/subscriptions/not-a-uuid/resourceGroups/b/providers/A.B/c/d",
            &format!("/subscriptions/{SUB}/resourceGroups/b"),
            &format!("/subscriptions/{SUB}/resourceGroups/b/providers/A.B/c"),
            &format!("/subscriptions/{SUB}/resourceGroups/b/providers/AB/c/d"),
            &format!("/subscriptions/{SUB}/resourceGroups//providers/A.B/c/d"),
        ] {
            assert!(SourceResourceId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_keep_the_callers_casing() {
        let cluster = ClusterId {
            subscription: SubscriptionId::parse(SUB).unwrap(),
            resource_group: ResourceGroupName::parse("RG1").unwrap(),
            name: ClusterName::parse("Cl1").unwrap(),
        };
        let binding = cluster.binding(BindingName::parse("b1").unwrap());
        assert_eq!(
            binding.path(),
            format!(
                "/subscriptions/{SUB}/resourceGroups/RG1/providers/Microsoft.ContainerService/managedClusters/Cl1/trustedAccessRoleBindings/b1"
            )
        );
        assert_eq!(resource_group_of(&binding.path()), Some("RG1"));
        assert_eq!(resource_group_of("/subscriptions/x"), None);
    }

    #[test]
    fn locations() {
        assert_eq!(
            Location::short_name("WestEurope").unwrap().as_str(),
            "westeurope"
        );
        assert!(Location::short_name("West Europe").is_none());
        assert!(Location::short_name("").is_none());
    }
}
