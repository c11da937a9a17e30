//! A throughput test on the server: data connections, stream threads, intervals to the client, results.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use super::session::{SHUTTING_DOWN, collect_data, control_ended, spawn_control_reader};
use super::{Ctx, udp_test};
use crate::config::GRACE;
use crate::engine::{LocalStreams, StreamSpec, Timing, drive, sockets};
use crate::protocol::{
    ClientMessage, Cookie, Direction, Protocol, ServerMessage, StopAfter, TestRequest, write_message,
};
use crate::units::{BitsPerSec, Bytes};

/// Collects the data connections, runs the streams and reports.
pub(super) async fn run(
    ctx: &Ctx,
    n: u64,
    cookie: Cookie,
    mut rd: OwnedReadHalf,
    mut wr: OwnedWriteHalf,
    peer: SocketAddr,
    req: &TestRequest,
) -> Result<String, String> {
    let conns = req.connections() as usize;
    let (_registration, mut data_rx) = ctx.registry.register(cookie, peer.ip(), conns);
    // A latency probe beside the test (--latency) echoes through the UDP responder under the same cookie.
    let _echo = req.udp_echo.then(|| ctx.udp.allow(cookie, peer.ip()));
    // A UDP test's sink is registered before the client learns the cookie, so no datagram finds it missing.
    let udp = match req.protocol {
        Protocol::Udp => match udp_test::open(ctx, n, cookie, peer, req) {
            Ok(u) => Some(u),
            Err(reason) => {
                let _ = write_message(&mut wr, &ServerMessage::Failed { reason: reason.clone() }).await;
                return Err(reason);
            }
        },
        Protocol::Tcp => None,
    };
    write_message(
        &mut wr,
        &ServerMessage::Accepted {
            cookie,
            facts: Some(crate::platform::facts_towards(peer.ip())),
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    ctx.debug(format!(
        "test {n} from {peer}: {}, {} stream(s), {}",
        req.direction.as_str(),
        req.streams,
        match req.stop {
            StopAfter::Seconds(t) => format!("{t} s"),
            StopAfter::Bytes(b) => format!("{}", Bytes(b)),
        }
    ));
    let (mut local, mut report) = match &udp {
        Some(u) => udp_test::streams(ctx, &mut rd, &mut wr, u, req, cookie).await?,
        None => (LocalStreams::default(), None),
    };
    let socks = match udp {
        Some(_) => Vec::new(),
        None => collect_data(ctx, n, &mut rd, &mut wr, &mut data_rx, conns).await?,
    };
    for (i, sock) in socks.into_iter().enumerate() {
        let id = i as u32 + 1;
        let sock = sock.into_std().map_err(|e| e.to_string())?;
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
                idle_timeout: (!sender).then_some(ctx.config.idle_timeout),
                cpu: req.server_cpu.map(|c| c as usize + i),
                discard: !sender && req.skip_rx_copy,
                fixed_window: req.window.is_some(),
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
        stall_after: None,
    };
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<ServerMessage>();
    let mut writer = tokio::spawn(async move {
        while let Some(m) = out_rx.recv().await {
            if write_message(&mut wr, &m).await.is_err() {
                break;
            }
        }
    });
    let _ = out_tx.send(ServerMessage::Start);
    ctx.debug(format!("test {n} from {peer}: started"));
    let idle = timing.hard_limit.unwrap_or_default() + GRACE;
    let (reader, mut ctl_rx) = spawn_control_reader(rd, ctx.config.max_frame, idle);
    // The client says `done` when its streams ended normally; a vanished client never does.
    let mut done = false;
    let watch = async {
        loop {
            tokio::select! {
                msg = ctl_rx.recv() => match msg {
                    Some(Ok(ClientMessage::Done)) => done = true,
                    other => return control_ended(other),
                },
                _ = ctx.shutting_down() => return SHUTTING_DOWN.to_string(),
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
    // A failed stream already ended the test; only a clean end waits for the client's word.
    if run.aborted.is_none() && run.results.complete && client_sends && !done {
        tokio::select! {
            r = tokio::time::timeout(GRACE, ctl_rx.recv()) => match r {
                Ok(Some(Ok(ClientMessage::Done))) => done = true,
                Ok(other) => run.aborted = Some(control_ended(other)),
                Err(_) => run.aborted = Some(format!("client sent no end-of-test within {} s", GRACE.as_secs())),
            },
            _ = ctx.shutting_down() => run.aborted = Some(SHUTTING_DOWN.to_string()),
        }
    }
    if run.aborted.as_deref() == Some(SHUTTING_DOWN) {
        let _ = out_tx.send(ServerMessage::Failed {
            reason: SHUTTING_DOWN.into(),
        });
    }
    run.results.complete &= run.aborted.is_none();
    run.results.socket = report;
    let _ = out_tx.send(ServerMessage::Results(run.results.clone()));
    drop(out_tx);
    if tokio::time::timeout(Duration::from_secs(2), &mut writer).await.is_err() {
        // A client that stopped reading must not keep a blocked writer, and the connection, alive.
        writer.abort();
    }
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
    if udp.is_some() {
        parts.extend(udp_test::loss_note(&run.results));
    }
    Ok(parts.join("; "))
}
