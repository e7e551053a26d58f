//! `aks-trustedaccess-emulator`: the Trusted Access slice of ARM on loopback, for tests, demos and
//! users' scripts, with no Azure account. Knobs for paging, operation timing and fault injection.

pub mod activity;
pub mod azure_roles;
pub mod conflicts;
pub mod control;
pub mod directory;
pub mod exec;
pub mod expectations;
pub mod faults;
pub mod fleet_access;
pub mod fleet_services;
pub mod graph;
pub mod graph_tables;
pub mod http;
pub mod identity;
pub mod instance;
pub mod kql;
pub mod loganalytics;
pub mod operations;
pub mod permissions;
pub mod ratelimit;
pub mod regions;
pub mod resources;
pub mod routes;
pub mod rules;
pub mod seed;
pub mod server;
pub mod services;
pub mod stable_id;
pub mod state;
pub mod test_ca;
pub mod token;
pub mod versions;

use std::time::Duration;

pub use faults::{FaultKind, Faults};

/// How the emulator behaves (the binary's flags).
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Items per list page; 0 = everything in one page.
    pub page_size: usize,
    /// Start every list with an empty page that carries a `nextLink`.
    pub leading_empty_page: bool,
    /// How many polls an operation answers `InProgress` before it ends.
    pub operation_polls: u32,
    /// An operation also ends this many seconds after it started, polled or not.
    pub operation_seconds: Option<f64>,
    /// `Retry-After` (seconds) on write answers and running polls; `None` leaves it out.
    pub retry_after: Option<u64>,
    /// How operations end.
    pub operation_outcome: state::OperationOutcome,
    /// Added to every ARM answer.
    pub latency: Duration,
    pub faults: Faults,
    /// Lifetime of the tokens the sign-in endpoints issue (negative: already expired).
    pub token_lifetime: i64,
    /// Serve HTTPS with this PEM certificate chain and private key.
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// Over TLS, offer HTTP/2 (ALPN `h2`) as ARM does; false: HTTP/1.1 only.
    pub http2: bool,
    /// Print a line on stderr for each ARM request as it arrives.
    pub log_requests: bool,
    /// ARM's per-subscription request budget.
    pub limits: ratelimit::Limits,
    /// Resource Graph's quota and refusals.
    pub graph: graph::GraphConfig,
    /// Seconds after a write that the binding takes effect (the service: about 5 minutes,
    /// `operations::SERVICE_EFFECT_SECONDS`). Clients read it as the binding's
    /// `systemData.lastModifiedAt` plus 5 minutes, so a shorter delay dates the write's times
    /// back by the difference.
    pub effect_delay: u64,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            page_size: 100,
            leading_empty_page: false,
            operation_polls: 1,
            operation_seconds: Some(5.0),
            retry_after: Some(0),
            operation_outcome: state::OperationOutcome::Succeeded,
            latency: Duration::ZERO,
            faults: Faults::default(),
            token_lifetime: 3600,
            tls: None,
            http2: true,
            log_requests: false,
            limits: ratelimit::Limits::default(),
            graph: graph::GraphConfig::default(),
            effect_delay: operations::SERVICE_EFFECT_SECONDS,
        }
    }
}
