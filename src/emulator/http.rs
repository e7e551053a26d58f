//! The emulator's HTTP types, shared by every handler: one ARM request as handlers see it, and
//! the reply they give (status, headers, JSON body), with ARM's and AKS's error shapes; a
//! request as it arrived, and what its Authorization header holds.

use crate::emulator::EmulatorConfig;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{Value, json};
use std::collections::HashMap;

/// An answer's body: whole, or streamed (the hostile scripted answers).
pub type Body = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;
/// What the server sends back for one request.
pub type Answer = Result<Response<Body>, std::io::Error>;

/// One ARM request as the handlers see it.
pub struct ArmRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// Query parameters, keys lower-cased.
    pub query: HashMap<String, String>,
    pub body: &'a [u8],
    /// `http://host:port`, for links the answer carries.
    pub base: String,
    /// `If-None-Match: *` was sent: create only, never replace (ARM's conditional PUT).
    pub if_none_match_any: bool,
    /// Who sent it, from the bearer token (`systemData`, the activity log).
    pub caller: crate::emulator::token::Caller,
    /// What the activity log records of the caller (`caller`, `claims`), from the same token.
    pub activity_caller: Value,
    /// `x-ms-correlation-request-id` as sent, else a new one (ARM's rule).
    pub correlation_id: String,
}

/// An answer: status, extra headers, JSON body (or none).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            headers: vec![],
            body: Some(body),
        }
    }
    pub fn empty(status: u16) -> Self {
        Reply {
            status,
            headers: vec![],
            body: None,
        }
    }
    /// ARM's envelope: `{"error":{"code","message"}}`.
    pub fn arm_error(status: u16, code: &str, message: impl Into<String>) -> Self {
        Reply::json(
            status,
            json!({"error": {"code": code, "message": message.into()}}),
        )
    }
    /// AKS's bare error body: `{"code","message","subcode"}`.
    pub(crate) fn aks_error(
        status: u16,
        code: &str,
        subcode: &str,
        message: impl Into<String>,
    ) -> Self {
        Reply::json(
            status,
            json!({"code": code, "message": message.into(), "subcode": subcode}),
        )
    }
    /// `Retry-After` as configured (`--retry-after none` leaves it out, as some services do).
    pub(crate) fn retry_after(self, config: &EmulatorConfig) -> Self {
        match config.retry_after {
            Some(seconds) => self.header("Retry-After", seconds.to_string()),
            None => self,
        }
    }

    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// A request as it arrived, its body read whole.
pub struct Received {
    pub method: hyper::Method,
    pub uri: hyper::Uri,
    pub headers: hyper::HeaderMap,
    pub path: String,
    pub raw_query: String,
    pub body: Bytes,
}

impl Received {
    pub async fn read(req: Request<Incoming>) -> Received {
        let (parts, body) = req.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        Received {
            path: parts.uri.path().to_string(),
            raw_query: parts.uri.query().unwrap_or("").to_string(),
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// The request's body as the log shows it: JSON when it is JSON, else its text.
    pub fn body_json(&self) -> Value {
        if self.body.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice::<Value>(&self.body)
            .unwrap_or_else(|_| json!(String::from_utf8_lossy(&self.body)))
    }
}

/// What a request's `Authorization` header holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorization<'a> {
    Missing,
    /// Present, but not `Bearer <token>`.
    Invalid,
    Bearer(&'a str),
}

impl<'a> Authorization<'a> {
    pub fn of(header: Option<&'a str>) -> Self {
        match header {
            None => Authorization::Missing,
            Some(v) => match (v.get(..7), v.get(7..)) {
                (Some(scheme), Some(token))
                    if scheme.eq_ignore_ascii_case("bearer ") && !token.trim().is_empty() =>
                {
                    Authorization::Bearer(token.trim())
                }
                _ => Authorization::Invalid,
            },
        }
    }

    /// The name the request log gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            Authorization::Missing => "missing",
            Authorization::Invalid => "invalid",
            Authorization::Bearer(_) => "bearer",
        }
    }

    /// The `aud` claim of a JWT bearer token (for the request log: which audience a request's
    /// token was for); null for an opaque token or none.
    pub fn audience(self) -> Value {
        match self {
            Authorization::Bearer(token) => crate::emulator::token::claims(token)
                .and_then(|c| c.aud)
                .unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }
}
