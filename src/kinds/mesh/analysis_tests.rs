//! Synthetic matrices for each finding, including the lab cases.

use super::*;
use crate::kinds::mesh::matrix::{MeshNode, NodeLink};
use crate::model::tcp_goodput_ceiling_mbps;
use crate::profile::Profile;
use crate::profile::resolve_in;

/// A lab of `n` hosts 10.0.0.1.. on one switch, as the lab builds it: host K's port shaped to `rate[K]` Mb/s
/// with MTU `mtu[K]`; a pair gets `share` of the ceiling its slower port allows, the smaller MTU both ways.
struct Lab {
    profile: Profile,
    rates: Vec<f64>,
    mtus: Vec<u32>,
    /// Each node reports this link speed (veths say 10000), or nothing.
    reported_speed: Option<u32>,
    share: f64,
}

impl Lab {
    fn new(profile: &str, n: usize) -> Lab {
        let profile = resolve_in(profile, &[]).unwrap();
        Lab {
            rates: vec![profile.link.line_rate_mbps; n],
            mtus: vec![profile.link.mtu; n],
            profile,
            reported_speed: Some(10_000),
            share: 0.985,
        }
    }

    fn pair(&self, a: usize, b: usize) -> PairResult {
        let rate = self.rates[a].min(self.rates[b]);
        let mtu = self.mtus[a].min(self.mtus[b]);
        // A little spread so no two figures are equal.
        let share = self.share - 0.001 * ((a * 7 + b * 3) % 5) as f64;
        let bps = tcp_goodput_ceiling_mbps(rate, mtu, true) * 1e6 * share;
        PairResult {
            goodput_bps: Some(bps * 0.97),
            goodput_parallel_bps: Some(bps),
            rtt_p50_us: Some(60.0),
            rtt_p99_us: Some(120.0),
            path_mtu: Some(mtu),
            complete: true,
        }
    }

    fn matrix(&self) -> Matrix {
        let nodes = (0..self.rates.len())
            .map(|i| MeshNode {
                name: format!("10.0.0.{}", i + 1),
                host: format!("10.0.0.{}", i + 1),
                link: Some(NodeLink {
                    interface: Some(format!("h{}-eth0", i + 1)),
                    speed_mbps: self.reported_speed,
                    mtu: Some(self.mtus[i]),
                }),
            })
            .collect();
        let mut m = Matrix::new(nodes);
        m.ceiling_bps = Some(self.profile.ceiling_mbps() * 1e6);
        m.line_rate_mbps = Some(self.profile.link.line_rate_mbps);
        m.profile_mtu = Some(self.profile.link.mtu);
        for (a, b) in m.ordered_pairs().collect::<Vec<_>>() {
            m.set(a, b, self.pair(a, b));
        }
        m
    }
}

fn kinds_and_subjects(f: &[Finding]) -> Vec<(String, String)> {
    f.iter().map(|f| (f.kind.to_string(), f.subject.clone())).collect()
}

#[test]
fn lab_1gbe_with_host_3_at_100_mbps_names_host_3_and_nothing_else() {
    let mut lab = Lab::new("1gbe", 4);
    lab.rates[2] = 100.0;
    let f = findings(&lab.matrix());
    assert_eq!(
        kinds_and_subjects(&f),
        vec![("slow_node".into(), "10.0.0.3".into())],
        "{f:#?}"
    );
    let text = &f[0].text;
    assert!(text.contains("every pair with 10.0.0.3 is slow both ways"), "{text}");
    assert!(text.contains("of the profile's 941.5 Mbit/s ceiling"), "{text}");
    // The veth reports 10000 Mb/s: said as reported, not blamed.
    assert!(
        text.ends_with("10.0.0.3's h3-eth0 reports 10000 Mb/s, so the limit is past its interface"),
        "{text}"
    );
}

#[test]
fn a_slow_node_names_its_link_speed_only_where_reported() {
    let mut lab = Lab::new("1gbe", 4);
    lab.rates[2] = 100.0;
    lab.reported_speed = None;
    let f = findings(&lab.matrix());
    assert_eq!(f.len(), 1);
    assert!(!f[0].text.contains("Mb/s"), "{}", f[0].text);
    lab.reported_speed = Some(100);
    let f = findings(&lab.matrix());
    assert!(
        f[0].text
            .ends_with("10.0.0.3's h3-eth0 negotiated 100 Mb/s, below the profile's 1000 Mb/s"),
        "{}",
        f[0].text
    );
}

#[test]
fn lab_10gbe_jumbo_with_host_2_at_mtu_1500_names_host_2s_mtu() {
    let mut lab = Lab::new("10gbe-jumbo", 4);
    lab.mtus[1] = 1500;
    let f = findings(&lab.matrix());
    assert_eq!(
        kinds_and_subjects(&f),
        vec![("node_mtu_mismatch".into(), "10.0.0.2".into())],
        "{f:#?}"
    );
    assert_eq!(
        f[0].text,
        "every path to and from 10.0.0.2 carries at most 1500-byte packets, the other pairs 9000 (10.0.0.2's h2-eth0 \
         is at MTU 1500)"
    );
    assert!(f[0].fix.contains("MTU 9000"), "{}", f[0].fix);
}

#[test]
fn a_node_named_for_its_mtu_is_not_also_a_slow_node() {
    let mut lab = Lab::new("10gbe-jumbo", 4);
    lab.mtus[1] = 1500;
    lab.rates[1] = 1000.0;
    let f = findings(&lab.matrix());
    assert_eq!(
        kinds_and_subjects(&f),
        vec![("node_mtu_mismatch".into(), "10.0.0.2".into())],
        "{f:#?}"
    );
}

#[test]
fn a_clean_matrix_has_no_findings() {
    for (profile, n) in [("1gbe", 4), ("1gbe", 2), ("10gbe-jumbo", 3), ("10gbe", 8)] {
        let f = findings(&Lab::new(profile, n).matrix());
        assert!(f.is_empty(), "{profile} x{n}: {f:#?}");
    }
}

#[test]
fn a_direction_much_slower_than_its_reverse_is_named() {
    let lab = Lab::new("1gbe", 4);
    let mut m = lab.matrix();
    let mut p = m.pair(0, 1).unwrap().clone();
    p.goodput_parallel_bps = Some(p.goodput_parallel_bps.unwrap() * 0.5);
    m.set(0, 1, p);
    let f = findings(&m);
    assert_eq!(
        kinds_and_subjects(&f),
        vec![("asymmetric_direction".into(), "10.0.0.1->10.0.0.2".into())],
        "{f:#?}"
    );
    assert!(f[0].text.contains("50 % of the reverse direction's"), "{}", f[0].text);
}

#[test]
fn a_slow_pair_of_two_fine_nodes_is_a_bad_pair() {
    let lab = Lab::new("1gbe", 4);
    let mut m = lab.matrix();
    for (a, b) in [(0, 3), (3, 0)] {
        let mut p = m.pair(a, b).unwrap().clone();
        p.goodput_parallel_bps = Some(300e6);
        m.set(a, b, p);
    }
    let f = findings(&m);
    assert_eq!(
        kinds_and_subjects(&f),
        vec![("bad_pair".into(), "10.0.0.1->10.0.0.4".into())],
        "{f:#?}"
    );
    assert!(
        f[0].text.contains("while each is fine with the other nodes"),
        "{}",
        f[0].text
    );
}

#[test]
fn incomplete_pairs_are_never_judged() {
    let mut lab = Lab::new("1gbe", 4);
    lab.rates[2] = 100.0;
    let mut m = lab.matrix();
    for (a, b) in m.ordered_pairs().collect::<Vec<_>>() {
        if a == 2 || b == 2 {
            let mut p = m.pair(a, b).unwrap().clone();
            p.complete = false;
            m.set(a, b, p);
        }
    }
    assert!(findings(&m).is_empty(), "{:#?}", findings(&m));
    // Nothing measured at all: nothing to say.
    let empty = Matrix::new(m.nodes.clone());
    assert!(findings(&empty).is_empty());
}

#[test]
fn a_node_with_one_direction_unknown_is_not_named() {
    let mut lab = Lab::new("1gbe", 4);
    lab.rates[2] = 100.0;
    let mut m = lab.matrix();
    for b in [0, 1, 3] {
        m.pairs[b][2] = None;
    }
    let f = findings(&m);
    assert!(f.iter().all(|f| f.kind != FindingKind::SlowNode), "{f:#?}");
}

#[test]
fn without_a_profile_the_best_pair_is_the_reference() {
    let mut lab = Lab::new("1gbe", 4);
    lab.rates[3] = 100.0;
    let mut m = lab.matrix();
    m.ceiling_bps = None;
    m.line_rate_mbps = None;
    m.profile_mtu = None;
    let f = findings(&m);
    assert_eq!(
        kinds_and_subjects(&f),
        vec![("slow_node".into(), "10.0.0.4".into())],
        "{f:#?}"
    );
    assert!(f[0].text.contains("of the best pair's"), "{}", f[0].text);
}

#[test]
fn when_every_node_is_slow_none_is_named() {
    let mut lab = Lab::new("1gbe", 3);
    lab.rates = vec![100.0; 3];
    let f = findings(&lab.matrix());
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn two_slow_nodes_are_both_named_when_the_rest_is_fine() {
    let mut lab = Lab::new("1gbe", 5);
    lab.rates[1] = 100.0;
    lab.rates[4] = 100.0;
    let f = findings(&lab.matrix());
    assert_eq!(
        kinds_and_subjects(&f),
        vec![
            ("slow_node".into(), "10.0.0.2".into()),
            ("slow_node".into(), "10.0.0.5".into())
        ],
        "{f:#?}"
    );
}

#[test]
fn the_thresholds_are_ordered() {
    const { assert!(SLOW_FRACTION < FINE_FRACTION && FINE_FRACTION < 1.0 && ASYMMETRY_RATIO < 1.0) };
}
