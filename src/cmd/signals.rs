//! The signals that stop a command: Ctrl-C (SIGINT) and SIGTERM, and for the client SIGHUP too.

use std::future::Future;

/// Listens for the stop signals from now on (call it inside the runtime, before any work) and resolves with
/// the reason once one arrives. `hangup`: SIGHUP stops too (a closed terminal or SSH session).
pub(super) fn stop_signals(hangup: bool) -> impl Future<Output = String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut int = signal(SignalKind::interrupt()).ok();
        let mut term = signal(SignalKind::terminate()).ok();
        let mut hup = hangup.then(|| signal(SignalKind::hangup()).ok()).flatten();
        async move {
            tokio::select! {
                Some(()) = recv(&mut int) => "interrupted by Ctrl-C (SIGINT)".to_string(),
                Some(()) = recv(&mut term) => "interrupted by SIGTERM".to_string(),
                Some(()) = recv(&mut hup) => "interrupted by SIGHUP (the terminal or session closed)".to_string(),
                else => std::future::pending().await,
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = hangup;
        async {
            let _ = tokio::signal::ctrl_c().await;
            "interrupted by Ctrl-C".to_string()
        }
    }
}

/// The next delivery of a signal we listen for; never, for one we could not listen for.
#[cfg(unix)]
async fn recv(sig: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match sig {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}
