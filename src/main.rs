//! The `aks-trustedaccess` binary: parse arguments, run on a current-thread runtime, and map the
//! result to the exit-code table in `error.rs`.

use aks_trustedaccess::azconfig::AzConfig;
use aks_trustedaccess::diagnostics::{Level, paint, write_stderr};
use aks_trustedaccess::error::exit;
use aks_trustedaccess::settings::{self, Surroundings};
use aks_trustedaccess::{app, cli::Cli, parse_errors};
use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use std::process::ExitCode;

fn main() -> ExitCode {
    // A bare `aks-trustedaccess` shows the command tree, as a bare `az` does (even when
    // environment variables fill some global flags).
    if std::env::args_os().len() <= 1 {
        let help = Cli::command().render_long_help().to_string();
        let _ = aks_trustedaccess::output::write_stdout(&help);
        return ExitCode::from(exit::OK);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(e),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            write_stderr(&format!("ERROR: cannot start the async runtime: {e}\n"));
            return ExitCode::from(exit::ERROR);
        }
    };
    match runtime.block_on(app::run(cli)) {
        Ok(status) => {
            if let Some(message) = status.message() {
                let colour =
                    settings::color_allowed(&Surroundings::of_process(), &AzConfig::load());
                let text = aks_trustedaccess::diagnostics::sanitize(message).into_owned();
                write_stderr(&paint(Level::Error, &format!("ERROR: {text}\n"), colour));
            }
            ExitCode::from(status.exit_code())
        }
        Err(e) => {
            let colour = settings::color_allowed(&Surroundings::of_process(), &AzConfig::load());
            // Errors carry server text: neutralise escape sequences before colouring.
            let text = aks_trustedaccess::diagnostics::sanitize(&e.render()).into_owned();
            write_stderr(&paint(Level::Error, &text, colour));
            ExitCode::from(e.exit_code())
        }
    }
}

/// Help and version go to stdout with exit 0 (a bare `aks-trustedaccess` shows the command tree,
/// as a bare `az` does); every other parse error is a usage error, exit 2.
fn clap_exit(e: clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let text = e.render().to_string();
            let _ = aks_trustedaccess::output::write_stdout(&text);
            ExitCode::from(exit::OK)
        }
        _ => {
            let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
            let message = parse_errors::usage_message(&e, &Cli::command(), &argv);
            if message == e.render().to_string() {
                // clap's own text, coloured as clap colours it.
                let _ = e.print();
            } else {
                write_stderr(&message);
            }
            ExitCode::from(exit::USAGE)
        }
    }
}
