//! A member's side of a collective (issue #20): the group session's connections, made blocking with the idle
//! timeout and no Nagle delay, handed to `collective::sweep` on a blocking thread; each point's result goes to
//! the orchestrator as it ends, and a `progress` line every second, so it can tell a slow sweep from a dead one.
//! The sweep stops before its next iteration when the orchestrator leaves, the server shuts down, or it has run
//! longer than the server's `--max-duration`.

use std::collections::{BTreeMap, HashMap};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use super::Ctx;
use super::control::client_spoke;
use super::group_data::Dialed;
use crate::collective::{Peers, sweep};
use crate::protocol::{
    CollectiveSpec, GroupJoin, GroupReply, GroupResults, PointResult, SHUTTING_DOWN, ServerMessage, write_message,
};

/// How often a running member tells the orchestrator where it is.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// The collective's own limits here: the spec's rules, and its buffers within `--max-test-memory`.
pub(super) fn check(ctx: &Ctx, j: &GroupJoin, spec: &CollectiveSpec) -> Result<(), String> {
    spec.check(j.members.len())?;
    if j.streams != 1 {
        return Err("a collective uses 1 stream per flow".into());
    }
    let largest = spec.largest();
    // The send buffer and the result, each one per-rank buffer.
    let needs = largest.saturating_mul(2);
    let limit = ctx.config.max_test_memory;
    if needs > limit {
        return Err(format!(
            "a {} MiB buffer needs {} MiB here (its data and its result), above this server's limit of {} MiB \
             (server option --max-test-memory)",
            largest >> 20,
            needs >> 20,
            limit >> 20
        ));
    }
    Ok(())
}

/// Where the sweep is: point in the high half, iteration in the low.
struct At(AtomicU64);

impl At {
    fn set(&self, point: u32, iter: u32) {
        self.0
            .store((u64::from(point) << 32) | u64::from(iter), Ordering::Relaxed);
    }

    fn get(&self) -> (u32, u32) {
        let v = self.0.load(Ordering::Relaxed);
        ((v >> 32) as u32, v as u32)
    }
}

/// Runs the sweep over the connections that came up; the points go to `wr` as they end.
pub(super) async fn run(
    ctx: &Ctx,
    (rd, wr): (&mut OwnedReadHalf, &mut OwnedWriteHalf),
    j: &GroupJoin,
    spec: &CollectiveSpec,
    dialed: Dialed,
    arrived: HashMap<(u32, u32), TcpStream>,
) -> GroupResults {
    let peers = match peers(ctx, j, dialed, arrived) {
        Ok(p) => p,
        Err(e) => return failed(e),
    };
    let stop: Arc<Mutex<Option<String>>> = Arc::default();
    let at = Arc::new(At(AtomicU64::new(0)));
    let (tx, mut points) = mpsc::unbounded_channel::<PointResult>();
    let worker = {
        let (spec, stop, at) = (spec.clone(), stop.clone(), at.clone());
        let max = ctx.config.max_duration;
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let asked = || {
                let why = stop.lock().unwrap_or_else(|p| p.into_inner()).clone();
                why.or_else(|| (started.elapsed() > max).then(|| past_max_duration(max)))
            };
            let mut emit = |r: PointResult| {
                let _ = tx.send(r);
            };
            sweep(&spec, &peers, &asked, &|p, i| at.set(p, i), &mut emit)
        })
    };
    tokio::pin!(worker);
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    let mut asked_to_stop = false;
    let error = loop {
        tokio::select! {
            done = &mut worker => {
                // The points the sweep sent before it ended go first.
                while let Ok(p) = points.try_recv() {
                    let _ = send(wr, GroupReply::Point(p)).await;
                }
                break done.unwrap_or_else(|_| Some("the collective's thread panicked".into()));
            }
            Some(p) = points.recv() => {
                let _ = send(wr, GroupReply::Point(p)).await;
            }
            _ = tick.tick() => {
                let (point, iter) = at.get();
                let _ = send(wr, GroupReply::Progress { point, iter }).await;
            }
            why = gone(ctx, rd), if !asked_to_stop => {
                asked_to_stop = true;
                *stop.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
            }
        }
    };
    GroupResults {
        error,
        ..GroupResults::default()
    }
}

/// Why a sweep that outran this server's limit stopped.
fn past_max_duration(max: Duration) -> String {
    format!(
        "the collective ran past this server's limit of {} s (server option --max-duration); it stops before its next iteration",
        max.as_secs_f64()
    )
}

/// Why the sweep must stop: the orchestrator left, or the server shuts down.
async fn gone(ctx: &Ctx, rd: &mut OwnedReadHalf) -> String {
    tokio::select! {
        _ = client_spoke(rd) => "the orchestrator left".to_string(),
        _ = ctx.shutting_down() => SHUTTING_DOWN.to_string(),
    }
}

async fn send(wr: &mut OwnedWriteHalf, reply: GroupReply) -> Result<(), crate::protocol::FrameError> {
    write_message(wr, &ServerMessage::Group(Box::new(reply))).await
}

fn failed(error: String) -> GroupResults {
    GroupResults {
        error: Some(error),
        ..GroupResults::default()
    }
}

/// The member's connections by peer, blocking, with the idle timeout both ways and no Nagle delay (the small
/// sizes' latency); the first one that did not come up, named.
fn peers(
    ctx: &Ctx,
    j: &GroupJoin,
    dialed: Dialed,
    mut arrived: HashMap<(u32, u32), TcpStream>,
) -> Result<Peers, String> {
    let mut out = BTreeMap::new();
    for ((to, _), d) in dialed {
        let s = d.map_err(|e| format!("no connection to member {to}: {e}"))?;
        out.insert(to as usize, blocking(s, ctx.config.idle_timeout)?);
    }
    let mut inc = BTreeMap::new();
    for f in j.incoming() {
        let s = arrived
            .remove(&(f.from, 1))
            .ok_or_else(|| format!("member {} never connected", f.from))?;
        inc.insert(f.from as usize, blocking(s, ctx.config.idle_timeout)?);
    }
    Ok(Peers {
        rank: j.index as usize,
        n: j.members.len(),
        out,
        inc,
    })
}

fn blocking(s: TcpStream, idle: Duration) -> Result<TcpStream, String> {
    crate::engine::message::prepare(s, idle).map_err(|e| format!("setting up a connection: {e}"))
}
