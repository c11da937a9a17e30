//! A throughput test on the client: data connections, our side's streams, the server's intervals and results.

use std::time::{Duration, Instant, SystemTime};

use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::latency::probe_socket;
use super::{ClientError, Event, Observer, Outcome, Session, StreamInfo, UnderLoad, describe, open, udp};
use crate::config::{ClientPlan, GRACE};
use crate::diagnose::{Diagnosis, PathReport, diagnose};
use crate::engine::STALL;
use crate::engine::mtu::{self, MtuPlan, MtuResult};
use crate::engine::probe::{self, ProbePlan};
use crate::engine::{LocalStreams, SideRun, StreamSpec, Timing, drive, sockets};
use crate::net;
use crate::platform;
use crate::protocol::Cookie;
use crate::protocol::{
    ClientMessage, DEFAULT_MAX_FRAME, FrameError, IntervalReport, Protocol, ServerMessage, SideResults, StopAfter,
    encode, read_message, write_message,
};
use std::net::SocketAddr;

/// Runs one test as planned, reporting progress to `obs`. Errors mean nothing was measured.
pub async fn run(plan: &ClientPlan, obs: &mut dyn Observer) -> Result<Outcome, ClientError> {
    run_until(plan, obs, std::future::pending()).await
}

/// Like [`run`], but stops early with a partial result when `interrupt` resolves (e.g. Ctrl-C).
pub async fn run_until(
    plan: &ClientPlan,
    obs: &mut dyn Observer,
    interrupt: impl std::future::Future<Output = ()>,
) -> Result<Outcome, ClientError> {
    let mut req = plan.request.clone();
    if req.protocol == Protocol::Udp {
        req.block_size = udp::datagram_size(plan).await?;
    }
    let Session {
        server,
        server_software,
        cookie,
        server_facts,
        mut rd,
        mut wr,
    } = open(&plan.target, ClientMessage::Test(req.clone()), obs).await?;
    let cap = DEFAULT_MAX_FRAME;
    let hs = plan.target.handshake_timeout;
    let control = |context: &'static str| {
        move |source| ClientError::Control {
            server,
            context,
            cause: source,
        }
    };
    let unexpected = |got: &ServerMessage, context: &'static str| ClientError::Unexpected {
        server,
        got: describe(got),
        context,
    };
    // Latency under load: an idle UDP probe now, before any stream moves data.
    let probe_sock = if req.udp_echo {
        let sock = probe_socket(server).map_err(|e| ClientError::Refused {
            server,
            reason: format!("UDP probe: {e}"),
        })?;
        Some(Arc::new(sock))
    } else {
        None
    };
    // The path's facts, and the MTU probe before any stream moves data (unless --no-mtu-check).
    let mut path = PathReport {
        local: platform::facts_towards(server.ip()),
        remote: server_facts,
        ..PathReport::default()
    };
    if plan.mtu_check
        && let Some(sock) = &probe_sock
    {
        path.mtu_probe = Some(run_mtu_probe(sock.clone(), cookie, &path, server).await);
    }
    let idle_rtt = match probe_sock.as_ref().filter(|_| plan.latency) {
        Some(sock) => {
            let (sock, plan) = (sock.clone(), IDLE_PROBE);
            let idle = tokio::task::spawn_blocking(move || probe::udp(&sock, cookie, &plan, &AtomicBool::new(false)));
            Some(idle.await.map_err(|e| ClientError::Refused {
                server,
                reason: format!("idle probe failed: {e}"),
            })?)
        }
        None => None,
    };
    let mut local = LocalStreams::default();
    let mut streams = Vec::new();
    // UDP: one socket per stream; the streams the server sends say hello until the start.
    let udp_hellos = match req.protocol {
        Protocol::Udp => Some(udp::open_streams(
            server,
            cookie,
            &req,
            plan.client_cpu,
            &mut local,
            &mut streams,
        )?),
        Protocol::Tcp => None,
    };
    let tcp_connections = if udp_hellos.is_some() { 0 } else { req.connections() };
    for id in 1..=tcp_connections {
        let client_sends = req.client_sends(id);
        let prepare = |sock: &tokio::net::TcpSocket| sockets::prepare(sock, &req, client_sends);
        let mut s = net::connect_one(server, plan.target.connect_timeout, prepare).await?;
        let data_err = |source| ClientError::Data {
            server,
            stream: id,
            cause: source,
        };
        s.write_all(&encode(&ClientMessage::Data { cookie, stream: id }))
            .await
            .map_err(data_err)?;
        let s = s.into_std().map_err(data_err)?;
        sockets::finish(&s, &req, client_sends).map_err(data_err)?;
        streams.push(StreamInfo {
            id,
            client_sends,
            local: s.local_addr().map_err(data_err)?,
            remote: server,
            socket: sockets::report(&s),
            tcp_now: platform::tcp_info(&s),
        });
        let quota = if client_sends { req.quota(id) } else { None };
        local.add(
            s,
            StreamSpec {
                id,
                sender: client_sends,
                quota,
                block_size: req.block_size as usize,
                pace_bps: if client_sends { req.bitrate } else { None },
                idle_timeout: None,
                cpu: plan.client_cpu.map(|c| c as usize + (id as usize - 1)),
                discard: !client_sends && req.skip_rx_copy,
                fixed_window: req.window.is_some(),
            },
        );
    }
    match read_message::<ServerMessage, _>(&mut rd, cap, hs)
        .await
        .map_err(control("waiting for the start"))?
    {
        ServerMessage::Start => {}
        ServerMessage::Failed { reason } | ServerMessage::Refused { reason } => {
            return Err(ClientError::Refused { server, reason });
        }
        other => return Err(unexpected(&other, "waiting for the start")),
    }
    drop(udp_hellos);
    let started_at = SystemTime::now();
    obs.on(Event::Started { streams: &streams });
    let probe_stop = Arc::new(AtomicBool::new(false));
    let loaded = probe_sock.clone().filter(|_| plan.latency).map(|sock| {
        let stop = probe_stop.clone();
        let plan = ProbePlan {
            count: None,
            duration: None,
            ..IDLE_PROBE
        };
        tokio::task::spawn_blocking(move || probe::udp(&sock, cookie, &plan, &stop))
    });

    let (ctl_tx, mut ctl_rx) = mpsc::unbounded_channel();
    // The server speaks at least at the end; a timed test cannot stay silent much longer than it lasts.
    let idle = match req.stop {
        StopAfter::Seconds(t) => Duration::from_secs_f64(req.omit_seconds + t) + 2 * GRACE,
        StopAfter::Bytes(_) => Duration::from_secs(6 * 3600),
    };
    let reader = tokio::spawn(async move {
        loop {
            let msg = read_message::<ServerMessage, _>(&mut rd, cap, idle).await;
            let last = msg.is_err();
            if ctl_tx.send(msg).is_err() || last {
                break;
            }
        }
    });
    let duration = match req.stop {
        StopAfter::Seconds(t) => Some(Duration::from_secs_f64(t)),
        StopAfter::Bytes(_) => None,
    };
    let omit = Duration::from_secs_f64(req.omit_seconds);
    let timing = Timing {
        omit,
        duration,
        interval: Duration::from_secs_f64(req.interval_seconds),
        hard_limit: duration.map(|d| omit + d + GRACE),
        // A UDP receiver hearing nothing is 100 % loss, which the test reports; only TCP can stall.
        stall_after: (req.protocol == Protocol::Tcp).then_some(STALL_AFTER),
    };
    let (iv_tx, mut iv_rx) = mpsc::unbounded_channel::<IntervalReport>();
    let (abort_tx, abort_rx) = oneshot::channel::<String>();
    let mut abort_tx = Some(abort_tx);
    let abort = async move {
        match abort_rx.await {
            Ok(reason) => reason,
            Err(_) => std::future::pending().await,
        }
    };
    let t0 = Instant::now();
    let driving = drive(local, timing, move |iv| drop(iv_tx.send(iv.clone())), abort);
    tokio::pin!(driving);
    let mut remote = None;
    let mut remote_intervals = Vec::new();
    let mut error: Option<String> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut on_control = |msg: Result<ServerMessage, FrameError>,
                          obs: &mut dyn Observer,
                          remote: &mut Option<SideResults>,
                          error: &mut Option<String>|
     -> bool {
        match msg {
            Ok(ServerMessage::Interval(iv)) => {
                obs.on(Event::Interval {
                    local: false,
                    report: &iv,
                });
                remote_intervals.push(iv);
                false
            }
            Ok(ServerMessage::Results(r)) => {
                *remote = Some(r);
                false
            }
            Ok(ServerMessage::Failed { reason }) => {
                *error = Some(format!("server {server} failed the test: {reason}"));
                true
            }
            Ok(other) => {
                *error = Some(format!("server {server} sent {} mid-test", describe(&other)));
                true
            }
            Err(_) if remote.is_some() => true,
            Err(FrameError::Closed) => {
                *error = Some(format!(
                    "server {server} closed the connection mid-test (killed or restarted?)"
                ));
                true
            }
            Err(e) => {
                *error = Some(format!("server {server}: control connection lost mid-test: {e}"));
                true
            }
        }
    };
    let mut control_done = false;
    tokio::pin!(interrupt);
    let mut interrupted = false;
    let run = loop {
        tokio::select! {
            run = &mut driving => break run,
            Some(iv) = iv_rx.recv() => obs.on(Event::Interval { local: true, report: &iv }),
            Some(msg) = ctl_rx.recv(), if !control_done => {
                if on_control(msg, obs, &mut remote, &mut error) {
                    control_done = true;
                    if let (Some(reason), Some(tx)) = (error.clone(), abort_tx.take()) {
                        let _ = tx.send(reason);
                    }
                }
            }
            _ = tick.tick() => obs.on(Event::Tick { elapsed: t0.elapsed() }),
            _ = &mut interrupt, if !interrupted => {
                interrupted = true;
                let reason = "interrupted by the user".to_string();
                error = Some(reason.clone());
                let _ = write_message(&mut wr, &ClientMessage::Abort { reason: reason.clone() }).await;
                if let Some(tx) = abort_tx.take() {
                    let _ = tx.send(reason);
                }
            }
        }
    };
    // Stop the loaded probe while the server still answers it.
    probe_stop.store(true, Ordering::Relaxed);
    // A stall ends the test early; probe the path now, while the server still answers.
    if run.aborted.as_deref().is_some_and(|a| a.starts_with(STALL)) {
        // Do not wait out the server's clock for results: the stall is the result.
        error = run.aborted.clone();
        // Probe again even if it ran first: the path may have changed (a link went down).
        if let Ok(sock) = probe_socket(server) {
            path.mtu_probe = Some(run_mtu_probe(Arc::new(sock), cookie, &path, server).await);
        }
        let _ = write_message(
            &mut wr,
            &ClientMessage::Abort {
                reason: "stalled".into(),
            },
        )
        .await;
    }

    while let Ok(iv) = iv_rx.try_recv() {
        obs.on(Event::Interval {
            local: true,
            report: &iv,
        });
    }
    if error.is_none() && run.aborted.is_none() {
        let _ = write_message(&mut wr, &ClientMessage::Done).await;
    }
    // Wait for the server's results; after an interrupt only briefly, to keep the receiver's tail.
    if remote.is_none() && !control_done {
        let patience = if error.is_some() { Duration::from_secs(2) } else { GRACE };
        let wait = tokio::time::sleep(patience);
        tokio::pin!(wait);
        let mut failure = None;
        while remote.is_none() && failure.is_none() {
            tokio::select! {
                _ = &mut wait => {
                    failure = Some(format!("server {server} sent no results within {} s of the end", patience.as_secs()));
                }
                msg = ctl_rx.recv() => match msg {
                    Some(msg) => { on_control(msg, obs, &mut remote, &mut failure); }
                    None => failure = Some(format!("server {server} closed the connection before its results")),
                },
                _ = tick.tick() => obs.on(Event::Tick { elapsed: t0.elapsed() }),
            }
        }
        if error.is_none() {
            error = failure;
        }
    }
    reader.abort();
    if error.is_none() {
        error = run.aborted.clone();
    }
    if error.is_none()
        && let Some(e) = run.results.streams.iter().find_map(|s| s.error.as_ref())
    {
        error = Some(format!("a data stream failed: {e}"));
    }
    if let Some(info) = streams.first().and_then(|s| s.tcp_now.as_ref()) {
        // The SYN's MSS option is the path MTU less the IP and TCP headers (8960 on a 9000 IPv4 path).
        let headers = if server.is_ipv6() { 60 } else { 40 };
        path.mss_advertised = (info.pmtu > headers).then(|| info.pmtu - headers);
        path.mss_effective = (info.snd_mss > 0).then_some(info.snd_mss);
    }
    path.diagnoses = diagnose(&path, &plan.target.host, server.port(), plan.expected_mbps);
    if let Some(reason) = run.aborted.as_deref().filter(|a| a.starts_with(STALL)) {
        path.diagnoses.push(Diagnosis {
            kind: "stall".into(),
            message: format!("the test {reason}"),
            advice: if path.diagnoses.is_empty() {
                "the MTU probe found no cause; check the firewall for TCP, and `saf-net mtu HOST`".into()
            } else {
                "see the diagnosis above".into()
            },
        });
    }
    let latency = match (idle_rtt, loaded) {
        (Some(idle), Some(loaded)) => loaded.await.ok().map(|loaded| UnderLoad { idle, loaded }),
        _ => None,
    };
    let first_socket = streams.first().map(|s| s.socket.clone());
    Ok(Outcome {
        request: req,
        client_cpu: plan.client_cpu,
        server,
        server_software,
        started_at,
        streams,
        local: SideRun {
            results: SideResults {
                socket: first_socket,
                ..run.results
            },
            ..run
        },
        remote_intervals,
        remote,
        error,
        latency,
        path,
    })
}

/// How long no byte may move before a test counts as stalled.
const STALL_AFTER: Duration = Duration::from_secs(3);

/// The path-MTU search on a blocking thread, bounded by the local interface MTU.
async fn run_mtu_probe(
    sock: Arc<std::net::UdpSocket>,
    cookie: Cookie,
    path: &PathReport,
    server: SocketAddr,
) -> MtuResult {
    let plan = MtuPlan::new(path.local.mtu, server.is_ipv6());
    tokio::task::spawn_blocking(move || mtu::probe(&sock, cookie, plan))
        .await
        .unwrap_or_default()
}

/// The idle probe before a --latency test: 100 UDP probes, 10 ms apart.
const IDLE_PROBE: ProbePlan = ProbePlan {
    count: Some(100),
    duration: Some(Duration::from_secs(2)),
    interval: Duration::from_millis(10),
    size: 64,
    timeout: Duration::from_secs(1),
};
