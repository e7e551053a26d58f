//! ARM's per-subscription read budget: when `x-ms-ratelimit-remaining-subscription-reads` runs
//! low, the client pauses that subscription's requests instead of running into 429s.

use crate::diagnostics::Diagnostics;
use reqwest::header::HeaderMap;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use url::Url;

/// Below this many remaining reads, slow down instead of running into 429s.
const LOW_READ_BUDGET: u64 = 10;
/// ARM refills 25 reads per second per subscription: one every 40 ms.
const READ_REFILL_INTERVAL: Duration = Duration::from_millis(40);

/// The subscription a request counts against (`/subscriptions/{id}/…`).
pub fn subscription_of(url: &Url) -> Option<String> {
    let mut segments = url.path_segments()?;
    let first = segments.next()?;
    first
        .eq_ignore_ascii_case("subscriptions")
        .then(|| segments.next().map(str::to_ascii_lowercase))
        .flatten()
}

/// Per subscription: the instant before which no request should start.
#[derive(Debug, Default)]
pub struct ReadBudget {
    pause_until: Mutex<HashMap<String, Instant>>,
}

impl ReadBudget {
    /// Waits while the subscription's budget is recovering.
    pub async fn wait(&self, subscription: Option<&str>) {
        let Some(subscription) = subscription else {
            return;
        };
        let until = self
            .pause_until
            .lock()
            .ok()
            .and_then(|p| p.get(subscription).copied());
        if let Some(until) = until.filter(|u| *u > Instant::now()) {
            tokio::time::sleep_until(until.into()).await;
        }
    }

    /// Reads the remaining-reads header of an answer; a low budget pauses the subscription for
    /// as long as ARM needs to refill it back to the threshold.
    pub fn note(&self, subscription: Option<&str>, headers: &HeaderMap, diagnostics: &Diagnostics) {
        let (Some(subscription), Some(remaining)) = (
            subscription,
            headers
                .get("x-ms-ratelimit-remaining-subscription-reads")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok()),
        ) else {
            return;
        };
        if remaining < LOW_READ_BUDGET {
            let pause = READ_REFILL_INTERVAL * (LOW_READ_BUDGET - remaining) as u32;
            diagnostics.verbose(&format!(
                "{remaining} reads left in subscription {subscription}'s budget; pausing {} ms",
                pause.as_millis()
            ));
            if let Ok(mut p) = self.pause_until.lock() {
                p.insert(subscription.to_string(), Instant::now() + pause);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn a_low_budget_pauses_only_its_subscription() {
        let budget = ReadBudget::default();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-ms-ratelimit-remaining-subscription-reads",
            HeaderValue::from_static("4"),
        );
        budget.note(Some("a"), &headers, &Diagnostics::default());
        let until = budget
            .pause_until
            .lock()
            .unwrap()
            .get("a")
            .copied()
            .unwrap();
        let pause = until.saturating_duration_since(Instant::now());
        assert!(
            pause > Duration::from_millis(200) && pause <= Duration::from_millis(240),
            "{pause:?}"
        );
        assert!(budget.pause_until.lock().unwrap().get("b").is_none());
        assert_eq!(
            subscription_of(&Url::parse("https://h/SUBSCRIPTIONS/AbC/x").unwrap()).as_deref(),
            Some("abc")
        );
        assert_eq!(
            subscription_of(&Url::parse("https://h/tenants").unwrap()),
            None
        );
    }
}
