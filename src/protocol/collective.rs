//! Protocol 3's collective section of a group join (issue #20): which ops, sizes and iterations each member runs
//! over its ring (or all-pairs) connections, and what a member reports per point. An optional field of
//! `GroupJoin`: an older member's strict decoding refuses a join that carries it. Rules: docs/protocol.md.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Most points (op × size) one collective join may list.
pub const MAX_POINTS: usize = 512;
/// Most timed iterations of one point.
pub const MAX_ITERS: u32 = 10_000;
/// Most warm-up iterations of one point.
pub const MAX_WARMUP: u32 = 100;

/// A collective operation, as nccl-tests names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum CollOp {
    Allreduce,
    Allgather,
    ReduceScatter,
    Broadcast,
    Alltoall,
}

impl CollOp {
    pub const ALL: [CollOp; 5] = [
        CollOp::Allreduce,
        CollOp::Allgather,
        CollOp::ReduceScatter,
        CollOp::Broadcast,
        CollOp::Alltoall,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CollOp::Allreduce => "allreduce",
            CollOp::Allgather => "allgather",
            CollOp::ReduceScatter => "reduce-scatter",
            CollOp::Broadcast => "broadcast",
            CollOp::Alltoall => "alltoall",
        }
    }

    /// Whether the op needs a connection between every two members (else the ring's).
    pub fn all_pairs(self) -> bool {
        self == CollOp::Alltoall
    }
}

impl fmt::Display for CollOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The element type of the buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    #[default]
    F32,
    Bf16,
}

impl Dtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::Bf16 => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Dtype::F32 => "f32",
            Dtype::Bf16 => "bf16",
        }
    }
}

/// How the data moves: `ring` (reduce-scatter then allgather for allreduce; a chain from rank 0 for broadcast).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum Algo {
    #[default]
    Ring,
}

/// One point of the sweep: an op at one per-rank buffer size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointSpec {
    pub op: CollOp,
    /// The per-rank buffer, bytes (as nccl-tests' size).
    pub size_bytes: u64,
    pub iters: u32,
    pub warmup: u32,
}

/// The collective a group runs instead of timed flows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectiveSpec {
    pub algo: Algo,
    pub dtype: Dtype,
    pub points: Vec<PointSpec>,
}

impl CollectiveSpec {
    /// The largest per-rank buffer of any point.
    pub fn largest(&self) -> u64 {
        self.points.iter().map(|p| p.size_bytes).max().unwrap_or(0)
    }

    /// Whether any op needs every pair connected.
    pub fn all_pairs(&self) -> bool {
        self.points.iter().any(|p| p.op.all_pairs())
    }

    /// The spec's own rules for a group of `members`: points, iterations, sizes.
    pub fn check(&self, members: usize) -> Result<(), String> {
        if self.points.is_empty() || self.points.len() > MAX_POINTS {
            return Err(format!("a collective has 1 to {MAX_POINTS} points (op × size)"));
        }
        let least = (members * self.dtype.size()) as u64;
        for p in &self.points {
            if p.iters == 0 || p.iters > MAX_ITERS || p.warmup > MAX_WARMUP {
                return Err(format!(
                    "a point has 1 to {MAX_ITERS} iterations and 0 to {MAX_WARMUP} warm-up ones"
                ));
            }
            if p.size_bytes < least {
                return Err(format!(
                    "a size of {} bytes is below {members} members × {} bytes of {}",
                    p.size_bytes,
                    self.dtype.size(),
                    self.dtype.as_str()
                ));
            }
        }
        Ok(())
    }
}

/// What one member measured of one point.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointResult {
    /// Index into the spec's points.
    pub point: u32,
    /// Seconds of each timed iteration on this member's clock.
    pub times_s: Vec<f64>,
    /// Whether this member's result equalled the closed-form expectation.
    pub verified: bool,
    /// The first wrong element, when not verified: "index I: got X, expected Y".
    pub mismatch: Option<String>,
    /// This member's outgoing connections over the timed iterations.
    pub links: Vec<LinkTime>,
    /// CPU seconds (user + system) the member's process used over the timed iterations; None when unknown.
    #[serde(default)]
    pub cpu_s: Option<f64>,
    /// The member's CPU count (what the process may run on); None when unknown.
    #[serde(default)]
    pub cores: Option<u32>,
    /// Why the point did not run whole.
    pub error: Option<String>,
}

/// One outgoing connection of a member during a point's timed iterations.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkTime {
    pub to: u32,
    pub bytes: u64,
    /// Seconds the sender spent inside its writes (blocked on a full socket buffer, i.e. on the link).
    pub send_blocked_s: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(size: u64) -> CollectiveSpec {
        CollectiveSpec {
            algo: Algo::Ring,
            dtype: Dtype::F32,
            points: vec![PointSpec {
                op: CollOp::Allreduce,
                size_bytes: size,
                iters: 5,
                warmup: 1,
            }],
        }
    }

    #[test]
    fn specs_are_checked_and_named_in_kebab_case() {
        assert!(spec(12).check(3).is_ok());
        assert!(spec(11).check(3).unwrap_err().contains("below 3 members × 4 bytes"));
        let mut s = spec(1024);
        s.points[0].iters = 0;
        assert!(s.check(2).is_err());
        let text = serde_json::to_string(&CollOp::ReduceScatter).unwrap();
        assert_eq!(text, r#""reduce-scatter""#);
        assert_eq!(CollOp::ReduceScatter.as_str(), "reduce-scatter");
    }
}
