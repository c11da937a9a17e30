//! A point's figures from every member's report, as nccl-tests defines them: an iteration takes as long as its
//! slowest rank; time p50/p99 over the iterations; algbw = size / time (p50); busbw = algbw × the op's factor,
//! which makes every op comparable with the link's rate. Per op: the peak busbw, the small-message latency
//! floor and the size at which half the peak is reached.

use serde::Serialize;

use crate::protocol::{CollOp, PointResult, PointSpec};

/// busbw / algbw for `op` over `n` ranks (nccl-tests' PERFORMANCE.md): the share of the buffer each link carries.
pub fn bus_factor(op: CollOp, n: usize) -> f64 {
    let n = n.max(1) as f64;
    match op {
        CollOp::Allreduce => 2.0 * (n - 1.0) / n,
        CollOp::Allgather | CollOp::ReduceScatter | CollOp::Alltoall => (n - 1.0) / n,
        CollOp::Broadcast => 1.0,
    }
}

/// One point as every rank reported it (None: a rank that never reported it).
#[derive(Debug, Clone)]
pub struct Reports {
    pub spec: PointSpec,
    pub ranks: Vec<Option<PointResult>>,
}

/// One point's figures; a point missing a rank, with an error or a wrong result, has no time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointFigures {
    pub op: CollOp,
    pub size_bytes: u64,
    pub iters: u32,
    pub time_p50_s: Option<f64>,
    pub time_p99_s: Option<f64>,
    /// bit/s.
    pub algbw_bps: Option<f64>,
    pub busbw_bps: Option<f64>,
    /// Every rank's result equalled the closed form.
    pub verified: bool,
    /// Every rank reported every timed iteration.
    pub complete: bool,
    /// The first wrong element, "rank R: index I: got X, expected Y".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mismatch: Option<String>,
    /// Why the point did not run whole: "rank R: WHY".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl PointFigures {
    /// The figure that may be shown and compared.
    pub fn judged_busbw(&self) -> Option<f64> {
        self.busbw_bps.filter(|_| self.complete && self.verified)
    }
}

/// `r`'s figures over `n` ranks.
pub fn figures(r: &Reports, n: usize) -> PointFigures {
    let mut f = PointFigures {
        op: r.spec.op,
        size_bytes: r.spec.size_bytes,
        iters: r.spec.iters,
        time_p50_s: None,
        time_p99_s: None,
        algbw_bps: None,
        busbw_bps: None,
        verified: false,
        complete: false,
        mismatch: None,
        error: None,
    };
    let iters = r.spec.iters as usize;
    let mut slowest = vec![0.0f64; iters];
    for (rank, got) in r.ranks.iter().enumerate() {
        let Some(p) = got else {
            f.error.get_or_insert_with(|| format!("rank {rank}: no report"));
            continue;
        };
        if let Some(e) = &p.error {
            f.error.get_or_insert_with(|| format!("rank {rank}: {e}"));
        }
        if let Some(m) = &p.mismatch {
            f.mismatch.get_or_insert_with(|| format!("rank {rank}: {m}"));
        }
        if p.times_s.len() != iters {
            f.error
                .get_or_insert_with(|| format!("rank {rank}: {} of {iters} iterations", p.times_s.len()));
            continue;
        }
        for (s, t) in slowest.iter_mut().zip(&p.times_s) {
            *s = s.max(*t);
        }
    }
    f.complete = f.error.is_none() && r.ranks.len() == n;
    f.verified = f.complete && r.ranks.iter().flatten().all(|p| p.verified);
    if f.complete && iters > 0 {
        slowest.sort_by(f64::total_cmp);
        let p50 = quantile(&slowest, 0.50);
        f.time_p50_s = Some(p50);
        f.time_p99_s = Some(quantile(&slowest, 0.99));
        if p50 > 0.0 {
            let algbw = r.spec.size_bytes as f64 * 8.0 / p50;
            f.algbw_bps = Some(algbw);
            f.busbw_bps = Some(algbw * bus_factor(r.spec.op, n));
        }
    }
    f
}

/// The `q` quantile of sorted values, interpolated between the two nearest ranks.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let at = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo as f64)
}

/// One op's summary over its sizes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpSummary {
    pub op: CollOp,
    pub peak_busbw_bps: Option<f64>,
    pub peak_size_bytes: Option<u64>,
    /// time p50 at the smallest size measured: what a tiny message costs.
    pub latency_floor_s: Option<f64>,
    pub latency_floor_size_bytes: Option<u64>,
    /// The smallest size at which busbw reaches half its peak.
    pub half_peak_size_bytes: Option<u64>,
}

/// Each op's summary, in the order the ops first appear.
pub fn summaries(points: &[PointFigures]) -> Vec<OpSummary> {
    let mut ops: Vec<CollOp> = Vec::new();
    for p in points {
        if !ops.contains(&p.op) {
            ops.push(p.op);
        }
    }
    ops.into_iter().map(|op| summary(op, points)).collect()
}

fn summary(op: CollOp, points: &[PointFigures]) -> OpSummary {
    let mut mine: Vec<&PointFigures> = points
        .iter()
        .filter(|p| p.op == op && p.judged_busbw().is_some())
        .collect();
    mine.sort_by_key(|p| p.size_bytes);
    let peak = mine.iter().copied().max_by(|a, b| {
        a.judged_busbw()
            .unwrap_or(0.0)
            .total_cmp(&b.judged_busbw().unwrap_or(0.0))
    });
    let peak_bps = peak.and_then(|p| p.judged_busbw());
    let half = peak_bps.and_then(|pk| mine.iter().find(|p| p.judged_busbw().unwrap_or(0.0) >= pk / 2.0));
    OpSummary {
        op,
        peak_busbw_bps: peak_bps,
        peak_size_bytes: peak.map(|p| p.size_bytes),
        latency_floor_s: mine.first().and_then(|p| p.time_p50_s),
        latency_floor_size_bytes: mine.first().map(|p| p.size_bytes),
        half_peak_size_bytes: half.map(|p| p.size_bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reports(op: CollOp, size: u64, times: &[&[f64]]) -> Reports {
        Reports {
            spec: PointSpec {
                op,
                size_bytes: size,
                iters: times[0].len() as u32,
                warmup: 0,
            },
            ranks: times
                .iter()
                .map(|t| {
                    Some(PointResult {
                        times_s: t.to_vec(),
                        verified: true,
                        ..PointResult::default()
                    })
                })
                .collect(),
        }
    }

    #[test]
    fn bus_factors_are_nccl_tests_ones() {
        assert_eq!(bus_factor(CollOp::Allreduce, 4), 1.5);
        assert_eq!(bus_factor(CollOp::Allreduce, 2), 1.0);
        assert_eq!(bus_factor(CollOp::Allgather, 4), 0.75);
        assert_eq!(bus_factor(CollOp::ReduceScatter, 8), 0.875);
        assert_eq!(bus_factor(CollOp::Alltoall, 2), 0.5);
        assert_eq!(bus_factor(CollOp::Broadcast, 16), 1.0);
    }

    #[test]
    fn an_iteration_takes_its_slowest_rank_and_busbw_scales_algbw() {
        // 4 ranks, 1 MB: the slow rank's 0.02 s iteration is the iteration's time.
        let r = reports(
            CollOp::Allreduce,
            1_000_000,
            &[&[0.01, 0.01, 0.01], &[0.01, 0.02, 0.01], &[0.01; 3], &[0.01; 3]],
        );
        let f = figures(&r, 4);
        assert!(f.complete && f.verified);
        assert_eq!(f.time_p50_s, Some(0.01));
        assert!((f.time_p99_s.unwrap() - 0.0198).abs() < 1e-9);
        assert_eq!(f.algbw_bps, Some(8e8));
        assert_eq!(f.busbw_bps, Some(1.2e9));
    }

    #[test]
    fn a_missing_rank_or_a_wrong_result_has_no_judged_figure() {
        let mut r = reports(CollOp::Allgather, 4096, &[&[0.001], &[0.001]]);
        r.ranks[1] = None;
        let f = figures(&r, 2);
        assert!(!f.complete && f.busbw_bps.is_none());
        assert_eq!(f.error.as_deref(), Some("rank 1: no report"));
        let mut r = reports(CollOp::Allgather, 4096, &[&[0.001], &[0.001]]);
        r.ranks[0].as_mut().unwrap().verified = false;
        r.ranks[0].as_mut().unwrap().mismatch = Some("index 3: got 1, expected 2".into());
        let f = figures(&r, 2);
        assert!(f.complete && !f.verified && f.judged_busbw().is_none());
        assert_eq!(f.mismatch.as_deref(), Some("rank 0: index 3: got 1, expected 2"));
    }

    #[test]
    fn the_summary_finds_peak_floor_and_half_peak() {
        let pts: Vec<PointFigures> = [(1024u64, 0.001), (1 << 20, 0.004), (16 << 20, 0.02), (64 << 20, 0.07)]
            .iter()
            .map(|&(s, t)| figures(&reports(CollOp::Allreduce, s, &[&[t], &[t]]), 2))
            .collect();
        let s = &summaries(&pts)[0];
        assert_eq!(s.peak_size_bytes, Some(64 << 20));
        assert_eq!(s.latency_floor_s, Some(0.001));
        // 16 MiB at 0.02 s is 6.7 Gbit/s, above half of 64 MiB's 7.7; 1 MiB's 2.1 is not.
        assert_eq!(s.half_peak_size_bytes, Some(16 << 20));
    }
}
