//! Runs grouped by label and profile, with the figures every output shares: median, range, % of ceiling,
//! speedup over the baseline, projected transfer times.

use serde::Serialize;

use super::data::{History, LatencyHistogram, Run};
use crate::model::{self, Framing, GB, IpVersion, Link};
use crate::output::history::Kind;

/// Volumes the summary projects, in GB (10⁹ bytes).
pub const PROJECTED_GB: [f64; 2] = [10.0, 100.0];

/// Throughput runs that share a label and a profile.
#[derive(Debug, Clone)]
pub struct Group<'a> {
    pub label: String,
    pub profile: String,
    pub link: Option<Link>,
    pub runs: Vec<&'a Run>,
}

/// The figures of one group.
#[derive(Debug, Clone, Serialize)]
pub struct GroupStats {
    pub label: String,
    pub profile: String,
    pub link: Option<Link>,
    pub runs: usize,
    pub median_mbps: f64,
    pub min_mbps: f64,
    pub max_mbps: f64,
    /// The group's TCP goodput ceiling (timestamps on), when its profile is known.
    pub ceiling_mbps: Option<f64>,
    /// Median over runs of each run's goodput as a % of its own ceiling.
    pub pct_of_ceiling: Option<f64>,
    pub speedup_vs_baseline: f64,
    /// Seconds to move 10 GB and 100 GB at the median goodput.
    pub time_10gb_s: f64,
    pub time_100gb_s: f64,
}

pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn merged<'a>(hs: impl Iterator<Item = &'a LatencyHistogram>) -> Option<LatencyHistogram> {
    let mut out: Option<LatencyHistogram> = None;
    for h in hs {
        match &mut out {
            Some(o) => o.merge(h),
            None => out = Some(h.clone()),
        }
    }
    out
}

impl Group<'_> {
    /// "before · 1gbe" or "demo · no profile".
    pub fn title(&self) -> String {
        format!("{} · {}", self.label, self.profile_text())
    }

    pub fn profile_text(&self) -> String {
        if self.profile.is_empty() {
            "no profile".into()
        } else {
            self.profile.clone()
        }
    }

    pub fn goodputs(&self) -> Vec<f64> {
        self.runs.iter().filter_map(|r| r.receiver_mbps).collect()
    }

    /// IPv6 only when every run whose JSON says so is IPv6; otherwise the IPv4 ceiling.
    pub fn framing(&self) -> Framing {
        let all_v6 = !self.runs.is_empty() && self.runs.iter().all(|r| r.ip == Some(IpVersion::V6));
        Framing::default().ip(if all_v6 { IpVersion::V6 } else { IpVersion::V4 })
    }

    pub fn ceiling_mbps(&self) -> Option<f64> {
        self.link.map(|l| l.ceiling_mbps(self.framing()))
    }

    /// All the group's latency histograms merged, if any run has one.
    pub fn latency(&self) -> Option<LatencyHistogram> {
        merged(self.runs.iter().filter_map(|r| r.latency.as_ref()))
    }

    /// The group's `client --latency` histograms before the tests, merged.
    pub fn latency_idle(&self) -> Option<LatencyHistogram> {
        merged(self.runs.iter().filter_map(|r| r.latency_idle.as_ref()))
    }

    /// The group's `client --latency` histograms during the tests, merged.
    pub fn latency_loaded(&self) -> Option<LatencyHistogram> {
        merged(self.runs.iter().filter_map(|r| r.latency_loaded.as_ref()))
    }

    pub fn stats(&self, baseline_mbps: f64) -> GroupStats {
        let g = self.goodputs();
        let median_mbps = median(&g).unwrap_or(0.0);
        let pcts: Vec<f64> = self.runs.iter().filter_map(|r| r.pct_of_ceiling()).collect();
        GroupStats {
            label: self.label.clone(),
            profile: self.profile.clone(),
            link: self.link,
            runs: self.runs.len(),
            median_mbps,
            min_mbps: g.iter().copied().fold(f64::INFINITY, f64::min),
            max_mbps: g.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ceiling_mbps: self.ceiling_mbps(),
            pct_of_ceiling: median(&pcts),
            speedup_vs_baseline: median_mbps / baseline_mbps,
            time_10gb_s: model::transfer_seconds(PROJECTED_GB[0] * GB, median_mbps),
            time_100gb_s: model::transfer_seconds(PROJECTED_GB[1] * GB, median_mbps),
        }
    }
}

/// Throughput runs with a figure, grouped by (label, profile) in order of first appearance.
pub fn groups(history: &History) -> Vec<Group<'_>> {
    let mut out: Vec<Group<'_>> = Vec::new();
    for r in history.throughput().filter(|r| r.receiver_mbps.is_some()) {
        match out.iter_mut().find(|g| g.label == r.label && g.profile == r.profile) {
            Some(g) => g.runs.push(r),
            None => out.push(Group {
                label: r.label.clone(),
                profile: r.profile.clone(),
                link: r.link,
                runs: vec![r],
            }),
        }
    }
    out
}

/// The groups of one label.
pub fn groups_of<'a>(history: &'a History, label: &str) -> Vec<Group<'a>> {
    groups(history).into_iter().filter(|g| g.label == label).collect()
}

/// Each label's latency runs (`kind = latency`) merged per (label, mode): TCP ping-pong, UDP echo and connect times
/// measure different things and are never merged. Returns (label, mode, histogram, runs).
pub fn latency_by_label(history: &History) -> Vec<(String, String, LatencyHistogram, usize)> {
    let mut out: Vec<(String, String, LatencyHistogram, usize)> = Vec::new();
    for r in history.runs.iter().filter(|r| r.kind == Kind::Latency) {
        let Some(h) = &r.latency else { continue };
        match out
            .iter_mut()
            .find(|(l, m, _, _)| *l == r.label && *m == r.latency_mode)
        {
            Some((_, _, acc, n)) => {
                acc.merge(h);
                *n += 1;
            }
            None => out.push((r.label.clone(), r.latency_mode.clone(), h.clone(), 1)),
        }
    }
    out
}

/// Series names for the histograms of `client --latency` runs.
pub const IDLE: &str = "idle";
pub const UNDER_LOAD: &str = "under load";

/// Every latency series of the history, merged per series, in order of first appearance: each label's latency runs
/// (`kind = latency`, named by the label), and its throughput runs made with `client --latency`, as
/// "LABEL · idle" and "LABEL · under load".
pub fn latency_series(history: &History) -> Vec<(String, LatencyHistogram, usize)> {
    let mut out: Vec<(String, LatencyHistogram, usize)> = Vec::new();
    let mut add = |name: String, h: &LatencyHistogram| match out.iter_mut().find(|(n, _, _)| *n == name) {
        Some((_, acc, n)) => {
            acc.merge(h);
            *n += 1;
        }
        None => out.push((name, h.clone(), 1)),
    };
    // A label whose latency runs used more than one mode gets one series per mode ("LABEL · udp").
    let by_label = latency_by_label(history);
    let modes_of = |label: &str| by_label.iter().filter(|(l, _, _, _)| l == label).count();
    for r in &history.runs {
        if r.kind == Kind::Latency {
            if let Some(h) = &r.latency {
                let name = if modes_of(&r.label) > 1 {
                    let mode = if r.latency_mode.is_empty() {
                        "unknown mode"
                    } else {
                        &r.latency_mode
                    };
                    format!("{} · {mode}", r.label)
                } else {
                    r.label.clone()
                };
                add(name, h);
            }
        } else if r.is_throughput() {
            if let Some(h) = &r.latency_idle {
                add(format!("{} · {IDLE}", r.label), h);
            }
            if let Some(h) = &r.latency_loaded {
                add(format!("{} · {UNDER_LOAD}", r.label), h);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
