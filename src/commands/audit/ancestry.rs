//! `audit --access`: each subscription's management groups, from Resource Graph's
//! `resourcecontainers` (one paged query over the audit's scope), so an assignment at a group
//! reaches the sources of every subscription under it, at any depth.

use crate::domain::source_access::Chains;
use serde_json::Value;

/// The subscriptions' chains of management groups, nearest first.
pub const ANCESTRY_QUERY: &str = "resourcecontainers \
| where type =~ 'microsoft.resources/subscriptions' \
| project subscriptionId, chain = properties.managementGroupAncestorsChain";

/// One `resourcecontainers` row: its subscription's chain of group names, lower-cased.
pub fn add_chain(chains: &mut Chains, row: &Value) {
    let Some(sub) = row["subscriptionId"].as_str().filter(|s| !s.is_empty()) else {
        return;
    };
    let groups = row["chain"].as_array().into_iter().flatten();
    let names = groups.filter_map(|g| g["name"].as_str().map(str::to_ascii_lowercase));
    chains.insert(sub.to_ascii_lowercase(), names.collect());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_row_gives_its_subscriptions_groups_nearest_first() {
        let mut chains = Chains::new();
        add_chain(
            &mut chains,
            &json!({"subscriptionId": "S", "chain": [{"name": "Even"}, {"name": "fleet"}, {"displayName": "no name"}]}),
        );
        add_chain(&mut chains, &json!({"chain": [{"name": "orphan"}]}));
        assert_eq!(
            chains,
            Chains::from([("s".into(), vec!["even".into(), "fleet".into()])])
        );
    }
}
