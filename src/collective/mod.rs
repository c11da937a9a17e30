//! The collective engine a member runs (issue #20): ring allreduce (reduce-scatter then allgather), allgather,
//! reduce-scatter, broadcast (a chain from rank 0) and all-to-all over blocking TCP streams to its peers, on real
//! data that every rank verifies. `layout.rs` (chunks, pieces, ring schedules), `reduce.rs` (pattern, codecs,
//! kernel), `ops.rs` (one iteration), `point.rs` (one point's iterations and check), `verify.rs` (closed forms).
//! The member's session around it is `server/collective.rs`; the orchestrator's figures are `kinds/collective/`.

pub mod layout;
pub mod ops;
pub mod point;
pub mod reduce;
pub mod verify;

pub use point::{Peers, run_point};

use crate::protocol::{CollectiveSpec, PointResult};

/// Runs every point of `spec` in order until one fails or `stop` says why to stop; each point's result goes to
/// `emit` as it ends, and `at(point, iteration)` follows the progress.
pub fn sweep(
    spec: &CollectiveSpec,
    peers: &Peers,
    stop: &dyn Fn() -> Option<String>,
    at: &dyn Fn(u32, u32),
    emit: &mut dyn FnMut(PointResult),
) -> Option<String> {
    for (i, p) in spec.points.iter().enumerate() {
        let i = i as u32;
        at(i, 0);
        let r = run_point(i, p, spec.dtype, peers, stop, &|it| at(i, it));
        let failed = r.error.clone();
        emit(r);
        if failed.is_some() {
            return failed;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream};

    use super::*;
    use crate::protocol::{CollOp, Dtype, PointSpec};

    /// `n` ranks on loopback, connected as `all_pairs` asks (else as a ring).
    fn connect(n: usize, all_pairs: bool) -> Vec<Peers> {
        let mut peers: Vec<Peers> = (0..n)
            .map(|rank| Peers {
                rank,
                n,
                ..Peers::default()
            })
            .collect();
        for a in 0..n {
            for b in 0..n {
                if a == b || (!all_pairs && b != (a + 1) % n) || peers[a].out.contains_key(&b) {
                    continue;
                }
                let l = TcpListener::bind("127.0.0.1:0").unwrap();
                let out = TcpStream::connect(l.local_addr().unwrap()).unwrap();
                let (inc, _) = l.accept().unwrap();
                peers[a].out.insert(b, out);
                peers[b].inc.insert(a, inc);
            }
        }
        peers
    }

    fn run_all(op: CollOp, n: usize, size: u64, dtype: Dtype) -> Vec<PointResult> {
        let peers = connect(n, op.all_pairs());
        let spec = PointSpec {
            op,
            size_bytes: size,
            iters: 3,
            warmup: 1,
        };
        std::thread::scope(|s| {
            let hs: Vec<_> = peers
                .iter()
                .map(|p| s.spawn(move || run_point(0, &spec, dtype, p, &|| None, &|_| {})))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }

    #[test]
    fn every_op_verifies_on_loopback_at_odd_sizes() {
        // 3 ranks, sizes that are no multiple of 3, of the pieces, or (1001) of the element size.
        for op in CollOp::ALL {
            for (dtype, size) in [(Dtype::F32, 1_000_004), (Dtype::Bf16, 1001), (Dtype::F32, 12)] {
                for r in run_all(op, 3, size, dtype) {
                    assert_eq!(r.error, None, "{op} {dtype:?} {size}");
                    assert!(r.verified, "{op} {dtype:?} {size}: {:?}", r.mismatch);
                    assert_eq!(r.times_s.len(), 3);
                }
            }
        }
    }

    #[test]
    fn two_ranks_and_a_broadcast_chain_of_four_verify() {
        for r in run_all(CollOp::Allreduce, 2, 4 << 20, Dtype::Bf16) {
            assert!(r.verified, "{:?}", r.mismatch);
            assert_eq!(r.links.len(), 1);
        }
        let rs = run_all(CollOp::Broadcast, 4, 3 << 20, Dtype::F32);
        assert!(rs.iter().all(|r| r.verified));
        assert!(rs[3].links.is_empty(), "the chain's last rank sends nothing");
        assert_eq!(
            rs[0].links[0].bytes,
            3 * (3 << 20),
            "rank 0 sends the buffer each timed iteration"
        );
    }

    #[test]
    fn a_missing_peer_is_named_before_anything_runs() {
        let mut peers = connect(3, false);
        peers[1].inc.clear();
        let spec = PointSpec {
            op: CollOp::Allreduce,
            size_bytes: 1024,
            iters: 1,
            warmup: 0,
        };
        let r = run_point(0, &spec, Dtype::F32, &peers[1], &|| None, &|_| {});
        assert_eq!(r.error.as_deref(), Some("no connection from member 0"));
    }
}
