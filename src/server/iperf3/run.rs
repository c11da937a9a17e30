//! One iperf3 test on the server: the data connections (or UDP setups), the engine's streams on the client's
//! clock (the client says when the test ends), and the results exchange.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::{mpsc, oneshot};

use super::data::Arrival;
use super::results;
use super::session::{Admitted, Asked, MAX_JSON};
use super::udp::UdpTest;
use super::wire::{self, errno};
use crate::engine::udp::UdpPlan;
use crate::engine::{Abort, GRACE, LocalStreams, SideRun, StreamSpec, Timing, drive_until, sockets};
use crate::protocol::iperf3::{State, StateError, read_json, read_state, write_json, write_state};
use crate::protocol::{Protocol, SideResults, StopAfter, TestRequest};
use crate::server::Ctx;
use crate::server::control::{Ended, client_spoke};

/// How long the server waits for the client's last word (`IPERF_DONE`) after the results.
const LINGER: Duration = Duration::from_secs(2);

/// What keeps a test's data routes open while it runs.
enum Holds {
    Tcp(#[allow(dead_code)] super::data::Registration),
    Udp(#[allow(dead_code)] super::udp::FlowRegistration),
}

/// Runs the admitted test; the summary is its log line.
pub async fn run(ctx: &Ctx, n: u64, mut test: Admitted, p: &Asked) -> Result<String, Ended> {
    let req = &p.request;
    let (local, _holds) = match streams(ctx, &mut test, p).await {
        Ok(s) => s,
        Err(why) => {
            let _ = wire::write_error(&mut test.wr, errno::STREAM_ACCEPT).await;
            return Err(why);
        }
    };
    ctx.debug(format!("test {n} from {}: iperf3 streams connected", test.peer));
    for s in [State::TestStart, State::TestRunning] {
        write_state(&mut test.wr, s).await.map_err(io_ended)?;
    }
    let (run, rd) = run_streams(ctx, test.rd, local, req).await;
    let mut rd = match (run.aborted, rd) {
        (None, Some(rd)) => rd,
        (Some(Abort::Ended(Ended::ShuttingDown)), _) => {
            let _ = write_state(&mut test.wr, State::ServerTerminate).await;
            return Err(Ended::ShuttingDown);
        }
        (Some(abort), _) => {
            let why: Ended = abort.into();
            if !matches!(why, Ended::Disconnected | Ended::Iperf3(_)) {
                let _ = wire::write_error(&mut test.wr, errno::SERVER_TERM).await;
            }
            return Err(why);
        }
        (None, None) => return Err(Ended::Internal("the control reader went away")),
    };
    let client_counted = exchange(ctx, &mut rd, &mut test.wr, &run.results).await?;
    ctx.metrics.moved(&run.results);
    let mut parts = crate::server::throughput::rates(&run.results);
    if req.protocol == Protocol::Udp {
        parts.extend(crate::server::udp_sink::loss_note(&run.results));
    }
    if client_counted > 0 {
        parts.push(format!(
            "the iperf3 client counted {}",
            crate::units::Bytes(client_counted)
        ));
    }
    // A stream that failed still has its count in the results; the log says so.
    for s in &run.results.streams {
        if let Some(e) = &s.error {
            parts.push(format!("stream {} failed: {e}", s.stream));
        }
    }
    Ok(parts.join("; "))
}

fn io_ended(e: std::io::Error) -> Ended {
    Ended::Iperf3(format!("control connection: {e}"))
}

/// Sends `CREATE_STREAMS` and lays out the engine's streams once the client's streams are in.
async fn streams(ctx: &Ctx, test: &mut Admitted, p: &Asked) -> Result<(LocalStreams, Holds), Ended> {
    let req = &p.request;
    let conns = req.connections() as usize;
    match req.protocol {
        Protocol::Tcp => {
            let (reg, mut rx) = ctx.iperf3_tests.register(test.cookie, test.peer.ip(), conns);
            write_state(&mut test.wr, State::CreateStreams)
                .await
                .map_err(io_ended)?;
            let socks = collect(ctx, &mut test.rd, &mut rx, conns).await?;
            Ok((tcp_streams(ctx, socks, req)?, Holds::Tcp(reg)))
        }
        Protocol::Udp => {
            if !ctx.udp_ready {
                return Err(Ended::NoUdpTests(test.peer.port()));
            }
            let udp = UdpTest::new(test.peer.ip(), req, p.counters64);
            let reg = ctx.udp.iperf3().register(udp.clone());
            write_state(&mut test.wr, State::CreateStreams)
                .await
                .map_err(io_ended)?;
            wait_for_setups(ctx, &mut test.rd, &udp, conns).await?;
            Ok((udp_streams(&udp, req, p.counters64)?, Holds::Udp(reg)))
        }
    }
}

/// The test's data connections within the handshake timeout, in the order they were accepted.
async fn collect(
    ctx: &Ctx,
    rd: &mut OwnedReadHalf,
    rx: &mut mpsc::Receiver<Arrival>,
    want: usize,
) -> Result<Vec<TcpStream>, Ended> {
    let hs = ctx.config.handshake_timeout;
    let deadline = tokio::time::Instant::now() + hs;
    let mut got: Vec<Arrival> = Vec::with_capacity(want);
    while got.len() < want {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {
                return Err(Ended::MissingData { have: got.len(), wanted: want, secs: hs.as_secs_f64() });
            }
            a = rx.recv() => got.push(a.ok_or(Ended::Internal("iperf3 registry closed"))?),
            // iperf3 says nothing here: anything, or the connection's end, means the client gave up.
            _ = client_spoke(rd) => return Err(Ended::ClientLeft("its data connections were in")),
            _ = ctx.shutting_down() => return Err(Ended::ShuttingDown),
        }
    }
    got.sort_by_key(|(order, _)| *order);
    Ok(got.into_iter().map(|(_, s)| s).collect())
}

/// Waits within the handshake timeout until every UDP stream of the test has set up.
async fn wait_for_setups(ctx: &Ctx, rd: &mut OwnedReadHalf, udp: &UdpTest, want: usize) -> Result<(), Ended> {
    let hs = ctx.config.handshake_timeout;
    let deadline = tokio::time::Instant::now() + hs;
    while udp.set_up() < want {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {
                return Err(Ended::MissingHellos { have: udp.set_up(), wanted: want, secs: hs.as_secs_f64() });
            }
            _ = udp.changed() => {}
            // A setup may land between the count and the wait; look again shortly.
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            _ = client_spoke(rd) => return Err(Ended::ClientLeft("its UDP streams set up")),
            _ = ctx.shutting_down() => return Err(Ended::ShuttingDown),
        }
    }
    Ok(())
}

/// What one stream (1-based `id`) of `req` does on the server; a receiver reads into `rx_block` bytes.
fn spec(req: &TestRequest, id: u32, idle: Option<Duration>, rx_block: usize) -> StreamSpec {
    let sender = !req.client_sends(id);
    StreamSpec {
        id,
        sender,
        quota: if sender { req.quota(id) } else { None },
        block_size: if sender { req.block_size as usize } else { rx_block },
        pace_bps: if sender { req.bitrate } else { None },
        idle_timeout: if sender { None } else { idle },
        cpu: None,
        discard: false,
        fixed_window: req.window.is_some(),
    }
}

/// The data connections as the engine's streams, with the client's socket options applied.
fn tcp_streams(ctx: &Ctx, socks: Vec<TcpStream>, req: &TestRequest) -> Result<LocalStreams, Ended> {
    let mut local = LocalStreams::default();
    // A TCP receiver's block is only its read buffer: saf-net's own size wakes it less often than iperf3's 128 KiB,
    // as far as --max-test-memory allows.
    let share = ctx.config.max_test_memory / u64::from(req.connections().max(1));
    let rx_block = u64::from(req.block_size).max(share.min(u64::from(crate::config::DEFAULT_BLOCK))) as usize;
    for (i, sock) in socks.into_iter().enumerate() {
        let spec = spec(req, i as u32 + 1, Some(ctx.config.idle_timeout), rx_block);
        let sock = sock.into_std().map_err(Ended::Data)?;
        sockets::prepare(&sock, req, spec.sender)
            .and_then(|_| sockets::finish(&sock, req, spec.sender))
            .map_err(Ended::SocketOptions)?;
        local.add(sock, spec);
    }
    Ok(local)
}

/// The UDP streams: the responder feeds those the server receives; it sends the others in iperf3's format.
fn udp_streams(udp: &UdpTest, req: &TestRequest, counters64: bool) -> Result<LocalStreams, Ended> {
    let mut local = LocalStreams::default();
    for id in 1..=req.connections() {
        // A UDP receiver may hear nothing for long (low -b, total loss); the client's end ends it.
        let spec = spec(req, id, None, req.block_size as usize);
        let plan = if spec.sender {
            let (to, socket) = udp.peer(id).ok_or(Ended::Internal("no address for a UDP stream"))?;
            UdpPlan::Iperf3Send {
                socket,
                to: Some(to),
                counters_64bit: counters64,
            }
        } else {
            UdpPlan::Fed {
                meter: udp
                    .meter(id)
                    .ok_or(Ended::Internal("no meter for a receiving stream"))?,
            }
        };
        local.add_udp(plan, spec);
    }
    Ok(local)
}

/// Runs the streams until the client's `TEST_END` (a clean end) or its loss, another state, a shutdown or
/// the engine's limits (an abort); gives the control connection back after a clean end.
async fn run_streams(
    ctx: &Ctx,
    rd: OwnedReadHalf,
    local: LocalStreams,
    req: &TestRequest,
) -> (SideRun<Ended>, Option<OwnedReadHalf>) {
    let omit = Duration::from_secs_f64(req.omit_seconds);
    let planned = match req.stop {
        StopAfter::Seconds(t) => Duration::from_secs_f64(t),
        StopAfter::Bytes(_) => ctx.config.max_duration,
    };
    // The client keeps the clock: no send deadline here, only a limit for a client that never says the end.
    let timing = Timing {
        omit,
        duration: None,
        interval: Duration::from_secs(1),
        hard_limit: Some(omit + planned + GRACE),
        stall_after: None,
        quiet_end: None,
    };
    let (end_tx, end_rx) = oneshot::channel::<()>();
    let (abort_tx, abort_rx) = oneshot::channel::<Ended>();
    let limit = omit + planned + GRACE;
    let reader = tokio::spawn(watch_control(rd, limit, end_tx, abort_tx));
    let finish = async {
        if end_rx.await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    // After a clean end the reader drops its abort sender: that is no reason to abort.
    let abort_rx = async {
        match abort_rx.await {
            Ok(why) => why,
            Err(_) => std::future::pending().await,
        }
    };
    let abort = async {
        tokio::select! {
            why = abort_rx => why,
            _ = ctx.shutting_down() => Ended::ShuttingDown,
        }
    };
    let run = drive_until(local, timing, |_| {}, abort, finish).await;
    let rd = if run.aborted.is_none() {
        reader.await.ok().flatten()
    } else {
        reader.abort();
        None
    };
    (run, rd)
}

/// Reads the client's states while the test runs: `TEST_END` ends it cleanly (and the read half comes back
/// for the results); anything else, silence past `limit`, or the connection's end aborts it.
async fn watch_control(
    mut rd: OwnedReadHalf,
    limit: Duration,
    end: oneshot::Sender<()>,
    abort: oneshot::Sender<Ended>,
) -> Option<OwnedReadHalf> {
    let why = match read_state(&mut rd, limit).await {
        Ok(State::TestEnd) => {
            let _ = end.send(());
            return Some(rd);
        }
        Ok(State::ClientTerminate) => Ended::ClientAborted("iperf3 client terminated the test".into()),
        Ok(s) => Ended::Iperf3(format!("iperf3 client sent {} mid-test", s.name())),
        Err(StateError::Closed) => Ended::Disconnected,
        Err(e) => Ended::Iperf3(e.to_string()),
    };
    let _ = abort.send(why);
    None
}

/// `EXCHANGE_RESULTS`: the client's results in, ours out, then `DISPLAY_RESULTS` and the client's last word.
/// Returns the bytes the client counted.
async fn exchange(
    ctx: &Ctx,
    rd: &mut OwnedReadHalf,
    wr: &mut tokio::net::tcp::OwnedWriteHalf,
    ours: &SideResults,
) -> Result<u64, Ended> {
    write_state(wr, State::ExchangeResults).await.map_err(io_ended)?;
    let theirs: serde_json::Value = read_json(rd, MAX_JSON, ctx.config.handshake_timeout)
        .await
        .map_err(|e| Ended::Iperf3(format!("iperf3 client's results: {e}")))?;
    write_json(wr, &results::document(ours))
        .await
        .map_err(|e| Ended::Iperf3(format!("control connection: {e}")))?;
    write_state(wr, State::DisplayResults).await.map_err(io_ended)?;
    // IPERF_DONE, or the client just closes; either way the test is over.
    if !matches!(read_state(rd, LINGER).await, Ok(State::IperfDone)) {
        ctx.debug("iperf3 client left without its IPERF_DONE".into());
    }
    Ok(results::client_counted(&theirs))
}
