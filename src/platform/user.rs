//! Who this process runs as.

/// The effective user id, or None where there is no such thing.
#[cfg(unix)]
pub fn effective_uid() -> Option<u32> {
    Some(nix::unistd::geteuid().as_raw())
}

/// Portable fallback.
#[cfg(not(unix))]
pub fn effective_uid() -> Option<u32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn effective_uid_matches_id_u() {
        let out = std::process::Command::new("id").arg("-u").output().expect("id -u");
        let want: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().expect("a number");
        assert_eq!(effective_uid(), Some(want));
    }
}
