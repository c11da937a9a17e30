//! `saf-net mesh --dry-run`: the plan as text or JSON: the nodes, the ordered pairs round by round, the ports to
//! check. Nothing is sent.

use std::fmt::Write as _;

use serde_json::json;

use super::plan::{Mode, Plan};
use crate::findings::pair_subject;

fn pair(plan: &Plan, (a, b): (usize, usize)) -> String {
    pair_subject(&plan.nodes[a].name, &plan.nodes[b].name)
}

/// The plan as text.
pub fn text(plan: &Plan) -> String {
    let n = plan.nodes.len();
    let profile = plan
        .profile
        .as_ref()
        .map(|p| format!(", profile {}", p.name))
        .unwrap_or_default();
    let mut out = format!(
        "Mesh plan: {n} nodes, {}, -t {} -P {}{profile}\nNodes:\n",
        plan.mode_name(),
        plan.duration_secs,
        plan.parallel
    );
    for (i, node) in plan.nodes.iter().enumerate() {
        let host = if node.name == node.host {
            String::new()
        } else {
            format!(" ({})", node.host)
        };
        let _ = writeln!(out, "  {}  {}{host}", i + 1, node.name);
    }
    let rounds = plan.rounds();
    let pairs: usize = rounds.iter().map(Vec::len).sum();
    let _ = writeln!(
        out,
        "Ordered pairs: {pairs}, each a 1-stream and a {}-stream run of {} s",
        plan.parallel, plan.duration_secs
    );
    for (r, round) in rounds.iter().enumerate() {
        let list: Vec<String> = round.iter().map(|&p| pair(plan, p)).collect();
        match plan.mode {
            Mode::Sequential => {
                let _ = writeln!(out, "  {:>3}  {}", r + 1, list.join(", "));
            }
            Mode::Concurrent(_) => {
                let _ = writeln!(out, "  round {}: {}", r + 1, list.join(", "));
            }
        }
    }
    if !plan.check_ports.is_empty() {
        let ports: Vec<String> = plan.check_ports.iter().map(u16::to_string).collect();
        let _ = writeln!(out, "Ports to check from each node to each other: {}", ports.join(", "));
    }
    let _ = writeln!(out, "Dry run: nothing measured.");
    out
}

/// The plan as one JSON document.
pub fn json(plan: &Plan) -> String {
    let nodes: Vec<_> = plan
        .nodes
        .iter()
        .map(|n| json!({"name": n.name, "host": n.host}))
        .collect();
    let rounds: Vec<Vec<_>> = plan
        .rounds()
        .into_iter()
        .map(|round| {
            round
                .into_iter()
                .map(|(a, b)| json!({"from": plan.nodes[a].name, "to": plan.nodes[b].name}))
                .collect()
        })
        .collect();
    let doc = json!({
        "saf_net": {"version": env!("CARGO_PKG_VERSION"), "kind": "mesh", "dry_run": true},
        "mode": plan.mode_name(),
        "duration_seconds": plan.duration_secs,
        "parallel": plan.parallel,
        "profile": plan.profile.as_ref().map(|p| p.name.clone()),
        "nodes": nodes,
        "rounds": rounds,
        "check_ports": plan.check_ports,
    });
    serde_json::to_string_pretty(&doc).expect("a JSON value serializes")
}
