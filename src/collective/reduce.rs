//! The data of a collective: each rank's known pattern (small integers, exact in f32 and bf16), the element
//! codecs (little-endian bytes; bf16 as the top 16 bits of an f32, rounded to nearest even), and the reduce
//! kernel `out = a + b` over plain byte slices in fixed-size chunks, which LLVM vectorises. The loops live in
//! the `saf-net-kernels` crate (`kernels/`), built optimised in debug builds too.

use crate::protocol::Dtype;

pub use saf_net_kernels::{PATTERN_MAX, bf16_to_f32, f32_to_bf16, value};

/// Element `k` of an encoded buffer, as f32.
pub fn decode(buf: &[u8], dtype: Dtype, k: usize) -> f32 {
    saf_net_kernels::decode(buf, dtype.size(), k)
}

/// Fills `buf` with rank `rank`'s pattern for the elements starting at `first`.
pub fn fill(buf: &mut [u8], dtype: Dtype, rank: usize, first: usize) {
    match dtype {
        Dtype::F32 => saf_net_kernels::fill_f32(buf, rank, first),
        Dtype::Bf16 => saf_net_kernels::fill_bf16(buf, rank, first),
    }
}

/// `out = a + b`, element by element; the three have the same length, a whole number of elements.
pub fn reduce(out: &mut [u8], a: &[u8], b: &[u8], dtype: Dtype) {
    match dtype {
        Dtype::F32 => saf_net_kernels::add_f32(out, a, b),
        Dtype::Bf16 => saf_net_kernels::add_bf16(out, a, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(values: &[f32], dtype: Dtype) -> Vec<u8> {
        let mut out = Vec::new();
        for &v in values {
            match dtype {
                Dtype::F32 => out.extend(v.to_le_bytes()),
                Dtype::Bf16 => out.extend(f32_to_bf16(v).to_le_bytes()),
            }
        }
        out
    }

    #[test]
    fn bf16_holds_every_pattern_sum_exactly_and_rounds_to_even() {
        for k in 0..=(16 * PATTERN_MAX) {
            let v = k as f32;
            assert_eq!(bf16_to_f32(f32_to_bf16(v)), v, "{k} is exact in bf16");
        }
        // 257 lies halfway between 256 and 258: ties go to the even mantissa (256).
        assert_eq!(bf16_to_f32(f32_to_bf16(257.0)), 256.0);
        assert_eq!(bf16_to_f32(f32_to_bf16(259.0)), 260.0);
        assert_eq!(bf16_to_f32(f32_to_bf16(-3.0)), -3.0);
    }

    #[test]
    fn reduce_adds_odd_lengths_in_both_types() {
        for dtype in [Dtype::F32, Dtype::Bf16] {
            // 37 elements: not a multiple of any vector width.
            let a: Vec<f32> = (0..37).map(|i| (i % 8) as f32).collect();
            let b: Vec<f32> = (0..37).map(|i| ((i * 3) % 8) as f32).collect();
            let (ea, eb) = (encoded(&a, dtype), encoded(&b, dtype));
            let mut out = vec![0u8; ea.len()];
            reduce(&mut out, &ea, &eb, dtype);
            for i in 0..37 {
                assert_eq!(decode(&out, dtype, i), a[i] + b[i], "{dtype:?} element {i}");
            }
        }
    }

    #[test]
    fn a_fill_starting_mid_buffer_matches_the_whole_one() {
        for dtype in [Dtype::F32, Dtype::Bf16] {
            let s = dtype.size();
            let mut whole = vec![0u8; 100 * s];
            fill(&mut whole, dtype, 3, 0);
            let mut part = vec![0u8; 33 * s];
            fill(&mut part, dtype, 3, 41);
            assert_eq!(&whole[41 * s..74 * s], &part[..]);
            let distinct: std::collections::HashSet<u32> = (0..100).map(|i| decode(&whole, dtype, i) as u32).collect();
            assert!(distinct.len() > 4, "the pattern varies along the buffer");
        }
    }
}
