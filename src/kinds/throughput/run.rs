//! A throughput test on the client, phase by phase: admission (with the datagram size of a UDP test), the time
//! before the start (`prestart.rs`), the measured streams and the server's results (`measure.rs`), and the
//! outcome with what the path's facts mean.

use std::future::Future;
use std::net::{SocketAddr, UdpSocket};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use tokio::net::tcp::OwnedWriteHalf;
use tokio::task::JoinHandle;

use super::measure::{Measured, collect_results, measure};
use super::prestart::{Accepted, IDLE_PROBE, PreStart, Prepared, run_mtu_probe, until_start};
use super::{Outcome, UnderLoad};
use crate::client::{ClientError, ControlRx, Event, Observer, Session, StreamInfo, egress, open};
use crate::config::{ClientPlan, GRACE};
use crate::diagnose::{Diagnosis, PathReport, diagnose};
use crate::engine::probe::{self, ProbeOutcome, ProbePlan};
use crate::engine::{Abort, SideRun};
use crate::findings::{Finding, FindingKind, pair_subject};
use crate::kinds::udp;
use crate::platform;
use crate::protocol::{
    ClientMessage, Cookie, DEFAULT_MAX_FRAME, Protocol, ServerMessage, SideResults, StopAfter, TestRequest,
    spawn_reader, write_message,
};

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
    let mut test = Test::accepted(plan, req, session, obs).await?;
    match test.until_start(interrupt.as_mut()).await? {
        PreStart::Started(prepared) => test.measured(*prepared, obs, interrupt.as_mut()).await,
        PreStart::Ended { reason } => Ok(test.never_started(reason)),
    }
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

/// Aborts the task when dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A test the server accepted: its control connection, the probe socket, the path's facts so far, and the
/// outcome as far as it is known.
struct Test<'a> {
    plan: &'a ClientPlan,
    req: TestRequest,
    server: SocketAddr,
    cookie: Cookie,
    ctl_rx: ControlRx,
    wr: OwnedWriteHalf,
    /// Reads the control connection until the test is over.
    _reader: AbortOnDrop,
    /// The MTU check, --latency and a stall's second look all probe under the test's cookie.
    probe_sock: Arc<UdpSocket>,
    path: PathReport,
    /// The route leaves by another medium than the profile's.
    wrong_interface: Option<Diagnosis>,
    outcome: Outcome,
}

impl<'a> Test<'a> {
    /// Starts reading the control connection, opens the probe socket and looks up the route.
    async fn accepted(
        plan: &'a ClientPlan,
        req: TestRequest,
        session: Session,
        obs: &mut dyn Observer,
    ) -> Result<Test<'a>, ClientError> {
        let Session {
            server,
            server_software,
            cookie,
            server_facts,
            rd,
            wr,
        } = session;
        let (reader, ctl_rx) = spawn_reader::<ServerMessage, _>(rd, DEFAULT_MAX_FRAME, control_idle(&req));
        let _reader = AbortOnDrop(reader);
        let probe_sock = match probe::socket(server, plan.target.bind) {
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
        let outcome = Outcome {
            request: req.clone(),
            client_cpu: plan.client_cpu,
            server,
            server_software,
            cookie: cookie.hex(),
            peer: Default::default(),
            started_at: SystemTime::now(),
            streams: Vec::new(),
            local: not_run(),
            remote_intervals: Vec::new(),
            remote: None,
            error: None,
            latency: None,
            path: PathReport::default(),
        };
        Ok(Test {
            plan,
            req,
            server,
            cookie,
            ctl_rx,
            wr,
            _reader,
            probe_sock,
            path,
            wrong_interface,
            outcome,
        })
    }

    /// The MTU check, the idle probe and the data connections, until the server starts the test.
    async fn until_start<F: Future<Output = String>>(
        &mut self,
        interrupt: Pin<&mut F>,
    ) -> Result<PreStart, ClientError> {
        let accepted = Accepted {
            plan: self.plan,
            req: &self.req,
            server: self.server,
            cookie: self.cookie,
            probe_sock: Some(self.probe_sock.clone()),
        };
        until_start(&accepted, &mut self.path, &mut self.ctl_rx, &mut self.wr, interrupt).await
    }

    /// The outcome of a test that ended before its start (a shutdown, a signal): nothing was measured.
    fn never_started(mut self, reason: String) -> Outcome {
        // A probe cut short says nothing about the path.
        self.path.mtu_probe = None;
        self.outcome.error = Some(reason);
        self.outcome.path = self.path;
        self.outcome
    }

    /// Runs the streams beside the server's, collects its results, and draws the outcome.
    async fn measured<F: Future<Output = String>>(
        mut self,
        prepared: Prepared,
        obs: &mut dyn Observer,
        interrupt: Pin<&mut F>,
    ) -> Result<Outcome, ClientError> {
        let Prepared {
            local,
            streams,
            idle_rtt,
            udp_hellos,
        } = prepared;
        drop(udp_hellos);
        self.outcome.started_at = SystemTime::now();
        obs.on(Event::Started { streams: &streams });
        let loaded = Loaded::spawn(self.plan.latency.then(|| self.probe_sock.clone()), self.cookie);
        let mut m = measure(
            &self.req,
            self.server,
            local,
            &mut self.ctl_rx,
            &mut self.wr,
            obs,
            interrupt,
        )
        .await;
        // Stop the loaded probe while the server still answers it.
        loaded.stop.store(true, Ordering::Relaxed);
        if let Some(stall @ Abort::Stalled(_)) = &m.run.aborted {
            m.control.fail(stall.to_string());
            self.stalled().await;
        }
        collect_results(&mut m, &mut self.ctl_rx, &mut self.wr, obs).await;
        self.outcome.latency = loaded.finish(idle_rtt).await;
        let mut o = finish(self.plan, self.outcome, streams, self.path, m)?;
        // Measuring the wrong link explains everything after it, so it comes first.
        if let Some(w) = self.wrong_interface {
            o.path.diagnoses.insert(0, w);
        }
        Ok(o)
    }

    /// The stall is the result: do not wait out the server's clock. Probe again: the path may have changed.
    async fn stalled(&mut self) {
        let again = Arc::new(AtomicBool::new(false));
        let probe = run_mtu_probe(self.probe_sock.clone(), self.cookie, &self.path, self.server, again).await;
        self.path.mtu_probe = Some(probe);
        let abort = ClientMessage::Abort {
            reason: "stalled".into(),
        };
        let _ = write_message(&mut self.wr, &abort).await;
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
    fn spawn(sock: Option<Arc<UdpSocket>>, cookie: Cookie) -> Loaded {
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

/// The outcome: our side, the server's, the path's facts and what they mean.
fn finish(
    plan: &ClientPlan,
    mut o: Outcome,
    streams: Vec<StreamInfo>,
    mut path: PathReport,
    m: Measured,
) -> Result<Outcome, ClientError> {
    let Measured { run, control, .. } = m;
    let mut error = control.error.or_else(|| run.aborted.as_ref().map(ToString::to_string));
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
    if let Some(stall @ Abort::Stalled(_)) = &run.aborted {
        let fix = if path.diagnoses.is_empty() {
            "the MTU probe found no cause; check the firewall for TCP, and `saf-net mtu HOST`"
        } else {
            "see the diagnosis above"
        };
        let subject = pair_subject("this host", &plan.target.host);
        let stalled = Finding::new(FindingKind::Stall, subject, format!("the test {stall}"), fix.into());
        path.diagnoses.push(Diagnosis::from(stalled));
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
