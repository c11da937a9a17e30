//! tbf settings that make an emulated link carry what a real wire of the profile's rate carries.
//!
//! tbf counts each frame's 14-byte Ethernet header but not the other 24 bytes a wire spends on it
//! (preamble and SFD 8, FCS 4, inter-frame gap 12), so the rate is line_rate x (MTU+14)/(MTU+38):
//! a wire of line_rate bits/s moves exactly that many tbf-counted bytes.
//!
//! The bucket (burst) lets the link catch up after the emulation itself stalled: on a small machine
//! the sender, receiver and the qdisc's timer share the cores, and a wire that sits idle while a
//! thread waits for a CPU would lose throughput a real NIC does not. 4 ms of tokens absorb those
//! stalls (measured: 2 ms still let iperf3 fall 0.7 % short on a busy 2-core machine).
//!
//! A full bucket is also a head start: a test that begins with it can move one burst more than the
//! wire would. So the rate is trimmed by burst / 3 s, paying the head start back in advance: over any
//! test of 3 s or longer the lab delivers at most what the wire would (bytes <= trimmed_rate x t +
//! burst <= wire_rate x t), and a steady run reads at most 0.13 % below the ceiling.
//!
//! The queue limit is the burst plus 10 ms at the shaped rate: the switch port's buffer. It is far
//! longer than the lab's round trip (tens of microseconds), so a TCP flow that overfills it and loses
//! a segment still finds it non-empty while it recovers: the wire never idles and goodput stays at
//! the ceiling. A UDP sender above the line rate fills it within milliseconds and then loses the excess.

use serde::{Deserialize, Serialize};

use crate::profile::Profile;

/// Ethernet header bytes tbf counts on each frame.
pub const TBF_COUNTED_HEADER: u64 = 14;
/// Wire bytes per frame beyond the MTU (see `model::ETHERNET_OVERHEAD`).
pub const WIRE_OVERHEAD: u64 = crate::model::ETHERNET_OVERHEAD as u64;
/// Default bucket: this many microseconds of tokens at the wire rate.
pub const BURST_MICROS: u64 = 4_000;
/// The shortest test that never reads above the ceiling: the rate is trimmed by burst / this.
pub const MIN_TEST_MICROS: u64 = 3_000_000;
/// Default queue beyond the bucket, in microseconds at the shaped rate.
pub const QUEUE_MICROS: u64 = 10_000;

/// About the most TCP goodput the lab has been measured to carry on the 2-core VM it is built and tested
/// on: one saf-net stream through a lab shaped at 40 Gbit/s (the thunderbolt profile) read 16.70 to
/// 20.41 Gbit/s in four 5 s runs (docs/lab.md#accuracy). A faster profile is shaped at its own rate, but
/// its runs show the machine's limit.
pub const MEASURED_REACH_MBPS: f64 = 20_000.0;

/// One line for `lab up` when the profile's line rate is above what the lab was measured to reach.
pub fn beyond_reach(line_rate_mbps: f64) -> Option<String> {
    (line_rate_mbps > MEASURED_REACH_MBPS).then(|| {
        format!(
            "{line_rate_mbps} Mbit/s is beyond what the lab reaches on a small machine (a 2-core VM carried \
16.7 to 20.4 Gbit/s through this shaping, docs/lab.md#accuracy): runs show the machine's limit, not the link's"
        )
    })
}

/// One tbf configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tbf {
    /// The wire's rate in tbf-counted bytes per second: line_rate x (MTU+14)/(MTU+38) / 8.
    pub wire_bytes_per_sec: u64,
    /// The rate tbf is given: the wire rate less burst / 3 s (see the module docs).
    pub rate_bytes_per_sec: u64,
    pub burst_bytes: u64,
    pub limit_bytes: u64,
}

impl Tbf {
    /// The shaped rate in bit/s, for `tc ... rate {}bit`.
    pub fn rate_bits(&self) -> u64 {
        self.rate_bytes_per_sec * 8
    }

    /// tbf settings for a line rate (Mbit/s) and MTU; overrides replace the default burst and limit.
    pub fn for_link(line_rate_mbps: f64, mtu: u32, burst: Option<u64>, limit: Option<u64>) -> Tbf {
        let mtu = u64::from(mtu);
        let bits = line_rate_mbps * 1e6 * (mtu + TBF_COUNTED_HEADER) as f64 / (mtu + WIRE_OVERHEAD) as f64;
        // Rounded down to whole bytes: the emulation may be a hair slower than the wire, never faster.
        let wire = (bits / 8.0).floor() as u64;
        let frame = mtu + TBF_COUNTED_HEADER;
        let burst = burst.unwrap_or_else(|| (wire * BURST_MICROS).div_ceil(1_000_000).max(2 * frame));
        let trim = (burst * 1_000_000).div_ceil(MIN_TEST_MICROS);
        let rate = wire.saturating_sub(trim).max(1);
        let limit = limit.unwrap_or_else(|| burst + (rate * QUEUE_MICROS).div_ceil(1_000_000));
        Tbf {
            wire_bytes_per_sec: wire,
            rate_bytes_per_sec: rate,
            burst_bytes: burst,
            limit_bytes: limit.max(burst),
        }
    }

    /// tbf settings for a profile, honouring its `[lab]` overrides.
    pub fn for_profile(p: &Profile) -> Tbf {
        Tbf::for_link(
            p.link.line_rate_mbps,
            p.link.mtu,
            p.lab.tbf_burst_bytes,
            p.lab.tbf_limit_bytes,
        )
    }

    /// The TCP goodput (IPv4) `bytes_per_sec` of tbf-counted frames carry.
    fn goodput_mbps(bytes_per_sec: f64, mtu: u32, timestamps: bool) -> f64 {
        let headers = crate::model::IPV4_TCP_HEADERS + if timestamps { crate::model::TCP_TIMESTAMPS } else { 0 };
        let payload = f64::from(mtu.saturating_sub(headers));
        bytes_per_sec * 8.0 / 1e6 * payload / (f64::from(mtu) + TBF_COUNTED_HEADER as f64)
    }

    /// Steady-state TCP goodput through this tbf (the trimmed rate), Mbit/s.
    pub fn tcp_goodput_mbps(&self, mtu: u32, timestamps: bool) -> f64 {
        Self::goodput_mbps(self.rate_bytes_per_sec as f64, mtu, timestamps)
    }

    /// The most TCP goodput a test of `seconds` can read: steady rate plus the bucket's head start.
    pub fn max_tcp_goodput_mbps(&self, mtu: u32, timestamps: bool, seconds: f64) -> f64 {
        let per_sec = self.rate_bytes_per_sec as f64 + self.burst_bytes as f64 / seconds;
        Self::goodput_mbps(per_sec, mtu, timestamps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tcp_goodput_ceiling_mbps;

    #[test]
    fn rates_follow_the_wire_formula() {
        let t = Tbf::for_link(1000.0, 1500, None, None);
        assert_eq!(t.wire_bytes_per_sec, 123_049_414); // 1e9 x 1514 / 1538 / 8
        assert_eq!(t.burst_bytes, 492_198); // 4 ms
        assert_eq!(t.rate_bytes_per_sec, 123_049_414 - 164_066); // less burst / 3 s
        assert_eq!(t.limit_bytes, 492_198 + 1_228_854);
        let j = Tbf::for_link(10_000.0, 9000, None, None);
        assert_eq!(j.wire_bytes_per_sec, 1_246_680_681);
        assert_eq!(j.burst_bytes, 4_986_723);
    }

    #[test]
    fn shaped_goodput_stays_within_the_ceiling_and_close_to_it() {
        for (rate, mtu) in [(1000.0, 1500), (10_000.0, 1500), (10_000.0, 9000), (2500.0, 4000)] {
            for ts in [true, false] {
                let t = Tbf::for_link(rate, mtu, None, None);
                let wire = tcp_goodput_ceiling_mbps(rate, mtu, ts);
                let steady = t.tcp_goodput_mbps(mtu, ts);
                assert!(
                    steady < wire && steady > wire * 0.998,
                    "{rate} {mtu}: {steady} vs {wire}"
                );
                for secs in [3.0, 10.0, 60.0] {
                    let most = t.max_tcp_goodput_mbps(mtu, ts, secs);
                    assert!(most <= wire * (1.0 + 1e-9), "{rate} {mtu} {secs}s: {most} vs {wire}");
                }
                assert!(
                    t.max_tcp_goodput_mbps(mtu, ts, 1.0) > wire,
                    "shorter tests may see the head start"
                );
            }
        }
    }

    #[test]
    fn only_rates_above_the_measured_reach_get_a_note() {
        assert!(beyond_reach(10_000.0).is_none() && beyond_reach(20_000.0).is_none());
        let note = beyond_reach(40_000.0).unwrap();
        assert!(
            note.starts_with("40000 Mbit/s is beyond what the lab reaches"),
            "{note}"
        );
        assert!(!note.contains('\n'));
    }

    #[test]
    fn overrides_win_and_the_bucket_holds_two_frames() {
        let t = Tbf::for_link(1000.0, 1500, Some(100_000), Some(50_000));
        assert_eq!((t.burst_bytes, t.limit_bytes), (100_000, 100_000));
        let slow = Tbf::for_link(1.0, 9000, None, None);
        assert_eq!(slow.burst_bytes, 2 * 9014);
    }

    #[test]
    fn the_defaults_quoted_in_the_shipped_profiles_are_the_real_ones() {
        for (name, text) in crate::profile::BUILTIN {
            let p = crate::profile::Profile::parse(text, name, crate::profile::Origin::Builtin).unwrap();
            let t = Tbf::for_profile(&p);
            let quoted = |key: &str| -> u64 {
                let line = text.lines().find(|l| l.starts_with(&format!("# {key} = "))).unwrap();
                line.rsplit(' ').next().unwrap().parse().unwrap()
            };
            assert_eq!(quoted("tbf_burst_bytes"), t.burst_bytes, "{name}");
            assert_eq!(quoted("tbf_limit_bytes"), t.limit_bytes, "{name}");
        }
    }
}
