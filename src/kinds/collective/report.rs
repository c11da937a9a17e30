//! The collective's `-J` document (docs/collective.md#json) and its history: one row of kind `collective` per
//! run, the peak busbw as its Mbit/s, the whole document as its per-run JSON.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::cpu::NodeCpu;
use super::figures::{OpSummary, PointFigures};
use super::outcome::Outcome;
use crate::findings::Finding;
use crate::output::RunMeta;
use crate::output::history::{self, HistoryError, HistoryRow, Kind};
use crate::output::json::RunHeader;
use crate::protocol::{Algo, Dtype};

/// The kind's name in `-J` and in the history.
pub const KIND: &str = "collective";

#[derive(Debug, Serialize)]
pub struct Document<'a> {
    pub saf_net: RunHeader,
    pub nodes: Vec<NodeDoc<'a>>,
    pub algo: Algo,
    pub dtype: Dtype,
    pub iters: u32,
    pub warmup: u32,
    /// The profile's TCP goodput ceiling, bit/s; null without a profile.
    pub ceiling_bps: Option<f64>,
    /// One per point some rank reported, in sweep order.
    pub results: Vec<&'a PointFigures>,
    pub ops: &'a [OpSummary],
    pub bottleneck: Option<&'a Finding>,
    /// Each node's CPU in the largest point that ran whole (cores used of its cores).
    pub cpu: &'a [NodeCpu],
    /// The statement that a node's CPU, not the link, held busbw down; null otherwise.
    pub cpu_limit: Option<&'a str>,
    pub findings: Vec<Finding>,
    /// Nodes that could not join, left, or reported an error; one line each.
    pub problems: &'a [String],
    pub interrupted: Option<&'a str>,
    pub meaning: &'a str,
}

#[derive(Debug, Serialize)]
pub struct NodeDoc<'a> {
    pub name: &'a str,
    pub host: &'a str,
}

impl Outcome {
    pub fn document(&self, meta: &RunMeta) -> Document<'_> {
        Document {
            saf_net: RunHeader::new(KIND, meta, self.complete()),
            nodes: self
                .nodes
                .iter()
                .map(|n| NodeDoc {
                    name: &n.name,
                    host: &n.host,
                })
                .collect(),
            algo: self.algo,
            dtype: self.dtype,
            iters: self.iters,
            warmup: self.warmup,
            ceiling_bps: self.ceiling_bps,
            results: self.points.iter().map(|(_, f)| f).collect(),
            ops: &self.ops,
            bottleneck: self.bottleneck.as_ref(),
            cpu: &self.cpu,
            cpu_limit: self.cpu_limit.as_deref(),
            findings: self.findings(),
            problems: &self.problems,
            interrupted: self.interrupted.as_deref(),
            meaning: &self.meaning,
        }
    }

    pub fn json(&self, meta: &RunMeta) -> String {
        serde_json::to_string_pretty(&self.document(meta)).expect("the document serializes")
    }

    /// The run's history row: nodes as `client_host` (`+`-joined names), peak busbw as `receiver_mbps`, nodes as
    /// `streams`, the timed seconds of all points as `duration_s`.
    pub fn history_row(&self, meta: &RunMeta) -> HistoryRow {
        let names: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
        let timed: f64 = self
            .points
            .iter()
            .filter_map(|(_, f)| f.time_p50_s.map(|t| t * f64::from(f.iters)))
            .sum();
        HistoryRow {
            client_host: names.join("+"),
            server_host: String::new(),
            direction: String::new(),
            streams: self.nodes.len() as u32,
            duration_s: timed,
            receiver_mbps: self.peak_busbw_bps().map_or(0.0, |b| (b / 1e3).round() / 1e3),
            complete: self.complete(),
            diagnoses: self
                .findings()
                .iter()
                .map(|f| f.kind.as_str().to_string())
                .collect::<Vec<_>>()
                .join(";"),
            ..HistoryRow::for_run(Kind::from(KIND), meta)
        }
    }

    /// Appends the run's row and its document to the history at `csv`.
    pub fn record(&self, csv: &Path, meta: &RunMeta) -> Result<PathBuf, HistoryError> {
        history::append(csv, &self.history_row(meta), &self.json(meta))
    }
}
