//! `saf-net collective` (issue #20): what distributed training gets from the network. One group session over
//! the nodes' servers runs ring allreduce, allgather, reduce-scatter, broadcast or all-to-all on real,
//! verified data (the member's engine is [`crate::collective`]); the figures are nccl-tests' (time, algbw,
//! busbw). plan → run (eta) → outcome (figures, bottleneck, meaning) → text / report (`-J`, history).

pub mod bottleneck;
pub mod cpu;
pub mod eta;
pub mod figures;
pub mod meaning;
pub mod outcome;
pub mod plan;
pub mod report;
pub mod run;
pub mod text;

pub use outcome::Outcome;
pub use plan::{Asked, Plan, PlanError, Sizes};
