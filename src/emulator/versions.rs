//! The api-versions each endpoint the emulator serves really has, and ARM's answer to any other:
//! `400 InvalidApiVersionParameter` for a malformed version or one Microsoft.Resources does not
//! serve, `400 NoRegisteredProviderFound` for a version a resource provider does not serve.

use crate::emulator::http::Reply;
use crate::emulator::regions;

/// Microsoft.ContainerService versions with Trusted Access: the previews from 2022-04-02-preview
/// (where it appeared) and the stable ones from 2023-09-01 (its general availability), through
/// the newest, 2026-08-01. az 2.91 sends 2026-06-01; the recordings were rewritten to 2025-02-01
/// and 2026-07-01; aks-preview's recordings use 2022-09-02-preview and 2024-03-02-preview.
pub const AKS: &[&str] = &[
    "2026-08-01",
    "2026-07-01",
    "2026-06-01",
    "2025-10-01",
    "2025-09-01",
    "2025-08-01",
    "2025-08-02-preview",
    "2025-07-01",
    "2025-07-02-preview",
    "2025-06-01",
    "2025-06-02-preview",
    "2025-05-01",
    "2025-05-02-preview",
    "2025-04-01",
    "2025-04-02-preview",
    "2025-03-01",
    "2025-03-02-preview",
    "2025-02-01",
    "2025-02-02-preview",
    "2025-01-01",
    "2025-01-02-preview",
    "2024-10-01",
    "2024-10-02-preview",
    "2024-09-01",
    "2024-09-02-preview",
    "2024-08-01",
    "2024-07-01",
    "2024-07-02-preview",
    "2024-06-02-preview",
    "2024-05-01",
    "2024-05-02-preview",
    "2024-04-02-preview",
    "2024-03-02-preview",
    "2024-02-01",
    "2024-02-02-preview",
    "2024-01-01",
    "2024-01-02-preview",
    "2023-11-01",
    "2023-11-02-preview",
    "2023-10-01",
    "2023-10-02-preview",
    "2023-09-01",
    "2023-09-02-preview",
    "2023-08-02-preview",
    "2023-07-02-preview",
    "2023-06-02-preview",
    "2023-05-02-preview",
    "2023-04-02-preview",
    "2023-03-02-preview",
    "2023-02-02-preview",
    "2023-01-02-preview",
    "2022-11-02-preview",
    "2022-10-02-preview",
    "2022-09-02-preview",
    "2022-08-03-preview",
    "2022-08-02-preview",
    "2022-07-02-preview",
    "2022-06-02-preview",
    "2022-05-02-preview",
    "2022-04-02-preview",
];

/// The version ARM puts in the operation-status URLs it hands out (also accepted: the AKS ones).
pub const OPERATIONS: &str = "2016-03-30";

/// Microsoft.Resources (subscriptions, tenants, locations, resource groups, providers).
pub const RESOURCES: &[&str] = &[
    "2025-04-01",
    "2025-03-01",
    "2025-01-01",
    "2024-11-01",
    "2024-07-01",
    "2024-03-01",
    "2023-07-01",
    "2022-12-01",
    "2022-09-01",
    "2022-01-01",
    "2021-04-01",
    "2021-01-01",
    "2020-10-01",
    "2020-06-01",
    "2020-01-01",
    "2019-11-01",
    "2019-10-01",
    "2019-09-01",
    "2019-08-01",
    "2019-07-01",
    "2019-06-01",
    "2019-05-10",
    "2019-05-01",
    "2019-03-01",
    "2018-05-01",
    "2018-02-01",
    "2017-05-10",
    "2016-09-01",
    "2016-06-01",
    "2016-02-01",
    "2015-11-01",
    "2015-01-01",
    "2014-04-01",
];

/// Microsoft.Insights' activity log (`eventtypes/management/values`).
/// Microsoft.Authorization's permissions API (its REST spec's versions; not checked live).
pub const AUTHORIZATION: &[&str] = &[
    "2022-05-01-preview",
    "2022-04-01",
    "2018-01-01-preview",
    "2015-07-01",
];

pub const ACTIVITY_LOG: &[&str] = &["2017-03-01-preview", "2015-04-01", "2014-04-01"];

/// ARM's first check on every request: an `api-version` that looks like one.
pub fn malformed(api_version: &str) -> Option<Reply> {
    let date = api_version
        .strip_suffix("-preview")
        .or_else(|| api_version.strip_suffix("-privatepreview"))
        .unwrap_or(api_version);
    let well_formed = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    (!well_formed).then(|| invalid(api_version, RESOURCES))
}

/// `400 InvalidApiVersionParameter`, as ARM answers for its own types.
pub fn invalid(api_version: &str, supported: &[&str]) -> Reply {
    Reply::arm_error(
        400,
        "InvalidApiVersionParameter",
        format!(
            "The api-version '{api_version}' is invalid. The supported versions are '{}'.",
            supported.join(",")
        ),
    )
}

/// A Microsoft.Resources endpoint's version check.
pub fn resources(api_version: &str) -> Option<Reply> {
    (!RESOURCES.contains(&api_version)).then(|| invalid(api_version, RESOURCES))
}

/// `400 NoRegisteredProviderFound`: no provider serves this type at this version here.
pub fn no_provider(location: &str, api_version: &str, kind: &str, supported: &[&str]) -> Reply {
    // ARM lists them oldest first.
    let mut supported = supported.to_vec();
    supported.sort_unstable();
    Reply::arm_error(
        400,
        "NoRegisteredProviderFound",
        format!(
            "No registered resource provider found for location '{location}' and API version '{api_version}' for type '{kind}'. \
             The supported api-versions are '{}'. The supported locations are '{}'.",
            supported.join(", "),
            regions::names()
        ),
    )
}

/// A Microsoft.ContainerService type's version check (`kind` as ARM names it, e.g.
/// `managedClusters`); `location` is where the request is routed.
pub fn container_service(api_version: &str, location: &str, kind: &str) -> Option<Reply> {
    (!AKS.contains(&api_version)).then(|| no_provider(location, api_version, kind, AKS))
}
