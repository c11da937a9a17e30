//! macOS: `networksetup` for the MTU and media of a hardware port, `ifconfig` for its addresses,
//! `sysctl` for the socket buffers. The parsers read networksetup's real output formats.
//!
//! networksetup can print an error ("** Error: The parameters were not valid.", "** Error: Command
//! requires admin privileges.") and still exit 0, so every networksetup command is judged by what it
//! printed as well as by its exit status.
//!
//! A bridge (the Thunderbolt Bridge, device `bridge0`) is known by its device, never by its translated
//! name; its members come from the `member:` lines of `ifconfig bridge0` and are read like any port.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::TuneError;
use super::backend::{Backend, BackendKind, Persistence};
use super::settings::{Desired, LinkInfo, LinkTarget, MediaInfo, MtuInfo, Port, Reading, normalize_value};
use crate::profile::Profile;
use crate::runner::{Cmd, Output, Runner};

/// The macOS sysctls saf-net tunes, in the order `show` lists them.
pub const SYSCTLS: &[&str] = &[
    "kern.ipc.maxsockbuf",
    "net.inet.tcp.sendspace",
    "net.inet.tcp.recvspace",
    "net.inet.tcp.autorcvbufmax",
    "net.inet.tcp.autosndbufmax",
];

/// Where `--persist` writes on macOS (read at boot by launchd).
pub const SYSCTL_CONF: &str = "/etc/sysctl.conf";

pub const NETWORKSETUP: &str = "networksetup";

/// The macOS backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct Macos;

fn networksetup<I, S>(args: I) -> Cmd
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Cmd::new(NETWORKSETUP).args(args)
}

/// The lines of networksetup's output that report an error.
pub fn error_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| {
            l.starts_with("** Error")
                || l.starts_with("Error")
                || l.starts_with("Could not find")
                || l.contains("is not a recognized")
                || l.contains("is not a valid")
                || l.contains("requires admin")
                || l.contains("must run this tool as root")
        })
        .collect()
}

/// Why a networksetup run failed, if it did: a non-zero exit, or an error printed with exit 0. An
/// error about privileges says to use sudo.
pub fn failure(out: &Output) -> Option<String> {
    let mut lines = error_lines(&out.stdout);
    lines.extend(error_lines(&out.stderr));
    if !lines.is_empty() {
        let mut message = lines.join(" ");
        if lines
            .iter()
            .any(|l| l.contains("requires admin") || l.contains("as root"))
        {
            message.push_str(" (run saf-net with sudo)");
        }
        return Some(message);
    }
    (!out.success()).then(|| out.reason())
}

/// Runs a networksetup command; its stdout, or the error it reported.
fn run_checked(r: &mut Runner, cmd: &Cmd) -> Result<String, TuneError> {
    let out = r.run(cmd)?;
    match failure(&out) {
        Some(message) => Err(TuneError::Tool {
            cmd: cmd.to_string(),
            message,
        }),
        None => Ok(out.stdout),
    }
}

/// Hardware ports from `networksetup -listallhardwareports`:
/// "Hardware Port: NAME\nDevice: DEV\nEthernet Address: MAC" blocks, before "VLAN Configurations".
pub fn parse_hardware_ports(text: &str) -> Vec<Port> {
    let mut ports = Vec::new();
    let mut name: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("VLAN Configurations") {
            break;
        }
        if let Some(n) = line.strip_prefix("Hardware Port:") {
            name = Some(n.trim().to_string());
        } else if let Some(d) = line.strip_prefix("Device:") {
            if let Some(n) = name.take() {
                ports.push(Port {
                    name: n,
                    device: d.trim().to_string(),
                    mac: None,
                });
            }
        } else if let Some(m) = line.strip_prefix("Ethernet Address:")
            && let Some(p) = ports.last_mut()
            && p.mac.is_none()
        {
            let m = m.trim();
            if m != "N/A" && !m.is_empty() {
                p.mac = Some(m.to_string());
            }
        }
    }
    ports
}

/// (active, configured) from `networksetup -getMTU`: "Active MTU: 1500 (Current Setting: 9000)".
pub fn parse_mtu(text: &str) -> Option<(u32, u32)> {
    let line = text.lines().find_map(|l| l.trim().strip_prefix("Active MTU:"))?;
    let (active, rest) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
    let active: u32 = active.parse().ok()?;
    let configured = rest
        .trim()
        .strip_prefix("(Current Setting:")
        .and_then(|s| s.trim().strip_suffix(')'))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(active);
    Some((active, configured))
}

/// (min, max) from `networksetup -listValidMTURange`: "Valid MTU Range: 1280-9000".
pub fn parse_mtu_range(text: &str) -> Option<(u32, u32)> {
    let line = text.lines().find_map(|l| l.trim().strip_prefix("Valid MTU Range:"))?;
    let (lo, hi) = line.trim().split_once('-')?;
    Some((lo.trim().parse().ok()?, hi.trim().parse().ok()?))
}

/// (current, active) from `networksetup -getMedia`: "Current: autoselect\nActive: 10Gbase-T <full-duplex>".
pub fn parse_media(text: &str) -> Option<(String, String)> {
    let current = text.lines().find_map(|l| l.trim().strip_prefix("Current:"))?;
    let active = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Active:"))
        .unwrap_or("");
    Some((normalize_value(current), normalize_value(active)))
}

/// The media from `networksetup -listValidMedia`, one per line.
pub fn parse_valid_media(text: &str) -> Vec<String> {
    let errors = error_lines(text);
    text.lines()
        .map(normalize_value)
        .filter(|l| !l.is_empty() && !errors.contains(&l.as_str()))
        .collect()
}

/// `-setMedia` arguments for a media string: "10Gbase-T <full-duplex,flow-control>" →
/// ["10Gbase-T", "full-duplex", "flow-control"]; "autoselect" → ["autoselect"].
pub fn media_args(media: &str) -> Vec<String> {
    match media.split_once('<') {
        Some((subtype, opts)) => std::iter::once(subtype.trim().to_string())
            .chain(
                opts.trim_end()
                    .trim_end_matches('>')
                    .split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(String::from),
            )
            .collect(),
        None => vec![media.trim().to_string()],
    }
}

/// Link speed in Mbit/s of a media subtype: "10Gbase-T <full-duplex>" → 10000, "1000baseT" → 1000.
pub fn media_speed(media: &str) -> Option<u32> {
    let digits: String = media.chars().take_while(char::is_ascii_digit).collect();
    let n: u32 = digits.parse().ok()?;
    let rest = &media[digits.len()..];
    let (n, rest) = match rest.strip_prefix(['G', 'g']) {
        Some(r) => (n * 1000, r),
        None => (n, rest),
    };
    rest.to_ascii_lowercase().starts_with("base").then_some(n)
}

/// Link facts from the media: speed and duplex of the active media, autonegotiation when the setting
/// is autoselect.
pub fn link_from_media(m: &MediaInfo) -> LinkInfo {
    let args = media_args(&m.active);
    let duplex = if args.iter().any(|a| a == "full-duplex") {
        Some("full".to_string())
    } else if args.iter().any(|a| a == "half-duplex") {
        Some("half".to_string())
    } else {
        None
    };
    LinkInfo {
        speed_mbps: media_speed(&m.active),
        duplex,
        autoneg: m.current == "autoselect",
        supports_autoneg: m.valid.iter().any(|v| v == "autoselect"),
        supported: m.valid.clone(),
        advertised: Vec::new(),
        detected: None,
    }
}

/// A bridge's member devices from `ifconfig bridge0`: "\tmember: en2 flags=3<LEARNING,DISCOVER>".
pub fn parse_bridge_members(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("member:"))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(String::from)
        .collect()
}

/// The hardware port of a member device ("Thunderbolt 1" for en2), or the bare device if none is listed.
fn port_of(device: &str, ports: &[Port]) -> Port {
    ports.iter().find(|p| p.device == device).cloned().unwrap_or(Port {
        name: device.to_string(),
        device: device.to_string(),
        mac: None,
    })
}

/// Reads the media of a port: Ok(Err(why)) when networksetup has none to give (a bridge).
fn read_media(r: &mut Runner, name: &str) -> Result<Result<MediaInfo, String>, TuneError> {
    let cmd = networksetup(["-getMedia", name]).read_only();
    let out = r.run(&cmd)?;
    if let Some(why) = failure(&out) {
        return Ok(Err(format!("`{cmd}`: {why}")));
    }
    let Some((current, active)) = parse_media(&out.stdout) else {
        return Ok(Err(format!("`{cmd}` printed no \"Current:\" line")));
    };
    let cmd = networksetup(["-listValidMedia", name]).read_only();
    let out = r.run(&cmd)?;
    if let Some(why) = failure(&out) {
        return Ok(Err(format!("`{cmd}`: {why}")));
    }
    Ok(Ok(MediaInfo {
        current,
        active,
        valid: parse_valid_media(&out.stdout),
    }))
}

/// Addresses from `ifconfig DEVICE`: "inet 192.168.1.172 netmask ..." and "inet6 fe80::1%en0 prefixlen 64".
pub fn parse_ifconfig_addresses(text: &str) -> Vec<IpAddr> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            match w.next()? {
                "inet" | "inet6" => w.next()?.split('%').next()?.parse().ok(),
                _ => None,
            }
        })
        .collect()
}

fn need<T>(v: Option<T>, cmd: &Cmd, what: &str) -> Result<T, TuneError> {
    v.ok_or_else(|| TuneError::Output {
        cmd: cmd.to_string(),
        detail: format!("no {what} in it"),
    })
}

impl Macos {
    /// One port's MTU, its range and its media (unknown, with the reason, where networksetup has none).
    fn read_port(&self, r: &mut Runner, port: &Port) -> Result<Reading, TuneError> {
        let name = port.name.as_str();
        let cmd = networksetup(["-getMTU", name]).read_only();
        let (active, configured) = need(parse_mtu(&run_checked(r, &cmd)?), &cmd, "\"Active MTU:\" line")?;
        let cmd = networksetup(["-listValidMTURange", name]).read_only();
        let (min, max) = need(
            parse_mtu_range(&run_checked(r, &cmd)?),
            &cmd,
            "\"Valid MTU Range:\" line",
        )?;
        let (media, media_error) = match read_media(r, name)? {
            Ok(m) => (Some(m), None),
            Err(why) => (None, Some(why)),
        };
        Ok(Reading {
            port: port.clone(),
            mtu: MtuInfo {
                active,
                configured,
                min: Some(min),
                max: Some(max),
            },
            media,
            link: None,
            link_error: None,
            media_error,
            members: Vec::new(),
        })
    }
}

impl Backend for Macos {
    fn kind(&self) -> BackendKind {
        BackendKind::Macos
    }

    fn ports_word(&self) -> &'static str {
        "hardware ports"
    }

    fn ports(&self, r: &mut Runner) -> Result<Vec<Port>, TuneError> {
        let cmd = networksetup(["-listallhardwareports"]).read_only();
        Ok(parse_hardware_ports(&run_checked(r, &cmd)?))
    }

    fn read(&self, r: &mut Runner, port: &Port) -> Result<Reading, TuneError> {
        let mut reading = self.read_port(r, port)?;
        if port.is_bridge() {
            let out = r.output(&Cmd::new("ifconfig").arg(&port.device).read_only())?;
            let ports = self.ports(r)?;
            for dev in parse_bridge_members(&out) {
                reading.members.push(self.read_port(r, &port_of(&dev, &ports))?);
            }
        }
        Ok(reading)
    }

    fn desired(&self, p: &Profile) -> Result<Desired, TuneError> {
        let t = p.tune.macos.as_ref().ok_or_else(|| TuneError::NoTuneSection {
            profile: p.name.clone(),
            os: "macos",
        })?;
        let s = &t.sysctl;
        let pairs = [
            ("kern.ipc.maxsockbuf", s.maxsockbuf),
            ("net.inet.tcp.sendspace", s.sendspace),
            ("net.inet.tcp.recvspace", s.recvspace),
            ("net.inet.tcp.autorcvbufmax", s.autorcvbufmax),
            ("net.inet.tcp.autosndbufmax", s.autosndbufmax),
        ];
        let sysctls: BTreeMap<String, String> = pairs
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v.to_string())))
            .collect();
        Ok(Desired {
            mtu: Some(t.mtu),
            media: t.media.as_deref().map(normalize_value),
            link: None,
            sysctls,
            ..Default::default()
        })
    }

    fn sysctl_names(&self) -> &'static [&'static str] {
        SYSCTLS
    }

    fn mtu_command(&self, port: &Port, mtu: u32) -> Cmd {
        networksetup(["-setMTU".to_string(), port.name.clone(), mtu.to_string()])
    }

    fn media_command(&self, port: &Port, media: &str) -> Option<Cmd> {
        Some(networksetup(["-setMedia".to_string(), port.name.clone()]).args(media_args(media)))
    }

    fn automatic_command(&self, port: &Port) -> Option<Cmd> {
        Some(networksetup([
            "-setMTUAndMediaAutomatically".to_string(),
            port.name.clone(),
        ]))
    }

    fn link_command(&self, _port: &Port, _target: &LinkTarget, _now: &Reading) -> Option<Cmd> {
        None
    }

    fn run_change(&self, r: &mut Runner, cmd: &Cmd) -> Result<(), TuneError> {
        if cmd.program == NETWORKSETUP {
            run_checked(r, cmd).map(|_| ())
        } else {
            r.output(cmd)?;
            Ok(())
        }
    }

    fn addresses(&self, r: &mut Runner, port: &Port) -> Result<Vec<IpAddr>, TuneError> {
        let out = r.output(&Cmd::new("ifconfig").arg(&port.device).read_only())?;
        Ok(parse_ifconfig_addresses(&out))
    }

    fn default_sysctl_conf(&self) -> &'static str {
        SYSCTL_CONF
    }

    fn interface_persistence(&self, _setting: &str) -> Persistence {
        Persistence {
            survives_reboot: true,
            note: "networksetup saves it in the network configuration".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Formats as networksetup prints them (macOS 14/15).
    const PORTS: &str = "\nHardware Port: Ethernet\nDevice: en0\nEthernet Address: 3c:a6:f6:12:34:56\n\n\
Hardware Port: Thunderbolt Ethernet Slot 1\nDevice: en5\nEthernet Address: 00:30:93:12:34:57\n\n\
Hardware Port: Wi-Fi\nDevice: en1\nEthernet Address: 3c:a6:f6:12:34:58\n\n\
Hardware Port: Thunderbolt Bridge\nDevice: bridge0\nEthernet Address: N/A\n\n\
VLAN Configurations\n===================\nVLAN User Defined Name: lab\nParent Device: en0\nDevice (VLAN): vlan0\nTag: 10\n";

    #[test]
    fn hardware_ports_parse_with_spaces_and_no_vlans() {
        let p = parse_hardware_ports(PORTS);
        let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["Ethernet", "Thunderbolt Ethernet Slot 1", "Wi-Fi", "Thunderbolt Bridge"]
        );
        assert_eq!(p[1].device, "en5");
        assert_eq!(p[0].mac.as_deref(), Some("3c:a6:f6:12:34:56"));
        assert_eq!(p[3].mac, None);
        assert!(parse_hardware_ports("").is_empty());
    }

    #[test]
    fn mtu_media_and_ranges_parse() {
        assert_eq!(
            parse_mtu("Active MTU: 1500 (Current Setting: 1500)\n"),
            Some((1500, 1500))
        );
        assert_eq!(
            parse_mtu("Active MTU: 1500 (Current Setting: 9000)"),
            Some((1500, 9000))
        );
        assert_eq!(parse_mtu("Active MTU: 9000\n"), Some((9000, 9000)));
        assert_eq!(parse_mtu("** Error: The parameters were not valid.\n"), None);
        assert_eq!(parse_mtu_range("Valid MTU Range: 1280-9000\n"), Some((1280, 9000)));
        assert_eq!(parse_mtu_range("Valid MTU Range: 1280 - 1500"), Some((1280, 1500)));
        assert_eq!(parse_mtu_range("nonsense"), None);
        assert_eq!(
            parse_media("Current: autoselect\nActive: 10Gbase-T <full-duplex>\n"),
            Some(("autoselect".into(), "10Gbase-T <full-duplex>".into()))
        );
        assert_eq!(
            parse_media("Current: autoselect\nActive: not set\n").unwrap().1,
            "not set"
        );
        let valid = parse_valid_media(
            "autoselect\n10baseT/UTP <half-duplex>\n1000baseT <full-duplex>\n10Gbase-T <full-duplex>\n\
10Gbase-T <full-duplex,flow-control>\n",
        );
        assert_eq!(valid.len(), 5);
        assert_eq!(valid[4], "10Gbase-T <full-duplex,flow-control>");
        assert!(parse_valid_media("** Error: The parameters were not valid.\n").is_empty());
    }

    #[test]
    fn media_words_and_speeds() {
        assert_eq!(media_args("10Gbase-T <full-duplex>"), ["10Gbase-T", "full-duplex"]);
        assert_eq!(
            media_args("10Gbase-T <full-duplex,flow-control>"),
            ["10Gbase-T", "full-duplex", "flow-control"]
        );
        assert_eq!(media_args("autoselect"), ["autoselect"]);
        assert_eq!(media_speed("10Gbase-T <full-duplex>"), Some(10_000));
        assert_eq!(media_speed("10GbaseT <full-duplex>"), Some(10_000));
        assert_eq!(media_speed("1000baseT <full-duplex>"), Some(1000));
        assert_eq!(media_speed("2500Base-T <full-duplex>"), Some(2500));
        assert_eq!(media_speed("10baseT/UTP <half-duplex>"), Some(10));
        assert_eq!(media_speed("autoselect"), None);
        let l = link_from_media(&MediaInfo {
            current: "autoselect".into(),
            active: "10Gbase-T <full-duplex,flow-control>".into(),
            valid: vec!["autoselect".into()],
        });
        assert_eq!(
            (l.speed_mbps, l.duplex.as_deref(), l.autoneg),
            (Some(10_000), Some("full"), true)
        );
    }

    #[test]
    fn errors_are_caught_even_with_exit_status_zero() {
        let quiet_error = Output::ok("** Error: The parameters were not valid.\n");
        assert_eq!(
            failure(&quiet_error).as_deref(),
            Some("** Error: The parameters were not valid.")
        );
        let unknown = Output::ok(
            "Could not find hardware port or device named Ethernt.\n** Error: The parameters were not valid.\n",
        );
        assert_eq!(
            failure(&unknown).unwrap(),
            "Could not find hardware port or device named Ethernt. ** Error: The parameters were not valid."
        );
        assert_eq!(failure(&Output::failed(4, "")).unwrap(), "exit code 4");
        assert_eq!(failure(&Output::ok("Active MTU: 1500 (Current Setting: 1500)\n")), None);
        let mut r = Runner::record().ok("networksetup -setMTU", "** Error: The parameters were not valid.\n");
        let port = Port {
            name: "Thunderbolt Ethernet Slot 1".into(),
            device: "en5".into(),
            mac: None,
        };
        let cmd = Macos.mtu_command(&port, 9000);
        assert_eq!(
            cmd.to_string(),
            "networksetup -setMTU 'Thunderbolt Ethernet Slot 1' 9000"
        );
        let e = Macos.run_change(&mut r, &cmd).unwrap_err().to_string();
        assert_eq!(
            e,
            "`networksetup -setMTU 'Thunderbolt Ethernet Slot 1' 9000` reported an error: ** Error: The parameters were not valid."
        );
        let m = Macos.media_command(&port, "10Gbase-T <full-duplex>").unwrap();
        assert_eq!(
            m.args,
            ["-setMedia", "Thunderbolt Ethernet Slot 1", "10Gbase-T", "full-duplex"]
        );
    }

    #[test]
    fn bridge_members_and_the_admin_error_parse() {
        let bridge = "bridge0: flags=8863<UP,BROADCAST,SMART,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n\
\tether 36:b5:4b:12:34:00\n\tConfiguration:\n\t\tid 0:0:0:0:0:0 priority 0 hellotime 0 fwddelay 0\n\
\tmember: en2 flags=3<LEARNING,DISCOVER>\n\t        ifmaxaddr 0 port 10 priority 0 path cost 0\n\
\tmember: en3 flags=3<LEARNING,DISCOVER>\n\t        ifmaxaddr 0 port 11 priority 0 path cost 0\n\
\tmedia: <unknown type>\n\tstatus: inactive\n";
        assert_eq!(parse_bridge_members(bridge), ["en2", "en3"]);
        assert!(parse_bridge_members("en0: flags=8863<UP> mtu 1500\n").is_empty());
        let admin = Output::ok("** Error: Command requires admin privileges.\n");
        assert_eq!(
            failure(&admin).unwrap(),
            "** Error: Command requires admin privileges. (run saf-net with sudo)"
        );
        let p = |d: &str| Port {
            name: "x".into(),
            device: d.into(),
            mac: None,
        };
        assert!(p("bridge0").is_bridge() && p("bridge100").is_bridge());
        assert!(!p("bridge").is_bridge() && !p("en0").is_bridge() && !p("bridgex").is_bridge());
    }

    #[test]
    fn ifconfig_addresses_parse() {
        let text = "en0: flags=8863<UP,BROADCAST,SMART,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n\
\toptions=50b<RXCSUM,TXCSUM,VLAN_HWTAGGING,AV,CHANNEL_IO>\n\tether 3c:a6:f6:12:34:56\n\
\tinet6 fe80::1c2b:3d4e:5f60:7182%en0 prefixlen 64 secured scopeid 0x4\n\
\tinet 192.168.1.172 netmask 0xffffff00 broadcast 192.168.1.255\n\tmedia: autoselect (10Gbase-T <full-duplex>)\n\tstatus: active\n";
        let a = parse_ifconfig_addresses(text);
        assert_eq!(a.len(), 2);
        assert!(a.contains(&"192.168.1.172".parse().unwrap()));
        assert!(a.contains(&"fe80::1c2b:3d4e:5f60:7182".parse().unwrap()));
    }

    #[test]
    fn reading_a_port_runs_only_read_only_networksetup_commands() {
        let mut r = Runner::record()
            .ok("networksetup -getMTU", "Active MTU: 1500 (Current Setting: 1500)\n")
            .ok("networksetup -listValidMTURange", "Valid MTU Range: 1280-9000\n")
            .ok(
                "networksetup -getMedia",
                "Current: autoselect\nActive: 10Gbase-T <full-duplex>\n",
            )
            .ok("networksetup -listValidMedia", "autoselect\n10Gbase-T <full-duplex>\n");
        let port = Port {
            name: "Ethernet".into(),
            device: "en0".into(),
            mac: None,
        };
        let reading = Macos.read(&mut r, &port).unwrap();
        assert_eq!(reading.mtu.max, Some(9000));
        assert_eq!(reading.media.unwrap().valid.len(), 2);
        assert!(r.changes().is_empty());
        assert_eq!(r.log()[0], "networksetup -getMTU Ethernet");
    }
}
