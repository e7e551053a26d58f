//! One running emulator's shared state: the world, the configuration, the request log, the
//! rate limiter and the scripted answers. The server and the control API both work on it.

use crate::emulator::EmulatorConfig;
use crate::emulator::ratelimit::RateLimiter;
use crate::emulator::state::World;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

pub struct Emulator {
    pub(crate) world: Mutex<World>,
    pub(crate) config: EmulatorConfig,
    pub(crate) requests: Mutex<Vec<Value>>,
    pub(crate) limiter: RateLimiter,
    /// Canned answers for the next ARM requests (`POST /_emulator/script`), for tests of
    /// malformed or unexpected server answers.
    pub(crate) script: Mutex<VecDeque<Canned>>,
    /// Requests answered from the script so far (`{n}` in scripted answers).
    pub(crate) script_serial: std::sync::atomic::AtomicU64,
    /// When the emulator started: requests are stamped with milliseconds since then
    /// (`receivedMs`), so tests measure waits on the server's clock, not the test's.
    pub(crate) started: std::time::Instant,
    /// Connections accepted (for the benchmarks: HTTP/2 keeps this at one per client).
    pub(crate) connections: std::sync::atomic::AtomicU64,
}

impl Emulator {
    /// The request log, as `GET /_emulator/requests` gives it.
    pub fn requests_json(&self) -> Value {
        Value::Array(
            self.requests
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        )
    }

    /// A generated fleet's expectations (`GET /_emulator/expectations`), if it has them.
    pub fn expectations_json(&self) -> Option<Value> {
        self.world
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .expectations
            .clone()
    }

    /// The world now, as a state file (`GET /_emulator/state`).
    pub fn state_json(&self) -> Value {
        let seed = self
            .world
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .to_seed();
        serde_json::to_value(seed).unwrap_or_default()
    }
}

/// One scripted answer: any status, headers and raw body, or a dropped connection; also the
/// hostile ones a malicious server sends (an endless body, no answer at all, the same answer for
/// ever with a new `nextLink` each time).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Canned {
    #[serde(default = "ok")]
    pub status: u16,
    #[serde(default)]
    pub headers: HashMap<String, String>,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub drop: bool,
    /// How many requests this answer serves (default 1). `{n}` in the body and header values
    /// becomes the request's number (1, 2, …), so each answer can carry a new `nextLink`.
    #[serde(default = "once")]
    pub times: u64,
    /// After `body`, stream this many more bytes (spaces), chunked, with no length announced.
    #[serde(default)]
    pub extra_body_bytes: u64,
    /// Never answer: hold the connection open until the client gives up.
    #[serde(default)]
    pub hang: bool,
    /// Serve only requests with this method (others pass it by and are answered normally).
    #[serde(default)]
    pub method: Option<String>,
    /// Serve only requests whose path contains this text.
    #[serde(default)]
    pub path_contains: Option<String>,
    /// Serve only requests to exactly this path.
    #[serde(default)]
    pub path: Option<String>,
    /// Serve only requests whose body contains this text (one Resource Graph table's query).
    #[serde(default)]
    pub body_contains: Option<String>,
}

impl Canned {
    pub(crate) fn serves(&self, method: &str, path: &str, body: &[u8]) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| path.contains(p))
            && self.path.as_deref().is_none_or(|p| p == path)
            && self
                .body_contains
                .as_deref()
                .is_none_or(|b| String::from_utf8_lossy(body).contains(b))
    }
}

fn once() -> u64 {
    1
}

fn ok() -> u16 {
    200
}
