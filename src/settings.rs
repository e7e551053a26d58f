//! One command line's settings, resolved once before any work: the global flags, the environment
//! and az's configuration become one typed value (the subscription choice, the output plan, the
//! verbosity, stderr's colour). Nothing below it reads argv, the environment or az's
//! configuration for these again.

use crate::azconfig::AzConfig;
use crate::cli::global::GlobalArgs;
use crate::diagnostics::Verbosity;
use crate::error::{Error, Result};
use crate::output::query::Query;
use crate::output::{OutputFormat, Printer};
use clap::ValueEnum;

/// What the process sees around it: the variables this step reads and whether stdout and
/// stderr are terminals. Passed in, so every decision below is a pure function of it.
#[derive(Debug, Clone, Default)]
pub struct Surroundings {
    /// `NO_COLOR` (no-color.org): set to anything non-empty turns colour off.
    pub no_color: Option<String>,
    /// `AZURE_SUBSCRIPTION_ID`.
    pub subscription_env: Option<String>,
    pub stdout_terminal: bool,
    pub stderr_terminal: bool,
}

impl Surroundings {
    /// The real process's.
    pub fn of_process() -> Self {
        use std::io::IsTerminal;
        Surroundings {
            no_color: std::env::var("NO_COLOR").ok(),
            subscription_env: std::env::var("AZURE_SUBSCRIPTION_ID").ok(),
            stdout_terminal: std::io::stdout().is_terminal(),
            stderr_terminal: std::io::stderr().is_terminal(),
        }
    }
}

/// Where a command's one subscription comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionChoice {
    /// `--subscription` (the last one given, as argparse takes it) or `AZURE_SUBSCRIPTION_ID`:
    /// an id or a display name, looked up when the first request needs it.
    Named(String),
    /// Neither: az's default subscription (`azureProfile.json`).
    AzDefault,
}

/// How stdout is written: the printer (format, query, colour) and whether a format was chosen.
pub struct OutputPlan {
    pub printer: Printer,
    /// `-o` or `--query` on the command line: `plan` prints actions, `export` that format.
    pub flags_chose: bool,
    /// `-o`, `--query` or az's `[core] output`: a doctor report is then data, not a list.
    pub chosen: bool,
    /// stdout is a terminal.
    pub terminal: bool,
}

impl OutputPlan {
    /// A doctor report is a readable list: a terminal, and no format chosen.
    pub fn readable(&self) -> bool {
        self.terminal && !self.chosen
    }
}

/// One command line's settings.
pub struct Settings {
    pub config: AzConfig,
    pub verbosity: Verbosity,
    /// Colour stderr's level prefixes (the same decision as stdout's, without the format).
    pub stderr_color: bool,
    pub output: OutputPlan,
    /// Every `--subscription` given, empty ones dropped (`audit` and `export` take several).
    pub subscriptions: Vec<String>,
    /// The one subscription of every other command.
    pub subscription: SubscriptionChoice,
    /// Said on stderr once diagnostics exist (az's `Subscription '' not recognized.`).
    pub warnings: Vec<String>,
}

impl Settings {
    pub fn resolve(global: &GlobalArgs, config: AzConfig, around: &Surroundings) -> Result<Self> {
        let verbosity = verbosity(global, &config)?;
        let format = output_format(global, &config)?;
        let query = global.query.as_deref().map(Query::compile).transpose()?;
        let color = color_allowed(around, &config);
        let flags_chose = global.output.is_some() || global.query.is_some();
        let output = OutputPlan {
            printer: Printer::new(format, query, color),
            flags_chose,
            chosen: flags_chose || config.get("core", "output").is_some(),
            terminal: around.stdout_terminal,
        };
        let (subscriptions, warnings) = given_subscriptions(&global.subscription);
        let subscription = subscription_choice(&subscriptions, around);
        Ok(Settings {
            config,
            verbosity,
            stderr_color: color,
            output,
            subscriptions,
            subscription,
            warnings,
        })
    }
}

/// knack's rule (`CLI._should_enable_color`): colour only when az's `[core] no_color` /
/// `AZURE_CORE_NO_COLOR` is not true and both stdout and stderr are terminals; and, beyond az,
/// never when `NO_COLOR` is set to anything non-empty (no-color.org).
pub fn color_allowed(around: &Surroundings, config: &AzConfig) -> bool {
    around.stdout_terminal
        && around.stderr_terminal
        && around.no_color.as_deref().is_none_or(str::is_empty)
        && config.get_bool("core", "no_color") != Some(true)
}

/// `--subscription ""` (an unset variable in a script): az warns `Subscription '' not
/// recognized.` and goes on with the default subscription, so empty values are dropped.
fn given_subscriptions(given: &[String]) -> (Vec<String>, Vec<String>) {
    let mut warnings = Vec::new();
    let kept = given
        .iter()
        .filter(|s| {
            let empty = s.trim().is_empty();
            if empty {
                warnings.push(format!("Subscription '{s}' not recognized."));
            }
            !empty
        })
        .map(|s| s.trim().to_string())
        .collect();
    (kept, warnings)
}

/// `--subscription` (argparse: the last value given wins), else `AZURE_SUBSCRIPTION_ID` (an
/// empty value is unset), else az's default.
fn subscription_choice(given: &[String], around: &Surroundings) -> SubscriptionChoice {
    let from_env = around
        .subscription_env
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty());
    match (given.last(), from_env) {
        (Some(arg), _) => SubscriptionChoice::Named(arg.clone()),
        (None, Some(env)) => SubscriptionChoice::Named(env.to_string()),
        (None, None) => SubscriptionChoice::AzDefault,
    }
}

/// `--debug`, `--verbose`, `--only-show-errors` (the flag excludes the other two, as in az).
/// knack's order: the flags first, then az's `[core] only_show_errors` /
/// AZURE_CORE_ONLY_SHOW_ERRORS (which --debug and --verbose override).
pub fn verbosity(global: &GlobalArgs, config: &AzConfig) -> Result<Verbosity> {
    if global.only_show_errors && (global.debug || global.verbose) {
        return Err(Error::usage(
            "--only-show-errors can't be used together with --debug or --verbose",
        ));
    }
    Ok(if global.debug {
        Verbosity::Debug
    } else if global.verbose {
        Verbosity::Verbose
    } else if global.only_show_errors || config.get_bool("core", "only_show_errors") == Some(true) {
        Verbosity::ErrorsOnly
    } else {
        Verbosity::Normal
    })
}

/// `-o`, else az's `[core] output` / `AZURE_CORE_OUTPUT`, else json.
fn output_format(global: &GlobalArgs, config: &AzConfig) -> Result<OutputFormat> {
    if let Some(format) = global.output {
        return Ok(format);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn settings(args: &str, config: &str, around: &Surroundings) -> Settings {
        let argv = std::iter::once("aks-trustedaccess").chain(args.split_whitespace());
        let cli = Cli::try_parse_from(argv).expect("the test's command line parses");
        Settings::resolve(&cli.global, AzConfig::from_text(config), around).unwrap()
    }

    fn terminal() -> Surroundings {
        Surroundings {
            stdout_terminal: true,
            stderr_terminal: true,
            ..Surroundings::default()
        }
    }

    #[test]
    fn jsonc_and_yamlc_colour_a_terminal() {
        for format in ["jsonc", "yamlc"] {
            let s = settings(&format!("role list -o {format}"), "", &terminal());
            assert!(s.output.printer.color, "{format}");
            assert!(s.stderr_color);
        }
        for format in ["json", "yaml", "table", "tsv"] {
            let s = settings(&format!("role list -o {format}"), "", &terminal());
            assert!(!s.output.printer.color, "{format} never colours");
        }
        let configured = settings("role list", "[core]\noutput = yamlc\n", &terminal());
        assert!(
            configured.output.printer.color,
            "[core] output = yamlc colours too"
        );
    }

    #[test]
    fn no_color_turns_colour_off() {
        let around = Surroundings {
            no_color: Some("1".into()),
            ..terminal()
        };
        let s = settings("role list -o jsonc", "", &around);
        assert!(!s.output.printer.color && !s.stderr_color);
        let empty = Surroundings {
            no_color: Some(String::new()),
            ..terminal()
        };
        assert!(
            settings("role list -o jsonc", "", &empty)
                .output
                .printer
                .color
        );
    }

    #[test]
    fn az_core_no_color_turns_colour_off() {
        let s = settings(
            "role list -o yamlc",
            "[core]\nno_color = true\n",
            &terminal(),
        );
        assert!(!s.output.printer.color && !s.stderr_color);
        let s = settings(
            "role list -o yamlc",
            "[core]\nno_color = false\n",
            &terminal(),
        );
        assert!(s.output.printer.color);
    }

    #[test]
    fn colour_needs_both_stdout_and_stderr_on_a_terminal() {
        for (stdout_terminal, stderr_terminal) in [(false, true), (true, false), (false, false)] {
            let around = Surroundings {
                stdout_terminal,
                stderr_terminal,
                ..Surroundings::default()
            };
            let s = settings("role list -o jsonc", "", &around);
            assert!(!s.output.printer.color && !s.stderr_color, "{around:?}");
        }
    }

    #[test]
    fn the_last_subscription_wins_empty_ones_are_dropped_and_the_environment_comes_next() {
        let around = Surroundings {
            subscription_env: Some(" env-sub ".into()),
            ..Surroundings::default()
        };
        let s = settings("role list --subscription a --subscription b", "", &around);
        assert_eq!(s.subscription, SubscriptionChoice::Named("b".into()));
        let empty = |args: &[&str]| {
            let argv = ["aks-trustedaccess"].iter().chain(args);
            let cli = Cli::try_parse_from(argv).unwrap();
            Settings::resolve(&cli.global, AzConfig::default(), &around).unwrap()
        };
        let s = empty(&["audit", "--subscription=", "--subscription", "a"]);
        assert_eq!(s.subscriptions, ["a"]);
        let s = empty(&["role", "list", "--subscription", ""]);
        assert_eq!(s.warnings, ["Subscription '' not recognized."]);
        assert_eq!(s.subscription, SubscriptionChoice::Named("env-sub".into()));
        let s = settings("role list", "", &Surroundings::default());
        assert_eq!(s.subscription, SubscriptionChoice::AzDefault);
    }

    #[test]
    fn only_show_errors_excludes_debug() {
        let cli = Cli::try_parse_from([
            "aks-trustedaccess",
            "audit",
            "--only-show-errors",
            "--debug",
        ])
        .unwrap();
        assert!(verbosity(&cli.global, &AzConfig::default()).is_err());
        let cli = Cli::try_parse_from(["aks-trustedaccess", "audit", "--verbose"]).unwrap();
        assert_eq!(
            verbosity(&cli.global, &AzConfig::default()).unwrap(),
            Verbosity::Verbose
        );
    }
}
