//! The findings a mesh's matrix names: the odd one out. Pure functions over a [`Matrix`]; a pair that is
//! incomplete or has no figure is never judged, and a node with no judged pair is never named.
//!
//! Order: a node's MTU first (`node_mtu_mismatch`), then a slow node (`slow_node`, not for a node already
//! named), then a slow pair of two fine nodes (`bad_pair`), then a direction much slower than its reverse
//! (`asymmetric_direction`, not for a node or pair already named). Thresholds: docs/mesh.md#findings.

use super::matrix::{Matrix, PairResult};
use crate::findings::{Finding, FindingKind};

/// A pair below this fraction of the reference rate is slow.
pub const SLOW_FRACTION: f64 = 0.80;
/// A pair at or above this fraction of the reference rate runs at the profile's rate ("fine").
pub const FINE_FRACTION: f64 = 0.90;
/// A direction below this fraction of its reverse is much slower than it.
pub const ASYMMETRY_RATIO: f64 = 0.70;

/// What the pairs are judged against: the profile's ceiling, else the best pair's figure.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Reference {
    bps: f64,
    from_profile: bool,
}

impl Reference {
    fn of(m: &Matrix) -> Option<Reference> {
        if let Some(bps) = m.ceiling_bps.filter(|c| *c > 0.0) {
            return Some(Reference {
                bps,
                from_profile: true,
            });
        }
        let best = judged(m)
            .map(|(_, _, p)| p)
            .fold(None, |acc: Option<f64>, b| Some(acc.map_or(b, |a| a.max(b))))?;
        (best > 0.0).then_some(Reference {
            bps: best,
            from_profile: false,
        })
    }

    fn slow(&self, bps: f64) -> bool {
        bps < SLOW_FRACTION * self.bps
    }

    fn fine(&self, bps: f64) -> bool {
        bps >= FINE_FRACTION * self.bps
    }

    fn percent(&self, bps: f64) -> f64 {
        100.0 * bps / self.bps
    }

    fn describe(&self) -> String {
        if self.from_profile {
            format!("the profile's {:.1} Mbit/s ceiling", self.bps / 1e6)
        } else {
            format!("the best pair's {:.1} Mbit/s", self.bps / 1e6)
        }
    }
}

/// Every judged pair: (from, to, its goodput).
fn judged(m: &Matrix) -> impl Iterator<Item = (usize, usize, f64)> + '_ {
    m.ordered_pairs()
        .filter_map(|(a, b)| Some((a, b, m.pair(a, b).and_then(PairResult::judged_bps)?)))
}

/// Every pair with a judged path MTU: (from, to, MTU).
fn judged_mtus(m: &Matrix) -> impl Iterator<Item = (usize, usize, u32)> + '_ {
    m.ordered_pairs()
        .filter_map(|(a, b)| Some((a, b, m.pair(a, b).and_then(PairResult::judged_mtu)?)))
}

/// The nodes every one of whose values (both directions, at least one each way) is `bad`, while the values
/// among the other nodes exist and are all `good`. `values` are (from, to, value).
fn odd_nodes<T: Copy>(
    n: usize,
    values: &[(usize, usize, T)],
    bad: impl Fn(T) -> bool,
    good: impl Fn(T) -> bool,
) -> Vec<usize> {
    let candidates: Vec<usize> = (0..n)
        .filter(|&x| {
            let mine: Vec<_> = values.iter().filter(|v| v.0 == x || v.1 == x).collect();
            mine.iter().any(|v| v.0 == x) && mine.iter().any(|v| v.1 == x) && mine.iter().all(|v| bad(v.2))
        })
        .collect();
    let others: Vec<T> = values
        .iter()
        .filter(|v| !candidates.contains(&v.0) && !candidates.contains(&v.1))
        .map(|v| v.2)
        .collect();
    if others.is_empty() || !others.iter().all(|&v| good(v)) {
        return Vec::new();
    }
    candidates
}

/// Draws every finding from the matrix; a clean matrix gives none.
pub fn findings(m: &Matrix) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut named = mtu_nodes(m, &mut out);
    if let Some(r) = Reference::of(m) {
        named.extend(slow_nodes(m, r, &named, &mut out));
        let bad = bad_pairs(m, r, &named, &mut out);
        asymmetric(m, &named, &bad, &mut out);
    }
    out
}

/// `node_mtu_mismatch`: a node whose every path carries smaller packets than the cluster's (the profile's MTU,
/// else the largest path MTU seen). Returns the nodes named.
fn mtu_nodes(m: &Matrix, out: &mut Vec<Finding>) -> Vec<usize> {
    let values: Vec<_> = judged_mtus(m).collect();
    let Some(cluster) = m.profile_mtu.or_else(|| values.iter().map(|v| v.2).max()) else {
        return Vec::new();
    };
    let named = odd_nodes(m.len(), &values, |v| v < cluster, |v| v >= cluster);
    for &x in &named {
        let most = values
            .iter()
            .filter(|v| v.0 == x || v.1 == x)
            .map(|v| v.2)
            .max()
            .unwrap_or(0);
        let node = &m.nodes[x];
        let mut text = format!(
            "every path to and from {} carries at most {most}-byte packets, the other pairs {cluster}",
            node.name
        );
        if let Some(link) = &node.link
            && let Some(mtu) = link.mtu
        {
            let ifname = link.interface.as_deref().unwrap_or("interface");
            text.push_str(&format!(" ({}'s {ifname} is at MTU {mtu})", node.name));
        }
        let fix = format!(
            "set {}'s interface and its switch port to MTU {cluster} (Linux: sudo ip link set IF mtu {cluster}; \
             macOS: sudo networksetup -setMTU <service> {cluster})",
            node.name
        );
        out.push(Finding::new(FindingKind::NodeMtuMismatch, node.name.clone(), text, fix));
    }
    named
}

/// "9.8–10.1 %" of the reference, for a set of figures.
fn percent_range(r: Reference, figures: impl Iterator<Item = f64>) -> String {
    let (lo, hi) = figures.fold((f64::MAX, f64::MIN), |(lo, hi), f| (lo.min(f), hi.max(f)));
    let (lo, hi) = (r.percent(lo), r.percent(hi));
    if format!("{lo:.1}") == format!("{hi:.1}") {
        format!("{lo:.1} %")
    } else {
        format!("{lo:.1}–{hi:.1} %")
    }
}

/// `slow_node`: a node whose every pair is slow both ways while the pairs of the others are fine. Its reported
/// link speed is added only where it reported one. Returns the nodes named.
fn slow_nodes(m: &Matrix, r: Reference, skip: &[usize], out: &mut Vec<Finding>) -> Vec<usize> {
    let values: Vec<_> = judged(m).collect();
    let named: Vec<usize> = odd_nodes(m.len(), &values, |v| r.slow(v), |v| r.fine(v))
        .into_iter()
        .filter(|x| !skip.contains(x))
        .collect();
    for &x in &named {
        let node = &m.nodes[x];
        let mine = values.iter().filter(|v| v.0 == x || v.1 == x).map(|v| v.2);
        let others = values
            .iter()
            .filter(|v| !named.contains(&v.0) && !named.contains(&v.1))
            .map(|v| v.2);
        let mut text = format!(
            "every pair with {} is slow both ways: {} of {}, while the other pairs reach {}",
            node.name,
            percent_range(r, mine),
            r.describe(),
            percent_range(r, others)
        );
        text.push_str(&speed_note(m, x));
        let fix = format!(
            "check {}'s cable, switch port and negotiated speed (Linux: ethtool IF; macOS: networksetup -getMedia \
             <service>), and any shaping on it",
            node.name
        );
        out.push(Finding::new(FindingKind::SlowNode, node.name.clone(), text, fix));
    }
    named
}

/// What the node said about its link speed, if it said anything.
fn speed_note(m: &Matrix, x: usize) -> String {
    let node = &m.nodes[x];
    let Some(link) = &node.link else { return String::new() };
    let Some(speed) = link.speed_mbps else {
        return String::new();
    };
    let ifname = link.interface.as_deref().unwrap_or("interface");
    match m.line_rate_mbps {
        Some(line) if f64::from(speed) < line => format!(
            "; {}'s {ifname} negotiated {speed} Mb/s, below the profile's {line:.0} Mb/s",
            node.name
        ),
        _ => format!(
            "; {}'s {ifname} reports {speed} Mb/s, so the limit is past its interface",
            node.name
        ),
    }
}

/// `bad_pair`: both directions of a pair slow while each of its nodes has a fine pair with a third node.
/// Returns the pairs named (lower index first).
fn bad_pairs(m: &Matrix, r: Reference, skip: &[usize], out: &mut Vec<Finding>) -> Vec<(usize, usize)> {
    let values: Vec<_> = judged(m).collect();
    let figure = |a: usize, b: usize| values.iter().find(|v| v.0 == a && v.1 == b).map(|v| v.2);
    let fine_elsewhere = |x: usize, y: usize| {
        values
            .iter()
            .any(|v| (v.0 == x || v.1 == x) && v.0 != y && v.1 != y && r.fine(v.2))
    };
    let mut named = Vec::new();
    for a in (0..m.len()).filter(|a| !skip.contains(a)) {
        for b in (a + 1..m.len()).filter(|b| !skip.contains(b)) {
            let (Some(ab), Some(ba)) = (figure(a, b), figure(b, a)) else {
                continue;
            };
            if !(r.slow(ab) && r.slow(ba) && fine_elsewhere(a, b) && fine_elsewhere(b, a)) {
                continue;
            }
            let (na, nb) = (&m.nodes[a].name, &m.nodes[b].name);
            let text = format!(
                "{na} and {nb} reach only {:.1} % ({na}->{nb}) and {:.1} % ({nb}->{na}) of {} with each other, while \
                 each is fine with the other nodes",
                r.percent(ab),
                r.percent(ba),
                r.describe()
            );
            let fix = "check what only this pair shares: a direct cable, another switch or uplink between them, a \
                       route by another interface (saf-net route on each), or a firewall or shaper rule for this pair"
                .to_string();
            out.push(Finding::new(FindingKind::BadPair, m.pair_name(a, b), text, fix));
            named.push((a, b));
        }
    }
    named
}

/// `asymmetric_direction`: one direction of a pair below [`ASYMMETRY_RATIO`] of its reverse.
fn asymmetric(m: &Matrix, skip: &[usize], bad: &[(usize, usize)], out: &mut Vec<Finding>) {
    let figure = |a: usize, b: usize| m.pair(a, b).and_then(PairResult::judged_bps);
    for a in (0..m.len()).filter(|a| !skip.contains(a)) {
        for b in (a + 1..m.len()).filter(|b| !skip.contains(b) && !bad.contains(&(a, *b))) {
            let (Some(ab), Some(ba)) = (figure(a, b), figure(b, a)) else {
                continue;
            };
            let (slow, fast, from, to) = if ab < ba { (ab, ba, a, b) } else { (ba, ab, b, a) };
            if fast <= 0.0 || slow >= ASYMMETRY_RATIO * fast {
                continue;
            }
            let text = format!(
                "{} reaches {:.1} Mbit/s, {:.0} % of the reverse direction's {:.1} Mbit/s",
                m.pair_name(from, to),
                slow / 1e6,
                100.0 * slow / fast,
                fast / 1e6
            );
            let fix = format!(
                "compare both ends' duplex, flow control and offloads, and look for drops at {} (Linux: ip -s link, \
                 nstat; macOS: netstat -s)",
                m.nodes[to].name
            );
            out.push(Finding::new(
                FindingKind::AsymmetricDirection,
                m.pair_name(from, to),
                text,
                fix,
            ));
        }
    }
}

#[cfg(test)]
#[path = "analysis_tests.rs"]
mod tests;
