//! Protocol 3's port check: an authenticated client asks this server whether it reaches TCP ports on the other
//! nodes' hosts. Each target gets one plain connect, closed at once with no byte sent. Same rules as the relay:
//! off unless `--allow-relay` (which needs a key), hosts only from the request's node list, counted against
//! `--max-relays-per-minute`; bounded in ports per node, connects at once and total time.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::Ctx;
use super::session::refuse;
use crate::net::{split_host_port, try_port};
use crate::protocol::{
    MAX_PORTS_PER_NODE, PORT_CHECK_MAX_SECS, PortCheckRequest, PortResult, PortState, ServerMessage, write_message,
};

/// Connects in flight at once.
pub const CONNECTS_AT_ONCE: usize = 32;
/// Longest one connect may wait, milliseconds.
pub const MAX_TIMEOUT_MS: u32 = 5_000;
/// Most nodes a request may list.
const MAX_NODES: usize = 256;

/// One target, checked: where to connect.
struct Job {
    index: usize,
    host: String,
    port: u16,
}

/// Runs one port check and ends the session. Returns false: no test of this server's slots ran.
pub(super) async fn run(ctx: &Ctx, peer: SocketAddr, mut wr: OwnedWriteHalf, r: &PortCheckRequest) -> bool {
    let jobs = match check(ctx, r) {
        Ok(j) => j,
        Err(reason) => return refuse(ctx, &mut wr, peer, reason).await,
    };
    let Some(seat) = ctx.port_checks.take() else {
        let reason = "server busy: it already runs a port check (one at a time); try again when it ends".to_string();
        return refuse(ctx, &mut wr, peer, reason).await;
    };
    if let Err(reason) = ctx.relays.admit(Instant::now(), "relayed tests or port checks") {
        return refuse(ctx, &mut wr, peer, reason).await;
    }
    let timeout = Duration::from_millis(u64::from(r.timeout_ms));
    let results = tokio::select! {
        res = connect_all(jobs, timeout, r) => res,
        _ = ctx.shutting_down() => {
            return refuse(ctx, &mut wr, peer, crate::protocol::SHUTTING_DOWN.into()).await;
        }
    };
    let open = results.iter().filter(|p| p.state == PortState::Open).count();
    ctx.log(format!(
        "{peer}: checked {} port(s) on the nodes' hosts: {open} open",
        results.len()
    ));
    // Free the seat before answering, so a client that has its answer may ask again at once.
    drop(seat);
    let _ = write_message(&mut wr, &ServerMessage::PortsChecked { results }).await;
    false
}

/// The port check's rules: allowed here, a key, targets on the nodes' hosts within the bounds.
fn check(ctx: &Ctx, r: &PortCheckRequest) -> Result<Vec<Job>, String> {
    if !ctx.config.allow_relay {
        return Err("this server does not relay tests or check ports: start it with --allow-relay (and a key)".into());
    }
    if ctx.config.psk.is_none() {
        return Err("this server has no key, so it does not check ports".into());
    }
    if r.nodes.is_empty() || r.nodes.len() > MAX_NODES {
        return Err(format!(
            "a port check lists 1 to {MAX_NODES} nodes, not {}",
            r.nodes.len()
        ));
    }
    if r.timeout_ms == 0 || r.timeout_ms > MAX_TIMEOUT_MS {
        return Err(format!(
            "port check timeout {} ms is out of range; give 1 to {MAX_TIMEOUT_MS} ms",
            r.timeout_ms
        ));
    }
    let jobs = jobs(r)?;
    let waves = jobs.len().div_ceil(CONNECTS_AT_ONCE) as u64;
    if waves * u64::from(r.timeout_ms) > PORT_CHECK_MAX_SECS * 1000 {
        return Err(format!(
            "a port check of {} ports at {} ms each could take longer than {PORT_CHECK_MAX_SECS} s; ask fewer ports or a \
             shorter timeout",
            jobs.len(),
            r.timeout_ms
        ));
    }
    Ok(jobs)
}

/// Each target on its node's host: an index among the nodes, at most [`MAX_PORTS_PER_NODE`] ports each, none twice.
fn jobs(r: &PortCheckRequest) -> Result<Vec<Job>, String> {
    let mut seen = HashSet::new();
    let mut per_node = vec![0usize; r.nodes.len()];
    let mut jobs = Vec::with_capacity(r.targets.len());
    for (index, t) in r.targets.iter().enumerate() {
        let Some(node) = r.nodes.get(t.node as usize) else {
            return Err(format!(
                "port check target node {} is not one of the request's {} nodes; a port check dials only their hosts",
                t.node,
                r.nodes.len()
            ));
        };
        if t.port == 0 || !seen.insert((t.node, t.port)) {
            return Err(format!("port check target {node} port {} is 0 or asked twice", t.port));
        }
        per_node[t.node as usize] += 1;
        if per_node[t.node as usize] > MAX_PORTS_PER_NODE {
            return Err(format!(
                "a port check asks at most {MAX_PORTS_PER_NODE} ports per node; {node} has more"
            ));
        }
        let Some((host, _)) = split_host_port(node) else {
            return Err(format!("port check node {node}: give it as HOST:PORT"));
        };
        jobs.push(Job {
            index,
            host,
            port: t.port,
        });
    }
    Ok(jobs)
}

/// Every job, at most [`CONNECTS_AT_ONCE`] at a time; results in the order asked.
async fn connect_all(jobs: Vec<Job>, timeout: Duration, r: &PortCheckRequest) -> Vec<PortResult> {
    let gate = Arc::new(Semaphore::new(CONNECTS_AT_ONCE));
    let mut set = JoinSet::new();
    for job in jobs {
        let gate = gate.clone();
        set.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let began = Instant::now();
            let state = try_port(&job.host, job.port, timeout).await;
            (job.index, state, began.elapsed().as_secs_f64() * 1000.0)
        });
    }
    let mut found: Vec<Option<(PortState, f64)>> = vec![None; r.targets.len()];
    while let Some(done) = set.join_next().await {
        if let Ok((index, state, ms)) = done {
            found[index] = Some((state, ms));
        }
    }
    r.targets
        .iter()
        .zip(found)
        .map(|(t, f)| {
            // A task that panicked has no answer: it is reported unreachable, with no time.
            let (state, ms) = f.unwrap_or((PortState::Unreachable, 0.0));
            PortResult {
                node: t.node,
                port: t.port,
                state,
                ms,
            }
        })
        .collect()
}
