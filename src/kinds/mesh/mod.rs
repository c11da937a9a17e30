//! `saf-net mesh`: every ordered pair of a cluster's nodes, measured by the nodes themselves, and the weak node
//! named. Built so far: the node list (`nodes.rs`, `ray.rs`), the plan (`plan.rs`), the matrix (`matrix.rs`), its
//! findings (`analysis.rs`) and renderings (`text.rs`, `report.rs`). The measuring phase needs protocol 3's relay
//! (node A's server measuring toward B) and plugs in later: it fills a [`Matrix`]; everything after is here.

pub mod analysis;
pub mod matrix;
pub mod nodes;
pub mod plan;
pub mod ray;

pub use matrix::{Matrix, MeshNode, NodeLink, PairResult};
pub use nodes::{Node, NodeError};
