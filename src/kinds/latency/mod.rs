//! Latency (`saf-net latency HOST`): TCP ping-pong, UDP echo or TCP connect probes at a fixed rate; with
//! `--no-slot` (and [`echo_session`]), UDP echo through protocol 3's slot-free echo.
//!
//! Plan: [`crate::config::LatencyPlan`]. Phases: admission, the probe socket or data connection, the probe
//! run on a blocking thread while the control connection is watched (`run.rs`). Outcome: [`LatencyOutcome`],
//! rendered in `report.rs` (whose [`ProbeReport`] the throughput test's `--latency` figures share).

mod report;
mod run;

pub use report::{Document, End, ProbeReport, STATS_HEADER, report_text, stats_line};
pub use run::{LatencyOutcome, echo_session, run};
