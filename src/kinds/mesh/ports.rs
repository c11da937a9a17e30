//! `--check-ports`: whether each node's listed TCP ports are reachable from each other node. Every node's
//! server is asked (protocol 3's `port_check`, behind `--allow-relay`) to try the other nodes' ports; a node
//! whose server does not answer or refuses leaves its row unknown, never "closed". Renderings: a text table,
//! the `port_checks` JSON fragment and `port_unreachable` findings.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::Plan;
use super::measure::NodeProblem;
use super::text::{DIAGONAL, UNKNOWN};
use crate::auth::Psk;
use crate::client::{ClientError, ask_once, unexpected};
use crate::config::Target;
use crate::findings::{Finding, FindingKind, pair_subject};
use crate::net::{Family, split_host_port};
use crate::protocol::{
    ClientMessage, PORT_CHECK_MAX_SECS, PortCheckRequest, PortResult, PortState, PortTarget, ServerMessage,
};

/// How long one connect to a node's port may take in [`for_plan`].
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The table's corner cell.
const CORNER: &str = "from \\ to";
/// Nodes asked at once.
const NODES_AT_ONCE: usize = 8;
/// How long connecting to a node's saf-net server may take, seconds.
const SERVER_CONNECT_SECS: f64 = 5.0;
/// How long past the server's own bound the answer may take.
const SLACK: Duration = Duration::from_secs(15);

/// What one node saw of one port on another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Open,
    /// Refused: nothing listens, or a firewall rejects.
    Closed,
    /// No answer in time: a firewall that drops, or a host that is down.
    Timeout,
    /// The name did not resolve, or the network said the host cannot be reached.
    Unreachable,
    /// The checking node's server did not answer or refused: not known.
    Unknown,
}

impl Cell {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Cell::Open => "open",
            Cell::Closed => "closed",
            Cell::Timeout => "timeout",
            Cell::Unreachable => "unreachable",
            Cell::Unknown => "unknown",
        }
    }

    /// The table's cell.
    fn short(self) -> &'static str {
        match self {
            Cell::Unknown => UNKNOWN,
            Cell::Unreachable => "no route",
            other => other.as_str(),
        }
    }

    fn from_state(s: PortState) -> Cell {
        match s {
            PortState::Open => Cell::Open,
            PortState::Refused => Cell::Closed,
            PortState::Timeout => Cell::Timeout,
            PortState::Unreachable => Cell::Unreachable,
        }
    }
}

/// Each node's view of each other node's ports: `cell(from, to, port)`.
#[derive(Debug, Clone, PartialEq)]
pub struct PortMatrix {
    /// The nodes' names, as the mesh names them.
    pub nodes: Vec<String>,
    pub ports: Vec<u16>,
    /// `cells[from][to][k]` for `ports[k]`; the diagonal is never checked and stays unknown.
    cells: Vec<Vec<Vec<Cell>>>,
    /// Nodes whose server did not check, and why.
    pub problems: Vec<NodeProblem>,
    /// What a port is, for findings ("Ray GCS port"); other ports are a "TCP port".
    labels: BTreeMap<u16, String>,
}

impl PortMatrix {
    /// Nothing known yet about `ports` among `nodes`. Ray's default GCS and dashboard ports are labelled.
    pub fn new(nodes: Vec<String>, ports: Vec<u16>) -> PortMatrix {
        let n = nodes.len();
        let labels = BTreeMap::from([
            (super::plan::RAY_GCS_PORT, "Ray GCS port".to_string()),
            (8265, "Ray dashboard port".to_string()),
        ]);
        PortMatrix {
            cells: vec![vec![vec![Cell::Unknown; ports.len()]; n]; n],
            nodes,
            ports,
            problems: Vec::new(),
            labels,
        }
    }

    /// The same matrix with the mesh's node names (in the order of the addresses it was checked with).
    pub fn named(mut self, names: impl IntoIterator<Item = String>) -> PortMatrix {
        for (slot, name) in self.nodes.iter_mut().zip(names) {
            *slot = name;
        }
        self
    }

    /// Names `port` in findings (a GCS port Ray reported: "Ray GCS port").
    pub fn label(mut self, port: u16, what: &str) -> PortMatrix {
        self.labels.insert(port, what.to_string());
        self
    }

    pub fn cell(&self, from: usize, to: usize, port: u16) -> Cell {
        let k = self.ports.iter().position(|p| *p == port);
        k.and_then(|k| self.cells.get(from)?.get(to)?.get(k).copied())
            .unwrap_or(Cell::Unknown)
    }

    pub fn set(&mut self, from: usize, to: usize, port: u16, cell: Cell) {
        if let Some(k) = self.ports.iter().position(|p| *p == port)
            && from != to
        {
            self.cells[from][to][k] = cell;
        }
    }

    /// Every checked (from, to, port), from ≠ to, in row order.
    fn triples(&self) -> impl Iterator<Item = (usize, usize, u16)> + '_ {
        let n = self.nodes.len();
        (0..n).flat_map(move |a| {
            (0..n)
                .filter(move |&b| b != a)
                .flat_map(move |b| self.ports.iter().map(move |&p| (a, b, p)))
        })
    }

    /// "Ray GCS port 6380" or "TCP port 22".
    fn port_name(&self, port: u16) -> String {
        let what = self.labels.get(&port).map_or("TCP port", String::as_str);
        format!("{what} {port}")
    }
}

impl PortMatrix {
    /// The table: a row per checking node, a column per `to-node:port`; `-` on the diagonal, `?` unknown; then a
    /// line per node whose server did not check.
    pub fn text(&self) -> String {
        let n = self.nodes.len();
        let mut header = vec![CORNER.to_string()];
        header.extend((0..n).flat_map(|b| self.ports.iter().map(move |p| format!("{}:{p}", self.nodes[b]))));
        let mut rows = vec![header];
        for a in 0..n {
            let mut row = vec![self.nodes[a].clone()];
            for b in 0..n {
                row.extend(self.ports.iter().map(|&p| {
                    let cell = if a == b { DIAGONAL } else { self.cell(a, b, p).short() };
                    cell.to_string()
                }));
            }
            rows.push(row);
        }
        let mut out = String::from("TCP ports, as each node reaches the others:\n");
        out.push_str(&table(&rows));
        for p in &self.problems {
            out.push_str(&format!(
                "  ? {}: its server did not check: {}\n",
                self.nodes[p.node], p.reason
            ));
        }
        out
    }

    /// The `-J` fragment: `port_checks: [{from, to, port, state}]`, one per checked (from, to, port).
    pub fn json(&self) -> serde_json::Value {
        let checks: Vec<serde_json::Value> = self
            .triples()
            .map(|(a, b, p)| {
                serde_json::json!({
                    "from": self.nodes[a],
                    "to": self.nodes[b],
                    "port": p,
                    "state": self.cell(a, b, p).as_str(),
                })
            })
            .collect();
        serde_json::json!({ "port_checks": checks })
    }

    /// `port_unreachable` findings: per target node and port, one about the node when no other node reaches it
    /// (all of them known), else one per pair that does not. Unknown cells say nothing.
    pub fn findings(&self) -> Vec<Finding> {
        let n = self.nodes.len();
        let mut out = Vec::new();
        for b in 0..n {
            for &p in &self.ports {
                let seen: Vec<(usize, Cell)> = (0..n).filter(|&a| a != b).map(|a| (a, self.cell(a, b, p))).collect();
                let bad: Vec<(usize, Cell)> = seen
                    .iter()
                    .copied()
                    .filter(|(_, c)| !matches!(c, Cell::Open | Cell::Unknown))
                    .collect();
                if bad.len() >= 2 && bad.len() == seen.len() {
                    out.push(self.node_finding(b, p, &bad));
                } else {
                    out.extend(bad.iter().map(|&(a, c)| self.pair_finding(a, b, p, c)));
                }
            }
        }
        out
    }

    /// No other node reaches `port` on node `b`.
    fn node_finding(&self, b: usize, port: u16, bad: &[(usize, Cell)]) -> Finding {
        let states: Vec<String> = bad
            .iter()
            .map(|&(a, c)| format!("{} from {}", why(c), self.nodes[a]))
            .collect();
        let text = format!(
            "{} on {} is not reachable from any other node ({})",
            self.port_name(port),
            self.nodes[b],
            states.join(", ")
        );
        Finding::new(
            FindingKind::PortUnreachable,
            self.nodes[b].clone(),
            text,
            self.fix(b, port),
        )
    }

    /// Node `a` does not reach `port` on node `b`.
    fn pair_finding(&self, a: usize, b: usize, port: u16, c: Cell) -> Finding {
        let text = format!(
            "{} on {} is not reachable from {} ({})",
            self.port_name(port),
            self.nodes[b],
            self.nodes[a],
            why(c)
        );
        let subject = pair_subject(&self.nodes[a], &self.nodes[b]);
        Finding::new(FindingKind::PortUnreachable, subject, text, self.fix(b, port))
    }

    fn fix(&self, b: usize, port: u16) -> String {
        let node = &self.nodes[b];
        let ray = if self.labels.get(&port).is_some_and(|l| l.starts_with("Ray")) {
            " (for Ray: ray start --node-ip-address with the cluster address, not 127.0.0.1)"
        } else {
            ""
        };
        format!(
            "allow TCP {port} in {node}'s firewall for the other nodes, and check that the service on {node} listens \
             on an address they reach{ray}"
        )
    }
}

/// What a not-open cell says about the port.
fn why(c: Cell) -> &'static str {
    match c {
        Cell::Closed => "refused",
        Cell::Timeout => "no answer",
        Cell::Unreachable => "no route",
        Cell::Open | Cell::Unknown => c.as_str(),
    }
}

/// Rows of cells, left-aligned in columns two spaces apart, each line indented by two.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row.iter().zip(&width).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(&format!("  {}\n", cells.join("  ").trim_end()));
    }
    out
}

/// Asks every node's server (`addrs[i]`, `HOST:PORT`) to try `ports` on every other node's host, at most
/// [`NODES_AT_ONCE`] nodes at a time; `progress` gets one line per node as it answers. Names are the addresses'
/// hosts until [`PortMatrix::named`] gives the mesh's.
pub async fn check(
    addrs: &[String],
    psk: Option<Psk>,
    timeout: Duration,
    ports: &[u16],
    progress: &mut dyn FnMut(String),
) -> PortMatrix {
    let names = addrs.iter().map(|a| split_host_port(a).map_or(a.clone(), |(h, _)| h));
    let m = PortMatrix::new(names.collect(), ports.to_vec());
    fill_all(m, addrs, psk, timeout, progress).await
}

/// The mesh's port check in one call: None when the plan has no ports to check; else every node of `addrs`
/// (`HOST:PORT` of each node's server, in the plan's order) asked with [`CONNECT_TIMEOUT`], named as the plan
/// names them (in the progress lines too).
pub async fn for_plan(
    plan: &Plan,
    addrs: &[String],
    psk: Option<Psk>,
    progress: &mut dyn FnMut(String),
) -> Option<PortMatrix> {
    if plan.check_ports.is_empty() {
        return None;
    }
    let names = plan.nodes.iter().map(|n| n.name.clone()).collect();
    let m = PortMatrix::new(names, plan.check_ports.clone());
    Some(fill_all(m, addrs, psk, CONNECT_TIMEOUT, progress).await)
}

/// Fills `m`'s rows, asking the nodes [`NODES_AT_ONCE`] at a time; a progress line per node as it answers.
async fn fill_all(
    mut m: PortMatrix,
    addrs: &[String],
    psk: Option<Psk>,
    timeout: Duration,
    progress: &mut dyn FnMut(String),
) -> PortMatrix {
    let ports = m.ports.clone();
    // Names and addresses go together; a name without an address (or the reverse) is left out, never misread.
    let n = addrs.len().min(m.nodes.len());
    let gate = Arc::new(Semaphore::new(NODES_AT_ONCE));
    let mut set = JoinSet::new();
    for from in 0..n {
        let (gate, addrs, psk, req) = (
            gate.clone(),
            addrs.to_vec(),
            psk.clone(),
            request(addrs, from, timeout, &ports),
        );
        set.spawn(async move {
            let _permit = gate.acquire_owned().await;
            (from, ask(&addrs[from], psk, req).await)
        });
    }
    while let Some(done) = set.join_next().await {
        let Ok((from, answer)) = done else { continue };
        match answer {
            Ok(results) => fill(&mut m, from, &results),
            Err((unreachable, reason)) => m.problems.push(NodeProblem {
                node: from,
                unreachable,
                reason,
            }),
        }
        progress(line(&m, from));
    }
    m.problems.sort_by_key(|p| p.node);
    m
}

/// Node `from`'s request: every port of every other node.
fn request(addrs: &[String], from: usize, timeout: Duration, ports: &[u16]) -> PortCheckRequest {
    let targets = (0..addrs.len())
        .filter(|&to| to != from)
        .flat_map(|to| ports.iter().map(move |&port| PortTarget { node: to as u32, port }))
        .collect();
    PortCheckRequest {
        nodes: addrs.to_vec(),
        targets,
        timeout_ms: timeout.as_millis().clamp(1, u128::from(u32::MAX)) as u32,
    }
}

/// One node's port check; why not, with whether the node did not answer (else it refused).
async fn ask(addr: &str, psk: Option<Psk>, req: PortCheckRequest) -> Result<Vec<PortResult>, (bool, String)> {
    // A mesh's addresses are HOST:PORT already; anything else is taken as a host on the default port.
    let (host, port) = split_host_port(addr).unwrap_or((addr.to_string(), crate::config::DEFAULT_PORT));
    let mut via = Target::new(&host, port, Family::Any, SERVER_CONNECT_SECS).map_err(|e| (true, e))?;
    via.psk = psk;
    exchange(&via, req).await.map_err(|e| (!e.is_refusal(), e.to_string()))
}

/// One port check at the server `via`: the hello, the request as given, and its results in the order asked.
pub async fn exchange(via: &Target, req: PortCheckRequest) -> Result<Vec<PortResult>, ClientError> {
    let ask = ClientMessage::PortCheck(Box::new(req));
    let what = "waiting for the port check";
    let wait = Duration::from_secs(PORT_CHECK_MAX_SECS) + SLACK;
    match ask_once(via, &ask, what, wait).await? {
        (_, ServerMessage::PortsChecked { results }) => Ok(results),
        (server, other) => Err(unexpected(server, &other, what)),
    }
}

/// Node `from`'s row from its server's answer; a target it did not answer about stays unknown.
fn fill(m: &mut PortMatrix, from: usize, results: &[PortResult]) {
    for r in results {
        let to = r.node as usize;
        if to < m.nodes.len() {
            m.set(from, to, r.port, Cell::from_state(r.state));
        }
    }
}

/// The progress line of one node's row.
fn line(m: &PortMatrix, from: usize) -> String {
    let name = &m.nodes[from];
    if let Some(p) = m.problems.iter().find(|p| p.node == from) {
        return format!("ports from {name}: unknown ({})", p.reason);
    }
    let row: Vec<Cell> = m
        .triples()
        .filter(|t| t.0 == from)
        .map(|(a, b, p)| m.cell(a, b, p))
        .collect();
    let open = row.iter().filter(|c| **c == Cell::Open).count();
    format!("ports from {name}: {open} of {} open", row.len())
}

#[cfg(test)]
#[path = "ports_tests.rs"]
mod tests;
