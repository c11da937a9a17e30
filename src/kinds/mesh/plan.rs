//! A mesh's validated plan: the nodes, the figures per pair (`-t`, `-P`), the mode (one pair at a time, or a
//! concurrent pattern in rounds), and the TCP ports whose reachability is to be checked.

use super::nodes::Node;
use crate::classify::Classify;
use crate::config::{DEFAULT_MAX_DURATION_SECS, DEFAULT_MAX_STREAMS};
use crate::profile::Profile;
use crate::protocol::MAX_PORTS_PER_NODE;

/// Streams of the parallel run of each pair unless `-P` says otherwise.
pub const DEFAULT_PARALLEL: u32 = 4;
/// Seconds each run of a pair lasts unless `-t` says otherwise.
pub const DEFAULT_MESH_SECS: f64 = 10.0;
/// The Ray GCS port checked by default with `--from-ray` when Ray does not report its own (the cluster
/// document's).
pub const RAY_GCS_PORT: u16 = 6380;

/// Many pairs at once: which ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// Every ordered pair at once.
    All,
    /// Each node sends to the next (then, in a second round, to the previous): every port once per direction.
    Ring,
    /// Every other node sends to this node (its index) at once.
    Incast(usize),
    /// Disjoint pairs, both directions at once, round after round until every pair has run.
    Pairs,
}

/// One pair at a time, or a concurrent pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Sequential,
    Concurrent(Pattern),
}

/// `--concurrent`'s argument before the node list is known (`incast:NODE` names a node).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternSpec {
    All,
    Ring,
    Incast(String),
    Pairs,
}

/// Why a plan was refused; every one is the user's input (exit code 2).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    #[error("--concurrent '{0}' is not a pattern; give all, ring, incast:NODE or pairs")]
    BadPattern(String),
    #[error("--concurrent incast:{0} names no node of the mesh; give one of: {1}")]
    UnknownIncast(String, String),
    #[error("--check-ports '{0}' is not a list of TCP ports; give e.g. 6380,8265")]
    BadPorts(String),
    #[error("--check-ports lists {0} ports; give at most {MAX_PORTS_PER_NODE} (what a node's server checks per node)")]
    TooManyPorts(usize),
    #[error("-t {0} is out of range; give more than 0 and at most {max} seconds", max = DEFAULT_MAX_DURATION_SECS)]
    Duration(f64),
    #[error("-P {0} is out of range; give 1 to {DEFAULT_MAX_STREAMS} streams")]
    Parallel(u32),
}

impl Classify for PlanError {
    fn is_usage(&self) -> bool {
        true
    }
}

impl std::str::FromStr for PatternSpec {
    type Err = PlanError;

    fn from_str(s: &str) -> Result<PatternSpec, PlanError> {
        match s {
            "all" => Ok(PatternSpec::All),
            "ring" => Ok(PatternSpec::Ring),
            "pairs" => Ok(PatternSpec::Pairs),
            _ => match s.strip_prefix("incast:") {
                Some(node) if !node.is_empty() => Ok(PatternSpec::Incast(node.to_string())),
                _ => Err(PlanError::BadPattern(s.to_string())),
            },
        }
    }
}

/// `6380,8265`: distinct TCP ports, in the order given, at most [`MAX_PORTS_PER_NODE`].
pub fn parse_ports(text: &str) -> Result<Vec<u16>, PlanError> {
    let bad = || PlanError::BadPorts(text.to_string());
    let mut ports = Vec::new();
    for part in text.split(',') {
        let port: u16 = part.trim().parse().map_err(|_| bad())?;
        if port == 0 || ports.contains(&port) {
            return Err(bad());
        }
        ports.push(port);
    }
    if ports.len() > MAX_PORTS_PER_NODE {
        return Err(PlanError::TooManyPorts(ports.len()));
    }
    Ok(ports)
}

/// `--check-ports`' list, parsed by [`parse_ports`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ports(pub Vec<u16>);

impl std::str::FromStr for Ports {
    type Err = PlanError;

    fn from_str(s: &str) -> Result<Ports, PlanError> {
        parse_ports(s).map(Ports)
    }
}

/// The ports `--from-ray` checks when `--check-ports` is not given: the GCS port Ray reports (else
/// [`RAY_GCS_PORT`]), and the dashboard's where Ray reports one.
pub fn ray_default_ports(gcs: Option<u16>, dashboard: Option<u16>) -> Vec<u16> {
    let mut ports = vec![gcs.unwrap_or(RAY_GCS_PORT)];
    ports.extend(dashboard.filter(|d| !ports.contains(d)));
    ports
}

/// Everything a mesh run needs, checked.
#[derive(Debug, Clone)]
pub struct Plan {
    pub nodes: Vec<Node>,
    pub duration_secs: f64,
    pub parallel: u32,
    pub mode: Mode,
    pub profile: Option<Profile>,
    /// TCP ports whose reachability from each node to each other is checked (with the relay).
    pub check_ports: Vec<u16>,
}

impl Plan {
    /// Checks `-t`, `-P` and the pattern against the nodes.
    pub fn new(
        nodes: Vec<Node>,
        duration_secs: f64,
        parallel: u32,
        concurrent: Option<PatternSpec>,
    ) -> Result<Plan, PlanError> {
        if !(duration_secs > 0.0 && duration_secs <= DEFAULT_MAX_DURATION_SECS) {
            return Err(PlanError::Duration(duration_secs));
        }
        if !(1..=DEFAULT_MAX_STREAMS).contains(&parallel) {
            return Err(PlanError::Parallel(parallel));
        }
        let mode = match concurrent {
            None => Mode::Sequential,
            Some(spec) => Mode::Concurrent(resolve(spec, &nodes)?),
        };
        Ok(Plan {
            nodes,
            duration_secs,
            parallel,
            mode,
            profile: None,
            check_ports: Vec::new(),
        })
    }

    /// The mode as the outputs name it: `sequential`, `concurrent all`, `concurrent incast:NODE`, ….
    pub fn mode_name(&self) -> String {
        match &self.mode {
            Mode::Sequential => "sequential".into(),
            Mode::Concurrent(Pattern::All) => "concurrent all".into(),
            Mode::Concurrent(Pattern::Ring) => "concurrent ring".into(),
            Mode::Concurrent(Pattern::Incast(x)) => format!("concurrent incast:{}", self.nodes[*x].name),
            Mode::Concurrent(Pattern::Pairs) => "concurrent pairs".into(),
        }
    }

    /// The ordered pairs (from, to) in the order they run, round by round: one pair a round when sequential.
    pub fn rounds(&self) -> Vec<Vec<(usize, usize)>> {
        let n = self.nodes.len();
        match &self.mode {
            Mode::Sequential => ordered(n).into_iter().map(|p| vec![p]).collect(),
            Mode::Concurrent(Pattern::All) => vec![ordered(n)],
            Mode::Concurrent(Pattern::Ring) => ring(n),
            Mode::Concurrent(Pattern::Incast(x)) => vec![(0..n).filter(|a| a != x).map(|a| (a, *x)).collect()],
            Mode::Concurrent(Pattern::Pairs) => disjoint_rounds(n),
        }
    }
}

fn resolve(spec: PatternSpec, nodes: &[Node]) -> Result<Pattern, PlanError> {
    Ok(match spec {
        PatternSpec::All => Pattern::All,
        PatternSpec::Ring => Pattern::Ring,
        PatternSpec::Pairs => Pattern::Pairs,
        PatternSpec::Incast(name) => {
            let probe = super::nodes::parse_node(&name, "incast").unwrap_or_else(|_| Node::new(&name, &name));
            let found = nodes.iter().position(|n| n.name == name || n.key() == probe.key());
            let names = || nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(", ");
            Pattern::Incast(found.ok_or_else(|| PlanError::UnknownIncast(name.clone(), names()))?)
        }
    })
}

/// Every ordered pair, row by row.
fn ordered(n: usize) -> Vec<(usize, usize)> {
    (0..n)
        .flat_map(|a| (0..n).filter(move |&b| b != a).map(move |b| (a, b)))
        .collect()
}

/// The forward ring, then the backward one (the same pairs when n = 2).
fn ring(n: usize) -> Vec<Vec<(usize, usize)>> {
    let forward: Vec<_> = (0..n).map(|a| (a, (a + 1) % n)).collect();
    let backward: Vec<_> = (0..n).map(|a| (a, (a + n - 1) % n)).collect();
    if n <= 2 { vec![forward] } else { vec![forward, backward] }
}

/// The circle method: n−1 rounds (n even) or n (odd, one node idle a round) of disjoint pairs, each pair both
/// directions at once, so every ordered pair runs exactly once.
fn disjoint_rounds(n: usize) -> Vec<Vec<(usize, usize)>> {
    let slots = n + n % 2; // an idle slot when odd
    let mut order: Vec<usize> = (0..slots).collect();
    let mut rounds = Vec::new();
    for _ in 0..slots - 1 {
        let mut round = Vec::new();
        for i in 0..slots / 2 {
            let (a, b) = (order[i], order[slots - 1 - i]);
            if a < n && b < n {
                round.extend([(a.min(b), a.max(b)), (a.max(b), a.min(b))]);
            }
        }
        rounds.push(round);
        order[1..].rotate_right(1);
    }
    rounds
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
