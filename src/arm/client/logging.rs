//! What the one request path says of each request and answer: the answer's line under
//! `--verbose`, every header and body under `--debug` (the token never: it is redacted).

use super::{ArmClient, ArmResponse, USER_AGENT, reason};
use reqwest::Method;
use std::time::Duration;
use url::Url;

impl ArmClient {
    pub(super) fn log_request(
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

    pub(super) fn log_response(
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
