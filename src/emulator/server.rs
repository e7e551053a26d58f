//! The emulator's HTTP side: listens on 127.0.0.1 only, records every ARM request for tests,
//! requires a bearer token, injects faults and latency, and serves the `/_emulator/` control API.

use crate::emulator::control::{Canned, canned_answer};
use crate::emulator::http::{Answer, Body};
use crate::emulator::http::{ArmRequest, Authorization, Received, Reply};
use crate::emulator::identity;
pub use crate::emulator::instance::Emulator;
use crate::emulator::ratelimit::{Charge, RateLimiter};
use crate::emulator::routes;
use crate::emulator::state::World;
use crate::emulator::{EmulatorConfig, FaultKind};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// A bound emulator: its address, and the future that serves it.
pub struct Bound {
    pub addr: SocketAddr,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    emulator: Arc<Emulator>,
}

impl Bound {
    /// `http://127.0.0.1:port`, or `https://…` when serving TLS.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }
}

/// Binds 127.0.0.1:`port` (0 = any free port). Never any other address.
pub async fn bind(port: u16, config: EmulatorConfig, world: World) -> std::io::Result<Bound> {
    let tls = match &config.tls {
        Some((cert, key)) => Some(tls_acceptor(cert, key, config.http2)?),
        None => None,
    };
    let limiter = RateLimiter::new(config.limits);
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    let addr = listener.local_addr()?;
    Ok(Bound {
        addr,
        listener,
        tls,
        emulator: Arc::new(Emulator {
            started: std::time::Instant::now(),
            world: Mutex::new(world),
            config,
            requests: Mutex::new(Vec::new()),
            script: Mutex::new(VecDeque::new()),
            script_serial: std::sync::atomic::AtomicU64::new(0),
            connections: std::sync::atomic::AtomicU64::new(0),
            limiter,
        }),
    })
}

impl Bound {
    /// The emulator's shared state, to read its log and world while or after it serves.
    pub fn emulator(&self) -> Arc<Emulator> {
        self.emulator.clone()
    }

    /// Serves connections until the task is dropped.
    pub async fn serve(self) -> std::io::Result<()> {
        loop {
            let (stream, _) = self.listener.accept().await?;
            // As ARM's front ends do: without it, a response written in several TLS records
            // waits for the client's delayed ACK (40 ms on Linux) under Nagle's algorithm.
            let _ = stream.set_nodelay(true);
            let emulator = self.emulator.clone();
            emulator
                .connections
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let tls = self.tls.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let emulator = emulator.clone();
                    async move { emulator.answer(req).await }
                });
                // Errors here are dropped connections (injected, or the client went away).
                let http = http1::Builder::new();
                match tls {
                    Some(acceptor) => {
                        let Ok(stream) = acceptor.accept(stream).await else {
                            return;
                        };
                        if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                            let _ = http2::Builder::new(TokioExecutor::new())
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        } else {
                            let _ = http.serve_connection(TokioIo::new(stream), service).await;
                        }
                    }
                    None => {
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                }
            });
        }
    }
}

fn whole(response: Response<Full<Bytes>>) -> Response<Body> {
    response.map(BodyExt::boxed)
}

impl Emulator {
    /// Every request: the control API and the sign-in endpoints first, then ARM.
    async fn answer(self: Arc<Self>, req: Request<Incoming>) -> Answer {
        let received = Received::read(req).await;
        let method = received.method.as_str();
        if let Some(control) = received.path.strip_prefix("/_emulator/") {
            return Ok(whole(self.control(method, control, &received.body)));
        }
        if let Some(answer) = self.sign_in(&received) {
            return Ok(whole(answer));
        }
        self.answer_arm(&received).await
    }

    /// An ARM request: recorded, delayed by the latency, throttled by the subscription's budget,
    /// answered by a scripted answer or an injected fault if one is due, else served.
    async fn answer_arm(&self, received: &Received) -> Answer {
        let authorization_header = received.header("authorization");
        let authorization = Authorization::of(authorization_header.as_deref());
        let query: HashMap<String, String> =
            url::form_urlencoded::parse(received.raw_query.as_bytes())
                .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
                .collect();
        let recorded = self.record_arm_request(received, &query, authorization);
        if self.config.log_requests {
            crate::diagnostics::write_stderr(&format!("{} {}\n", received.method, received.path));
        }
        if !self.config.latency.is_zero() {
            tokio::time::sleep(self.config.latency).await;
        }
        let client_request_id = received.header("x-ms-client-request-id");
        let charge = self.charge(received);
        if let Some(reply) = charge.as_ref().and_then(throttled) {
            return Ok(whole(self.respond(reply, client_request_id)));
        }
        if let Some((canned, n)) = self.next_canned(received) {
            return canned_answer(canned, n).await;
        }
        let fault = self.config.faults.next();
        if let Some(kind) = fault {
            // The request log says which answers were injected, to read a failing test by.
            self.annotate(recorded, "fault", json!(format!("{kind:?}")));
        }
        let mut reply = match fault.and_then(injected) {
            Some(Ok(reply)) => reply,
            Some(Err(answer)) => return answer,
            None => self.serve(received, query, authorization),
        };
        if fault == Some(FaultKind::LostAnswer) {
            // The request took effect; its answer never arrives.
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "injected: answer lost",
            ));
        }
        if let Some(Charge { header, .. }) = charge {
            reply.headers.push((header.0.into(), header.1.to_string()));
        }
        Ok(whole(self.respond(reply, client_request_id)))
    }

    /// Logs an ARM request as the tests read it back (`GET /_emulator/requests`).
    fn record_arm_request(
        &self,
        received: &Received,
        query: &HashMap<String, String>,
        authorization: Authorization<'_>,
    ) -> usize {
        self.record(json!({
            "receivedMs": self.started.elapsed().as_millis() as u64,
            "method": received.method.as_str(),
            "path": received.path,
            "query": received.raw_query,
            "apiVersion": query.get("api-version"),
            "body": received.body_json(),
            "authorization": authorization.as_str(),
            "audience": authorization.audience(),
            "clientRequestId": received.header("x-ms-client-request-id"),
            "userAgent": received.header("user-agent"),
        }))
    }

    /// The request's cost against its subscription's budget (requests under a subscription).
    fn charge(&self, received: &Received) -> Option<Charge> {
        let segments: Vec<&str> = received.path.trim_start_matches('/').split('/').collect();
        match segments.as_slice() {
            [first, id, ..] if first.eq_ignore_ascii_case("subscriptions") => self
                .limiter
                .charge(id, received.method != hyper::Method::GET),
            _ => None,
        }
    }

    /// The ARM answer proper: a 401 without a usable token, else the identity checks and the
    /// routes, on the world.
    fn serve(
        &self,
        received: &Received,
        query: HashMap<String, String>,
        authorization: Authorization<'_>,
    ) -> Reply {
        let token = match authorization {
            Authorization::Missing => {
                return Reply::arm_error(
                    401,
                    "AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is missing.",
                );
            }
            Authorization::Invalid => {
                return Reply::arm_error(
                    401,
                    "AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is provided in an invalid format.",
                );
            }
            Authorization::Bearer(token) => token,
        };
        let request = ArmRequest {
            method: received.method.as_str(),
            path: &received.path,
            query,
            body: &received.body,
            if_none_match_any: received
                .header("if-none-match")
                .is_some_and(|v| v.trim() == "*"),
            base: self.base_url(received),
            caller: crate::emulator::token::caller(token),
            activity_caller: crate::emulator::activity::caller_of(token),
            correlation_id: received
                .header("x-ms-correlation-request-id")
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        };
        let mut world = self
            .world
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if crate::emulator::loganalytics::query_path(&received.path).is_some() {
            return crate::emulator::loganalytics::handle(
                &mut world,
                &self.config,
                &request,
                token,
            );
        }
        match identity::check_bearer(token, &world, &request) {
            Some(refusal) => refusal,
            None => routes::handle(&mut world, &self.config, &request),
        }
    }

    /// `scheme://host:port` as the client addressed this emulator, for links in answers.
    pub(super) fn base_url(&self, received: &Received) -> String {
        // HTTP/2 carries the host in the URI (`:authority`), HTTP/1.1 in `Host`.
        let host = received
            .header("host")
            .or_else(|| received.uri.authority().map(|a| a.to_string()))
            .unwrap_or_else(|| "127.0.0.1".into());
        let scheme = if self.config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{host}")
    }

    /// The next scripted answer and its serial number, if any is queued.
    fn next_canned(&self, received: &Received) -> Option<(Canned, u64)> {
        let mut script = self.script.lock().unwrap_or_else(|p| p.into_inner());
        let (method, path) = (received.method.as_str(), &received.path);
        let index = script
            .iter()
            .position(|c| c.serves(method, path, &received.body))?;
        let n = self
            .script_serial
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let canned = &mut script[index];
        if canned.times > 1 {
            canned.times -= 1;
            return Some((canned.clone(), n));
        }
        script.remove(index).map(|c| (c, n))
    }

    pub(super) fn respond(
        &self,
        reply: Reply,
        client_request_id: Option<String>,
    ) -> Response<Full<Bytes>> {
        let body = reply
            .body
            .map(|b| serde_json::to_vec_pretty(&b).unwrap_or_default())
            .unwrap_or_default();
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut builder = Response::builder()
            .status(reply.status)
            .header("x-ms-request-id", &request_id)
            .header("x-ms-correlation-request-id", &request_id)
            .header("cache-control", "no-cache");
        if !body.is_empty() {
            builder = builder.header("content-type", "application/json; charset=utf-8");
        }
        if let Some(id) = client_request_id {
            builder = builder.header("x-ms-client-request-id", id);
        }
        if reply.status == 401
            && !reply
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("www-authenticate"))
        {
            builder = builder.header(
                "www-authenticate",
                "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\"",
            );
        }
        if reply.status == 429
            && !reply
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
        {
            builder = builder.header(
                "retry-after",
                self.config.faults.throttle_retry_after.to_string(),
            );
        }
        for (name, value) in reply.headers {
            builder = builder.header(name, value);
        }
        builder
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
    }

    /// Appends a request to the log; returns its index.
    pub(super) fn record(&self, entry: Value) -> usize {
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        requests.push(entry);
        requests.len() - 1
    }

    /// Adds a field to a logged request.
    pub(super) fn annotate(&self, index: usize, key: &str, value: Value) {
        if let Some(entry) = self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(index)
        {
            entry[key] = value;
        }
    }
}

/// ARM's 429 when the subscription's budget is spent.
fn throttled(charge: &Charge) -> Option<Reply> {
    let wait = charge.retry_after?;
    let mut reply = Reply::arm_error(
        429,
        "SubscriptionRequestsThrottled",
        "Number of requests for subscription exceeded the limit. Please try again after some time.",
    );
    reply.headers.push(("retry-after".into(), wait.to_string()));
    reply
        .headers
        .push((charge.header.0.into(), charge.header.1.to_string()));
    Some(reply)
}

/// An injected fault's reply, or (`Err`) the whole answer when it is no ARM reply: a dropped
/// connection, a proxy's HTML page. `None` for a lost answer: the request is served, and the
/// caller then loses its answer.
fn injected(kind: FaultKind) -> Option<Result<Reply, Answer>> {
    Some(Ok(match kind {
        FaultKind::Drop => {
            return Some(Err(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "injected: connection dropped",
            ))));
        }
        FaultKind::ProxyPage => return Some(Err(Ok(whole(html_page(502, "502 Bad Gateway"))))),
        FaultKind::Throttle => Reply::arm_error(
            429,
            "TooManyRequests",
            "The request is being throttled as the limit has been reached for operation type - Read_ObservationWindow_00:05:00.",
        ),
        FaultKind::InternalError => Reply::arm_error(
            500,
            "InternalServerError",
            "An internal error occurred (injected).",
        ),
        FaultKind::Unavailable => Reply::arm_error(
            503,
            "ServiceUnavailable",
            "The service is unavailable (injected).",
        ),
        FaultKind::LostAnswer => return None,
    }))
}

/// What a proxy or gateway in front of ARM answers: an HTML page, not JSON.
fn html_page(status: u16, title: &str) -> Response<Full<Bytes>> {
    let body =
        format!("<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>");
    Response::builder()
        .status(status)
        .header("content-type", "text/html")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// A TLS acceptor from PEM files (a test CA's certificate for 127.0.0.1), offering HTTP/2 by ALPN
/// as ARM does unless `http2` is false.
fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
    http2: bool,
) -> std::io::Result<TlsAcceptor> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| invalid(format!("{}: {e}", cert.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| invalid(format!("{}: {e}", cert.display())))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| invalid(format!("{}: {e}", key.display())))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| invalid(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| invalid(e.to_string()))?;
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(TlsAcceptor::from(Arc::new(config)))
}
