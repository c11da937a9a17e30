//! An iperf3 test on the client, phase by phase: the control connection and the parameters, the data streams,
//! the measured streams, the results exchange, and the outcome with what the path's facts mean.

use std::future::Future;
use std::net::SocketAddr;
use std::time::SystemTime;

use super::control::Control;
use super::exchange::{exchange, server_side};
use super::measure::{Measured, measure};
use super::streams::{self, Opened};
use crate::client::{ClientError, Event, Observer, StreamInfo, egress};
use crate::config::ClientPlan;
use crate::diagnose::{Diagnosis, PathReport, diagnose};
use crate::kinds::throughput::{Outcome, Peer};
use crate::kinds::udp;
use crate::platform;
use crate::protocol::iperf3::{Cookie, Params, Results, State};
use crate::protocol::{Direction, Protocol, StopAfter, TestRequest};

/// Runs one test against an iperf3 server as planned. Errors mean nothing was measured.
pub async fn run(plan: &ClientPlan, obs: &mut dyn Observer) -> Result<Outcome, ClientError> {
    run_until(plan, obs, std::future::pending()).await
}

/// Like [`run`], but stops early when `interrupt` resolves: with [`ClientError::Interrupted`] before the streams
/// run, with a partial, incomplete outcome after.
pub async fn run_until(
    plan: &ClientPlan,
    obs: &mut dyn Observer,
    interrupt: impl Future<Output = String>,
) -> Result<Outcome, ClientError> {
    tokio::pin!(interrupt);
    let mut req = plan.request.clone();
    let cookie = Cookie::random().map_err(|e| ClientError::Udp(format!("cannot make a cookie: {e}")))?;
    let started = tokio::select! {
        s = start(plan, &mut req, &cookie, obs) => s?,
        reason = &mut interrupt => return Err(ClientError::Interrupted { reason }),
    };
    let Started {
        mut ctl,
        opened,
        path,
        wrong_interface,
    } = started;
    let started_at = SystemTime::now();
    obs.on(Event::Started {
        streams: &opened.streams,
    });
    let m = measure(&req, &mut ctl, opened.local, obs, interrupt.as_mut()).await;
    let remote = if m.ended && m.error.is_none() {
        Some(exchange(&mut ctl, &m, &req, &opened.streams).await)
    } else {
        None
    };
    let ended = Ended {
        cookie: cookie.as_str().to_string(),
        server: ctl.server,
        started_at,
        streams: opened.streams,
        path,
        wrong_interface,
        m,
        remote,
    };
    Ok(outcome(plan, req, ended))
}

/// A test the server has started: the control connection, the streams, the path's facts so far.
struct Started {
    ctl: Control,
    opened: Opened,
    path: PathReport,
    wrong_interface: Option<Diagnosis>,
}

/// The datagram size (UDP), the control connection, the parameters, the streams, until TEST_RUNNING.
async fn start(
    plan: &ClientPlan,
    req: &mut TestRequest,
    cookie: &Cookie,
    obs: &mut dyn Observer,
) -> Result<Started, ClientError> {
    if req.protocol == Protocol::Udp {
        req.block_size = udp::datagram_size(plan).await?;
    }
    let mut ctl = Control::connect(&plan.target, cookie, obs).await?;
    let server = ctl.server;
    let mut path = PathReport {
        local: platform::facts_towards(server.ip()),
        ..PathReport::default()
    };
    let wrong_interface = egress(server, plan.expected_medium, &mut path, obs).await;
    ctl.expect(State::ParamExchange, "waiting for PARAM_EXCHANGE").await?;
    ctl.send_json(&params(req), "sending the parameters").await?;
    ctl.expect(State::CreateStreams, "waiting for CREATE_STREAMS").await?;
    let opened = streams::open(plan, req, server, cookie).await?;
    ctl.expect(State::TestStart, "waiting for TEST_START").await?;
    ctl.expect(State::TestRunning, "waiting for TEST_RUNNING").await?;
    Ok(Started {
        ctl,
        opened,
        path,
        wrong_interface,
    })
}

/// The parameter block: what the server must know to run its side as ours runs.
pub(super) fn params(req: &TestRequest) -> Params {
    let (time, num) = match req.stop {
        StopAfter::Seconds(t) => (t.ceil() as u64, None),
        StopAfter::Bytes(n) => (0, Some(n)),
    };
    Params {
        tcp: req.protocol == Protocol::Tcp,
        udp: req.protocol == Protocol::Udp,
        omit: Some(req.omit_seconds.ceil() as u64),
        server_affinity: req.server_cpu.map(i64::from),
        time: Some(time),
        num,
        mss: req.mss.map(u64::from),
        parallel: Some(u64::from(req.streams)),
        reverse: req.direction == Direction::Reverse,
        bidirectional: req.direction == Direction::Bidir,
        window: req.window.map(u64::from),
        len: Some(u64::from(req.block_size)),
        bandwidth: req.bitrate,
        fqrate: req.fq_rate,
        congestion: req.congestion.clone(),
        client_version: Some(format!("saf-net {}", env!("CARGO_PKG_VERSION"))),
        ..Params::default()
    }
}

/// Everything a test left behind, for its outcome.
struct Ended {
    cookie: String,
    server: SocketAddr,
    started_at: SystemTime,
    streams: Vec<StreamInfo>,
    path: PathReport,
    wrong_interface: Option<Diagnosis>,
    m: Measured,
    remote: Option<Result<Results, ClientError>>,
}

/// The outcome: our side, the server's from its results, the path's facts and what they mean.
fn outcome(plan: &ClientPlan, req: TestRequest, e: Ended) -> Outcome {
    let Ended {
        cookie,
        server,
        started_at,
        streams,
        mut path,
        wrong_interface,
        m,
        remote,
    } = e;
    let Measured { mut run, mut error, .. } = m;
    let ours = run.results.streams.iter().map(|s| s.seconds).fold(0.0, f64::max);
    let remote = match remote {
        Some(Ok(theirs)) => Some(server_side(&theirs, &req, &streams, ours)),
        Some(Err(e)) => {
            error.get_or_insert(e.to_string());
            None
        }
        None => None,
    };
    if error.is_none()
        && let Some(e) = run.results.streams.iter().find_map(|s| s.error.as_ref())
    {
        error = Some(format!("a data stream failed: {e}"));
    }
    if let Some(info) = streams.first().and_then(|s| s.tcp_now.as_ref()) {
        // The SYN's MSS option is the path MTU less the IP and TCP headers.
        let headers = if server.is_ipv6() { 60 } else { 40 };
        path.mss_advertised = (info.pmtu > headers).then(|| info.pmtu - headers);
        path.mss_effective = (info.snd_mss > 0).then_some(info.snd_mss);
    }
    path.diagnoses = diagnose(&path, &plan.target.host, server.port(), plan.expected_mbps);
    if let Some(w) = wrong_interface {
        path.diagnoses.insert(0, w);
    }
    run.results.socket = streams.first().map(|s| s.socket.clone());
    Outcome {
        request: req,
        client_cpu: plan.client_cpu,
        server,
        server_software: "iperf3".into(),
        peer: Peer::Iperf3,
        cookie,
        started_at,
        streams,
        local: run,
        remote_intervals: Vec::new(),
        remote,
        error,
        latency: None,
        path,
    }
}
