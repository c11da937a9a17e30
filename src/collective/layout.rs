//! Where a rank's buffer is cut: chunks (one per rank for the ring and all-to-all, one for broadcast) and the
//! pieces the pipeline moves (at most [`PIECE_BYTES`], never across a chunk), and each op's ring schedule: which
//! chunk a rank sends and receives at each step.

use std::ops::Range;

use crate::protocol::CollOp;

/// The most bytes one piece holds: the pipeline's grain. A piece received is forwarded while the next arrives.
pub const PIECE_BYTES: usize = 256 << 10;

/// A buffer of `elems` elements cut into chunks and pieces (byte ranges).
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub elem: usize,
    /// Element offsets: chunk c is `bounds[c]..bounds[c + 1]`.
    pub bounds: Vec<usize>,
    /// Byte ranges of the pieces, in buffer order.
    pub pieces: Vec<Range<usize>>,
    /// Piece indexes of each chunk.
    pub chunk_pieces: Vec<Range<usize>>,
}

impl Layout {
    /// The layout of `op` for a buffer of `elems` elements over `n` ranks. The ring's chunks differ by at most
    /// one element; all-to-all's blocks are equal (`elems / n` each; the tail is not sent).
    pub fn new(op: CollOp, elems: usize, n: usize, elem: usize) -> Layout {
        let bounds: Vec<usize> = match op {
            CollOp::Broadcast => vec![0, elems],
            CollOp::Alltoall => (0..=n).map(|c| c * (elems / n)).collect(),
            _ => (0..=n).map(|c| c * elems / n).collect(),
        };
        let per_piece = (PIECE_BYTES / elem).max(1);
        let mut pieces = Vec::new();
        let mut chunk_pieces = Vec::new();
        for w in bounds.windows(2) {
            let first = pieces.len();
            let mut at = w[0];
            while at < w[1] {
                let end = (at + per_piece).min(w[1]);
                pieces.push(at * elem..end * elem);
                at = end;
            }
            chunk_pieces.push(first..pieces.len());
        }
        Layout {
            elem,
            bounds,
            pieces,
            chunk_pieces,
        }
    }

    /// Byte range of chunk `c`.
    pub fn chunk_bytes(&self, c: usize) -> Range<usize> {
        self.bounds[c] * self.elem..self.bounds[c + 1] * self.elem
    }

    /// Bytes of the buffer the op uses.
    pub fn used_bytes(&self) -> usize {
        self.bounds.last().copied().unwrap_or(0) * self.elem
    }
}

/// One step of a rank's sender: a chunk, from its own send buffer (at once) or from the result buffer as its
/// receiver finishes each piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendStep {
    pub chunk: usize,
    pub own: bool,
}

/// One step of a rank's receiver: a chunk, added to the rank's own (reduce) or copied; `notify` hands each
/// finished piece to the sender, which forwards it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvStep {
    pub chunk: usize,
    pub reduce: bool,
    pub notify: bool,
}

/// A rank's part in a ring op (or broadcast's chain from rank 0).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RingPlan {
    pub sends: Vec<SendStep>,
    pub recvs: Vec<RecvStep>,
    /// A chunk of the send buffer the result holds unchanged (allgather's own chunk).
    pub local_copy: Option<usize>,
}

/// Rank `r`'s ring schedule for `op` over `n` ranks. Reduce-scatter step s sends chunk r−s−1 and adds chunk
/// r−s−2, so rank r ends with chunk r reduced; allgather step s sends chunk r−s and copies chunk r−s−1;
/// allreduce is the one then the other. Every step after the first sends what the receiver finished last.
pub fn ring(op: CollOp, r: usize, n: usize) -> RingPlan {
    let at = |k: usize| (r + n * 2 - k % n) % n;
    let steps = n - 1;
    let rs_send = |s: usize, own: bool| SendStep { chunk: at(s + 1), own };
    let rs_recv = |s: usize, notify: bool| RecvStep {
        chunk: at(s + 2),
        reduce: true,
        notify,
    };
    let ag_send = |s: usize, own: bool| SendStep { chunk: at(s), own };
    let ag_recv = |s: usize, notify: bool| RecvStep {
        chunk: at(s + 1),
        reduce: false,
        notify,
    };
    let mut p = RingPlan::default();
    match op {
        CollOp::Allreduce => {
            p.sends = (0..steps).map(|s| rs_send(s, s == 0)).collect();
            p.sends.extend((0..steps).map(|s| ag_send(s, false)));
            p.recvs = (0..steps).map(|s| rs_recv(s, true)).collect();
            p.recvs.extend((0..steps).map(|s| ag_recv(s, s + 1 < steps)));
        }
        CollOp::ReduceScatter => {
            p.sends = (0..steps).map(|s| rs_send(s, s == 0)).collect();
            p.recvs = (0..steps).map(|s| rs_recv(s, s + 1 < steps)).collect();
        }
        CollOp::Allgather => {
            p.sends = (0..steps).map(|s| ag_send(s, s == 0)).collect();
            p.recvs = (0..steps).map(|s| ag_recv(s, s + 1 < steps)).collect();
            p.local_copy = Some(r);
        }
        CollOp::Broadcast => {
            if r + 1 < n {
                p.sends = vec![SendStep { chunk: 0, own: r == 0 }];
            }
            if r > 0 {
                p.recvs = vec![RecvStep {
                    chunk: 0,
                    reduce: false,
                    notify: r + 1 < n,
                }];
            }
        }
        CollOp::Alltoall => {}
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_odd_sizes_and_pieces_never_cross_them() {
        let l = Layout::new(CollOp::Allreduce, 1_000_003, 3, 4);
        assert_eq!(l.bounds, vec![0, 333_334, 666_668, 1_000_003]);
        assert_eq!(l.used_bytes(), 4_000_012);
        for (c, pr) in l.chunk_pieces.iter().enumerate() {
            let bytes = l.chunk_bytes(c);
            assert_eq!(l.pieces[pr.start].start, bytes.start);
            assert_eq!(l.pieces[pr.end - 1].end, bytes.end);
            assert!(
                l.pieces[pr.clone()]
                    .iter()
                    .all(|p| p.len() <= PIECE_BYTES && p.len() % 4 == 0)
            );
        }
        let a = Layout::new(CollOp::Alltoall, 10, 3, 2);
        assert_eq!(a.bounds, vec![0, 3, 6, 9]);
    }

    /// Every piece a sender waits for is one its receiver notifies, in the same order.
    #[test]
    fn each_sender_forwards_exactly_what_its_receiver_finished() {
        for n in 2..=6 {
            for op in [
                CollOp::Allreduce,
                CollOp::ReduceScatter,
                CollOp::Allgather,
                CollOp::Broadcast,
            ] {
                for r in 0..n {
                    let p = ring(op, r, n);
                    let waited: Vec<usize> = p.sends.iter().filter(|s| !s.own).map(|s| s.chunk).collect();
                    let notified: Vec<usize> = p.recvs.iter().filter(|s| s.notify).map(|s| s.chunk).collect();
                    assert_eq!(waited, notified, "{op} rank {r} of {n}");
                    // What r sends at a step, r+1 receives at the same step.
                    let next = ring(op, (r + 1) % n, n);
                    let sent: Vec<usize> = p.sends.iter().map(|s| s.chunk).collect();
                    let got: Vec<usize> = next.recvs.iter().map(|s| s.chunk).collect();
                    if op != CollOp::Broadcast || r + 1 < n {
                        assert_eq!(sent, got, "{op} rank {r} -> {} of {n}", (r + 1) % n);
                    }
                }
            }
        }
    }

    #[test]
    fn reduce_scatter_leaves_rank_r_its_own_chunk() {
        for n in 2..=5 {
            for r in 0..n {
                let p = ring(CollOp::ReduceScatter, r, n);
                assert_eq!(p.recvs.last().map(|s| s.chunk), Some(r));
                let ar = ring(CollOp::Allreduce, r, n);
                let mut seen: Vec<usize> = ar.recvs.iter().filter(|s| !s.reduce).map(|s| s.chunk).collect();
                seen.push(r);
                seen.sort_unstable();
                assert_eq!(seen, (0..n).collect::<Vec<_>>(), "allgather fills every other chunk");
            }
        }
    }
}
