//! This host's facts that limit a link, each read through the runner (so tests run them against canned
//! output) and each `None` when it cannot be read: an unknown fact stays unknown.
//!
//! Formats read, and where they are documented:
//! - `sysctl -n NAME` prints the bare value (sysctl(8) on Linux, procps; sysctl(8) on macOS). Linux's
//!   `net.ipv4.tcp_rmem`/`tcp_wmem` are three numbers, min default max (Documentation/networking/ip-sysctl.rst);
//!   macOS's `vm.loadavg` prints `{ 1.52 1.63 1.70 }` (struct loadavg, XNU `sys/sysctl.h`).
//! - `ethtool -k IF`: `Features for IF:` then `name: on|off [fixed]` lines (ethtool(8), --show-features).
//! - `ethtool --show-eee IF`: `EEE status: enabled - active`, `disabled`, or `not supported` (ethtool(8)).
//! - `ethtool -a IF`: `Pause parameters for IF:` then `RX:` and `TX:` `on|off` (ethtool(8), --show-pause).
//! - Linux `/proc/loadavg` (proc(5)) and `/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor` (the kernel's
//!   cpufreq documentation); neither exists on macOS, where the governor stays unknown.

use serde::Serialize;

use crate::runner::{Cmd, Runner};
use crate::tune::backend::BackendKind;

/// Segmentation and receive offloads of the egress interface (Linux).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Offloads {
    pub tso: Option<bool>,
    pub gso: Option<bool>,
    pub gro: Option<bool>,
}

/// What this host says about itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HostFacts {
    pub os: &'static str,
    /// The most a TCP socket's receive and send buffers may grow to (autotuning's cap), bytes.
    pub receive_buffer_max: Option<u64>,
    pub send_buffer_max: Option<u64>,
    pub congestion_control: Option<String>,
    pub cpus: usize,
    /// The 1-minute load average.
    pub load_1m: Option<f64>,
    pub governor: Option<String>,
    pub offloads: Option<Offloads>,
    /// Energy-Efficient Ethernet: Some(true) enabled and active.
    pub eee_active: Option<bool>,
    /// Pause frames (flow control): (rx, tx).
    pub flow_control: Option<(bool, bool)>,
}

/// Gathers the facts for `os`, reading the interface's where `interface` is known.
pub fn gather(r: &mut Runner, os: BackendKind, interface: Option<&str>) -> HostFacts {
    let cpus = crate::platform::cpu_count();
    match os {
        BackendKind::Linux => HostFacts {
            os: "linux",
            receive_buffer_max: sysctl(r, "net.ipv4.tcp_rmem").as_deref().and_then(last_number),
            send_buffer_max: sysctl(r, "net.ipv4.tcp_wmem").as_deref().and_then(last_number),
            congestion_control: sysctl(r, "net.ipv4.tcp_congestion_control"),
            cpus,
            load_1m: std::fs::read_to_string("/proc/loadavg")
                .ok()
                .as_deref()
                .and_then(first_number),
            governor: std::fs::read_to_string("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            offloads: interface.and_then(|i| ethtool(r, &["-k", i]).map(|t| parse_features(&t))),
            eee_active: interface.and_then(|i| ethtool(r, &["--show-eee", i]).and_then(|t| parse_eee(&t))),
            flow_control: interface.and_then(|i| ethtool(r, &["-a", i]).and_then(|t| parse_pause(&t))),
        },
        BackendKind::Macos => HostFacts {
            os: "macos",
            receive_buffer_max: sysctl(r, "net.inet.tcp.autorcvbufmax").as_deref().and_then(last_number),
            send_buffer_max: sysctl(r, "net.inet.tcp.autosndbufmax").as_deref().and_then(last_number),
            // XNU bsd/netinet/tcp_cc.c registers net.inet.tcp.cc.algorithm (e.g. "cubic").
            congestion_control: sysctl(r, "net.inet.tcp.cc.algorithm"),
            cpus,
            load_1m: sysctl(r, "vm.loadavg").as_deref().and_then(first_number),
            ..HostFacts::default()
        },
    }
}

fn sysctl(r: &mut Runner, name: &str) -> Option<String> {
    let out = r.output(&Cmd::new("sysctl").args(["-n", name]).read_only()).ok()?;
    let v = out.split_whitespace().collect::<Vec<_>>().join(" ");
    (!v.is_empty()).then_some(v)
}

fn ethtool(r: &mut Runner, args: &[&str]) -> Option<String> {
    r.output(&Cmd::new("ethtool").args(args.iter().copied()).read_only())
        .ok()
}

fn numbers(text: &str) -> impl Iterator<Item = f64> + '_ {
    text.split(|c: char| c.is_whitespace() || c == '{' || c == '}')
        .filter_map(|w| w.parse().ok())
}

fn first_number(text: &str) -> Option<f64> {
    numbers(text).next()
}

fn last_number(text: &str) -> Option<u64> {
    numbers(text).last().filter(|v| *v >= 0.0).map(|v| v as u64)
}

/// `ethtool -k`'s three segmentation/receive offloads.
pub fn parse_features(text: &str) -> Offloads {
    let get = |name: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.trim().split_once(':')?;
            (k == name).then(|| v.trim().starts_with("on"))
        })
    };
    Offloads {
        tso: get("tcp-segmentation-offload"),
        gso: get("generic-segmentation-offload"),
        gro: get("generic-receive-offload"),
    }
}

/// `ethtool --show-eee`'s status line: Some(true) when enabled and active, Some(false) when off.
pub fn parse_eee(text: &str) -> Option<bool> {
    let status = text.lines().find_map(|l| l.trim().strip_prefix("EEE status:"))?.trim();
    if status.starts_with("not supported") {
        return Some(false);
    }
    Some(status.starts_with("enabled") && status.contains("active") && !status.contains("inactive"))
}

/// `ethtool -a`'s RX and TX pause settings.
pub fn parse_pause(text: &str) -> Option<(bool, bool)> {
    let get = |name: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.trim().split_once(':')?;
            (k.trim() == name).then(|| v.trim() == "on")
        })
    };
    Some((get("RX")?, get("TX")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ethtool -k eth0` on a Debian 12 host (abridged to the lines read and their neighbours).
    const FEATURES: &str = "Features for eth0:\nrx-checksumming: on\ntx-checksumming: on\n\
        tcp-segmentation-offload: off\n\ttx-tcp-segmentation: off\ngeneric-segmentation-offload: on\n\
        generic-receive-offload: on\nlarge-receive-offload: off [fixed]\n";

    #[test]
    fn ethtool_outputs_parse() {
        let o = parse_features(FEATURES);
        assert_eq!((o.tso, o.gso, o.gro), (Some(false), Some(true), Some(true)));
        assert_eq!(
            parse_eee("EEE settings for eth0:\n\tEEE status: enabled - active\n"),
            Some(true)
        );
        assert_eq!(
            parse_eee("EEE settings for eth0:\n\tEEE status: enabled - inactive\n"),
            Some(false)
        );
        assert_eq!(
            parse_eee("EEE settings for eth0:\n\tEEE status: not supported\n"),
            Some(false)
        );
        assert_eq!(parse_eee("garbage"), None);
        assert_eq!(
            parse_pause("Pause parameters for eth0:\nAutonegotiate:\ton\nRX:\t\ton\nTX:\t\toff\n"),
            Some((true, false))
        );
    }

    #[test]
    fn linux_and_macos_facts_through_the_runner() {
        let mut r = Runner::record()
            .ok("sysctl -n net.ipv4.tcp_rmem", "4096\t131072\t6291456\n")
            .ok("sysctl -n net.ipv4.tcp_wmem", "4096\t16384\t4194304\n")
            .ok("sysctl -n net.ipv4.tcp_congestion_control", "cubic\n")
            .ok("ethtool -k eth0", FEATURES)
            .fail("ethtool --show-eee eth0", "netlink error: Operation not supported")
            .ok("ethtool -a eth0", "Pause parameters for eth0:\nRX:\ton\nTX:\ton\n");
        let f = gather(&mut r, BackendKind::Linux, Some("eth0"));
        assert_eq!(
            (f.receive_buffer_max, f.send_buffer_max),
            (Some(6_291_456), Some(4_194_304))
        );
        assert_eq!(f.congestion_control.as_deref(), Some("cubic"));
        assert_eq!(f.eee_active, None, "a tool error stays unknown");
        assert_eq!(f.flow_control, Some((true, true)));
        let mut r = Runner::record()
            .ok("sysctl -n net.inet.tcp.autorcvbufmax", "4194304\n")
            .ok("sysctl -n net.inet.tcp.autosndbufmax", "4194304\n")
            .fail(
                "sysctl -n net.inet.tcp.cc.algorithm",
                "sysctl: unknown oid 'net.inet.tcp.cc.algorithm'",
            )
            .ok("sysctl -n vm.loadavg", "{ 1.52 1.63 1.70 }\n");
        let m = gather(&mut r, BackendKind::Macos, Some("en0"));
        assert_eq!(m.receive_buffer_max, Some(4_194_304));
        assert_eq!(m.load_1m, Some(1.52));
        assert_eq!((m.congestion_control, m.governor, m.offloads), (None, None, None));
    }
}
