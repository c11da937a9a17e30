//! The client: connect, handshake, queue, open data connections, run our side, gather the server's.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};

use crate::config::{ClientPlan, GRACE};
use crate::engine::{LocalStreams, SideRun, StreamSpec, Timing, drive, sockets};
use crate::net::{self, NetError};
use crate::protocol::{
    ClientMessage, DEFAULT_MAX_FRAME, FrameError, IntervalReport, PROTOCOL_VERSION, ServerMessage, SideResults,
    SocketReport, StopAfter, TestRequest, encode, read_message, write_message,
};

/// Why a test could not start. Nothing was measured.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("server {server} refused the test: {reason}")]
    Refused { server: SocketAddr, reason: String },
    #[error("{reason}")]
    VersionMismatch { reason: String },
    #[error("server {server}: {context}: {source}")]
    Control {
        server: SocketAddr,
        context: &'static str,
        source: FrameError,
    },
    #[error("server {server} sent {got} while {context}; is this a saf-net server of the same release?")]
    Unexpected {
        server: SocketAddr,
        got: String,
        context: &'static str,
    },
    #[error("data connection {stream} to {server} failed: {source}")]
    Data {
        server: SocketAddr,
        stream: u32,
        source: std::io::Error,
    },
}

/// One data connection, as opened by the client.
#[derive(Debug, Clone)]
pub struct StreamInfo {
    pub id: u32,
    /// True when the client sends on this stream.
    pub client_sends: bool,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// Socket options as the kernel applied them.
    pub socket: SocketReport,
}

/// What the client sees while a test runs.
#[derive(Debug)]
pub enum Event<'a> {
    Connected {
        server: SocketAddr,
    },
    Queued {
        position: u32,
    },
    Started {
        streams: &'a [StreamInfo],
    },
    /// A closed interval; `local` says whether the client measured it or the server sent it.
    Interval {
        local: bool,
        report: &'a IntervalReport,
    },
    /// A clock tick for progress displays.
    Tick {
        elapsed: Duration,
    },
}

/// Receives events as they happen.
pub trait Observer: Send {
    fn on(&mut self, event: Event<'_>);
}

impl<F: FnMut(Event<'_>) + Send> Observer for F {
    fn on(&mut self, event: Event<'_>) {
        self(event)
    }
}

/// Everything measured in one test, on both sides; partial when `error` is set.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub request: TestRequest,
    pub server: SocketAddr,
    pub server_software: String,
    pub started_at: SystemTime,
    pub streams: Vec<StreamInfo>,
    pub local: SideRun,
    pub remote_intervals: Vec<IntervalReport>,
    pub remote: Option<SideResults>,
    /// Why the test is incomplete, if it is.
    pub error: Option<String>,
}

impl Outcome {
    pub fn complete(&self) -> bool {
        self.error.is_none() && self.local.results.complete && self.remote.as_ref().is_some_and(|r| r.complete)
    }
}

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
    let addrs = match plan.addr {
        Some(a) => vec![a],
        None => net::resolve(&plan.host, plan.port, plan.family).await?,
    };
    let (sock, server) = net::connect_any(&addrs, plan.connect_timeout).await?;
    obs.on(Event::Connected { server });
    // Control messages are small and latency-bound: Nagle would hold each behind a delayed ACK.
    let _ = sock.set_nodelay(true);
    let (mut rd, mut wr) = sock.into_split();
    let hs = plan.handshake_timeout;
    let cap = DEFAULT_MAX_FRAME;
    let control = |context: &'static str| {
        move |source| ClientError::Control {
            server,
            context,
            source,
        }
    };
    let unexpected = |got: &ServerMessage, context: &'static str| ClientError::Unexpected {
        server,
        got: describe(got),
        context,
    };

    let hello = ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        software: env!("CARGO_PKG_VERSION").into(),
    };
    write_message(&mut wr, &hello).await.map_err(control("sending hello"))?;
    let server_software = match read_message::<ServerMessage, _>(&mut rd, cap, hs)
        .await
        .map_err(control("waiting for the server's hello"))?
    {
        ServerMessage::Welcome { protocol, software } if protocol == PROTOCOL_VERSION => software,
        ServerMessage::Welcome { protocol, software } => {
            return Err(ClientError::VersionMismatch {
                reason: format!(
                    "protocol version mismatch: this client speaks saf-net protocol {PROTOCOL_VERSION} (saf-net {}), \
                     the server speaks protocol {protocol} (saf-net {software}); run the same saf-net release on both hosts",
                    env!("CARGO_PKG_VERSION")
                ),
            });
        }
        ServerMessage::Refused { reason } if reason.starts_with("protocol version mismatch") => {
            return Err(ClientError::VersionMismatch { reason });
        }
        ServerMessage::Refused { reason } => return Err(ClientError::Refused { server, reason }),
        other => return Err(unexpected(&other, "waiting for its hello")),
    };

    let req = plan.request.clone();
    write_message(&mut wr, &ClientMessage::Test(req.clone()))
        .await
        .map_err(control("sending the test request"))?;
    let cookie = loop {
        match read_message::<ServerMessage, _>(&mut rd, cap, hs)
            .await
            .map_err(control("waiting for a test slot"))?
        {
            ServerMessage::Queued { position } => obs.on(Event::Queued { position }),
            ServerMessage::Accepted { cookie } => break cookie,
            ServerMessage::Refused { reason } | ServerMessage::Failed { reason } => {
                return Err(ClientError::Refused { server, reason });
            }
            other => return Err(unexpected(&other, "waiting for a test slot")),
        }
    };

    let mut local = LocalStreams::default();
    let mut streams = Vec::new();
    for id in 1..=req.connections() {
        let client_sends = req.client_sends(id);
        let prepare = |sock: &tokio::net::TcpSocket| sockets::prepare(sock, &req, client_sends);
        let mut s = net::connect_one(server, plan.connect_timeout, prepare).await?;
        let data_err = |source| ClientError::Data {
            server,
            stream: id,
            source,
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
    let started_at = SystemTime::now();
    obs.on(Event::Started { streams: &streams });

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
    let first_socket = streams.first().map(|s| s.socket.clone());
    Ok(Outcome {
        request: req,
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
    })
}

fn describe(msg: &ServerMessage) -> String {
    let kind = match msg {
        ServerMessage::Welcome { .. } => "a hello",
        ServerMessage::Refused { .. } => "a refusal",
        ServerMessage::Queued { .. } => "a queue position",
        ServerMessage::Accepted { .. } => "an acceptance",
        ServerMessage::Start => "a start",
        ServerMessage::Interval(_) => "an interval report",
        ServerMessage::Results(_) => "results",
        ServerMessage::Failed { .. } => "a failure",
    };
    kind.to_string()
}
