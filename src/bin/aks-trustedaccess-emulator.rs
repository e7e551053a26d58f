//! `aks-trustedaccess-emulator`: serves the Trusted Access slice of ARM on 127.0.0.1 so the CLI,
//! its tests and users' scripts run with no Azure account. Serves until stopped (printing its
//! URL on stdout), runs one command against a fresh emulator (`exec`), or prints `export` lines
//! for a long-running one (`env`).

#[path = "aks-trustedaccess-emulator/flags.rs"]
mod flags;

use aks_trustedaccess::diagnostics::write_stderr;
use aks_trustedaccess::emulator::exec::{self, Session};
use aks_trustedaccess::emulator::identity::{self, EMULATOR_CLIENT_ID};
use aks_trustedaccess::emulator::server::{self, Bound};
use aks_trustedaccess::emulator::state::{DEFAULT_SUBSCRIPTION, DEFAULT_TENANT, World};
use aks_trustedaccess::output::write_stdout;
use clap::{Parser, Subcommand};
use flags::{Args, config_of, load_world, with_test_ca};
use std::path::PathBuf;
use std::process::ExitCode;

/// An offline Azure Resource Manager for AKS Trusted Access, on 127.0.0.1.
///
/// Serves role list, role bindings (list/show/create/update/delete with long-running
/// operations), subscriptions, tenants, locations, resource groups and managed clusters, with
/// ARM's paging, errors and checks, and sign-in as clients do it (/metadata/endpoints, OpenID
/// discovery, the token endpoint, managed identity). Any non-empty bearer token is accepted.
/// GET /_emulator/requests lists the requests received; DELETE clears them; GET /_emulator/state
/// dumps the world as a state file.
#[derive(Debug, Parser)]
#[command(
    name = "aks-trustedaccess-emulator",
    version,
    args_conflicts_with_subcommands = true,
    after_help = CREDENTIALS
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    flags: Args,
}

/// The sign-in every client can use (any other client id and secret work too).
const CREDENTIALS: &str = "Sign in as this service principal (az login --service-principal, \
ClientSecretCredential, AZURE_CLIENT_* variables):\n  \
tenant:        11111111-1111-1111-1111-111111111111\n  \
client id:     a3f9c4d2-6e1b-4c8a-9d7e-0b5f2e8a1c34\n  \
client secret: emulator-client-secret\n  \
subscription:  00000000-0000-0000-0000-000000000000 (the default world)\n\
The authority is the emulator's URL (turn off instance discovery); so is ARM's endpoint.";

#[derive(Debug, Subcommand)]
enum Command {
    /// Start an emulator on a free port (TLS, with a CA of its own), run COMMAND with the
    /// environment pointing at it, stop, and exit with COMMAND's code (128+n if signal n ended
    /// it). The environment: AKS_TRUSTEDACCESS_ARM_ENDPOINT, AKS_TRUSTEDACCESS_ACCESS_TOKEN,
    /// AZURE_SUBSCRIPTION_ID, AZURE_TENANT_ID/CLIENT_ID/CLIENT_SECRET, SSL_CERT_FILE,
    /// REQUESTS_CA_BUNDLE and a private AZURE_CONFIG_DIR.
    #[command(after_help = CREDENTIALS)]
    Exec(ExecArgs),
    /// Start an emulator, print `export` lines for it on stdout (and its process id as
    /// AKS_TRUSTEDACCESS_EMULATOR_PID), and serve until stopped:
    /// eval "$(aks-trustedaccess-emulator env &)"; … ; kill $AKS_TRUSTEDACCESS_EMULATOR_PID
    #[command(after_help = CREDENTIALS)]
    Env(EnvArgs),
}

/// What `exec` and `env` add to the emulator's flags.
#[derive(Debug, clap::Args)]
struct ClientFlags {
    /// Prepare the private AZURE_CONFIG_DIR so `az` talks to the emulator: its cloud registered
    /// and current, the documented service principal signed in, the subscription set (needs az).
    #[arg(long)]
    az: bool,
    /// When the emulator stops, write its request log (requests.json) and its final world
    /// (state.json, a --state file) into DIR, for a test to assert on (and, for a fleet made
    /// with --fleet-services, the generator's expectations: expectations.json).
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
    /// Serve plain http instead of TLS (az and the Azure SDKs refuse bearer tokens over http).
    #[arg(long, conflicts_with_all = ["tls_cert", "tls"])]
    plain_http: bool,
}

#[derive(Debug, clap::Args)]
struct ExecArgs {
    #[command(flatten)]
    client: ClientFlags,
    #[command(flatten)]
    flags: Args,
    /// The command to run, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

#[derive(Debug, clap::Args)]
struct EnvArgs {
    #[command(flatten)]
    client: ClientFlags,
    #[command(flatten)]
    flags: Args,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => serve(cli.flags).map(|()| 0),
        Some(Command::Exec(args)) => {
            let ExecArgs {
                client,
                flags,
                command,
            } = args;
            with_client(flags, client, Some(command))
        }
        Some(Command::Env(args)) => with_client(args.flags, args.client, None),
    };
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(message) => {
            write_stderr(&format!("ERROR: {message}\n"));
            ExitCode::from(1)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// The world's first subscription and its tenant: what clients are pointed at.
fn first_subscription(world: &World) -> (String, String) {
    world.subscriptions.first().map_or_else(
        || (DEFAULT_SUBSCRIPTION.to_string(), DEFAULT_TENANT.to_string()),
        |s| (s.subscription_id.clone(), s.tenant_id.clone()),
    )
}

/// Serves until Ctrl-C, printing the URL on stdout and how to point the CLI at it on stderr.
fn serve(args: Args) -> Result<(), String> {
    let world = load_world(&args)?;
    // The banner exports a subscription this world holds (a fleet has no default one).
    let (banner_subscription, _) = first_subscription(&world);
    let config = config_of(&args)?;
    // Kept until the emulator stops: the test CA's files live in it.
    let (config, test_ca, _dir) = with_test_ca(config, &args)?;
    let fault_seed =
        (config.faults.ratio > 0.0 && config.faults.every.is_none()).then_some(config.faults.seed);
    runtime()?.block_on(async move {
        let bound = server::bind(args.port, config, world)
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
        let url = bound.url();
        write_stdout(&format!("{url}\n")).map_err(|e| e.to_string())?;
        let trust = test_ca
            .map(|ca| format!("  export SSL_CERT_FILE={}\n", ca.display()))
            .unwrap_or_default();
        write_stderr(&format!(
            "aks-trustedaccess emulator listening on {url} (Ctrl-C to stop)\n\
             Point the CLI at it:\n  \
             export AKS_TRUSTEDACCESS_ARM_ENDPOINT={url}\n  \
             export AKS_TRUSTEDACCESS_ACCESS_TOKEN=emulator\n  \
             export AZURE_SUBSCRIPTION_ID={banner_subscription}\n{trust}"
        ));
        if let Some(seed) = fault_seed {
            write_stderr(&format!(
                "Random faults from seed {seed} (--fault-seed {seed} replays them)\n"
            ));
        }
        tokio::select! {
            served = bound.serve() => served.map_err(|e| e.to_string()),
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })
}

/// `exec` (with a command) and `env` (without): an emulator on a free port, TLS unless
/// `--plain-http`, a session for clients, az prepared when asked; then the command's exit code,
/// or 0 once `env` is stopped. `--record` is written when the emulator stops.
fn with_client(
    mut args: Args,
    client: ClientFlags,
    command: Option<Vec<String>>,
) -> Result<i32, String> {
    if !client.plain_http && args.tls_cert.is_none() {
        args.tls = true;
    }
    let world = load_world(&args)?;
    let (subscription, tenant) = first_subscription(&world);
    let config = config_of(&args)?;
    let lifetime = config.token_lifetime;
    // Kept until the emulator stops: the test CA and az's config directory live in them.
    let (config, ca_file, _ca_dir) = with_test_ca(config, &args)?;
    let config_dir = tempfile::Builder::new()
        .prefix("aks-trustedaccess-emulator-az-")
        .tempdir()
        .map_err(|e| format!("cannot make a config directory: {e}"))?;
    runtime()?.block_on(async move {
        let bound = server::bind(args.port, config, world)
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
        let session = Session {
            url: bound.url(),
            ca_file,
            token: identity::issue_token(&tenant, EMULATOR_CLIENT_ID, lifetime).0,
            log_analytics_token: identity::issue_token_for(
                &tenant,
                EMULATOR_CLIENT_ID,
                lifetime,
                "https://api.loganalytics.io",
            )
            .0,
            subscription,
            tenant,
            config_dir: config_dir.path().to_path_buf(),
        };
        let emulator = bound.emulator();
        let server = tokio::spawn(serve_quietly(bound));
        let outcome = run_client(&session, &client, command).await;
        server.abort();
        if let Some(dir) = &client.record {
            exec::write_record(dir, &emulator)?;
        }
        outcome
    })
}

async fn serve_quietly(bound: Bound) {
    // Errors here are accept failures of the loopback listener; the child then fails to connect
    // and says so itself.
    let _ = bound.serve().await;
}

/// Prepares az when asked, then runs the command (`exec`) or prints the exports and waits for a
/// stop signal (`env`).
async fn run_client(
    session: &Session,
    client: &ClientFlags,
    command: Option<Vec<String>>,
) -> Result<i32, String> {
    if client.az {
        exec::prepare_az(session).await?;
    }
    match command {
        Some(command) => Ok(exec::run_child(&command, &session.env()).await),
        None => {
            // Caught before the exports are out: a `kill` right after `eval` must stop it
            // cleanly (writing --record), not end it by the signal's default action.
            let stop =
                exec::Forwarded::catch().map_err(|e| format!("cannot catch signals: {e}"))?;
            let exports = format!(
                "{}export AKS_TRUSTEDACCESS_EMULATOR_PID={}\n",
                session.export_lines(),
                std::process::id()
            );
            write_stdout(&exports).map_err(|e| e.to_string())?;
            // Let `$(… &)` end: nothing more is written to the pipe it reads.
            exec::detach_stdout();
            stop.first().await;
            Ok(0)
        }
    }
}
