//! Network interface lookups.

/// Index of a network interface by name (for IPv6 zones such as `fe80::1%en0`); None if unknown.
#[cfg(unix)]
pub fn interface_index(name: &str) -> Option<u32> {
    // A name with a NUL byte is refused as an error, like an unknown one.
    nix::net::if_::if_nametoindex(name).ok().filter(|&idx| idx != 0)
}

/// Portable fallback: only numeric zones are understood.
#[cfg(not(unix))]
pub fn interface_index(_name: &str) -> Option<u32> {
    None
}

/// Name of a network interface by index (an IPv6 zone back to `en0`); None if unknown.
#[cfg(unix)]
pub fn interface_name(index: u32) -> Option<String> {
    // nix 0.32 checks the result against -1, not NULL, so an unknown index comes back as Ok(""): no real
    // interface has an empty name.
    let name = nix::net::if_::if_indextoname(index).ok()?;
    Some(name.to_string_lossy().into_owned()).filter(|n| !n.is_empty())
}

/// Portable fallback: names are unknown.
#[cfg(not(unix))]
pub fn interface_name(_index: u32) -> Option<String> {
    None
}

/// This machine's host name, for the history's client column ("localhost" when the OS does not say).
pub fn hostname() -> String {
    host_name().unwrap_or_else(|| "localhost".into())
}

/// This machine's host name; None when the OS does not say (never guessed).
#[cfg(unix)]
pub fn host_name() -> Option<String> {
    let name = nix::unistd::gethostname().ok()?.to_string_lossy().into_owned();
    (!name.is_empty()).then_some(name)
}

/// Portable fallback.
#[cfg(not(unix))]
pub fn host_name() -> Option<String> {
    std::env::var("COMPUTERNAME").ok()
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
