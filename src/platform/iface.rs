//! Network interface lookups.

/// Index of a network interface by name (for IPv6 zones such as `fe80::1%en0`); None if unknown.
#[cfg(unix)]
pub fn interface_index(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (idx != 0).then_some(idx)
}

/// Portable fallback: only numeric zones are understood.
#[cfg(not(unix))]
pub fn interface_index(_name: &str) -> Option<u32> {
    None
}

/// Name of a network interface by index (an IPv6 zone back to `en0`); None if unknown.
#[cfg(unix)]
pub fn interface_name(index: u32) -> Option<String> {
    let mut buf = [0u8; libc::IF_NAMESIZE];
    // SAFETY: the buffer holds IF_NAMESIZE bytes, as if_indextoname requires; it NUL-terminates on success.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr().cast()) };
    if p.is_null() {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Some(String::from_utf8_lossy(&buf[..end]).into_owned())
}

/// Portable fallback: names are unknown.
#[cfg(not(unix))]
pub fn interface_name(_index: u32) -> Option<String> {
    None
}

/// This machine's host name, for the history's client column.
#[cfg(unix)]
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is writable for its whole length, which we pass; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// Portable fallback.
#[cfg(not(unix))]
pub fn hostname() -> String {
    std::env::var("COMPUTERNAME").unwrap_or_else(|_| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_has_an_index_and_nonsense_has_none() {
        #[cfg(target_os = "linux")]
        assert!(interface_index("lo").is_some());
        assert_eq!(interface_index("no-such-if0"), None);
        assert_eq!(interface_index("bad\0name"), None);
        #[cfg(target_os = "linux")]
        assert_eq!(interface_name(interface_index("lo").unwrap()).as_deref(), Some("lo"));
        assert_eq!(interface_name(0), None);
    }
}
