//! Runs a parsed command line: resolves it into a typed request, builds the context, asks the
//! delete prompt, dispatches the request, hands its data to the output layer, and turns Ctrl-C
//! into a clean stop.

mod audit;
mod audit_ignore;
mod az;
mod client;
mod countdown;
mod desired;
mod doctor;
mod export_code;

use crate::arm::auth;
use crate::azconfig::AzConfig;
use crate::cli::az::TokenCommand;
use crate::cli::global::GlobalArgs;
use crate::cli::{Cli, Command};
use crate::context::Context;
use crate::diagnostics::Diagnostics;
use crate::domain::ids::BindingId;
use crate::error::Status;
use crate::error::{Error, Result};
use crate::output::{self, Printer};
use crate::resolve::{self, Request};
use crate::settings::{Settings, Surroundings};
use crate::shell_integration;

/// Runs a parsed command line to its status (or the error that stopped it).
pub async fn run(cli: Cli) -> Result<Status> {
    // Commands that need no credentials never build them.
    match &cli.command {
        Command::Completion { shell } => {
            output::write_stdout(&shell_integration::completion(*shell))?;
            return Ok(Status::Success);
        }
        Command::Man { dir } => {
            let written = shell_integration::write_man_pages(dir)?;
            let list: String = written
                .iter()
                .map(|p| format!("{}\n", p.display()))
                .collect();
            output::write_stdout(&list)?;
            return Ok(Status::Success);
        }
        _ => {}
    }
    let settings = Settings::resolve(&cli.global, AzConfig::load(), &Surroundings::of_process())?;
    let diagnostics = Diagnostics::new(settings.verbosity).with_color(settings.stderr_color);
    for warning in &settings.warnings {
        diagnostics.warn(warning);
    }
    let global = &cli.global;
    let arm = client::arm_client(global, &settings.config, diagnostics)?;
    if let Command::Token(TokenCommand::Check { token: Some(_), .. }) = &cli.command {
        diagnostics.warn(
            "a token given with --token may be saved in your shell history; prefer stdin or --token-file",
        );
    }
    let request = resolve::request(&cli.command, &cli.global, &settings)?;
    let readable = settings.output.readable();
    let Settings {
        config,
        output,
        subscription,
        ..
    } = settings;
    let printer = output.printer;
    let mut ctx = Context::new(arm, config, diagnostics, subscription);
    ctx.az_profile_applies = signs_in_with_az(global);
    az::confirm(&ctx, &request)?;
    tokio::select! {
        // Biased: when Ctrl-C arrives, a command that handles it itself (audit closes its
        // report) is polled first and gets to finish.
        biased;
        done = dispatch(&ctx, &printer, request, readable) => done,
        (signal, binding) = interrupted(&ctx) => Err(Error::Interrupted {
            check: binding.map(|b| b.show_command()),
            signal,
        }),
    }
}

/// Whether sign-in will go through az (then az's profile decides which subscriptions exist).
fn signs_in_with_az(global: &GlobalArgs) -> bool {
    auth::choose(&auth::process_environment(), global.auth)
        .is_ok_and(|source| source == auth::Source::AzureCli)
}

/// Resolves on Ctrl-C, TERM or HUP with the signal and the write it interrupted, read before
/// the command is dropped.
async fn interrupted(ctx: &Context) -> (i32, Option<BindingId>) {
    let signal = crate::signals::stop().await;
    (signal, ctx.write_in_flight())
}

/// The one place a request meets its runner: one per command group, each returning a status.
/// `readable`: a doctor report (and `role show`) is a readable view (a terminal, no format chosen).
async fn dispatch(
    ctx: &Context,
    printer: &Printer,
    request: Request,
    readable: bool,
) -> Result<Status> {
    match &request {
        Request::Audit(options) => audit::run(ctx, printer, options).await,
        Request::BindingCheck(check) => {
            let report = doctor::check_until_effective(ctx, check).await?;
            doctor::print_doctor(ctx, printer, &report, readable)
        }
        Request::TokenCheck(check) => {
            let report = crate::commands::doctor::token::check(ctx, check).await?;
            doctor::print_doctor(ctx, printer, &report, readable)
        }
        Request::Plan(plan) => desired::run_plan(ctx, printer, plan).await,
        Request::Apply(apply) => desired::run_apply(ctx, printer, apply).await,
        Request::Export(export) => desired::run_export(ctx, printer, export).await,
        Request::ExportCode(code) => export_code::run(ctx, code).await,
        Request::History(history) => {
            let found = match &history.workspace {
                Some(workspace) => {
                    crate::commands::workspace_history::history(ctx, history, workspace).await?
                }
                None => crate::commands::history::history(ctx, history).await?,
            };
            printer.print_value(&found.changes, Some(&crate::commands::history::COLUMNS))?;
            // A partial answer is printed (it is what the workspace gave) but never passes as
            // the whole history: exit 1 and say why.
            Ok(match found.partial {
                Some(why) => Status::Incomplete(Some(format!(
                    "the workspace answered a partial result, so changes may be missing: {why}"
                ))),
                None => Status::Success,
            })
        }
        az_command => az::run(ctx, printer, az_command, readable).await,
    }
}
