//! Throughput (`saf-net client HOST`): parallel TCP streams (UDP ones with `-u`, see [`super::udp`]) beside the
//! server's, receiver-side goodput per direction.
//!
//! Plan: [`crate::config::ClientPlan`]. Phases: admission and the datagram size (`run.rs`), the time before
//! the start (`prestart.rs`: MTU check, idle RTT, data connections), the measured streams beside the server's
//! intervals, the server's results, the outcome with its diagnoses. Outcome: [`Outcome`].

mod outcome;
mod prestart;
mod run;

pub use outcome::{Outcome, UnderLoad};
pub use run::{run, run_until};
