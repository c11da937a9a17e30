//! `saf-net client HOST --iperf3`: a throughput test against an unmodified iperf3 server (3.1 or later), spoken in
//! iperf3's own protocol ([`crate::protocol::iperf3`]).
//!
//! Plan: the client's [`crate::config::ClientPlan`], checked for what an iperf3 server can honour (`plan.rs`).
//! Phases (`run.rs`): the control connection with its cookie and the parameters (`control.rs`), the data streams
//! with iperf3's setup (`streams.rs`: the cookie on each TCP connection, the UDP connect handshake), the measured
//! streams on the engine's own [`drive`](crate::engine::drive) with TEST_END on the client's clock
//! (`measure.rs`), and the results exchange (`exchange.rs`). Outcome: the throughput
//! [`Outcome`](crate::kinds::throughput::Outcome) with `peer` = iperf3, so text, `-J` and history render it as
//! any saf-net run; what only a saf-net server reports (its intervals, TCP_INFO, socket options) is absent.

mod control;
mod exchange;
mod measure;
mod plan;
mod run;
mod streams;

pub use plan::check;
pub use run::{run, run_until};
