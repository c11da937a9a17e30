//! Process resource limits.

/// The soft limit on open descriptors (RLIMIT_NOFILE); None when unlimited or unknown.
#[cfg(unix)]
pub fn open_files_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we pass, which lives for the whole call.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    (rc == 0 && lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur)
}

/// Portable fallback: no limit known.
#[cfg(not(unix))]
pub fn open_files_limit() -> Option<u64> {
    None
}

/// Whether an accept or open failed because this process (EMFILE) or the system (ENFILE) has no descriptor left.
pub fn out_of_descriptors(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_os = "linux")]
    #[test]
    fn matches_proc_limits() {
        let text = std::fs::read_to_string("/proc/self/limits").unwrap();
        let line = text.lines().find(|l| l.starts_with("Max open files")).unwrap();
        let soft = line.split_whitespace().nth(3).unwrap();
        assert_eq!(super::open_files_limit(), soft.parse::<u64>().ok());
    }

    #[cfg(unix)]
    #[test]
    fn emfile_is_out_of_descriptors() {
        assert!(super::out_of_descriptors(&std::io::Error::from_raw_os_error(
            libc::EMFILE
        )));
        assert!(!super::out_of_descriptors(&std::io::Error::from_raw_os_error(
            libc::ECONNABORTED
        )));
    }
}
