//! `saf-net monitor` (docs/monitor.md): light probes of every peer on a schedule (RTT and loss through the
//! slot-free echo, link facts, path MTU, a short throughput sample under a daily byte budget), exported for
//! Prometheus. `plan.rs` (the checked settings) → `schedule.rs` (when each probe is due, on an injectable
//! clock) and `budget.rs` (the byte budget) → `probes.rs` (one probe, recorded) → `metrics.rs` (the registry)
//! → `http.rs` (`/metrics`, `/probe`); `run.rs` is the loop.

pub mod budget;
pub mod http;
pub mod metrics;
pub mod plan;
pub mod probes;
pub mod run;
pub mod schedule;

pub use budget::Budget;
pub use plan::{MonitorInput, MonitorPlan};
pub use run::{State, run};
pub use schedule::{Clock, SystemClock};
