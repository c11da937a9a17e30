//! A run's per-run JSON, as the report reads it: intervals, IP version, hints, latency histograms, and the
//! history's own `history_columns` (a kind's figures since schema 5).

use std::path::Path;

use serde::Deserialize;

use super::data::{IntervalPoint, LatencyHistogram, Run};
use crate::model::IpVersion;
use crate::output::history::KindColumns;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Doc {
    start: DocStart,
    intervals: Vec<DocInterval>,
    saf_net: DocSafNet,
    /// `saf-net latency` documents keep their histogram at `end.histogram`.
    end: DocEnd,
    /// The kind's own history figures (schema 5 on, and rows an upgrade moved here).
    pub(super) history_columns: Option<KindColumns>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DocEnd {
    histogram: Vec<DocBucket>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DocStart {
    connected: Vec<DocConnected>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DocConnected {
    remote_host: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DocInterval {
    sum: Option<DocSpan>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DocSpan {
    start: f64,
    end: f64,
    bits_per_second: f64,
    omitted: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DocSafNet {
    hints: Vec<String>,
    latency: Option<DocLatency>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DocLatency {
    histogram: Vec<DocBucket>,
    /// `client --latency`: the probes before the test and during it.
    idle: Option<DocProbe>,
    loaded: Option<DocProbe>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DocProbe {
    histogram: Vec<DocBucket>,
}

fn histogram(buckets: &[DocBucket]) -> Option<LatencyHistogram> {
    Some(LatencyHistogram::new(
        buckets.iter().map(|b| (b.upper_us, b.count)).collect(),
    ))
    .filter(|h| h.total() > 0)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DocBucket {
    /// `saf-net latency` names the bucket's upper bound `rtt_us`.
    #[serde(alias = "rtt_us")]
    upper_us: f64,
    count: u64,
}

/// The run's per-run JSON document, or None with a warning saying why it is left out of the charts that need it.
pub(super) fn read(run: &Run, path: &Path, line: u64, warnings: &mut Vec<String>) -> Option<Doc> {
    let (id, label) = (&run.run_id, &run.label);
    let Some(details) = &run.details else {
        warnings.push(format!(
            "run {id} (label \"{label}\", {} line {line}) has no per-run JSON (empty details column); left out of the charts that need it",
            path.display()
        ));
        return None;
    };
    let why = match std::fs::read_to_string(details) {
        Ok(text) => match serde_json::from_str::<Doc>(&text) {
            Ok(doc) => return Some(doc),
            Err(e) => format!("is not valid ({e})"),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "is missing".to_string(),
        Err(e) => format!("cannot be read ({e})"),
    };
    let shown = details.display();
    warnings.push(format!(
        "run {id} (label \"{label}\"): per-run JSON {shown} {why}; left out of the charts that need it"
    ));
    None
}

/// Intervals, IP version, hints and latency histograms from the per-run JSON.
pub(super) fn apply(run: &mut Run, doc: Doc) {
    run.intervals = Some(
        doc.intervals
            .iter()
            .filter_map(|i| i.sum.as_ref())
            .filter(|s| s.omitted != Some(true) && s.end > s.start)
            .map(|s| IntervalPoint {
                start: s.start,
                end: s.end,
                mbps: s.bits_per_second / 1e6,
            })
            .collect(),
    );
    run.ip = doc.start.connected.first().map(|c| {
        let host = c.remote_host.trim_start_matches("::ffff:");
        if host.contains(':') {
            IpVersion::V6
        } else {
            IpVersion::V4
        }
    });
    run.hints = doc.saf_net.hints;
    let (buckets, idle, loaded) = match doc.saf_net.latency {
        Some(l) if !l.histogram.is_empty() => (l.histogram, l.idle, l.loaded),
        Some(l) => (doc.end.histogram, l.idle, l.loaded),
        None => (doc.end.histogram, None, None),
    };
    run.latency = histogram(&buckets);
    run.latency_idle = idle.and_then(|p| histogram(&p.histogram));
    run.latency_loaded = loaded.and_then(|p| histogram(&p.histogram));
}
