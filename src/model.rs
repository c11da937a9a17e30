//! Link-rate math: what TCP goodput a wire allows.

/// Wire bytes per Ethernet frame beyond the MTU: preamble+SFD 8, header 14, FCS 4, inter-frame gap 12.
pub const ETHERNET_OVERHEAD: u32 = 38;
/// IPv4 (20) + TCP (20) header bytes.
pub const IPV4_TCP_HEADERS: u32 = 40;
/// TCP timestamp option, on by default on Linux and macOS.
pub const TCP_TIMESTAMPS: u32 = 12;

/// The baseline the old Python script measured on 1 GbE.
pub const BASELINE_MBPS: f64 = 945.11;

/// TCP goodput ceiling in Mbit/s for a line rate (Mbit/s) and MTU, IPv4, timestamps on or off.
pub fn tcp_goodput_ceiling_mbps(line_rate_mbps: f64, mtu: u32, timestamps: bool) -> f64 {
    let headers = IPV4_TCP_HEADERS + if timestamps { TCP_TIMESTAMPS } else { 0 };
    let payload = mtu.saturating_sub(headers) as f64;
    line_rate_mbps * payload / (mtu + ETHERNET_OVERHEAD) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

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
            assert!((got - want).abs() < 0.05, "{rate} {mtu} {ts}: {got} != {want}");
        }
    }
}
