//! One point of a sweep on one rank: its buffers filled with the rank's pattern, the warm-up and timed
//! iterations, the per-iteration times and what each outgoing connection did, and the check of the result.

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::Instant;

use super::layout::{Layout, RingPlan, ring};
use super::ops::{Buffers, alltoall_iter, lock, ring_iter};
use super::reduce::fill;
use super::verify::check;
use crate::engine::message::Sent;
use crate::protocol::{CollOp, Dtype, LinkTime, PointResult, PointSpec};

/// A rank's connections: to each member it sends to, from each it receives from (blocking streams).
#[derive(Debug, Default)]
pub struct Peers {
    pub rank: usize,
    pub n: usize,
    pub out: BTreeMap<usize, TcpStream>,
    pub inc: BTreeMap<usize, TcpStream>,
}

impl Peers {
    /// What `op` needs that is missing: the ring's neighbours, or every member for all-to-all.
    pub fn missing(&self, op: CollOp) -> Option<String> {
        let (next, prev) = ((self.rank + 1) % self.n, (self.rank + self.n - 1) % self.n);
        let needed: Vec<(usize, bool)> = if op.all_pairs() {
            (0..self.n)
                .filter(|&m| m != self.rank)
                .flat_map(|m| [(m, true), (m, false)])
                .collect()
        } else {
            vec![(next, true), (prev, false)]
        };
        needed
            .into_iter()
            .find(|&(m, out)| !if out { &self.out } else { &self.inc }.contains_key(&m))
            .map(|(m, out)| {
                let way = if out { "to" } else { "from" };
                format!("no connection {way} member {m}")
            })
    }
}

/// Runs one point: `stop` is asked before each iteration, `tick(i)` told after each.
pub fn run_point(
    index: u32,
    spec: &PointSpec,
    dtype: Dtype,
    peers: &Peers,
    stop: &dyn Fn() -> Option<String>,
    tick: &dyn Fn(u32),
) -> PointResult {
    let mut out = PointResult {
        point: index,
        ..PointResult::default()
    };
    if let Some(why) = peers.missing(spec.op) {
        out.error = Some(why);
        return out;
    }
    let elems = spec.size_bytes as usize / dtype.size();
    let layout = Layout::new(spec.op, elems, peers.n, dtype.size());
    let plan = ring(spec.op, peers.rank, peers.n);
    let mut bufs = buffers(&layout, &plan, spec.op, dtype, peers.rank);
    let mut links: BTreeMap<usize, Sent> = BTreeMap::new();
    let mut cpu = 0.0;
    for i in 0..spec.warmup + spec.iters {
        if let Some(why) = stop() {
            out.error = Some(why);
            return out;
        }
        let t = Instant::now();
        let before = cpu_seconds();
        let sent = match iteration(spec.op, &plan, &layout, &mut bufs, peers, dtype) {
            Ok(s) => s,
            Err(e) => {
                out.error = Some(e);
                return out;
            }
        };
        let took = t.elapsed();
        if i >= spec.warmup {
            cpu += cpu_seconds() - before;
            out.times_s.push(took.as_secs_f64());
            for (to, s) in sent {
                let l = links.entry(to).or_default();
                l.bytes += s.bytes;
                l.blocked += s.blocked;
            }
        }
        tick(i + 1);
    }
    out.cpu_s = (cpu > 0.0).then_some(cpu);
    out.cores = std::thread::available_parallelism().ok().map(|n| n.get() as u32);
    out.links = links
        .into_iter()
        .map(|(to, s)| LinkTime {
            to: to as u32,
            bytes: s.bytes,
            send_blocked_s: s.blocked.as_secs_f64(),
        })
        .collect();
    let pieces: Vec<_> = bufs.result.iter().map(lock).collect();
    match check(
        spec.op,
        &layout,
        dtype,
        peers.rank,
        peers.n,
        pieces.iter().map(|p| &p[..]),
    ) {
        Ok(()) => out.verified = true,
        Err(at) => out.mismatch = Some(at),
    }
    out
}

/// This process's user + system CPU seconds so far.
fn cpu_seconds() -> f64 {
    let (user, system) = crate::platform::process_cpu_seconds();
    user + system
}

/// The rank's buffers: its pattern in the send buffer; in the result, zeros except what the op leaves as it was
/// (allgather's own chunk, broadcast's source, all-to-all's own block), copied once.
fn buffers(layout: &Layout, plan: &RingPlan, op: CollOp, dtype: Dtype, rank: usize) -> Buffers {
    let mut send = vec![0u8; layout.used_bytes()];
    fill(&mut send, dtype, rank, 0);
    let result: Vec<Mutex<Vec<u8>>> = layout.pieces.iter().map(|r| Mutex::new(vec![0u8; r.len()])).collect();
    let own = match op {
        CollOp::Broadcast if rank == 0 => Some(0),
        CollOp::Alltoall => Some(rank),
        _ => plan.local_copy,
    };
    if let Some(c) = own {
        for p in layout.chunk_pieces[c].clone() {
            lock(&result[p]).copy_from_slice(&send[layout.pieces[p].clone()]);
        }
    }
    let largest = layout.pieces.iter().map(|r| r.len()).max().unwrap_or(0);
    Buffers {
        send,
        result,
        scratch: vec![0u8; largest],
    }
}

/// One iteration of `op`: what each outgoing connection sent.
fn iteration(
    op: CollOp,
    plan: &RingPlan,
    layout: &Layout,
    bufs: &mut Buffers,
    peers: &Peers,
    dtype: Dtype,
) -> Result<Vec<(usize, Sent)>, String> {
    if op == CollOp::Alltoall {
        let out: Vec<_> = peers.out.iter().map(|(&m, s)| (m, s)).collect();
        let inc: Vec<_> = peers.inc.iter().map(|(&m, s)| (m, s)).collect();
        return alltoall_iter(layout, bufs, &out, &inc);
    }
    let (next, prev) = ((peers.rank + 1) % peers.n, (peers.rank + peers.n - 1) % peers.n);
    let (Some(ns), Some(ps)) = (peers.out.get(&next), peers.inc.get(&prev)) else {
        return Err("no ring connection".into());
    };
    let sent = ring_iter(plan, layout, bufs, (ns, next), (ps, prev), dtype)?;
    Ok(if plan.sends.is_empty() {
        vec![]
    } else {
        vec![(next, sent)]
    })
}
