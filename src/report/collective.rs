//! Collective runs as the report reads them: the history's `kind = collective` rows (one per run), each run's
//! busbw by (op, size) from its per-run JSON (the whole `-J` document), the latest run of each label, and their
//! `report.md` section. Sizes are named the nccl-tests way (1K, 256M, 1G: powers of 1024).

use serde::Deserialize;

use super::data::{History, NO_LABEL, Run};
use crate::output::history::Kind;

/// The ops in the order the report shows them; an op not in this list (a newer saf-net's) follows, as found.
pub const OPS: [&str; 5] = ["allreduce", "allgather", "reduce-scatter", "broadcast", "alltoall"];

/// One collective run: its nodes, its figures per (op, size) and per op, and the ceiling it is judged against.
#[derive(Debug, Clone)]
pub struct CollectiveRun {
    pub id: String,
    pub label: String,
    pub profile: String,
    pub time_utc: String,
    pub nodes: Vec<String>,
    pub algo: String,
    pub dtype: String,
    /// The profile's TCP goodput ceiling, bit/s, as the run recorded it (else from the report's own profile
    /// lookup); None without a known profile.
    pub ceiling_bps: Option<f64>,
    /// Whether the ceiling's link has jumbo frames (for the line's colour); None when unknown.
    pub jumbo: Option<bool>,
    /// In sweep order, as the document lists them.
    pub results: Vec<Point>,
    pub ops: Vec<OpSummary>,
    pub meaning: String,
}

/// One measured (op, size).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Point {
    pub op: String,
    pub size_bytes: u64,
    #[serde(default)]
    pub time_p50_s: Option<f64>,
    #[serde(default)]
    pub busbw_bps: Option<f64>,
    #[serde(default)]
    pub verified: bool,
    #[serde(default)]
    pub complete: bool,
}

impl Point {
    /// The busbw that may be charted and compared: None unless the point completed and verified.
    pub fn judged_bps(&self) -> Option<f64> {
        self.busbw_bps
            .filter(|b| b.is_finite() && *b >= 0.0 && self.complete && self.verified)
    }
}

/// What the run said of one op as a whole.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct OpSummary {
    pub op: String,
    pub peak_busbw_bps: Option<f64>,
    pub peak_size_bytes: Option<u64>,
    pub latency_floor_s: Option<f64>,
    pub half_peak_size_bytes: Option<u64>,
}

impl CollectiveRun {
    /// The op's charted points, by size: (size in bytes, busbw bit/s).
    pub fn series(&self, op: &str) -> Vec<(u64, f64)> {
        let mut pts: Vec<(u64, f64)> = self
            .results
            .iter()
            .filter(|p| p.op == op)
            .filter_map(|p| Some((p.size_bytes, p.judged_bps()?)))
            .collect();
        pts.sort_by_key(|p| p.0);
        pts
    }

    /// The op's peak from the run's `ops[]`, else the highest judged point: (busbw bit/s, size).
    pub fn peak(&self, op: &str) -> Option<(f64, u64)> {
        let said = self.ops.iter().find(|o| o.op == op);
        if let Some((b, s)) = said.and_then(|o| Some((o.peak_busbw_bps?, o.peak_size_bytes?))) {
            return Some((b, s));
        }
        self.series(op)
            .into_iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(s, b)| (b, s))
    }

    /// "2026-12-04 22:00 UTC" from the run's time, else its id.
    pub fn when(&self) -> String {
        let t = &self.time_utc;
        if t.len() >= 16 {
            format!("{} {} UTC", &t[..10], &t[11..16])
        } else {
            self.id.clone()
        }
    }

    /// The label, or "no label".
    pub fn label_text(&self) -> &str {
        if self.label == NO_LABEL {
            "no label"
        } else {
            &self.label
        }
    }
}

/// The ops any of `runs` measured, in [`OPS`] order, then any other as first found.
pub fn ops_present(runs: &[CollectiveRun]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for p in runs.iter().flat_map(|r| &r.results) {
        if !found.contains(&p.op) {
            found.push(p.op.clone());
        }
    }
    let rank = |op: &String| OPS.iter().position(|o| o == op).unwrap_or(OPS.len());
    found.sort_by_key(rank);
    found
}

/// The latest run (by time) of each label, labels in the order of their first run.
pub fn latest_per_label(runs: &[CollectiveRun]) -> Vec<&CollectiveRun> {
    let mut out: Vec<&CollectiveRun> = Vec::new();
    for r in runs {
        match out.iter_mut().find(|o| o.label == r.label) {
            Some(o) if r.time_utc > o.time_utc => *o = r,
            Some(_) => {}
            None => out.push(r),
        }
    }
    out
}

/// A size as an axis tick: "512", "1K", "256M", "1G", "1.5K" (powers of 1024, as nccl-tests' sizes).
pub fn size_tick(bytes: f64) -> String {
    let units = [(1u64 << 40, "T"), (1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")];
    for (scale, unit) in units {
        let scale = scale as f64;
        if bytes >= scale {
            let v = bytes / scale;
            return if (v - v.round()).abs() < 1e-9 {
                format!("{v:.0}{unit}")
            } else {
                format!("{}{unit}", trim_zeros(&format!("{v:.2}")))
            };
        }
    }
    trim_zeros(&format!("{bytes:.2}"))
}

/// A size in prose: "256 MiB", "1 KiB", "512 B".
pub fn size_text(bytes: u64) -> String {
    let tick = size_tick(bytes as f64);
    match tick.chars().last() {
        Some(u @ ('K' | 'M' | 'G' | 'T')) => format!("{} {u}iB", &tick[..tick.len() - 1]),
        _ => format!("{tick} B"),
    }
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// bit/s as "9.10 Gbit/s", "0.94 Gbit/s", "12.3 Gbit/s" (three significant digits from 1 up).
pub fn gbps(bps: f64) -> String {
    let g = bps / 1e9;
    match g {
        g if g >= 100.0 => format!("{g:.0} Gbit/s"),
        g if g >= 10.0 => format!("{g:.1} Gbit/s"),
        g if g >= 0.01 => format!("{g:.2} Gbit/s"),
        g => format!("{g:.4} Gbit/s"),
    }
}

/// The report.md section: every run's figures per op, each op's chart, what the latest run of each label means.
pub fn markdown(runs: &[CollectiveRun], charts: &[(String, String)]) -> String {
    use super::summary::md_escape;
    let mut o = String::from("## Collective runs\n\n");
    o.push_str(
        "| Label | Run | Time | Profile | Nodes | Algo | Dtype | Op | Peak busbw | At | % of ceiling | Latency floor | \
         Half peak at |\n|---|---|---|---|--:|---|---|---|--:|--:|--:|--:|--:|\n",
    );
    for r in runs {
        for op in ops_present(std::slice::from_ref(r)) {
            let said = r.ops.iter().find(|o| o.op == op);
            let peak = r.peak(&op);
            let cell = |v: Option<String>| v.unwrap_or_else(|| "-".into());
            o.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {op} | {} | {} | {} | {} | {} |\n",
                md_escape(r.label_text()),
                md_escape(&r.id),
                r.when(),
                md_escape(if r.profile.is_empty() { "(none)" } else { &r.profile }),
                r.nodes.len(),
                md_escape(&r.algo),
                md_escape(&r.dtype),
                cell(peak.map(|p| gbps(p.0))),
                cell(peak.map(|p| size_tick(p.1 as f64))),
                cell(
                    peak.zip(r.ceiling_bps)
                        .map(|(p, c)| super::charts::pct(p.0 / c * 100.0))
                ),
                cell(
                    said.and_then(|s| s.latency_floor_s)
                        .map(|s| format!("{:.0} µs", s * 1e6))
                ),
                cell(said.and_then(|s| s.half_peak_size_bytes).map(|b| size_tick(b as f64))),
            ));
        }
    }
    o.push_str(
        "\nbusbw as nccl-tests defines it (algbw × 2(n−1)/n for allreduce, × (n−1)/n for allgather, reduce-scatter \
         and alltoall, × 1 for broadcast); sizes per rank, in powers of 1024. Points that did not complete or verify \
         have no figure. % of ceiling: against the run's profile TCP goodput ceiling.\n\n",
    );
    for (op, file) in charts {
        o.push_str(&format!("![{op}: busbw by message size]({file})\n\n"));
    }
    for r in latest_per_label(runs).into_iter().filter(|r| !r.meaning.is_empty()) {
        o.push_str(&format!(
            "- **{}**: {}\n",
            md_escape(r.label_text()),
            md_escape(&r.meaning)
        ));
    }
    o.push('\n');
    o
}

#[derive(Debug, Deserialize)]
struct Doc {
    saf_net: DocHeader,
    #[serde(default)]
    nodes: Vec<DocNode>,
    #[serde(default)]
    algo: String,
    #[serde(default)]
    dtype: String,
    #[serde(default)]
    ceiling_bps: Option<f64>,
    results: Vec<Point>,
    #[serde(default)]
    ops: Vec<OpSummary>,
    #[serde(default)]
    meaning: String,
}

#[derive(Debug, Deserialize)]
struct DocHeader {
    kind: String,
}

#[derive(Debug, Deserialize)]
struct DocNode {
    name: String,
}

/// Every collective run of the history, in history order; a run whose per-run JSON cannot be read as a
/// collective document is left out with a warning saying why.
pub fn collective_runs(history: &History, warnings: &mut Vec<String>) -> Vec<CollectiveRun> {
    let mut out = Vec::new();
    for r in history.runs.iter().filter(|r| r.kind == Kind::Collective) {
        match read_doc(r) {
            Ok(doc) => out.push(from_doc(r, doc)),
            Err(why) => warnings.push(format!(
                "collective run {} (label \"{}\", {} line {}): {why}; no chart or comparison for it",
                r.run_id,
                r.label,
                r.source.display(),
                r.line
            )),
        }
    }
    out
}

fn read_doc(run: &Run) -> Result<Doc, String> {
    let path = run.details.as_ref().ok_or("no per-run JSON (empty details column)")?;
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("per-run JSON {} cannot be read ({e})", path.display()))?;
    let doc: Doc = serde_json::from_str(&text)
        .map_err(|e| format!("per-run JSON {} is not a collective document ({e})", path.display()))?;
    if doc.saf_net.kind != "collective" {
        return Err(format!(
            "per-run JSON {} is of kind \"{}\", not collective",
            path.display(),
            doc.saf_net.kind
        ));
    }
    Ok(doc)
}

fn from_doc(r: &Run, doc: Doc) -> CollectiveRun {
    let jumbo = r.link.map(|l| l.mtu >= 9000);
    CollectiveRun {
        id: r.run_id.clone(),
        label: r.label.clone(),
        profile: r.profile.clone(),
        time_utc: r.time_utc.clone(),
        nodes: doc.nodes.into_iter().map(|n| n.name).collect(),
        algo: doc.algo,
        dtype: doc.dtype,
        ceiling_bps: doc
            .ceiling_bps
            .filter(|c| *c > 0.0)
            .or_else(|| r.ceiling_mbps().map(|m| m * 1e6)),
        jumbo,
        results: doc.results,
        ops: doc.ops,
        meaning: doc.meaning,
    }
}

impl super::pick::Picked for CollectiveRun {
    fn id(&self) -> &str {
        &self.id
    }

    fn label(&self) -> &str {
        &self.label
    }

    fn time_utc(&self) -> &str {
        &self.time_utc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_nccl_tests_writes_them() {
        assert_eq!(size_tick(1024.0), "1K");
        assert_eq!(size_tick(1536.0), "1.5K");
        assert_eq!(size_tick(268_435_456.0), "256M");
        assert_eq!(size_tick(1_073_741_824.0), "1G");
        assert_eq!(size_tick(4_294_967_296.0), "4G");
        assert_eq!(size_tick(512.0), "512");
        assert_eq!(size_tick(1_048_575.0), "1024K");
        assert_eq!(size_text(268_435_456), "256 MiB");
        assert_eq!(size_text(64), "64 B");
        assert_eq!(gbps(9.1e9), "9.10 Gbit/s");
        assert_eq!(gbps(0.94e9), "0.94 Gbit/s");
        assert_eq!(gbps(12.34e9), "12.3 Gbit/s");
    }

    fn run(label: &str, time: &str) -> CollectiveRun {
        CollectiveRun {
            id: format!("{label}-{time}"),
            label: label.into(),
            profile: String::new(),
            time_utc: time.into(),
            nodes: vec![],
            algo: "ring".into(),
            dtype: "f32".into(),
            ceiling_bps: None,
            jumbo: None,
            results: vec![],
            ops: vec![],
            meaning: String::new(),
        }
    }

    #[test]
    fn the_latest_run_of_each_label_in_first_seen_order() {
        let runs = [
            run("a", "2026-12-04T20:00:00Z"),
            run("b", "2026-12-04T21:00:00Z"),
            run("a", "2026-12-04T22:00:00Z"),
            run("a", "2026-12-04T19:00:00Z"),
        ];
        let ids: Vec<&str> = latest_per_label(&runs).iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a-2026-12-04T22:00:00Z", "b-2026-12-04T21:00:00Z"]);
    }

    #[test]
    fn unverified_or_incomplete_points_have_no_figure_and_ops_keep_their_order() {
        let p = |op: &str, size, verified, complete| Point {
            op: op.into(),
            size_bytes: size,
            time_p50_s: None,
            busbw_bps: Some(1e9),
            verified,
            complete,
        };
        let mut r = run("a", "t");
        r.results = vec![
            p("broadcast", 2048, true, true),
            p("allreduce", 4096, true, true),
            p("allreduce", 1024, true, true),
            p("allreduce", 2048, false, true),
            p("allreduce", 8192, true, false),
            p("ring-dance", 1024, true, true),
        ];
        assert_eq!(r.series("allreduce"), [(1024, 1e9), (4096, 1e9)]);
        assert_eq!(ops_present(&[r]), ["allreduce", "broadcast", "ring-dance"]);
    }
}
