//! Protocol 3's relay: an authenticated client asks this server to run a saf-net throughput test toward
//! another node and gets the receiver's figures back. Off unless `--allow-relay` (which needs a key).
//!
//! Deadlock: the relay holds no slot of its own server while it is the client of the target's slot, so two
//! servers relaying toward each other never wait on each other; a target whose slot is busy queues the relay
//! like any client, bounded by the handshake timeout per queue message.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::Ctx;
use super::seats::Seats;
use super::session::refuse;
use crate::config::{ClientPlan, Target};
use crate::kinds::throughput::Outcome;
use crate::net::{Family, split_host_port};
use crate::protocol::{RelayRequest, RelayResult, ServerMessage, write_message};

/// How long the relay waits for the target to answer its connection.
const CONNECT_TIMEOUT_SECS: f64 = 5.0;

/// The relay's own limits: one relayed test at a time, at most so many started in any 60 s.
pub(super) struct Relays {
    running: Seats,
    started: Mutex<VecDeque<Instant>>,
    per_minute: u32,
}

impl Relays {
    pub fn new(per_minute: u32) -> Self {
        Relays {
            running: Seats::new(1),
            started: Mutex::new(VecDeque::new()),
            per_minute,
        }
    }

    /// Counts a start (a relayed test, a port check or a group session) if the last 60 s leave room for it;
    /// else the refusal's text, naming what counts (`kinds`, e.g. "relayed tests or port checks").
    pub fn admit(&self, now: Instant, kinds: &str) -> Result<(), String> {
        let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
        while started
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            started.pop_front();
        }
        if started.len() >= self.per_minute as usize {
            return Err(format!(
                "relay limit reached: {} {kinds} in the last 60 s (server option --max-relays-per-minute)",
                self.per_minute
            ));
        }
        started.push_back(now);
        Ok(())
    }
}

/// Runs one relay request and ends the session. Returns false: no test of this server's slots ran.
pub(super) async fn run(
    ctx: &Ctx,
    peer: SocketAddr,
    mut rd: OwnedReadHalf,
    mut wr: OwnedWriteHalf,
    r: &RelayRequest,
) -> bool {
    let target = match check(ctx, r) {
        Ok(t) => t,
        Err(reason) => return refuse(ctx, &mut wr, peer, reason).await,
    };
    let Some(seat) = ctx.relays.running.take() else {
        let reason = "server busy: it already relays a test (one at a time); try again when it ends".to_string();
        return refuse(ctx, &mut wr, peer, reason).await;
    };
    if let Err(reason) = ctx.relays.admit(Instant::now(), "relayed tests") {
        return refuse(ctx, &mut wr, peer, reason).await;
    }
    ctx.log(format!("{peer}: relaying a test toward {}", r.target));
    let plan = plan(target, r);
    let mut quiet = |_: crate::client::Event<'_>| {};
    // The orchestrator closing its connection (or saying anything) ends the relayed test early.
    let gone = async {
        let mut byte = [0u8; 1];
        tokio::select! {
            _ = rd.read(&mut byte) => "the client that asked for the relay left".to_string(),
            _ = ctx.shutting_down() => "the relaying server shuts down".to_string(),
        }
    };
    let result = match crate::kinds::throughput::run_until(&plan, &mut quiet, gone).await {
        Ok(o) => figures(&o),
        Err(e) => RelayResult {
            error: Some(format!("toward {}: {e}", r.target)),
            ..RelayResult::default()
        },
    };
    ctx.log(format!(
        "{peer}: relayed test toward {} {}",
        r.target,
        result
            .error
            .as_deref()
            .map_or("done".to_string(), |e| format!("incomplete: {e}"))
    ));
    // Free the seat before answering, so a client that has its answer may ask again at once.
    drop(seat);
    let _ = write_message(&mut wr, &ServerMessage::Relayed(result)).await;
    false
}

/// The relay's rules: allowed here, a key, the target one of the nodes, the test within this server's limits.
fn check(ctx: &Ctx, r: &RelayRequest) -> Result<Target, String> {
    if !ctx.config.allow_relay {
        return Err("this server does not relay tests: start it with --allow-relay (and a key)".into());
    }
    let Some(psk) = ctx.config.psk.clone() else {
        return Err("this server has no key, so it does not relay tests".into());
    };
    if !r.nodes.iter().any(|n| n == &r.target) {
        return Err(format!(
            "relay target {} is not one of the run's nodes; a relay dials only those",
            r.target
        ));
    }
    let Some((host, port)) = split_host_port(&r.target) else {
        return Err(format!("relay target {}: give it as HOST:PORT", r.target));
    };
    ctx.config.check(&r.request)?;
    let mut target = Target::new(&host, port, Family::Any, CONNECT_TIMEOUT_SECS)?;
    target.psk = Some(psk);
    target.handshake_timeout = ctx.config.handshake_timeout;
    Ok(target)
}

/// A plain throughput run, with the MTU search and the idle RTT probe first when asked for; no diagnosis.
fn plan(target: Target, r: &RelayRequest) -> ClientPlan {
    ClientPlan {
        target,
        request: r.request.clone(),
        mtu_check: r.probes,
        latency: r.probes,
        expected_mbps: None,
        expected_medium: None,
        client_cpu: None,
    }
}

/// The receiving side's total, summed over the test's directions, and what the probes found.
fn figures(o: &Outcome) -> RelayResult {
    let (bytes, seconds) = o.received();
    let idle = o.latency.as_ref().map(|l| l.idle.rtt.stats()).filter(|s| s.samples > 0);
    RelayResult {
        bytes,
        seconds,
        complete: o.complete(),
        error: o.error.clone(),
        rtt_p50_us: idle.as_ref().map(|s| s.p50_us),
        rtt_p99_us: idle.as_ref().map(|s| s.p99_us),
        path_mtu: o.path.mtu_probe.and_then(|m| m.forward_path_mtu),
    }
}
