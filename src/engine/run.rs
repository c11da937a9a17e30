//! Drives one side's streams: the clock, interval sampling, the timed stop, aborts and totals.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::unbounded_channel;
use tokio::time::{Instant as TokioInstant, sleep_until};

use super::tcp::{Finished, Flags, Stream, StreamSpec};
use super::tcp_stats::TcpTracker;
use super::udp::{self, UdpPlan};
use super::udp_stats::UdpTracker;
use crate::platform::CpuClock;
use crate::protocol::{IntervalReport, SideResults, StreamBytes, StreamTotals};

/// The test's clock, as one side sees it.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub omit: Duration,
    /// Measured sending time; None when the test stops by byte count.
    pub duration: Option<Duration>,
    pub interval: Duration,
    /// Streams still running this long after the start are cut off and the run is incomplete.
    pub hard_limit: Option<Duration>,
    /// End the run when no stream moved a byte for this long (a stalled path, e.g. a jumbo black hole).
    pub stall_after: Option<Duration>,
}

/// A stream waiting for the clock: a connected TCP socket, or a UDP stream's plan.
enum Pending {
    Tcp(std::net::TcpStream),
    Udp(UdpPlan),
}
/// The abort reason a stall gives; callers match on its start.
pub const STALL: &str = "stalled: no data moved";

/// One side's connected data sockets, waiting for the clock to start.
#[derive(Default)]
pub struct LocalStreams {
    pending: Vec<(Pending, StreamSpec)>,
}

impl LocalStreams {
    pub fn add(&mut self, socket: std::net::TcpStream, spec: StreamSpec) {
        self.pending.push((Pending::Tcp(socket), spec));
    }

    /// Adds a UDP stream (`-u`).
    pub fn add_udp(&mut self, plan: UdpPlan, spec: StreamSpec) {
        self.pending.push((Pending::Udp(plan), spec));
    }

    /// The TCP sockets among the streams.
    pub fn sockets(&self) -> impl Iterator<Item = (&std::net::TcpStream, &StreamSpec)> {
        self.pending.iter().filter_map(|(p, spec)| match p {
            Pending::Tcp(s) => Some((s, spec)),
            Pending::Udp(_) => None,
        })
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// Stops every stream now.
fn abort_all(flags: &Flags, streams: &[Stream]) {
    flags.abort.store(true, Ordering::Relaxed);
    for s in streams {
        s.shutdown();
    }
}

/// What one side measured.
#[derive(Debug, Clone)]
pub struct SideRun {
    pub results: SideResults,
    pub intervals: Vec<IntervalReport>,
    /// Why the run ended early, if it did.
    pub aborted: Option<String>,
}

/// Runs the streams to completion (or abort), calling `on_interval` as each interval closes.
pub async fn drive<F, A>(local: LocalStreams, timing: Timing, mut on_interval: F, abort: A) -> SideRun
where
    F: FnMut(&IntervalReport),
    A: Future<Output = String>,
{
    let cpu = CpuClock::start();
    let flags = Arc::new(Flags::default());
    let (done_tx, mut done_rx) = unbounded_channel::<Finished>();
    let mut streams = Vec::with_capacity(local.pending.len());
    let mut aborted = None;
    let t0 = Instant::now();
    for (pending, spec) in local.pending {
        let started = match pending {
            Pending::Tcp(socket) => Stream::spawn(socket, spec, flags.clone(), done_tx.clone()),
            Pending::Udp(plan) => udp::spawn(plan, spec, flags.clone(), done_tx.clone()),
        };
        match started {
            Ok(s) => streams.push(s),
            Err(e) => aborted = Some(format!("could not start stream {}: {e}", spec.id)),
        }
    }
    drop(done_tx);
    let tt0 = TokioInstant::from_std(t0);
    let omit_at = t0 + timing.omit;
    let send_deadline = timing.duration.map(|d| omit_at + d);
    let hard_deadline = timing.hard_limit.map(|d| tt0 + d);
    let n = streams.len();
    let mut last_tick = t0;
    let mut last_counts = vec![0u64; n];
    let mut omit_counts: Option<Vec<u64>> = timing.omit.is_zero().then(|| vec![0; n]);
    let mut intervals = Vec::new();
    let mut finished: Vec<Option<Finished>> = (0..n).map(|_| None).collect();
    let mut left = if aborted.is_some() { 0 } else { n };
    let mut stop_sent = false;
    tokio::pin!(abort);

    let next_tick = |last: Instant| -> Option<Instant> {
        // -i 0: no interval reports, only the tick that ends the omitted phase.
        if timing.interval.is_zero() {
            return (last < omit_at).then_some(omit_at);
        }
        let t = if last < omit_at {
            (last + timing.interval).min(omit_at)
        } else {
            last + timing.interval
        };
        // A timed test's last interval closes when the streams end, not at the deadline.
        match send_deadline {
            Some(d) if t >= d => None,
            _ => Some(t),
        }
    };

    let mut trackers = vec![TcpTracker::default(); n];
    let mut udp_trackers = vec![UdpTracker::default(); n];
    let mut sample = |from: Instant, to: Instant, last_counts: &mut Vec<u64>, streams: &[Stream]| {
        let omitted = to <= omit_at && !timing.omit.is_zero();
        let base = if from < omit_at { t0 } else { omit_at };
        let mut report = IntervalReport {
            start: from.saturating_duration_since(base).as_secs_f64(),
            end: to.saturating_duration_since(base).as_secs_f64(),
            omitted,
            sent: Vec::new(),
            received: Vec::new(),
        };
        for (i, s) in streams.iter().enumerate() {
            let now = s.bytes();
            let tcp = match s.socket() {
                Some(sock) if s.spec.sender => trackers[i].sample(sock, !omitted),
                _ => None,
            };
            let udp = s
                .udp_meter()
                .map(|m| udp_trackers[i].sample(m.counts(s.spec.sender), !omitted));
            let entry = StreamBytes {
                stream: s.spec.id,
                bytes: now - last_counts[i],
                tcp,
                udp,
            };
            last_counts[i] = now;
            if s.spec.sender {
                report.sent.push(entry)
            } else {
                report.received.push(entry)
            }
        }
        on_interval(&report);
        report
    };

    let mut tick = next_tick(last_tick);
    let mut progress = (0u64, Instant::now());
    let mut watchdog = tokio::time::interval(Duration::from_millis(250));
    while left > 0 {
        tokio::select! {
            _ = watchdog.tick(), if timing.stall_after.is_some() => {
                let moved: u64 = streams.iter().map(|s| s.bytes()).sum();
                if moved != progress.0 {
                    progress = (moved, Instant::now());
                } else if let Some(limit) = timing.stall_after.filter(|&l| progress.1.elapsed() >= l) {
                    aborted = Some(format!("{STALL} for {:.0} s although the sender had data to send", limit.as_secs_f64()));
                    break;
                }
            }
            _ = sleep_until(TokioInstant::from_std(tick.unwrap_or(t0))), if tick.is_some() => {
                let to = tick.expect("guarded");
                intervals.push(sample(last_tick, to, &mut last_counts, &streams));
                if to == omit_at && omit_counts.is_none() {
                    omit_counts = Some(last_counts.clone());
                }
                last_tick = to;
                tick = next_tick(last_tick);
            }
            _ = sleep_until(TokioInstant::from_std(send_deadline.unwrap_or(t0))), if send_deadline.is_some() && !stop_sent => {
                flags.stop_send.store(true, Ordering::Relaxed);
                stop_sent = true;
            }
            _ = sleep_until(hard_deadline.unwrap_or(tt0)), if hard_deadline.is_some() => {
                aborted = Some(format!(
                    "streams still running {:.1} s after the start; cut off",
                    timing.hard_limit.unwrap_or_default().as_secs_f64()
                ));
                break;
            }
            reason = &mut abort => {
                aborted = Some(reason);
                break;
            }
            Some(f) = done_rx.recv() => {
                if let Some(i) = streams.iter().position(|s| s.spec.id == f.id) && finished[i].is_none() {
                    finished[i] = Some(f);
                    left -= 1;
                }
            }
        }
    }
    if aborted.is_some() {
        abort_all(&flags, &streams);
        let wait = tokio::time::sleep(Duration::from_secs(2));
        tokio::pin!(wait);
        while left > 0 {
            tokio::select! {
                _ = &mut wait => break,
                Some(f) = done_rx.recv() => {
                    if let Some(i) = streams.iter().position(|s| s.spec.id == f.id) && finished[i].is_none() {
                        finished[i] = Some(f);
                        left -= 1;
                    }
                }
            }
        }
    }
    let now = Instant::now();
    let end_of = |sender: bool| -> Option<Instant> {
        streams
            .iter()
            .zip(&finished)
            .filter(|(s, _)| s.spec.sender == sender)
            .map(|(_, f)| f.as_ref().map_or(now, |f| f.at))
            .max()
    };
    let end = end_of(true).max(end_of(false)).unwrap_or(now);
    if end > last_tick || intervals.is_empty() {
        intervals.push(sample(last_tick, end.max(last_tick), &mut last_counts, &streams));
    }
    let base = omit_counts.unwrap_or_else(|| last_counts.clone());
    let mut all_ok = true;
    let totals = streams
        .iter()
        .zip(&finished)
        .enumerate()
        .map(|(i, (s, f))| {
            let error = match f {
                Some(f) => f.error.clone(),
                None => Some("stream did not finish".to_string()),
            };
            all_ok &= error.is_none();
            let total = s.bytes();
            StreamTotals {
                stream: s.spec.id,
                sender: s.spec.sender,
                bytes: total - base[i].min(total),
                seconds: end_of(s.spec.sender)
                    .unwrap_or(now)
                    .saturating_duration_since(omit_at)
                    .as_secs_f64(),
                bytes_total: total,
                error,
                tcp: if s.spec.sender { trackers[i].totals() } else { None },
                udp: udp_trackers[i].totals(),
            }
        })
        .collect();
    SideRun {
        results: SideResults {
            socket: None,
            streams: totals,
            cpu: cpu.stop(),
            complete: aborted.is_none() && all_ok,
        },
        intervals,
        aborted,
    }
}
