//! `audit` arguments resolved: which clusters (a selector over subscriptions, management groups,
//! resource groups and tags), how to find them, what every cluster must bind, how wide to run.

use crate::cli::Discovery;
use std::collections::BTreeMap;

/// `audit`'s options.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub selector: Selector,
    pub discovery: DiscoveryMode,
    pub require_binding_for: Vec<String>,
    pub parallel: usize,
}

/// Where clusters come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiscoveryMode {
    /// Resource Graph only.
    Arg,
    /// A cluster listing per subscription through ARM.
    Arm,
    /// Resource Graph, falling back to ARM when Resource Graph refuses (403, not registered).
    #[default]
    Auto,
}

/// Which clusters: scope (subscriptions, management groups) and filters.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    /// Ids or display names; empty (and no management group) = every visible subscription.
    pub subscriptions: Vec<String>,
    /// Management group names (Resource Graph only).
    pub management_groups: Vec<String>,
    /// Keep clusters in these resource groups (case-insensitive); empty = all.
    pub resource_groups: Vec<String>,
    /// Keep clusters carrying every one of these tags (`key`, or `key` = value).
    pub tags: Vec<(String, Option<String>)>,
}

impl Selector {
    /// Whether a cluster passes the resource-group and tag filters.
    pub fn keeps(&self, group: &str, tags: &BTreeMap<String, String>) -> bool {
        let group_ok = self.resource_groups.is_empty()
            || self
                .resource_groups
                .iter()
                .any(|g| g.eq_ignore_ascii_case(group));
        let tags_ok = self.tags.iter().all(|(key, value)| {
            tags.iter().any(|(k, v)| {
                k.eq_ignore_ascii_case(key) && value.as_ref().is_none_or(|want| want == v)
            })
        });
        group_ok && tags_ok
    }
}

impl From<Discovery> for DiscoveryMode {
    fn from(flag: Discovery) -> Self {
        match flag {
            Discovery::Arg => DiscoveryMode::Arg,
            Discovery::Arm => DiscoveryMode::Arm,
            Discovery::Auto => DiscoveryMode::Auto,
        }
    }
}
