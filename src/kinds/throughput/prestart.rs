//! From acceptance to the start: the MTU check, the idle RTT probe and the data connections, while the
//! server (shutting down) and the user (a signal) can still end the test.

use std::future::Future;
use std::net::{SocketAddr, UdpSocket};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;

use crate::client::{ClientError, ControlRx, StreamInfo, control_error, describe};
use crate::config::ClientPlan;
use crate::diagnose::PathReport;
use crate::engine::mtu::{self, MtuPlan, MtuResult};
use crate::engine::probe::{self, ProbeOutcome, ProbePlan};
use crate::engine::{LocalStreams, StreamSpec, sockets};
use crate::kinds::udp::{self, Hellos};
use crate::net;
use crate::platform;
use crate::protocol::{
    ClientMessage, Cookie, FrameError, Protocol, SHUTTING_DOWN, ServerMessage, TestRequest, encode, write_message,
};

/// The idle probe before a --latency test: 100 UDP probes, 10 ms apart.
pub(super) const IDLE_PROBE: ProbePlan = ProbePlan {
    count: Some(100),
    duration: Some(Duration::from_secs(2)),
    interval: Duration::from_millis(10),
    size: 64,
    timeout: Duration::from_secs(1),
    busy_poll: Duration::ZERO,
};

/// How long a failed data connection waits for the server to say it is shutting down.
const SHUTDOWN_WORD: Duration = Duration::from_secs(1);

/// What the time before the start set up.
#[derive(Default)]
pub(super) struct Prepared {
    pub local: LocalStreams,
    pub streams: Vec<StreamInfo>,
    pub idle_rtt: Option<ProbeOutcome>,
    pub udp_hellos: Option<Hellos>,
}

/// How the time before the start ended.
pub(super) enum PreStart {
    Started(Box<Prepared>),
    /// The server shut down, or a signal stopped the client: nothing was measured.
    Ended {
        reason: String,
    },
}

/// The accepted test, as the time before the start sees it.
pub(super) struct Accepted<'a> {
    pub plan: &'a ClientPlan,
    pub req: &'a TestRequest,
    pub server: SocketAddr,
    pub cookie: Cookie,
    pub probe_sock: Option<Arc<UdpSocket>>,
}

/// Prepares the test until the server's start; a shutdown or a signal ends it early.
pub(super) async fn until_start<F: Future<Output = String>>(
    test: &Accepted<'_>,
    path: &mut PathReport,
    ctl_rx: &mut ControlRx,
    wr: &mut OwnedWriteHalf,
    mut interrupt: Pin<&mut F>,
) -> Result<PreStart, ClientError> {
    let stop = Arc::new(AtomicBool::new(false));
    // Blocking probe threads stop soon after the test ends, however it ends.
    let _stop_probes = StopOnDrop(stop.clone());
    let preparing = prepare(test, path, &stop);
    tokio::pin!(preparing);
    let mut prepared = None;
    let mut started = false;
    let start_wait = tokio::time::sleep(Duration::MAX);
    tokio::pin!(start_wait);
    loop {
        if started && let Some(p) = prepared.take() {
            return Ok(PreStart::Started(Box::new(p)));
        }
        tokio::select! {
            biased;
            msg = ctl_rx.recv(), if !started => match before_start(test.server, msg)? {
                Some(reason) => return Ok(PreStart::Ended { reason }),
                None => started = true,
            },
            reason = &mut interrupt => {
                let _ = write_message(wr, &ClientMessage::Abort { reason: reason.clone() }).await;
                return Ok(PreStart::Ended { reason });
            }
            p = &mut preparing, if prepared.is_none() => match p {
                Ok(p) => {
                    prepared = Some(p);
                    let hs = test.plan.target.handshake_timeout;
                    start_wait.as_mut().reset(tokio::time::Instant::now() + hs);
                }
                Err(e) => return shutdown_or(e, test.server, ctl_rx).await,
            },
            _ = &mut start_wait => {
                let hs = test.plan.target.handshake_timeout;
                return Err(control_error(test.server, "waiting for the start", FrameError::Timeout(hs)));
            }
        }
    }
}

/// A control message before the start: None for the start, Some(reason) for a shutdown, else an error.
fn before_start(
    server: SocketAddr,
    msg: Option<Result<ServerMessage, FrameError>>,
) -> Result<Option<String>, ClientError> {
    match msg {
        Some(Ok(ServerMessage::Start)) => Ok(None),
        Some(Ok(ServerMessage::Failed { reason })) if reason == SHUTTING_DOWN => {
            Ok(Some(format!("server {server} failed the test: {reason}")))
        }
        Some(Ok(ServerMessage::Failed { reason } | ServerMessage::Refused { reason })) => {
            Err(ClientError::Refused { server, reason })
        }
        Some(Ok(other)) => Err(ClientError::Unexpected {
            server,
            got: describe(&other),
            context: "waiting for the start",
        }),
        Some(Err(cause)) => Err(control_error(server, "waiting for the start", cause)),
        None => Err(control_error(server, "waiting for the start", FrameError::Closed)),
    }
}

/// A failed step before the start: if the server is shutting down (its listener closed first), that is the
/// reason; otherwise the step's own error.
async fn shutdown_or(e: ClientError, server: SocketAddr, ctl_rx: &mut ControlRx) -> Result<PreStart, ClientError> {
    match tokio::time::timeout(SHUTDOWN_WORD, ctl_rx.recv()).await {
        Ok(msg @ Some(Ok(ServerMessage::Failed { .. }))) => match before_start(server, msg) {
            Ok(Some(reason)) => Ok(PreStart::Ended { reason }),
            _ => Err(e),
        },
        _ => Err(e),
    }
}

/// The MTU check, the idle probe and the data connections (or UDP sockets), in that order.
async fn prepare(test: &Accepted<'_>, path: &mut PathReport, stop: &Arc<AtomicBool>) -> Result<Prepared, ClientError> {
    let (plan, req, server, cookie) = (test.plan, test.req, test.server, test.cookie);
    if plan.mtu_check
        && let Some(sock) = &test.probe_sock
    {
        path.mtu_probe = Some(run_mtu_probe(sock.clone(), cookie, path, server, stop.clone()).await);
    }
    let mut prepared = Prepared {
        idle_rtt: idle_probe(test, stop).await?,
        ..Prepared::default()
    };
    if req.protocol == Protocol::Udp {
        let hellos = udp::open_streams(server, cookie, req, plan, &mut prepared.local, &mut prepared.streams)?;
        prepared.udp_hellos = Some(hellos);
        return Ok(prepared);
    }
    for id in 1..=req.connections() {
        connect_stream(test, id, &mut prepared).await?;
    }
    Ok(prepared)
}

/// RTT before any stream moves data (--latency).
async fn idle_probe(test: &Accepted<'_>, stop: &Arc<AtomicBool>) -> Result<Option<ProbeOutcome>, ClientError> {
    let Some(sock) = test.probe_sock.clone().filter(|_| test.plan.latency) else {
        return Ok(None);
    };
    let (cookie, stop) = (test.cookie, stop.clone());
    let idle = tokio::task::spawn_blocking(move || probe::udp(&sock, cookie, &IDLE_PROBE, &stop));
    idle.await.map(Some).map_err(|e| ClientError::Refused {
        server: test.server,
        reason: format!("idle probe failed: {e}"),
    })
}

/// Opens data connection `id`, says which test it belongs to, and hands it to the engine.
async fn connect_stream(test: &Accepted<'_>, id: u32, prepared: &mut Prepared) -> Result<(), ClientError> {
    let (req, server) = (test.req, test.server);
    let client_sends = req.client_sends(id);
    let prepare = |sock: &tokio::net::TcpSocket| sockets::prepare(sock, req, client_sends);
    let mut s = net::connect_one(server, test.plan.target.connect_timeout, test.plan.target.bind, prepare).await?;
    let data_err = |cause| ClientError::Data {
        server,
        stream: id,
        cause,
    };
    s.write_all(&encode(&ClientMessage::Data {
        cookie: test.cookie,
        stream: id,
    }))
    .await
    .map_err(data_err)?;
    let s = s.into_std().map_err(data_err)?;
    sockets::finish(&s, req, client_sends).map_err(data_err)?;
    prepared.streams.push(StreamInfo {
        id,
        client_sends,
        local: s.local_addr().map_err(data_err)?,
        remote: server,
        socket: sockets::report(&s),
        tcp_now: platform::tcp_info(&s),
    });
    let quota = if client_sends { req.quota(id) } else { None };
    prepared.local.add(
        s,
        StreamSpec {
            id,
            sender: client_sends,
            quota,
            block_size: req.block_size as usize,
            pace_bps: if client_sends { req.bitrate } else { None },
            idle_timeout: None,
            cpu: test.plan.client_cpu.map(|c| c as usize + (id as usize - 1)),
            discard: !client_sends && req.skip_rx_copy,
            fixed_window: req.window.is_some(),
        },
    );
    Ok(())
}

/// The path-MTU search on a blocking thread, bounded by the local interface MTU; ends early on `stop`.
pub(super) async fn run_mtu_probe(
    sock: Arc<UdpSocket>,
    cookie: Cookie,
    path: &PathReport,
    server: SocketAddr,
    stop: Arc<AtomicBool>,
) -> MtuResult {
    let plan = MtuPlan::new(path.local.mtu, server.is_ipv6());
    tokio::task::spawn_blocking(move || mtu::probe_until(&sock, cookie, plan, &stop))
        .await
        .unwrap_or_default()
}

/// Sets the flag when dropped.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
