//! A whole mesh run: each node's facts, then the pairs (one at a time through the relay, or a `--concurrent`
//! pattern's rounds as group sessions), then the port check;
//! a node that does not answer or refuses is named and its pairs left incomplete; an interrupt keeps what was
//! measured.

use std::future::Future;

use tokio::sync::watch;

use super::matrix::{MeshNode, NodeLink, PairResult};
use super::measure::{self, NodeProblem, Settings};
use super::{Matrix, MeshOutcome, Mode, Plan, ports};
use crate::findings::{Finding, FindingKind};

/// What the run needs besides the plan.
pub struct Setup {
    /// The port of nodes given without one (`-p`).
    pub default_port: u16,
    pub settings: Settings,
}

/// A finished (or interrupted) run.
pub struct Finished {
    pub outcome: MeshOutcome,
    /// Why the run stopped early, when a signal stopped it.
    pub interrupted: Option<String>,
}

/// Runs the mesh as `plan` says. `progress` gets a line per node and pair as it completes; `interrupt`
/// resolves with its reason to stop early (the pairs measured are kept). Errors: nothing could be asked.
pub async fn run(
    plan: &Plan,
    setup: &Setup,
    progress: &mut dyn FnMut(String),
    interrupt: impl Future<Output = String> + Send + 'static,
) -> Result<Finished, String> {
    let addrs: Vec<String> = plan.nodes.iter().map(|n| n.addr(setup.default_port)).collect();
    let stop = stop_flag(interrupt);
    let mut matrix = matrix_for(plan);
    let mut problems = ask_facts(&mut matrix, &addrs, &setup.settings, progress).await;
    leave_incomplete(&mut matrix, &problems);
    let ended = pairs(plan, &mut matrix, &addrs, setup, progress, stopped(stop.clone())).await?;
    problems.extend(ended.problems);
    let ports = if stop.borrow().is_some() {
        None
    } else {
        ports::for_plan(plan, &addrs, setup.settings.psk.clone(), progress).await
    };
    let mut outcome = MeshOutcome::new(matrix, plan);
    outcome
        .findings
        .extend(problem_findings(&outcome.matrix, &problems, setup));
    if let Some(p) = ports {
        outcome.findings.extend(p.findings());
        outcome.ports = Some(p);
    }
    let interrupted = stop.borrow().clone();
    Ok(Finished { outcome, interrupted })
}

/// The pairs, as the plan's mode says.
async fn pairs(
    plan: &Plan,
    matrix: &mut Matrix,
    addrs: &[String],
    setup: &Setup,
    progress: &mut dyn FnMut(String),
    stop: impl Future<Output = ()>,
) -> Result<measure::Ended, String> {
    match &plan.mode {
        Mode::Sequential => measure::sequential(matrix, addrs, &setup.settings, progress, stop).await,
        Mode::Concurrent(_) => {
            super::concurrent::run(matrix, addrs, &setup.settings, &plan.rounds(), progress, stop).await
        }
    }
}

/// The interrupt as a flag that every phase can wait on: None until it resolves, then its reason.
fn stop_flag(interrupt: impl Future<Output = String> + Send + 'static) -> watch::Receiver<Option<String>> {
    let (tx, rx) = watch::channel(None);
    tokio::spawn(async move {
        let reason = interrupt.await;
        let _ = tx.send(Some(reason));
    });
    rx
}

/// Resolves once the interrupt has come.
async fn stopped(mut rx: watch::Receiver<Option<String>>) {
    if rx.wait_for(Option::is_some).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// An empty matrix of the plan's nodes, judged by its profile when it has one.
fn matrix_for(plan: &Plan) -> Matrix {
    let nodes = plan.nodes.iter().map(|n| MeshNode {
        name: n.name.clone(),
        host: n.host.clone(),
        link: None,
    });
    let mut m = Matrix::new(nodes.collect());
    if let Some(p) = &plan.profile {
        m.ceiling_bps = Some(p.ceiling_mbps() * 1e6);
        m.line_rate_mbps = Some(p.link.line_rate_mbps);
        m.profile_mtu = Some(p.link.mtu);
    }
    m
}

/// Asks every node for its link facts at once; a node that does not answer or refuses is a problem.
async fn ask_facts(
    matrix: &mut Matrix,
    addrs: &[String],
    s: &Settings,
    progress: &mut dyn FnMut(String),
) -> Vec<NodeProblem> {
    let mut asks = tokio::task::JoinSet::new();
    for (i, addr) in addrs.iter().enumerate() {
        let target = measure::target(addr, s);
        asks.spawn(async move {
            let answer = match target {
                Ok(t) => crate::kinds::facts::facts(&t)
                    .await
                    .map_err(|e| measure::problem(i, &e)),
                Err(reason) => Err(NodeProblem {
                    node: i,
                    unreachable: true,
                    reason,
                }),
            };
            (i, answer)
        });
    }
    let mut answers: Vec<_> = asks.join_all().await;
    answers.sort_by_key(|(i, _)| *i);
    let mut problems = Vec::new();
    for (i, answer) in answers {
        let name = &matrix.nodes[i].name;
        match answer {
            Ok(f) => {
                progress(format!("{name}: {}", link_line(&f.link)));
                matrix.nodes[i].link = Some(NodeLink {
                    interface: f.link.interface,
                    speed_mbps: f.link.speed_mbps,
                    mtu: f.link.mtu,
                });
            }
            Err(p) => {
                progress(format!("{name}: {}", p.reason));
                problems.push(p);
            }
        }
    }
    problems
}

/// "en0, 10000 Mbit/s, MTU 9000" with unknown facts said so.
fn link_line(l: &crate::protocol::InterfaceFacts) -> String {
    format!(
        "{}, {}, MTU {}",
        l.interface.as_deref().unwrap_or("interface unknown"),
        l.speed_mbps
            .map_or("speed unknown".to_string(), |s| format!("{s} Mbit/s")),
        l.mtu.map_or("unknown".to_string(), |m| m.to_string())
    )
}

/// Every pair of a node that did not answer or refused, set incomplete so no phase asks again.
fn leave_incomplete(matrix: &mut Matrix, problems: &[NodeProblem]) {
    let pairs: Vec<(usize, usize)> = matrix.ordered_pairs().collect();
    for (a, b) in pairs {
        if problems.iter().any(|p| p.node == a || p.node == b) {
            matrix.set(a, b, PairResult::default());
        }
    }
}

/// One finding per node that did not answer or refused (its first problem).
fn problem_findings(m: &Matrix, problems: &[NodeProblem], setup: &Setup) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for p in problems {
        let node = &m.nodes[p.node];
        if !out.iter().any(|f| f.subject == node.name) {
            out.push(problem_finding(&node.name, &node.host, p, setup.default_port));
        }
    }
    out
}

/// `node_unreachable` or `relay_refused` about the node `name` at `host`.
fn problem_finding(name: &str, host: &str, p: &NodeProblem, default_port: u16) -> Finding {
    let (kind, text, fix) = if p.unreachable {
        (
            FindingKind::NodeUnreachable,
            format!("did not answer: {}; its pairs are incomplete", p.reason),
            format!(
                "check that `saf-net server` runs on {host} (its port, default {default_port}), the address, and the firewall"
            ),
        )
    } else {
        (
            FindingKind::RelayRefused,
            format!("refused: {}; its pairs are incomplete", p.reason),
            "start its server with `saf-net server --allow-relay --psk-file KEY`, with the same key as the other nodes \
             and this machine"
                .to_string(),
        )
    };
    Finding {
        kind,
        subject: name.to_string(),
        text,
        fix,
    }
}
