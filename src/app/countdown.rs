//! Waiting until a moment (a binding taking effect) with a countdown on stderr when it is a
//! terminal, one line otherwise. Sleeps until the moment itself, never a fixed guess.

use crate::diagnostics::{Diagnostics, Verbosity, write_stderr};
use std::io::IsTerminal;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Sleeps until `unix` seconds (wall clock); `what` says what is awaited.
pub async fn wait_until(unix: i64, what: &str, diagnostics: Diagnostics) {
    let target = UNIX_EPOCH + Duration::from_secs(u64::try_from(unix).unwrap_or(0));
    let remaining = || target.duration_since(SystemTime::now()).ok();
    let Some(first) = remaining() else { return };
    let quiet = diagnostics.verbosity == Verbosity::ErrorsOnly;
    if quiet || !std::io::stderr().is_terminal() {
        if !quiet {
            diagnostics.summary(&format!(
                "Waiting {} for {what}...",
                crate::diagnostics::span(first.as_secs() as i64 + 1)
            ));
        }
        tokio::time::sleep(first).await;
        return;
    }
    while let Some(left) = remaining() {
        write_stderr(&format!(
            "\r\x1b[2KWaiting for {what}: {} left (Ctrl-C stops waiting)",
            crate::diagnostics::span(left.as_secs() as i64 + 1)
        ));
        // Wake on each whole second left, so the display counts down evenly.
        let tick = Duration::from_nanos(u64::from(left.subsec_nanos()));
        tokio::time::sleep(if tick.is_zero() {
            Duration::from_secs(1).min(left)
        } else {
            tick
        })
        .await;
    }
    write_stderr("\r\x1b[2K");
}
