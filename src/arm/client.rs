//! The one ARM request path: endpoint, auth header, request ids, user agent, api-version,
//! retries with backoff, error decoding, paging and long-running-operation polling.

use crate::arm::auth::{Credential, Token, claims};
use crate::arm::budget::{self, ReadBudget};
use crate::arm::cloud::{Audience, Cloud};
use crate::arm::error::{decode_error, status_reason};
use crate::arm::retry::RetryPolicy;
use crate::arm::retry::{self, Attempt, GiveUp, Step};
use crate::arm::transport::USER_AGENT;
use crate::diagnostics::Diagnostics;
use crate::error::{Error, Result};
use bytes::Bytes;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use url::Url;

mod failure;
mod logging;
use failure::{Failure, failure_of, read_answer};

/// The AKS api-version for every Microsoft.ContainerService call.
pub const API_VERSION: &str = "2026-08-01";
/// The Microsoft.Resources api-version for subscriptions and locations.
pub const RESOURCES_API_VERSION: &str = "2022-12-01";
/// The Microsoft.Resources api-version for resource providers (their types' api-versions).
pub const PROVIDERS_API_VERSION: &str = "2021-04-01";
/// The activity log's api-version (Microsoft.Insights event types).
pub const ACTIVITY_LOG_API_VERSION: &str = "2015-04-01";

/// The largest answer body read: far above any real ARM answer (a full list page of role
/// bindings or clusters is tens of kilobytes), small enough that parsing it stays well inside
/// the tool's memory bound. Larger answers are refused while streaming, never read whole.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// An answer with its status, headers and body, read whole.
#[derive(Debug)]
pub struct ArmResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// `METHOD path`, for messages.
    pub request: String,
    /// How many times the request was sent (more than 1: an earlier attempt may have been
    /// carried out even though its answer never arrived).
    pub attempts: u32,
}

impl ArmResponse {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::UnexpectedResponse {
            request: self.request.clone(),
            detail: format!("the body is not the expected JSON ({e})"),
        })
    }
}

/// Builds the credential on first use.
pub type SignIn = Box<dyn Fn() -> Result<Credential> + Send + Sync>;

pub struct ArmClient {
    http: reqwest::Client,
    endpoint: Url,
    sign_in: SignIn,
    credential: tokio::sync::OnceCell<Credential>,
    pub(super) cloud: Cloud,
    token: Mutex<Option<Token>>,
    /// Log Analytics' query API: its origin (`None`: the cloud names none) and its token.
    pub(super) log_analytics: Option<Url>,
    log_analytics_token: Mutex<Option<Token>>,
    diagnostics: Diagnostics,
    retry: RetryPolicy,
    read_budget: ReadBudget,
    /// At most this many requests on the wire at once (audit's `--parallel`): held for one
    /// attempt, never while waiting to retry, so a throttled request does not hold up others.
    in_flight: std::sync::OnceLock<tokio::sync::Semaphore>,
    /// Resource Graph's quota is per caller: every query of this client (discovery, source
    /// checks, service tables) waits out the same reset.
    graph_quota: crate::arm::graph_quota::GraphQuota,
}

impl ArmClient {
    pub fn new(
        endpoint: Url,
        sign_in: SignIn,
        cloud: Cloud,
        http: reqwest::Client,
        diagnostics: Diagnostics,
        retry: RetryPolicy,
    ) -> Self {
        ArmClient {
            http,
            endpoint,
            sign_in,
            credential: tokio::sync::OnceCell::new(),
            read_budget: ReadBudget::default(),
            in_flight: std::sync::OnceLock::new(),
            graph_quota: Default::default(),
            cloud,
            token: Mutex::new(None),
            log_analytics: None,
            log_analytics_token: Mutex::new(None),
            diagnostics,
            retry,
        }
    }

    /// Bounds the requests on the wire at once (set once; later calls change nothing).
    pub fn limit_in_flight(&self, requests: usize) {
        let _ = self
            .in_flight
            .set(tokio::sync::Semaphore::new(requests.max(1)));
    }

    /// Resource Graph's quota as this client's queries found it.
    pub fn graph_quota(&self) -> &crate::arm::graph_quota::GraphQuota {
        &self.graph_quota
    }

    /// `--retry-budget`: how long one request may spend retrying and waiting.
    pub fn retry_budget(&self) -> Duration {
        self.retry.budget
    }

    pub fn diagnostics(&self) -> &Diagnostics {
        &self.diagnostics
    }

    /// `endpoint + path ? api-version=…`. Paths come from `ids`, already validated.
    pub fn url(&self, path: &str, api_version: &str) -> Url {
        let mut url = self.endpoint.clone();
        let base = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base}{path}"));
        url.query_pairs_mut()
            .append_pair("api-version", api_version);
        url
    }

    /// Links from the server (`nextLink`, operation URLs) are followed verbatim, but only on the
    /// endpoint's own origin: the bearer token is never sent anywhere else.
    pub(super) fn server_link(&self, link: &str, request: &str) -> Result<Url> {
        let url = Url::parse(link).map_err(|e| Error::UnexpectedResponse {
            request: request.to_string(),
            detail: format!("the link '{link}' is not a URL ({e})"),
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::UnexpectedResponse {
                request: request.to_string(),
                detail: "the server sent a link with a user name or password in it; refusing to follow it".into(),
            });
        }
        if url.origin() != self.endpoint.origin() {
            return Err(Error::UnexpectedResponse {
                request: request.to_string(),
                detail: format!(
                    "the server sent a link to another host ({}); refusing to send credentials there",
                    url.origin().ascii_serialization()
                ),
            });
        }
        Ok(url)
    }

    async fn credential(&self) -> Result<&Credential> {
        self.credential
            .get_or_try_init(|| async { (self.sign_in)() })
            .await
    }

    async fn bearer(&self, audience: Audience, refresh: bool) -> Result<Token> {
        let mut cached = match audience {
            Audience::Arm => self.token.lock().await,
            Audience::LogAnalytics => self.log_analytics_token.lock().await,
        };
        if !refresh && let Some(token) = cached.as_ref() {
            return Ok(token.clone());
        }
        let scope = self.scope_for(audience)?;
        let credential = self.credential().await?;
        let token = credential.token(&scope, refresh).await?;
        *cached = Some(token.clone());
        Ok(token)
    }

    /// Sends one request with retries and returns whatever status the server finally answered.
    /// The retry decision is `retry::RetryPolicy::next_step`; this loop only carries it out.
    pub async fn execute(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<ArmResponse> {
        self.execute_with(method, url, body, &[]).await
    }

    /// `execute` with extra request headers (`If-None-Match: *` on a create).
    pub async fn execute_with(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
        extra_headers: &[(&str, &str)],
    ) -> Result<ArmResponse> {
        self.execute_since(method, url, body, extra_headers, Instant::now())
            .await
    }

    /// `execute_with`, its retries counted against `--retry-budget` from `started`: a caller that
    /// already waited (Resource Graph's quota) shares the one budget.
    pub async fn execute_since(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
        extra_headers: &[(&str, &str)],
        started: Instant,
    ) -> Result<ArmResponse> {
        self.execute_for(Audience::Arm, method, url, body, extra_headers, started)
            .await
    }

    /// `execute_since` with a token for `audience`: the one loop every request goes through.
    pub async fn execute_for(
        &self,
        audience: Audience,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
        extra_headers: &[(&str, &str)],
        started: Instant,
    ) -> Result<ArmResponse> {
        let request = format!("{method} {}", url.path());
        let body_bytes = body.map(|b| serde_json::to_vec(b).unwrap_or_default());
        let mut retries: u32 = 0;
        let mut refreshed = false;
        let subscription = budget::subscription_of(&url);
        loop {
            self.read_budget.wait(subscription.as_deref()).await;
            let token = self.bearer(audience, false).await?;
            let client_request_id = uuid::Uuid::new_v4().to_string();
            let mut builder = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.secret())
                .header("x-ms-client-request-id", &client_request_id)
                .header("x-ms-return-client-request-id", "true")
                .header("accept", "application/json");
            for (name, value) in extra_headers {
                builder = builder.header(*name, *value);
            }
            if let Some(bytes) = &body_bytes {
                builder = builder
                    .header("content-type", "application/json")
                    .body(bytes.clone());
            }
            self.log_request(&method, &url, &client_request_id, body_bytes.as_deref());
            let attempt_started = Instant::now();
            let outcome = self.send_attempt(builder, &request, retries + 1).await;
            let elapsed = attempt_started.elapsed();
            let attempt = match &outcome {
                Ok(resp) => {
                    self.read_budget.note(
                        subscription.as_deref(),
                        &resp.headers,
                        &self.diagnostics,
                    );
                    self.log_response(&method, &url, resp, elapsed, &client_request_id);
                    if resp.status == 401 && !refreshed && self.credential().await?.can_refresh() {
                        refreshed = true;
                        self.diagnostics
                            .verbose("401 Unauthorized: getting a fresh token and retrying once");
                        self.bearer(audience, true).await?;
                        continue;
                    }
                    Attempt::Answered {
                        status: resp.status,
                        retry_after: retry::retry_after(&resp.headers),
                    }
                }
                Err(failure) => {
                    self.diagnostics.verbose(&format!(
                        "{method} {url} failed after {} ms: {}",
                        elapsed.as_millis(),
                        failure.detail
                    ));
                    Attempt::Failed(failure.kind)
                }
            };
            let step =
                self.retry
                    .next_step(attempt, retries, started.elapsed(), 0.5 + fastrand::f64());
            let (wait, capped_from) = match step {
                Step::Done => return outcome.map_err(|f| f.into_error(request)),
                Step::GiveUp(why) => return self.give_up(why, outcome, retries, request),
                Step::Retry { wait, capped_from } => (wait, capped_from),
            };
            retries += 1;
            self.announce_retry(&request, &outcome, wait, capped_from, retries);
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt on the wire, within the in-flight limit: the answer read (bounded), or why
    /// there was none.
    async fn send_attempt(
        &self,
        builder: reqwest::RequestBuilder,
        request: &str,
        attempts: u32,
    ) -> std::result::Result<ArmResponse, Failure> {
        let _permit = match self.in_flight.get() {
            Some(limit) => limit.acquire().await.ok(),
            None => None,
        };
        match builder.send().await {
            Ok(resp) => read_answer(resp, request).await.map(|mut answer| {
                answer.attempts = attempts;
                answer
            }),
            Err(e) => Err(failure_of(&e)),
        }
    }

    /// `--verbose`: why a retry happens, after how long, and a server's wait that was capped.
    fn announce_retry(
        &self,
        request: &str,
        outcome: &std::result::Result<ArmResponse, Failure>,
        wait: Duration,
        capped_from: Option<Duration>,
        retries: u32,
    ) {
        if let Some(asked) = capped_from {
            self.diagnostics.verbose(&format!(
                "the server asked to wait {} s before retrying {request}; waiting at most {} s",
                asked.as_secs(),
                retry::MAX_RETRY_AFTER.as_secs()
            ));
        }
        let reason = match outcome {
            Ok(resp) => format!("{} {}", resp.status, reason(resp.status)),
            Err(failure) => failure.detail.clone(),
        };
        self.diagnostics.verbose(&format!(
            "retrying {request} in {} ms (attempt {} of {}): {reason}",
            wait.as_millis(),
            retries + 1,
            self.retry.max_retries + 1
        ));
    }

    /// The end of retrying: the last answer as it is, or the last failure with why it was not
    /// retried further.
    fn give_up(
        &self,
        why: GiveUp,
        outcome: std::result::Result<ArmResponse, Failure>,
        retries: u32,
        request: String,
    ) -> Result<ArmResponse> {
        if why == GiveUp::Budget {
            self.diagnostics.verbose(&format!(
                "not retrying {request}: the next wait would pass --retry-budget ({} s)",
                self.retry.budget.as_secs()
            ));
        }
        match outcome {
            Ok(resp) => Ok(resp),
            Err(failure) if why == GiveUp::Permanent => Err(failure.into_error(request)),
            Err(failure) => Err(Error::Transport {
                request,
                detail: format!(
                    "{} (gave up after {} attempts)",
                    failure.detail,
                    retries + 1
                ),
            }),
        }
    }

    /// Sends a request; any status outside 2xx becomes the decoded ARM error.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<ArmResponse> {
        let resp = self.execute(method, url, body).await?;
        if (200..300).contains(&resp.status) {
            Ok(resp)
        } else {
            Err(self.error_of(&resp))
        }
    }

    pub fn error_of(&self, resp: &ArmResponse) -> Error {
        let header = |name: &str| {
            resp.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let mut error = decode_error(
            resp.status,
            &resp.body,
            resp.request.clone(),
            header("x-ms-request-id").or_else(|| header("x-ms-client-request-id")),
            header("x-ms-correlation-request-id"),
        );
        if resp.status == 401 {
            error.hint = self.diagnose_401(header("www-authenticate").as_deref());
        }
        Error::Arm(Box::new(error))
    }

    /// Reads the refused token's claims (unverified) to say what is wrong with it.
    fn diagnose_401(&self, challenge: Option<&str>) -> Option<String> {
        let token = self.token.try_lock().ok()?.clone()?;
        let now = claims::unix_now();
        let expected_tenant = challenge.and_then(claims::tenant_from_challenge);
        let why = claims::diagnose(token.secret(), self.cloud, expected_tenant.as_deref(), now)?;
        let source = self
            .credential
            .get()
            .map(|c| c.source().describe())
            .unwrap_or_default();
        Some(format!("{why} (signed in with {source})"))
    }

    pub async fn get<T: DeserializeOwned>(&self, url: Url) -> Result<T> {
        self.send(Method::GET, url, None).await?.json()
    }

    /// GET that maps 404 to `None` (the binding does not exist).
    pub async fn get_optional<T: DeserializeOwned>(&self, url: Url) -> Result<Option<T>> {
        let resp = self.execute(Method::GET, url, None).await?;
        match resp.status {
            404 => Ok(None),
            200..=299 => resp.json().map(Some),
            _ => Err(self.error_of(&resp)),
        }
    }
}

fn reason(status: u16) -> &'static str {
    status_reason(status).unwrap_or("")
}
