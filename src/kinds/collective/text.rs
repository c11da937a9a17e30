//! The collective's text: a table per op by size (times, algbw and busbw in GB/s as nccl-tests prints them,
//! busbw in Gbit/s and as % of the ceiling, the check), each op's peak, floor and half-peak size, then the
//! bottleneck, the problems and what it means.

use std::fmt::Write;

use super::figures::{OpSummary, PointFigures};
use super::outcome::Outcome;
use crate::units::short_size;

/// "312.0 us", "4.21 ms", "1.203 s".
pub fn duration(s: f64) -> String {
    if s < 1e-3 {
        format!("{:.1} us", s * 1e6)
    } else if s < 1.0 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{s:.3} s")
    }
}

/// bit/s as nccl-tests' GB/s (10⁹ bytes per second).
fn gbytes(bps: f64) -> String {
    format!("{:.3}", bps / 8e9)
}

impl Outcome {
    pub fn text(&self) -> String {
        let mut out = String::new();
        let names: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
        let _ = writeln!(
            out,
            "saf-net collective: {} nodes ({}), ring, {}, {} iterations after {} warm-up",
            names.len(),
            names.join(" "),
            self.dtype.as_str(),
            self.iters,
            self.warmup
        );
        if let (Some(c), Some(p)) = (self.ceiling_bps, &self.profile) {
            let _ = writeln!(out, "ceiling: {p}, {:.1} Mbit/s ({} GB/s)", c / 1e6, gbytes(c));
        }
        for s in &self.ops {
            out += &self.op_table(s);
        }
        if self.points.is_empty() {
            out += "\nNo point was measured.\n";
        }
        out += &self.closing();
        out
    }

    fn op_table(&self, s: &OpSummary) -> String {
        let mut out = format!(
            "\n{}\n{:>10} {:>11} {:>11} {:>11} {:>11} {:>12} {:>8}  check\n",
            s.op, "size", "time p50", "time p99", "algbw GB/s", "busbw GB/s", "busbw Gbit/s", "ceiling"
        );
        for (_, f) in self.points.iter().filter(|(_, f)| f.op == s.op) {
            out += &self.row(f);
        }
        let peak = match (s.peak_busbw_bps, s.peak_size_bytes) {
            (Some(b), Some(at)) => format!(
                "peak busbw {:.3} Gbit/s ({} GB/s) at {}",
                b / 1e9,
                gbytes(b),
                short_size(at)
            ),
            _ => "no size ran whole and verified".into(),
        };
        let floor = match (s.latency_floor_s, s.latency_floor_size_bytes) {
            (Some(t), Some(at)) => format!("; latency floor {} ({})", duration(t), short_size(at)),
            _ => String::new(),
        };
        let half = s
            .half_peak_size_bytes
            .map_or(String::new(), |h| format!("; half of the peak from {}", short_size(h)));
        out + &format!("  {peak}{floor}{half}\n")
    }

    fn row(&self, f: &PointFigures) -> String {
        let t = |v: Option<f64>| v.map_or("-".into(), duration);
        let g = |v: Option<f64>| v.map_or("-".into(), gbytes);
        let of = match (f.busbw_bps, self.ceiling_bps) {
            (Some(b), Some(c)) if c > 0.0 => format!("{:.0} %", b / c * 100.0),
            _ => "-".into(),
        };
        let check = match (f.complete, f.verified) {
            (true, true) => "ok".to_string(),
            (true, false) => format!("WRONG: {}", f.mismatch.clone().unwrap_or_default()),
            (false, _) => format!("incomplete: {}", f.error.clone().unwrap_or_default()),
        };
        format!(
            "{:>10} {:>11} {:>11} {:>11} {:>11} {:>12} {:>8}  {check}\n",
            short_size(f.size_bytes),
            t(f.time_p50_s),
            t(f.time_p99_s),
            g(f.algbw_bps),
            g(f.busbw_bps),
            f.busbw_bps.map_or("-".into(), |b| format!("{:.3}", b / 1e9)),
            of
        )
    }

    /// Bottleneck, problems, what it means.
    fn closing(&self) -> String {
        let mut out = String::new();
        if !self.cpu.is_empty() {
            let each: Vec<String> = self
                .cpu
                .iter()
                .map(|n| match (n.cores_used, n.cores) {
                    (Some(u), Some(c)) => format!("{} {u:.2} of {c}", n.node),
                    (Some(u), None) => format!("{} {u:.2}", n.node),
                    _ => format!("{} unknown", n.node),
                })
                .collect();
            let _ = writeln!(out, "\nCPU cores used in the largest size: {}", each.join(", "));
        }
        if let Some(c) = &self.cpu_limit {
            let _ = writeln!(out, "CPU limit: {c}");
        }
        if let Some(b) = &self.bottleneck {
            let _ = writeln!(out, "\nBottleneck: {}", b.hint_line());
        }
        if !self.problems.is_empty() || self.interrupted.is_some() {
            out += "\nIncomplete:\n";
            for p in self.problems.iter().chain(self.interrupted.iter()) {
                let _ = writeln!(out, "  {p}");
            }
            let _ = writeln!(
                out,
                "  {} of {} points measured are kept.",
                self.points.iter().filter(|(_, f)| f.complete).count(),
                self.planned
            );
        }
        let _ = writeln!(out, "\nWhat it means: {}", self.meaning);
        out
    }
}
