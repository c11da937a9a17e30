//! Link-rate math: what TCP goodput a wire allows, and how long a volume takes to move.
//!
//! Pure functions, no I/O. Every Ethernet frame costs `MTU + 38` bytes on the wire (preamble and SFD 8,
//! header 14, FCS 4, inter-frame gap 12; a VLAN tag adds 4) and carries `MTU − 40` bytes of TCP payload over
//! IPv4 (IPv6 takes 20 more header bytes, TCP timestamps 12 more). The goodput ceiling is the line rate times
//! payload over wire bytes.

use std::fmt;

use serde::Serialize;

/// Wire bytes per Ethernet frame beyond the MTU: preamble+SFD 8, header 14, FCS 4, inter-frame gap 12.
pub const ETHERNET_OVERHEAD: u32 = 38;
/// An 802.1Q VLAN tag: 4 more wire bytes per frame; the MTU (and so the payload) stays the same.
pub const VLAN_TAG: u32 = 4;
/// IPv4 (20) + TCP (20) header bytes.
pub const IPV4_TCP_HEADERS: u32 = 40;
/// IPv6's header is 40 bytes, 20 more than IPv4's.
pub const IPV6_EXTRA: u32 = 20;
/// TCP timestamp option, on by default on Linux and macOS.
pub const TCP_TIMESTAMPS: u32 = 12;

/// The baseline the old Python script measured on 1 GbE.
pub const BASELINE_MBPS: f64 = 945.11;

/// A gigabyte as the projections count it: 10⁹ bytes.
pub const GB: f64 = 1e9;

/// IP version of the TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IpVersion {
    #[default]
    V4,
    V6,
}

/// What each frame carries besides TCP payload, apart from the MTU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Framing {
    pub ip: IpVersion,
    /// TCP timestamp option (12 bytes per segment); on by default on Linux and macOS.
    pub timestamps: bool,
    /// 802.1Q tag on the wire (4 bytes per frame).
    pub vlan: bool,
}

impl Default for Framing {
    /// IPv4, timestamps on, no VLAN tag: what a Linux or macOS host does on a plain LAN.
    fn default() -> Self {
        Framing {
            ip: IpVersion::V4,
            timestamps: true,
            vlan: false,
        }
    }
}

impl Framing {
    pub fn timestamps(self, on: bool) -> Self {
        Framing { timestamps: on, ..self }
    }
    pub fn ip(self, ip: IpVersion) -> Self {
        Framing { ip, ..self }
    }
    pub fn vlan(self, on: bool) -> Self {
        Framing { vlan: on, ..self }
    }
}

/// An Ethernet link: its line rate and the MTU used on it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Link {
    pub line_rate_mbps: f64,
    pub mtu: u32,
}

impl Link {
    pub const fn new(line_rate_mbps: f64, mtu: u32) -> Link {
        Link { line_rate_mbps, mtu }
    }

    /// TCP goodput ceiling in Mbit/s on this link.
    pub fn ceiling_mbps(&self, framing: Framing) -> f64 {
        goodput_ceiling_mbps(self.line_rate_mbps, self.mtu, framing)
    }

    /// "1 GbE", "10 GbE", "2.5 GbE", "100 Mbit/s".
    pub fn rate_name(&self) -> String {
        let r = self.line_rate_mbps;
        if r >= 1000.0 {
            let g = r / 1000.0;
            if (g - g.round()).abs() < 1e-9 {
                format!("{} GbE", g.round() as u64)
            } else {
                format!("{g} GbE")
            }
        } else {
            format!("{} Mbit/s", trim_float(r))
        }
    }
}

impl fmt::Display for Link {
    /// "10 GbE, MTU 9000".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, MTU {}", self.rate_name(), self.mtu)
    }
}

fn trim_float(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Bytes one frame of this MTU occupies on the wire, gap and preamble included.
pub fn wire_bytes_per_frame(mtu: u32, vlan: bool) -> u32 {
    mtu + ETHERNET_OVERHEAD + if vlan { VLAN_TAG } else { 0 }
}

/// TCP payload bytes one full-sized frame carries.
pub fn tcp_payload_per_frame(mtu: u32, framing: Framing) -> u32 {
    let headers = IPV4_TCP_HEADERS
        + if framing.ip == IpVersion::V6 { IPV6_EXTRA } else { 0 }
        + if framing.timestamps { TCP_TIMESTAMPS } else { 0 };
    mtu.saturating_sub(headers)
}

/// TCP goodput ceiling in Mbit/s for a line rate (Mbit/s), MTU and framing.
pub fn goodput_ceiling_mbps(line_rate_mbps: f64, mtu: u32, framing: Framing) -> f64 {
    let payload = f64::from(tcp_payload_per_frame(mtu, framing));
    line_rate_mbps * payload / f64::from(wire_bytes_per_frame(mtu, framing.vlan))
}

/// TCP goodput ceiling in Mbit/s for a line rate (Mbit/s) and MTU, IPv4, no VLAN, timestamps on or off.
pub fn tcp_goodput_ceiling_mbps(line_rate_mbps: f64, mtu: u32, timestamps: bool) -> f64 {
    goodput_ceiling_mbps(line_rate_mbps, mtu, Framing::default().timestamps(timestamps))
}

/// Seconds to move `bytes` at `rate_mbps` (10⁶ bit/s); infinite at a rate of 0.
pub fn transfer_seconds(bytes: f64, rate_mbps: f64) -> f64 {
    if rate_mbps > 0.0 {
        bytes * 8.0 / (rate_mbps * 1e6)
    } else {
        f64::INFINITY
    }
}

/// How long a volume takes on a link: at raw line rate (what naive plans quote) and at the TCP ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Projection {
    /// Volume in GB (10⁹ bytes).
    pub volume_gb: f64,
    /// Seconds at the line rate, as if every wire bit were payload.
    pub at_line_rate_s: f64,
    /// Seconds at the TCP goodput ceiling: the best a real transfer can do.
    pub at_ceiling_s: f64,
}

/// Projects the time to move `volume_gb` over `link`.
pub fn project(link: Link, framing: Framing, volume_gb: f64) -> Projection {
    let bytes = volume_gb * GB;
    Projection {
        volume_gb,
        at_line_rate_s: transfer_seconds(bytes, link.line_rate_mbps),
        at_ceiling_s: transfer_seconds(bytes, link.ceiling_mbps(framing)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64) -> bool {
        (got - want).abs() < 0.05
    }

    #[test]
    fn reproduces_the_published_ceilings() {
        let cases = [
            (1000.0, 1500, true, 941.5),
            (1000.0, 1500, false, 949.3),
            (10_000.0, 1500, true, 9414.8),
            (10_000.0, 9000, true, 9900.4),
            (10_000.0, 9000, false, 9913.7),
        ];
        for (rate, mtu, ts, want) in cases {
            let got = tcp_goodput_ceiling_mbps(rate, mtu, ts);
            assert!(close(got, want), "{rate} {mtu} {ts}: {got} != {want}");
            assert_eq!(format!("{got:.1}"), format!("{want:.1}"));
        }
    }

    #[test]
    fn ipv6_and_vlan_cost_what_their_headers_cost() {
        let d = Framing::default();
        let cases = [
            // (line, mtu, framing, payload, wire, ceiling)
            (1000.0, 1500, d, 1448, 1538, 941.5),
            (1000.0, 1500, d.ip(IpVersion::V6), 1428, 1538, 928.5),
            (1000.0, 1500, d.ip(IpVersion::V6).timestamps(false), 1440, 1538, 936.3),
            (1000.0, 1500, d.vlan(true), 1448, 1542, 939.0),
            (10_000.0, 9000, d.ip(IpVersion::V6).vlan(true), 8928, 9042, 9873.9),
            (10_000.0, 9000, d.timestamps(false).vlan(true), 8960, 9042, 9909.3),
            (2500.0, 1500, d, 1448, 1538, 2353.7),
        ];
        for (rate, mtu, f, payload, wire, want) in cases {
            assert_eq!(tcp_payload_per_frame(mtu, f), payload, "{f:?}");
            assert_eq!(wire_bytes_per_frame(mtu, f.vlan), wire, "{f:?}");
            let got = goodput_ceiling_mbps(rate, mtu, f);
            assert!(close(got, want), "{rate} {mtu} {f:?}: {got} != {want}");
        }
    }

    #[test]
    fn projects_transfer_times_at_line_rate_and_at_the_ceiling() {
        let one = project(Link::new(1000.0, 1500), Framing::default(), 10.0);
        assert!((one.at_line_rate_s - 80.0).abs() < 1e-9);
        assert_eq!(format!("{:.1}", one.at_ceiling_s), "85.0");
        let ten = project(Link::new(10_000.0, 9000), Framing::default(), 10.0);
        assert!((ten.at_line_rate_s - 8.0).abs() < 1e-9);
        assert_eq!(format!("{:.2}", ten.at_ceiling_s), "8.08");
        let hundred = project(Link::new(10_000.0, 1500), Framing::default(), 100.0);
        assert!((hundred.at_line_rate_s - 80.0).abs() < 1e-9);
        assert_eq!(format!("{:.1}", hundred.at_ceiling_s), "85.0");
        assert!((transfer_seconds(10.0 * GB, 945.11) - 84.647).abs() < 0.001);
        assert_eq!(transfer_seconds(GB, 0.0), f64::INFINITY);
    }

    #[test]
    fn names_links() {
        assert_eq!(Link::new(1000.0, 1500).to_string(), "1 GbE, MTU 1500");
        assert_eq!(Link::new(10_000.0, 9000).to_string(), "10 GbE, MTU 9000");
        assert_eq!(Link::new(2500.0, 1500).rate_name(), "2.5 GbE");
        assert_eq!(Link::new(100.0, 1500).rate_name(), "100 Mbit/s");
    }

    #[test]
    fn tiny_mtus_do_not_underflow() {
        assert_eq!(tcp_goodput_ceiling_mbps(1000.0, 40, true), 0.0);
    }
}
