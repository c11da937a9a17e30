//! Drives one side's streams: the clock, interval sampling, the timed stop, aborts and totals.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::time::{Instant as TokioInstant, sleep_until};

use super::stream::{Finished, Flags, LocalStreams, Pending, Stream};
use super::tcp_stats::TcpTracker;
use super::udp_stats::UdpTracker;
use super::{tcp, udp};
use crate::platform::CpuClock;
use crate::protocol::{IntervalReport, SideResults, StopAfter, StreamBytes, StreamTotals, TestRequest};

/// Extra time a stream may run past its planned end before it is cut off.
pub const GRACE: Duration = Duration::from_secs(10);

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
    /// Receivers end this long after the last byte once the senders' clock stopped (a peer that never closes
    /// its streams: iperf3); None waits for the peer's end.
    pub quiet_end: Option<Duration>,
}

impl Timing {
    /// The clock `req` asks for, the same on both sides: streams still running [`GRACE`] after the planned end
    /// are cut off; a test that stops by byte count is planned to end by `untimed_limit` (None: never cut off).
    /// No stall watch: see [`Timing::watching_stalls`].
    pub fn from_request(req: &TestRequest, untimed_limit: Option<Duration>) -> Timing {
        let duration = match req.stop {
            StopAfter::Seconds(t) => Some(Duration::from_secs_f64(t)),
            StopAfter::Bytes(_) => None,
        };
        let omit = Duration::from_secs_f64(req.omit_seconds);
        Timing {
            omit,
            duration,
            interval: Duration::from_secs_f64(req.interval_seconds),
            hard_limit: duration.or(untimed_limit).map(|d| omit + d + GRACE),
            stall_after: None,
            quiet_end: None,
        }
    }

    /// The same clock, ending receivers `after` their last byte once the senders stopped (None: at the peer's end).
    pub fn ending_quiet(self, after: Option<Duration>) -> Timing {
        Timing {
            quiet_end: after,
            ..self
        }
    }

    /// The same clock, ending the run when no stream moved a byte for `after` (None: never).
    pub fn watching_stalls(self, after: Option<Duration>) -> Timing {
        Timing {
            stall_after: after,
            ..self
        }
    }
}

/// Why a run ended early. `R` is the reason the caller gave when it ended the run itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Abort<R = String> {
    /// No stream moved a byte for this long, although the senders had data to send.
    Stalled(Duration),
    /// Streams were still running this long after the start.
    CutOff(Duration),
    /// A stream's thread could not start.
    StreamStart { stream: u32, error: String },
    /// The caller ended the run (the peer, a signal, a shutdown).
    Ended(R),
}

impl<R> Abort<R> {
    /// The caller's own reason (`Err`), or the engine's abort, which carries none (`Ok`).
    pub fn split(self) -> Result<Abort<Infallible>, R> {
        match self {
            Abort::Stalled(after) => Ok(Abort::Stalled(after)),
            Abort::CutOff(after) => Ok(Abort::CutOff(after)),
            Abort::StreamStart { stream, error } => Ok(Abort::StreamStart { stream, error }),
            Abort::Ended(reason) => Err(reason),
        }
    }
}

impl<R: fmt::Display> fmt::Display for Abort<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Abort::Stalled(after) => write!(
                f,
                "stalled: no data moved for {:.0} s although the sender had data to send",
                after.as_secs_f64()
            ),
            Abort::CutOff(after) => write!(
                f,
                "streams still running {:.1} s after the start; cut off",
                after.as_secs_f64()
            ),
            Abort::StreamStart { stream, error } => write!(f, "could not start stream {stream}: {error}"),
            Abort::Ended(reason) => reason.fmt(f),
        }
    }
}

/// What one side measured.
#[derive(Debug, Clone)]
pub struct SideRun<R = String> {
    pub results: SideResults,
    pub intervals: Vec<IntervalReport>,
    /// Why the run ended early, if it did.
    pub aborted: Option<Abort<R>>,
}

/// How long an aborted run waits for its stream threads to say they ended.
const ABORT_WAIT: Duration = Duration::from_secs(2);
/// How often the stall watchdog looks at the counters.
const WATCHDOG: Duration = Duration::from_millis(250);

/// Runs the streams to completion (or abort), calling `on_interval` as each interval closes. `abort` resolving
/// ends the run with [`Abort::Ended`] and its reason.
pub async fn drive<F, A, R>(local: LocalStreams, timing: Timing, on_interval: F, abort: A) -> SideRun<R>
where
    F: FnMut(&IntervalReport),
    A: Future<Output = R>,
{
    drive_until(local, timing, on_interval, abort, std::future::pending()).await
}

/// How long receivers may still read after the peer said the test is over (see [`drive_until`]).
pub const FINISH_LINGER: Duration = Duration::from_millis(250);

/// As [`drive`], and `finish` resolving ends the run cleanly (the peer keeps the clock, as iperf3's client
/// does): senders stop after their current write, receivers get [`FINISH_LINGER`] to read what is still
/// buffered, then every stream stops; no measured period goes past the finish, and the run is not aborted.
pub async fn drive_until<F, A, R, E>(
    local: LocalStreams,
    timing: Timing,
    on_interval: F,
    abort: A,
    finish: E,
) -> SideRun<R>
where
    F: FnMut(&IntervalReport),
    A: Future<Output = R>,
    E: Future<Output = ()>,
{
    let cpu = CpuClock::start();
    let t0 = Instant::now();
    let (running, start_error) = Running::start(local, timing.quiet_end);
    let mut driver = Driver {
        sampler: Sampler::new(running.streams.len(), t0, &timing),
        clock: Clock::new(t0, timing),
        running,
        on_interval,
        intervals: Vec::new(),
    };
    tokio::pin!(abort);
    tokio::pin!(finish);
    let aborted = match start_error {
        Some(e) => Some(e),
        None => driver.until_done(abort, finish).await,
    };
    if aborted.is_some() {
        driver.running.abort_all();
        driver.running.wait_finished(ABORT_WAIT).await;
    }
    driver.finish(aborted, cpu)
}

/// The instants of one side's clock, fixed when the streams start.
struct Clock {
    timing: Timing,
    t0: Instant,
    /// The end of the omitted phase, where measuring starts.
    omit_at: Instant,
    /// When the senders stop (timed tests).
    send_deadline: Option<Instant>,
    /// When streams still running are cut off.
    hard_deadline: Option<Instant>,
}

impl Clock {
    fn new(t0: Instant, timing: Timing) -> Clock {
        let omit_at = t0 + timing.omit;
        Clock {
            timing,
            t0,
            omit_at,
            send_deadline: timing.duration.map(|d| omit_at + d),
            hard_deadline: timing.hard_limit.map(|d| t0 + d),
        }
    }

    /// When the interval after the one that closed at `last` closes, if the clock closes it.
    fn next_tick(&self, last: Instant) -> Option<Instant> {
        // -i 0: no interval reports, only the tick that ends the omitted phase.
        if self.timing.interval.is_zero() {
            return (last < self.omit_at).then_some(self.omit_at);
        }
        let t = if last < self.omit_at {
            (last + self.timing.interval).min(self.omit_at)
        } else {
            last + self.timing.interval
        };
        // A timed test's last interval closes when the streams end, not at the deadline.
        match self.send_deadline {
            Some(d) if t >= d => None,
            _ => Some(t),
        }
    }

    /// Sleeps until `at`; never wakes when there is no such instant.
    async fn until(&self, at: Option<Instant>) {
        sleep_until(TokioInstant::from_std(at.unwrap_or(self.t0))).await
    }
}

/// Turns the streams' counters into interval reports.
struct Sampler {
    t0: Instant,
    omit_at: Instant,
    omit: Duration,
    /// Each stream's counter at the last sample.
    last_counts: Vec<u64>,
    /// Each stream's counter at the end of the omitted phase.
    omit_counts: Option<Vec<u64>>,
    last_tick: Instant,
    tcp: Vec<TcpTracker>,
    udp: Vec<UdpTracker>,
}

impl Sampler {
    fn new(n: usize, t0: Instant, timing: &Timing) -> Sampler {
        Sampler {
            t0,
            omit_at: t0 + timing.omit,
            omit: timing.omit,
            last_counts: vec![0; n],
            omit_counts: timing.omit.is_zero().then(|| vec![0; n]),
            last_tick: t0,
            tcp: vec![TcpTracker::default(); n],
            udp: vec![UdpTracker::default(); n],
        }
    }

    /// The interval from the last tick to `to`: each stream's bytes since, and its kernel TCP or UDP figures.
    fn sample(&mut self, to: Instant, streams: &[Stream]) -> IntervalReport {
        let from = self.last_tick;
        let omitted = to <= self.omit_at && !self.omit.is_zero();
        let base = if from < self.omit_at { self.t0 } else { self.omit_at };
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
                Some(sock) if s.spec.sender => self.tcp[i].sample(sock, !omitted),
                _ => None,
            };
            let udp = s
                .udp_meter()
                .map(|m| self.udp[i].sample(m.counts(s.spec.sender), !omitted));
            let entry = StreamBytes {
                stream: s.spec.id,
                bytes: now - self.last_counts[i],
                tcp,
                udp,
            };
            self.last_counts[i] = now;
            if s.spec.sender {
                report.sent.push(entry)
            } else {
                report.received.push(entry)
            }
        }
        report
    }

    /// Each stream's totals over the measured period (after the omitted phase).
    fn totals(&self, running: &Running, now: Instant) -> (Vec<StreamTotals>, bool) {
        let base = self.omit_counts.clone().unwrap_or_else(|| self.last_counts.clone());
        let mut all_ok = true;
        let totals = running
            .streams
            .iter()
            .zip(&running.finished)
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
                    seconds: running
                        .end_of(s.spec.sender, now)
                        .unwrap_or(now)
                        .saturating_duration_since(self.omit_at)
                        .as_secs_f64(),
                    bytes_total: total,
                    error,
                    tcp: if s.spec.sender { self.tcp[i].totals() } else { None },
                    udp: self.udp[i].totals(),
                }
            })
            .collect();
        (totals, all_ok)
    }
}

/// Whether a side's environment turned a switch off (`NAME=0`).
fn switched_off(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| v == "0")
}

/// Whether the side's TCP senders leave a CPU idle for each: only then does saving their copy beat writing.
fn pages_pay_off(local: &LocalStreams) -> bool {
    if switched_off("SAF_NET_PAGE_SEND") {
        return false;
    }
    let cpus = crate::platform::cpu_count();
    let senders = local.sockets().filter(|(_, spec)| spec.sender).count();
    senders > 0 && senders * 2 <= cpus
}

/// Whether the side's TCP senders give way to receivers on their host ([`Flags::senders_yield`]): only with more
/// than two senders per CPU. With fewer, the extra preemptions cost more than the queues (4 streams on 2 CPUs:
/// 63.7 → 57.7 Gbit/s; 8 streams: 48.0 → 55.9; bench/README.md).
fn senders_yield(local: &LocalStreams) -> bool {
    if switched_off("SAF_NET_SENDER_YIELD") {
        return false;
    }
    let senders = local.sockets().filter(|(_, spec)| spec.sender).count();
    many_senders(senders, crate::platform::cpu_count())
}

/// More than two senders per CPU.
fn many_senders(senders: usize, cpus: usize) -> bool {
    senders > 2 * cpus
}

/// The streams of one side, running, and which of them have finished.
struct Running {
    flags: Arc<Flags>,
    streams: Vec<Stream>,
    finished: Vec<Option<Finished>>,
    /// Streams that have not finished yet.
    left: usize,
    /// When the peer said the test was over (see [`drive_until`]): no stream's measured period goes past it.
    finish_at: Option<Instant>,
    done_rx: UnboundedReceiver<Finished>,
}

impl Running {
    /// Starts every stream's thread; a stream that cannot start aborts the run.
    fn start<R>(local: LocalStreams, quiet_end: Option<Duration>) -> (Running, Option<Abort<R>>) {
        let flags = Arc::new(Flags {
            quiet_end,
            page_send: pages_pay_off(&local),
            senders_yield: senders_yield(&local),
            ..Flags::default()
        });
        let (done_tx, done_rx) = unbounded_channel::<Finished>();
        let mut streams = Vec::with_capacity(local.pending.len());
        let mut error = None;
        for (pending, spec) in local.pending {
            let started = match pending {
                Pending::Tcp(socket) => tcp::spawn(socket, spec, flags.clone(), done_tx.clone()),
                Pending::Udp(plan) => udp::spawn(plan, spec, flags.clone(), done_tx.clone()),
            };
            match started {
                Ok(s) => streams.push(s),
                Err(e) => {
                    error = Some(Abort::StreamStart {
                        stream: spec.id,
                        error: e.to_string(),
                    })
                }
            }
        }
        let n = streams.len();
        let running = Running {
            flags,
            finished: (0..n).map(|_| None).collect(),
            left: if error.is_some() { 0 } else { n },
            finish_at: None,
            streams,
            done_rx,
        };
        (running, error)
    }

    fn on_finished(&mut self, f: Finished) {
        if let Some(i) = self.streams.iter().position(|s| s.spec.id == f.id)
            && self.finished[i].is_none()
        {
            self.finished[i] = Some(f);
            self.left -= 1;
        }
    }

    /// Bytes moved by all streams so far.
    fn moved(&self) -> u64 {
        self.streams.iter().map(|s| s.bytes()).sum()
    }

    /// Stops the streams still running after the peer ended the test; their ends count as normal ones.
    fn stop_finished(&self) {
        self.flags.finished.store(true, Ordering::Relaxed);
        self.flags.abort.store(true, Ordering::Relaxed);
        for s in &self.streams {
            s.shutdown();
        }
    }

    /// Stops every stream now.
    fn abort_all(&self) {
        self.flags.abort.store(true, Ordering::Relaxed);
        for s in &self.streams {
            s.shutdown();
        }
    }

    /// Waits up to `within` for the streams still running to finish.
    async fn wait_finished(&mut self, within: Duration) {
        let wait = tokio::time::sleep(within);
        tokio::pin!(wait);
        while self.left > 0 {
            tokio::select! {
                _ = &mut wait => break,
                Some(f) = self.done_rx.recv() => self.on_finished(f),
            }
        }
    }

    /// When the last sending (or receiving) stream ended; `now` for one that did not. Bytes a receiver reads
    /// after the peer's end were in its buffer before it, so its period ends there at the latest.
    fn end_of(&self, sender: bool, now: Instant) -> Option<Instant> {
        let end = self
            .streams
            .iter()
            .zip(&self.finished)
            .filter(|(s, _)| s.spec.sender == sender)
            .map(|(_, f)| f.as_ref().map_or(now, |f| f.at))
            .max()?;
        Some(self.finish_at.map_or(end, |f| end.min(f)))
    }
}

/// One side's run in progress: its clock, its streams, and the intervals closed so far.
struct Driver<F> {
    clock: Clock,
    sampler: Sampler,
    running: Running,
    on_interval: F,
    intervals: Vec<IntervalReport>,
}

impl<F: FnMut(&IntervalReport)> Driver<F> {
    /// Closes the interval that ends at `to` and reports it.
    fn close_interval(&mut self, to: Instant) {
        let report = self.sampler.sample(to, &self.running.streams);
        (self.on_interval)(&report);
        self.intervals.push(report);
    }

    /// Keeps the clock until every stream has finished, or returns why the run ends early.
    async fn until_done<A, R, E>(&mut self, mut abort: Pin<&mut A>, mut finish: Pin<&mut E>) -> Option<Abort<R>>
    where
        A: Future<Output = R>,
        E: Future<Output = ()>,
    {
        let timing = self.clock.timing;
        let mut tick = self.clock.next_tick(self.sampler.last_tick);
        let mut stop_sent = false;
        // Set once the peer said the test is over: when the receivers stop reading.
        let mut finishing: Option<Option<Instant>> = None;
        let mut progress = (0u64, Instant::now());
        let mut watchdog = tokio::time::interval(WATCHDOG);
        while self.running.left > 0 {
            tokio::select! {
                _ = watchdog.tick(), if timing.stall_after.is_some() => {
                    let moved = self.running.moved();
                    if moved != progress.0 {
                        progress = (moved, Instant::now());
                    } else if let Some(limit) = timing.stall_after.filter(|&l| progress.1.elapsed() >= l) {
                        return Some(Abort::Stalled(limit));
                    }
                }
                _ = self.clock.until(tick), if tick.is_some() => {
                    let to = tick.expect("guarded");
                    self.close_interval(to);
                    if to == self.clock.omit_at && self.sampler.omit_counts.is_none() {
                        self.sampler.omit_counts = Some(self.sampler.last_counts.clone());
                    }
                    self.sampler.last_tick = to;
                    tick = self.clock.next_tick(to);
                }
                _ = self.clock.until(self.clock.send_deadline), if self.clock.send_deadline.is_some() && !stop_sent => {
                    self.running.flags.stop_send.store(true, Ordering::Relaxed);
                    stop_sent = true;
                }
                _ = self.clock.until(self.clock.hard_deadline), if self.clock.hard_deadline.is_some() => {
                    return Some(Abort::CutOff(timing.hard_limit.unwrap_or_default()));
                }
                _ = &mut finish, if finishing.is_none() => {
                    self.running.flags.stop_send.store(true, Ordering::Relaxed);
                    stop_sent = true;
                    let now = Instant::now();
                    self.running.finish_at = Some(now);
                    finishing = Some(Some(now + FINISH_LINGER));
                }
                _ = self.clock.until(finishing.flatten()), if finishing.flatten().is_some() => {
                    self.running.stop_finished();
                    finishing = Some(None);
                }
                reason = &mut abort => return Some(Abort::Ended(reason)),
                Some(f) = self.running.done_rx.recv() => self.running.on_finished(f),
            }
        }
        None
    }

    /// The last interval (closed when the streams really ended) and every stream's totals.
    fn finish<R>(mut self, aborted: Option<Abort<R>>, cpu: CpuClock) -> SideRun<R> {
        let now = Instant::now();
        let last_tick = self.sampler.last_tick;
        let end = self
            .running
            .end_of(true, now)
            .max(self.running.end_of(false, now))
            .unwrap_or(now);
        if end > last_tick || self.intervals.is_empty() {
            self.close_interval(end.max(last_tick));
        }
        let (streams, all_ok) = self.sampler.totals(&self.running, now);
        SideRun {
            results: SideResults {
                socket: None,
                streams,
                cpu: cpu.stop(),
                complete: aborted.is_none() && all_ok,
            },
            intervals: self.intervals,
            aborted,
        }
    }
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
