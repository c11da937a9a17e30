//! The mesh's sequential phase: for each ordered pair A→B, node A's server relays a 1-stream test (with the path
//! MTU and idle RTT probes first) and a `-P N` test toward B, one after the other; progress as pairs complete; an interrupt keeps what was measured.

use std::future::Future;

use super::Matrix;
use super::matrix::PairResult;
use super::relay;
use crate::client::ClientError;
use crate::config::{ClientInput, Target};
use crate::protocol::{RelayResult, TestRequest};

/// How each relay request is made: the tests' length and streams, the key, the connect timeout.
#[derive(Clone)]
pub struct Settings {
    pub duration_secs: f64,
    pub parallel: u32,
    pub psk: Option<crate::auth::Psk>,
    pub connect_timeout_secs: f64,
}

/// A node whose server could not relay: `unreachable` (no answer) or refused (no `--allow-relay`, another key).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeProblem {
    pub node: usize,
    pub unreachable: bool,
    pub reason: String,
}

/// What a sequential run ended with besides the matrix.
#[derive(Debug, Default)]
pub struct Ended {
    pub problems: Vec<NodeProblem>,
    /// Set when the interrupt stopped the run; the pairs not measured stay incomplete.
    pub interrupted: bool,
}

/// Measures every ordered pair of `matrix` in row order. `addrs[i]` is node i's saf-net server as `HOST:PORT`.
pub async fn sequential(
    matrix: &mut Matrix,
    addrs: &[String],
    s: &Settings,
    progress: &mut dyn FnMut(String),
    interrupt: impl Future<Output = ()>,
) -> Result<Ended, String> {
    let requests = requests(s)?;
    let mut ended = Ended::default();
    tokio::pin!(interrupt);
    let pairs: Vec<(usize, usize)> = matrix.ordered_pairs().collect();
    for (done, (a, b)) in pairs.iter().copied().enumerate() {
        // A pair already in the matrix was decided before (a node that did not answer its facts).
        if matrix.pair(a, b).is_some() {
            continue;
        }
        // A node that refused or did not answer as a sender is not asked again: its other pairs are incomplete.
        let result = if ended.problems.iter().any(|p| p.node == a) {
            PairResult::default()
        } else {
            let via = target(&addrs[a], s)?;
            let pair = tokio::select! {
                p = measure_pair(&via, &addrs[b], addrs, &requests) => p,
                _ = &mut interrupt => {
                    ended.interrupted = true;
                    break;
                }
            };
            pair.unwrap_or_else(|e| {
                ended.problems.push(problem(a, &e));
                PairResult::default()
            })
        };
        progress(line(matrix, a, b, &result, done + 1, pairs.len()));
        matrix.set(a, b, result);
    }
    for (a, b) in pairs {
        if matrix.pair(a, b).is_none() {
            matrix.set(a, b, PairResult::default());
        }
    }
    Ok(ended)
}

/// The 1-stream request and, with `-P` above 1, the parallel one.
fn requests(s: &Settings) -> Result<Vec<TestRequest>, String> {
    let streams = if s.parallel > 1 { vec![1, s.parallel] } else { vec![1] };
    streams
        .into_iter()
        .map(|p| {
            let mut i = ClientInput::new("mesh");
            i.time = Some(s.duration_secs);
            i.parallel = p;
            i.plan().map(|plan| plan.request)
        })
        .collect()
}

pub(super) fn target(addr: &str, s: &Settings) -> Result<Target, String> {
    Target::node(addr, s.psk.clone(), s.connect_timeout_secs)
}

/// One pair: its tests in order; a test the relay could not run leaves the pair incomplete.
async fn measure_pair(
    via: &Target,
    to: &str,
    nodes: &[String],
    requests: &[TestRequest],
) -> Result<PairResult, ClientError> {
    let mut figures: Vec<RelayResult> = Vec::new();
    for (i, req) in requests.iter().enumerate() {
        // The 1-stream test brings the probes (path MTU, idle RTT): once per pair is enough.
        figures.push(relay::run(via, to, nodes, req.clone(), i == 0).await?);
    }
    let bps = |r: &RelayResult| (r.complete && r.seconds > 0.0).then(|| r.bytes as f64 * 8.0 / r.seconds);
    let first = figures.first();
    Ok(PairResult {
        goodput_bps: first.and_then(bps),
        goodput_parallel_bps: figures.get(1).and_then(bps),
        rtt_p50_us: first.and_then(|r| r.rtt_p50_us),
        rtt_p99_us: first.and_then(|r| r.rtt_p99_us),
        path_mtu: first.and_then(|r| r.path_mtu),
        complete: figures.iter().all(|r| r.complete),
    })
}

/// A relay that never ran: no answer from the node, or its refusal.
pub(super) fn problem(node: usize, e: &ClientError) -> NodeProblem {
    NodeProblem {
        node,
        unreachable: !e.is_refusal(),
        reason: e.to_string(),
    }
}

/// The progress line of one pair.
fn line(m: &Matrix, a: usize, b: usize, r: &PairResult, done: usize, all: usize) -> String {
    let mbps = |v: Option<f64>| v.map_or("-".to_string(), |b| format!("{:.0} Mbit/s", b / 1e6));
    let state = if r.complete { "" } else { " (incomplete)" };
    format!(
        "[{done}/{all}] {}: {} (1 stream), {} (parallel){state}",
        m.pair_name(a, b),
        mbps(r.goodput_bps),
        mbps(r.goodput_parallel_bps)
    )
}
