//! The flags every command takes (subscription, output, query, verbosity, sign-in, cloud,
//! timeouts), and the write checks and waits the write commands share.

use crate::output::OutputFormat;
use clap::{ArgAction, Args};

/// Flags accepted by every command, as in az: listed under their own heading in every help.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Global Arguments")]
pub struct GlobalArgs {
    /// Subscription id or display name. Default: AZURE_SUBSCRIPTION_ID, then az's default
    /// subscription. `audit` takes several.
    #[arg(long, global = true, value_name = "ID_OR_NAME", action = ArgAction::Append)]
    pub subscription: Vec<String>,

    /// Output format. Default: json, or az's `[core] output` / AZURE_CORE_OUTPUT.
    #[arg(
        short = 'o',
        long,
        global = true,
        value_name = "FORMAT",
        ignore_case = true
    )]
    pub output: Option<OutputFormat>,

    /// JMESPath query applied to the output (see http://jmespath.org/).
    #[arg(long, global = true, value_name = "JMESPATH")]
    pub query: Option<String>,

    /// Log every request and response to stderr (tokens redacted).
    #[arg(long, global = true)]
    pub debug: bool,

    /// Log one line per request to stderr.
    #[arg(long, global = true)]
    pub verbose: bool,

    /// Show only errors, suppressing warnings.
    #[arg(long, global = true)]
    pub only_show_errors: bool,

    /// How to sign in; auto takes the first that applies (see the README).
    #[arg(
        long,
        global = true,
        value_name = "METHOD",
        env = "AKS_TRUSTEDACCESS_AUTH",
        default_value = "auto",
        ignore_case = true
    )]
    pub auth: crate::arm::auth::AuthMethod,

    /// Do not cache az/azd tokens across invocations.
    #[arg(long, global = true, env = "AKS_TRUSTEDACCESS_NO_TOKEN_CACHE", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false, num_args = 0, default_missing_value = "true")]
    pub no_token_cache: bool,

    /// Azure cloud. Default: az's active cloud, else AzureCloud.
    #[arg(long, global = true, value_name = "CLOUD", ignore_case = true)]
    pub cloud: Option<crate::arm::cloud::Cloud>,

    /// Retries of a throttled (429), failed (5xx, 408) or dropped request.
    #[arg(
        long,
        global = true,
        value_name = "N",
        env = "AKS_TRUSTEDACCESS_MAX_RETRIES",
        default_value_t = 10,
        hide_env_values = true
    )]
    pub max_retries: u32,

    /// Milliseconds before the first retry when the server names no wait (doubles each retry).
    #[arg(
        long,
        global = true,
        value_name = "MS",
        env = "AKS_TRUSTEDACCESS_RETRY_DELAY_MS",
        default_value_t = 250,
        hide_env_values = true
    )]
    pub retry_delay_ms: u64,

    /// Seconds of waiting between retries of one request, at most.
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        env = "AKS_TRUSTEDACCESS_RETRY_BUDGET",
        default_value_t = 60
    )]
    pub retry_budget: u64,

    /// Seconds one HTTP request may take before it is abandoned (and retried).
    #[arg(long, global = true, value_name = "SECONDS", env = "AKS_TRUSTEDACCESS_REQUEST_TIMEOUT", default_value_t = 60, value_parser = positive_seconds)]
    pub request_timeout: u64,
}

/// Checks before a write, and the dry run.
#[derive(Debug, Args, Clone, Default)]
pub struct WriteChecks {
    /// Send the request without checking the roles against the cluster's location catalog
    /// (the catalog can differ per subscription).
    #[arg(long)]
    pub skip_validation: bool,

    /// Run the checks and print the request that would be sent (method, URL, body); send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// How long a write may wait for its long-running operation.
#[derive(Debug, Args, Clone, Default)]
pub struct WaitArgs {
    /// Return once ARM has accepted the request, without waiting for it to finish.
    #[arg(long)]
    pub no_wait: bool,

    /// Give up waiting for the operation after this many seconds (it keeps running in Azure).
    #[arg(long, value_name = "SECONDS", conflicts_with = "no_wait", value_parser = positive_seconds)]
    pub timeout: Option<u64>,
}

/// A whole number of seconds, at least 1 (clap's range parser would say `0 is not in
/// 1..18446744073709551615`).
fn positive_seconds(raw: &str) -> Result<u64, String> {
    match raw.trim().parse::<u64>() {
        Ok(0) => Err("must be at least 1 second".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{raw}' is not a whole number of seconds")),
    }
}
