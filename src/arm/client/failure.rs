//! Requests that got no usable answer: the body read within its bound, transport errors
//! classified for the retry decision (refused, certificate, plain HTTP, transient, too large)
//! and told in words.

use super::{ArmResponse, MAX_BODY_BYTES};
use crate::arm::retry::TransportFailure;
use crate::error::Error;
use bytes::BytesMut;
use tokio_rustls::rustls;

/// A request that got no usable answer: what kind of failure (for the retry decision) and what
/// happened, in words.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) kind: TransportFailure,
    pub(super) detail: String,
}

impl Failure {
    pub(super) fn into_error(self, request: String) -> Error {
        match self.kind {
            TransportFailure::TooLarge => Error::UnexpectedResponse {
                request,
                detail: self.detail,
            },
            TransportFailure::NotTls => Error::Transport {
                request,
                detail: format!(
                    "{}; the server answered in plain HTTP, not TLS: use an http:// URL for it \
                     (allowed for loopback hosts only) or its TLS port",
                    self.detail
                ),
            },
            TransportFailure::Certificate => Error::Config {
                message: format!(
                    "{request} failed: the server's certificate was not accepted ({}); \
                     another attempt cannot change that, so none was made",
                    self.detail
                ),
                hint: Some(
                    "servers are checked against the system's CA certificates, or SSL_CERT_FILE \
                     / SSL_CERT_DIR when set: if your company's CA or proxy signs this one, add \
                     that CA there"
                        .into(),
                ),
            },
            TransportFailure::Refused | TransportFailure::Transient => Error::Transport {
                request,
                detail: self.detail,
            },
        }
    }
}

fn too_large(what: String) -> Failure {
    Failure {
        kind: TransportFailure::TooLarge,
        detail: format!(
            "{what}; the limit is {} MiB (no real ARM answer is that large)",
            MAX_BODY_BYTES / (1024 * 1024)
        ),
    }
}

/// Reads an answer's body as it streams in, stopping at [`MAX_BODY_BYTES`]: a huge or endless
/// body costs at most that much memory.
pub(super) async fn read_answer(
    mut resp: reqwest::Response,
    request: &str,
) -> std::result::Result<ArmResponse, Failure> {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    if let Some(length) = resp.content_length()
        && length > MAX_BODY_BYTES as u64
    {
        return Err(too_large(format!("the answer announces {length} bytes")));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| failure_of(&e))? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large(format!(
                "the answer's body passed {} bytes",
                MAX_BODY_BYTES
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(ArmResponse {
        status,
        headers,
        body: body.freeze(),
        request: request.to_string(),
        attempts: 1,
    })
}

/// Classifies a transport error: refused connections, rejected certificates and oversized
/// headers are permanent (another attempt gets the same), anything else is worth retrying.
pub(super) fn failure_of(e: &reqwest::Error) -> Failure {
    use std::error::Error as _;
    let mut kind = TransportFailure::Transient;
    let mut source = e.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                kind = TransportFailure::Refused;
            }
            if io.get_ref().is_some_and(|inner| {
                inner
                    .downcast_ref::<rustls::Error>()
                    .is_some_and(is_certificate_error)
            }) {
                kind = TransportFailure::Certificate;
            }
            if io.get_ref().is_some_and(|inner| {
                inner
                    .downcast_ref::<rustls::Error>()
                    .is_some_and(is_plain_http_answer)
            }) {
                kind = TransportFailure::NotTls;
            }
        }
        // rustls' error can reach us boxed in types of the connector's own; its words are stable.
        if cause
            .downcast_ref::<rustls::Error>()
            .is_some_and(is_certificate_error)
            || cause.to_string().starts_with("invalid peer certificate")
        {
            kind = TransportFailure::Certificate;
        }
        if cause
            .downcast_ref::<rustls::Error>()
            .is_some_and(is_plain_http_answer)
            || cause.to_string() == "received corrupt message of type InvalidContentType"
        {
            kind = TransportFailure::NotTls;
        }
        if cause
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_parse_too_large)
        {
            kind = TransportFailure::TooLarge;
        }
        source = cause.source();
    }
    Failure {
        kind,
        detail: transport_detail(e),
    }
}

/// What rustls says when the server's first bytes are not a TLS record (an HTTP answer).
fn is_plain_http_answer(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)
    )
}

fn is_certificate_error(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
    )
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
