//! `saf-net mesh`: every ordered pair of a cluster's nodes, measured by the nodes themselves, and the weak node
//! named. Plan: the node list (`nodes.rs`, `ray.rs`, `sources.rs`), the plan and its rounds (`plan.rs`). Phases
//! (`run.rs`): each node's facts, the pairs (`measure.rs`, one at a time through protocol 3's relay, `relay.rs`; or
//! `concurrent.rs`, a `--concurrent` pattern's rounds as group sessions), the port check (`ports.rs`). Outcome: the [`Matrix`] (`matrix.rs`) and its findings (`analysis.rs`).
//! Renderings: `text.rs`, `report.rs` (`-J` and one history row per pair).
//!
//! The outcome is not an [`crate::output::Report`]: that trait records one history row per run, a mesh one per
//! pair, so it has the same renderings as inherent methods.

pub mod analysis;
pub mod concurrent;
pub mod dry_run;
pub mod matrix;
pub mod measure;
pub mod nodes;
pub mod plan;
pub mod ports;
pub mod ray;
pub mod relay;
pub mod report;
pub mod run;
pub mod sources;
pub mod text;

pub use matrix::{Matrix, MeshNode, NodeLink, PairResult};
pub use nodes::{Node, NodeError};
pub use plan::{Mode, Pattern, PatternSpec, Plan, PlanError};

use crate::findings::Finding;

/// What a mesh found: the matrix, the settings it was measured with, and the findings drawn from it.
#[derive(Debug, Clone)]
pub struct MeshOutcome {
    pub matrix: Matrix,
    pub findings: Vec<Finding>,
    /// `sequential`, `concurrent ring`, … ([`Plan::mode_name`]).
    pub mode: String,
    pub duration_secs: f64,
    pub parallel: u32,
    /// The profile's name, when one was given.
    pub profile: Option<String>,
    /// What `--check-ports` found, when it ran.
    pub ports: Option<ports::PortMatrix>,
}

impl MeshOutcome {
    /// The outcome of a measured matrix under `plan`; the findings are drawn here.
    pub fn new(matrix: Matrix, plan: &Plan) -> MeshOutcome {
        MeshOutcome {
            findings: analysis::findings(&matrix),
            matrix,
            mode: plan.mode_name(),
            duration_secs: plan.duration_secs,
            parallel: plan.parallel,
            profile: plan.profile.as_ref().map(|p| p.name.clone()),
            ports: None,
        }
    }

    /// The text printed when the run is over.
    pub fn text(&self) -> String {
        text::render(self)
    }
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod snapshot_tests;
