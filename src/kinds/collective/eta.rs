//! The sweep's ETA: each point not yet run is predicted as (warm-up + iterations) × (latency floor + its
//! bytes on the bus at the best busbw so far), from the points measured. Before the first point it is unknown.

use super::figures::{PointFigures, Reports, bus_factor};
use crate::protocol::{CollOp, PointSpec};

#[derive(Debug, Clone)]
pub struct Eta {
    specs: Vec<PointSpec>,
    n: usize,
    /// Smallest time p50 measured, seconds.
    floor: Option<f64>,
    /// Best busbw measured per op, bit/s (ops differ: a reduction costs CPU that a copy does not).
    busbw: Vec<(CollOp, f64)>,
}

impl Eta {
    pub fn new(reports: &[Reports], n: usize) -> Eta {
        Eta {
            specs: reports.iter().map(|r| r.spec).collect(),
            n,
            floor: None,
            busbw: Vec::new(),
        }
    }

    /// A point's figures refine the model.
    pub fn measured(&mut self, f: &PointFigures) {
        if let Some(t) = f.time_p50_s {
            self.floor = Some(self.floor.map_or(t, |x| x.min(t)));
        }
        if let Some(b) = f.busbw_bps {
            match self.busbw.iter_mut().find(|(op, _)| *op == f.op) {
                Some((_, best)) => *best = best.max(b),
                None => self.busbw.push((f.op, b)),
            }
        }
    }

    /// Predicted seconds for the points from `next` on.
    pub fn remaining(&self, next: usize) -> Option<f64> {
        let floor = self.floor?;
        // An op not measured yet is predicted at the slowest op's rate.
        let slowest = self.busbw.iter().map(|(_, b)| *b).reduce(f64::min)?;
        Some(
            self.specs
                .iter()
                .skip(next)
                .map(|p| {
                    let busbw = self
                        .busbw
                        .iter()
                        .find(|(op, _)| *op == p.op)
                        .map_or(slowest, |(_, b)| *b);
                    let bus = p.size_bytes as f64 * 8.0 * bus_factor(p.op, self.n) / busbw;
                    f64::from(p.iters + p.warmup) * (floor + bus)
                })
                .sum(),
        )
    }

    /// ", ETA 1m20s" for the points from `next` on; "" when all ran, ", ETA unknown" before any.
    pub fn text(&self, next: usize) -> String {
        if next >= self.specs.len() {
            return String::new();
        }
        match self.remaining(next) {
            Some(s) => format!(", ETA {}", clock(s)),
            None => ", ETA unknown until the first point ends".into(),
        }
    }
}

/// "45s", "3m05s", "1h02m".
fn clock(secs: f64) -> String {
    let s = secs.round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eta_predicts_the_rest_from_floor_and_busbw() {
        let spec = |size| PointSpec {
            op: CollOp::Allreduce,
            size_bytes: size,
            iters: 9,
            warmup: 1,
        };
        let reports: Vec<Reports> = [1000u64, 125_000_000]
            .iter()
            .map(|&s| Reports {
                spec: spec(s),
                ranks: vec![],
            })
            .collect();
        let mut eta = Eta::new(&reports, 2);
        assert_eq!(eta.text(0), ", ETA unknown until the first point ends");
        let f = PointFigures {
            op: CollOp::Allreduce,
            size_bytes: 1000,
            iters: 9,
            time_p50_s: Some(0.001),
            time_p99_s: None,
            algbw_bps: None,
            busbw_bps: Some(1e9),
            verified: true,
            complete: true,
            mismatch: None,
            error: None,
        };
        eta.measured(&f);
        // 10 × (1 ms + 1 Gbit at 1 Gbit/s) = 10.01 s.
        assert!((eta.remaining(1).unwrap() - 10.01).abs() < 1e-9);
        assert_eq!(eta.text(1), ", ETA 10s");
        assert_eq!(eta.text(2), "");
        assert_eq!(clock(185.0), "3m05s");
        assert_eq!(clock(3720.0), "1h02m");
    }
}
