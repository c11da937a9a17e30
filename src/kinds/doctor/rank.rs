//! What limits the link, in rank order: each fact that names a limit becomes a [`Finding`], and the one that
//! explains the measured goodput comes first. Thresholds are named here.

use super::host::HostFacts;
use crate::findings::{Finding, FindingKind};
use crate::model::tcp_goodput_ceiling_mbps;

/// Goodput within this fraction of a slower standard link's ceiling is "at that link's rate".
pub const AT_RATE_TOLERANCE: f64 = 0.06;
/// A buffer smaller than the bandwidth-delay product times this is a limit (autotuning needs headroom).
pub const BDP_HEADROOM: f64 = 2.0;
/// A 1-minute load average above this many times the CPU count means the host is busy with other work.
pub const BUSY_LOAD_PER_CPU: f64 = 1.0;
/// Standard Ethernet line rates a path may have fallen back to, Mbit/s.
const STANDARD_RATES: [f64; 5] = [100.0, 1000.0, 2500.0, 5000.0, 10_000.0];

/// Everything the ranking looks at.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub host: String,
    /// Why the peer could not be asked, if it could not.
    pub unreachable: Option<String>,
    /// The path's findings (MTU black holes, MTU mismatch, slow interface, wrong interface), as diagnosed.
    pub path: Vec<Finding>,
    /// The sample's kernel hints (receive window, send buffer, retransmits).
    pub hints: Vec<Finding>,
    /// Findings that do not limit the link's rate (ports not reachable).
    pub other: Vec<Finding>,
    /// Receiver goodput of the sample, bits/s.
    pub goodput_bps: Option<f64>,
    /// Idle RTT p50 before the sample, µs.
    pub rtt_us: Option<f64>,
    /// `-w` of the sample, bytes.
    pub window: Option<u64>,
    /// The profile: line rate (Mbit/s), MTU, its TCP ceiling (bits/s) and pass floor (fraction).
    pub profile: Option<(f64, u32, f64, f64)>,
    /// Link speeds both interfaces report (Mbit/s), when known.
    pub local_speed: Option<u32>,
    pub remote_speed: Option<u32>,
    pub interface: Option<String>,
    pub tune_hint: String,
    pub local: HostFacts,
}

impl Evidence {
    /// The rate the link should carry: the profile's, else the slower interface's reported speed.
    fn expected_mbps(&self) -> Option<f64> {
        self.profile.map(|p| p.0).or_else(|| {
            let speeds = [self.local_speed, self.remote_speed];
            speeds.into_iter().flatten().min().map(f64::from)
        })
    }

    /// Goodput is below the profile's floor (or below 90 % of what the interfaces promise without one).
    fn short(&self) -> bool {
        let Some(g) = self.goodput_bps else { return false };
        match (self.profile, self.expected_mbps()) {
            (Some((_, _, ceiling, floor)), _) => g < ceiling * floor,
            (None, Some(rate)) => g < 0.9 * tcp_goodput_ceiling_mbps(rate, 1500, true) * 1e6,
            (None, None) => false,
        }
    }
}

/// The findings in rank order, the single limiting factor first, and how many of them limit the link (the
/// rest are lesser: worth fixing, not what holds this link back now).
pub fn rank(e: &Evidence) -> (Vec<Finding>, usize) {
    if let Some(why) = &e.unreachable {
        let f = Finding::new(
            FindingKind::NodeUnreachable,
            &e.host,
            format!("{} did not answer: {why}; only this host's facts are known", e.host),
            format!(
                "start `saf-net server` on {} (protocol 3) and check the address, port and firewall",
                e.host
            ),
        );
        return (vec![f], 1);
    }
    let mut first = Vec::new();
    let mut rest = Vec::new();
    // The path's own faults explain a slow link before anything else does.
    for f in &e.path {
        first.push(f.clone());
    }
    let short = e.short();
    let mut limits = [buffers(e), path_rate(e)].into_iter().flatten().collect::<Vec<_>>();
    // A busy CPU explains a short run only when nothing on the path does.
    limits.extend(cpu(e));
    if short {
        first.append(&mut limits);
    } else {
        rest.append(&mut limits);
    }
    for h in &e.hints {
        rest.push(h.clone());
    }
    rest.extend(nic(e));
    if short && first.is_empty() {
        first.push(unexplained(e));
    }
    rest.extend(e.other.iter().cloned());
    let limiting = first.len();
    first.extend(rest);
    (first, limiting)
}

/// Goodput at a slower standard link's ceiling while both interfaces report more: something in between.
fn path_rate(e: &Evidence) -> Option<Finding> {
    let g = e.goodput_bps? / 1e6;
    let expected = e.expected_mbps()?;
    let mtu = e.profile.map_or(1500, |p| p.1);
    let rate = STANDARD_RATES.into_iter().filter(|r| *r < expected).find(|r| {
        let c = tcp_goodput_ceiling_mbps(*r, mtu, true);
        (g - c).abs() <= c * AT_RATE_TOLERANCE
    })?;
    let speeds = match (e.local_speed, e.remote_speed) {
        (Some(a), Some(b)) => format!("while this host's interface reports {a} Mbit/s and the peer's {b} Mbit/s"),
        (Some(a), None) => format!("while this host's interface reports {a} Mbit/s (the peer's speed is unknown)"),
        (None, Some(b)) => format!("while the peer's interface reports {b} Mbit/s (this host's speed is unknown)"),
        (None, None) => "while the profile expects more (both interfaces' speeds are unknown)".into(),
    };
    Some(Finding::new(
        FindingKind::PathRateLimited,
        &e.host,
        format!(
            "goodput {g:.0} Mbit/s is a {rate:.0} Mbit/s link's TCP ceiling {speeds}: a link between the hosts runs at {rate:.0} Mbit/s"
        ),
        format!(
            "find the {rate:.0} Mbit/s hop: the switch port's negotiated speed (its management page or LEDs), the cable (Cat6a for 10GBASE-T), an uplink between switches"
        ),
    ))
}

/// A socket buffer (-w, or the autotuning cap) below the bandwidth-delay product.
fn buffers(e: &Evidence) -> Option<Finding> {
    let rtt_s = e.rtt_us? / 1e6;
    let rate = e.expected_mbps()? * 1e6;
    let bdp = rate / 8.0 * rtt_s;
    let need = (bdp * BDP_HEADROOM) as u64;
    let (what, fix) = match (e.window, e.local.receive_buffer_max.min(e.local.send_buffer_max)) {
        (Some(w), _) if w < need => (
            format!("-w {w} bytes"),
            "drop -w (autotuning grows the buffers) or give at least twice the bandwidth-delay product".to_string(),
        ),
        (None, Some(cap)) if cap < need => (
            format!("this host's autotuning cap of {cap} bytes"),
            e.tune_hint.clone(),
        ),
        _ => return None,
    };
    Some(Finding::new(
        FindingKind::SocketBufferSmall,
        &e.host,
        format!(
            "the socket buffer ({what}) is below twice the bandwidth-delay product ({:.0} Mbit/s × {:.0} µs = {:.0} bytes): it caps each stream's window below what the link needs",
            rate / 1e6,
            rtt_s * 1e6,
            bdp
        ),
        fix,
    ))
}

fn cpu(e: &Evidence) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(load) = e.local.load_1m.filter(|l| *l > BUSY_LOAD_PER_CPU * e.local.cpus as f64) {
        out.push(Finding::new(
            FindingKind::CpuBusy,
            "this host",
            format!(
                "the 1-minute load average was {load:.2} on {} CPUs before the test",
                e.local.cpus
            ),
            "stop other work while measuring (and check `top`); a busy host cannot keep a fast link full".into(),
        ));
    }
    if let Some(g) = e.local.governor.as_deref().filter(|g| *g == "powersave") {
        out.push(Finding::new(
            FindingKind::CpuGovernor,
            "this host",
            format!("the CPU frequency governor is {g}"),
            "use the performance governor while measuring: cpupower frequency-set -g performance".into(),
        ));
    }
    out
}

fn nic(e: &Evidence) -> Vec<Finding> {
    let iface = e.interface.clone().unwrap_or_else(|| "the egress interface".into());
    let mut out = Vec::new();
    if let Some(o) = e.local.offloads {
        let off: Vec<&str> = [("tso", o.tso), ("gso", o.gso), ("gro", o.gro)]
            .into_iter()
            .filter(|(_, v)| *v == Some(false))
            .map(|(n, _)| n)
            .collect();
        if !off.is_empty() {
            out.push(Finding::new(
                FindingKind::OffloadOff,
                &iface,
                format!("{} off on {iface}: every segment costs the CPU more", off.join(", ")),
                format!(
                    "ethtool -K {iface} {}",
                    off.iter().map(|o| format!("{o} on")).collect::<Vec<_>>().join(" ")
                ),
            ));
        }
    }
    if e.local.eee_active == Some(true) {
        out.push(Finding::new(
            FindingKind::EeeOn,
            &iface,
            format!("Energy-Efficient Ethernet is active on {iface}: waking the link adds latency"),
            format!("ethtool --set-eee {iface} eee off"),
        ));
    }
    out
}

fn unexplained(e: &Evidence) -> Finding {
    let g = e.goodput_bps.unwrap_or(0.0) / 1e6;
    Finding::new(
        FindingKind::BelowCeiling,
        &e.host,
        format!("goodput {g:.0} Mbit/s is below the profile's floor and no fact gathered here names why"),
        format!(
            "run `saf-net client {} -P 4` (more streams) and `saf-net tune show`; check the peer's load",
            e.host
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenge() -> Evidence {
        Evidence {
            host: "peer".into(),
            profile: Some((10_000.0, 1500, 9_414.8e6, 0.95)),
            local_speed: Some(10_000),
            remote_speed: Some(10_000),
            rtt_us: Some(80.0),
            goodput_bps: Some(9_300e6),
            local: HostFacts {
                cpus: 8,
                receive_buffer_max: Some(16 << 20),
                send_buffer_max: Some(16 << 20),
                ..HostFacts::default()
            },
            tune_hint: "sudo saf-net tune apply 10gbe --interface en0".into(),
            ..Evidence::default()
        }
    }

    fn first(e: &Evidence) -> Option<FindingKind> {
        let (f, n) = rank(e);
        (n > 0).then(|| f[0].kind.clone())
    }

    #[test]
    fn a_clean_link_has_no_limiting_factor() {
        assert_eq!(first(&tenge()), None);
    }

    #[test]
    fn a_port_at_one_gigabit_under_10gbe_is_named_first() {
        let mut e = tenge();
        e.goodput_bps = Some(936e6);
        let (f, n) = rank(&e);
        assert_eq!((n, &f[0].kind), (1, &FindingKind::PathRateLimited), "{f:?}");
        assert!(f[0].text.contains("1000 Mbit/s link"), "{}", f[0].text);
    }

    #[test]
    fn a_small_buffer_is_named_with_the_tune_command() {
        let mut e = tenge();
        e.goodput_bps = Some(3_000e6);
        e.rtt_us = Some(500.0);
        e.local.receive_buffer_max = Some(256 << 10);
        let (f, _) = rank(&e);
        assert_eq!(f[0].kind, FindingKind::SocketBufferSmall, "{f:?}");
        assert_eq!(f[0].fix, "sudo saf-net tune apply 10gbe --interface en0");
        e.window = Some(16 << 10);
        e.local.receive_buffer_max = Some(16 << 20);
        let (f, _) = rank(&e);
        assert!(
            f[0].text.contains("-w 16384 bytes") && f[0].fix.starts_with("drop -w"),
            "{f:?}"
        );
    }

    #[test]
    fn path_faults_come_before_rates_and_unknowns_name_nothing() {
        let mut e = tenge();
        e.goodput_bps = Some(936e6);
        e.path.push(Finding::new(
            FindingKind::WrongInterface,
            "peer",
            "t".into(),
            "f".into(),
        ));
        assert_eq!(first(&e), Some(FindingKind::WrongInterface));
        let mut e = tenge();
        e.goodput_bps = Some(5_000e6);
        e.rtt_us = None;
        e.local.receive_buffer_max = None;
        assert_eq!(
            first(&e),
            Some(FindingKind::BelowCeiling),
            "unknown facts are not guessed into a cause"
        );
        e.local.load_1m = Some(20.0);
        let (f, n) = rank(&e);
        assert_eq!(
            (n, &f[0].kind),
            (1, &FindingKind::CpuBusy),
            "a busy host explains a short run: {f:?}"
        );
        e.goodput_bps = Some(9_300e6);
        let (f, n) = rank(&e);
        assert_eq!(n, 0);
        assert!(
            f.iter().any(|f| f.kind == FindingKind::CpuBusy),
            "lesser on a full link: {f:?}"
        );
    }

    #[test]
    fn an_unreachable_peer_is_the_only_and_first_finding() {
        let mut e = tenge();
        e.unreachable = Some("connection refused".into());
        let (f, n) = rank(&e);
        assert_eq!((f.len(), n, &f[0].kind), (1, 1, &FindingKind::NodeUnreachable));
    }
}
