//! Path MTU (`saf-net mtu HOST`): both interfaces, the route, and a don't-fragment search both ways.
//!
//! Plan: [`Plan`] (the target and the profile's expectations). Phases: admission, the route, the search
//! (`run.rs`). Outcome: [`MtuOutcome`], rendered in `report.rs`. The throughput test runs the same search
//! before its streams ([`crate::kinds::throughput`]).

mod report;
mod run;

pub use report::MtuDocument;
pub use run::{MtuOutcome, Plan, run};
