//! Every rank checks its result against the closed form of what the op must leave there, element by element.

use super::layout::Layout;
use super::reduce::{PATTERN_MAX, decode, value};
use crate::protocol::{CollOp, Dtype};

/// What element `i` of rank `rank`'s result must be, or None where the op leaves nothing defined.
pub fn expected(op: CollOp, layout: &Layout, rank: usize, n: usize, i: usize) -> Option<f32> {
    let chunk = |i: usize| layout.bounds.windows(2).position(|w| (w[0]..w[1]).contains(&i));
    let sum = |i: usize| (0..n).map(|r| value(r, i)).sum::<u32>() as f32;
    match op {
        CollOp::Allreduce => Some(sum(i)),
        CollOp::ReduceScatter => (chunk(i) == Some(rank)).then(|| sum(i)),
        CollOp::Allgather => chunk(i).map(|c| value(c, i) as f32),
        CollOp::Broadcast => (i < layout.bounds[1]).then(|| value(0, i) as f32),
        CollOp::Alltoall => chunk(i).map(|s| {
            let k = i - layout.bounds[s];
            value(s, layout.bounds[rank] + k) as f32
        }),
    }
}

/// The first element of `result` (rank `rank`'s, as pieces in buffer order) that is not what the op must leave
/// there: "index I: got X, expected Y".
pub fn check<'a>(
    op: CollOp,
    layout: &Layout,
    dtype: Dtype,
    rank: usize,
    n: usize,
    result: impl Iterator<Item = &'a [u8]>,
) -> Result<(), String> {
    let sums = sums_by_hash(n);
    let mut i = 0;
    for piece in result {
        if op == CollOp::Allreduce {
            // The whole result is defined: one optimised pass per piece.
            if let Some((k, got)) = saf_net_kernels::first_wrong_sum(piece, dtype.size(), i, &sums) {
                let at = i + k;
                return Err(format!(
                    "index {at}: got {got}, expected {}",
                    sums[value(0, at) as usize]
                ));
            }
            i += piece.len() / dtype.size();
            continue;
        }
        for k in 0..piece.len() / dtype.size() {
            let want = match op {
                // The sum depends only on the index's hash: one table instead of n additions per element.
                CollOp::Allreduce => Some(sums[value(0, i) as usize]),
                _ => expected(op, layout, rank, n, i),
            };
            let got = decode(piece, dtype, k);
            if let Some(w) = want
                && got != w
            {
                return Err(format!("index {i}: got {got}, expected {w}"));
            }
            i += 1;
        }
    }
    Ok(())
}

/// The allreduce's sum for each value of rank 0's pattern.
fn sums_by_hash(n: usize) -> Vec<f32> {
    (0..=PATTERN_MAX)
        .map(|h| (0..n as u32).map(|r| (h + r) & PATTERN_MAX).sum::<u32>() as f32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::reduce::{fill, reduce};
    use super::*;

    fn pattern(rank: usize, elems: usize, dtype: Dtype) -> Vec<u8> {
        let mut b = vec![0u8; elems * dtype.size()];
        fill(&mut b, dtype, rank, 0);
        b
    }

    #[test]
    fn an_allreduce_by_hand_verifies_and_one_wrong_element_is_named() {
        for dtype in [Dtype::F32, Dtype::Bf16] {
            let (n, elems) = (3, 101);
            let layout = Layout::new(CollOp::Allreduce, elems, n, dtype.size());
            let mut acc = pattern(0, elems, dtype);
            for r in 1..n {
                let mut out = vec![0u8; acc.len()];
                reduce(&mut out, &acc, &pattern(r, elems, dtype), dtype);
                acc = out;
            }
            assert_eq!(
                check(CollOp::Allreduce, &layout, dtype, 1, n, [&acc[..]].into_iter()),
                Ok(())
            );
            let s = dtype.size();
            acc[57 * s..58 * s].copy_from_slice(&pattern(0, elems, dtype)[57 * s..58 * s]);
            let e = check(CollOp::Allreduce, &layout, dtype, 1, n, [&acc[..]].into_iter()).unwrap_err();
            assert!(e.starts_with("index 57: got"), "{e}");
        }
    }

    #[test]
    fn each_op_expects_its_own_placement() {
        let (n, elems) = (4, 40);
        let layout = Layout::new(CollOp::Allgather, elems, n, 4);
        // Allgather: chunk c holds rank c's values.
        assert_eq!(
            expected(CollOp::Allgather, &layout, 2, n, 35),
            Some(value(3, 35) as f32)
        );
        assert_eq!(expected(CollOp::ReduceScatter, &layout, 2, n, 5), None);
        assert!(expected(CollOp::ReduceScatter, &layout, 2, n, 25).is_some());
        let a2a = Layout::new(CollOp::Alltoall, 42, n, 4);
        // Blocks of 10: rank 1's index 23 is block 2, offset 3, which rank 2 sent from its block 1: index 13.
        assert_eq!(expected(CollOp::Alltoall, &a2a, 1, n, 23), Some(value(2, 13) as f32));
        assert_eq!(
            expected(CollOp::Alltoall, &a2a, 1, n, 41),
            None,
            "the tail past n blocks is not sent"
        );
    }

    #[test]
    fn a_swapped_chunk_is_caught() {
        let (n, elems) = (4, 4096);
        let layout = Layout::new(CollOp::Allgather, elems, n, 4);
        let mut result = vec![0u8; elems * 4];
        for c in 0..n {
            let r = layout.chunk_bytes(c);
            let from = if c < 2 { 1 - c } else { c };
            fill(&mut result[r], Dtype::F32, from, layout.bounds[c]);
        }
        assert!(check(CollOp::Allgather, &layout, Dtype::F32, 0, n, [&result[..]].into_iter()).is_err());
    }
}
