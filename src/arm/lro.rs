//! Long-running operations: which URL to poll, how long to wait between polls, what a poll
//! answer means (pure functions plus a backoff), and the client's polling loop.

use crate::arm::client::{ArmClient, ArmResponse};
use crate::arm::error::ErrorDetail;
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

/// The wait a server asks for: `retry-after-ms`, `x-ms-retry-after-ms`, or `Retry-After` in
/// seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = text(name)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
        {
            return Some(Duration::from_millis(ms as u64));
        }
    }
    let value = text("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_millis((seconds * 1000.0) as u64));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
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
                message: error
                    .message
                    .unwrap_or_else(|| format!("The operation ended with status {status}.")),
                status,
            }
        }
        _ => OperationState::Running,
    })
}

impl ArmClient {
    /// Waits for the long-running operation `accepted` started: polls `Azure-AsyncOperation`
    /// (else `Location`) until it ends, waiting what the server asks or a short backoff.
    /// `check` is the command that shows the resource, for timeout and failure messages.
    pub async fn wait_for_operation(
        &self,
        accepted: &ArmResponse,
        timeout: Option<Duration>,
        check: &str,
    ) -> Result<()> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let Some(mut target) = poll_target(&accepted.headers) else {
            // No operation to follow: the write finished synchronously.
            return Ok(());
        };
        let mut backoff = Backoff::default();
        let mut wait =
            retry_after(&accepted.headers).unwrap_or_else(|| backoff.next().unwrap_or_default());
        loop {
            if let Some(deadline) = deadline {
                let now = Instant::now();
                if now + wait > deadline {
                    tokio::time::sleep(deadline.saturating_duration_since(now)).await;
                    return Err(Error::Timeout {
                        seconds: timeout.unwrap_or_default().as_secs(),
                        check: Some(check.to_string()),
                    });
                }
            }
            tokio::time::sleep(wait).await;
            let link = match &target {
                PollTarget::AsyncOperation(l) | PollTarget::Location(l) => l.clone(),
            };
            let url = self.server_link(&link, &accepted.request)?;
            let resp = self.execute(Method::GET, url, None).await?;
            if !(200..300).contains(&resp.status) {
                return Err(self.error_of(&resp));
            }
            let done = match &target {
                PollTarget::AsyncOperation(_) => {
                    match interpret_status(&resp.body).map_err(|detail| {
                        Error::UnexpectedResponse {
                            request: resp.request.clone(),
                            detail,
                        }
                    })? {
                        OperationState::Running => false,
                        OperationState::Succeeded => true,
                        OperationState::Ended {
                            status,
                            code,
                            message,
                        } => {
                            return Err(Error::OperationFailed {
                                status,
                                code,
                                message,
                                check: Some(check.to_string()),
                            });
                        }
                    }
                }
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
            wait = retry_after(&resp.headers).unwrap_or_else(|| backoff.next().unwrap_or_default());
        }
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
    fn retry_after_reads_every_spelling() {
        assert_eq!(
            retry_after(&headers(&[("Retry-After", "3")])),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after-ms", "250")])),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            retry_after(&headers(&[
                ("x-ms-retry-after-ms", "10"),
                ("Retry-After", "9")
            ])),
            Some(Duration::from_millis(10))
        );
        assert_eq!(
            retry_after(&headers(&[(
                "Retry-After",
                "Wed, 21 Oct 2015 07:28:00 GMT"
            )])),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers(&[("Retry-After", "soon")])), None);
        assert_eq!(retry_after(&headers(&[("Retry-After", "-1")])), None);
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
