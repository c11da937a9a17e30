//! Signal dispositions.

/// Makes this process ignore SIGHUP, so it outlives the terminal or SSH session that started it
/// (the `saf-net tune --try` watcher must revert even when the session drops).
#[cfg(unix)]
pub fn ignore_hangup() {
    // SAFETY: setting SIGHUP to SIG_IGN installs no handler code, so no async-signal-safety rules
    // apply; signal() with a valid signal number and SIG_IGN cannot corrupt memory.
    unsafe {
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
    }
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
            // SAFETY: raise() sends a signal to this thread; SIGHUP is now ignored, so it returns.
            unsafe {
                libc::raise(libc::SIGHUP);
            }
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
