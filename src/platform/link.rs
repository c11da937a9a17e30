//! Facts about the interface that routes to a peer: its name, MTU, link speed and duplex.
//!
//! Linux reads sysfs (`/sys/class/net/IF/{mtu,speed,duplex}`); the root is `$SAF_NET_SYSFS_ROOT` when set,
//! the documented test seam for links a veth cannot imitate (a veth always says 10000 Mb/s).
//! macOS reads the MTU from the AF_LINK entry of getifaddrs (`if_data`) and speed and duplex from the
//! interface media (`SIOCGIFXMEDIA`, decoded in [`super::media`]).

use std::ffi::CStr;
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

/// Every (interface name, address) pair on this host.
#[cfg(unix)]
fn interface_addresses() -> Vec<(String, IpAddr)> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs allocates a list and stores its head in `head`; we free it below with freeifaddrs.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return out;
    }
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a non-null node of the list getifaddrs returned, alive until freeifaddrs.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let name = unsafe { CStr::from_ptr(ifa.ifa_name) }.to_string_lossy().into_owned();
        // SAFETY: ifa_addr is non-null and points to a sockaddr whose family tells its real type.
        let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
        let ip = if family == libc::AF_INET {
            // SAFETY: the family says this is a sockaddr_in.
            let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
            IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)))
        } else if family == libc::AF_INET6 {
            // SAFETY: the family says this is a sockaddr_in6.
            let sin6 = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
            IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr))
        } else {
            continue;
        };
        out.push((name, ip));
    }
    // SAFETY: `head` came from a successful getifaddrs and is freed exactly once.
    unsafe { libc::freeifaddrs(head) };
    out
}

#[cfg(not(unix))]
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

/// macOS: the MTU from the AF_LINK entry's `if_data`, speed and duplex from the interface media.
/// `if_data.ifi_baudrate` is not used: it is 32 bits and XNU caps it at 0xFFFFFFFF, so 10 GbE reads 4,294 Mb/s.
#[cfg(target_os = "macos")]
pub fn interface_details(name: &str) -> (Option<u32>, Option<u32>, Option<String>) {
    let mtu = macos::if_data_mtu(name);
    let media = macos::media_word(name).map(|(active, status)| super::media::decode(active, status));
    let speed = media.and_then(|m| m.speed_mbps);
    let duplex = media.and_then(|m| m.duplex).map(String::from);
    (mtu, speed, duplex)
}

#[cfg(target_os = "macos")]
mod macos {
    use std::ffi::CStr;

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

    const _: () = assert!(std::mem::size_of::<IfMediaReq>() == 44);

    /// `_IOWR('i', nr, struct ifmediareq)` of `sys/ioccom.h`: IOC_INOUT | size << 16 | 'i' << 8 | nr.
    const fn iowr(nr: libc::c_ulong) -> libc::c_ulong {
        let size = std::mem::size_of::<IfMediaReq>() as libc::c_ulong;
        0xc000_0000 | ((size & 0x1fff) << 16) | ((b'i' as libc::c_ulong) << 8) | nr
    }

    /// `sys/sockio.h`: SIOCGIFMEDIA is 56; SIOCGIFXMEDIA (72) also returns the extended subtypes.
    const SIOCGIFMEDIA: libc::c_ulong = iowr(56);
    const SIOCGIFXMEDIA: libc::c_ulong = iowr(72);
    const _: () = assert!(SIOCGIFXMEDIA == 0xc02c_6948);

    /// (ifm_active, ifm_status) of the interface, or None when it has no media (bridges, tunnels, lo0).
    pub fn media_word(name: &str) -> Option<(u32, u32)> {
        if name.len() >= libc::IFNAMSIZ {
            return None;
        }
        // SAFETY: socket() has no memory-safety preconditions; the descriptor is closed below.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0) };
        if fd < 0 {
            return None;
        }
        let mut found = None;
        for request in [SIOCGIFXMEDIA, SIOCGIFMEDIA] {
            let mut req = IfMediaReq {
                ifm_name: [0; libc::IFNAMSIZ],
                ifm_current: 0,
                ifm_mask: 0,
                ifm_status: 0,
                ifm_active: 0,
                ifm_count: 0,
                ifm_ulist: std::ptr::null_mut(),
            };
            for (d, s) in req.ifm_name.iter_mut().zip(name.bytes()) {
                *d = s as libc::c_char;
            }
            // SAFETY: `req` is a live, correctly sized ifmediareq with a NUL-terminated name and no list
            // (count 0, null ulist), so the kernel writes only the struct itself.
            if unsafe { libc::ioctl(fd, request, &mut req as *mut IfMediaReq) } == 0 {
                found = Some((req.ifm_active as u32, req.ifm_status as u32));
                break;
            }
        }
        // SAFETY: `fd` is the descriptor opened above, closed exactly once.
        unsafe { libc::close(fd) };
        found
    }

    /// The MTU from the AF_LINK entry of getifaddrs (`if_data.ifi_mtu`).
    pub fn if_data_mtu(name: &str) -> Option<u32> {
        let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
        // SAFETY: getifaddrs allocates a list and stores its head in `head`; freed below.
        if unsafe { libc::getifaddrs(&mut head) } != 0 {
            return None;
        }
        let mut found = None;
        let mut cur = head;
        while !cur.is_null() {
            // SAFETY: `cur` is a non-null node of the list, alive until freeifaddrs.
            let ifa = unsafe { &*cur };
            cur = ifa.ifa_next;
            if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() || ifa.ifa_data.is_null() {
                continue;
            }
            // SAFETY: ifa_addr is non-null; ifa_name is a NUL-terminated string owned by the list.
            let (family, n) = unsafe { (i32::from((*ifa.ifa_addr).sa_family), CStr::from_ptr(ifa.ifa_name)) };
            if family == libc::AF_LINK && n.to_bytes() == name.as_bytes() {
                // SAFETY: for AF_LINK entries ifa_data points to the interface's struct if_data.
                let data = unsafe { &*(ifa.ifa_data as *const libc::if_data) };
                found = Some(data.ifi_mtu);
            }
        }
        // SAFETY: `head` came from a successful getifaddrs and is freed exactly once.
        unsafe { libc::freeifaddrs(head) };
        found
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
