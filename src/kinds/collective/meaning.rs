//! "What it means": each op's peak busbw turned into the time a training job waits for it, in the cluster
//! document's terms (10 GB of gradients, a model sent to every node), at the measured figure and at the
//! ceilings it is set against. An op that did not run whole says nothing.

use super::figures::{OpSummary, bus_factor};
use crate::protocol::CollOp;

/// A ceiling to set the measured figures against: a profile's name and its TCP goodput ceiling, bit/s.
#[derive(Debug, Clone, PartialEq)]
pub struct Ceiling {
    pub name: String,
    pub bps: f64,
}

/// Seconds to run `op` on a buffer of `bytes` over `n` ranks at `busbw` bit/s (busbw = size × factor / time).
pub fn seconds(op: CollOp, bytes: f64, n: usize, busbw: f64) -> f64 {
    bytes * 8.0 * bus_factor(op, n) / busbw
}

fn what(op: CollOp, gb: &str) -> String {
    match op {
        CollOp::Allreduce => format!("Syncing {gb} GB of gradients (allreduce)"),
        CollOp::Allgather => format!("Gathering {gb} GB of shards onto every node (allgather)"),
        CollOp::ReduceScatter => format!("Reduce-scattering {gb} GB of gradients, as sharded optimizers do"),
        CollOp::Broadcast => format!("Sending a {gb} GB model to every node (broadcast)"),
        CollOp::Alltoall => format!("Exchanging {gb} GB among all nodes (all-to-all, as expert layers do)"),
    }
}

fn secs(s: f64) -> String {
    if s >= 100.0 {
        format!("{s:.0} s")
    } else if s >= 1.0 {
        format!("{s:.1} s")
    } else {
        format!("{:.0} ms", s * 1e3)
    }
}

/// The paragraph for `ops` over `n` nodes, `gb` gigabytes (10⁹ bytes) each.
pub fn paragraph(ops: &[OpSummary], n: usize, gb: f64, ceilings: &[Ceiling]) -> String {
    let gb_text = format!("{gb}");
    let mut lines = Vec::new();
    for s in ops {
        let Some(busbw) = s.peak_busbw_bps.filter(|b| *b > 0.0) else {
            continue;
        };
        let t = seconds(s.op, gb * 1e9, n, busbw);
        let mut line = format!(
            "{} across the {n} nodes takes {} at the measured busbw of {:.2} Gbit/s",
            what(s.op, &gb_text),
            secs(t),
            busbw / 1e9
        );
        for c in ceilings {
            let at = seconds(s.op, gb * 1e9, n, c.bps);
            line += &format!(
                "; at the {} ceiling ({:.2} Gbit/s) it would take {} ({:.0} % of it is reached)",
                c.name,
                c.bps / 1e9,
                secs(at),
                busbw / c.bps * 100.0
            );
        }
        lines.push(line + ".");
    }
    if lines.is_empty() {
        return "No op ran whole and verified, so this run says nothing about the time training waits for the network."
            .into();
    }
    lines.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(op: CollOp, busbw: f64) -> OpSummary {
        OpSummary {
            op,
            peak_busbw_bps: Some(busbw),
            peak_size_bytes: Some(1 << 28),
            latency_floor_s: None,
            latency_floor_size_bytes: None,
            half_peak_size_bytes: None,
        }
    }

    #[test]
    fn ten_gb_of_gradients_in_the_seed_documents_terms() {
        // 2 nodes: allreduce's factor is 1, so 10 GB at 1 Gbit/s of busbw is 80 s; at 10 Gbit/s, 8 s.
        assert_eq!(seconds(CollOp::Allreduce, 10e9, 2, 1e9), 80.0);
        let ten = Ceiling {
            name: "10gbe".into(),
            bps: 10e9,
        };
        let p = paragraph(&[summary(CollOp::Allreduce, 1e9)], 2, 10.0, &[ten]);
        assert!(
            p.starts_with("Syncing 10 GB of gradients (allreduce) across the 2 nodes takes 80.0 s"),
            "{p}"
        );
        assert!(
            p.contains("at the 10gbe ceiling (10.00 Gbit/s) it would take 8.0 s (10 % of it is reached)"),
            "{p}"
        );
        assert!(paragraph(&[], 2, 10.0, &[]).starts_with("No op ran whole"));
    }
}
