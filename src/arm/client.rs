//! The one ARM request path: endpoint, auth header, request ids, user agent, api-version,
//! retries with backoff, error decoding, paging and long-running-operation polling.

use crate::arm::auth::{Credential, Token, claims};
use crate::arm::budget::{self, ReadBudget};
use crate::arm::cloud::Cloud;
use crate::arm::error::decode_error;
use crate::arm::lro;
use crate::error::{Error, Result};
use crate::output::diagnostics::Diagnostics;
use bytes::Bytes;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use url::Url;

/// The AKS api-version for every Microsoft.ContainerService call.
pub const API_VERSION: &str = "2026-08-01";
/// The Microsoft.Resources api-version for subscriptions and locations.
pub const RESOURCES_API_VERSION: &str = "2022-12-01";
pub use crate::arm::transport::{ENDPOINT_ENV, USER_AGENT, endpoint_from_env, parse_endpoint};
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Total time spent waiting between attempts of one request.
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

impl RetryPolicy {
    /// The wait before retry number `attempt` (1-based) when the server names none:
    /// exponential with jitter in [0.5, 1.5).
    fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .first_delay
            .saturating_mul(1 << attempt.saturating_sub(1).min(16));
        base.min(Duration::from_secs(8))
            .mul_f64(0.5 + fastrand::f64())
    }
}

/// An answer with its status, headers and body, read whole.
#[derive(Debug)]
pub struct ArmResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// `METHOD path`, for messages.
    pub request: String,
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
    cloud: Cloud,
    token: Mutex<Option<Token>>,
    diagnostics: Diagnostics,
    retry: RetryPolicy,
    read_budget: ReadBudget,
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
            cloud,
            token: Mutex::new(None),
            diagnostics,
            retry,
        }
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

    async fn bearer(&self, refresh: bool) -> Result<Token> {
        let mut cached = self.token.lock().await;
        if !refresh && let Some(token) = cached.as_ref() {
            return Ok(token.clone());
        }
        let credential = self.credential().await?;
        let token = credential.token(&self.cloud.scope(), refresh).await?;
        *cached = Some(token.clone());
        Ok(token)
    }

    /// Sends one request with retries and returns whatever status the server finally answered.
    pub async fn execute(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<ArmResponse> {
        let request = format!("{method} {}", url.path());
        let body_bytes = body.map(|b| serde_json::to_vec(b).unwrap_or_default());
        let mut attempt: u32 = 0;
        let mut waited = Duration::ZERO;
        let mut refreshed = false;
        let subscription = budget::subscription_of(&url);
        loop {
            self.read_budget.wait(subscription.as_deref()).await;
            let token = self.bearer(false).await?;
            let client_request_id = uuid::Uuid::new_v4().to_string();
            let mut builder = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.secret())
                .header("x-ms-client-request-id", &client_request_id)
                .header("x-ms-return-client-request-id", "true")
                .header("accept", "application/json");
            if let Some(bytes) = &body_bytes {
                builder = builder
                    .header("content-type", "application/json")
                    .body(bytes.clone());
            }
            self.log_request(&method, &url, &client_request_id, body_bytes.as_deref());
            let started = Instant::now();
            let outcome = match builder.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    match resp.bytes().await {
                        Ok(body) => Ok(ArmResponse {
                            status,
                            headers,
                            body,
                            request: request.clone(),
                        }),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            };
            let elapsed = started.elapsed();
            let retry_reason = match &outcome {
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
                        self.bearer(true).await?;
                        continue;
                    }
                    is_retryable_status(resp.status)
                        .then(|| format!("{} {}", resp.status, reason(resp.status)))
                }
                Err(e) => {
                    self.diagnostics.verbose(&format!(
                        "{method} {url} failed after {} ms: {}",
                        elapsed.as_millis(),
                        transport_detail(e)
                    ));
                    Some(transport_detail(e))
                }
            };
            let Some(retry_reason) = retry_reason else {
                return outcome.map_err(|e| Error::Transport {
                    request,
                    detail: transport_detail(&e),
                });
            };
            let server_wait = outcome
                .as_ref()
                .ok()
                .and_then(|r| lro::retry_after(&r.headers));
            let wait = server_wait.unwrap_or_else(|| self.retry.backoff(attempt + 1));
            if attempt >= self.retry.max_retries || waited + wait > self.retry.budget {
                return match outcome {
                    Ok(resp) => Ok(resp),
                    Err(e) => Err(Error::Transport {
                        request,
                        detail: format!(
                            "{} (gave up after {} attempts)",
                            transport_detail(&e),
                            attempt + 1
                        ),
                    }),
                };
            }
            attempt += 1;
            waited += wait;
            self.diagnostics.verbose(&format!(
                "retrying {request} in {} ms (attempt {} of {}): {retry_reason}",
                wait.as_millis(),
                attempt + 1,
                self.retry.max_retries + 1
            ));
            tokio::time::sleep(wait).await;
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

    pub(super) fn error_of(&self, resp: &ArmResponse) -> Error {
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

    fn log_request(
        &self,
        method: &Method,
        url: &Url,
        client_request_id: &str,
        body: Option<&[u8]>,
    ) {
        if !self.diagnostics.is_debug() {
            return;
        }
        self.diagnostics.debug(&format!("Request: {method} {url}"));
        self.diagnostics
            .debug("Request header 'Authorization': 'Bearer <redacted>'");
        self.diagnostics.debug(&format!(
            "Request header 'x-ms-client-request-id': '{client_request_id}'"
        ));
        self.diagnostics
            .debug(&format!("Request header 'User-Agent': '{USER_AGENT}'"));
        if let Some(body) = body {
            self.diagnostics
                .debug(&format!("Request body: {}", String::from_utf8_lossy(body)));
        }
    }

    fn log_response(
        &self,
        method: &Method,
        url: &Url,
        resp: &ArmResponse,
        elapsed: Duration,
        client_request_id: &str,
    ) {
        let request_id = resp
            .headers
            .get("x-ms-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or(client_request_id);
        self.diagnostics.verbose(&format!(
            "{method} {url} -> {} {} ({} ms, request id {request_id})",
            resp.status,
            reason(resp.status),
            elapsed.as_millis()
        ));
        if self.diagnostics.is_debug() {
            for (name, value) in &resp.headers {
                self.diagnostics.debug(&format!(
                    "Response header '{name}': '{}'",
                    value.to_str().unwrap_or("<binary>")
                ));
            }
            if !resp.body.is_empty() {
                self.diagnostics.debug(&format!(
                    "Response body: {}",
                    String::from_utf8_lossy(&resp.body)
                ));
            }
        }
    }
}

fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

fn reason(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

/// A transport error in words, with its cause chain (reqwest's top line alone is vague).
fn transport_detail(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut detail = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else {
        "the connection failed".to_string()
    };
    let mut source = e.source();
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    detail
}
