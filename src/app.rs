//! Runs a parsed command line: checks global flags, builds the context, dispatches the command,
//! hands its data to the output layer, and turns Ctrl-C into a clean stop.

use crate::arm::auth::cache::DiskCache;
use crate::arm::auth::{self, AuthSettings, Credential};
use crate::arm::client::{self, ArmClient, RetryPolicy};
use crate::arm::cloud::Cloud;
use crate::arm::transport;
use crate::azconfig::AzConfig;
use crate::cli::{Cli, Command, OutputFormat, RoleCommand, RolebindingCommand};
use crate::commands::{self, Outcome};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::output::diagnostics::{Diagnostics, Verbosity};
use crate::output::query::Query;
use crate::output::{self, Printer};
use crate::shell_integration;
use clap::ValueEnum;
use std::time::Duration;

pub async fn run(cli: Cli) -> Result<()> {
    // Commands that need no credentials never build them.
    match &cli.command {
        Command::Completion { shell } => {
            return output::write_stdout(&shell_integration::completion(*shell));
        }
        Command::Man => return output::write_stdout(&shell_integration::man_page()?),
        _ => {}
    }
    let global = &cli.global;
    if global.only_show_errors && (global.debug || global.verbose) {
        return Err(Error::usage(
            "--only-show-errors can't be used together with --debug or --verbose",
        ));
    }
    let verbosity = if global.debug {
        Verbosity::Debug
    } else if global.verbose {
        Verbosity::Verbose
    } else if global.only_show_errors {
        Verbosity::ErrorsOnly
    } else {
        Verbosity::Normal
    };
    let diagnostics = Diagnostics::new(verbosity);
    let config = AzConfig::load();
    let query = global.query.as_deref().map(Query::compile).transpose()?;
    let format = match global.output {
        Some(format) => format,
        None => configured_output(&config)?,
    };
    let printer = Printer::new(format, query);

    let cloud = Cloud::resolve(global.cloud, &config)?;
    if cloud != Cloud::AzureCloud {
        diagnostics.warn(&format!(
            "Trusted Access is not offered in {} today; expect NoRegisteredProviderFound or InvalidResourceType errors",
            cloud.name()
        ));
    }
    let endpoint = client::endpoint_from_env(cloud)?;
    let retry = RetryPolicy {
        max_retries: global.max_retries,
        budget: Duration::from_secs(global.retry_budget),
        first_delay: Duration::from_millis(global.retry_delay_ms),
    };
    let http = transport::http_client(Duration::from_secs(global.request_timeout))?;
    // The credential is chosen when the first request needs it, so bad input is reported first.
    let sign_in = {
        let (method, http, az_identity) = (
            global.auth,
            http.clone(),
            auth::az_identity(config.dir(), &config),
        );
        let token_cache = if global.no_token_cache {
            None
        } else {
            DiskCache::default_location()
        };
        move || {
            let env = auth::process_environment();
            let source = auth::choose(&env, method)?;
            Credential::new(
                source,
                &env,
                AuthSettings {
                    cloud,
                    token_cache: token_cache.clone(),
                    http: http.clone(),
                    diagnostics,
                    az_identity: az_identity.clone(),
                },
            )
        }
    };
    let arm = ArmClient::new(endpoint, Box::new(sign_in), cloud, http, diagnostics, retry);
    let mut ctx = Context::new(arm, config, diagnostics, global.subscription.clone());
    ctx.operation_timeout = operation_timeout(&cli.command);

    let outcome = tokio::select! {
        outcome = dispatch(&ctx, &cli.command) => outcome?,
        _ = tokio::signal::ctrl_c() => return Err(Error::Interrupted { check: ctx.pending_write() }),
    };
    printer.print(&outcome)
}

/// `--timeout` of a write command.
fn operation_timeout(command: &Command) -> Option<Duration> {
    match command {
        Command::Rolebinding(
            RolebindingCommand::Create { wait, .. }
            | RolebindingCommand::Update { wait, .. }
            | RolebindingCommand::Delete { wait, .. },
        ) => wait.timeout.map(Duration::from_secs),
        _ => None,
    }
}

/// az's `[core] output` / `AZURE_CORE_OUTPUT`, else json.
fn configured_output(config: &AzConfig) -> Result<OutputFormat> {
    match config.get("core", "output") {
        None => Ok(OutputFormat::Json),
        Some(name) => OutputFormat::from_str(&name, true).map_err(|_| {
            Error::usage_with_hint(
                format!("unknown output format '{name}' in az's configuration ([core] output or AZURE_CORE_OUTPUT)"),
                "use one of json, jsonc, yaml, yamlc, table, tsv, none",
            )
        }),
    }
}

async fn dispatch(ctx: &Context, command: &Command) -> Result<Outcome> {
    use commands::{role, rolebinding};
    match command {
        Command::Role(RoleCommand::List { location }) => role::list(ctx, location.as_deref()).await,
        Command::Rolebinding(sub) => match sub {
            RolebindingCommand::List { cluster } => rolebinding::list(ctx, cluster).await,
            RolebindingCommand::Show { cluster, name } => {
                rolebinding::show(ctx, cluster, name).await
            }
            RolebindingCommand::Create {
                cluster,
                name,
                source_resource_id,
                roles,
                wait,
            } => {
                rolebinding::create(ctx, cluster, name, source_resource_id, roles, wait.no_wait)
                    .await
            }
            RolebindingCommand::Update {
                cluster,
                name,
                roles,
                wait,
            } => rolebinding::update(ctx, cluster, name, roles, wait.no_wait).await,
            RolebindingCommand::Delete {
                cluster,
                name,
                yes,
                wait,
            } => rolebinding::delete(ctx, cluster, name, *yes, wait.no_wait).await,
        },
        Command::Completion { .. } | Command::Man => Ok(Outcome::Nothing),
    }
}
