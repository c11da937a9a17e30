//! Latency (`saf-net latency HOST`): TCP ping-pong, UDP echo or TCP connect probes at a fixed rate.
//!
//! Plan: [`crate::config::LatencyPlan`]. Phases: admission, the probe socket or data connection, the probe
//! run on a blocking thread while the control connection is watched (`run.rs`). Outcome: [`LatencyOutcome`].

mod run;

pub use run::{LatencyOutcome, run};
