//! The signals that stop a run: Ctrl-C (INT), TERM (service managers, `timeout`, CI cancels) and
//! HUP (a closed terminal) are handled alike: the run stops waiting, says what write is pending,
//! closes its output validly and exits 128 + the signal's number.

/// Resolves when one of the stop signals arrives, to its number (2, 15 or 1).
pub async fn stop() -> i32 {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (term, hup) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        );
        let (Ok(mut term), Ok(mut hup)) = (term, hup) else {
            let _ = tokio::signal::ctrl_c().await;
            return 2;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => 2,
            _ = term.recv() => 15,
            _ = hup.recv() => 1,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        2
    }
}
