//! The measured part of a throughput test on the client: our streams beside the server's intervals until the
//! clock, the server or a signal ends them, then the server's results.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, oneshot};

use crate::client::{ControlRx, Event, Observer, describe};
use crate::config::GRACE;
use crate::engine::{LocalStreams, SideRun, Timing, drive};
use crate::protocol::{
    ClientMessage, FrameError, IntervalReport, Protocol, ServerMessage, SideResults, TestRequest, write_message,
};

/// How long no byte may move before a test counts as stalled.
const STALL_AFTER: Duration = Duration::from_secs(3);

/// What the server said during the test.
pub(super) struct Control {
    pub server: SocketAddr,
    pub remote: Option<SideResults>,
    pub intervals: Vec<IntervalReport>,
    /// The first reason the test is incomplete.
    pub error: Option<String>,
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
    pub(super) fn fail(&mut self, reason: String) {
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
pub(super) struct Measured {
    pub run: SideRun,
    pub control: Control,
    control_done: bool,
    t0: Instant,
    tick: tokio::time::Interval,
}

/// Runs our streams beside the server's reports until the clock, the server or a signal ends them.
pub(super) async fn measure<F: Future<Output = String>>(
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

/// Our side's clock for the request: a UDP receiver hearing nothing is 100 % loss, which the test reports; only
/// TCP can stall.
fn timing(req: &TestRequest) -> Timing {
    Timing::from_request(req, None).watching_stalls((req.protocol == Protocol::Tcp).then_some(STALL_AFTER))
}

/// Says `done` after a clean run, then waits for the server's results; after an error only briefly.
pub(super) async fn collect_results(
    m: &mut Measured,
    ctl_rx: &mut ControlRx,
    wr: &mut OwnedWriteHalf,
    obs: &mut dyn Observer,
) {
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
