//! Loading: history rows of every schema version, and each row's per-run JSON (intervals, latency histogram).
//!
//! Problems with a single run's JSON are warnings, not errors: that run is left out of the charts that need
//! the JSON, and everything else still renders. A history file that cannot be parsed is an error naming the
//! file and line.

use std::path::{Path, PathBuf};

use super::doc;
use super::error::ReportError;
use super::links::Links;
use crate::model::{Framing, IpVersion, Link};
use crate::output::history::{HistoryRecord, Kind, KindColumns};

/// Shown for rows whose label column is empty.
pub const NO_LABEL: &str = "(no label)";

/// One measured interval of a run (receiver's view, omitted intervals left out).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntervalPoint {
    pub start: f64,
    pub end: f64,
    pub mbps: f64,
}

/// A latency histogram: round-trip times in microseconds, bucket upper bounds with counts.
///
/// Read from a per-run JSON's `saf_net.latency.histogram`, a list of `{"upper_us": f64, "count": u64}`.
/// No saf-net command writes it yet; the latency probes will.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LatencyHistogram {
    /// (upper bound in µs, count), sorted by the bound.
    pub buckets: Vec<(f64, u64)>,
}

impl LatencyHistogram {
    pub fn new(mut buckets: Vec<(f64, u64)>) -> Self {
        buckets.retain(|(b, _)| b.is_finite() && *b > 0.0);
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        LatencyHistogram { buckets }
    }

    pub fn total(&self) -> u64 {
        self.buckets.iter().map(|(_, c)| c).sum()
    }

    /// The bucket bound at or below which a fraction `q` (0..=1) of the samples lie.
    pub fn percentile(&self, q: f64) -> Option<f64> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let want = (q * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for &(bound, count) in &self.buckets {
            seen += count;
            if seen >= want {
                return Some(bound);
            }
        }
        self.buckets.last().map(|b| b.0)
    }

    /// (bound µs, cumulative fraction) for a CDF plot.
    pub fn cdf(&self) -> Vec<(f64, f64)> {
        let total = self.total().max(1) as f64;
        let mut seen = 0;
        self.buckets
            .iter()
            .map(|&(bound, count)| {
                seen += count;
                (bound, seen as f64 / total)
            })
            .collect()
    }

    /// Adds another histogram's counts (same bounds merge).
    pub fn merge(&mut self, other: &LatencyHistogram) {
        let mut all = std::mem::take(&mut self.buckets);
        all.extend(other.buckets.iter().copied());
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut merged: Vec<(f64, u64)> = Vec::new();
        for (b, c) in all {
            match merged.last_mut() {
                Some(last) if last.0 == b => last.1 += c,
                _ => merged.push((b, c)),
            }
        }
        self.buckets = merged;
    }
}

/// One history row, with what its per-run JSON added.
#[derive(Debug, Clone)]
pub struct Run {
    pub run_id: String,
    /// throughput, latency, ... (rows of schema 0 without the column count as throughput).
    pub kind: Kind,
    pub label: String,
    pub profile: String,
    /// From the profile (the profile loader); None for an empty, unknown or unreadable profile.
    pub link: Option<Link>,
    pub time_utc: String,
    pub receiver_mbps: Option<f64>,
    pub sender_mbps: Option<f64>,
    pub streams: Option<u32>,
    pub complete: bool,
    /// The history file and line this row came from.
    pub source: PathBuf,
    pub line: u64,
    /// The per-run JSON path, resolved against the history's folder.
    pub details: Option<PathBuf>,
    /// Measured intervals, when the per-run JSON was read.
    pub intervals: Option<Vec<IntervalPoint>>,
    /// Round-trip times of a latency run (`saf_net.latency.histogram` or `end.histogram`).
    pub latency: Option<LatencyHistogram>,
    /// How a latency run measured: tcp, udp or connect (the history's `latency_mode`); empty when not said.
    pub latency_mode: String,
    /// A throughput run made with `client --latency`: UDP round-trip times before the test
    /// (`saf_net.latency.idle.histogram`) and during it (`saf_net.latency.loaded.histogram`).
    pub latency_idle: Option<LatencyHistogram>,
    pub latency_loaded: Option<LatencyHistogram>,
    /// IP version of the data connections, when the per-run JSON says.
    pub ip: Option<IpVersion>,
    /// What the kernel said held the senders back (`saf_net.hints`).
    pub hints: Vec<String>,
    /// The receiver's datagram figures of a `kind = udp` run.
    pub udp: Option<UdpFigures>,
}

/// What a UDP run's history row says about its datagrams.
#[derive(Debug, Clone, PartialEq)]
pub struct UdpFigures {
    pub target_mbps: Option<f64>,
    pub datagram_bytes: Option<u32>,
    pub lost_percent: Option<f64>,
    pub jitter_ms: Option<f64>,
    pub out_of_order: Option<u64>,
    pub duplicates: Option<u64>,
}

impl Run {
    pub fn is_throughput(&self) -> bool {
        self.kind == Kind::Throughput
    }

    pub fn framing(&self) -> Framing {
        Framing::default().ip(self.ip.unwrap_or_default())
    }

    /// This run's own TCP goodput ceiling, from its profile (timestamps on, its IP version).
    pub fn ceiling_mbps(&self) -> Option<f64> {
        self.link.map(|l| l.ceiling_mbps(self.framing()))
    }

    /// Receiver goodput as a percentage of this run's own ceiling.
    pub fn pct_of_ceiling(&self) -> Option<f64> {
        Some(self.receiver_mbps? / self.ceiling_mbps()? * 100.0)
    }

    /// "20261129T130000Z-ab12cd" → "2026-11-29 13:00" style short name for legends.
    pub fn short_name(&self) -> String {
        let t = &self.time_utc;
        if t.len() >= 16 {
            format!("{} {}", &t[..10], &t[11..16])
        } else {
            self.run_id.clone()
        }
    }
}

/// Everything the report reads.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub sources: Vec<PathBuf>,
    pub runs: Vec<Run>,
    /// Runs left out of some chart, and why; printed as `warning: ...` and listed in the summary.
    pub warnings: Vec<String>,
}

impl History {
    /// Reads every history file and every per-run JSON its rows point to; profiles are looked up where
    /// `--profile` looks ([`crate::profile::search_dirs`], then the built-ins).
    pub fn load(paths: &[PathBuf]) -> Result<History, ReportError> {
        Self::load_with(paths, &mut Links::new())
    }

    /// [`History::load`] with profiles looked up through `links`.
    pub fn load_with(paths: &[PathBuf], links: &mut Links) -> Result<History, ReportError> {
        let mut h = History::default();
        for path in paths {
            h.sources.push(path.clone());
            let (runs, warnings) = load_file(path, links)?;
            h.runs.extend(runs);
            h.warnings.extend(warnings);
        }
        Ok(h)
    }

    /// The history files, for messages: "a.csv" or "a.csv, b.csv".
    pub fn source_names(&self) -> String {
        self.sources
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn throughput(&self) -> impl Iterator<Item = &Run> {
        self.runs.iter().filter(|r| r.is_throughput())
    }

    /// Labels of throughput runs with their run counts, in order of first appearance.
    pub fn labels(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = Vec::new();
        for r in self.throughput() {
            match out.iter_mut().find(|(l, _)| *l == r.label) {
                Some((_, n)) => *n += 1,
                None => out.push((r.label.clone(), 1)),
            }
        }
        out
    }

    /// "before (5 runs), after (5 runs)" or "none".
    pub fn labels_text(&self) -> String {
        let labels = self.labels();
        if labels.is_empty() {
            return "none".into();
        }
        labels
            .iter()
            .map(|(l, n)| format!("{l} ({n} run{})", if *n == 1 { "" } else { "s" }))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Fails with the list of labels present unless there is at least one throughput run.
    pub fn require_throughput(&self) -> Result<(), ReportError> {
        if self.throughput().next().is_none() {
            return Err(ReportError::Empty {
                paths: self.source_names(),
            });
        }
        Ok(())
    }

    /// Fails with the list of labels present unless `label` has throughput runs.
    pub fn require_label(&self, label: &str) -> Result<(), ReportError> {
        self.require_throughput()?;
        if self.throughput().any(|r| r.label == label) {
            return Ok(());
        }
        Err(ReportError::UnknownLabel {
            label: label.into(),
            paths: self.source_names(),
            present: self.labels_text(),
        })
    }
}

fn csv_message(e: &csv::Error, headers: &[String]) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => {
            let field = err
                .field()
                .and_then(|i| headers.get(i as usize))
                .map(|h| format!("column {h}: "))
                .unwrap_or_default();
            format!("{field}{}", err.kind())
        }
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".into(),
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("{len} fields where the header has {expected_len}")
        }
        _ => e.to_string(),
    }
}

fn load_file(path: &Path, links: &mut Links) -> Result<(Vec<Run>, Vec<String>), ReportError> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ReportError::NotFound { path: path.into() });
        }
        Err(source) => {
            return Err(ReportError::Read {
                path: path.into(),
                source,
            });
        }
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut rd = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_slice());
    let headers: Vec<String> = rd
        .headers()
        .map_err(|e| ReportError::MalformedFile {
            path: path.into(),
            message: e.to_string(),
        })?
        .iter()
        .map(String::from)
        .collect();
    if !headers.is_empty() && !headers.iter().any(|h| h == "receiver_mbps") {
        return Err(ReportError::Malformed {
            path: path.into(),
            line: 1,
            message: format!(
                "not a saf-net history: the header has no receiver_mbps column (it starts \"{}\")",
                headers.iter().take(3).cloned().collect::<Vec<_>>().join(",")
            ),
        });
    }
    let mut runs = Vec::new();
    let mut warnings = Vec::new();
    let mut record = csv::StringRecord::new();
    let header_record = csv::StringRecord::from(headers.clone());
    loop {
        let line = rd.position().line();
        let more = rd.read_record(&mut record).map_err(|e| ReportError::Malformed {
            path: path.into(),
            line: e.position().map_or(line, |p| p.line()),
            message: csv_message(&e, &headers),
        })?;
        if !more {
            break;
        }
        let line = record.position().map_or(line, |p| p.line());
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if record.len() > headers.len() {
            return Err(ReportError::Malformed {
                path: path.into(),
                line,
                message: format!("{} fields where the header has {}", record.len(), headers.len()),
            });
        }
        let row = HistoryRecord::from_csv(&record, &header_record).map_err(|e| ReportError::Malformed {
            path: path.into(),
            line,
            message: csv_message(&e, &headers),
        })?;
        runs.push(run_from(row, path, dir, line, links, &mut warnings));
    }
    Ok((runs, warnings))
}

/// A run from its history row and its per-run JSON; the kind's own figures come from the row's CSV columns
/// (schemas 2–4), their gaps filled from the JSON's `history_columns` (schema 5, and rows an upgrade moved).
fn run_from(
    mut row: HistoryRecord,
    path: &Path,
    dir: &Path,
    line: u64,
    links: &mut Links,
    warnings: &mut Vec<String>,
) -> Run {
    let mut detail = std::mem::take(&mut row.detail);
    let mut run = row_run(row, path, dir, line, links, warnings);
    if run.is_throughput() && run.receiver_mbps.is_none() {
        warnings.push(format!(
            "{} line {line}: run {} has no receiver_mbps; left out of every chart",
            path.display(),
            run.run_id
        ));
        run.kind = Kind::Other("throughput-without-figure".into());
    }
    if let Some(doc) = doc::read(&run, path, line, warnings) {
        if let Some(json) = &doc.history_columns {
            detail = detail.or(json);
        }
        doc::apply(&mut run, doc);
    }
    apply_detail(&mut run, detail);
    run
}

/// How a latency run measured, and a UDP run's datagram figures.
fn apply_detail(run: &mut Run, detail: KindColumns) {
    run.udp = (run.kind == Kind::Udp).then_some(UdpFigures {
        target_mbps: detail.udp_target_mbps,
        datagram_bytes: detail.udp_datagram_bytes,
        lost_percent: detail.udp_lost_percent,
        jitter_ms: detail.udp_jitter_ms,
        out_of_order: detail.udp_out_of_order,
        duplicates: detail.udp_duplicates,
    });
    run.latency_mode = detail.latency_mode.unwrap_or_default();
}

/// A run from its history row's shared columns alone; the per-run JSON's parts and the kind's own are filled later.
fn row_run(
    row: HistoryRecord,
    path: &Path,
    dir: &Path,
    line: u64,
    links: &mut Links,
    warnings: &mut Vec<String>,
) -> Run {
    let label = row.label.filter(|l| !l.is_empty()).unwrap_or_else(|| NO_LABEL.into());
    let profile = row.profile.unwrap_or_default();
    let run_id = row
        .run_id
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| format!("line {line}"));
    let link = match links.link(&profile) {
        Ok(link) => link,
        Err(why) => {
            // Once per profile name: the first run that names it says why; the others share its fate.
            if !warnings.iter().any(|w| w.contains(&why)) {
                warnings.push(format!(
                    "run {run_id} (label \"{label}\", {} line {line}): {why}; runs with profile \"{}\" get no ceiling",
                    path.display(),
                    profile.trim()
                ));
            }
            None
        }
    };
    let kind = row.kind.filter(|k| !k.is_empty()).unwrap_or_default();
    Run {
        kind,
        link,
        label,
        profile,
        time_utc: row.time_utc.unwrap_or_default(),
        receiver_mbps: row.receiver_mbps,
        sender_mbps: row.sender_mbps,
        streams: row.streams,
        complete: row.complete.unwrap_or(true),
        source: path.into(),
        line,
        details: row.details.filter(|d| !d.is_empty()).map(|d| dir.join(d)),
        intervals: None,
        latency: None,
        latency_mode: String::new(),
        latency_idle: None,
        latency_loaded: None,
        ip: None,
        hints: Vec::new(),
        udp: None,
        run_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_cdf_from_buckets() {
        let h = LatencyHistogram::new(vec![(200.0, 40), (100.0, 50), (1000.0, 10), (f64::NAN, 3)]);
        assert_eq!(h.total(), 100);
        assert_eq!(h.percentile(0.5), Some(100.0));
        assert_eq!(h.percentile(0.51), Some(200.0));
        assert_eq!(h.percentile(0.99), Some(1000.0));
        assert_eq!(h.cdf().last(), Some(&(1000.0, 1.0)));
        let mut m = h.clone();
        m.merge(&LatencyHistogram::new(vec![(100.0, 100)]));
        assert_eq!(m.buckets[0], (100.0, 150));
        assert_eq!(LatencyHistogram::default().percentile(0.5), None);
    }
}
