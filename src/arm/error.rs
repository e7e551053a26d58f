//! Decodes ARM error bodies: the envelope `{"error":{code,message,…}}` and AKS's bare
//! `{"code","message","subcode",…}`, falling back to the HTTP status for anything else.

use crate::error::ArmError;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct ErrorDetail {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    error: ErrorDetail,
}

/// Builds the error for a non-success answer. Never fails: an HTML page from a proxy or an empty
/// body still gives a code (the HTTP reason) and a message (the start of the body).
pub fn decode_error(
    status: u16,
    body: &[u8],
    request: String,
    request_id: Option<String>,
    correlation_id: Option<String>,
) -> ArmError {
    let detail = serde_json::from_slice::<Envelope>(body)
        .map(|e| e.error)
        .ok()
        .filter(|d| d.code.is_some() || d.message.is_some())
        .or_else(|| {
            serde_json::from_slice::<ErrorDetail>(body)
                .ok()
                .filter(|d| d.code.is_some() || d.message.is_some())
        })
        .unwrap_or_default();
    let reason = status_reason(status).unwrap_or("Error");
    let code = detail
        .code
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| reason.replace(' ', ""));
    let message = detail.message.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() {
            format!("{request} answered {status} {reason} with no error body")
        } else {
            let short: String = text.chars().take(200).collect();
            format!("{request} answered {status} {reason}: {short}")
        }
    });
    ArmError {
        status,
        code: cap(code, 200),
        message: cap(message, MAX_MESSAGE_CHARS),
        request_id,
        correlation_id,
        request,
        hint: None,
    }
}

/// An error message longer than this is cut (a real ARM message is a sentence or two); the cut
/// says how much was left out.
pub const MAX_MESSAGE_CHARS: usize = 4096;

/// Marks a cut message, so it is shown once rather than twice.
use crate::error::TRUNCATED_MARK;

/// A server's message, cut to [`MAX_MESSAGE_CHARS`].
pub fn cap_message(text: String) -> String {
    cap(text, MAX_MESSAGE_CHARS)
}

fn cap(text: String, max: usize) -> String {
    let total = text.chars().count();
    if total <= max {
        return text;
    }
    let kept: String = text.chars().take(max).collect();
    format!("{kept}… ({}{TRUNCATED_MARK}", total - max)
}

/// The status line's words for a status (`404` → `Not Found`), the one place they come from.
pub fn status_reason(status: u16) -> Option<&'static str> {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(status: u16, body: &str) -> ArmError {
        decode_error(status, body.as_bytes(), "GET /x".into(), None, None)
    }

    #[test]
    fn envelope_and_bare_bodies_decode_alike() {
        let e = decode(
            400,
            r#"{"error":{"code":"InvalidParameter","message":"bad"}}"#,
        );
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("InvalidParameter", "bad")
        );
        let e = decode(
            404,
            r#"{"code":"NotFound","message":"gone","subcode":"GetTrustedAccessRoleBinding_NotFound"}"#,
        );
        assert_eq!(
            (e.code.as_str(), e.message.as_str(), e.status),
            ("NotFound", "gone", 404)
        );
    }

    #[test]
    fn html_and_empty_bodies_still_give_a_clear_error() {
        let e = decode(502, "<html><body>Bad Gateway</body></html>");
        assert_eq!(e.code, "BadGateway");
        assert!(
            e.message
                .contains("GET /x answered 502 Bad Gateway: <html>")
        );
        let e = decode(403, "");
        assert_eq!(e.code, "Forbidden");
        assert!(e.message.contains("no error body"));
    }
}
