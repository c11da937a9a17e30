//! `saf-net validate`'s four phases, one after the other: the path MTU both ways, goodput with one stream, with
//! N streams, and UDP round trips. Each phase says when it starts and what it found.

use std::io::Write;
use std::time::Instant;

use super::Plan;
use super::outcome::{Measured, ValidateOutcome};
use super::plan::RTT_PROBES;
use crate::client::{ClientError, Event, Observer};
use crate::config::ClientPlan;
use crate::kinds::{latency, mtu, throughput};

/// Hears each phase start and end.
pub trait Phases {
    /// Phase `step` of [`STEPS`] starts.
    fn start(&mut self, step: usize, what: &str);
    /// The phase that started last found `result`.
    fn done(&mut self, result: &str);
}

/// How many phases a run has.
pub const STEPS: usize = 4;

/// Each phase on stderr: "[2/4] goodput, 1 stream (5 s) … 941.2 Mbit/s (5.0 s)".
#[derive(Debug, Default)]
pub struct StderrPhases {
    started: Option<Instant>,
}

impl Phases for StderrPhases {
    fn start(&mut self, step: usize, what: &str) {
        eprint!("[{step}/{STEPS}] {what} … ");
        let _ = std::io::stderr().flush();
        self.started = Some(Instant::now());
    }

    fn done(&mut self, result: &str) {
        let secs = self.started.take().map_or(0.0, |t| t.elapsed().as_secs_f64());
        eprintln!("{result} ({secs:.1} s)");
    }
}

impl Drop for StderrPhases {
    /// A phase that ended in an error still ends its line, so the error gets one of its own.
    fn drop(&mut self) {
        if self.started.is_some() {
            eprintln!("failed");
        }
    }
}

fn shown(v: Option<f64>, unit: &str) -> String {
    v.map_or("not measured".into(), |v| format!("{v:.1} {unit}"))
}

/// The headline goodput of a complete test; None when it did not complete.
async fn goodput(plan: &ClientPlan) -> Result<Option<f64>, ClientError> {
    let o = throughput::run(plan, &mut |_: Event<'_>| {}).await?;
    Ok(o.complete().then(|| o.directions()[0].received.rate().mbps()))
}

/// Runs the four phases as planned and checks what they measured. `obs` hears the MTU phase (its route
/// warning); the throughput and latency phases run quietly. Errors mean a phase could not start.
pub async fn run(plan: &Plan, obs: &mut dyn Observer, phases: &mut dyn Phases) -> Result<ValidateOutcome, ClientError> {
    phases.start(1, "path MTU, both ways");
    let path = mtu::run(&plan.mtu, obs).await?.path;
    let path_mtu = path.mtu_probe.as_ref().and_then(|m| m.path_mtu());
    phases.done(&shown(path_mtu.map(f64::from), "bytes"));
    phases.start(2, &format!("goodput, 1 stream ({} s)", plan.time));
    let goodput_1 = goodput(&plan.one).await?;
    phases.done(&shown(goodput_1, "Mbit/s"));
    phases.start(3, &format!("goodput, {} streams ({} s)", plan.streams, plan.time));
    let goodput_n = goodput(&plan.many).await?;
    phases.done(&shown(goodput_n, "Mbit/s"));
    phases.start(4, &format!("UDP round trips ({RTT_PROBES} probes)"));
    let rtt = latency::run(&plan.latency, &mut |_: Event<'_>| {}).await?;
    let rtt_p99_us = (rtt.probe.received > 0).then(|| rtt.probe.rtt.stats().p99_us);
    phases.done(&format!("p99 {}", shown(rtt_p99_us, "µs")));
    let measured = Measured {
        path,
        path_mtu,
        goodput_1,
        goodput_n,
        rtt_p99_us,
    };
    Ok(ValidateOutcome::judged(plan, measured))
}
