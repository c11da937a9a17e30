//! macOS: the route from `route -n get`, the interface's kind from its hardware port
//! (`networksetup -listallhardwareports`) or its name, and its link facts from `ifconfig DEV`.
//!
//! Hardware-port names may be localized, so a kind is only claimed on a name saf-net knows; an
//! unrecognized `en*` device is asked `networksetup -getairportnetwork DEV`, which only a Wi-Fi
//! interface answers. Anything else is Unknown, never guessed.

use std::net::IpAddr;

use super::{Destination, InterfaceKind, RouteError, RouteFacts};
use crate::runner::{Cmd, Runner};
use crate::tune::macos::{failure, link_from_media, parse_hardware_ports};
use crate::tune::settings::{MediaInfo, Port};

/// What `route -n get` printed. The format (route(8), `print_getmsg` in Apple's route.c):
///
/// ```text
///    route to: 192.0.43.10
/// destination: default
///        mask: default
///     gateway: 192.168.1.1
///   interface: en1
///       flags: <UP,GATEWAY,DONE,STATIC,PRCLONING>
///  recvpipe  sendpipe  ssthresh  rtt,msec    rttvar  hopcount      mtu     expire
///        0         0         0         0         0         0      1500         0
/// ```
///
/// `gateway:` appears only for routes through a router (RTF_GATEWAY). An address with no route
/// prints `route: writing to routing socket: not in table` on stderr and exits 1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteGet {
    pub destination: Option<String>,
    pub gateway: Option<IpAddr>,
    pub interface: Option<String>,
    pub flags: Vec<String>,
    /// The `mtu` column of the metrics table.
    pub mtu: Option<u32>,
}

/// An address as route prints it, without a `%zone`; None for link addresses (`link#4`, MACs).
fn address(text: &str) -> Option<IpAddr> {
    text.split('%').next()?.trim().parse().ok()
}

/// The metrics table: a header line naming the columns, then a line of values.
fn metric(lines: &[&str], column: &str) -> Option<u32> {
    let at = lines
        .iter()
        .position(|l| l.split_whitespace().any(|w| w == "recvpipe"))?;
    let header: Vec<&str> = lines[at].split_whitespace().collect();
    let values: Vec<&str> = lines.get(at + 1)?.split_whitespace().collect();
    let i = header.iter().position(|h| *h == column)?;
    values.get(i)?.parse().ok()
}

/// Parses `route -n get` output.
pub fn parse_route_get(text: &str) -> RouteGet {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = RouteGet {
        mtu: metric(&lines, "mtu"),
        ..RouteGet::default()
    };
    for line in &lines {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "destination" => out.destination = Some(value.to_string()),
            "gateway" => out.gateway = address(value),
            "interface" => out.interface = Some(value.to_string()).filter(|v| !v.is_empty()),
            "flags" => {
                out.flags = value
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .split(',')
                    .filter(|f| !f.is_empty())
                    .map(String::from)
                    .collect();
            }
            _ => {}
        }
    }
    out
}

/// What `ifconfig DEV` says about the link. The format (macOS ifconfig(8)):
///
/// ```text
/// en0: flags=8863<UP,BROADCAST,SMART,RUNNING,SIMPLEX,MULTICAST> mtu 1500
///         ether 3c:a6:f6:12:34:56
///         media: autoselect (10Gbase-T <full-duplex>)
///         status: active
/// ```
///
/// A bridge lists its members as `member: en2 flags=3<LEARNING,DISCOVER>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ifconfig {
    pub mtu: Option<u32>,
    /// The `media:` value as printed: "autoselect (10Gbase-T <full-duplex>)", or a fixed "1000baseT <full-duplex>".
    pub media: Option<String>,
    /// `active` or `inactive`.
    pub status: Option<String>,
    pub members: Vec<String>,
}

/// Parses `ifconfig DEV` output.
pub fn parse_ifconfig(text: &str) -> Ifconfig {
    let mut out = Ifconfig::default();
    if let Some(first) = text.lines().next() {
        let words: Vec<&str> = first.split_whitespace().collect();
        out.mtu = words
            .iter()
            .position(|w| *w == "mtu")
            .and_then(|i| words.get(i + 1)?.parse().ok());
    }
    for line in text.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("media:") {
            out.media = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("status:") {
            out.status = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("member:") {
            out.members.extend(v.split_whitespace().next().map(String::from));
        }
    }
    out
}

/// The media the link runs at: inside the parentheses under autoselect, else the fixed setting.
fn active_media(media: &str) -> &str {
    match (media.find('('), media.rfind(')')) {
        (Some(a), Some(b)) if b > a => media[a + 1..b].trim(),
        _ => media.trim(),
    }
}

/// MTU, speed (Mb/s) and duplex from ifconfig; a link whose status is not active has no speed.
pub fn link_facts(i: &Ifconfig) -> (Option<u32>, Option<u32>, Option<String>) {
    let active = i.status.as_deref() == Some("active");
    let link = i.media.as_deref().filter(|_| active).map(|m| {
        link_from_media(&MediaInfo {
            current: String::new(),
            active: active_media(m).to_string(),
            valid: Vec::new(),
        })
    });
    let (speed, duplex) = link.map_or((None, None), |l| (l.speed_mbps, l.duplex));
    (i.mtu, speed, duplex)
}

fn named(device: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|p| {
        device
            .strip_prefix(p)
            .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit()))
    })
}

/// The kind a hardware port's name says, if it is a name saf-net knows.
fn port_kind(name: &str) -> Option<InterfaceKind> {
    let lower = name.to_ascii_lowercase();
    let is_word = |w: &str| name.split_whitespace().any(|x| x == w);
    if ["wi-fi", "airport", "wlan"].contains(&lower.as_str()) {
        Some(InterfaceKind::WiFi)
    } else if lower.contains("thunderbolt bridge") {
        Some(InterfaceKind::ThunderboltBridge)
    } else if lower.contains("ethernet") || is_word("LAN") {
        Some(InterfaceKind::Ethernet)
    } else if lower.starts_with("thunderbolt") {
        Some(InterfaceKind::Thunderbolt)
    } else {
        None
    }
}

/// The kind of a bridge with no hardware port: the Thunderbolt Bridge when its members are Thunderbolt ports.
fn bridge_kind(device: &str, ports: &[Port], members: &[String]) -> (InterfaceKind, String) {
    let tb: Vec<&str> = members
        .iter()
        .filter(|m| {
            ports
                .iter()
                .any(|p| &p.device == *m && port_kind(&p.name) == Some(InterfaceKind::Thunderbolt))
        })
        .map(String::as_str)
        .collect();
    if !tb.is_empty() {
        let src = format!("bridge members {} are Thunderbolt ports", tb.join(", "));
        return (InterfaceKind::ThunderboltBridge, src);
    }
    (InterfaceKind::Bridge, format!("interface name {device}, a bridge"))
}

/// The kind of `device`, how it was known, and its hardware port's name.
pub fn classify(device: &str, ports: &[Port], members: &[String]) -> (InterfaceKind, String, Option<String>) {
    let port = ports.iter().find(|p| p.device == device).map(|p| p.name.clone());
    if named(device, &["lo"]) {
        return (InterfaceKind::Loopback, format!("interface name {device}"), port);
    }
    if named(device, &["utun", "ipsec", "ppp", "gif", "stf"]) {
        let src = format!("interface name {device}, a macOS tunnel (VPN such as Tailscale or WireGuard)");
        return (InterfaceKind::VpnTunnel, src, port);
    }
    if named(device, &["awdl", "llw"]) {
        let src = format!("interface name {device}, Apple Wireless Direct Link over Wi-Fi");
        return (InterfaceKind::WiFi, src, port);
    }
    if let Some(name) = &port {
        return match port_kind(name) {
            Some(k) => (k, format!("hardware port \"{name}\""), port),
            None => {
                let src = format!("hardware port \"{name}\" is not a name saf-net knows");
                (InterfaceKind::Unknown, src, port)
            }
        };
    }
    if named(device, &["bridge"]) {
        let (k, src) = bridge_kind(device, ports, members);
        return (k, src, None);
    }
    let src = format!("{device} has no hardware port and its name says nothing");
    (InterfaceKind::Unknown, src, None)
}

/// What `networksetup -getairportnetwork DEV` says: Some(true) for a Wi-Fi interface (associated
/// or not), Some(false) for "DEV is not a Wi-Fi interface.", None when its answer says neither.
pub fn parse_airport(text: &str) -> Option<bool> {
    if text.contains("is not a Wi-Fi interface") {
        Some(false)
    } else if text.contains("Current Wi-Fi Network:")
        || text.contains("You are not associated with an AirPort network")
        || text.contains("Wi-Fi power is currently off")
    {
        Some(true)
    } else {
        None
    }
}

/// Runs `route -n get` for `dest`.
fn route_get(r: &mut Runner, dest: &Destination) -> Result<RouteGet, RouteError> {
    let target = match (&dest.addr, &dest.zone) {
        (IpAddr::V6(a), Some(z)) => format!("{a}%{z}"),
        (a, _) => a.to_string(),
    };
    let mut cmd = Cmd::new("route").arg("-n").arg("get");
    if dest.addr.is_ipv6() {
        cmd = cmd.arg("-inet6");
    }
    let cmd = cmd.arg(target).read_only();
    let out = r.run(&cmd)?;
    if !out.success() {
        return Err(RouteError::NoRoute {
            dest: dest.addr,
            reason: out.reason(),
        });
    }
    let got = parse_route_get(&out.stdout);
    if got.interface.is_none() {
        return Err(RouteError::Output {
            cmd: cmd.to_string(),
            detail: "no \"interface:\" line".into(),
        });
    }
    Ok(got)
}

/// The hardware ports, or none when networksetup fails (the kind is then known only by name).
fn hardware_ports(r: &mut Runner) -> Vec<Port> {
    let cmd = Cmd::new("networksetup").arg("-listallhardwareports").read_only();
    match r.run(&cmd) {
        Ok(out) if failure(&out).is_none() => parse_hardware_ports(&out.stdout),
        _ => Vec::new(),
    }
}

/// `ifconfig DEV`, or nothing known when it fails.
fn ifconfig(r: &mut Runner, device: &str) -> Ifconfig {
    match r.run(&Cmd::new("ifconfig").arg(device).read_only()) {
        Ok(out) if out.success() => parse_ifconfig(&out.stdout),
        _ => Ifconfig::default(),
    }
}

/// Asks networksetup whether an `en*` device of no known kind is Wi-Fi.
fn airport_probe(r: &mut Runner, device: &str) -> Option<bool> {
    let cmd = Cmd::new("networksetup")
        .args(["-getairportnetwork", device])
        .read_only();
    let out = r.run(&cmd).ok()?;
    parse_airport(&format!("{}\n{}", out.stdout, out.stderr))
}

/// The route to `dest` and its interface's kind and link facts, from macOS's tools.
pub fn find(r: &mut Runner, dest: &Destination) -> Result<RouteFacts, RouteError> {
    let route = route_get(r, dest)?;
    let device = route.interface.clone().unwrap_or_default();
    let ports = hardware_ports(r);
    let ifc = ifconfig(r, &device);
    let (mut kind, mut kind_source, hardware_port) = classify(&device, &ports, &ifc.members);
    if kind == InterfaceKind::Unknown && named(&device, &["en"]) {
        match airport_probe(r, &device) {
            Some(true) => {
                kind = InterfaceKind::WiFi;
                kind_source = format!("networksetup -getairportnetwork {device} answers for a Wi-Fi interface");
            }
            Some(false) => kind_source += "; networksetup says it is not Wi-Fi",
            None => {}
        }
    }
    let (mtu, speed_mbps, duplex) = link_facts(&ifc);
    Ok(RouteFacts {
        destination: dest.addr,
        interface: device,
        kind,
        kind_source,
        hardware_port,
        gateway: route.gateway,
        source: None,
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

    // `route -n get` as printed by macOS (route(8)); the first is the real-world example of a
    // destination behind the default route, the others are the on-link and tunnel shapes.
    const VIA_DEFAULT: &str = "   route to: 192.0.43.10\ndestination: default\n       mask: default\n    gateway: 192.168.1.1\n\
  interface: en1\n      flags: <UP,GATEWAY,DONE,STATIC,PRCLONING>\n \
recvpipe  sendpipe  ssthresh  rtt,msec    rttvar  hopcount      mtu     expire\n       \
0         0         0         0         0         0      1500         0 \n";
    const ON_LINK: &str = "   route to: 192.168.1.172\ndestination: 192.168.1.172\n  interface: en0\n\
      flags: <UP,HOST,DONE,LLINFO,WASCLONED,IFSCOPE,IFREF>\n \
recvpipe  sendpipe  ssthresh  rtt,msec    rttvar  hopcount      mtu     expire\n       \
0         0         0         0         0         0      9000      1185 \n";
    const TAILSCALE: &str = "   route to: 100.101.102.103\ndestination: 100.64.0.0\n       mask: 255.192.0.0\n\
  interface: utun4\n      flags: <UP,DONE,CLONING,STATIC>\n \
recvpipe  sendpipe  ssthresh  rtt,msec    rttvar  hopcount      mtu     expire\n       \
0         0         0         0         0         0      1280         0 \n";
    const NOT_IN_TABLE: &str = "route: writing to routing socket: not in table\n";

    // networksetup -listallhardwareports on a Mac Studio (macOS 15).
    const PORTS: &str = "\nHardware Port: Ethernet\nDevice: en0\nEthernet Address: 3c:a6:f6:12:34:56\n\n\
Hardware Port: Wi-Fi\nDevice: en1\nEthernet Address: 3c:a6:f6:12:34:58\n\n\
Hardware Port: Thunderbolt 1\nDevice: en2\nEthernet Address: 36:1a:2b:3c:4d:01\n\n\
Hardware Port: Thunderbolt 2\nDevice: en3\nEthernet Address: 36:1a:2b:3c:4d:02\n\n\
Hardware Port: Thunderbolt Bridge\nDevice: bridge0\nEthernet Address: 36:1a:2b:3c:4d:00\n\n\
Hardware Port: Thunderbolt Ethernet Slot 1\nDevice: en5\nEthernet Address: 00:30:93:12:34:57\n\n\
Hardware Port: USB 10/100/1G/2.5G LAN\nDevice: en6\nEthernet Address: 00:e0:4c:68:00:01\n\n\
Hardware Port: iPhone USB\nDevice: en7\nEthernet Address: N/A\n\nVLAN Configurations\n===================\n";

    // ifconfig en0 on a Mac Studio with the 10GbE port linked.
    const IFCONFIG_EN0: &str = "en0: flags=8863<UP,BROADCAST,SMART,RUNNING,SIMPLEX,MULTICAST> mtu 9000\n\
\toptions=50b<RXCSUM,TXCSUM,VLAN_HWTAGGING,AV,CHANNEL_IO>\n\tether 3c:a6:f6:12:34:56\n\
\tinet6 fe80::1c2b:3d4e:5f60:7182%en0 prefixlen 64 secured scopeid 0x4\n\
\tinet 192.168.1.10 netmask 0xffffff00 broadcast 192.168.1.255\n\tnd6 options=201<PERFORMNUD,DAD>\n\
\tmedia: autoselect (10Gbase-T <full-duplex,flow-control>)\n\tstatus: active\n";
    const IFCONFIG_BRIDGE: &str = "bridge0: flags=8863<UP,BROADCAST,SMART,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n\
\toptions=63<RXCSUM,TXCSUM,TSO4,TSO6>\n\tether 36:1a:2b:3c:4d:00\n\tConfiguration:\n\
\t\tid 0:0:0:0:0:0 priority 0 hellotime 0 fwddelay 0\n\
\tmember: en2 flags=3<LEARNING,DISCOVER>\n\t        ifmaxaddr 0 port 9 priority 0 path cost 0\n\
\tmember: en3 flags=3<LEARNING,DISCOVER>\n\t        ifmaxaddr 0 port 10 priority 0 path cost 0\n\
\tnd6 options=201<PERFORMNUD,DAD>\n\tmedia: <unknown type>\n\tstatus: inactive\n";
    const IFCONFIG_UTUN: &str = "utun4: flags=8051<UP,POINTOPOINT,RUNNING,MULTICAST> mtu 1280\n\
\tinet 100.101.102.103 --> 100.101.102.103 netmask 0xffffffff\n";

    fn ports() -> Vec<Port> {
        parse_hardware_ports(PORTS)
    }

    #[test]
    fn route_get_reads_interface_gateway_flags_and_mtu() {
        let r = parse_route_get(VIA_DEFAULT);
        assert_eq!(r.interface.as_deref(), Some("en1"));
        assert_eq!(r.gateway, Some("192.168.1.1".parse().unwrap()));
        assert_eq!(r.destination.as_deref(), Some("default"));
        assert_eq!(r.flags, ["UP", "GATEWAY", "DONE", "STATIC", "PRCLONING"]);
        assert_eq!(r.mtu, Some(1500));
        let r = parse_route_get(ON_LINK);
        assert_eq!(
            (r.interface.as_deref(), r.gateway, r.mtu),
            (Some("en0"), None, Some(9000))
        );
        let r = parse_route_get(TAILSCALE);
        assert_eq!((r.interface.as_deref(), r.mtu), (Some("utun4"), Some(1280)));
        let v6 = "   route to: fe80::1%en0\ndestination: fe80::%en0\n       mask: ffff:ffff:ffff:ffff::\n\
    gateway: fe80::1%en0\n  interface: en0\n      flags: <UP,GATEWAY,DONE>\n";
        let r = parse_route_get(v6);
        assert_eq!(r.gateway, Some("fe80::1".parse().unwrap()));
        assert_eq!(r.mtu, None, "no table, no MTU");
        assert_eq!(parse_route_get(NOT_IN_TABLE), RouteGet::default());
    }

    #[test]
    fn ifconfig_gives_mtu_media_status_and_members() {
        let i = parse_ifconfig(IFCONFIG_EN0);
        assert_eq!(i.mtu, Some(9000));
        assert_eq!(
            i.media.as_deref(),
            Some("autoselect (10Gbase-T <full-duplex,flow-control>)")
        );
        assert_eq!(link_facts(&i), (Some(9000), Some(10_000), Some("full".into())));
        let b = parse_ifconfig(IFCONFIG_BRIDGE);
        assert_eq!(b.members, ["en2", "en3"]);
        assert_eq!(link_facts(&b), (Some(1500), None, None), "inactive: no speed");
        assert_eq!(link_facts(&parse_ifconfig(IFCONFIG_UTUN)), (Some(1280), None, None));
        let fixed = "en5: flags=8863<UP> mtu 1500\n\tmedia: 1000baseT <full-duplex>\n\tstatus: active\n";
        assert_eq!(
            link_facts(&parse_ifconfig(fixed)),
            (Some(1500), Some(1000), Some("full".into()))
        );
        let wifi = "en1: flags=8863<UP> mtu 1500\n\tmedia: autoselect\n\tstatus: active\n";
        assert_eq!(
            link_facts(&parse_ifconfig(wifi)),
            (Some(1500), None, None),
            "Wi-Fi has no media speed"
        );
        let down = "en0: flags=8863<UP> mtu 1500\n\tmedia: autoselect (none)\n\tstatus: inactive\n";
        assert_eq!(link_facts(&parse_ifconfig(down)), (Some(1500), None, None));
        assert_eq!(parse_ifconfig(""), Ifconfig::default());
    }

    #[test]
    fn kinds_come_from_the_hardware_port_or_the_name() {
        let p = ports();
        let kind = |dev: &str| classify(dev, &p, &[]).0;
        assert_eq!(kind("en0"), InterfaceKind::Ethernet);
        assert_eq!(kind("en1"), InterfaceKind::WiFi);
        assert_eq!(kind("en2"), InterfaceKind::Thunderbolt);
        assert_eq!(kind("bridge0"), InterfaceKind::ThunderboltBridge);
        assert_eq!(
            kind("en5"),
            InterfaceKind::Ethernet,
            "a Thunderbolt Ethernet adapter is Ethernet"
        );
        assert_eq!(kind("en6"), InterfaceKind::Ethernet, "a USB LAN adapter");
        assert_eq!(kind("en7"), InterfaceKind::Unknown, "iPhone USB is not claimed");
        assert_eq!(kind("utun4"), InterfaceKind::VpnTunnel);
        assert_eq!(kind("ipsec0"), InterfaceKind::VpnTunnel);
        assert_eq!(kind("ppp0"), InterfaceKind::VpnTunnel);
        assert_eq!(kind("lo0"), InterfaceKind::Loopback);
        assert_eq!(kind("awdl0"), InterfaceKind::WiFi);
        assert_eq!(kind("en9"), InterfaceKind::Unknown, "no port: unknown, not Ethernet");
        assert_eq!(kind("utunnel"), InterfaceKind::Unknown, "a prefix is not enough");
        let (k, src, port) = classify("en1", &p, &[]);
        assert_eq!(
            (k, src.as_str(), port.as_deref()),
            (InterfaceKind::WiFi, "hardware port \"Wi-Fi\"", Some("Wi-Fi"))
        );
        let (_, src, port) = classify("en7", &p, &[]);
        assert_eq!(src, "hardware port \"iPhone USB\" is not a name saf-net knows");
        assert_eq!(port.as_deref(), Some("iPhone USB"));
    }

    #[test]
    fn bridges_without_a_port_are_judged_by_their_members() {
        let p = ports();
        let members = vec!["en2".to_string(), "en3".to_string()];
        let (k, src, _) = classify("bridge1", &p, &members);
        assert_eq!(k, InterfaceKind::ThunderboltBridge);
        assert_eq!(src, "bridge members en2, en3 are Thunderbolt ports");
        assert_eq!(classify("bridge100", &p, &["en0".into()]).0, InterfaceKind::Bridge);
        assert_eq!(classify("bridge100", &p, &[]).0, InterfaceKind::Bridge);
    }

    #[test]
    fn localized_port_names_are_not_guessed() {
        // A port named in another language: Ethernet is still recognized, an unknown word is not claimed.
        let p = parse_hardware_ports(
            "Hardware Port: Ethernet-Anschluss\nDevice: en0\n\nHardware Port: Réseau\nDevice: en1\n",
        );
        assert_eq!(classify("en0", &p, &[]).0, InterfaceKind::Ethernet);
        assert_eq!(classify("en1", &p, &[]).0, InterfaceKind::Unknown);
        assert_eq!(port_kind("WLAN"), Some(InterfaceKind::WiFi), "WLAN is not the word LAN");
    }

    #[test]
    fn the_airport_probe_tells_wifi_apart() {
        assert_eq!(parse_airport("Current Wi-Fi Network: Home\n"), Some(true));
        assert_eq!(
            parse_airport("You are not associated with an AirPort network.\n"),
            Some(true)
        );
        assert_eq!(
            parse_airport("en0 is not a Wi-Fi interface.\n** Error: Error obtaining wireless information.\n"),
            Some(false)
        );
        assert_eq!(parse_airport("networksetup: unknown option"), None);
    }

    fn mac(route_out: Output) -> Runner {
        Runner::record()
            .answer("route -n get", route_out)
            .ok("networksetup -listallhardwareports", PORTS)
            .ok("ifconfig en0", IFCONFIG_EN0)
            .ok("ifconfig utun4", IFCONFIG_UTUN)
    }

    #[test]
    fn find_puts_route_kind_port_and_link_together() {
        let dest = Destination::new("192.168.1.172".parse().unwrap());
        let mut r = mac(Output::ok(ON_LINK));
        let f = find(&mut r, &dest).unwrap();
        assert_eq!(f.interface, "en0");
        assert_eq!(f.kind, InterfaceKind::Ethernet);
        assert_eq!(f.hardware_port.as_deref(), Some("Ethernet"));
        assert_eq!((f.gateway, f.source), (None, None));
        assert_eq!(
            (f.mtu, f.speed_mbps, f.duplex.as_deref()),
            (Some(9000), Some(10_000), Some("full"))
        );
        assert_eq!(f.route_mtu, Some(9000));
        assert_eq!(r.log()[0], "route -n get 192.168.1.172");
        assert!(r.changes().is_empty(), "only reads: {:?}", r.changes());
        let f = find(
            &mut mac(Output::ok(TAILSCALE)),
            &Destination::new("100.101.102.103".parse().unwrap()),
        )
        .unwrap();
        assert_eq!((f.interface.as_str(), f.kind), ("utun4", InterfaceKind::VpnTunnel));
        assert_eq!((f.mtu, f.speed_mbps), (Some(1280), None));
    }

    #[test]
    fn no_route_is_an_error_naming_what_route_said() {
        let dest = Destination::new("10.9.9.9".parse().unwrap());
        let e = find(&mut mac(Output::failed(1, NOT_IN_TABLE)), &dest).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no route to 10.9.9.9: route: writing to routing socket: not in table"
        );
        let e = find(&mut mac(Output::ok("nonsense\n")), &dest).unwrap_err();
        assert!(e.to_string().contains("no \"interface:\" line"), "{e}");
    }

    #[test]
    fn ipv6_asks_for_inet6_with_the_zone() {
        let dest = Destination {
            addr: "fe80::1".parse().unwrap(),
            zone: Some("en0".into()),
        };
        let mut r = mac(Output::ok(ON_LINK));
        find(&mut r, &dest).unwrap();
        assert_eq!(r.log()[0], "route -n get -inet6 fe80::1%en0");
    }

    #[test]
    fn an_unknown_en_device_is_asked_whether_it_is_wifi() {
        let dest = Destination::new("10.0.0.2".parse().unwrap());
        let route = "   route to: 10.0.0.2\ndestination: 10.0.0.0\n  interface: en9\n      flags: <UP,DONE,CLONING>\n";
        let mut r = Runner::record()
            .ok("route -n get", route)
            .ok("networksetup -listallhardwareports", PORTS)
            .ok(
                "networksetup -getairportnetwork en9",
                "You are not associated with an AirPort network.\n",
            );
        let f = find(&mut r, &dest).unwrap();
        assert_eq!(f.kind, InterfaceKind::WiFi);
        assert!(
            f.kind_source.starts_with("networksetup -getairportnetwork en9"),
            "{}",
            f.kind_source
        );
        let mut r = Runner::record().ok("route -n get", route).ok(
            "networksetup -getairportnetwork en9",
            "en9 is not a Wi-Fi interface.\n** Error: Error obtaining wireless information.\n",
        );
        let f = find(&mut r, &dest).unwrap();
        assert_eq!(f.kind, InterfaceKind::Unknown);
        assert!(
            f.kind_source.ends_with("networksetup says it is not Wi-Fi"),
            "{}",
            f.kind_source
        );
    }
}
