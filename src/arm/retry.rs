//! The retry decision, pure and unit-tested: from what one attempt produced, how many retries were
//! made and how long the request has taken, the next step (done, give up, or retry after a wait),
//! plus the bounds of every wait (Retry-After cap, poll interval, long-running operation deadline).

use reqwest::header::HeaderMap;
use std::time::{Duration, Instant, SystemTime};

/// A server's `Retry-After` is obeyed up to this; more is capped (and said under `--verbose`):
/// ARM asks for seconds, and a day-long wait is a broken or hostile server, not advice.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// With no `--timeout`, a long-running operation is waited for at most this long. Trusted Access
/// binding operations finish in seconds to minutes; after 30 minutes the tool stops waiting and
/// says the operation continues in Azure (with the command that checks it).
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Total time one request may spend retrying: attempts and waits, not only waits.
    pub budget: Duration,
    /// The first wait when the server names none; doubled per retry (capped at 8 s), jittered.
    pub first_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 10,
            budget: Duration::from_secs(60),
            first_delay: Duration::from_millis(250),
        }
    }
}

/// How a request that got no HTTP answer failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// Nothing listens there: asking again will not change it.
    Refused,
    /// The server's certificate was rejected: retrying cannot make it trusted.
    Certificate,
    /// The answer was larger than the client accepts: the same request gets the same answer.
    TooLarge,
    /// An https:// endpoint answered in plain HTTP: the same port gives the same answer.
    NotTls,
    /// Timed out, reset, dropped: worth another try.
    Transient,
}

/// What one attempt produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Answered {
        status: u16,
        /// The wait the server asked for, as sent (uncapped).
        retry_after: Option<Duration>,
    },
    Failed(TransportFailure),
}

/// Why the client stops retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// A failure that another attempt cannot fix.
    Permanent,
    /// `--max-retries` reached.
    Attempts,
    /// The next wait would end past `--retry-budget`.
    Budget,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Use this answer (success, or an error that retrying cannot change).
    Done,
    /// Retrying is over; report the last answer or failure.
    GiveUp(GiveUp),
    /// Wait, then try again. `capped_from` is the server's larger wait when it was capped.
    Retry {
        wait: Duration,
        capped_from: Option<Duration>,
    },
}

pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based) when the server names none: exponential,
    /// capped at 8 s, times `jitter` in [0.5, 1.5).
    pub fn backoff(&self, retry: u32, jitter: f64) -> Duration {
        let base = self
            .first_delay
            .saturating_mul(1 << retry.saturating_sub(1).min(16));
        base.min(Duration::from_secs(8))
            .mul_f64(jitter.clamp(0.5, 1.5))
    }

    /// The next step after an attempt: `retries` made so far, `elapsed` since the first attempt
    /// started (attempts included), `jitter` in [0.5, 1.5) from the caller's random source.
    pub fn next_step(
        &self,
        attempt: Attempt,
        retries: u32,
        elapsed: Duration,
        jitter: f64,
    ) -> Step {
        let server_wait = match attempt {
            Attempt::Answered { status, .. } if !is_retryable_status(status) => return Step::Done,
            Attempt::Answered { retry_after, .. } => retry_after,
            Attempt::Failed(TransportFailure::Transient) => None,
            Attempt::Failed(_) => return Step::GiveUp(GiveUp::Permanent),
        };
        if retries >= self.max_retries {
            return Step::GiveUp(GiveUp::Attempts);
        }
        let backoff = self.backoff(retries + 1, jitter);
        let (wait, capped_from) = match server_wait {
            // "Retry now" from a throttling server would be a busy loop: back off anyway.
            Some(w) if w.is_zero() => (backoff, None),
            Some(w) => cap_retry_after(w),
            None => (backoff, None),
        };
        if elapsed.saturating_add(wait) > self.budget {
            return Step::GiveUp(GiveUp::Budget);
        }
        Step::Retry { wait, capped_from }
    }
}

/// A server's wait, capped at [`MAX_RETRY_AFTER`]; the second value is the original when capped.
pub fn cap_retry_after(wait: Duration) -> (Duration, Option<Duration>) {
    if wait > MAX_RETRY_AFTER {
        (MAX_RETRY_AFTER, Some(wait))
    } else {
        (wait, None)
    }
}

/// When waiting for an operation must end: `--timeout`, else [`DEFAULT_OPERATION_TIMEOUT`].
/// A timeout too large for the clock (`--timeout 18446744073709551615`) means "as long as the
/// clock can count", never an overflow.
pub fn operation_deadline(now: Instant, timeout: Option<Duration>) -> Instant {
    let wanted = timeout.unwrap_or(DEFAULT_OPERATION_TIMEOUT);
    let mut step = wanted;
    loop {
        if let Some(deadline) = now.checked_add(step) {
            return deadline;
        }
        step /= 2;
    }
}

/// The wait a server asks for: `retry-after-ms`, `x-ms-retry-after-ms`, or `Retry-After` in
/// seconds or as an HTTP date. Uncapped: callers cap it and say so.
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
            return Some(Duration::from_secs_f64((ms / 1000.0).min(u32::MAX as f64)));
        }
    }
    let value = text("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(u32::MAX as f64)));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn answered(status: u16, retry_after: Option<Duration>) -> Attempt {
        Attempt::Answered {
            status,
            retry_after,
        }
    }

    #[test]
    fn success_and_client_errors_are_done() {
        let p = RetryPolicy::default();
        for status in [200, 201, 202, 204, 400, 401, 403, 404, 409, 412] {
            assert_eq!(
                p.next_step(answered(status, None), 0, S(0), 1.0),
                Step::Done
            );
        }
    }

    #[test]
    fn permanent_failures_are_not_retried() {
        let p = RetryPolicy::default();
        for failure in [
            TransportFailure::Refused,
            TransportFailure::Certificate,
            TransportFailure::TooLarge,
        ] {
            assert_eq!(
                p.next_step(Attempt::Failed(failure), 0, S(0), 1.0),
                Step::GiveUp(GiveUp::Permanent)
            );
        }
        assert!(matches!(
            p.next_step(Attempt::Failed(TransportFailure::Transient), 0, S(0), 1.0),
            Step::Retry { .. }
        ));
    }

    #[test]
    fn a_zero_retry_after_still_backs_off() {
        let p = RetryPolicy::default();
        let waits: Vec<Duration> = (0..4)
            .map(
                |retries| match p.next_step(answered(429, Some(S(0))), retries, S(0), 1.0) {
                    Step::Retry { wait, .. } => wait,
                    other => panic!("{other:?}"),
                },
            )
            .collect();
        assert_eq!(
            waits,
            [250, 500, 1000, 2000].map(Duration::from_millis).to_vec()
        );
    }

    #[test]
    fn a_huge_retry_after_is_capped_and_then_exceeds_the_budget() {
        let p = RetryPolicy {
            budget: S(300),
            ..RetryPolicy::default()
        };
        assert_eq!(
            p.next_step(answered(503, Some(S(999_999))), 0, S(0), 1.0),
            Step::Retry {
                wait: MAX_RETRY_AFTER,
                capped_from: Some(S(999_999))
            }
        );
        let p = RetryPolicy::default();
        assert_eq!(
            p.next_step(answered(503, Some(S(999_999))), 0, S(1), 1.0),
            Step::GiveUp(GiveUp::Budget)
        );
    }

    #[test]
    fn the_budget_counts_time_spent_in_attempts_not_only_waits() {
        let p = RetryPolicy {
            budget: S(10),
            ..RetryPolicy::default()
        };
        // Nine seconds of attempts that timed out, and no wait yet: a 1 s backoff still fits...
        assert!(matches!(
            p.next_step(Attempt::Failed(TransportFailure::Transient), 2, S(8), 1.0),
            Step::Retry { .. }
        ));
        // ... but not after ten.
        assert_eq!(
            p.next_step(Attempt::Failed(TransportFailure::Transient), 2, S(10), 1.0),
            Step::GiveUp(GiveUp::Budget)
        );
    }

    #[test]
    fn attempts_are_bounded() {
        let p = RetryPolicy {
            max_retries: 2,
            ..RetryPolicy::default()
        };
        assert!(matches!(
            p.next_step(answered(500, None), 1, S(0), 1.0),
            Step::Retry { .. }
        ));
        assert_eq!(
            p.next_step(answered(500, None), 2, S(0), 1.0),
            Step::GiveUp(GiveUp::Attempts)
        );
    }

    #[test]
    fn backoff_is_jittered_and_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1, 0.5), Duration::from_millis(125));
        assert_eq!(p.backoff(40, 1.0), S(8));
        assert_eq!(p.backoff(40, 9.0), S(12), "jitter is clamped");
    }

    #[test]
    fn operation_deadlines_never_overflow() {
        let now = Instant::now();
        assert_eq!(
            operation_deadline(now, None),
            now + DEFAULT_OPERATION_TIMEOUT
        );
        assert_eq!(operation_deadline(now, Some(S(5))), now + S(5));
        let far = operation_deadline(now, Some(S(u64::MAX)));
        assert!(far > now + S(365 * 24 * 3600));
    }

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
    fn retry_after_reads_every_spelling() {
        assert_eq!(retry_after(&headers(&[("Retry-After", "3")])), Some(S(3)));
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
        assert_eq!(
            retry_after(&headers(&[("Retry-After", "1e300")])),
            Some(S(u32::MAX as u64)),
            "absurd values do not panic"
        );
    }
}
