//! The measured part of an iperf3 test: the engine drives our streams while this watches the control connection;
//! on the client's clock (or, for `-n`, when our senders are done) TEST_END goes to the server, which then stops
//! its own senders and asks for the results.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, oneshot};

use super::control::{Control, mid_test};
use crate::client::{Event, Observer};
use crate::engine::{LocalStreams, SideRun, Timing, drive};
use crate::protocol::iperf3::{State, read_state, write_state};
use crate::protocol::{IntervalReport, Protocol, StopAfter, TestRequest};

/// How long no byte may move before a TCP test counts as stalled.
const STALL_AFTER: Duration = Duration::from_secs(3);
/// A receiving stream has ended once nothing arrived for this long after TEST_END: an iperf3 server stops
/// sending but does not close its streams until the test is over.
pub(super) const QUIET_END: Duration = Duration::from_millis(250);
/// The longest the server may stay silent while the streams run (the engine's clock ends a test long before).
const CONTROL_IDLE: Duration = Duration::from_secs(24 * 3600);

/// What the measured part left behind.
pub(super) struct Measured {
    pub run: SideRun,
    /// The first reason the test is incomplete.
    pub error: Option<String>,
    /// The server already sent EXCHANGE_RESULTS.
    pub results_due: bool,
    /// TEST_END went out (a clean end); otherwise CLIENT_TERMINATE did, or the server is gone.
    pub ended: bool,
}

/// Our clock: the request's, TCP watched for stalls, receivers ending on quiet after TEST_END.
fn timing(req: &TestRequest) -> Timing {
    Timing::from_request(req, None)
        .watching_stalls((req.protocol == Protocol::Tcp).then_some(STALL_AFTER))
        .ending_quiet(Some(QUIET_END))
}

/// TEST_END goes this long after our senders' deadline: the engine's clock starts a moment after `t0` here, and an
/// iperf3 server closes its streams at TEST_END, so our senders must have stopped before it arrives.
const TEST_END_AFTER: Duration = Duration::from_millis(2);

/// When TEST_END is due: the end of the omitted phase plus `-t`; None for `-n`, which ends when our senders do.
fn test_end_at(req: &TestRequest, t0: Instant) -> Option<Instant> {
    match req.stop {
        StopAfter::Seconds(t) => Some(t0 + Duration::from_secs_f64(req.omit_seconds + t) + TEST_END_AFTER),
        StopAfter::Bytes(_) => None,
    }
}

/// How the control connection stands while the streams run.
#[derive(Default)]
struct Watch {
    error: Option<String>,
    results_due: bool,
    ended: bool,
    closed: bool,
}

/// Runs our streams until they end, TEST_END on time, the server's states read beside them.
pub(super) async fn measure<F: Future<Output = String>>(
    req: &TestRequest,
    ctl: &mut Control,
    local: LocalStreams,
    obs: &mut dyn Observer,
    mut interrupt: Pin<&mut F>,
) -> Measured {
    let server: SocketAddr = ctl.server;
    let (rd, wr) = ctl.halves();
    let (iv_tx, mut iv_rx) = mpsc::unbounded_channel::<IntervalReport>();
    let (abort_tx, abort_rx) = oneshot::channel::<String>();
    let mut abort_tx = Some(abort_tx);
    let aborted = async move { abort_rx.await.unwrap_or_default() };
    let t0 = Instant::now();
    let driving = drive(local, timing(req), move |iv| drop(iv_tx.send(iv.clone())), aborted);
    tokio::pin!(driving);
    let end_at = test_end_at(req, t0);
    let end_timer = tokio::time::sleep_until(tokio::time::Instant::from_std(end_at.unwrap_or(t0)));
    tokio::pin!(end_timer);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut w = Watch::default();
    let mut stop = |w: &mut Watch, reason: String| {
        w.error.get_or_insert(reason.clone());
        if let Some(tx) = abort_tx.take() {
            let _ = tx.send(reason);
        }
    };
    let run = loop {
        tokio::select! {
            run = &mut driving => break run,
            Some(iv) = iv_rx.recv() => obs.on(Event::Interval { local: true, report: &iv }),
            _ = tick.tick() => obs.on(Event::Tick { elapsed: t0.elapsed() }),
            _ = &mut end_timer, if end_at.is_some() && !w.ended && w.error.is_none() => {
                w.ended = write_state(wr, State::TestEnd).await.is_ok();
            }
            read = read_state(rd, CONTROL_IDLE), if !w.closed && !w.results_due => {
                match mid_test(read, rd, server).await {
                    None if w.ended => w.results_due = true,
                    None => stop(&mut w, format!("iperf3 server {server} asked for results before TEST_END")),
                    Some(why) => {
                        w.closed = true;
                        stop(&mut w, why);
                    }
                }
            }
            reason = &mut interrupt, if w.error.is_none() => {
                let _ = write_state(wr, State::ClientTerminate).await;
                stop(&mut w, reason);
            }
        }
    };
    while let Ok(iv) = iv_rx.try_recv() {
        obs.on(Event::Interval {
            local: true,
            report: &iv,
        });
    }
    finish(run, w, wr).await
}

/// TEST_END for a test that ends by byte count; CLIENT_TERMINATE for one the engine ended early (a stall).
async fn finish(run: SideRun, mut w: Watch, wr: &mut OwnedWriteHalf) -> Measured {
    if let Some(a) = &run.aborted {
        if w.error.is_none() && !w.closed {
            let _ = write_state(wr, State::ClientTerminate).await;
        }
        w.error.get_or_insert(a.to_string());
    } else if w.error.is_none() && !w.ended {
        w.ended = write_state(wr, State::TestEnd).await.is_ok();
    }
    Measured {
        run,
        error: w.error,
        results_due: w.results_due,
        ended: w.ended && !w.closed,
    }
}
