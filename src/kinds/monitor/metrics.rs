//! The monitor's Prometheus metrics (docs/monitor.md#metrics): one registry, a family per name, the labels
//! `peer`, `profile`, `interface` (and `probe`, `side` where said). Thresholds from the profile are exported as
//! `saf_net_profile_*` gauges so the shipped rules need no per-site numbers.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::profile::Profile;
use crate::stats::Recorder;

type FGauge = Gauge<f64, AtomicU64>;

/// Every metric name the monitor exports (histograms without their `_bucket`/`_count`/`_sum`).
pub const NAMES: [&str; 16] = [
    "saf_net_rtt_seconds",
    "saf_net_probe_loss_ratio",
    "saf_net_path_mtu_bytes",
    "saf_net_link_speed_bits_per_second",
    "saf_net_interface_mtu_bytes",
    "saf_net_link_full_duplex",
    "saf_net_goodput_bits_per_second",
    "saf_net_goodput_ceiling_ratio",
    "saf_net_last_sample_timestamp_seconds",
    "saf_net_probe_up",
    "saf_net_throughput_budget_remaining_bytes",
    "saf_net_profile_min_ceiling_fraction",
    "saf_net_profile_rtt_p99_max_seconds",
    "saf_net_profile_mtu_bytes",
    "saf_net_profile_link_speed_bits_per_second",
    "saf_net_probe_success",
];

/// The labels of a measured series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Labels {
    pub peer: String,
    pub profile: String,
    pub interface: String,
}

/// A link-facts series: `side` is `local` (this host's egress interface) or `peer` (the peer's, as it reports).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SideLabels {
    pub peer: String,
    pub profile: String,
    pub interface: String,
    pub side: String,
}

/// A per-probe series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProbeLabels {
    pub peer: String,
    pub profile: String,
    pub probe: String,
}

/// A profile threshold of one peer.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PeerLabels {
    pub peer: String,
    pub profile: String,
}

fn rtt_histogram() -> Histogram {
    // 50 µs to ~1.6 s, doubling.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

/// The registry and its families; families are shared handles, so recording needs only `&self`.
pub struct Metrics {
    pub registry: Registry,
    rtt: Family<Labels, Histogram, fn() -> Histogram>,
    loss: Family<Labels, FGauge>,
    path_mtu: Family<Labels, FGauge>,
    link_speed: Family<SideLabels, FGauge>,
    interface_mtu: Family<SideLabels, FGauge>,
    duplex: Family<SideLabels, FGauge>,
    goodput: Family<Labels, FGauge>,
    ceiling_ratio: Family<Labels, FGauge>,
    last_sample: Family<ProbeLabels, FGauge>,
    up: Family<ProbeLabels, FGauge>,
    budget_remaining: FGauge,
    min_fraction: Family<PeerLabels, FGauge>,
    rtt_max: Family<PeerLabels, FGauge>,
    profile_mtu: Family<PeerLabels, FGauge>,
    profile_speed: Family<PeerLabels, FGauge>,
    success: FGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::default(),
            rtt: Family::new_with_constructor(rtt_histogram),
            loss: Family::default(),
            path_mtu: Family::default(),
            link_speed: Family::default(),
            interface_mtu: Family::default(),
            duplex: Family::default(),
            goodput: Family::default(),
            ceiling_ratio: Family::default(),
            last_sample: Family::default(),
            up: Family::default(),
            budget_remaining: FGauge::default(),
            min_fraction: Family::default(),
            rtt_max: Family::default(),
            profile_mtu: Family::default(),
            profile_speed: Family::default(),
            success: FGauge::default(),
        };
        m.register();
        m
    }

    fn register(&mut self) {
        let r = &mut self.registry;
        r.register(
            "saf_net_rtt_seconds",
            "UDP echo round-trip time (slot-free echo)",
            self.rtt.clone(),
        );
        r.register(
            "saf_net_probe_loss_ratio",
            "Echo probes lost in the last RTT probe, 0 to 1",
            self.loss.clone(),
        );
        r.register(
            "saf_net_path_mtu_bytes",
            "Path MTU, the smaller of both directions",
            self.path_mtu.clone(),
        );
        r.register(
            "saf_net_link_speed_bits_per_second",
            "Negotiated speed of the egress interface",
            self.link_speed.clone(),
        );
        r.register(
            "saf_net_interface_mtu_bytes",
            "MTU of the egress interface",
            self.interface_mtu.clone(),
        );
        r.register(
            "saf_net_link_full_duplex",
            "1 full duplex, 0 half (absent when unknown)",
            self.duplex.clone(),
        );
        r.register(
            "saf_net_goodput_bits_per_second",
            "Receiver goodput of the last throughput sample",
            self.goodput.clone(),
        );
        r.register(
            "saf_net_goodput_ceiling_ratio",
            "Last goodput over the profile's TCP ceiling",
            self.ceiling_ratio.clone(),
        );
        r.register(
            "saf_net_last_sample_timestamp_seconds",
            "Unix time of the last answered probe",
            self.last_sample.clone(),
        );
        r.register(
            "saf_net_probe_up",
            "1 when the last probe of this kind answered, 0 when it failed",
            self.up.clone(),
        );
        r.register(
            "saf_net_throughput_budget_remaining_bytes",
            "Unspent --budget of the current window",
            self.budget_remaining.clone(),
        );
        r.register(
            "saf_net_profile_min_ceiling_fraction",
            "The profile's [validate] min_ceiling_fraction",
            self.min_fraction.clone(),
        );
        r.register(
            "saf_net_profile_rtt_p99_max_seconds",
            "The profile's [validate] max_rtt_p99_us, in seconds",
            self.rtt_max.clone(),
        );
        r.register(
            "saf_net_profile_mtu_bytes",
            "The profile's [link] mtu",
            self.profile_mtu.clone(),
        );
        r.register(
            "saf_net_profile_link_speed_bits_per_second",
            "The profile's [link] line_rate_mbps",
            self.profile_speed.clone(),
        );
    }

    /// The profile's thresholds for `peer` (none without a profile).
    pub fn thresholds(&self, peer: &str, profile: Option<&Profile>) {
        let Some(p) = profile else { return };
        let l = PeerLabels {
            peer: peer.to_string(),
            profile: p.name.clone(),
        };
        self.min_fraction.get_or_create(&l).set(p.validate.min_ceiling_fraction);
        if let Some(us) = p.validate.max_rtt_p99_us {
            self.rtt_max.get_or_create(&l).set(us / 1e6);
        }
        self.profile_mtu.get_or_create(&l).set(p.link.mtu as f64);
        self.profile_speed.get_or_create(&l).set(p.link.line_rate_mbps * 1e6);
    }

    /// An RTT probe's samples and loss.
    pub fn rtt(&self, l: &Labels, rtt: &Recorder, sent: u64, lost: u64) {
        let h = self.rtt.get_or_create(l);
        for (ns, count) in rtt.recorded() {
            for _ in 0..count {
                h.observe(ns as f64 / 1e9);
            }
        }
        if sent > 0 {
            self.loss.get_or_create(l).set(lost as f64 / sent as f64);
        }
    }

    pub fn path_mtu(&self, l: &Labels, mtu: u32) {
        self.path_mtu.get_or_create(l).set(mtu as f64);
    }

    /// One side's egress interface: its speed, MTU and duplex, each when known.
    pub fn link(&self, l: &SideLabels, speed_mbps: Option<u32>, mtu: Option<u32>, duplex: Option<&str>) {
        let full = match duplex {
            Some("full") => Some(1.0),
            Some("half") => Some(0.0),
            _ => None,
        };
        if let Some(v) = full {
            self.duplex.get_or_create(l).set(v);
        }
        if let Some(s) = speed_mbps {
            self.link_speed.get_or_create(l).set(s as f64 * 1e6);
        }
        if let Some(m) = mtu {
            self.interface_mtu.get_or_create(l).set(m as f64);
        }
    }

    /// A throughput sample's goodput, and its share of the ceiling when a profile gives one.
    pub fn goodput(&self, l: &Labels, bps: f64, ceiling_bps: Option<f64>) {
        self.goodput.get_or_create(l).set(bps);
        if let Some(c) = ceiling_bps.filter(|c| *c > 0.0) {
            self.ceiling_ratio.get_or_create(l).set(bps / c);
        }
    }

    /// Whether a probe answered, and when (unix seconds) it last did.
    pub fn probed(&self, l: &ProbeLabels, ok: bool, now: f64) {
        self.up.get_or_create(l).set(if ok { 1.0 } else { 0.0 });
        if ok {
            self.last_sample.get_or_create(l).set(now);
        }
    }

    pub fn budget_remaining(&self, bytes: u64) {
        self.budget_remaining.set(bytes as f64);
    }

    /// For a `/probe` answer: registers and sets `saf_net_probe_success`.
    pub fn success(&mut self, ok: bool) {
        self.registry.register(
            "saf_net_probe_success",
            "1 when this /probe request's probe answered",
            self.success.clone(),
        );
        self.success.set(if ok { 1.0 } else { 0.0 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exporter::Reply;

    fn labels() -> Labels {
        Labels {
            peer: "h2".into(),
            profile: "10gbe".into(),
            interface: "eth0".into(),
        }
    }

    #[test]
    fn the_contracts_names_and_labels_are_exported() {
        let m = Metrics::new();
        let mut r = Recorder::default();
        r.record(120_000);
        r.record(180_000);
        m.rtt(&labels(), &r, 4, 2);
        m.path_mtu(&labels(), 1500);
        let side = SideLabels {
            peer: "h2".into(),
            profile: "10gbe".into(),
            interface: "eth0".into(),
            side: "local".into(),
        };
        m.link(&side, Some(1000), Some(1500), Some("full"));
        m.goodput(&labels(), 940e6, Some(9414.8e6));
        m.probed(
            &ProbeLabels {
                peer: "h2".into(),
                profile: "10gbe".into(),
                probe: "rtt".into(),
            },
            true,
            1e9,
        );
        m.thresholds("h2", Some(&Profile::resolve("10gbe").unwrap()));
        let body = Reply::metrics(&m.registry).body;
        assert!(
            body.contains(r#"saf_net_rtt_seconds_count{peer="h2",profile="10gbe",interface="eth0"} 2"#),
            "{body}"
        );
        assert!(
            body.contains(r#"saf_net_rtt_seconds_bucket{le="0.0002",peer="h2""#),
            "{body}"
        );
        assert!(
            body.contains(r#"saf_net_probe_loss_ratio{peer="h2",profile="10gbe",interface="eth0"} 0.5"#),
            "{body}"
        );
        assert!(body.contains(r#"saf_net_link_speed_bits_per_second{peer="h2",profile="10gbe",interface="eth0",side="local"} 1000000000"#), "{body}");
        assert!(body.contains("saf_net_goodput_ceiling_ratio{"), "{body}");
        assert!(
            body.contains(r#"saf_net_profile_rtt_p99_max_seconds{peer="h2",profile="10gbe"} 0.002"#),
            "{body}"
        );
        for name in NAMES.iter().filter(|n| **n != "saf_net_probe_success") {
            assert!(body.contains(&format!("# TYPE {name} ")), "{name} missing:\n{body}");
        }
    }
}
