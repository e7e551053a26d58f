//! ARM's request budget, per subscription: token buckets for reads (250, refilled at 25/s) and
//! writes (200, 10/s) by default. An empty bucket answers 429 with `Retry-After`; every answer
//! carries `x-ms-ratelimit-remaining-subscription-reads|writes`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Bucket size; 0 turns the limit off.
    pub capacity: f64,
    /// Tokens added per second.
    pub refill_per_second: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub reads: Budget,
    pub writes: Budget,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            reads: Budget {
                capacity: 250.0,
                refill_per_second: 25.0,
            },
            writes: Budget {
                capacity: 200.0,
                refill_per_second: 10.0,
            },
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// What one request's charge came to.
pub struct Charge {
    /// `x-ms-ratelimit-remaining-subscription-reads` or `-writes`, and its value.
    pub header: (&'static str, u64),
    /// `Some(seconds)` when the request must be refused with 429.
    pub retry_after: Option<u64>,
}

#[derive(Default)]
pub struct RateLimiter {
    limits: Option<Limits>,
    buckets: Mutex<HashMap<(String, bool), Bucket>>,
}

impl RateLimiter {
    pub fn new(limits: Limits) -> Self {
        RateLimiter {
            limits: Some(limits),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from the subscription's read or write bucket.
    pub fn charge(&self, subscription: &str, write: bool) -> Option<Charge> {
        let limits = self.limits?;
        let budget = if write { limits.writes } else { limits.reads };
        if budget.capacity <= 0.0 {
            return None;
        }
        let name = if write {
            "x-ms-ratelimit-remaining-subscription-writes"
        } else {
            "x-ms-ratelimit-remaining-subscription-reads"
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let bucket = buckets
            .entry((subscription.to_ascii_lowercase(), write))
            .or_insert(Bucket {
                tokens: budget.capacity,
                at: now,
            });
        bucket.tokens = (bucket.tokens
            + now.duration_since(bucket.at).as_secs_f64() * budget.refill_per_second)
            .min(budget.capacity);
        bucket.at = now;
        if bucket.tokens < 1.0 {
            let wait = ((1.0 - bucket.tokens) / budget.refill_per_second.max(0.001)).ceil() as u64;
            return Some(Charge {
                header: (name, 0),
                retry_after: Some(wait.max(1)),
            });
        }
        bucket.tokens -= 1.0;
        Some(Charge {
            header: (name, bucket.tokens.floor() as u64),
            retry_after: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drained_bucket_answers_429_with_a_wait() {
        let limiter = RateLimiter::new(Limits {
            reads: Budget {
                capacity: 3.0,
                refill_per_second: 0.5,
            },
            writes: Budget {
                capacity: 0.0,
                refill_per_second: 0.0,
            },
        });
        let remaining: Vec<u64> = (0..3)
            .map(|_| limiter.charge("s", false).unwrap().header.1)
            .collect();
        assert_eq!(remaining, [2, 1, 0]);
        let refused = limiter.charge("s", false).unwrap();
        assert_eq!(refused.retry_after, Some(2));
        assert!(
            limiter
                .charge("other", false)
                .unwrap()
                .retry_after
                .is_none(),
            "buckets are per subscription"
        );
        assert!(
            limiter.charge("s", true).is_none(),
            "a zero budget is no limit"
        );
    }
}
