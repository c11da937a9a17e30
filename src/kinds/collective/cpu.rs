//! What each node's CPU did in the largest point that ran whole: cores its saf-net used over the timed
//! iterations (CPU seconds / seconds), out of how many it has; and, when busbw stays below the link and a node
//! was near all its cores, the plain statement that the CPU, not the link, is the limit. Unknown stays unknown.

use serde::Serialize;

use super::figures::{PointFigures, Reports};
use crate::units::short_size;

/// A node at or above this share of its cores counts as CPU-bound.
const BUSY_SHARE: f64 = 0.80;
/// busbw at or above this share of the ceiling is the link's figure, whatever the CPU did.
const AT_THE_LINK: f64 = 0.90;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeCpu {
    pub node: String,
    /// Cores busy on average over the timed iterations; None when the node could not tell.
    pub cores_used: Option<f64>,
    pub cores: Option<u32>,
}

/// The CPU of every node in the largest point that ran whole and verified, with that point.
pub fn of_largest<'a>(
    points: &'a [(Reports, PointFigures)],
    names: &[String],
) -> Option<(&'a PointFigures, Vec<NodeCpu>)> {
    let (r, f) = points
        .iter()
        .filter(|(_, f)| f.judged_busbw().is_some())
        .max_by_key(|(_, f)| f.size_bytes)?;
    let nodes = r
        .ranks
        .iter()
        .zip(names)
        .map(|(p, name)| {
            let p = p.as_ref();
            let wall: f64 = p.map_or(0.0, |p| p.times_s.iter().sum());
            NodeCpu {
                node: name.clone(),
                cores_used: p.and_then(|p| p.cpu_s).filter(|_| wall > 0.0).map(|c| c / wall),
                cores: p.and_then(|p| p.cores),
            }
        })
        .collect();
    Some((f, nodes))
}

/// "h2's saf-net used 1.9 of its 2 cores during allreduce 256M while busbw was 41 % of the ceiling: its CPU,
/// not the link, is the limit", when that is so; None when busbw is near the link, without a ceiling, or when
/// no node was near all its cores.
pub fn limit(f: &PointFigures, nodes: &[NodeCpu], ceiling_bps: Option<f64>) -> Option<String> {
    let share = f.judged_busbw()? / ceiling_bps.filter(|c| *c > 0.0)?;
    if share >= AT_THE_LINK {
        return None;
    }
    let busy: Vec<String> = nodes
        .iter()
        .filter_map(|n| {
            let (used, cores) = (n.cores_used?, n.cores?);
            (used >= BUSY_SHARE * f64::from(cores)).then(|| format!("{} used {used:.1} of its {cores} cores", n.node))
        })
        .collect();
    (!busy.is_empty()).then(|| {
        format!(
            "{} during {} {} while busbw was {:.0} % of the ceiling: the CPU, not the link, is the limit",
            busy.join(", "),
            f.op,
            short_size(f.size_bytes),
            share * 100.0
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{CollOp, PointSpec};

    fn figures(busbw: f64) -> PointFigures {
        PointFigures {
            op: CollOp::Allreduce,
            size_bytes: 256 << 20,
            iters: 1,
            time_p50_s: Some(1.0),
            time_p99_s: Some(1.0),
            algbw_bps: Some(busbw),
            busbw_bps: Some(busbw),
            verified: true,
            complete: true,
            mismatch: None,
            error: None,
        }
    }

    fn node(name: &str, used: Option<f64>, cores: Option<u32>) -> NodeCpu {
        NodeCpu {
            node: name.into(),
            cores_used: used,
            cores,
        }
    }

    #[test]
    fn a_node_near_all_its_cores_below_the_link_is_the_limit() {
        let nodes = [node("h1", Some(0.4), Some(2)), node("h2", Some(1.9), Some(2))];
        let said = limit(&figures(4e9), &nodes, Some(9.9e9)).unwrap();
        assert!(
            said.starts_with("h2 used 1.9 of its 2 cores during allreduce 256M"),
            "{said}"
        );
        assert!(said.ends_with("the CPU, not the link, is the limit"));
        assert_eq!(limit(&figures(9.5e9), &nodes, Some(9.9e9)), None, "at the link");
        assert_eq!(limit(&figures(4e9), &nodes, None), None, "no ceiling to be below");
        let unknown = [node("h1", None, Some(2)), node("h2", Some(1.9), None)];
        assert_eq!(limit(&figures(4e9), &unknown, Some(9.9e9)), None, "unknown is not busy");
    }

    #[test]
    fn cores_used_is_cpu_seconds_over_the_timed_seconds() {
        let r = Reports {
            spec: PointSpec {
                op: CollOp::Allreduce,
                size_bytes: 1 << 20,
                iters: 2,
                warmup: 0,
            },
            ranks: vec![Some(crate::protocol::PointResult {
                times_s: vec![0.5, 0.5],
                verified: true,
                cpu_s: Some(0.25),
                cores: Some(8),
                ..Default::default()
            })],
        };
        let f = crate::kinds::collective::figures::figures(&r, 1);
        let points = vec![(r, f)];
        let (_, nodes) = of_largest(&points, &["a".into()]).unwrap();
        assert_eq!(nodes, vec![node("a", Some(0.25), Some(8))]);
    }
}
