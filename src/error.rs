//! The one error type of the CLI, how each error is shown on stderr, and the one exit-code table.

/// How a cut ARM error message ends (so it is not cut or repeated twice).
pub const TRUNCATED_MARK: &str = " characters more, not shown)";

use std::fmt::Write as _;

/// Exit codes, the contract with scripts (documented in the README and in `--help`).
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const NOT_FOUND: u8 = 3;
    pub const FINDINGS: u8 = 4;
    pub const INTERRUPTED: u8 = 130;
}

/// The exit-code table as help text (a macro so the top-level help can `concat!` it).
macro_rules! exit_code_help {
    () => {
        "Exit codes:
  0    success
  1    error (ARM error, sign-in failure, failed or cancelled operation)
  2    usage error or invalid input (refused before any request)
  3    not found (any HTTP 404; show/update of a missing binding)
  4    audit findings; a failed check (rolebinding check, token check);
       changes pending (plan)
  128+n  stopped by signal n: 130 Ctrl-C, 143 TERM, 129 HUP"
    };
}
pub(crate) use exit_code_help;

/// An error decoded from an ARM answer: the envelope `{"error":{…}}` or AKS's bare body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmError {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// `x-ms-request-id` from the server, else the `x-ms-client-request-id` we sent.
    pub request_id: Option<String>,
    pub correlation_id: Option<String>,
    /// `METHOD path` of the request that failed, for the error line.
    pub request: String,
    /// A diagnosis the client could make (e.g. why a token was refused).
    pub hint: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags or values, refused before any request.
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    #[error("({}) {}", .0.code, .0.message)]
    Arm(Box<ArmError>),
    #[error(
        "TrustedAccess RoleBinding {0} already existed, please use 'aks-trustedaccess rolebinding update' command to update!"
    )]
    BindingExists(String),
    #[error("Operation cancelled.")]
    Cancelled,
    #[error("{message}")]
    Auth {
        message: String,
        hint: Option<String>,
    },
    #[error("{message}")]
    Config {
        message: String,
        hint: Option<String>,
    },
    /// Something the user named is not there, found without an ARM 404 (a role missing from a
    /// location's catalog): exit 3, as a 404.
    #[error("{message}")]
    NotFound {
        message: String,
        hint: Option<String>,
    },
    /// The request never got an HTTP answer (DNS, refused, reset, TLS, timeout).
    #[error("{request} failed: {detail}")]
    Transport { request: String, detail: String },
    /// An answer we cannot use (malformed JSON, missing fields, an HTML page from a proxy).
    #[error("unexpected answer to {request}: {detail}")]
    UnexpectedResponse { request: String, detail: String },
    /// A long-running operation ended `Failed` or `Canceled`.
    #[error("({code}) {message}")]
    OperationFailed {
        status: String,
        code: String,
        message: String,
        check: Option<String>,
    },
    /// `--timeout` expired while the operation was still running in Azure.
    #[error("gave up waiting after {seconds} s; the operation is still running in Azure")]
    Timeout { seconds: u64, check: Option<String> },
    /// INT, TERM or HUP (`signal` is its number): exit 128 + signal.
    #[error("interrupted")]
    Interrupted { check: Option<String>, signal: i32 },
    #[error("{0}")]
    Io(String),
    /// `--query` failed while evaluating (a type error in a function): az's exit 1, its message
    /// and its recommendation line.
    #[error("{message}")]
    QueryFailed {
        message: String,
        recommendation: Option<&'static str>,
    },
    /// The reader of stdout went away (`| head`): stop quietly, exit 0.
    #[error("stdout closed")]
    OutputClosed,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: None,
        }
    }

    pub fn usage_with_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage { .. } => exit::USAGE,
            Error::Arm(e) if e.status == 404 => exit::NOT_FOUND,
            Error::NotFound { .. } => exit::NOT_FOUND,
            Error::Interrupted { signal, .. } => {
                u8::try_from(128 + signal).unwrap_or(exit::INTERRUPTED)
            }
            Error::OutputClosed => exit::OK,
            _ => exit::ERROR,
        }
    }

    /// The error in one line: its rendering's `ERROR:` line without the prefix (a row's,
    /// finding's or warning's reason).
    pub fn first_line(&self) -> String {
        self.render()
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("ERROR: ")
            .to_string()
    }

    /// What the user sees on stderr: az's `ERROR:` line first, then details and hints.
    pub fn render(&self) -> String {
        let mut out = String::new();
        match self {
            Error::Arm(e) => render_arm(&mut out, e),
            Error::OperationFailed {
                status,
                code,
                message,
                check,
            } => {
                let _ = writeln!(
                    out,
                    "ERROR: ({code}) {message}\nCode: {code}\nMessage: {message}"
                );
                let _ = writeln!(
                    out,
                    "The long-running operation ended with status {status}."
                );
                if let Some(check) = check {
                    let _ = writeln!(out, "hint: check the binding with: {check}");
                }
            }
            Error::Timeout { check, .. } => {
                let _ = writeln!(out, "ERROR: {self}");
                if let Some(check) = check {
                    let _ = writeln!(out, "hint: check it with: {check}");
                }
            }
            Error::Interrupted { check, .. } => match check {
                Some(check) => {
                    let _ = writeln!(
                        out,
                        "Interrupted: stopped waiting; the operation continues in Azure."
                    );
                    let _ = writeln!(out, "hint: check it with: {check}");
                }
                None => {
                    let _ = writeln!(out, "Interrupted.");
                }
            },
            Error::Usage { hint, .. }
            | Error::Auth { hint, .. }
            | Error::Config { hint, .. }
            | Error::NotFound { hint, .. } => {
                let _ = writeln!(out, "ERROR: {self}");
                if let Some(hint) = hint {
                    let _ = writeln!(out, "hint: {hint}");
                }
            }
            Error::QueryFailed {
                message,
                recommendation,
            } => {
                let _ = writeln!(out, "ERROR: {message}");
                if let Some(line) = recommendation {
                    let _ = writeln!(out, "{line}");
                }
            }
            // The summary on stderr already says it; nothing more to add.
            Error::OutputClosed => {}
            _ => {
                let _ = writeln!(out, "ERROR: {self}");
            }
        }
        out
    }
}

/// An ARM error as az shows it: `ERROR: (Code) message`, `Code:`, `Message:`, the ids, a hint.
fn render_arm(out: &mut String, e: &ArmError) {
    let _ = writeln!(out, "ERROR: ({}) {}", e.code, e.message);
    let _ = writeln!(out, "Code: {}", e.code);
    // A cut (huge) message is shown once, in the ERROR line.
    if !e.message.ends_with(TRUNCATED_MARK) {
        let _ = writeln!(out, "Message: {}", e.message);
    }
    if let Some(id) = &e.request_id {
        let _ = writeln!(out, "Request ID: {id}");
    }
    if let Some(id) = &e.correlation_id {
        let _ = writeln!(out, "Correlation ID: {id}");
    }
    if let Some(hint) = e.hint.clone().or_else(|| arm_hint(e)) {
        let _ = writeln!(out, "hint: {hint}");
    }
}

/// A next step for the ARM errors users hit most.
fn arm_hint(e: &ArmError) -> Option<String> {
    let code = e.code.to_ascii_lowercase();
    let hint = match code.as_str() {
        "invalidapiversionparameter" | "noregisteredproviderfound" => {
            "this cloud or region does not offer the api-version this tool uses; Trusted Access needs AKS api-version 2023-09-01 or later"
        }
        "authorizationfailed" => {
            "the signed-in identity lacks permission; reading bindings needs Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings/read, writing them needs .../write"
        }
        "expiredauthenticationtoken" => {
            "the access token has expired: run 'az login' again, or refresh AKS_TRUSTEDACCESS_ACCESS_TOKEN"
        }
        "invalidauthenticationtokenaudience" => {
            "the token was issued for another audience; request one for https://management.azure.com/"
        }
        "subscriptionnotfound" => {
            "check --subscription, AZURE_SUBSCRIPTION_ID or 'az account show'; the identity may not see this subscription"
        }
        "resourcegroupnotfound" => "check -g/--resource-group and the subscription",
        _ => return None,
    };
    Some(hint.to_string())
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(status: u16) -> Error {
        Error::Arm(Box::new(ArmError {
            status,
            code: "NotFound".into(),
            message: "gone".into(),
            request_id: Some("r-1".into()),
            correlation_id: None,
            request: "GET /x".into(),
            hint: None,
        }))
    }

    #[test]
    fn not_found_maps_to_exit_3_and_other_arm_errors_to_1() {
        assert_eq!(arm(404).exit_code(), exit::NOT_FOUND);
        assert_eq!(arm(400).exit_code(), exit::ERROR);
        assert_eq!(Error::usage("x").exit_code(), exit::USAGE);
        assert_eq!(
            Error::Interrupted {
                check: None,
                signal: 2
            }
            .exit_code(),
            exit::INTERRUPTED
        );
    }

    #[test]
    fn arm_error_renders_like_az_with_the_request_id() {
        assert_eq!(
            arm(404).render(),
            "ERROR: (NotFound) gone\nCode: NotFound\nMessage: gone\nRequest ID: r-1\n"
        );
    }
}

/// How a run that did its work ended: what the exit code says besides errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Done; nothing to report (exit 0).
    Success,
    /// The audit found failing clusters, or the doctor failed checks: the report says which
    /// (exit 4).
    Findings(usize),
    /// `plan` (or `apply --dry-run`) found changes to make: the plan says which (exit 4).
    Drift(usize),
    /// Some of the work could not be done (clusters or subscriptions unreadable, checks that
    /// could not be made): never exit 0. `Some(message)` is said on stderr as an error.
    Incomplete(Option<String>),
}

impl Status {
    pub fn exit_code(&self) -> u8 {
        match self {
            Status::Success => exit::OK,
            Status::Findings(_) | Status::Drift(_) => exit::FINDINGS,
            Status::Incomplete(_) => exit::ERROR,
        }
    }

    /// What stderr says besides the summary (the report and the summary say the rest).
    pub fn message(&self) -> Option<&str> {
        match self {
            Status::Incomplete(message) => message.as_deref(),
            _ => None,
        }
    }
}
