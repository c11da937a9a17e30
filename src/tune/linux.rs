//! Linux: `ip` for interfaces, MTUs and addresses, `ethtool` for speed, duplex, autonegotiation,
//! offloads and rings, `sysctl` for the socket buffers. The parsers read the real output formats
//! (`ip -j` JSON, ethtool's "Key: value" text).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::TuneError;
use super::backend::{Backend, BackendKind, Persistence};
use super::settings::{Desired, LinkInfo, LinkTarget, MtuInfo, Port, Reading};
use crate::profile::{Duplex, Profile};
use crate::runner::{Cmd, Runner};

/// The Linux sysctls saf-net tunes, in the order `show` lists them.
pub const SYSCTLS: &[&str] = &[
    "net.core.rmem_max",
    "net.core.wmem_max",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
];

/// Where `--persist` writes on Linux (read at boot by systemd-sysctl or procps).
pub const SYSCTL_CONF: &str = "/etc/sysctl.d/90-saf-net.conf";

/// The Linux backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct Linux;

#[derive(Debug, Deserialize)]
struct IpLink {
    ifname: String,
    mtu: u32,
    #[serde(default)]
    min_mtu: Option<u32>,
    #[serde(default)]
    max_mtu: Option<u32>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    addr_info: Vec<AddrInfo>,
}

#[derive(Debug, Deserialize)]
struct AddrInfo {
    local: String,
}

/// One interface from `ip -j [-d] link show` / `ip -j addr show`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpInterface {
    pub name: String,
    pub mtu: u32,
    pub min_mtu: Option<u32>,
    pub max_mtu: Option<u32>,
    pub mac: Option<String>,
    pub addresses: Vec<IpAddr>,
}

/// Interfaces from `ip -j link show`, `ip -j -d link show` or `ip -j addr show`.
pub fn parse_ip_links(json: &str) -> Result<Vec<IpInterface>, serde_json::Error> {
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    let links: Vec<IpLink> = serde_json::from_str(json)?;
    Ok(links
        .into_iter()
        .map(|l| IpInterface {
            addresses: l.addr_info.iter().filter_map(|a| a.local.parse().ok()).collect(),
            name: l.ifname,
            mtu: l.mtu,
            min_mtu: l.min_mtu,
            // 0 means the kernel sets no upper bound (ifb, some virtual devices).
            max_mtu: l.max_mtu.filter(|&m| m > 0),
            mac: l.address,
        })
        .collect())
}

/// Link settings from `ethtool IF`.
pub fn parse_ethtool(text: &str) -> LinkInfo {
    let mut info = LinkInfo::default();
    // Which list a continuation line (modes only, no "Key:") belongs to.
    let mut list: Option<&'static str> = None;
    let modes = |v: &str| -> Vec<String> {
        if v.trim() == "Not reported" {
            Vec::new()
        } else {
            v.split_whitespace().map(String::from).collect()
        }
    };
    for line in text.lines() {
        let t = line.trim();
        let Some((k, v)) = t.split_once(':') else {
            match list {
                Some("supported") => info.supported.extend(modes(t)),
                Some("advertised") => info.advertised.extend(modes(t)),
                _ => {}
            }
            continue;
        };
        let v = v.trim();
        list = None;
        match k {
            "Supported link modes" => {
                info.supported = modes(v);
                list = Some("supported");
            }
            "Advertised link modes" => {
                info.advertised = modes(v);
                list = Some("advertised");
            }
            "Supports auto-negotiation" => info.supports_autoneg = v.eq_ignore_ascii_case("yes"),
            "Speed" => info.speed_mbps = v.strip_suffix("Mb/s").and_then(|s| s.trim().parse().ok()),
            "Duplex" => {
                info.duplex = match v.to_ascii_lowercase().as_str() {
                    "full" => Some("full".into()),
                    "half" => Some("half".into()),
                    _ => None,
                }
            }
            "Auto-negotiation" => info.autoneg = v == "on",
            "Link detected" => info.detected = Some(v == "yes"),
            _ => {}
        }
    }
    info
}

/// One offload feature from `ethtool -k IF`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Feature {
    pub on: bool,
    /// "[fixed]": the driver does not let it change.
    pub fixed: bool,
}

/// Top-level features from `ethtool -k IF` ("tcp-segmentation-offload: on"); indented sub-features
/// are left out.
pub fn parse_features(text: &str) -> BTreeMap<String, Feature> {
    text.lines()
        .filter(|l| !l.starts_with(char::is_whitespace))
        .filter_map(|l| {
            let (k, v) = l.split_once(": ")?;
            let mut w = v.split_whitespace();
            let on = match w.next()? {
                "on" => true,
                "off" => false,
                _ => return None,
            };
            Some((
                k.to_string(),
                Feature {
                    on,
                    fixed: w.any(|x| x == "[fixed]"),
                },
            ))
        })
        .collect()
}

/// Ring sizes from `ethtool -g IF`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Rings {
    pub rx: Option<u32>,
    pub rx_max: Option<u32>,
    pub tx: Option<u32>,
    pub tx_max: Option<u32>,
}

/// Ring sizes: "Pre-set maximums:" then "Current hardware settings:", each with "RX:" and "TX:" lines.
pub fn parse_rings(text: &str) -> Rings {
    let mut r = Rings::default();
    let mut current = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("Pre-set maximums") {
            current = false;
        } else if t.starts_with("Current hardware settings") {
            current = true;
        } else if let Some((k, v)) = t.split_once(':') {
            let n = v.trim().parse().ok();
            match (k, current) {
                ("RX", false) => r.rx_max = n,
                ("TX", false) => r.tx_max = n,
                ("RX", true) => r.rx = n,
                ("TX", true) => r.tx = n,
                _ => {}
            }
        }
    }
    r
}

fn ip_json(r: &mut Runner, cmd: Cmd) -> Result<Vec<IpInterface>, TuneError> {
    let out = r.output(&cmd)?;
    parse_ip_links(&out).map_err(|e| TuneError::Output {
        cmd: cmd.to_string(),
        detail: e.to_string(),
    })
}

/// `ethtool -k IF`, read-only.
pub fn features_command(dev: &str) -> Cmd {
    Cmd::new("ethtool").args(["-k", dev]).read_only()
}

/// `ethtool -g IF`, read-only.
pub fn rings_command(dev: &str) -> Cmd {
    Cmd::new("ethtool").args(["-g", dev]).read_only()
}

/// Every interface with its MTU range (`ip -j -d link show`).
pub fn all_links(r: &mut Runner) -> Result<Vec<IpInterface>, TuneError> {
    ip_json(r, Cmd::new("ip").args(["-j", "-d", "link", "show"]).read_only())
}

impl Backend for Linux {
    fn kind(&self) -> BackendKind {
        BackendKind::Linux
    }

    fn ports_word(&self) -> &'static str {
        "interfaces"
    }

    fn ports(&self, r: &mut Runner) -> Result<Vec<Port>, TuneError> {
        let links = ip_json(r, Cmd::new("ip").args(["-j", "link", "show"]).read_only())?;
        Ok(links
            .into_iter()
            .map(|l| Port {
                device: l.name.clone(),
                name: l.name,
                mac: l.mac,
            })
            .collect())
    }

    fn read(&self, r: &mut Runner, port: &Port) -> Result<Reading, TuneError> {
        let cmd = Cmd::new("ip")
            .args(["-j", "-d", "link", "show", "dev", &port.device])
            .read_only();
        let text = cmd.to_string();
        let ipl = ip_json(r, cmd)?.into_iter().next().ok_or_else(|| TuneError::Output {
            cmd: text,
            detail: "no interface in it".into(),
        })?;
        // Some devices have no link settings to report (ifb: "No data available"); the MTU still counts.
        let (link, link_error) = match r.output(&Cmd::new("ethtool").arg(&port.device).read_only()) {
            Ok(text) => (Some(parse_ethtool(&text)), None),
            Err(e) => (None, Some(e.to_string())),
        };
        Ok(Reading {
            port: port.clone(),
            mtu: MtuInfo {
                active: ipl.mtu,
                configured: ipl.mtu,
                min: ipl.min_mtu,
                max: ipl.max_mtu,
            },
            media: None,
            link,
            link_error,
            media_error: None,
            members: Vec::new(),
        })
    }

    fn desired(&self, p: &Profile) -> Result<Desired, TuneError> {
        let t = p.tune.linux.as_ref().ok_or_else(|| TuneError::NoTuneSection {
            profile: p.name.clone(),
            os: "linux",
        })?;
        let s = &t.sysctl;
        let triple = |v: [u64; 3]| format!("{} {} {}", v[0], v[1], v[2]);
        let pairs = [
            ("net.core.rmem_max", s.rmem_max.map(|v| v.to_string())),
            ("net.core.wmem_max", s.wmem_max.map(|v| v.to_string())),
            ("net.ipv4.tcp_rmem", s.tcp_rmem.map(triple)),
            ("net.ipv4.tcp_wmem", s.tcp_wmem.map(triple)),
        ];
        let sysctls = pairs
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
            .collect();
        let link = LinkTarget {
            autoneg: t.autoneg,
            speed_mbps: t.speed_mbps,
            duplex: t.duplex.map(|d| match d {
                Duplex::Full => "full".to_string(),
                Duplex::Half => "half".to_string(),
            }),
            advertise: None,
        };
        Ok(Desired {
            mtu: Some(t.mtu),
            media: None,
            link: (link != LinkTarget::default()).then_some(link),
            sysctls,
            ..Default::default()
        })
    }

    fn sysctl_names(&self) -> &'static [&'static str] {
        SYSCTLS
    }

    fn mtu_command(&self, port: &Port, mtu: u32) -> Cmd {
        Cmd::new("ip").args(["link", "set", "dev", &port.device, "mtu", &mtu.to_string()])
    }

    fn media_command(&self, _port: &Port, _media: &str) -> Option<Cmd> {
        None
    }

    fn link_command(&self, port: &Port, t: &LinkTarget, now: &Reading) -> Option<Cmd> {
        let mut c = Cmd::new("ethtool").args(["-s", &port.device]);
        if let Some(s) = t.speed_mbps {
            c = c.args(["speed".to_string(), s.to_string()]);
        }
        if let Some(d) = &t.duplex {
            c = c.args(["duplex", d]);
        }
        if let Some(a) = t.autoneg {
            c = c.args(["autoneg", if a { "on" } else { "off" }]);
        }
        if let Some(adv) = &t.advertise {
            c = c.arg("advertise");
            let supported = now.link.as_ref().map(|l| l.supported.clone()).unwrap_or_default();
            let modes = if supported.is_empty() { adv.clone() } else { supported };
            for m in modes {
                let on = adv.contains(&m);
                c = c.args([m, if on { "on" } else { "off" }.to_string()]);
            }
        }
        Some(c)
    }

    fn addresses(&self, r: &mut Runner, port: &Port) -> Result<Vec<IpAddr>, TuneError> {
        let cmd = Cmd::new("ip")
            .args(["-j", "addr", "show", "dev", &port.device])
            .read_only();
        Ok(ip_json(r, cmd)?.into_iter().flat_map(|l| l.addresses).collect())
    }

    fn default_sysctl_conf(&self) -> &'static str {
        SYSCTL_CONF
    }

    fn interface_persistence(&self, setting: &str) -> Persistence {
        let note = if setting == "link" {
            "ethtool -s lasts until reboot; keep it with a systemd .link file (BitsPerSecond=, Duplex=, AutoNegotiation=) or NetworkManager"
        } else {
            "ip link set lasts until reboot; keep it in the network configuration (systemd-networkd MTUBytes=, NetworkManager ethernet.mtu, netplan mtu:)"
        };
        Persistence {
            survives_reboot: false,
            note: note.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Recorded from iproute2 6.1 and ethtool 6.1 on Linux 6.18 (veth) and from an Intel X550 (10GBASE-T).
    const LINK_DETAILS: &str = r#"[{"ifindex":3,"link":"vb","ifname":"va","flags":["BROADCAST","MULTICAST","M-DOWN"],"mtu":1500,"qdisc":"noop","operstate":"DOWN","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"86:48:d4:f0:de:76","broadcast":"ff:ff:ff:ff:ff:ff","promiscuity":0,"allmulti":0,"min_mtu":68,"max_mtu":65535,"linkinfo":{"info_kind":"veth"},"inet6_addr_gen_mode":"eui64","num_tx_queues":2,"num_rx_queues":2,"gso_max_size":65536,"gso_max_segs":65535}]"#;
    const ADDRS: &str = r#"[{"ifindex":2,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":9000,"qdisc":"mq","operstate":"UP","group":"default","txqlen":1000,"link_type":"ether","address":"0e:f5:63:18:d0:7f","broadcast":"ff:ff:ff:ff:ff:ff","addr_info":[{"family":"inet","local":"192.168.1.172","prefixlen":24,"scope":"global","label":"eth0","valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6","local":"fe80::cf5:63ff:fe18:d07f","prefixlen":64,"scope":"link","valid_life_time":4294967295,"preferred_life_time":4294967295}]}]"#;
    const ETHTOOL_VETH: &str = "Settings for va:\n\tSupported ports: [  ]\n\tSupported link modes:   Not reported\n\tSupported pause frame use: No\n\tSupports auto-negotiation: No\n\tSupported FEC modes: Not reported\n\tAdvertised link modes:  Not reported\n\tAdvertised pause frame use: No\n\tAdvertised auto-negotiation: No\n\tAdvertised FEC modes: Not reported\n\tSpeed: 10000Mb/s\n\tDuplex: Full\n\tAuto-negotiation: off\n\tPort: Twisted Pair\n\tPHYAD: 0\n\tTransceiver: internal\n\tMDI-X: Unknown\n\tLink detected: no\n";
    const ETHTOOL_X550: &str = "Settings for enp1s0f0:\n\tSupported ports: [ TP ]\n\tSupported link modes:   100baseT/Full\n\t                        1000baseT/Full\n\t                        10000baseT/Full\n\t                        2500baseT/Full\n\t                        5000baseT/Full\n\tSupported pause frame use: Symmetric\n\tSupports auto-negotiation: Yes\n\tSupported FEC modes: Not reported\n\tAdvertised link modes:  100baseT/Full\n\t                        1000baseT/Full\n\t                        10000baseT/Full\n\tAdvertised pause frame use: Symmetric\n\tAdvertised auto-negotiation: Yes\n\tAdvertised FEC modes: Not reported\n\tSpeed: Unknown!\n\tDuplex: Unknown! (255)\n\tAuto-negotiation: on\n\tPort: Twisted Pair\n\tPHYAD: 0\n\tTransceiver: internal\n\tMDI-X: Unknown\n\tSupports Wake-on: d\n\tWake-on: d\n\tCurrent message level: 0x00000007 (7)\n\t\t\t       drv probe link\n\tLink detected: no\n";
    const FEATURES: &str = "Features for va:\nrx-checksumming: on\ntx-checksumming: on\n\ttx-checksum-ipv4: off [fixed]\nscatter-gather: on\ntcp-segmentation-offload: on\n\ttx-tcp-segmentation: on\ngeneric-segmentation-offload: on\ngeneric-receive-offload: off\nlarge-receive-offload: off [fixed]\n";
    const RINGS: &str = "Ring parameters for enp1s0f0:\nPre-set maximums:\nRX:\t\t4096\nRX Mini:\tn/a\nRX Jumbo:\tn/a\nTX:\t\t4096\nCurrent hardware settings:\nRX:\t\t512\nRX Mini:\tn/a\nRX Jumbo:\tn/a\nTX:\t\t512\nRX Buf Len:\t\tn/a\nTX Push:\toff\n";

    #[test]
    fn ip_outputs_parse() {
        let l = parse_ip_links(LINK_DETAILS).unwrap();
        assert_eq!(
            (l[0].name.as_str(), l[0].mtu, l[0].min_mtu, l[0].max_mtu),
            ("va", 1500, Some(68), Some(65535))
        );
        let a = parse_ip_links(ADDRS).unwrap();
        assert_eq!(a[0].addresses.len(), 2);
        assert!(a[0].addresses.contains(&"192.168.1.172".parse().unwrap()));
        assert!(parse_ip_links("").unwrap().is_empty());
        let unbounded = parse_ip_links(r#"[{"ifname":"ifb0","mtu":1500,"min_mtu":0,"max_mtu":0}]"#).unwrap();
        assert_eq!(unbounded[0].max_mtu, None, "0 is no bound");
        assert!(parse_ip_links("garbage").is_err());
    }

    #[test]
    fn ethtool_settings_parse() {
        let v = parse_ethtool(ETHTOOL_VETH);
        assert_eq!(
            (v.speed_mbps, v.duplex.as_deref(), v.autoneg),
            (Some(10_000), Some("full"), false)
        );
        assert!(!v.supports_autoneg && v.supported.is_empty());
        assert!(!v.settable(), "a veth has nothing to set");
        let x = parse_ethtool(ETHTOOL_X550);
        assert_eq!(x.supported.len(), 5);
        assert_eq!(x.advertised, ["100baseT/Full", "1000baseT/Full", "10000baseT/Full"]);
        assert_eq!((x.speed_mbps, x.duplex.as_deref(), x.autoneg), (None, None, true));
        assert_eq!(x.detected, Some(false));
        assert!(x.settable());
    }

    #[test]
    fn features_and_rings_parse() {
        let f = parse_features(FEATURES);
        assert!(f["tcp-segmentation-offload"].on);
        assert!(!f["generic-receive-offload"].on);
        assert!(f["large-receive-offload"].fixed);
        assert!(!f.contains_key("tx-tcp-segmentation"), "sub-features are left out");
        assert_eq!(
            parse_rings(RINGS),
            Rings {
                rx: Some(512),
                rx_max: Some(4096),
                tx: Some(512),
                tx_max: Some(4096)
            }
        );
    }

    #[test]
    fn commands_are_the_documented_ones() {
        let port = Port {
            name: "eth0".into(),
            device: "eth0".into(),
            mac: None,
        };
        assert_eq!(
            Linux.mtu_command(&port, 9000).to_string(),
            "ip link set dev eth0 mtu 9000"
        );
        let now = Reading {
            port: port.clone(),
            mtu: MtuInfo {
                active: 1500,
                configured: 1500,
                min: None,
                max: None,
            },
            media: None,
            link: Some(parse_ethtool(ETHTOOL_X550)),
            link_error: None,
            media_error: None,
            members: Vec::new(),
        };
        let t = LinkTarget {
            autoneg: Some(true),
            speed_mbps: Some(10_000),
            duplex: Some("full".into()),
            advertise: None,
        };
        assert_eq!(
            Linux.link_command(&port, &t, &now).unwrap().to_string(),
            "ethtool -s eth0 speed 10000 duplex full autoneg on"
        );
        let restore = LinkTarget::restoring(&parse_ethtool(ETHTOOL_X550));
        assert_eq!(
            Linux.link_command(&port, &restore, &now).unwrap().to_string(),
            "ethtool -s eth0 autoneg on advertise 100baseT/Full on 1000baseT/Full on 10000baseT/Full on 2500baseT/Full off 5000baseT/Full off"
        );
    }
}
