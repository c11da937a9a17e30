//! `saf-net doctor HOST` (docs/doctor.md): what limits this link, in one command. `plan.rs` (the peer, the
//! profile, the short test, the ports) → `run.rs` (both ends' facts, the path MTU, a short test, the ports) with
//! `host.rs` (this host's buffers, CPU, offloads, EEE, flow control through the runner) → `rank.rs` (findings,
//! the limiting factor first) → `text.rs` (text and `-J`).

pub mod host;
pub mod plan;
pub mod rank;
pub mod run;
pub mod text;

pub use plan::Plan;
pub use run::{Report, run};
