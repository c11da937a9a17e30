//! The mesh's `-J` document (`nodes[]`, `pairs[]`, `findings[]`, nodes named as they were given) and its history:
//! one row of kind `mesh` per ordered pair.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::MeshOutcome;
use super::matrix::{Matrix, PairResult};
use crate::findings::Finding;
use crate::output::history::{self, HistoryError, HistoryRow, Kind, KindColumns};
use crate::output::json::RunHeader;
use crate::output::{RunMeta, Verdict};

/// The `-J` document.
#[derive(Debug, Serialize)]
pub struct MeshDocument<'a> {
    pub saf_net: RunHeader,
    pub mode: &'a str,
    pub duration_seconds: f64,
    pub parallel: u32,
    /// The profile's TCP goodput ceiling, bit/s; null without a profile.
    pub ceiling_bps: Option<u64>,
    pub nodes: Vec<NodeDoc<'a>>,
    pub pairs: Vec<PairDoc<'a>>,
    pub findings: &'a [Finding],
    /// `--check-ports`' cells (`{from, to, port, state}`), when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_checks: Option<serde_json::Value>,
}

#[derive(Debug, Serialize)]
pub struct NodeDoc<'a> {
    pub name: &'a str,
    pub host: &'a str,
    pub interface: Option<&'a str>,
    pub speed_mbps: Option<u32>,
    pub mtu: Option<u32>,
}

/// One ordered pair; figures not measured are null.
#[derive(Debug, Serialize)]
pub struct PairDoc<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub goodput_bps: Option<u64>,
    pub goodput_parallel_bps: Option<u64>,
    pub rtt_p50_us: Option<f64>,
    pub rtt_p99_us: Option<f64>,
    pub path_mtu: Option<u32>,
    pub complete: bool,
}

/// bit/s as the history's Mbit/s, rounded to 0.001.
fn mbps(bps: f64) -> f64 {
    (bps / 1e3).round() / 1e3
}

fn bits(bps: Option<f64>) -> Option<u64> {
    bps.map(|b| b.max(0.0).round() as u64)
}

fn pair_doc<'a>(m: &'a Matrix, a: usize, b: usize) -> PairDoc<'a> {
    let none = PairResult::default();
    let p = m.pair(a, b).unwrap_or(&none);
    PairDoc {
        from: &m.nodes[a].name,
        to: &m.nodes[b].name,
        goodput_bps: bits(p.goodput_bps),
        goodput_parallel_bps: bits(p.goodput_parallel_bps),
        rtt_p50_us: p.rtt_p50_us,
        rtt_p99_us: p.rtt_p99_us,
        path_mtu: p.path_mtu,
        complete: p.complete,
    }
}

impl MeshOutcome {
    pub fn document(&self, meta: &RunMeta) -> MeshDocument<'_> {
        let m = &self.matrix;
        MeshDocument {
            saf_net: RunHeader::new("mesh", meta, m.complete()),
            mode: &self.mode,
            duration_seconds: self.duration_secs,
            parallel: self.parallel,
            ceiling_bps: bits(m.ceiling_bps),
            nodes: m
                .nodes
                .iter()
                .map(|n| NodeDoc {
                    name: &n.name,
                    host: &n.host,
                    interface: n.link.as_ref().and_then(|l| l.interface.as_deref()),
                    speed_mbps: n.link.as_ref().and_then(|l| l.speed_mbps),
                    mtu: n.link.as_ref().and_then(|l| l.mtu),
                })
                .collect(),
            pairs: m.ordered_pairs().map(|(a, b)| pair_doc(m, a, b)).collect(),
            findings: &self.findings,
            port_checks: self.ports.as_ref().map(|p| p.json()["port_checks"].clone()),
        }
    }

    /// The `-J` text (pretty, as the other kinds').
    pub fn json(&self, meta: &RunMeta) -> String {
        serde_json::to_string_pretty(&self.document(meta)).expect("the document serializes")
    }

    /// One history row per ordered pair. Its run id is the mesh's with `.FROM-TO` (node numbers from 1), so each
    /// pair's per-run JSON has a file of its own; `client_host` sends, `server_host` receives.
    pub fn history_rows(&self, meta: &RunMeta) -> Vec<HistoryRow> {
        let m = &self.matrix;
        m.ordered_pairs()
            .map(|(a, b)| {
                let none = PairResult::default();
                let p = m.pair(a, b).unwrap_or(&none);
                let link = |i: usize| m.nodes[i].link.clone().unwrap_or_default();
                HistoryRow {
                    run_id: format!("{}.{}-{}", meta.run_id, a + 1, b + 1),
                    client_host: m.nodes[a].name.clone(),
                    server_host: m.nodes[b].name.clone(),
                    direction: "forward".into(),
                    streams: self.parallel,
                    duration_s: self.duration_secs,
                    receiver_mbps: p.goodput_parallel_bps.map_or(0.0, mbps),
                    complete: p.complete,
                    diagnoses: self.kinds_about(a, b),
                    detail: KindColumns {
                        rtt_p50_us: p.rtt_p50_us,
                        rtt_p99_us: p.rtt_p99_us,
                        path_mtu: p.path_mtu,
                        local_interface: link(a).interface,
                        local_mtu: link(a).mtu,
                        local_speed_mbps: link(a).speed_mbps,
                        remote_mtu: link(b).mtu,
                        remote_speed_mbps: link(b).speed_mbps,
                        goodput_1_stream_mbps: p.goodput_bps.map(mbps),
                        ..KindColumns::default()
                    },
                    ..HistoryRow::for_run(Kind::Mesh, meta)
                }
            })
            .collect()
    }

    /// Appends the run to the history at `csv`: one row per ordered pair, each with the whole `-J` document (plus
    /// that pair's `history_columns`) as its per-run JSON. Returns the JSON files written.
    pub fn record(&self, csv: &Path, meta: &RunMeta) -> Result<Vec<PathBuf>, HistoryError> {
        let document = self.json(meta);
        self.history_rows(meta)
            .iter()
            .map(|row| history::append(csv, row, &document))
            .collect()
    }

    /// The kinds of the findings about the pair a→b, either direction of it, or either node, `;`-separated.
    fn kinds_about(&self, a: usize, b: usize) -> String {
        let m = &self.matrix;
        let subjects = [
            m.nodes[a].name.clone(),
            m.nodes[b].name.clone(),
            m.pair_name(a, b),
            m.pair_name(b, a),
        ];
        let mut kinds: Vec<&str> = Vec::new();
        for f in self.findings.iter().filter(|f| subjects.contains(&f.subject)) {
            if !kinds.contains(&f.kind.as_str()) {
                kinds.push(f.kind.as_str());
            }
        }
        kinds.join(";")
    }

    /// A finding is a diagnosis; an incomplete matrix without one is incomplete.
    pub fn verdict(&self) -> Verdict {
        if !self.findings.is_empty() {
            Verdict::Diagnosed
        } else if !self.matrix.complete() {
            Verdict::Incomplete
        } else {
            Verdict::Ok
        }
    }
}
