//! `compare` on two collective runs: busbw after / before for every (op, size) both runs measured completely and
//! verified, the points that got worse, each op's headline at its largest common size, and a verdict.

use serde::Serialize;

use super::collective::{CollectiveRun, Point, collective_runs, gbps, size_text, size_tick};
use super::data::History;
use super::error::ReportError;
use super::pick;

/// A point whose after/before ratio is below this got worse (and `compare` exits 4), as for mesh pairs.
pub const WORSE_RATIO: f64 = super::mesh_compare::WORSE_RATIO;

/// The verdict names this many of the worst points; the rest are counted (all are in `worse_points`).
const VERDICT_NAMES: usize = 5;

/// Which run a side is.
#[derive(Debug, Clone, Serialize)]
pub struct CollectiveSide {
    pub run_id: String,
    pub label: String,
    pub time: String,
    pub profile: String,
    pub nodes: Vec<String>,
    pub algo: String,
    pub dtype: String,
    pub ceiling_bps: Option<f64>,
}

/// One (op, size) with a figure in both runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointRatio {
    pub op: String,
    pub size_bytes: u64,
    pub before_busbw_bps: f64,
    pub after_busbw_bps: f64,
    /// after / before.
    pub ratio: f64,
}

impl PointRatio {
    /// "allreduce 256M".
    pub fn name(&self) -> String {
        format!("{} {}", self.op, size_tick(self.size_bytes as f64))
    }

    /// "allreduce at 256 MiB: 9.10 Gbit/s vs 0.94 Gbit/s = 9.68×" (after vs before).
    pub fn headline(&self) -> String {
        format!(
            "{} at {}: {} vs {} = {:.2}×",
            self.op,
            size_text(self.size_bytes),
            gbps(self.after_busbw_bps),
            gbps(self.before_busbw_bps),
            self.ratio
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CollectiveComparison {
    pub kind: &'static str,
    pub before: CollectiveSide,
    pub after: CollectiveSide,
    /// Every (op, size) with a figure in both runs, in the before run's sweep order.
    pub points: Vec<PointRatio>,
    /// (op, size) measured in both runs but incomplete or unverified in either ("allreduce 1K").
    pub not_compared: Vec<String>,
    /// (op, size) that only one run measured.
    pub only_before: Vec<String>,
    pub only_after: Vec<String>,
    pub worse_ratio: f64,
    /// The points below `worse_ratio`, worst first.
    pub worse_points: Vec<PointRatio>,
    /// Each op's point at the largest size both runs have a figure for, as a sentence.
    pub headlines: Vec<String>,
    pub verdict: String,
    /// Some point got worse (`compare` then exits 4).
    pub worse: bool,
    /// Where the ratio chart was written, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub png: Option<String>,
}

/// Whether `compare --before B --after A` means collective runs: asked for with `--collective`, or neither label has
/// throughput runs while both name a collective run.
pub fn wanted(history: &History, before: &str, after: &str, forced: bool) -> bool {
    forced
        || pick::wanted(
            history,
            &collective_runs(history, &mut Vec::new()),
            before,
            after,
            false,
        )
}

fn side(history: &History, runs: &[CollectiveRun], which: &str) -> Result<CollectiveRun, ReportError> {
    pick::select(runs, which)
        .cloned()
        .ok_or_else(|| ReportError::NoCollective {
            which: which.into(),
            paths: history.source_names(),
            present: pick::present(runs),
        })
}

/// What matching two runs' points gives: the compared points and the names of the others.
#[derive(Debug, Default, PartialEq)]
pub struct Matched {
    pub points: Vec<PointRatio>,
    pub not_compared: Vec<String>,
    pub only_before: Vec<String>,
    pub only_after: Vec<String>,
}

/// Matches the points of two runs by (op, size); a point is compared when both have a figure above 0 before.
pub fn match_points(before: &[Point], after: &[Point]) -> Matched {
    let key = |p: &Point| format!("{} {}", p.op, size_tick(p.size_bytes as f64));
    let same = |a: &Point, b: &Point| a.op == b.op && a.size_bytes == b.size_bytes;
    let mut m = Matched::default();
    for b in before {
        let Some(a) = after.iter().find(|a| same(a, b)) else {
            m.only_before.push(key(b));
            continue;
        };
        match (b.judged_bps().filter(|v| *v > 0.0), a.judged_bps()) {
            (Some(before_bps), Some(after_bps)) => m.points.push(PointRatio {
                op: b.op.clone(),
                size_bytes: b.size_bytes,
                before_busbw_bps: before_bps,
                after_busbw_bps: after_bps,
                ratio: after_bps / before_bps,
            }),
            _ => m.not_compared.push(key(b)),
        }
    }
    m.only_after = after
        .iter()
        .filter(|a| !before.iter().any(|b| same(a, b)))
        .map(key)
        .collect();
    m
}

/// Compares the collective runs `before` and `after` name (a label's latest, or an id).
pub fn compare(history: &History, before: &str, after: &str) -> Result<CollectiveComparison, ReportError> {
    let runs = collective_runs(history, &mut Vec::new());
    let (b, a) = (side(history, &runs, before)?, side(history, &runs, after)?);
    let m = match_points(&b.results, &a.results);
    if m.points.is_empty() {
        return Err(ReportError::NoCommonPoint {
            before: b.id,
            after: a.id,
        });
    }
    let mut worse_points: Vec<PointRatio> = m.points.iter().filter(|p| p.ratio < WORSE_RATIO).cloned().collect();
    worse_points.sort_by(|x, y| x.ratio.total_cmp(&y.ratio));
    let mut c = CollectiveComparison {
        kind: "collective",
        before: collective_side(&b),
        after: collective_side(&a),
        headlines: headlines(&m.points),
        points: m.points,
        not_compared: m.not_compared,
        only_before: m.only_before,
        only_after: m.only_after,
        worse_ratio: WORSE_RATIO,
        worse: !worse_points.is_empty(),
        worse_points,
        verdict: String::new(),
        png: None,
    };
    c.verdict = verdict(&c);
    Ok(c)
}

fn collective_side(r: &CollectiveRun) -> CollectiveSide {
    CollectiveSide {
        run_id: r.id.clone(),
        label: r.label.clone(),
        time: r.when(),
        profile: r.profile.clone(),
        nodes: r.nodes.clone(),
        algo: r.algo.clone(),
        dtype: r.dtype.clone(),
        ceiling_bps: r.ceiling_bps,
    }
}

/// For each op, in the order first compared, its point at the largest compared size.
fn headlines(points: &[PointRatio]) -> Vec<String> {
    let mut ops: Vec<&str> = Vec::new();
    for p in points {
        if !ops.contains(&p.op.as_str()) {
            ops.push(&p.op);
        }
    }
    ops.iter()
        .filter_map(|op| points.iter().filter(|p| p.op == *op).max_by_key(|p| p.size_bytes))
        .map(PointRatio::headline)
        .collect()
}

fn verdict(c: &CollectiveComparison) -> String {
    let n = c.points.len();
    if c.worse {
        let mut names: Vec<String> = c
            .worse_points
            .iter()
            .take(VERDICT_NAMES)
            .map(|p| format!("{} ({:.2}×)", p.name(), p.ratio))
            .collect();
        if c.worse_points.len() > VERDICT_NAMES {
            names.push(format!("and {} more", c.worse_points.len() - VERDICT_NAMES));
        }
        return format!(
            "{} of {n} compared points got worse (after below {WORSE_RATIO:.2}× before): {}.",
            c.worse_points.len(),
            names.join(", ")
        );
    }
    let lo = c.points.iter().map(|p| p.ratio).fold(f64::INFINITY, f64::min);
    let hi = c.points.iter().map(|p| p.ratio).fold(f64::NEG_INFINITY, f64::max);
    format!("No point got worse: after/before from {lo:.2}× to {hi:.2}× over {n} compared points.")
}

impl CollectiveComparison {
    /// The text `compare` prints.
    pub fn text(&self) -> String {
        let (b, a) = (&self.before, &self.after);
        let mut o = format!("Collective compare: {} → {}\n", b.label, a.label);
        for (which, s) in [("before", b), ("after", a)] {
            o.push_str(&format!(
                "  {which:6}  run {}, {}, profile {}, {} nodes, {} {}\n",
                s.run_id,
                s.time,
                if s.profile.is_empty() { "none" } else { &s.profile },
                s.nodes.len(),
                s.algo,
                s.dtype
            ));
        }
        o.push_str("\nBus bandwidth (busbw, Gbit/s), after / before:\n");
        o.push_str(&format!(
            "  {:16} {:>6} {:>10} {:>10} {:>8}\n",
            "op", "size", "before", "after", "ratio"
        ));
        for p in &self.points {
            let mark = if p.ratio < WORSE_RATIO { "  worse" } else { "" };
            o.push_str(&format!(
                "  {:16} {:>6} {:>10.3} {:>10.3} {:>7.2}×{mark}\n",
                p.op,
                size_tick(p.size_bytes as f64),
                p.before_busbw_bps / 1e9,
                p.after_busbw_bps / 1e9,
                p.ratio
            ));
        }
        let lists = [
            ("Only in before (not compared)", &self.only_before),
            ("Only in after (not compared)", &self.only_after),
            ("Not compared (incomplete or not verified in a run)", &self.not_compared),
        ];
        for (what, names) in lists.into_iter().filter(|(_, n)| !n.is_empty()) {
            o.push_str(&format!("{what}: {}\n", names.join(", ")));
        }
        o.push('\n');
        for h in &self.headlines {
            o.push_str(&format!("{h}\n"));
        }
        o.push_str(&format!("Verdict: {}\n", self.verdict));
        if let Some(png) = &self.png {
            o.push_str(&format!("Chart: {png}\n"));
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(op: &str, size: u64, bps: f64, ok: bool) -> Point {
        Point {
            op: op.into(),
            size_bytes: size,
            time_p50_s: None,
            busbw_bps: Some(bps),
            verified: ok,
            complete: true,
        }
    }

    #[test]
    fn points_match_by_op_and_size_only() {
        let before = [
            p("allreduce", 1 << 20, 0.9e9, true),
            p("allreduce", 1 << 28, 0.94e9, true),
            p("allgather", 1 << 20, 0.8e9, true),
            p("broadcast", 1 << 20, 0.9e9, false),
            p("alltoall", 1 << 10, 0.1e9, true),
        ];
        let after = [
            p("allgather", 1 << 20, 0.4e9, true),
            p("allreduce", 1 << 28, 9.1e9, true),
            p("allreduce", 1 << 20, 5.0e9, true),
            p("broadcast", 1 << 20, 9.0e9, true),
            p("allreduce", 1 << 30, 9.2e9, true),
        ];
        let m = match_points(&before, &after);
        let got: Vec<(String, u64)> = m.points.iter().map(|r| (r.op.clone(), r.size_bytes)).collect();
        assert_eq!(
            got,
            [
                ("allreduce".into(), 1 << 20),
                ("allreduce".into(), 1 << 28),
                ("allgather".into(), 1 << 20)
            ]
        );
        assert!((m.points[1].ratio - 9.1 / 0.94).abs() < 1e-9);
        assert_eq!(m.not_compared, ["broadcast 1M"]);
        assert_eq!(m.only_before, ["alltoall 1K"]);
        assert_eq!(m.only_after, ["allreduce 1G"]);
        assert_eq!(
            headlines(&m.points),
            [
                "allreduce at 256 MiB: 9.10 Gbit/s vs 0.94 Gbit/s = 9.68×",
                "allgather at 1 MiB: 0.40 Gbit/s vs 0.80 Gbit/s = 0.50×"
            ]
        );
    }
}
