//! clap's parse errors, told as argparse (and so az) tells them: an ambiguous prefix of a long
//! option names the options it could be, and a bad value read from an environment variable names
//! the variable, not only the flag it stands for.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use std::ffi::OsString;

/// The text to print for a usage error (clap's own rendering, made more precise).
pub fn usage_message(error: &clap::Error, cmd: &clap::Command, argv: &[OsString]) -> String {
    let rendered = error.render().to_string();
    let invalid_arg = match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => arg.clone(),
        _ => return rendered,
    };
    match error.kind() {
        ErrorKind::UnknownArgument => match ambiguous_matches(cmd, argv, &invalid_arg) {
            Some(matches) => format!(
                "error: ambiguous option: {invalid_arg} could match {}\n\nFor more information, try '--help'.\n",
                matches.join(", ")
            ),
            None => rendered,
        },
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            match env_source(cmd, argv, &invalid_arg, error) {
                Some(var) => insert_after_first_line(
                    &rendered,
                    &format!(
                        "  note: the value comes from the environment variable {var}; fix or unset it\n"
                    ),
                ),
                None => rendered,
            }
        }
        _ => rendered,
    }
}

/// The long options (and their aliases) of the command `argv` reached that start with `word`,
/// when there are two or more: argparse's "ambiguous option". clap reports it as unknown.
fn ambiguous_matches(cmd: &clap::Command, argv: &[OsString], word: &str) -> Option<Vec<String>> {
    let prefix = word.strip_prefix("--")?.split('=').next()?;
    if prefix.is_empty() {
        return None;
    }
    let mut cmd = cmd.clone();
    cmd.build();
    let reached = reached_command(&cmd, argv);
    let mut matches = Vec::new();
    for arg in reached.get_arguments() {
        let names = arg
            .get_long()
            .into_iter()
            .chain(arg.get_all_aliases().unwrap_or_default());
        if let Some(name) = names.into_iter().find(|n| n.starts_with(prefix)) {
            matches.push(format!("--{name}"));
        }
    }
    (matches.len() >= 2).then_some(matches)
}

/// The deepest subcommand named in `argv` (words that are not options, matched by name).
fn reached_command<'a>(cmd: &'a clap::Command, argv: &[OsString]) -> &'a clap::Command {
    let mut current = cmd;
    for word in argv.iter().skip(1).filter_map(|w| w.to_str()) {
        if let Some(sub) = current.find_subcommand(word) {
            current = sub;
        }
    }
    current
}

/// The environment variable a refused value came from: the flag was not on the command line,
/// it has an `env`, and that variable holds the refused value.
fn env_source(
    cmd: &clap::Command,
    argv: &[OsString],
    invalid_arg: &str,
    error: &clap::Error,
) -> Option<String> {
    let long = invalid_arg
        .strip_prefix("--")?
        .split([' ', '='])
        .next()?
        .to_string();
    let on_command_line = argv.iter().filter_map(|w| w.to_str()).any(|w| {
        w.strip_prefix("--")
            .is_some_and(|w| long.starts_with(w.split('=').next().unwrap_or(w)) && !w.is_empty())
    });
    if on_command_line {
        return None;
    }
    let mut cmd = cmd.clone();
    cmd.build();
    let reached = reached_command(&cmd, argv);
    let arg = reached
        .get_arguments()
        .find(|a| a.get_long() == Some(long.as_str()))?;
    let var = arg.get_env()?.to_str()?.to_string();
    let refused = match error.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(v)) => Some(v.clone()),
        _ => None,
    };
    let value = std::env::var(&var).ok()?;
    (refused.is_none() || refused.as_deref() == Some(value.as_str())).then_some(var)
}

fn insert_after_first_line(text: &str, line: &str) -> String {
    match text.split_once('\n') {
        Some((first, rest)) => format!("{first}\n{line}{rest}"),
        None => format!("{text}\n{line}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::{CommandFactory, Parser};

    fn message(args: &[&str]) -> String {
        let argv: Vec<OsString> = args.iter().map(OsString::from).collect();
        let error = Cli::try_parse_from(&argv).expect_err("a usage error");
        usage_message(&error, &Cli::command(), &argv)
    }

    #[test]
    fn an_ambiguous_prefix_names_every_option_it_could_be() {
        let text = message(&["aks-trustedaccess", "rolebinding", "list", "--c", "x"]);
        assert!(
            text.starts_with("error: ambiguous option: --c could match "),
            "{text}"
        );
        for option in ["--cluster-name", "--cloud"] {
            assert!(text.contains(option), "{text}");
        }
    }

    #[test]
    fn an_unknown_option_keeps_clap_s_message() {
        let text = message(&["aks-trustedaccess", "rolebinding", "list", "--zzz"]);
        assert!(text.contains("unexpected argument '--zzz'"), "{text}");
    }
}
