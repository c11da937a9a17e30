//! What a mesh measured: per ordered pair (from sends, to receives) the goodput with 1 and N streams, RTT and
//! path MTU, and per node the link facts it reported. Pure data; the findings are drawn in `analysis.rs`.

use serde::Serialize;

/// The link facts a node reported about its own interface (None where it did not say).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NodeLink {
    pub interface: Option<String>,
    pub speed_mbps: Option<u32>,
    pub mtu: Option<u32>,
}

/// One node of the matrix: the name it was given, its host, its link facts where known.
#[derive(Debug, Clone, PartialEq)]
pub struct MeshNode {
    pub name: String,
    pub host: String,
    pub link: Option<NodeLink>,
}

/// One ordered pair's figures. A figure that was not measured is None; `complete` is false when the pair's
/// runs did not all finish, and then no verdict is drawn from it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PairResult {
    /// Receiver goodput with 1 stream, bit/s.
    pub goodput_bps: Option<f64>,
    /// Receiver goodput with `-P N` streams, bit/s.
    pub goodput_parallel_bps: Option<f64>,
    pub rtt_p50_us: Option<f64>,
    pub rtt_p99_us: Option<f64>,
    /// Largest IP packet that passed from `from` to `to`.
    pub path_mtu: Option<u32>,
    pub complete: bool,
}

impl PairResult {
    /// The figure the findings judge: the `-P N` goodput, else the 1-stream one; None when incomplete.
    pub fn judged_bps(&self) -> Option<f64> {
        if !self.complete {
            return None;
        }
        self.goodput_parallel_bps.or(self.goodput_bps)
    }

    /// The path MTU of a complete pair.
    pub fn judged_mtu(&self) -> Option<u32> {
        self.path_mtu.filter(|_| self.complete)
    }
}

/// N nodes and the N×N results (`pairs[from][to]`; the diagonal and pairs not measured are None), with what the
/// profile expects where one was given.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub nodes: Vec<MeshNode>,
    pub pairs: Vec<Vec<Option<PairResult>>>,
    /// The profile's TCP goodput ceiling, bit/s.
    pub ceiling_bps: Option<f64>,
    /// The profile's line rate, Mbit/s (to compare a node's reported speed with).
    pub line_rate_mbps: Option<f64>,
    /// The profile's MTU.
    pub profile_mtu: Option<u32>,
}

impl Matrix {
    /// An empty matrix of `nodes` (nothing measured yet).
    pub fn new(nodes: Vec<MeshNode>) -> Matrix {
        let n = nodes.len();
        Matrix {
            nodes,
            pairs: vec![vec![None; n]; n],
            ceiling_bps: None,
            line_rate_mbps: None,
            profile_mtu: None,
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn pair(&self, from: usize, to: usize) -> Option<&PairResult> {
        self.pairs.get(from)?.get(to)?.as_ref()
    }

    pub fn set(&mut self, from: usize, to: usize, result: PairResult) {
        self.pairs[from][to] = Some(result);
    }

    /// Every ordered pair (from, to), from ≠ to, in row order.
    pub fn ordered_pairs(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let n = self.len();
        (0..n).flat_map(move |a| (0..n).filter(move |&b| b != a).map(move |b| (a, b)))
    }

    /// Whether every pair the run planned was measured completely: a sequential run plans every ordered pair
    /// (each set, complete or not); the pairs a concurrent pattern leaves out stay None and do not count.
    pub fn complete(&self) -> bool {
        let mut planned = self.ordered_pairs().filter_map(|(a, b)| self.pair(a, b)).peekable();
        planned.peek().is_some() && planned.all(|p| p.complete)
    }

    /// `from->to` with the nodes' names.
    pub fn pair_name(&self, from: usize, to: usize) -> String {
        crate::findings::pair_subject(&self.nodes[from].name, &self.nodes[to].name)
    }
}
