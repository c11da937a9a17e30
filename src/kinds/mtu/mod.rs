//! Path MTU (`saf-net mtu HOST`): both interfaces, the route, and a don't-fragment search both ways.
//!
//! Plan: the target and the profile's expectations. Phases: admission, the route, the search (`run.rs`).
//! Outcome: [`MtuOutcome`].

mod run;

pub use run::{MtuOutcome, Plan, run};
