//! One control connection: hello, limits, queue, data connections, the run, results.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use super::Ctx;
use super::slots::QueueFull;
use crate::config::GRACE;
use crate::engine::{LocalStreams, StreamSpec, Timing, drive, sockets};
use crate::protocol::{
    ClientMessage, Cookie, Direction, FrameError, PROTOCOL_VERSION, ServerMessage, StopAfter, TestRequest,
    read_message, write_message,
};
use crate::units::{BitsPerSec, Bytes};

/// The refusal both sides print when protocol versions differ.
pub fn version_mismatch(client_protocol: u32, client_software: &str) -> String {
    format!(
        "protocol version mismatch: the client speaks saf-net protocol {client_protocol} (saf-net {client_software}), \
         this server speaks protocol {PROTOCOL_VERSION} (saf-net {}); run the same saf-net release on both hosts",
        env!("CARGO_PKG_VERSION")
    )
}

/// Runs one control session after its hello; returns whether a test got a slot.
pub(super) async fn run(ctx: &Ctx, sock: TcpStream, peer: SocketAddr, protocol: u32, software: String) -> bool {
    let (mut rd, mut wr) = sock.into_split();
    if protocol != PROTOCOL_VERSION {
        let reason = version_mismatch(protocol, &software);
        ctx.log(format!("{peer}: refused: {reason}"));
        let _ = write_message(&mut wr, &ServerMessage::Refused { reason }).await;
        return false;
    }
    let welcome = ServerMessage::Welcome {
        protocol: PROTOCOL_VERSION,
        software: env!("CARGO_PKG_VERSION").into(),
    };
    if write_message(&mut wr, &welcome).await.is_err() {
        return false;
    }
    let hs = ctx.config.handshake_timeout;
    let req = match read_message::<ClientMessage, _>(&mut rd, ctx.config.max_frame, hs).await {
        Ok(ClientMessage::Test(req)) => req,
        Ok(other) => {
            return refuse(
                ctx,
                &mut wr,
                peer,
                format!("expected a test request, got {}", kind(&other)),
            )
            .await;
        }
        Err(e @ (FrameError::Decode(_) | FrameError::TooLarge { .. } | FrameError::Empty)) => {
            return refuse(ctx, &mut wr, peer, format!("malformed test request: {e}")).await;
        }
        Err(e) => {
            ctx.log(format!("{peer}: dropped before the test request: {e}"));
            return false;
        }
    };
    if let Err(reason) = ctx.config.check(&req) {
        return refuse(ctx, &mut wr, peer, reason).await;
    }
    let mut ticket = match ctx.slots.enqueue() {
        Ok(t) => t,
        Err(QueueFull(n)) => {
            let reason =
                format!("server busy: {n} clients already wait in line; try again later (server option --max-queue)");
            return refuse(ctx, &mut wr, peer, reason).await;
        }
    };
    let mut heartbeat = tokio::time::interval(Duration::from_secs(2));
    let mut told = 0;
    let _permit = loop {
        match ticket.try_start() {
            Ok(p) => break p,
            Err(pos) if pos != told => {
                told = pos;
                ctx.log(format!("{peer}: queued at position {pos}"));
                if write_message(&mut wr, &ServerMessage::Queued { position: pos })
                    .await
                    .is_err()
                {
                    return false;
                }
            }
            Err(_) => {}
        }
        tokio::select! {
            _ = ticket.changed() => {}
            _ = heartbeat.tick() => {
                if told > 0 && write_message(&mut wr, &ServerMessage::Queued { position: told }).await.is_err() {
                    ctx.log(format!("{peer}: left the queue"));
                    return false;
                }
            }
            _ = client_spoke(&mut rd) => {
                ctx.log(format!("{peer}: left the queue"));
                return false;
            }
        }
    };
    drop(ticket);
    let n = ctx.tests.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    if let Err(reason) = run_test(ctx, n, rd, wr, peer, &req).await {
        ctx.log(format!("test {n} from {peer} ended early: {reason}; slot free"));
    }
    true
}

async fn refuse(ctx: &Ctx, wr: &mut OwnedWriteHalf, peer: SocketAddr, reason: String) -> bool {
    ctx.log(format!("{peer}: refused: {reason}"));
    let _ = write_message(wr, &ServerMessage::Refused { reason }).await;
    false
}

fn kind(msg: &ClientMessage) -> &'static str {
    match msg {
        ClientMessage::Hello { .. } => "a second hello",
        ClientMessage::Data { .. } => "a data-connection hello",
        ClientMessage::Test(_) => "a test request",
        ClientMessage::Abort { .. } => "an abort",
        ClientMessage::Done => "an end-of-test",
    }
}

/// Resolves when the client sends anything or closes; does not consume what it sent.
async fn client_spoke(rd: &mut OwnedReadHalf) {
    let mut b = [0u8; 1];
    let _ = rd.peek(&mut b).await;
}

/// Collects the data connections, runs the streams and reports.
async fn run_test(
    ctx: &Ctx,
    n: u64,
    mut rd: OwnedReadHalf,
    mut wr: OwnedWriteHalf,
    peer: SocketAddr,
    req: &TestRequest,
) -> Result<(), String> {
    let cookie = Cookie::random().map_err(|e| format!("no randomness for the cookie: {e}"))?;
    let conns = req.connections() as usize;
    let (_registration, mut data_rx) = ctx.registry.register(cookie, peer.ip(), conns);
    write_message(&mut wr, &ServerMessage::Accepted { cookie })
        .await
        .map_err(|e| e.to_string())?;
    ctx.log(format!(
        "test {n} from {peer}: {}, {} stream(s), {}",
        req.direction.as_str(),
        req.streams,
        match req.stop {
            StopAfter::Seconds(t) => format!("{t} s"),
            StopAfter::Bytes(b) => format!("{}", Bytes(b)),
        }
    ));
    let hs = ctx.config.handshake_timeout;
    let deadline = tokio::time::Instant::now() + hs;
    let mut socks: Vec<Option<TcpStream>> = (0..conns).map(|_| None).collect();
    let mut have = 0;
    while have < conns {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {
                let reason = format!(
                    "only {have} of {conns} data connections arrived within {:.0} s; a firewall may block new connections to this port",
                    hs.as_secs_f64()
                );
                let _ = write_message(&mut wr, &ServerMessage::Failed { reason: reason.clone() }).await;
                return Err(reason);
            }
            got = data_rx.recv() => {
                let Some((id, sock)) = got else { return Err("registry closed".into()) };
                match socks.get_mut((id as usize).wrapping_sub(1)) {
                    Some(slot @ None) => { *slot = Some(sock); have += 1; }
                    _ => ctx.log(format!("test {n}: ignored a data connection claiming stream {id}")),
                }
            }
            _ = client_spoke(&mut rd) => return Err("client left before its data connections were in".into()),
        }
    }
    let mut local = LocalStreams::default();
    let mut report = None;
    for (i, sock) in socks.into_iter().enumerate() {
        let id = i as u32 + 1;
        let sock = sock.expect("all arrived").into_std().map_err(|e| e.to_string())?;
        let sender = !req.client_sends(id);
        if let Err(e) = sockets::prepare(&sock, req, sender).and_then(|_| sockets::finish(&sock, req, sender)) {
            let reason = format!("could not apply socket options on the server: {e}");
            let _ = write_message(&mut wr, &ServerMessage::Failed { reason: reason.clone() }).await;
            return Err(reason);
        }
        if report.is_none() {
            report = Some(sockets::report(&sock));
        }
        let quota = if sender { req.quota(id) } else { None };
        local.add(
            sock,
            StreamSpec {
                id,
                sender,
                quota,
                block_size: req.block_size as usize,
                pace_bps: if sender { req.bitrate } else { None },
            },
        );
    }
    let duration = match req.stop {
        StopAfter::Seconds(t) => Some(Duration::from_secs_f64(t)),
        StopAfter::Bytes(_) => None,
    };
    let omit = Duration::from_secs_f64(req.omit_seconds);
    let timing = Timing {
        omit,
        duration,
        interval: Duration::from_secs_f64(req.interval_seconds),
        hard_limit: Some(omit + duration.unwrap_or(ctx.config.max_duration) + GRACE),
    };
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<ServerMessage>();
    let writer = tokio::spawn(async move {
        while let Some(m) = out_rx.recv().await {
            if write_message(&mut wr, &m).await.is_err() {
                break;
            }
        }
    });
    let _ = out_tx.send(ServerMessage::Start);
    let cap = ctx.config.max_frame;
    let idle = timing.hard_limit.unwrap_or_default() + GRACE;
    let (ctl_tx, mut ctl_rx) = mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        loop {
            let msg = read_message::<ClientMessage, _>(&mut rd, cap, idle).await;
            let last = msg.is_err();
            if ctl_tx.send(msg).is_err() || last {
                break;
            }
        }
    });
    // The client says `done` when its streams ended normally; a vanished client never does.
    let mut done = false;
    let watch = async {
        loop {
            match ctl_rx.recv().await {
                Some(Ok(ClientMessage::Done)) => done = true,
                other => return control_ended(other),
            }
        }
    };
    let mut run = drive(
        local,
        timing,
        |iv| drop(out_tx.send(ServerMessage::Interval(iv.clone()))),
        watch,
    )
    .await;
    let client_sends = req.direction != Direction::Reverse;
    if run.aborted.is_none() && client_sends && !done {
        match tokio::time::timeout(GRACE, ctl_rx.recv()).await {
            Ok(Some(Ok(ClientMessage::Done))) => done = true,
            Ok(other) => run.aborted = Some(control_ended(other)),
            Err(_) => run.aborted = Some(format!("client sent no end-of-test within {} s", GRACE.as_secs())),
        }
    }
    run.results.complete &= run.aborted.is_none();
    run.results.socket = report;
    let _ = out_tx.send(ServerMessage::Results(run.results.clone()));
    drop(out_tx);
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    if !done {
        // Closing before the client has read the results could reset them away; wait briefly for its word.
        let _ = tokio::time::timeout(Duration::from_secs(2), ctl_rx.recv()).await;
    }
    reader.abort();
    if let Some(reason) = run.aborted {
        return Err(reason);
    }
    if let Some(e) = run.results.streams.iter().find_map(|s| s.error.as_ref()) {
        return Err(format!("a data stream failed: {e}"));
    }
    let mut parts = Vec::new();
    for (sender, verb, side) in [(false, "received", "receiver"), (true, "sent", "sender")] {
        let (bytes, secs) = run
            .results
            .streams
            .iter()
            .filter(|s| s.sender == sender)
            .fold((0, 0.0f64), |(b, t), s| (b + s.bytes, t.max(s.seconds)));
        if bytes > 0 {
            let rate = BitsPerSec::from_bytes(bytes, secs);
            parts.push(format!("{verb} {} in {secs:.2} s = {rate} ({side})", Bytes(bytes)));
        }
    }
    ctx.log(format!("test {n} from {peer} finished: {}", parts.join("; ")));
    Ok(())
}

/// Why the control channel stopped before the end of a test.
fn control_ended(msg: Option<Result<ClientMessage, FrameError>>) -> String {
    match msg {
        Some(Ok(ClientMessage::Abort { reason })) => format!("client aborted: {reason}"),
        Some(Ok(other)) => format!("client sent {} mid-test", kind(&other)),
        None | Some(Err(FrameError::Closed)) => "client disconnected mid-test".to_string(),
        Some(Err(e)) => format!("control connection: {e}"),
    }
}
