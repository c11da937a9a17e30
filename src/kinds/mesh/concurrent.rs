//! The mesh's concurrent phase (`--concurrent PATTERN`): each round of [`super::Plan::rounds`] is one group
//! session (protocol 3) over the nodes in it, every pair of the round sending at once with `-P N` streams; it
//! fills each pair's `goodput_parallel_bps`. Progress per round; an interrupt keeps the rounds already done.

use std::future::Future;

use super::Matrix;
use super::matrix::PairResult;
use super::measure::{Ended, NodeProblem, Settings, problem, target};
use crate::client::ClientError;
use crate::client::group::{self, GroupError, GroupPlan};
use crate::protocol::{Flow, GroupResults};

/// Measures the pairs of each round at once. `addrs[i]` is node i's saf-net server as `HOST:PORT`. A node that
/// cannot join (unreachable, no `--allow-relay`, another key, busy) is named and its round runs without it.
pub async fn run(
    matrix: &mut Matrix,
    addrs: &[String],
    s: &Settings,
    rounds: &[Vec<(usize, usize)>],
    progress: &mut dyn FnMut(String),
    interrupt: impl Future<Output = ()>,
) -> Result<Ended, String> {
    let mut ended = Ended::default();
    tokio::pin!(interrupt);
    for (done, round) in rounds.iter().enumerate() {
        // Each failed join drops at least one node, so this ends.
        let measured = loop {
            let pairs: Vec<(usize, usize)> = round
                .iter()
                .copied()
                .filter(|&(a, b)| !ended.problems.iter().any(|p| p.node == a || p.node == b))
                .collect();
            if pairs.is_empty() {
                break Vec::new();
            }
            let (nodes, plan) = group_of(&pairs, addrs, s);
            let targets = nodes
                .iter()
                .map(|&n| target(&addrs[n], s))
                .collect::<Result<Vec<_>, _>>()?;
            match group::run(&targets, &plan, interrupt.as_mut()).await {
                Ok(results) => break figures(&pairs, &nodes, &results, &mut ended.problems),
                Err(GroupError::Join(failed)) => {
                    ended.problems.extend(failed.iter().map(|(i, e)| problem(nodes[*i], e)));
                }
                Err(GroupError::Interrupted) => {
                    ended.interrupted = true;
                    break Vec::new();
                }
            }
        };
        if ended.interrupted {
            break;
        }
        for &(a, b) in round {
            let r = measured.iter().find(|(p, _)| *p == (a, b)).map(|(_, r)| r.clone());
            matrix.set(a, b, r.unwrap_or_default());
        }
        progress(line(matrix, round, done + 1, rounds.len()));
    }
    for &(a, b) in rounds.iter().flatten() {
        if matrix.pair(a, b).is_none() {
            matrix.set(a, b, PairResult::default());
        }
    }
    Ok(ended)
}

/// The round's nodes (ascending) and its group: members in that order, flows by member index.
fn group_of(pairs: &[(usize, usize)], addrs: &[String], s: &Settings) -> (Vec<usize>, GroupPlan) {
    let mut nodes: Vec<usize> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
    nodes.sort_unstable();
    nodes.dedup();
    let idx = |n: usize| nodes.iter().position(|&x| x == n).unwrap_or(0) as u32;
    let flows = pairs
        .iter()
        .map(|&(a, b)| Flow {
            from: idx(a),
            to: idx(b),
        })
        .collect();
    let plan = GroupPlan {
        members: nodes.iter().map(|&n| addrs[n].clone()).collect(),
        flows,
        streams: s.parallel,
        duration_secs: s.duration_secs,
        collective: None,
    };
    (nodes, plan)
}

/// Each pair's figure from its receiver's count; incomplete when either end reported an error. A member whose
/// results never came is named.
fn figures(
    pairs: &[(usize, usize)],
    nodes: &[usize],
    results: &[Result<GroupResults, ClientError>],
    problems: &mut Vec<NodeProblem>,
) -> Vec<((usize, usize), PairResult)> {
    for (i, r) in results.iter().enumerate() {
        if let Err(e) = r {
            problems.push(problem(nodes[i], e));
        }
    }
    let at = |n: usize| {
        nodes
            .iter()
            .position(|&x| x == n)
            .and_then(|i| results[i].as_ref().ok())
    };
    pairs
        .iter()
        .map(|&(a, b)| {
            let (la, lb) = (nodes.iter().position(|&x| x == a), nodes.iter().position(|&x| x == b));
            let got = at(b).and_then(|r| r.incoming.iter().find(|f| Some(f.from as usize) == la));
            let sent = at(a).and_then(|r| r.outgoing.iter().find(|f| Some(f.to as usize) == lb));
            let bps = got
                .filter(|f| f.seconds > 0.0 && f.bytes > 0)
                .map(|f| f.bytes as f64 * 8.0 / f.seconds);
            let clean = got.is_some_and(|f| f.error.is_none()) && sent.is_some_and(|f| f.error.is_none());
            let result = PairResult {
                goodput_parallel_bps: bps,
                complete: clean && bps.is_some(),
                ..PairResult::default()
            };
            ((a, b), result)
        })
        .collect()
}

/// The progress line of one round: each pair's figure.
fn line(m: &Matrix, round: &[(usize, usize)], done: usize, all: usize) -> String {
    let pairs: Vec<String> = round
        .iter()
        .map(|&(a, b)| {
            let r = m.pair(a, b).cloned().unwrap_or_default();
            let fig = r
                .goodput_parallel_bps
                .map_or("-".to_string(), |v| format!("{:.0} Mbit/s", v / 1e6));
            let state = if r.complete { "" } else { " (incomplete)" };
            format!("{} {fig}{state}", m.pair_name(a, b))
        })
        .collect();
    format!("[round {done}/{all}] {}", pairs.join(", "))
}
