//! Linux: the route from `ip -j route get ADDR` (or its text form), the interface's kind from sysfs
//! (`/sys/class/net/IF`, under `$SAF_NET_SYSFS_ROOT` when set), its link facts from sysfs too.

use std::net::IpAddr;
use std::path::Path;

use serde::Deserialize;

use super::{Destination, InterfaceKind, RouteError, RouteFacts};
use crate::platform;
use crate::runner::{Cmd, Runner};

/// What `ip route get` said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpRoute {
    pub dev: String,
    pub gateway: Option<IpAddr>,
    pub source: Option<IpAddr>,
    /// `local` for an address of this host, else None (unicast).
    pub route_type: Option<String>,
    pub mtu: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct Via {
    host: String,
}

#[derive(Debug, Deserialize)]
struct Metric {
    mtu: Option<u32>,
}

/// One entry of `ip -j route get` (iproute2 6.1), e.g.
/// `[{"dst":"8.8.8.8","gateway":"192.0.2.1","dev":"eth0","prefsrc":"192.0.2.2","flags":[],"uid":0,"cache":[]}]`;
/// a gateway of the other family is `"via":{"family":"inet6","host":"fd00::9"}`, a locked route MTU
/// `"metrics":[{"mtu":1400}]`.
#[derive(Debug, Deserialize)]
struct JsonRoute {
    dev: Option<String>,
    gateway: Option<String>,
    via: Option<Via>,
    prefsrc: Option<String>,
    #[serde(rename = "type")]
    route_type: Option<String>,
    #[serde(default)]
    metrics: Vec<Metric>,
}

fn addr(text: &str) -> Option<IpAddr> {
    text.split('%').next()?.parse().ok()
}

fn parse_json(text: &str) -> Result<IpRoute, String> {
    let routes: Vec<JsonRoute> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let r = routes.into_iter().next().ok_or("an empty list")?;
    Ok(IpRoute {
        dev: r.dev.ok_or("no \"dev\"")?,
        gateway: r.gateway.or(r.via.map(|v| v.host)).as_deref().and_then(addr),
        source: r.prefsrc.as_deref().and_then(addr),
        route_type: r.route_type.filter(|t| t != "unicast"),
        mtu: r.metrics.iter().find_map(|m| m.mtu),
    })
}

/// The text form (iproute2 6.1):
/// `8.8.8.8 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0 \n    cache ` and
/// `local 127.0.0.1 dev lo src 127.0.0.1 uid 0 \n    cache <local> `; a locked MTU shows as `cache mtu lock 1400`.
fn parse_text(text: &str) -> Result<IpRoute, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let after = |key: &str| {
        words
            .iter()
            .position(|w| *w == key)
            .and_then(|i| words.get(i + 1))
            .copied()
    };
    let via = match after("via") {
        Some("inet" | "inet6") => words
            .iter()
            .position(|w| *w == "via")
            .and_then(|i| words.get(i + 2))
            .copied(),
        v => v,
    };
    let mtu = match after("mtu") {
        Some("lock") => words
            .iter()
            .position(|w| *w == "mtu")
            .and_then(|i| words.get(i + 2)?.parse().ok()),
        m => m.and_then(|m| m.parse().ok()),
    };
    Ok(IpRoute {
        dev: after("dev").ok_or("no \"dev\"")?.to_string(),
        gateway: via.and_then(addr),
        source: after("src").and_then(addr),
        route_type: (words.first() == Some(&"local")).then(|| "local".to_string()),
        mtu,
    })
}

/// Parses `ip -j route get` JSON, or the text form of `ip route get`.
pub fn parse_route_get(text: &str) -> Result<IpRoute, String> {
    if text.trim_start().starts_with('[') {
        parse_json(text)
    } else {
        parse_text(text)
    }
}

/// What sysfs says about an interface (`/sys/class/net/IF`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SysfsFacts {
    /// The interface has a sysfs entry.
    pub present: bool,
    /// `type`: the ARPHRD number (1 Ethernet, 772 loopback, 65534 none, 768 ipip, 776 sit, 778 gre, 512 ppp).
    pub arphrd: Option<u32>,
    /// `DEVTYPE=` in `uevent` (wlan, bridge, vxlan, wireguard, vlan, bond, ...).
    pub devtype: Option<String>,
    /// `wireless/` or `phy80211` exists.
    pub wireless: bool,
    /// `bridge/` exists.
    pub bridge: bool,
    /// `tun_flags` (IFF_TUN 0x1, IFF_TAP 0x2).
    pub tun_flags: Option<u32>,
    /// `device` exists: hardware (or a VM's NIC) is behind it.
    pub device: bool,
    /// The name `device/driver` links to.
    pub driver: Option<String>,
}

impl SysfsFacts {
    /// Reads `ROOT/class/net/NAME`.
    pub fn read(root: &Path, name: &str) -> SysfsFacts {
        let dir = root.join("class/net").join(name);
        let text = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
        SysfsFacts {
            present: dir.is_dir(),
            arphrd: text("type").and_then(|t| t.trim().parse().ok()),
            devtype: text("uevent").and_then(|u| {
                u.lines()
                    .find_map(|l| l.strip_prefix("DEVTYPE="))
                    .map(|d| d.trim().to_string())
            }),
            wireless: dir.join("wireless").exists() || dir.join("phy80211").exists(),
            bridge: dir.join("bridge").is_dir(),
            tun_flags: text("tun_flags").and_then(|t| u32::from_str_radix(t.trim().trim_start_matches("0x"), 16).ok()),
            device: dir.join("device").exists(),
            driver: std::fs::read_link(dir.join("device/driver"))
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())),
        }
    }
}

/// DEVTYPEs of tunnels that carry IP inside another protocol.
const TUNNEL_DEVTYPES: &[&str] = &["wireguard", "vxlan", "geneve", "ipip", "gre", "sit", "ip6tnl"];
/// ARPHRD numbers of tunnels: none (tun, WireGuard), ipip, ip6 tunnel, sit, gre, ip6gre, ppp.
const TUNNEL_ARPHRD: &[u32] = &[65534, 768, 769, 776, 778, 823, 512];
/// Interface names of tunnels, for when sysfs has no entry.
const TUNNEL_NAMES: &[&str] = &["tailscale", "wg", "utun", "tun"];

fn kind_by_name(name: &str) -> Option<(InterfaceKind, String)> {
    if name == "lo" {
        return Some((InterfaceKind::Loopback, "interface name lo".into()));
    }
    TUNNEL_NAMES.iter().find(|p| name.starts_with(**p)).map(|_| {
        let src = format!("interface name {name} (no sysfs entry to say more)");
        (InterfaceKind::VpnTunnel, src)
    })
}

/// The kind from a device-less entry: a tunnel, a bridge, or a software interface.
fn software_kind(s: &SysfsFacts) -> Option<(InterfaceKind, String)> {
    let devtype = s.devtype.as_deref().unwrap_or_default();
    if s.bridge || devtype == "bridge" {
        return Some((InterfaceKind::Bridge, "sysfs bridge/".into()));
    }
    if let Some(f) = s.tun_flags {
        return Some(if f & 0x1 != 0 {
            (
                InterfaceKind::VpnTunnel,
                format!("sysfs tun_flags {f:#x}: a tun device (Tailscale, OpenVPN)"),
            )
        } else {
            (InterfaceKind::Virtual, format!("sysfs tun_flags {f:#x}: a tap device"))
        });
    }
    if TUNNEL_DEVTYPES.contains(&devtype) {
        return Some((InterfaceKind::VpnTunnel, format!("sysfs DEVTYPE={devtype}: a tunnel")));
    }
    if let Some(t) = s.arphrd.filter(|t| TUNNEL_ARPHRD.contains(t)) {
        return Some((InterfaceKind::VpnTunnel, format!("sysfs type {t}: a tunnel")));
    }
    None
}

/// The kind of interface `name`, and how it was known.
pub fn classify(name: &str, s: &SysfsFacts) -> (InterfaceKind, String) {
    if !s.present {
        return kind_by_name(name).unwrap_or_else(|| (InterfaceKind::Unknown, format!("no sysfs entry for {name}")));
    }
    if s.arphrd == Some(772) {
        return (InterfaceKind::Loopback, "sysfs type 772".into());
    }
    if s.wireless || s.devtype.as_deref() == Some("wlan") {
        return (InterfaceKind::WiFi, "sysfs wireless/ (802.11)".into());
    }
    if let Some(d) = s.driver.as_deref().filter(|d| d.replace('_', "-") == "thunderbolt-net") {
        return (InterfaceKind::Thunderbolt, format!("sysfs driver {d}"));
    }
    if let Some(found) = software_kind(s) {
        return found;
    }
    match (s.device, s.devtype.as_deref()) {
        (false, Some(d)) => return (InterfaceKind::Virtual, format!("sysfs DEVTYPE={d}")),
        (true, Some(d)) => return (InterfaceKind::Unknown, format!("sysfs device with DEVTYPE={d}")),
        _ => {}
    }
    match (s.device, s.arphrd) {
        (true, Some(1)) => {
            let driver = s.driver.as_deref().unwrap_or("unknown");
            (
                InterfaceKind::Ethernet,
                format!("sysfs device, driver {driver}, type 1 (Ethernet)"),
            )
        }
        (true, t) => (
            InterfaceKind::Unknown,
            format!("sysfs device of type {}", t.unwrap_or(0)),
        ),
        (false, Some(1)) => (
            InterfaceKind::Virtual,
            "sysfs: no device behind it (veth, macvlan, dummy)".into(),
        ),
        (false, _) => (InterfaceKind::Unknown, "sysfs says nothing about its kind".into()),
    }
}

/// Runs `ip -j route get` for `dest`.
fn route_get(r: &mut Runner, dest: &Destination) -> Result<IpRoute, RouteError> {
    let mut cmd = Cmd::new("ip").args(["-j", "route", "get"]).arg(dest.addr.to_string());
    if let Some(z) = &dest.zone {
        cmd = cmd.args(["oif", z.as_str()]);
    }
    let cmd = cmd.read_only();
    let out = r.run(&cmd)?;
    if !out.success() {
        return Err(RouteError::NoRoute {
            dest: dest.addr,
            reason: out.reason(),
        });
    }
    parse_route_get(&out.stdout).map_err(|detail| RouteError::Output {
        cmd: cmd.to_string(),
        detail,
    })
}

/// The route to `dest` and its interface's kind and link facts, from `ip` and sysfs.
pub fn find(r: &mut Runner, dest: &Destination) -> Result<RouteFacts, RouteError> {
    let route = route_get(r, dest)?;
    let sys = SysfsFacts::read(Path::new(&platform::sysfs_root()), &route.dev);
    let (kind, kind_source) = classify(&route.dev, &sys);
    let (mtu, speed_mbps, duplex) = platform::sysfs_interface_details(&route.dev);
    Ok(RouteFacts {
        destination: dest.addr,
        interface: route.dev,
        kind,
        kind_source,
        hardware_port: None,
        gateway: route.gateway,
        source: route.source,
        mtu,
        speed_mbps,
        duplex,
        route_mtu: route.mtu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Output;

    // Recorded from iproute2 6.1 on Linux 6.18.
    const JSON_VIA: &str =
        r#"[{"dst":"8.8.8.8","gateway":"192.0.2.1","dev":"eth0","prefsrc":"192.0.2.2","flags":[],"uid":0,"cache":[]}]"#;
    const JSON_TUNNEL: &str =
        r#"[{"dst":"100.77.5.2","dev":"vpn0","prefsrc":"100.77.5.1","flags":[],"uid":0,"cache":[]}]"#;
    const JSON_LOCAL: &str =
        r#"[{"type":"local","dst":"127.0.0.1","dev":"lo","prefsrc":"127.0.0.1","flags":[],"uid":0,"cache":["local"]}]"#;
    const JSON_MTU: &str = r#"[{"dst":"10.6.0.5","gateway":"10.5.0.9","dev":"d0","prefsrc":"10.5.0.1","flags":[],"uid":0,"cache":[],"metrics":[{"mtu":1400}]}]"#;
    const JSON_VIA6: &str = r#"[{"dst":"10.7.0.5","via":{"family":"inet6","host":"fd00::9"},"dev":"d0","prefsrc":"10.5.0.1","flags":[],"uid":0,"cache":[]}]"#;
    const JSON_V6: &str = r#"[{"dst":"fe80::1","from":"::","dev":"va","protocol":"kernel","prefsrc":"fe80::8402:fbff:fe48:67f7","metric":256,"flags":[],"pref":"medium"}]"#;

    #[test]
    fn json_routes_parse() {
        let r = parse_route_get(JSON_VIA).unwrap();
        assert_eq!(r.dev, "eth0");
        assert_eq!(r.gateway, Some("192.0.2.1".parse().unwrap()));
        assert_eq!(r.source, Some("192.0.2.2".parse().unwrap()));
        assert_eq!((r.route_type, r.mtu), (None, None));
        let r = parse_route_get(JSON_TUNNEL).unwrap();
        assert_eq!((r.dev.as_str(), r.gateway), ("vpn0", None));
        let r = parse_route_get(JSON_LOCAL).unwrap();
        assert_eq!((r.dev.as_str(), r.route_type.as_deref()), ("lo", Some("local")));
        assert_eq!(parse_route_get(JSON_MTU).unwrap().mtu, Some(1400));
        assert_eq!(
            parse_route_get(JSON_VIA6).unwrap().gateway,
            Some("fd00::9".parse().unwrap())
        );
        assert_eq!(
            parse_route_get(JSON_V6).unwrap().source,
            Some("fe80::8402:fbff:fe48:67f7".parse().unwrap())
        );
        assert!(parse_route_get("[]").is_err());
        assert!(parse_route_get(r#"[{"dst":"1.1.1.1"}]"#).unwrap_err().contains("dev"));
    }

    #[test]
    fn text_routes_parse() {
        let r = parse_route_get("10.0.0.2 dev veth0 src 10.0.0.1 uid 0 \n    cache \n").unwrap();
        assert_eq!((r.dev.as_str(), r.gateway), ("veth0", None));
        assert_eq!(r.source, Some("10.0.0.1".parse().unwrap()));
        let r = parse_route_get("8.8.8.8 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0 \n    cache \n").unwrap();
        assert_eq!(r.gateway, Some("192.0.2.1".parse().unwrap()));
        let r = parse_route_get("local 127.0.0.1 dev lo src 127.0.0.1 uid 0 \n    cache <local> \n").unwrap();
        assert_eq!(r.route_type.as_deref(), Some("local"));
        let r = parse_route_get("10.7.0.5 via inet6 fd00::9 dev d0 src 10.5.0.1 uid 0 \n    cache \n").unwrap();
        assert_eq!(r.gateway, Some("fd00::9".parse().unwrap()));
        let r =
            parse_route_get("10.6.0.5 via 10.5.0.9 dev d0 src 10.5.0.1 uid 0 \n    cache mtu lock 1400 \n").unwrap();
        assert_eq!(r.mtu, Some(1400));
        let v6 = "2001:db8::1 from :: via fd00::1 dev eth0 src fd00::2 metric 1024 pref medium\n";
        assert_eq!(parse_route_get(v6).unwrap().gateway, Some("fd00::1".parse().unwrap()));
        assert!(parse_route_get("RTNETLINK answers: Network is unreachable").is_err());
    }

    fn facts(f: impl FnOnce(&mut SysfsFacts)) -> SysfsFacts {
        let mut s = SysfsFacts {
            present: true,
            arphrd: Some(1),
            ..SysfsFacts::default()
        };
        f(&mut s);
        s
    }

    #[test]
    fn classification_follows_sysfs() {
        let k = |s: SysfsFacts| classify("x0", &s).0;
        let nic = |s: &mut SysfsFacts| {
            s.device = true;
            s.driver = Some("ixgbe".into());
        };
        assert_eq!(k(facts(nic)), InterfaceKind::Ethernet);
        assert_eq!(k(facts(|s| s.arphrd = Some(772))), InterfaceKind::Loopback);
        assert_eq!(
            k(facts(|s| {
                nic(s);
                s.wireless = true
            })),
            InterfaceKind::WiFi
        );
        assert_eq!(k(facts(|s| s.devtype = Some("wlan".into()))), InterfaceKind::WiFi);
        assert_eq!(
            k(facts(|s| {
                s.device = true;
                s.driver = Some("thunderbolt-net".into())
            })),
            InterfaceKind::Thunderbolt
        );
        assert_eq!(
            k(facts(|s| {
                s.bridge = true;
                s.devtype = Some("bridge".into())
            })),
            InterfaceKind::Bridge
        );
        assert_eq!(
            k(facts(|s| {
                s.arphrd = Some(65534);
                s.tun_flags = Some(0x1801)
            })),
            InterfaceKind::VpnTunnel
        );
        assert_eq!(k(facts(|s| s.tun_flags = Some(0x1802))), InterfaceKind::Virtual, "tap");
        assert_eq!(k(facts(|s| s.devtype = Some("vxlan".into()))), InterfaceKind::VpnTunnel);
        assert_eq!(
            k(facts(|s| {
                s.arphrd = Some(65534);
                s.devtype = Some("wireguard".into())
            })),
            InterfaceKind::VpnTunnel
        );
        assert_eq!(k(facts(|s| s.arphrd = Some(778))), InterfaceKind::VpnTunnel, "gre");
        assert_eq!(k(facts(|s| s.devtype = Some("vlan".into()))), InterfaceKind::Virtual);
        assert_eq!(k(facts(|_| {})), InterfaceKind::Virtual, "veth: no device");
        assert_eq!(
            k(facts(|s| {
                s.device = true;
                s.arphrd = Some(32)
            })),
            InterfaceKind::Unknown,
            "InfiniBand"
        );
        assert_eq!(
            k(facts(|s| {
                nic(s);
                s.devtype = Some("wwan".into())
            })),
            InterfaceKind::Unknown,
            "cellular"
        );
        assert_eq!(
            classify("vpn0", &facts(|s| s.devtype = Some("vxlan".into()))).1,
            "sysfs DEVTYPE=vxlan: a tunnel"
        );
    }

    #[test]
    fn names_count_only_without_sysfs() {
        let none = SysfsFacts::default();
        assert_eq!(classify("tailscale0", &none).0, InterfaceKind::VpnTunnel);
        assert_eq!(classify("wg0", &none).0, InterfaceKind::VpnTunnel);
        assert_eq!(classify("lo", &none).0, InterfaceKind::Loopback);
        assert_eq!(classify("eth0", &none).0, InterfaceKind::Unknown);
        // A veth named like a tunnel is still a veth when sysfs can say so.
        assert_eq!(classify("tun7", &facts(|_| {})).0, InterfaceKind::Virtual);
    }

    #[test]
    fn sysfs_is_read_from_the_seam() {
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("class/net");
        let wl = net.join("wlan0");
        std::fs::create_dir_all(wl.join("wireless")).unwrap();
        std::fs::write(wl.join("type"), "1\n").unwrap();
        let tb = net.join("thunderbolt0");
        std::fs::create_dir_all(tb.join("dev")).unwrap();
        std::fs::create_dir_all(dir.path().join("drivers/thunderbolt-net")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("drivers/thunderbolt-net"), tb.join("dev/driver")).unwrap();
        std::os::unix::fs::symlink(tb.join("dev"), tb.join("device")).unwrap();
        std::fs::write(tb.join("type"), "1\n").unwrap();
        std::fs::write(tb.join("uevent"), "INTERFACE=thunderbolt0\nIFINDEX=5\n").unwrap();
        let t = net.join("tun0");
        std::fs::create_dir_all(&t).unwrap();
        std::fs::write(t.join("tun_flags"), "0x1801\n").unwrap();
        std::fs::write(t.join("type"), "65534\n").unwrap();
        let read = |n: &str| SysfsFacts::read(dir.path(), n);
        assert_eq!(classify("wlan0", &read("wlan0")).0, InterfaceKind::WiFi);
        let s = read("thunderbolt0");
        assert_eq!((s.device, s.driver.as_deref()), (true, Some("thunderbolt-net")));
        assert_eq!(classify("thunderbolt0", &s).0, InterfaceKind::Thunderbolt);
        assert_eq!(read("tun0").tun_flags, Some(0x1801));
        assert_eq!(classify("tun0", &read("tun0")).0, InterfaceKind::VpnTunnel);
        assert!(!read("nope0").present);
    }

    #[test]
    fn find_asks_ip_and_reports_no_route() {
        let dest = Destination::new("10.8.0.1".parse().unwrap());
        let mut r = Runner::record().answer(
            "ip -j route get",
            Output::failed(2, "RTNETLINK answers: Network is unreachable\n"),
        );
        let e = find(&mut r, &dest).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no route to 10.8.0.1: RTNETLINK answers: Network is unreachable"
        );
        let mut r = Runner::record().ok("ip -j route get", JSON_LOCAL);
        let f = find(&mut r, &Destination::new("127.0.0.1".parse().unwrap())).unwrap();
        assert_eq!(f.interface, "lo");
        assert_eq!(r.log(), ["ip -j route get 127.0.0.1"]);
        let zoned = Destination {
            addr: "fe80::1".parse().unwrap(),
            zone: Some("va".into()),
        };
        let mut r = Runner::record().ok("ip -j route get", JSON_V6);
        find(&mut r, &zoned).unwrap();
        assert_eq!(r.log(), ["ip -j route get fe80::1 oif va"]);
        let mut r = Runner::record().ok("ip -j route get", "[garbage");
        assert!(
            find(&mut r, &dest)
                .unwrap_err()
                .to_string()
                .starts_with("unexpected output from `ip -j route get 10.8.0.1`")
        );
    }
}
