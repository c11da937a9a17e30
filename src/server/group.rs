//! A member's side of a group session (protocol 3, `--allow-relay`): join (limits, the ONE test slot taken at
//! once or refused busy, never queued, the cookie registered), wait for `start`, dial the flows, send and
//! receive for the duration through the engine, answer `results`; the slot and the cookie go with the session.
//!
//! No deadlock: a member never waits for a slot held by another member; its data connections need none.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::Ctx;
use super::control::client_spoke;
use super::group_data::{CONNECT_TIMEOUT_SECS, Dialed, dial_all, gather};
use super::session::refuse;
use crate::config::DEFAULT_BLOCK;
use crate::engine::{LocalStreams, SideRun, StreamSpec, Timing, drive};
use crate::net::split_host_port;
use crate::protocol::{
    ClientMessage, Direction, FlowIn, FlowOut, GroupAsk, GroupJoin, GroupReply, GroupResults, Protocol, SHUTTING_DOWN,
    ServerMessage, StopAfter, TestRequest, read_message, write_message,
};

/// Runs one member's group session and ends it. Returns whether it held the slot.
pub(super) async fn join(
    ctx: &Ctx,
    peer: SocketAddr,
    mut rd: OwnedReadHalf,
    mut wr: OwnedWriteHalf,
    j: &GroupJoin,
) -> bool {
    let req = match check(ctx, j) {
        Ok(r) => r,
        Err(reason) => return refuse(ctx, &mut wr, peer, reason).await,
    };
    let Some(permit) = ctx.slots.try_take() else {
        let reason = "server busy: its test slot is taken (a group member never queues); try again when it ends";
        return refuse(ctx, &mut wr, peer, reason.into()).await;
    };
    if let Err(reason) = ctx.relays.admit(Instant::now(), "relayed tests or group sessions") {
        return refuse(ctx, &mut wr, peer, reason).await;
    }
    let expected = j
        .incoming()
        .flat_map(|f| (1..=j.streams).map(move |s| (f.from, s)))
        .collect();
    let (registration, mut incoming) = match ctx.groups.register(j.cookie, j.members.clone(), expected) {
        Ok(r) => r,
        Err(reason) => return refuse(ctx, &mut wr, peer, reason).await,
    };
    let name = format!(
        "group {}… member {} of {}",
        &j.cookie.hex()[..8],
        j.index,
        j.members.len()
    );
    ctx.log(format!(
        "{peer}: {name} joined: {} flow(s) out, {} in, {} stream(s) each, {} s",
        j.outgoing().count(),
        j.incoming().count(),
        j.streams,
        j.duration_seconds
    ));
    if write_message(&mut wr, &ServerMessage::Group(Box::new(GroupReply::Joined)))
        .await
        .is_err()
    {
        return true;
    }
    if let Err(why) = wait_start(ctx, &mut rd).await {
        ctx.log(format!("{peer}: {name} ended before its start: {why}; slot free"));
        return true;
    }
    let dialed = dial_all(ctx, j).await;
    let within = Duration::from_secs_f64(CONNECT_TIMEOUT_SECS) + ctx.config.handshake_timeout;
    let arrived = gather(j, &mut incoming, within).await;
    // Latecomers are refused from here on: the run starts without them.
    incoming.close();
    let results = match &j.collective {
        Some(spec) => super::collective::run(ctx, (&mut rd, &mut wr), j, spec, dialed, arrived).await,
        None => run(ctx, &mut rd, j, &req, dialed, arrived).await,
    };
    let state = results
        .error
        .as_deref()
        .map_or("done".to_string(), |e| format!("incomplete: {e}"));
    // Free before answering: the orchestrator may start the next group on this server as soon as it reads.
    drop((registration, permit));
    ctx.log(format!("{peer}: {name} {state}; slot free"));
    let _ = write_message(&mut wr, &ServerMessage::Group(Box::new(GroupReply::Results(results)))).await;
    true
}

/// The group's rules here: allowed, a key, a well-formed join, this member's connections within the limits.
fn check(ctx: &Ctx, j: &GroupJoin) -> Result<TestRequest, String> {
    if !ctx.config.allow_relay {
        return Err("this server does not join group sessions: start it with --allow-relay (and a key)".into());
    }
    if ctx.config.psk.is_none() {
        return Err("this server has no key, so it does not join group sessions".into());
    }
    j.check()?;
    if let Some(spec) = &j.collective {
        super::collective::check(ctx, j, spec)?;
    }
    if let Some(bad) = j.members.iter().find(|m| split_host_port(m).is_none()) {
        return Err(format!("group member {bad}: give it as HOST:PORT"));
    }
    if j.streams == 0 {
        return Err("a group needs at least 1 stream per flow".into());
    }
    let flows = (j.outgoing().count() + j.incoming().count()) as u32;
    let conns = flows.saturating_mul(j.streams);
    if conns > ctx.config.max_streams {
        return Err(format!(
            "the group's {conns} data connections here ({flows} flow(s) × {} stream(s)) exceed this server's limit \
             of {} streams (server option --max-streams)",
            j.streams, ctx.config.max_streams
        ));
    }
    let req = TestRequest {
        direction: Direction::Forward,
        streams: conns,
        stop: StopAfter::Seconds(j.duration_seconds),
        omit_seconds: 0.0,
        interval_seconds: 1.0,
        block_size: DEFAULT_BLOCK,
        window: None,
        mss: None,
        congestion: None,
        fq_rate: None,
        bitrate: None,
        udp_echo: false,
        protocol: Protocol::Tcp,
        server_cpu: None,
        skip_rx_copy: false,
    };
    ctx.config.check(&req)?;
    Ok(req)
}

/// Waits for the orchestrator's `start`, at most the handshake timeout.
async fn wait_start(ctx: &Ctx, rd: &mut OwnedReadHalf) -> Result<(), String> {
    let hs = ctx.config.handshake_timeout;
    tokio::select! {
        m = read_message::<ClientMessage, _>(rd, ctx.config.max_frame, hs) => match m {
            Ok(ClientMessage::Group(a)) if *a == GroupAsk::Start => Ok(()),
            Ok(other) => Err(format!("expected start, got {}", super::control::kind(&other))),
            Err(e) => Err(format!("no start from the orchestrator: {e}")),
        },
        _ = ctx.shutting_down() => Err(SHUTTING_DOWN.into()),
    }
}

/// Which peer member each stream id is, and whether this member sends on it.
type Roles = HashMap<u32, (u32, bool)>;

/// Sends and receives on every connection that came up, for the duration; the figures per flow.
async fn run(
    ctx: &Ctx,
    rd: &mut OwnedReadHalf,
    j: &GroupJoin,
    req: &TestRequest,
    dialed: Dialed,
    arrived: HashMap<(u32, u32), std::net::TcpStream>,
) -> GroupResults {
    let mut local = LocalStreams::default();
    let mut roles = Roles::new();
    let mut errors: HashMap<(u32, bool), String> = HashMap::new();
    let spec = |id, sender| StreamSpec {
        id,
        sender,
        quota: None,
        block_size: req.block_size as usize,
        pace_bps: None,
        idle_timeout: Some(ctx.config.idle_timeout),
        cpu: None,
        discard: false,
        fixed_window: false,
    };
    for ((to, _), d) in dialed {
        match d {
            Ok(sock) => {
                let id = roles.len() as u32 + 1;
                roles.insert(id, (to, true));
                local.add(sock, spec(id, true));
            }
            Err(e) => {
                errors.entry((to, true)).or_insert(e);
            }
        }
    }
    for f in j.incoming() {
        for s in 1..=j.streams {
            if !arrived.contains_key(&(f.from, s)) {
                let e = format!("member {} never connected its stream {s}", f.from);
                errors.entry((f.from, false)).or_insert(e);
            }
        }
    }
    for ((from, _), sock) in arrived {
        let id = roles.len() as u32 + 1;
        roles.insert(id, (from, false));
        local.add(sock, spec(id, false));
    }
    let side = if local.is_empty() {
        None
    } else {
        let gone = async {
            tokio::select! {
                _ = client_spoke(rd) => "the orchestrator left".to_string(),
                _ = ctx.shutting_down() => SHUTTING_DOWN.to_string(),
            }
        };
        Some(drive(local, Timing::from_request(req, None), |_| {}, gone).await)
    };
    tally(j, &roles, errors, side)
}

/// Per flow: the receiver's bytes and period, the first error of its streams.
fn tally(
    j: &GroupJoin,
    roles: &Roles,
    mut errors: HashMap<(u32, bool), String>,
    side: Option<SideRun>,
) -> GroupResults {
    let mut bytes: HashMap<u32, (u64, f64)> = HashMap::new();
    let aborted = side.as_ref().and_then(|s| s.aborted.as_ref().map(|a| a.to_string()));
    for t in side.iter().flat_map(|s| &s.results.streams) {
        let Some(&(peer, sender)) = roles.get(&t.stream) else {
            continue;
        };
        if let Some(e) = &t.error {
            errors.entry((peer, sender)).or_insert_with(|| e.clone());
        }
        if !sender {
            let b = bytes.entry(peer).or_default();
            b.0 += t.bytes;
            b.1 = b.1.max(t.seconds);
        }
    }
    if let Some(a) = &aborted {
        for f in &j.flows {
            for key in [(f.to, true), (f.from, false)] {
                errors.entry(key).or_insert_with(|| a.clone());
            }
        }
    }
    let incoming = j
        .incoming()
        .map(|f| {
            let (b, s) = bytes.get(&f.from).copied().unwrap_or_default();
            FlowIn {
                from: f.from,
                bytes: b,
                seconds: s,
                error: errors.get(&(f.from, false)).cloned(),
            }
        })
        .collect();
    let outgoing: Vec<FlowOut> = j
        .outgoing()
        .map(|f| FlowOut {
            to: f.to,
            error: errors.get(&(f.to, true)).cloned(),
        })
        .collect();
    let error = aborted
        .or_else(|| (!errors.is_empty()).then(|| format!("{} flow(s) of this member did not run whole", errors.len())));
    GroupResults {
        incoming,
        outgoing,
        error,
    }
}
