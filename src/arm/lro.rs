//! Long-running operations: which URL to poll, how long to wait between polls, what a poll
//! answer means (pure functions plus a backoff), and the client's polling loop.

use crate::arm::client::{ArmClient, ArmResponse};
use crate::arm::error::ErrorDetail;
use crate::arm::retry::{self, retry_after};
use crate::error::{Error, Result};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use std::time::Duration;
use std::time::Instant;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollTarget {
    /// `Azure-AsyncOperation`: answers 200 `{status, error?}`.
    AsyncOperation(String),
    /// `Location`: answers 202 while running, then the final response.
    Location(String),
}

/// `Azure-AsyncOperation` wins over `Location`, as ARM's rules say.
pub fn poll_target(headers: &HeaderMap) -> Option<PollTarget> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    get("azure-asyncoperation")
        .map(PollTarget::AsyncOperation)
        .or_else(|| get("location").map(PollTarget::Location))
}

/// The waits used when the server names none: 0.25 s, 0.5 s, then every second (well inside
/// ARM's read budget), never az's fixed 30 s.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            next: Duration::from_millis(250),
            max: Duration::from_secs(1),
        }
    }
}

impl Iterator for Backoff {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        let current = self.next;
        self.next = (self.next * 2).min(self.max);
        Some(current)
    }
}

#[derive(Debug, Deserialize)]
struct StatusBody {
    status: Option<String>,
    #[serde(default)]
    error: Option<ErrorDetail>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationState {
    Running,
    Succeeded,
    /// `Failed` or `Canceled`, with the operation's error code and message.
    Ended {
        status: String,
        code: String,
        message: String,
    },
}

/// Reads an `Azure-AsyncOperation` answer. The status decides: `Succeeded` with an `error`
/// object is success (the real service sends that); unknown statuses mean still running.
pub fn interpret_status(body: &[u8]) -> Result<OperationState, String> {
    let parsed: StatusBody =
        serde_json::from_slice(body).map_err(|e| format!("not an operation status: {e}"))?;
    let status = parsed
        .status
        .ok_or("the operation status has no 'status' field")?;
    Ok(match status.to_ascii_lowercase().as_str() {
        "succeeded" => OperationState::Succeeded,
        "failed" | "canceled" | "cancelled" => {
            let error = parsed.error.unwrap_or_default();
            OperationState::Ended {
                code: error
                    .code
                    .filter(|c| !c.is_empty())
                    .unwrap_or_else(|| status.clone()),
                message: crate::arm::error::cap_message(
                    error
                        .message
                        .unwrap_or_else(|| format!("The operation ended with status {status}.")),
                ),
                status,
            }
        }
        _ => OperationState::Running,
    })
}

impl ArmClient {
    /// Waits for the long-running operation `accepted` started: polls `Azure-AsyncOperation`
    /// (else `Location`) until it ends, waiting what the server asks (capped) or a short backoff.
    /// The whole wait, polls and their retries included, ends at `--timeout`, else after
    /// [`retry::DEFAULT_OPERATION_TIMEOUT`]. `check` is the command that shows the resource.
    pub async fn wait_for_operation(
        &self,
        accepted: &ArmResponse,
        timeout: Option<Duration>,
        check: &str,
    ) -> Result<()> {
        let deadline = retry::operation_deadline(Instant::now(), timeout);
        let timed_out = || Error::Timeout {
            seconds: timeout
                .unwrap_or(retry::DEFAULT_OPERATION_TIMEOUT)
                .as_secs(),
            check: Some(check.to_string()),
        };
        let Some(mut target) = poll_target(&accepted.headers) else {
            // No operation to follow: the write finished synchronously.
            return Ok(());
        };
        let mut backoff = Backoff::default();
        let mut wait = self.poll_wait(&accepted.headers, &mut backoff);
        loop {
            let now = Instant::now();
            if now + wait > deadline {
                tokio::time::sleep_until(deadline.into()).await;
                return Err(timed_out());
            }
            tokio::time::sleep(wait).await;
            let link = match &target {
                PollTarget::AsyncOperation(l) | PollTarget::Location(l) => l.clone(),
            };
            let url = self.server_link(&link, &accepted.request)?;
            let resp =
                tokio::time::timeout_at(deadline.into(), self.execute(Method::GET, url, None))
                    .await
                    .map_err(|_| timed_out())??;
            if !(200..300).contains(&resp.status) {
                return Err(self.error_of(&resp));
            }
            let done = match &target {
                PollTarget::AsyncOperation(_) => operation_done(&resp, check)?,
                PollTarget::Location(_) => {
                    if let Some(PollTarget::Location(next)) = poll_target(&resp.headers) {
                        target = PollTarget::Location(next);
                    }
                    resp.status != 202
                }
            };
            if done {
                return Ok(());
            }
            wait = self.poll_wait(&resp.headers, &mut backoff);
        }
    }

    /// The wait before the next poll: the server's (capped, and said under `--verbose`) or the
    /// next backoff step.
    fn poll_wait(&self, headers: &HeaderMap, backoff: &mut Backoff) -> Duration {
        match retry_after(headers) {
            Some(asked) => {
                let (wait, capped_from) = retry::cap_retry_after(asked);
                if capped_from.is_some() {
                    self.diagnostics().verbose(&format!(
                        "the server asked to wait {} s before the next poll; waiting at most {} s",
                        asked.as_secs(),
                        wait.as_secs()
                    ));
                }
                wait
            }
            None => backoff.next().unwrap_or_default(),
        }
    }
}

/// Whether an `Azure-AsyncOperation` answer ends the wait (`Failed`/`Canceled` are errors).
fn operation_done(resp: &ArmResponse, check: &str) -> Result<bool> {
    let state = interpret_status(&resp.body).map_err(|detail| Error::UnexpectedResponse {
        request: resp.request.clone(),
        detail,
    })?;
    match state {
        OperationState::Running => Ok(false),
        OperationState::Succeeded => Ok(true),
        OperationState::Ended {
            status,
            code,
            message,
        } => Err(Error::OperationFailed {
            status,
            code,
            message,
            check: Some(check.to_string()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn async_operation_wins_over_location() {
        let h = headers(&[
            ("Location", "https://l"),
            ("Azure-AsyncOperation", "https://a"),
        ]);
        assert_eq!(
            poll_target(&h),
            Some(PollTarget::AsyncOperation("https://a".into()))
        );
        let h = headers(&[("location", "https://l")]);
        assert_eq!(
            poll_target(&h),
            Some(PollTarget::Location("https://l".into()))
        );
        assert_eq!(poll_target(&HeaderMap::new()), None);
    }

    #[test]
    fn backoff_is_short_and_capped() {
        let waits: Vec<u64> = Backoff::default()
            .take(6)
            .map(|d| d.as_millis() as u64)
            .collect();
        assert_eq!(waits, [250, 500, 1000, 1000, 1000, 1000]);
    }

    #[test]
    fn status_decides_the_outcome() {
        assert_eq!(
            interpret_status(br#"{"status":"InProgress"}"#),
            Ok(OperationState::Running)
        );
        assert_eq!(
            interpret_status(br#"{"status":"SomethingNew"}"#),
            Ok(OperationState::Running)
        );
        assert_eq!(
            interpret_status(
                br#"{"status":"Succeeded","error":{"code":"NotLatestOperation","message":"x"}}"#
            ),
            Ok(OperationState::Succeeded)
        );
        assert_eq!(
            interpret_status(
                br#"{"status":"Failed","error":{"code":"BadRole","message":"no such role"}}"#
            ),
            Ok(OperationState::Ended {
                status: "Failed".into(),
                code: "BadRole".into(),
                message: "no such role".into()
            })
        );
        let Ok(OperationState::Ended { code, .. }) = interpret_status(br#"{"status":"Canceled"}"#)
        else {
            panic!("Canceled is terminal");
        };
        assert_eq!(code, "Canceled");
        assert!(interpret_status(b"{}").is_err());
        assert!(interpret_status(b"<html>").is_err());
    }
}
