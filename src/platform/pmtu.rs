//! Don't-fragment on UDP sockets and the kernel's path MTU, for MTU probes and size checks.

use std::io;
use std::os::fd::AsRawFd;

fn setsockopt_int(fd: &impl AsRawFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    super::rawopt::set(fd, level, name, value)
}

/// Sets don't-fragment, so an oversized datagram fails instead of being split
/// (Linux: IP_MTU_DISCOVER = IP_PMTUDISC_DO; macOS: IP_DONTFRAG).
#[cfg(target_os = "linux")]
pub fn set_dont_fragment(sock: &impl AsRawFd, ipv6: bool) -> io::Result<()> {
    if ipv6 {
        setsockopt_int(
            sock,
            libc::IPPROTO_IPV6,
            libc::IPV6_MTU_DISCOVER,
            libc::IPV6_PMTUDISC_DO,
        )
    } else {
        setsockopt_int(sock, libc::IPPROTO_IP, libc::IP_MTU_DISCOVER, libc::IP_PMTUDISC_DO)
    }
}

#[cfg(target_os = "macos")]
pub fn set_dont_fragment(sock: &impl AsRawFd, ipv6: bool) -> io::Result<()> {
    if ipv6 {
        setsockopt_int(sock, libc::IPPROTO_IPV6, libc::IPV6_DONTFRAG, 1)
    } else {
        setsockopt_int(sock, libc::IPPROTO_IP, libc::IP_DONTFRAG, 1)
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub fn set_dont_fragment(_sock: &impl AsRawFd, _ipv6: bool) -> io::Result<()> {
    Err(super::unsupported("don't-fragment on UDP"))
}

/// The path MTU the kernel holds for a connected socket (Linux IP_MTU); None where the OS does not say.
#[cfg(target_os = "linux")]
pub fn path_mtu(sock: &impl AsRawFd, ipv6: bool) -> Option<u32> {
    let (level, name) = if ipv6 {
        (libc::IPPROTO_IPV6, libc::IPV6_MTU)
    } else {
        (libc::IPPROTO_IP, libc::IP_MTU)
    };
    let mut v: libc::c_int = 0;
    let ok = super::rawopt::get(sock, level, name, &mut v).is_ok();
    (ok && v > 0).then_some(v as u32)
}

#[cfg(not(target_os = "linux"))]
pub fn path_mtu(_sock: &impl AsRawFd, _ipv6: bool) -> Option<u32> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn loopback_path_mtu_and_oversize_refusal() {
        let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.connect(server.local_addr().unwrap()).unwrap();
        set_dont_fragment(&sock, false).unwrap();
        assert!(path_mtu(&sock, false).is_some_and(|m| m >= 65_535));
        assert!(sock.send(&vec![0u8; 65_000]).is_ok());
    }
}
