//! `rolebinding history` resolved: which bindings (one, a cluster's, a resource group's, or the
//! subscription's), how far back, and where from (the activity log, or a Log Analytics workspace
//! given by `--workspace`), checked before any request (`--since` at most 90 days, the activity
//! log's retention; 730 with a workspace, Log Analytics' longest interactive retention).

use super::binding::{ClusterRef, resource_group};
use crate::azconfig::AzConfig;
use crate::domain::ids::{BindingName, ClusterName, ResourceGroupName};
use crate::error::{Error, Result};

/// The activity log keeps 90 days.
pub const MAX_DAYS: i64 = 90;
/// A workspace keeps up to two years queryable (interactive retention); older data is archived
/// and needs a search job, which this tool does not run.
pub const MAX_WORKSPACE_DAYS: i64 = 730;

/// `--workspace`: the workspace's id (its `customerId`, a GUID, what the query API is addressed
/// by) or its ARM resource id (its `customerId` is then read through ARM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workspace {
    CustomerId(String),
    ResourceId(String),
}

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
    /// Read from this Log Analytics workspace instead of the activity log.
    pub workspace: Option<Workspace>,
}

pub fn resolve(
    group: Option<&str>,
    cluster: Option<&str>,
    name: Option<&str>,
    since: &str,
    workspace: Option<&str>,
    config: &AzConfig,
) -> Result<HistoryRequest> {
    let workspace = workspace.map(parse_workspace).transpose()?;
    let since = parse_since(since, workspace.is_some())?;
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
    Ok(HistoryRequest {
        scope,
        since,
        workspace,
    })
}

/// `audit --since`: the history of every audited subscription.
pub fn fleet(
    subscriptions: &[String],
    groups: &[String],
    since: &str,
    workspace: Option<&str>,
) -> Result<HistoryRequest> {
    let workspace = workspace.map(parse_workspace).transpose()?;
    Ok(HistoryRequest {
        since: parse_since(since, workspace.is_some())?,
        workspace,
        scope: HistoryScope::Fleet {
            subscriptions: subscriptions.to_vec(),
            groups: groups
                .iter()
                .map(|g| ResourceGroupName::parse(g))
                .collect::<Result<_>>()?,
        },
    })
}

/// A workspace's GUID or ARM resource id (`/subscriptions/{s}/resourceGroups/{g}/providers/
/// Microsoft.OperationalInsights/workspaces/{name}`), else a usage error.
pub fn parse_workspace(raw: &str) -> Result<Workspace> {
    let text = raw.trim();
    if is_guid(text) {
        return Ok(Workspace::CustomerId(text.to_ascii_lowercase()));
    }
    let segments: Vec<&str> = text.trim_end_matches('/').split('/').collect();
    let fixed = [
        (1, "subscriptions"),
        (3, "resourceGroups"),
        (5, "providers"),
        (6, "Microsoft.OperationalInsights"),
        (7, "workspaces"),
    ];
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 90
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.()".contains(c))
            && s != "."
            && s != ".."
    };
    let shaped = segments.len() == 9
        && segments[0].is_empty()
        && fixed
            .iter()
            .all(|(i, want)| segments[*i].eq_ignore_ascii_case(want))
        && is_guid(segments[2])
        && name_ok(segments[4])
        && name_ok(segments[8]);
    if shaped {
        return Ok(Workspace::ResourceId(segments.join("/")));
    }
    Err(Error::usage_with_hint(
        format!("invalid --workspace '{raw}': not a workspace id"),
        "give the workspace's id (its customerId, a GUID: az monitor log-analytics workspace show --query customerId) or its resource id (/subscriptions/…/resourceGroups/…/providers/Microsoft.OperationalInsights/workspaces/NAME)",
    ))
}

fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// `Nd` or `Nh`, more than zero and at most 90 days (730 from a workspace).
pub fn parse_since(raw: &str, workspace: bool) -> Result<time::Duration> {
    let (max, keeps) = if workspace {
        (MAX_WORKSPACE_DAYS, "a workspace's queries reach 730 days")
    } else {
        (MAX_DAYS, "the activity log keeps 90 days")
    };
    let bad = |why: &str| {
        Error::usage_with_hint(
            format!("invalid --since '{raw}': {why}"),
            format!(
                "give days or hours, e.g. --since 30d or --since 12h (at most {max}d: {keeps}; longer with --workspace)"
            ),
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
        "d" | "D" => time::Duration::days(n.min(max + 1)),
        "h" | "H" => time::Duration::hours(n.min((max + 1) * 24)),
        _ => return Err(bad("the unit must be d (days) or h (hours)")),
    };
    if duration > time::Duration::days(max) {
        return Err(bad(keeps));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_days_or_hours_up_to_90_days() {
        let parse_since = |raw| parse_since(raw, false);
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

    #[test]
    fn a_workspace_is_a_guid_or_its_resource_id() {
        assert_eq!(
            parse_since("730d", true).unwrap(),
            time::Duration::days(730)
        );
        assert!(parse_since("731d", true).is_err());
        assert_eq!(
            parse_workspace("0A1B2C3D-0000-4000-8000-000000000001").unwrap(),
            Workspace::CustomerId("0a1b2c3d-0000-4000-8000-000000000001".into())
        );
        let id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg1/providers/microsoft.operationalinsights/workspaces/law-1";
        assert_eq!(
            parse_workspace(id).unwrap(),
            Workspace::ResourceId(id.into())
        );
        for bad in [
            "law1",
            "",
            "0a1b2c3d-0000-4000-8000-00000000000",
            "/subscriptions/x/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w",
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/w",
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w/extra",
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w?x=1",
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/../providers/Microsoft.OperationalInsights/workspaces/w",
        ] {
            assert!(parse_workspace(bad).is_err(), "{bad}");
        }
    }
}
