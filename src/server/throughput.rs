//! A throughput test on the server: data connections (or the UDP sink), stream threads, intervals to the
//! client, results.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;

use super::control::{Admitted, ControlRx, Ended, accept, collect_data, control_ended, fail};
use super::{Ctx, udp_sink};
use crate::config::GRACE;
use crate::engine::{Abort, LocalStreams, SideRun, StreamSpec, Timing, drive, sockets};
use crate::protocol::{
    ClientMessage, Direction, Protocol, ServerMessage, SideResults, SocketReport, StopAfter, TestRequest, spawn_reader,
    write_message,
};
use crate::units::{BitsPerSec, Bytes};

/// How long the server waits for its writer, and for the client's word after the results.
const LINGER: Duration = Duration::from_secs(2);

/// Collects the data connections, runs the streams and reports; the summary is the test's log line.
pub(super) async fn run(ctx: &Ctx, mut test: Admitted, req: &TestRequest) -> Result<String, Ended> {
    let conns = req.connections() as usize;
    let (_registration, mut data_rx) = ctx.registry.register(test.cookie, test.peer.ip(), conns);
    // A latency probe beside the test (--latency) echoes through the UDP responder under the same cookie.
    let _echo = req.udp_echo.then(|| ctx.udp.allow(test.cookie, test.peer.ip()));
    // A UDP test's sink is registered before the client learns the cookie, so no datagram finds it missing.
    let sink = match req.protocol {
        Protocol::Udp => match udp_sink::open(ctx, &test, req) {
            Ok(u) => Some(u),
            Err(why) => return Err(fail(&mut test.wr, why).await),
        },
        Protocol::Tcp => None,
    };
    accept(&mut test).await?;
    ctx.debug(format!(
        "test {} from {}: {}, {} stream(s), {}",
        test.n,
        test.peer,
        req.direction.as_str(),
        req.streams,
        match req.stop {
            StopAfter::Seconds(t) => format!("{t} s"),
            StopAfter::Bytes(b) => format!("{}", Bytes(b)),
        }
    ));
    let (local, report) = match &sink {
        Some(u) => udp_sink::streams(ctx, &mut test, u, req).await?,
        None => {
            let socks = collect_data(ctx, &mut test, &mut data_rx, conns).await?;
            tcp_streams(ctx, &mut test.wr, socks, req).await?
        }
    };
    let results = finished(run_streams(ctx, test, local, req, report).await)?;
    ctx.metrics.moved(&results);
    let mut parts = rates(&results);
    if sink.is_some() {
        parts.extend(udp_sink::loss_note(&results));
    }
    Ok(parts.join("; "))
}

/// The data connections as the engine's streams, with the server's socket options applied; the first one's
/// options as the kernel set them.
async fn tcp_streams(
    ctx: &Ctx,
    wr: &mut OwnedWriteHalf,
    socks: Vec<TcpStream>,
    req: &TestRequest,
) -> Result<(LocalStreams, Option<SocketReport>), Ended> {
    let mut local = LocalStreams::default();
    let mut report = None;
    for (i, sock) in socks.into_iter().enumerate() {
        let id = i as u32 + 1;
        let sock = sock.into_std().map_err(Ended::Data)?;
        let sender = !req.client_sends(id);
        if let Err(e) = sockets::prepare(&sock, req, sender).and_then(|_| sockets::finish(&sock, req, sender)) {
            return Err(fail(wr, Ended::SocketOptions(e)).await);
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
    Ok((local, report))
}

/// Starts the test, runs the streams on the request's clock with each interval sent to the client as it closes,
/// and sends the results. A client that ended the test, or a shutdown, ends the streams early.
async fn run_streams(
    ctx: &Ctx,
    test: Admitted,
    local: LocalStreams,
    req: &TestRequest,
    report: Option<SocketReport>,
) -> SideRun<Ended> {
    let Admitted {
        n, peer, rd, mut wr, ..
    } = test;
    let timing = Timing::from_request(req, Some(ctx.config.max_duration));
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
    let (reader, mut ctl_rx) = spawn_reader::<ClientMessage, _>(rd, ctx.config.max_frame, idle);
    // The client says `done` when its streams ended normally; a vanished client never does.
    let mut done = false;
    let watch = watch_control(ctx, &mut ctl_rx, &mut done);
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
        match await_done(ctx, &mut ctl_rx).await {
            Ok(()) => done = true,
            Err(why) => run.aborted = Some(Abort::Ended(why)),
        }
    }
    if matches!(run.aborted, Some(Abort::Ended(Ended::ShuttingDown))) {
        let _ = out_tx.send(ServerMessage::Failed {
            reason: Ended::ShuttingDown.to_string(),
        });
    }
    run.results.complete &= run.aborted.is_none();
    run.results.socket = report;
    let _ = out_tx.send(ServerMessage::Results(run.results.clone()));
    drop(out_tx);
    if tokio::time::timeout(LINGER, &mut writer).await.is_err() {
        // A client that stopped reading must not keep a blocked writer, and the connection, alive.
        writer.abort();
    }
    if !done {
        // Closing before the client has read the results could reset them away; wait briefly for its word.
        let _ = tokio::time::timeout(LINGER, ctl_rx.recv()).await;
    }
    reader.abort();
    run
}

/// Reads the control connection while the streams run: `done` when the client says so; any other message, its
/// loss, or a shutdown is the reason the test ends.
async fn watch_control(ctx: &Ctx, ctl_rx: &mut ControlRx, done: &mut bool) -> Ended {
    loop {
        tokio::select! {
            msg = ctl_rx.recv() => match msg {
                Some(Ok(ClientMessage::Done)) => *done = true,
                other => return control_ended(other),
            },
            _ = ctx.shutting_down() => return Ended::ShuttingDown,
        }
    }
}

/// The client's end-of-test after our streams ended cleanly, within [`GRACE`].
async fn await_done(ctx: &Ctx, ctl_rx: &mut ControlRx) -> Result<(), Ended> {
    tokio::select! {
        r = tokio::time::timeout(GRACE, ctl_rx.recv()) => match r {
            Ok(Some(Ok(ClientMessage::Done))) => Ok(()),
            Ok(other) => Err(control_ended(other)),
            Err(_) => Err(Ended::NoEndOfTest),
        },
        _ = ctx.shutting_down() => Err(Ended::ShuttingDown),
    }
}

/// The results of a run that ended normally, or why it ended early.
fn finished(run: SideRun<Ended>) -> Result<SideResults, Ended> {
    if let Some(abort) = run.aborted {
        return Err(abort.into());
    }
    if let Some(e) = run.results.streams.iter().find_map(|s| s.error.as_ref()) {
        return Err(Ended::StreamFailed(e.clone()));
    }
    Ok(run.results)
}

/// Bytes and rate per role, for the test's log line.
pub(super) fn rates(results: &SideResults) -> Vec<String> {
    let mut parts = Vec::new();
    for (sender, verb, side) in [(false, "received", "receiver"), (true, "sent", "sender")] {
        let (bytes, secs) = results
            .streams
            .iter()
            .filter(|s| s.sender == sender)
            .fold((0, 0.0f64), |(b, t), s| (b + s.bytes, t.max(s.seconds)));
        if bytes > 0 {
            let rate = BitsPerSec::from_bytes(bytes, secs);
            parts.push(format!("{verb} {} in {secs:.2} s = {rate} ({side})", Bytes(bytes)));
        }
    }
    parts
}
