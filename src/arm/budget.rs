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

/// Per subscription: the instant before which no further request should start.
#[derive(Debug, Default)]
pub struct ReadBudget {
    pause_until: Mutex<HashMap<String, Instant>>,
}

impl ReadBudget {
    /// Waits while the subscription's budget is recovering. Waiting requests are let go one
    /// refill interval apart, at the rate ARM refills, not all at once when a pause ends: a
    /// burst would spend the refilled reads at once and run into 429s and their Retry-After.
    pub async fn wait(&self, subscription: Option<&str>) {
        let Some(subscription) = subscription else {
            return;
        };
        if let Some(slot) = self.reserve(subscription, Instant::now()) {
            tokio::time::sleep_until(slot.into()).await;
        }
    }

    /// The instant this request may start, if the subscription is paused, and the next slot
    /// taken: one request per refill interval while the pause lasts.
    fn reserve(&self, subscription: &str, now: Instant) -> Option<Instant> {
        let mut paused = self.pause_until.lock().ok()?;
        let next = paused.get_mut(subscription)?;
        if *next <= now {
            return None;
        }
        let slot = *next;
        *next = slot + READ_REFILL_INTERVAL;
        Some(slot)
    }

    /// Reads the remaining-reads header of an answer; a low budget pauses the subscription for
    /// as long as ARM needs to refill it back to the threshold (never shortening a pause or
    /// giving back slots already handed out).
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
                let until = Instant::now() + pause;
                let next = p.entry(subscription.to_string()).or_insert(until);
                *next = (*next).max(until);
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
        // Waiting requests go one refill interval apart, not all at once when the pause ends.
        let now = Instant::now();
        let slots: Vec<Instant> = (0..3).filter_map(|_| budget.reserve("a", now)).collect();
        assert_eq!(slots.len(), 3);
        assert_eq!(slots[1] - slots[0], READ_REFILL_INTERVAL);
        assert_eq!(slots[2] - slots[1], READ_REFILL_INTERVAL);
        assert_eq!(budget.reserve("b", now), None);
        // A later low reading never pulls the slots handed out earlier.
        budget.note(Some("a"), &headers, &Diagnostics::default());
        assert!(budget.reserve("a", now).unwrap() >= slots[2] + READ_REFILL_INTERVAL);
        // Once the pause is over, nothing waits.
        assert_eq!(budget.reserve("a", now + Duration::from_secs(10)), None);
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
