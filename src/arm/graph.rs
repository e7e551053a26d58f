//! Azure Resource Graph through the one ARM request path: `POST /providers/Microsoft.ResourceGraph/
//! resources` (api-version 2024-04-01), 1,000-row pages followed with `$skipToken`, subscriptions
//! sent in groups as Microsoft recommends, and the per-user quota read from
//! `x-ms-user-quota-remaining` / `-resets-after`: when it runs out, the next query waits for the
//! reset instead of failing.

use crate::arm::client::ArmClient;
use crate::diagnostics::Diagnostics;
use crate::error::{Error, Result};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

pub const GRAPH_API_VERSION: &str = "2024-04-01";
pub const GRAPH_PATH: &str = "/providers/Microsoft.ResourceGraph/resources";
/// Rows per page: Resource Graph's maximum.
pub const PAGE_ROWS: u64 = 1000;
/// Subscriptions per query: "a few hundred", well under the 1,000 a request may name.
pub const SUBSCRIPTION_GROUP: usize = 300;
/// Queries per quota window a yielding query leaves to the others: the audit's source checks
/// (one per chunk in flight) and discovery's next page, which the rows wait on.
const RESERVE: u64 = 5;
/// 429s answered in a row before giving up.
const MAX_THROTTLED: u32 = 5;

/// Where a query looks.
#[derive(Debug, Clone)]
pub enum GraphScope {
    Subscriptions(Vec<String>),
    ManagementGroups(Vec<String>),
}

impl GraphScope {
    /// The management groups when there are some, else the subscriptions.
    pub fn over(groups: &[String], subscriptions: impl Iterator<Item = String>) -> Self {
        match groups.is_empty() {
            true => GraphScope::Subscriptions(subscriptions.collect()),
            false => GraphScope::ManagementGroups(groups.to_vec()),
        }
    }
}

/// The most pages one query follows (100,000 rows): a server that always sends a fresh
/// `$skipToken` ends here with an error instead of running for ever (as ARM's pager does).
pub const MAX_PAGES: usize = 100;
/// The most answer bytes one query reads, all pages together (about 60,000 clusters' rows):
/// past it the query stops with an error, whatever the rows' consumer keeps.
pub const MAX_QUERY_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Deserialize)]
struct Page {
    /// Required: an answer without it (`{}`) is not an empty result.
    data: Vec<Value>,
    #[serde(rename = "$skipToken")]
    skip_token: Option<String>,
    /// `"true"` (or `true`) when rows were left out; then a `$skipToken` must say where to go on.
    #[serde(rename = "resultTruncated", default)]
    truncated: Option<Value>,
}

/// One answer page: its rows, and the token of the next page (`None` when it is the last).
/// A page without `data`, or one that says rows were left out but gives no token to read them
/// with, is an error: taking either as the end would silently leave clusters unread.
fn parse_page(body: &[u8]) -> std::result::Result<(Vec<Value>, Option<String>), String> {
    let page: Page =
        serde_json::from_slice(body).map_err(|e| format!("not a Resource Graph answer ({e})"))?;
    let token = page.skip_token.filter(|t| !t.is_empty());
    let truncated = match &page.truncated {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    if truncated && token.is_none() {
        return Err(
            "the answer says rows were left out (resultTruncated) but gives no $skipToken to read them with"
                .into(),
        );
    }
    Ok((page.data, token))
}

/// Rows handed on that their consumer has not taken yet. A paged query paced by it waits
/// before asking for another page while the backlog is at its limit (backpressure: discovery
/// does not hold a whole tenant's clusters ahead of the audit that reads them).
pub struct Backlog {
    pending: AtomicUsize,
    limit: usize,
    taken: Notify,
}

impl Backlog {
    pub fn new(limit: usize) -> Self {
        Backlog {
            pending: AtomicUsize::new(0),
            limit,
            taken: Notify::new(),
        }
    }

    /// `n` more rows handed on.
    pub fn add(&self, n: usize) {
        self.pending.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` rows taken by the consumer.
    pub fn take(&self, n: usize) {
        self.pending.fetch_sub(n, Ordering::Relaxed);
        self.taken.notify_waiters();
    }

    /// Waits until the backlog is under its limit.
    pub async fn room(&self) {
        loop {
            let taken = self.taken.notified();
            let mut taken = std::pin::pin!(taken);
            taken.as_mut().enable();
            if self.pending.load(Ordering::Relaxed) < self.limit {
                return;
            }
            taken.await;
        }
    }
}

/// What a paged query waits on before asking for each page (backpressure).
pub trait Pace: Sync {
    /// Resolves when the next page may be asked for.
    fn room(&self) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>>;

    /// Whether the consumer is waiting on the next page now (a yielding query then takes the
    /// quota's reserve too).
    fn starved(&self) -> bool {
        false
    }
}

impl Pace for Backlog {
    fn room(&self) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(Backlog::room(self))
    }

    /// Less than a tenth of its limit is left to take.
    fn starved(&self) -> bool {
        self.pending.load(Ordering::Relaxed) < self.limit / 10
    }
}

pub struct Graph<'a> {
    client: &'a ArmClient,
    diagnostics: Diagnostics,
    /// Waited on before each page, when set.
    pace: Option<&'a dyn Pace>,
    /// Leaves the last `RESERVE` queries of each quota window to other queries.
    yields: bool,
}

impl<'a> Graph<'a> {
    pub fn new(client: &'a ArmClient, diagnostics: Diagnostics) -> Self {
        Graph {
            client,
            diagnostics,
            pace: None,
            yields: false,
        }
    }

    /// Asks for each page only when `pace` has room.
    pub fn paced(mut self, pace: &'a dyn Pace) -> Self {
        self.pace = Some(pace);
        self
    }

    /// Sends no query while the quota left is down to `RESERVE`: a query that can wait (the
    /// service tables, which run ahead of the rows) leaves the rest of the window to those the
    /// rows wait on now.
    pub fn yielding(mut self) -> Self {
        self.yields = true;
        self
    }

    /// Runs `query` over the scope, handing each page's rows to `rows` in order. Subscriptions
    /// are sent in groups of `SUBSCRIPTION_GROUP`.
    pub async fn query(
        &self,
        scope: &GraphScope,
        query: &str,
        rows: &mut (dyn FnMut(Vec<Value>) + Send),
    ) -> Result<()> {
        match scope {
            GraphScope::Subscriptions(subs) => {
                for group in subs.chunks(SUBSCRIPTION_GROUP) {
                    self.pages(json!({"subscriptions": group}), query, rows)
                        .await?;
                }
                Ok(())
            }
            GraphScope::ManagementGroups(groups) => {
                self.pages(json!({"managementGroups": groups}), query, rows)
                    .await
            }
        }
    }

    async fn pages(
        &self,
        mut body: Value,
        query: &str,
        rows: &mut (dyn FnMut(Vec<Value>) + Send),
    ) -> Result<()> {
        body["query"] = json!(query);
        body["options"] = json!({"$top": PAGE_ROWS, "resultFormat": "objectArray"});
        let mut tokens = std::collections::HashSet::new();
        let mut bytes = 0usize;
        for page in 1.. {
            if let Some(pace) = self.pace {
                pace.room().await;
            }
            let resp = self.send(&body).await?;
            bytes += resp.body.len();
            let refused = |detail: String| Error::UnexpectedResponse {
                request: format!("{} (Resource Graph, page {page})", resp.request),
                detail,
            };
            if page > MAX_PAGES || bytes > MAX_QUERY_BYTES {
                return Err(refused(format!(
                    "the answer goes on past {MAX_PAGES} pages or {} MiB; stopping (no real fleet's query is that long)",
                    MAX_QUERY_BYTES / (1024 * 1024)
                )));
            }
            let (data, token) = parse_page(&resp.body).map_err(refused)?;
            rows(data);
            let Some(token) = token else { return Ok(()) };
            if !tokens.insert(token.clone()) {
                return Err(refused(
                    "the $skipToken repeats an earlier one; stopping to avoid a loop".into(),
                ));
            }
            body["options"]["$skipToken"] = json!(token);
        }
        Ok(())
    }

    /// One request, after any quota wait; a 429 waits for the reset it names and tries again.
    /// Every wait counts against `--retry-budget`, with the client's own retries: a wait that
    /// would end past it is not made (the query fails, saying why).
    async fn send(&self, body: &Value) -> Result<crate::arm::client::ArmResponse> {
        let started = Instant::now();
        let budget = self.client.retry_budget();
        let mut throttled = 0;
        loop {
            // Leaving the reserve is a courtesy: a wait past `--retry-budget` is skipped, not
            // turned into a failure.
            let reserved = self.client.graph_quota().reserved_until();
            if self.yields
                && !self.pace.is_some_and(|p| p.starved())
                && reserved.is_some_and(|until| until <= started + budget)
            {
                self.wait_until(reserved, started, budget).await?;
            }
            self.wait_until(self.client.graph_quota().not_before(), started, budget)
                .await?;
            let url = self.client.url(GRAPH_PATH, GRAPH_API_VERSION);
            let resp = self
                .client
                .execute_since(Method::POST, url, Some(body), &[], started)
                .await?;
            let (remaining, resets) = quota(&resp.headers);
            if remaining == Some(0) || resp.status == 429 {
                let wait = resets.unwrap_or(Duration::from_secs(5));
                self.client
                    .graph_quota()
                    .set_not_before(Instant::now() + wait);
            }
            let reserved = remaining.is_some_and(|r| r <= RESERVE) || resp.status == 429;
            self.client.graph_quota().set_reserved_until(
                reserved.then(|| Instant::now() + resets.unwrap_or(Duration::from_secs(5))),
            );
            match resp.status {
                200..=299 => return Ok(resp),
                429 if throttled < MAX_THROTTLED && self.fits(started, budget).await => {
                    throttled += 1
                }
                _ => return Err(self.client.error_of(&resp)),
            }
        }
    }

    /// Whether the pending quota wait ends within the budget of the request started at `started`.
    async fn fits(&self, started: Instant, budget: Duration) -> bool {
        let until = self.client.graph_quota().not_before();
        until.is_none_or(|until| until <= started + budget)
    }

    /// Waits for the quota to reset, if it ran out; an error when the reset would come after
    /// `--retry-budget` (a broken or hostile server, or a quota no run should sit out). Waits of
    /// more than a few seconds are said on stderr, not only under `--verbose`.
    async fn wait_until(
        &self,
        until: Option<Instant>,
        started: Instant,
        budget: Duration,
    ) -> Result<()> {
        // Read, not taken: every query of the client waits for the same reset.
        let Some(until) = until else {
            return Ok(());
        };
        let wait = until.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            return Ok(());
        }
        if until > started + budget {
            return Err(Error::UnexpectedResponse {
                request: format!("POST {GRAPH_PATH}"),
                detail: format!(
                    "Resource Graph's quota is used up and resets in {} s, past --retry-budget ({} s); not waiting",
                    wait.as_secs(),
                    budget.as_secs()
                ),
            });
        }
        let message = format!(
            "Resource Graph quota used up: waiting {} ms for it to reset",
            wait.as_millis()
        );
        if wait > NOTABLE_WAIT {
            self.diagnostics.warn(&message);
        } else {
            self.diagnostics.verbose(&message);
        }
        tokio::time::sleep(wait).await;
        Ok(())
    }
}

/// A quota wait longer than this is said on stderr (Resource Graph's windows are 5 s).
const NOTABLE_WAIT: Duration = Duration::from_secs(5);

/// `x-ms-user-quota-remaining` and `x-ms-user-quota-resets-after` (`hh:mm:ss`).
fn quota(headers: &reqwest::header::HeaderMap) -> (Option<u64>, Option<Duration>) {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let remaining = text("x-ms-user-quota-remaining").and_then(|v| v.trim().parse().ok());
    let resets = text("x-ms-user-quota-resets-after").and_then(parse_hms);
    (remaining, resets)
}

/// `hh:mm:ss` (seconds may have a fraction), capped at five minutes.
pub fn parse_hms(text: &str) -> Option<Duration> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    let [h, m, s] = parts[..] else { return None };
    let seconds =
        h.parse::<f64>().ok()? * 3600.0 + m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(300.0)))
}

/// Whether an error means Resource Graph refuses this caller (no access, not registered), so an
/// `auto` discovery falls back to ARM.
pub fn is_refusal(e: &Error) -> bool {
    match e {
        Error::Arm(e) => {
            matches!(e.status, 401 | 403)
                || e.code
                    .eq_ignore_ascii_case("MissingSubscriptionRegistration")
                || e.code.eq_ignore_ascii_case("NoRegisteredProviderFound")
                || e.code.eq_ignore_ascii_case("InvalidResourceType")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_need_data_and_a_token_when_truncated() {
        assert!(parse_page(b"{}").is_err());
        assert!(parse_page(br#"{"data":[],"resultTruncated":"true"}"#).is_err());
        assert!(parse_page(br#"{"data":[],"resultTruncated":true,"$skipToken":""}"#).is_err());
        let (rows, token) =
            parse_page(br#"{"data":[{}],"resultTruncated":"true","$skipToken":"t"}"#).unwrap();
        assert_eq!((rows.len(), token.as_deref()), (1, Some("t")));
        let (_, token) = parse_page(br#"{"data":[],"resultTruncated":"false"}"#).unwrap();
        assert_eq!(token, None);
    }

    #[test]
    fn quota_resets_are_read_as_durations() {
        assert_eq!(parse_hms("00:00:03"), Some(Duration::from_secs(3)));
        assert_eq!(parse_hms("00:01:00.5"), Some(Duration::from_millis(60_500)));
        assert_eq!(parse_hms("02:00:00"), Some(Duration::from_secs(300)));
        assert_eq!(parse_hms("3"), None);
        assert_eq!(parse_hms("a:b:c"), None);
    }
}
