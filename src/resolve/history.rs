//! `rolebinding history` resolved: which bindings (one, a cluster's, a resource group's, or the
//! subscription's) and how far back, checked before any request (`--since` at most 90 days, the
//! activity log's retention).

use super::binding::{ClusterRef, resource_group};
use crate::azconfig::AzConfig;
use crate::domain::ids::{BindingName, ClusterName, ResourceGroupName};
use crate::error::{Error, Result};

/// The activity log keeps 90 days.
pub const MAX_DAYS: i64 = 90;

#[derive(Debug, Clone)]
pub enum HistoryScope {
    Subscription,
    Group(ResourceGroupName),
    Cluster(ClusterRef),
    Binding(ClusterRef, BindingName),
    /// `audit --since`: these subscriptions (ids or display names; none: every Enabled one),
    /// only these resource groups if any.
    Fleet {
        subscriptions: Vec<String>,
        groups: Vec<ResourceGroupName>,
    },
}

#[derive(Debug, Clone)]
pub struct HistoryRequest {
    pub scope: HistoryScope,
    /// How far back, as asked (`30d`, `12h`).
    pub since: time::Duration,
}

pub fn resolve(
    group: Option<&str>,
    cluster: Option<&str>,
    name: Option<&str>,
    since: &str,
    config: &AzConfig,
) -> Result<HistoryRequest> {
    let since = parse_since(since)?;
    let scope = match (group, cluster, name) {
        (None, None, _) => HistoryScope::Subscription,
        (Some(g), None, _) => HistoryScope::Group(ResourceGroupName::parse(g)?),
        (g, Some(c), n) => {
            let cluster = ClusterRef {
                resource_group: resource_group(g, config)?,
                name: ClusterName::parse(c)?,
            };
            match n {
                Some(n) => HistoryScope::Binding(cluster, BindingName::parse(n)?),
                None => HistoryScope::Cluster(cluster),
            }
        }
    };
    Ok(HistoryRequest { scope, since })
}

/// `audit --since`: the history of every audited subscription.
pub fn fleet(subscriptions: &[String], groups: &[String], since: &str) -> Result<HistoryRequest> {
    Ok(HistoryRequest {
        since: parse_since(since)?,
        scope: HistoryScope::Fleet {
            subscriptions: subscriptions.to_vec(),
            groups: groups
                .iter()
                .map(|g| ResourceGroupName::parse(g))
                .collect::<Result<_>>()?,
        },
    })
}

/// `Nd` or `Nh`, more than zero and at most 90 days.
pub fn parse_since(raw: &str) -> Result<time::Duration> {
    let bad = |why: &str| {
        Error::usage_with_hint(
            format!("invalid --since '{raw}': {why}"),
            "give days or hours, e.g. --since 30d or --since 12h (at most 90d, the activity log's retention)",
        )
    };
    let text = raw.trim();
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number
        .parse()
        .ok()
        .filter(|n| *n > 0 && number.chars().all(|c| c.is_ascii_digit()))
        .ok_or_else(|| bad("expected a whole number of days or hours"))?;
    let duration = match unit {
        "d" | "D" => time::Duration::days(n.min(MAX_DAYS + 1)),
        "h" | "H" => time::Duration::hours(n.min((MAX_DAYS + 1) * 24)),
        _ => return Err(bad("the unit must be d (days) or h (hours)")),
    };
    if duration > time::Duration::days(MAX_DAYS) {
        return Err(bad("the activity log keeps 90 days"));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_days_or_hours_up_to_90_days() {
        assert_eq!(parse_since("30d").unwrap(), time::Duration::days(30));
        assert_eq!(parse_since("12h").unwrap(), time::Duration::hours(12));
        assert_eq!(parse_since("90d").unwrap(), time::Duration::days(90));
        assert_eq!(parse_since("2160h").unwrap(), time::Duration::days(90));
        for bad in [
            "91d",
            "2161h",
            "0d",
            "-1d",
            "d",
            "30",
            "30m",
            "1.5d",
            "",
            "+3d",
            "99999999999999999999d",
        ] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }
}
