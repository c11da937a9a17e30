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

    /// Why the run fails, when a node's result was wrong: one line naming the point and the element.
    pub fn failure(&self) -> Option<String> {
        self.wrong_result().map(|f| {
            format!(
                "{} at {} bytes returned a wrong result ({}): the run fails",
                f.op,
                f.size_bytes,
                f.mismatch.as_deref().unwrap_or("")
            )
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::collective::plan::{Asked, Sizes};
    use crate::protocol::{CollOp, PointResult};

    fn plan(n: usize) -> Plan {
        let nodes = (0..n)
            .map(|i| Node::new(&format!("h{i}"), &format!("10.0.0.{i}")))
            .collect();
        let asked = Asked {
            ops: vec![CollOp::Allreduce],
            sizes: Sizes::List(vec![1 << 20, 4 << 20]),
            iters: 2,
            warmup: 0,
            dtype: Dtype::F32,
            algo: Algo::Ring,
        };
        Plan::new(nodes, asked).unwrap()
    }

    /// Every rank reported every point, verified unless `wrong` names (point, rank).
    fn reports(plan: &Plan, wrong: Option<(usize, usize)>) -> Vec<Reports> {
        plan.points()
            .into_iter()
            .enumerate()
            .map(|(i, spec)| Reports {
                spec,
                ranks: (0..plan.nodes.len())
                    .map(|r| {
                        let bad = wrong == Some((i, r));
                        Some(PointResult {
                            point: i as u32,
                            times_s: vec![0.01, 0.01],
                            verified: !bad,
                            mismatch: bad.then(|| "index 7: got 3, expected 4".to_string()),
                            ..PointResult::default()
                        })
                    })
                    .collect(),
            })
            .collect()
    }

    #[test]
    fn a_wrong_element_fails_the_run_and_is_named() {
        let p = plan(3);
        let o = Outcome::new(&p, reports(&p, Some((1, 2))), vec![], None);
        let line = o.failure().unwrap();
        assert_eq!(
            line,
            "allreduce at 4194304 bytes returned a wrong result (rank 2: index 7: got 3, expected 4): the run fails"
        );
        assert!(o.points[0].1.verified && !o.points[1].1.verified);
        let ok = Outcome::new(&p, reports(&p, None), vec![], None);
        assert_eq!((ok.failure(), ok.verdict()), (None, Verdict::Ok));
        assert!(ok.complete());
    }

    #[test]
    fn a_node_that_left_keeps_the_points_measured_and_is_incomplete() {
        let p = plan(2);
        let mut r = reports(&p, None);
        r[1].ranks[1] = None;
        let o = Outcome::new(&p, r, vec!["h1: left the run: connection reset".into()], None);
        assert_eq!(o.verdict(), Verdict::Incomplete);
        assert!(o.points[0].1.judged_busbw().is_some() && o.points[1].1.judged_busbw().is_none());
        assert_eq!(o.failure(), None, "a missing rank is not a wrong result");
    }
}
