//! Signal dispositions.

/// Makes this process ignore SIGHUP, so it outlives the terminal or SSH session that started it
/// (the `saf-net tune --try` watcher must revert even when the session drops).
#[cfg(unix)]
pub fn ignore_hangup() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: SIG_IGN installs no handler code, so no async-signal-safety rules apply (nix marks every
    // disposition change unsafe because a handler could break them).
    let _ = unsafe { signal(Signal::SIGHUP, SigHandler::SigIgn) };
}

/// Portable fallback: there is no SIGHUP.
#[cfg(not(unix))]
pub fn ignore_hangup() {}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn a_hangup_is_ignored_afterwards() {
        // In a child process, so this test process keeps its own disposition.
        let exe = std::env::current_exe().unwrap();
        if std::env::var_os("SAF_NET_HUP_CHILD").is_some() {
            super::ignore_hangup();
            // SIGHUP is now ignored, so raising it returns.
            nix::sys::signal::raise(nix::sys::signal::Signal::SIGHUP).unwrap();
            return;
        }
        let st = std::process::Command::new(exe)
            .args([
                "--exact",
                "platform::signal::tests::a_hangup_is_ignored_afterwards",
                "--nocapture",
            ])
            .env("SAF_NET_HUP_CHILD", "1")
            .output()
            .unwrap();
        assert!(st.status.success(), "{st:?}");
    }
}
