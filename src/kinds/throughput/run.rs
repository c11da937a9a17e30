//! A throughput test on the client: admission, the time before the start (`prestart.rs`), our side's streams
//! beside the server's intervals, its results, and the outcome.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::prestart::{Accepted, IDLE_PROBE, PreStart, Prepared, run_mtu_probe, until_start};
use super::{Outcome, UnderLoad};
use crate::client::{ClientError, ControlRx, Event, Observer, Session, StreamInfo, describe, egress, open};
use crate::config::{ClientPlan, GRACE};
use crate::diagnose::{Diagnosis, PathReport, diagnose};
use crate::engine::probe::{self, ProbeOutcome, ProbePlan};
use crate::engine::{LocalStreams, STALL, SideRun, Timing, drive};
use crate::kinds::udp;
use crate::platform;
use crate::protocol::{
    ClientMessage, DEFAULT_MAX_FRAME, FrameError, IntervalReport, Protocol, ServerMessage, SideResults, StopAfter,
    TestRequest, read_message, write_message,
};

/// How long no byte may move before a test counts as stalled.
const STALL_AFTER: Duration = Duration::from_secs(3);

/// Runs one test as planned, reporting progress to `obs`. Errors mean nothing was measured.
pub async fn run(plan: &ClientPlan, obs: &mut dyn Observer) -> Result<Outcome, ClientError> {
    run_until(plan, obs, std::future::pending()).await
}

/// Like [`run`], but stops early when `interrupt` resolves with its reason (a signal): with a partial,
/// incomplete outcome once the server accepted the test, with [`ClientError::Interrupted`] before.
pub async fn run_until(
    plan: &ClientPlan,
    obs: &mut dyn Observer,
    interrupt: impl Future<Output = String>,
) -> Result<Outcome, ClientError> {
    tokio::pin!(interrupt);
    let mut req = plan.request.clone();
    let session = tokio::select! {
        s = admit(plan, &mut req, obs) => s?,
        reason = &mut interrupt => return Err(ClientError::Interrupted { reason }),
    };
    let Session {
        server,
        server_software,
        cookie,
        server_facts,
        rd,
        mut wr,
    } = session;
    let (reader, mut ctl_rx) = spawn_reader(rd, control_idle(&req));
    let _reader = AbortOnDrop(reader);
    // Always: the MTU check, --latency and a stall's second look all probe under this cookie.
    let probe_sock = match probe::socket(server) {
        Ok(sock) => Arc::new(sock),
        Err(e) => {
            let reason = format!("UDP probe: {e}");
            return Err(ClientError::Refused { server, reason });
        }
    };
    let mut path = PathReport {
        local: platform::facts_towards(server.ip()),
        remote: server_facts,
        ..PathReport::default()
    };
    let wrong_interface = egress(server, plan.expected_medium, &mut path, obs).await;
    let accepted = Accepted {
        plan,
        req: &req,
        server,
        cookie,
        probe_sock: Some(probe_sock.clone()),
    };
    let mut outcome = Outcome {
        request: req.clone(),
        client_cpu: plan.client_cpu,
        server,
        server_software,
        started_at: SystemTime::now(),
        streams: Vec::new(),
        local: not_run(),
        remote_intervals: Vec::new(),
        remote: None,
        error: None,
        latency: None,
        path: PathReport::default(),
    };
    let prepared = match until_start(&accepted, &mut path, &mut ctl_rx, &mut wr, interrupt.as_mut()).await? {
        PreStart::Started(p) => p,
        PreStart::Ended { reason } => {
            // Nothing was measured; a probe cut short says nothing about the path.
            path.mtu_probe = None;
            outcome.error = Some(reason);
            outcome.path = path;
            return Ok(outcome);
        }
    };
    let Prepared {
        local,
        streams,
        idle_rtt,
        udp_hellos,
    } = *prepared;
    drop(udp_hellos);
    outcome.started_at = SystemTime::now();
    obs.on(Event::Started { streams: &streams });
    let loaded = Loaded::spawn(plan.latency.then(|| probe_sock.clone()), cookie);
    let mut m = measure(&req, server, local, &mut ctl_rx, &mut wr, obs, interrupt.as_mut()).await;
    // Stop the loaded probe while the server still answers it.
    loaded.stop.store(true, Ordering::Relaxed);
    if m.run.aborted.as_deref().is_some_and(|a| a.starts_with(STALL)) {
        // The stall is the result: do not wait out the server's clock. Probe again: the path may have changed.
        m.control.fail(m.run.aborted.clone().unwrap_or_default());
        let again = Arc::new(AtomicBool::new(false));
        path.mtu_probe = Some(run_mtu_probe(probe_sock, cookie, &path, server, again).await);
        let _ = write_message(
            &mut wr,
            &ClientMessage::Abort {
                reason: "stalled".into(),
            },
        )
        .await;
    }
    collect_results(&mut m, &mut ctl_rx, &mut wr, obs).await;
    outcome.latency = loaded.finish(idle_rtt).await;
    let mut o = finish(plan, outcome, streams, path, m)?;
    // Measuring the wrong link explains everything after it, so it comes first.
    if let Some(w) = wrong_interface {
        o.path.diagnoses.insert(0, w);
    }
    Ok(o)
}

/// The datagram size (UDP), then hello, request and queue until the server accepts.
async fn admit(plan: &ClientPlan, req: &mut TestRequest, obs: &mut dyn Observer) -> Result<Session, ClientError> {
    if req.protocol == Protocol::Udp {
        req.block_size = udp::datagram_size(plan).await?;
    }
    open(&plan.target, ClientMessage::Test(req.clone()), obs).await
}

/// The longest the server may stay silent: a timed test cannot stay silent much longer than it lasts.
fn control_idle(req: &TestRequest) -> Duration {
    match req.stop {
        StopAfter::Seconds(t) => Duration::from_secs_f64(req.omit_seconds + t) + 2 * GRACE,
        StopAfter::Bytes(_) => Duration::from_secs(6 * 3600),
    }
}

/// Control messages read by a task from acceptance on, so no read is cancelled halfway through a frame.
fn spawn_reader(mut rd: OwnedReadHalf, idle: Duration) -> (JoinHandle<()>, ControlRx) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        loop {
            let msg = read_message::<ServerMessage, _>(&mut rd, DEFAULT_MAX_FRAME, idle).await;
            let last = msg.is_err();
            if tx.send(msg).is_err() || last {
                break;
            }
        }
    });
    (task, rx)
}

/// Aborts the task when dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Our side of a test that never started.
fn not_run() -> SideRun {
    SideRun {
        results: SideResults {
            streams: Vec::new(),
            socket: None,
            cpu: Default::default(),
            complete: false,
        },
        intervals: Vec::new(),
        aborted: None,
    }
}

/// The UDP RTT probe beside the running test (--latency).
struct Loaded {
    stop: Arc<AtomicBool>,
    task: Option<JoinHandle<ProbeOutcome>>,
}

impl Loaded {
    fn spawn(sock: Option<Arc<std::net::UdpSocket>>, cookie: crate::protocol::Cookie) -> Loaded {
        let stop = Arc::new(AtomicBool::new(false));
        let task = sock.map(|sock| {
            let stop = stop.clone();
            let plan = ProbePlan {
                count: None,
                duration: None,
                ..IDLE_PROBE
            };
            tokio::task::spawn_blocking(move || probe::udp(&sock, cookie, &plan, &stop))
        });
        Loaded { stop, task }
    }

    /// Both probes, once the loaded one has ended.
    async fn finish(self, idle: Option<ProbeOutcome>) -> Option<UnderLoad> {
        self.stop.store(true, Ordering::Relaxed);
        match (idle, self.task) {
            (Some(idle), Some(task)) => task.await.ok().map(|loaded| UnderLoad { idle, loaded }),
            _ => None,
        }
    }
}

/// What the server said during the test.
struct Control {
    server: SocketAddr,
    remote: Option<SideResults>,
    intervals: Vec<IntervalReport>,
    /// The first reason the test is incomplete.
    error: Option<String>,
}

/// What a control message means for the running test.
enum Flow {
    Go,
    /// End our streams, but keep reading: results may follow.
    Abort,
    /// Nothing more will come.
    Stop,
}

impl Control {
    fn fail(&mut self, reason: String) {
        self.error.get_or_insert(reason);
    }

    fn on(&mut self, msg: Result<ServerMessage, FrameError>, obs: &mut dyn Observer) -> Flow {
        let server = self.server;
        match msg {
            Ok(ServerMessage::Interval(iv)) => {
                obs.on(Event::Interval {
                    local: false,
                    report: &iv,
                });
                self.intervals.push(iv);
                Flow::Go
            }
            Ok(ServerMessage::Results(r)) => {
                self.remote = Some(r);
                Flow::Go
            }
            Ok(ServerMessage::Failed { reason }) => {
                self.fail(format!("server {server} failed the test: {reason}"));
                Flow::Abort
            }
            Ok(other) => {
                self.fail(format!("server {server} sent {} mid-test", describe(&other)));
                Flow::Stop
            }
            Err(_) if self.remote.is_some() => Flow::Stop,
            Err(FrameError::Closed) => {
                self.fail(format!(
                    "server {server} closed the connection mid-test (killed or restarted?)"
                ));
                Flow::Stop
            }
            Err(e) => {
                self.fail(format!("server {server}: control connection lost mid-test: {e}"));
                Flow::Stop
            }
        }
    }
}

/// The measured part of a test, as far as it went.
struct Measured {
    run: SideRun,
    control: Control,
    control_done: bool,
    t0: Instant,
    tick: tokio::time::Interval,
}

/// Runs our streams beside the server's reports until the clock, the server or a signal ends them.
async fn measure<F: Future<Output = String>>(
    req: &TestRequest,
    server: SocketAddr,
    local: LocalStreams,
    ctl_rx: &mut ControlRx,
    wr: &mut OwnedWriteHalf,
    obs: &mut dyn Observer,
    mut interrupt: Pin<&mut F>,
) -> Measured {
    let (iv_tx, mut iv_rx) = mpsc::unbounded_channel::<IntervalReport>();
    let (abort_tx, abort_rx) = oneshot::channel::<String>();
    let mut abort_tx = Some(abort_tx);
    let mut abort = |reason: Option<String>| {
        if let Some(reason) = reason
            && let Some(tx) = abort_tx.take()
        {
            let _ = tx.send(reason);
        }
    };
    let aborted = async move {
        match abort_rx.await {
            Ok(reason) => reason,
            Err(_) => std::future::pending().await,
        }
    };
    let t0 = Instant::now();
    let driving = drive(local, timing(req), move |iv| drop(iv_tx.send(iv.clone())), aborted);
    tokio::pin!(driving);
    let mut control = Control {
        server,
        remote: None,
        intervals: Vec::new(),
        error: None,
    };
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let (mut control_done, mut interrupted) = (false, false);
    let run = loop {
        tokio::select! {
            run = &mut driving => break run,
            Some(iv) = iv_rx.recv() => obs.on(Event::Interval { local: true, report: &iv }),
            Some(msg) = ctl_rx.recv(), if !control_done => match control.on(msg, obs) {
                Flow::Go => {}
                Flow::Abort => abort(control.error.clone()),
                Flow::Stop => {
                    control_done = true;
                    abort(control.error.clone());
                }
            },
            _ = tick.tick() => obs.on(Event::Tick { elapsed: t0.elapsed() }),
            reason = &mut interrupt, if !interrupted => {
                interrupted = true;
                control.fail(reason.clone());
                let _ = write_message(wr, &ClientMessage::Abort { reason: reason.clone() }).await;
                abort(Some(reason));
            }
        }
    };
    while let Ok(iv) = iv_rx.try_recv() {
        obs.on(Event::Interval {
            local: true,
            report: &iv,
        });
    }
    Measured {
        run,
        control,
        control_done,
        t0,
        tick,
    }
}

/// Our side's clock for the request.
fn timing(req: &TestRequest) -> Timing {
    let duration = match req.stop {
        StopAfter::Seconds(t) => Some(Duration::from_secs_f64(t)),
        StopAfter::Bytes(_) => None,
    };
    let omit = Duration::from_secs_f64(req.omit_seconds);
    Timing {
        omit,
        duration,
        interval: Duration::from_secs_f64(req.interval_seconds),
        hard_limit: duration.map(|d| omit + d + GRACE),
        // A UDP receiver hearing nothing is 100 % loss, which the test reports; only TCP can stall.
        stall_after: (req.protocol == Protocol::Tcp).then_some(STALL_AFTER),
    }
}

/// Says `done` after a clean run, then waits for the server's results; after an error only briefly.
async fn collect_results(m: &mut Measured, ctl_rx: &mut ControlRx, wr: &mut OwnedWriteHalf, obs: &mut dyn Observer) {
    if m.control.error.is_none() && m.run.aborted.is_none() {
        let _ = write_message(wr, &ClientMessage::Done).await;
    }
    if m.control.remote.is_some() || m.control_done {
        return;
    }
    let server = m.control.server;
    let patience = if m.control.error.is_some() {
        Duration::from_secs(2)
    } else {
        GRACE
    };
    let wait = tokio::time::sleep(patience);
    tokio::pin!(wait);
    while m.control.remote.is_none() {
        tokio::select! {
            _ = &mut wait => {
                m.control.fail(format!("server {server} sent no results within {} s of the end", patience.as_secs()));
                return;
            }
            msg = ctl_rx.recv() => match msg {
                Some(msg) => {
                    if let Flow::Stop = m.control.on(msg, obs) {
                        return;
                    }
                }
                None => {
                    m.control.fail(format!("server {server} closed the connection before its results"));
                    return;
                }
            },
            _ = m.tick.tick() => obs.on(Event::Tick { elapsed: m.t0.elapsed() }),
        }
    }
}

/// The outcome: our side, the server's, the path's facts and what they mean.
fn finish(
    plan: &ClientPlan,
    mut o: Outcome,
    streams: Vec<StreamInfo>,
    mut path: PathReport,
    m: Measured,
) -> Result<Outcome, ClientError> {
    let Measured { run, control, .. } = m;
    let mut error = control.error.or_else(|| run.aborted.clone());
    if error.is_none()
        && let Some(e) = run.results.streams.iter().find_map(|s| s.error.as_ref())
    {
        error = Some(format!("a data stream failed: {e}"));
    }
    if let Some(info) = streams.first().and_then(|s| s.tcp_now.as_ref()) {
        // The SYN's MSS option is the path MTU less the IP and TCP headers (8960 on a 9000 IPv4 path).
        let headers = if o.server.is_ipv6() { 60 } else { 40 };
        path.mss_advertised = (info.pmtu > headers).then(|| info.pmtu - headers);
        path.mss_effective = (info.snd_mss > 0).then_some(info.snd_mss);
    }
    path.diagnoses = diagnose(&path, &plan.target.host, o.server.port(), plan.expected_mbps);
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
    let first_socket = streams.first().map(|s| s.socket.clone());
    o.local = SideRun {
        results: SideResults {
            socket: first_socket,
            ..run.results
        },
        ..run
    };
    o.streams = streams;
    o.remote_intervals = control.intervals;
    o.remote = control.remote;
    o.error = error;
    o.path = path;
    Ok(o)
}
