//! The monitor's loop: each (peer, probe) when the schedule says, a bounded number at once, never two of the
//! same at a time; a failing peer never stops the others; a line on stderr when a probe's state changes.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::budget::Ledger;
use super::http::Endpoint;
use super::metrics::Metrics;
use super::plan::MonitorPlan;
use super::probes::{self, SKIPPED};
use super::schedule::{Clock, Probe, Schedule};

/// Probes running at once, over all peers.
const MAX_IN_FLIGHT: usize = 8;
/// The longest the loop sleeps, so a stop is seen promptly.
const TICK: Duration = Duration::from_millis(100);

/// The budget's ledger on a clock, shared by the schedule's samples and `/probe?module=throughput`.
pub struct Spend {
    ledger: Mutex<Ledger>,
    clock: Arc<dyn Clock>,
}

/// Bytes reserved for one sample.
pub struct Reservation(u64);

impl Spend {
    pub fn new(ledger: Ledger, clock: Arc<dyn Clock>) -> Spend {
        Spend {
            ledger: Mutex::new(ledger),
            clock,
        }
    }

    pub fn clock_now(&self) -> f64 {
        self.clock.now()
    }

    fn now(&self) -> u64 {
        self.clock.now().max(0.0) as u64
    }

    pub fn reserve(&self, bytes: u64) -> Option<Reservation> {
        let now = self.now();
        let mut l = self.ledger.lock().ok()?;
        l.reserve(now, bytes).then_some(Reservation(bytes))
    }

    pub fn settle(&self, r: Reservation, used: u64) {
        let now = self.now();
        if let Ok(mut l) = self.ledger.lock() {
            l.settle(now, r.0, used);
        }
    }

    pub fn remaining(&self) -> u64 {
        let now = self.now();
        self.ledger.lock().map_or(0, |mut l| l.remaining(now))
    }

    pub fn remaining_text(&self) -> String {
        crate::units::Bytes(self.remaining()).to_string()
    }
}

/// Everything the loop and the endpoint share.
pub struct State {
    pub plan: MonitorPlan,
    pub metrics: Metrics,
    pub spend: Spend,
    /// The last outcome per (peer, probe): true up, false down; for the state-change lines.
    last: Mutex<Vec<[Option<bool>; 4]>>,
}

impl State {
    pub fn new(plan: MonitorPlan, clock: Arc<dyn Clock>) -> State {
        let metrics = Metrics::new();
        for p in &plan.peers {
            metrics.thresholds(&p.name, plan.profile.as_ref());
        }
        let last = Mutex::new(vec![[None; 4]; plan.peers.len()]);
        let spend = Spend::new(Ledger::new(plan.budget), clock);
        metrics.budget_remaining(spend.remaining());
        State {
            plan,
            metrics,
            spend,
            last,
        }
    }

    /// Runs one probe and logs a line when its state changed (or for every skip of a sample).
    async fn probe(&self, peer: usize, probe: Probe) {
        let p = &self.plan.peers[peer];
        let out = probes::run(&self.plan, &self.metrics, p, probe, &self.spend).await;
        self.metrics.budget_remaining(self.spend.remaining());
        let line = match &out {
            Err(e) if e.starts_with(SKIPPED) => Some(format!("{}: {} {e}", p.name, probe.name())),
            _ => self.changed(peer, probe, &out),
        };
        if let Some(l) = line {
            eprintln!("monitor: {l}");
        }
    }

    fn changed(&self, peer: usize, probe: Probe, out: &probes::Probed) -> Option<String> {
        let i = Probe::ALL.iter().position(|p| *p == probe)?;
        let mut last = self.last.lock().ok()?;
        let was = last[peer][i].replace(out.is_ok());
        let name = &self.plan.peers[peer].name;
        match (was, out) {
            (Some(true), Ok(_)) => None,
            (Some(false), Err(_)) => None,
            (_, Ok(note)) => Some(format!("{name}: {} up ({note})", probe.name())),
            (_, Err(e)) => Some(format!("{name}: {} DOWN: {e}", probe.name())),
        }
    }
}

/// Serves the endpoint on `listener` and probes on schedule until `stop` completes.
pub async fn run(state: Arc<State>, listener: TcpListener, stop: impl Future<Output = ()>) {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut stopped = rx.clone();
    let endpoint = tokio::spawn(crate::exporter::serve(
        listener,
        Arc::new(Endpoint(state.clone())),
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        },
    ));
    tokio::pin!(stop);
    tokio::select! {
        _ = schedule(state.clone()) => {}
        _ = &mut stop => {}
    }
    let _ = tx.send(true);
    let _ = endpoint.await;
}

/// The schedule's loop: never returns.
async fn schedule(state: Arc<State>) {
    let clock_now = || state.spend.clock_now();
    for p in &state.plan.peers {
        probes::learn_interface(p).await;
    }
    let mut sched = Schedule::new(state.plan.peers.len(), state.plan.periods, clock_now());
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let running: Arc<Mutex<HashSet<(usize, Probe)>>> = Arc::default();
    loop {
        for (peer, probe) in sched.take_due(clock_now()) {
            if !running.lock().is_ok_and(|mut r| r.insert((peer, probe))) {
                continue; // the last one is still running
            }
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let (state, running) = (state.clone(), running.clone());
            tokio::spawn(async move {
                state.probe(peer, probe).await;
                if let Ok(mut r) = running.lock() {
                    r.remove(&(peer, probe));
                }
                drop(permit);
            });
        }
        let wait = (sched.next_due() - clock_now()).clamp(0.0, TICK.as_secs_f64());
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    }
}
