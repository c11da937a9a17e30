//! Validate (`saf-net validate HOST --profile P`): does the link deliver what its profile promises?
//!
//! Plan: [`Plan`] (`plan.rs`), the plans of the other kinds it runs. Phases (`run.rs`): the MTU kind, the
//! throughput kind with one stream and with N, the latency kind's UDP round trips. Outcome: [`ValidateOutcome`]
//! (`outcome.rs`), the figures and their PASS/FAIL [`Check`]s (`checks.rs`), rendered in `report.rs`.

mod checks;
mod outcome;
mod plan;
mod report;
mod run;

pub use checks::{Check, all_pass};
pub use outcome::{Measured, ValidateOutcome};
pub use plan::{Input, Plan, RTT_PROBES};
pub use report::Document;
pub use run::{Phases, STEPS, StderrPhases, run};
