//! A collective's plan: the nodes (at least 2, at most a group's 16), the ops, the sizes (a list, or a doubling
//! sweep), iterations, warm-ups and the element type, checked before anything is dialed; and the spec each
//! member receives.

use crate::classify::Classify;
use crate::kinds::mesh::nodes::Node;
use crate::profile::Profile;
use crate::protocol::{Algo, CollOp, CollectiveSpec, Dtype, MAX_ITERS, MAX_MEMBERS, MAX_POINTS, MAX_WARMUP, PointSpec};

/// The default sweep: 1 KiB to 64 MiB, doubling (nccl-tests' `-b 1K -e 64M -f 2`).
pub const DEFAULT_MIN: u64 = 1 << 10;
pub const DEFAULT_MAX: u64 = 64 << 20;
pub const DEFAULT_ITERS: u32 = 20;
pub const DEFAULT_WARMUP: u32 = 5;

/// What was wrong with the arguments (exit 2).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    #[error("a collective needs at least 2 nodes, got {0}; give more NODEs, a --nodes FILE or --from-ray")]
    TooFew(usize),
    #[error("a collective has at most {MAX_MEMBERS} nodes (one group session), got {0}")]
    TooMany(usize),
    #[error("--min {min} is above --max {max}: give the smaller size first")]
    MinAboveMax { min: u64, max: u64 },
    #[error(
        "size {size} bytes is smaller than {nodes} nodes × {elem} bytes of {dtype}: every rank needs at least one \
         element; give a larger size"
    )]
    TooSmall {
        size: u64,
        nodes: usize,
        elem: usize,
        dtype: &'static str,
    },
    #[error("{0} points (ops × sizes) is more than one run takes ({MAX_POINTS}); give fewer sizes or ops")]
    TooManyPoints(usize),
    #[error("--iters {0}: give 1 to {MAX_ITERS}")]
    Iters(u32),
    #[error("--warmup {0}: give 0 to {MAX_WARMUP}")]
    Warmup(u32),
    #[error("--sizes lists no size: give e.g. --sizes 1M,16M,256M")]
    NoSizes,
}

impl Classify for PlanError {
    fn is_usage(&self) -> bool {
        true
    }
}

/// Which sizes: a list, or a doubling sweep from `min` to `max` (both included).
#[derive(Debug, Clone, PartialEq)]
pub enum Sizes {
    List(Vec<u64>),
    Sweep { min: u64, max: u64 },
}

/// A checked collective.
#[derive(Debug, Clone)]
pub struct Plan {
    pub nodes: Vec<Node>,
    pub ops: Vec<CollOp>,
    /// Per-rank buffer sizes, ascending, each once.
    pub sizes: Vec<u64>,
    pub iters: u32,
    pub warmup: u32,
    pub dtype: Dtype,
    pub algo: Algo,
    pub profile: Option<Profile>,
}

/// What the command line asked for, before the checks.
#[derive(Debug, Clone)]
pub struct Asked {
    pub ops: Vec<CollOp>,
    pub sizes: Sizes,
    pub iters: u32,
    pub warmup: u32,
    pub dtype: Dtype,
    pub algo: Algo,
}

impl Plan {
    pub fn new(nodes: Vec<Node>, asked: Asked) -> Result<Plan, PlanError> {
        let n = nodes.len();
        if n < 2 {
            return Err(PlanError::TooFew(n));
        }
        if n > MAX_MEMBERS {
            return Err(PlanError::TooMany(n));
        }
        if !(1..=MAX_ITERS).contains(&asked.iters) {
            return Err(PlanError::Iters(asked.iters));
        }
        if asked.warmup > MAX_WARMUP {
            return Err(PlanError::Warmup(asked.warmup));
        }
        let sizes = sizes(&asked.sizes)?;
        let least = (n * asked.dtype.size()) as u64;
        if let Some(&size) = sizes.iter().find(|&&s| s < least) {
            return Err(PlanError::TooSmall {
                size,
                nodes: n,
                elem: asked.dtype.size(),
                dtype: asked.dtype.as_str(),
            });
        }
        let mut ops = asked.ops.clone();
        if ops.is_empty() {
            ops.push(CollOp::Allreduce);
        }
        ops.dedup();
        let points = ops.len() * sizes.len();
        if points > MAX_POINTS {
            return Err(PlanError::TooManyPoints(points));
        }
        Ok(Plan {
            nodes,
            ops,
            sizes,
            iters: asked.iters,
            warmup: asked.warmup,
            dtype: asked.dtype,
            algo: asked.algo,
            profile: None,
        })
    }

    /// The points in sweep order: each op over every size, smallest first.
    pub fn points(&self) -> Vec<PointSpec> {
        self.ops
            .iter()
            .flat_map(|&op| {
                self.sizes.iter().map(move |&size_bytes| PointSpec {
                    op,
                    size_bytes,
                    iters: self.iters,
                    warmup: self.warmup,
                })
            })
            .collect()
    }

    /// What every member receives.
    pub fn spec(&self) -> CollectiveSpec {
        CollectiveSpec {
            algo: self.algo,
            dtype: self.dtype,
            points: self.points(),
        }
    }

    /// The profile's TCP goodput ceiling, bit/s.
    pub fn ceiling_bps(&self) -> Option<f64> {
        self.profile.as_ref().map(|p| p.ceiling_mbps() * 1e6)
    }
}

/// The sizes, ascending and each once; a sweep doubles from `min` and ends with `max`.
fn sizes(asked: &Sizes) -> Result<Vec<u64>, PlanError> {
    let mut out = match asked {
        Sizes::List(list) if list.is_empty() => return Err(PlanError::NoSizes),
        Sizes::List(list) => list.clone(),
        Sizes::Sweep { min, max } if min > max => {
            return Err(PlanError::MinAboveMax { min: *min, max: *max });
        }
        Sizes::Sweep { min, max } => {
            let mut v = Vec::new();
            let mut s = (*min).max(1);
            while s < *max && v.len() <= MAX_POINTS {
                v.push(s);
                s = s.saturating_mul(2);
            }
            v.push(*max);
            v
        }
    };
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(n: usize) -> Vec<Node> {
        (0..n)
            .map(|i| Node::new(&format!("n{i}"), &format!("10.0.0.{}", i + 1)))
            .collect()
    }

    fn asked(sizes: Sizes) -> Asked {
        Asked {
            ops: vec![],
            sizes,
            iters: 5,
            warmup: 1,
            dtype: Dtype::F32,
            algo: Algo::Ring,
        }
    }

    #[test]
    fn a_sweep_doubles_and_ends_at_max() {
        let p = Plan::new(nodes(3), asked(Sizes::Sweep { min: 1024, max: 5000 })).unwrap();
        assert_eq!(p.sizes, vec![1024, 2048, 4096, 5000]);
        assert_eq!(p.ops, vec![CollOp::Allreduce]);
        assert_eq!(p.points().len(), 4);
    }

    #[test]
    fn bad_plans_are_named() {
        let e = |n, s| Plan::new(nodes(n), asked(s)).unwrap_err();
        assert_eq!(e(1, Sizes::List(vec![1024])), PlanError::TooFew(1));
        assert_eq!(
            e(2, Sizes::Sweep { min: 4096, max: 1024 }),
            PlanError::MinAboveMax { min: 4096, max: 1024 }
        );
        assert!(matches!(
            e(4, Sizes::List(vec![15, 1024])),
            PlanError::TooSmall { size: 15, .. }
        ));
        assert_eq!(e(2, Sizes::List(vec![])), PlanError::NoSizes);
        assert!(e(17, Sizes::List(vec![1 << 20])).to_string().contains("at most 16"));
    }
}
