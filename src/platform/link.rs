//! Facts about the interface that routes to a peer: its name, MTU, link speed and duplex.
//!
//! Linux reads sysfs (`/sys/class/net/IF/{mtu,speed,duplex}`); the root is `$SAF_NET_SYSFS_ROOT` when set,
//! the documented test seam for links a veth cannot imitate (a veth always says 10000 Mb/s).
//! macOS reads the MTU with `SIOCGIFMTU` and speed and duplex from the interface media (`SIOCGIFXMEDIA`,
//! decoded in [`super::media`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

use crate::protocol::InterfaceFacts;

/// Environment variable naming a fake sysfs root, for tests.
pub const SYSFS_ENV: &str = "SAF_NET_SYSFS_ROOT";

/// The local address the kernel would use to reach `peer` (no packet is sent).
pub fn local_addr_towards(peer: IpAddr) -> Option<IpAddr> {
    let bind: SocketAddr = match peer {
        IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let s = UdpSocket::bind(bind).ok()?;
    s.connect((peer, 9)).ok()?;
    Some(s.local_addr().ok()?.ip())
}

/// Every (interface name, address) pair on this host: the one walk of getifaddrs.
#[cfg(any(target_os = "linux", target_os = "macos"))]
fn interface_addresses() -> Vec<(String, IpAddr)> {
    let Ok(list) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    list.filter_map(|ifa| {
        let addr = ifa.address?;
        let ip = match addr.as_sockaddr_in() {
            Some(v4) => IpAddr::V4(v4.ip()),
            None => IpAddr::V6(addr.as_sockaddr_in6()?.ip()),
        };
        Some((ifa.interface_name, ip))
    })
    .collect()
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn interface_addresses() -> Vec<(String, IpAddr)> {
    Vec::new()
}

/// The sysfs root in use: `$SAF_NET_SYSFS_ROOT`, else `/sys`.
pub fn sysfs_root() -> String {
    std::env::var(SYSFS_ENV).unwrap_or_else(|_| "/sys".into())
}

/// MTU, speed (Mb/s) and duplex of an interface as Linux's sysfs says, each None when it does not say.
/// Portable file reads, so Linux's facts can be read from a fake sysfs on any OS.
pub fn sysfs_interface_details(name: &str) -> (Option<u32>, Option<u32>, Option<String>) {
    let root = sysfs_root();
    let read = |file: &str| std::fs::read_to_string(format!("{root}/class/net/{name}/{file}")).ok();
    let mtu = read("mtu").and_then(|s| s.trim().parse().ok());
    // Virtual and down links report -1 or refuse the read: unknown, never guessed.
    let speed = read("speed")
        .and_then(|s| s.trim().parse::<i64>().ok())
        .filter(|&v| v > 0)
        .map(|v| v as u32);
    let duplex = read("duplex")
        .map(|s| s.trim().to_string())
        .filter(|s| s == "full" || s == "half");
    (mtu, speed, duplex)
}

/// MTU, speed (Mb/s) and duplex of an interface, each None when the OS does not say.
#[cfg(target_os = "linux")]
pub fn interface_details(name: &str) -> (Option<u32>, Option<u32>, Option<String>) {
    sysfs_interface_details(name)
}

/// macOS: the MTU from `SIOCGIFMTU` (the `if_mtu` that getifaddrs' `if_data.ifi_mtu` also copies), speed and
/// duplex from the interface media. `if_data.ifi_baudrate` is not used: it is 32 bits and XNU caps it at
/// 0xFFFFFFFF, so 10 GbE reads 4,294 Mb/s.
#[cfg(target_os = "macos")]
pub fn interface_details(name: &str) -> (Option<u32>, Option<u32>, Option<String>) {
    let mtu = macos::if_mtu(name);
    let media = macos::media_word(name).map(|(active, status)| super::media::decode(active, status));
    let speed = media.and_then(|m| m.speed_mbps);
    let duplex = media.and_then(|m| m.duplex).map(String::from);
    (mtu, speed, duplex)
}

#[cfg(target_os = "macos")]
mod macos {
    use std::mem::size_of;
    use std::os::fd::AsRawFd;

    use socket2::{Domain, Socket, Type};

    /// `struct ifmediareq` of XNU's `bsd/net/if.h`, which declares it under `#pragma pack(4)`: 44 bytes on
    /// 64-bit, so `SIOCGIFXMEDIA` is 0xc02c6948.
    #[repr(C, packed(4))]
    struct IfMediaReq {
        ifm_name: [libc::c_char; libc::IFNAMSIZ],
        ifm_current: libc::c_int,
        ifm_mask: libc::c_int,
        ifm_status: libc::c_int,
        ifm_active: libc::c_int,
        ifm_count: libc::c_int,
        ifm_ulist: *mut libc::c_int,
    }

    const _: () = assert!(size_of::<IfMediaReq>() == 44);

    /// `struct ifreq` of `bsd/net/if.h` as SIOCGIFMTU uses it: the name, then `ifr_mtu` at the start of the
    /// 16-byte union; 32 bytes.
    #[repr(C)]
    struct IfReqMtu {
        ifr_name: [libc::c_char; libc::IFNAMSIZ],
        ifr_mtu: libc::c_int,
        _rest_of_union: [u8; 12],
    }

    const _: () = assert!(size_of::<IfReqMtu>() == 32 && size_of::<IfReqMtu>() == size_of::<libc::ifreq>());

    /// `sys/sockio.h`: `_IOWR('i', nr, struct ...)`. SIOCGIFMEDIA is 56; SIOCGIFXMEDIA (72) also returns the
    /// extended subtypes; SIOCGIFMTU is 51.
    const SIOCGIFMEDIA: libc::c_ulong = nix::request_code_readwrite!(b'i', 56, size_of::<IfMediaReq>());
    const SIOCGIFXMEDIA: libc::c_ulong = nix::request_code_readwrite!(b'i', 72, size_of::<IfMediaReq>());
    const SIOCGIFMTU: libc::c_ulong = nix::request_code_readwrite!(b'i', 51, size_of::<IfReqMtu>());
    const _: () = assert!(SIOCGIFMEDIA == 0xc02c_6938);
    const _: () = assert!(SIOCGIFXMEDIA == 0xc02c_6948);
    const _: () = assert!(SIOCGIFMTU == 0xc020_6933);

    nix::ioctl_readwrite_bad!(siocgifmedia, SIOCGIFMEDIA, IfMediaReq);
    nix::ioctl_readwrite_bad!(siocgifxmedia, SIOCGIFXMEDIA, IfMediaReq);
    nix::ioctl_readwrite_bad!(siocgifmtu, SIOCGIFMTU, IfReqMtu);

    /// The interface name as a NUL-padded C array; None when it does not fit.
    fn c_name(name: &str) -> Option<[libc::c_char; libc::IFNAMSIZ]> {
        if name.len() >= libc::IFNAMSIZ {
            return None;
        }
        let mut out = [0; libc::IFNAMSIZ];
        for (d, s) in out.iter_mut().zip(name.bytes()) {
            *d = s as libc::c_char;
        }
        Some(out)
    }

    /// A datagram socket to send interface ioctls through; closed when dropped.
    fn ioctl_socket() -> Option<Socket> {
        Socket::new(Domain::IPV4, Type::DGRAM, None).ok()
    }

    /// (ifm_active, ifm_status) of the interface, or None when it has no media (bridges, tunnels, lo0).
    pub fn media_word(name: &str) -> Option<(u32, u32)> {
        let ifm_name = c_name(name)?;
        let sock = ioctl_socket()?;
        let requests: [unsafe fn(libc::c_int, *mut IfMediaReq) -> nix::Result<libc::c_int>; 2] =
            [siocgifxmedia, siocgifmedia];
        for request in requests {
            let mut req = IfMediaReq {
                ifm_name,
                ifm_current: 0,
                ifm_mask: 0,
                ifm_status: 0,
                ifm_active: 0,
                ifm_count: 0,
                ifm_ulist: std::ptr::null_mut(),
            };
            // SAFETY: `req` is a live, correctly sized ifmediareq with a NUL-terminated name and no list
            // (count 0, null ulist), so the kernel writes only the struct itself.
            if unsafe { request(sock.as_raw_fd(), &mut req) }.is_ok() {
                return Some((req.ifm_active as u32, req.ifm_status as u32));
            }
        }
        None
    }

    /// The interface's MTU (`SIOCGIFMTU`), or None when there is no such interface.
    pub fn if_mtu(name: &str) -> Option<u32> {
        let mut req = IfReqMtu {
            ifr_name: c_name(name)?,
            ifr_mtu: 0,
            _rest_of_union: [0; 12],
        };
        let sock = ioctl_socket()?;
        // SAFETY: `req` is a live ifreq of the exact size the request encodes, with a NUL-terminated name; the
        // kernel copies back at most those 32 bytes.
        unsafe { siocgifmtu(sock.as_raw_fd(), &mut req) }.ok()?;
        u32::try_from(req.ifr_mtu).ok()
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub fn interface_details(_name: &str) -> (Option<u32>, Option<u32>, Option<String>) {
    (None, None, None)
}

/// The facts of the interface that routes to `peer`.
pub fn facts_towards(peer: IpAddr) -> InterfaceFacts {
    let local = local_addr_towards(peer);
    let name = local.and_then(|ip| {
        interface_addresses()
            .into_iter()
            .find(|(_, a)| a.to_canonical() == ip.to_canonical())
            .map(|(n, _)| n)
    });
    let (mtu, speed_mbps, duplex) = name.as_deref().map(interface_details).unwrap_or((None, None, None));
    InterfaceFacts {
        interface: name,
        address: local,
        mtu,
        speed_mbps,
        duplex,
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn loopback_facts() {
        let f = facts_towards("127.0.0.1".parse().unwrap());
        assert_eq!(f.interface.as_deref(), Some("lo"));
        assert_eq!(f.address, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(f.mtu, Some(65_536));
        assert_eq!(f.speed_mbps, None, "lo has no link speed; unknown, not guessed");
    }

    #[test]
    fn fake_sysfs_seam() {
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("class/net/en9");
        std::fs::create_dir_all(&net).unwrap();
        std::fs::write(net.join("mtu"), "9000\n").unwrap();
        std::fs::write(net.join("speed"), "1000\n").unwrap();
        std::fs::write(net.join("duplex"), "full\n").unwrap();
        let down = dir.path().join("class/net/en8");
        std::fs::create_dir_all(&down).unwrap();
        std::fs::write(down.join("speed"), "-1\n").unwrap();
        // SAFETY-free: tests in this module are the only readers of the variable in this process.
        temp_env(dir.path().to_str().unwrap(), || {
            assert_eq!(interface_details("en9"), (Some(9000), Some(1000), Some("full".into())));
            assert_eq!(interface_details("en8"), (None, None, None));
        });
    }

    fn temp_env(value: &str, f: impl FnOnce()) {
        // SAFETY: set_var is unsafe in edition 2024 because other threads may read the environment; no other
        // test in this binary reads SAF_NET_SYSFS_ROOT.
        unsafe { std::env::set_var(SYSFS_ENV, value) };
        f();
        // SAFETY: as above.
        unsafe { std::env::remove_var(SYSFS_ENV) };
    }
}
