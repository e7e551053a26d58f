//! The emulator's flags, and what they make: the world to start from, the settings, the test CA.

use aks_trustedaccess::emulator::fleet_services::fleet_with_services;
use aks_trustedaccess::emulator::graph::GraphConfig;
use aks_trustedaccess::emulator::ratelimit::{Budget, Limits};
use aks_trustedaccess::emulator::state::{OperationOutcome, Seed, World};
use aks_trustedaccess::emulator::{EmulatorConfig, FaultKind, Faults, test_ca};
use std::path::PathBuf;
use std::time::Duration;

/// The emulator's own flags (the same for serving, `exec` and `env`).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Port on 127.0.0.1; 0 picks a free one (printed on stdout).
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Start from this state file (JSON; see GET /_emulator/state for the format).
    #[arg(long, value_name = "FILE", conflicts_with = "fleet")]
    pub state: Option<PathBuf>,

    /// Generate a fleet: SUBSCRIPTIONSxCLUSTERSxBINDINGS, e.g. 20x50x2.
    #[arg(long, value_name = "SxCxB")]
    pub fleet: Option<String>,

    /// With --fleet: make this percentage of the binding sources dangling, and as many without
    /// identity (picked by a hash of the binding's number) instead of the default 1 in 17 and
    /// 1 in 19.
    #[arg(long, value_name = "PERCENT", requires = "fleet", value_parser = clap::value_parser!(u32).range(0..=50))]
    pub fleet_broken_percent: Option<u32>,

    /// With --fleet: give this percentage of the clusters services (Backup, Azure ML, Defender)
    /// with their bindings present, missing or left over, and role assignments on the sources;
    /// GET /_emulator/expectations then lists the findings they must produce.
    #[arg(long, value_name = "PERCENT", requires = "fleet", value_parser = clap::value_parser!(u32).range(0..=100))]
    pub fleet_services: Option<u32>,

    /// Items per list page (0 = one page).
    #[arg(long, default_value_t = 100)]
    pub page_size: usize,

    /// Start every list with an empty page that carries a nextLink.
    #[arg(long)]
    pub leading_empty_page: bool,

    /// Polls an operation answers InProgress before it ends.
    #[arg(long, default_value_t = 1)]
    pub operation_polls: u32,

    /// Seconds after which an operation ends even if nobody polls it (0 = only by polls).
    #[arg(long, default_value_t = 5.0)]
    pub operation_seconds: f64,

    /// Seconds after a write that the binding takes effect (the service's ~5 minutes by
    /// default; less for tests of --wait-effective). Clients read the effect from the
    /// binding's systemData.lastModifiedAt plus 5 minutes, so writes record times earlier by
    /// the difference.
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(0..=300))]
    pub effect_delay: u64,

    /// How operations end.
    #[arg(long, default_value = "succeeded", value_parser = ["succeeded", "failed", "canceled"])]
    pub operation_outcome: String,

    /// Retry-After seconds on write answers and running polls, or "none" to leave it out.
    #[arg(long, default_value = "0", value_parser = parse_retry_after)]
    pub retry_after: RetryAfter,

    /// Milliseconds added to every ARM answer.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,

    /// Fault kinds to inject, comma-separated: throttle, 500, 503, drop, html (a proxy's 502 page), lost (carried out, answer lost).
    #[arg(long, value_name = "KINDS", value_delimiter = ',')]
    pub faults: Vec<String>,

    /// Inject a fault on every Nth ARM request.
    #[arg(long, value_name = "N")]
    pub fault_every: Option<u64>,

    /// Or inject a fault on this fraction of ARM requests (0.0-1.0).
    #[arg(long, value_name = "RATIO", default_value_t = 0.0)]
    pub fault_ratio: f64,

    /// Seed of the random faults of --fault-ratio (default: a random one, printed on stderr), so
    /// a run can be replayed.
    #[arg(long, value_name = "N")]
    pub fault_seed: Option<u64>,

    /// Retry-After seconds on an injected 429.
    #[arg(long, default_value_t = 1)]
    pub throttle_retry_after: u64,

    /// ARM's per-subscription read bucket: size (0 = unlimited)...
    #[arg(long, default_value_t = 250.0)]
    pub read_budget: f64,

    /// ...and reads refilled per second.
    #[arg(long, default_value_t = 25.0)]
    pub read_refill: f64,

    /// The write bucket: size (0 = unlimited)...
    #[arg(long, default_value_t = 200.0)]
    pub write_budget: f64,

    /// ...and writes refilled per second.
    #[arg(long, default_value_t = 10.0)]
    pub write_refill: f64,

    /// Lifetime in seconds of the tokens the sign-in endpoints issue (negative: already expired).
    #[arg(long, default_value_t = 3600, allow_negative_numbers = true)]
    pub token_lifetime: i64,

    /// Serve HTTPS with this PEM certificate (chain); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// Resource Graph queries allowed per user per quota window (0 = unlimited)...
    #[arg(long, default_value_t = 15)]
    pub graph_quota: u32,

    /// ...and the window's length in seconds.
    #[arg(long, default_value_t = 5.0)]
    pub graph_window_seconds: f64,

    /// Make Resource Graph refuse every query: forbidden (403) or unregistered (409).
    #[arg(long, value_name = "HOW", value_parser = ["forbidden", "unregistered"])]
    pub graph_refuse: Option<String>,

    /// Make Resource Graph refuse (400) any query longer than this many characters (0: none).
    #[arg(long, value_name = "CHARS", default_value_t = 0)]
    pub graph_max_query_chars: usize,

    /// Make Resource Graph refuse (400) this share (0 to 1) of the queries that check a list
    /// of ids, picked by a hash of the query's text (the same query, the same answer).
    #[arg(long, value_name = "RATIO", default_value_t = 0.0)]
    pub graph_refuse_batches: f64,

    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Serve HTTPS with a certificate for 127.0.0.1 from a test CA made at start (its
    /// certificate is written to --tls-ca-file, for SSL_CERT_FILE).
    #[arg(long, conflicts_with = "tls_cert")]
    pub tls: bool,

    /// Where --tls writes the test CA's certificate (default: a temporary file, printed).
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub tls_ca_file: Option<PathBuf>,

    /// Over TLS, offer HTTP/1.1 only (ARM, and this emulator by default, also offer HTTP/2).
    #[arg(long)]
    pub http1_only: bool,

    /// Print one line on stderr for each ARM request as it arrives.
    #[arg(long)]
    pub log_requests: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct RetryAfter(pub Option<u64>);

fn parse_retry_after(raw: &str) -> Result<RetryAfter, String> {
    match raw {
        "none" => Ok(RetryAfter(None)),
        n => n
            .parse()
            .map(|n| RetryAfter(Some(n)))
            .map_err(|_| format!("'{raw}' is not a number of seconds or 'none'")),
    }
}

/// The world to start from (`load_seed`), with a generated fleet's expectations.
pub fn load_world(args: &Args) -> Result<World, String> {
    let (seed, expectations) = load_seed(args)?;
    let mut world = World::from_seed(seed)?;
    world.expectations = expectations;
    Ok(world)
}

/// The world to start from: `--state FILE`, a generated `--fleet` (with services and their
/// expectations when `--fleet-services` asks), or the default world.
fn load_seed(args: &Args) -> Result<(Seed, Option<serde_json::Value>), String> {
    match (&args.state, &args.fleet) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            serde_json::from_str::<Seed>(&text)
                .map(|seed| (seed, None))
                .map_err(|e| format!("{} is not a state file: {e}", path.display()))
        }
        (None, Some(spec)) => {
            let numbers: Vec<usize> = spec
                .split(['x', 'X'])
                .map(|n| n.trim().parse::<usize>())
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    format!(
                        "--fleet '{spec}': expected SUBSCRIPTIONSxCLUSTERSxBINDINGS, e.g. 20x50x2"
                    )
                })?;
            let [s, c, b] = numbers[..] else {
                return Err(format!(
                    "--fleet '{spec}': expected three numbers, e.g. 20x50x2"
                ));
            };
            match args.fleet_services {
                Some(percent) => fleet_with_services(s, c, b, args.fleet_broken_percent, percent)
                    .map(|(seed, expected)| (seed, Some(expected))),
                None => Ok((Seed::fleet_with(s, c, b, args.fleet_broken_percent), None)),
            }
        }
        (None, None) => Ok((Seed::default_world(), None)),
    }
}

/// The emulator's settings from its flags. One field per flag, so it reads as a table.
pub fn config_of(args: &Args) -> Result<EmulatorConfig, String> {
    let kinds = args
        .faults
        .iter()
        .map(|k| {
            FaultKind::parse(k).ok_or_else(|| {
                format!("unknown fault kind '{k}' (throttle, 500, 503, drop, html, lost)")
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let outcome = match args.operation_outcome.as_str() {
        "failed" => OperationOutcome::Failed,
        "canceled" => OperationOutcome::Canceled,
        _ => OperationOutcome::Succeeded,
    };
    Ok(EmulatorConfig {
        page_size: args.page_size,
        leading_empty_page: args.leading_empty_page,
        operation_polls: args.operation_polls,
        operation_seconds: (args.operation_seconds > 0.0).then_some(args.operation_seconds),
        retry_after: args.retry_after.0,
        operation_outcome: outcome,
        effect_delay: args.effect_delay,
        latency: Duration::from_millis(args.latency_ms),
        faults: Faults::new(
            args.fault_every,
            args.fault_ratio,
            kinds,
            args.throttle_retry_after,
        )
        .with_seed(args.fault_seed.unwrap_or_else(|| fastrand::u64(..))),
        token_lifetime: args.token_lifetime,
        limits: Limits {
            reads: Budget {
                capacity: args.read_budget,
                refill_per_second: args.read_refill,
            },
            writes: Budget {
                capacity: args.write_budget,
                refill_per_second: args.write_refill,
            },
        },
        tls: args.tls_cert.clone().zip(args.tls_key.clone()),
        http2: !args.http1_only,
        log_requests: args.log_requests,
        graph: GraphConfig {
            quota: args.graph_quota,
            window: Duration::from_secs_f64(args.graph_window_seconds.max(0.0)),
            refusal: args.graph_refuse.as_deref().map(|how| match how {
                "forbidden" => 403,
                _ => 409,
            }),
            max_query_chars: args.graph_max_query_chars,
            refuse_batches: args.graph_refuse_batches.clamp(0.0, 1.0),
        },
    })
}

/// `--tls`: makes the test CA and the server certificate in a private temporary directory, and
/// copies the CA's certificate to --tls-ca-file. Returns where the CA certificate is.
pub fn with_test_ca(
    mut config: EmulatorConfig,
    args: &Args,
) -> Result<(EmulatorConfig, Option<PathBuf>, Option<tempfile::TempDir>), String> {
    if !args.tls {
        return Ok((config, None, None));
    }
    let dir = tempfile::Builder::new()
        .prefix("aks-trustedaccess-emulator-")
        .tempdir()
        .map_err(|e| format!("cannot make a directory for the test CA: {e}"))?;
    let files = test_ca::generate(dir.path())?;
    let ca = match &args.tls_ca_file {
        Some(path) => {
            std::fs::copy(&files.ca_cert, path)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            path.clone()
        }
        None => files.ca_cert.clone(),
    };
    config.tls = Some((files.server_cert, files.server_key));
    Ok((config, Some(ca), Some(dir)))
}
