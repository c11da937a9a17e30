//! What a collective run ended with: each point reported (with its figures), each op's summary, the
//! bottleneck, the problems that kept points from running whole, and what it means for training.

use super::bottleneck;
use super::cpu::{self, NodeCpu};
use super::figures::{OpSummary, PointFigures, Reports, figures, summaries};
use super::meaning::{self, Ceiling};
use super::plan::Plan;
use crate::findings::Finding;
use crate::kinds::mesh::nodes::Node;
use crate::output::Verdict;
use crate::protocol::{Algo, Dtype};

/// The size `meaning` speaks of, GB (the cluster document's "Transfer 10GB").
pub const MEANING_GB: f64 = 10.0;

#[derive(Debug, Clone)]
pub struct Outcome {
    pub nodes: Vec<Node>,
    pub algo: Algo,
    pub dtype: Dtype,
    pub iters: u32,
    pub warmup: u32,
    /// Points planned; `points` holds those some rank reported.
    pub planned: usize,
    pub points: Vec<(Reports, PointFigures)>,
    pub ops: Vec<OpSummary>,
    pub bottleneck: Option<Finding>,
    /// Each node's CPU in the largest point that ran whole.
    pub cpu: Vec<NodeCpu>,
    /// When a node's CPU, not the link, held busbw down: the plain statement.
    pub cpu_limit: Option<String>,
    /// One line per node that could not join, left, or reported an error.
    pub problems: Vec<String>,
    pub interrupted: Option<String>,
    pub profile: Option<String>,
    /// The profile's TCP goodput ceiling, bit/s.
    pub ceiling_bps: Option<f64>,
    pub meaning: String,
}

impl Outcome {
    pub fn new(plan: &Plan, reported: Vec<Reports>, problems: Vec<String>, interrupted: Option<String>) -> Outcome {
        let n = plan.nodes.len();
        let points: Vec<(Reports, PointFigures)> = reported
            .into_iter()
            .map(|r| {
                let f = figures(&r, n);
                (r, f)
            })
            .collect();
        let figs: Vec<PointFigures> = points.iter().map(|(_, f)| f.clone()).collect();
        let ops = summaries(&figs);
        let names: Vec<String> = plan.nodes.iter().map(|n| n.name.clone()).collect();
        let ceiling_bps = plan.ceiling_bps();
        let ceilings: Vec<Ceiling> = plan
            .profile
            .as_ref()
            .map(|p| Ceiling {
                name: p.name.clone(),
                bps: p.ceiling_mbps() * 1e6,
            })
            .into_iter()
            .collect();
        let (cpu, cpu_limit) = match cpu::of_largest(&points, &names) {
            Some((f, nodes)) => {
                let said = cpu::limit(f, &nodes, ceiling_bps);
                (nodes, said)
            }
            None => (Vec::new(), None),
        };
        Outcome {
            nodes: plan.nodes.clone(),
            cpu,
            cpu_limit,
            algo: plan.algo,
            dtype: plan.dtype,
            iters: plan.iters,
            warmup: plan.warmup,
            planned: plan.ops.len() * plan.sizes.len(),
            bottleneck: bottleneck::find(&points, &names, ceiling_bps),
            meaning: meaning::paragraph(&ops, n, MEANING_GB, &ceilings),
            points,
            ops,
            problems,
            interrupted,
            profile: plan.profile.as_ref().map(|p| p.name.clone()),
            ceiling_bps,
        }
    }

    /// Every planned point ran whole on every rank.
    pub fn complete(&self) -> bool {
        self.points.len() == self.planned
            && self.points.iter().all(|(_, f)| f.complete)
            && self.problems.is_empty()
            && self.interrupted.is_none()
    }

    /// A point whose result some rank found wrong.
    pub fn wrong_result(&self) -> Option<&PointFigures> {
        self.points.iter().map(|(_, f)| f).find(|f| f.mismatch.is_some())
    }

    pub fn findings(&self) -> Vec<Finding> {
        self.bottleneck.iter().cloned().collect()
    }

    /// A bottleneck is a diagnosis; a run cut short without one is incomplete.
    pub fn verdict(&self) -> Verdict {
        if self.bottleneck.is_some() {
            Verdict::Diagnosed
        } else if !self.complete() {
            Verdict::Incomplete
        } else {
            Verdict::Ok
        }
    }

    /// The best judged busbw of any op, bit/s.
    pub fn peak_busbw_bps(&self) -> Option<f64> {
        self.ops.iter().filter_map(|o| o.peak_busbw_bps).reduce(f64::max)
    }
}
