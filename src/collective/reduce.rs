//! The data of a collective: each rank's known pattern (small integers, exact in f32 and bf16), the element
//! codecs (little-endian bytes; bf16 as the top 16 bits of an f32, rounded to nearest even), and the reduce
//! kernel `out = a + b` over plain byte slices in fixed-size chunks, which LLVM vectorises.

use crate::protocol::Dtype;

/// Values of the pattern are 0 to `PATTERN_MAX`; a sum over 16 ranks (at most 112) stays exact in bf16's 8 bits.
pub const PATTERN_MAX: u32 = 7;

/// Rank `rank`'s value at element `index`: a hash of the index (so a misplaced piece shows) plus the rank, mod 8.
#[inline]
pub fn value(rank: usize, index: usize) -> u32 {
    let h = (index as u32).wrapping_mul(0x9E37_79B9) >> 29;
    (h + rank as u32) & PATTERN_MAX
}

/// bf16 bits → f32 (exact).
#[inline]
pub fn bf16_to_f32(bits: u16) -> f32 {
    f32::from_bits(u32::from(bits) << 16)
}

/// f32 → bf16 bits, rounded to nearest, ties to even.
#[inline]
pub fn f32_to_bf16(v: f32) -> u16 {
    let bits = v.to_bits();
    let rounded = bits.wrapping_add(0x7FFF + ((bits >> 16) & 1));
    (rounded >> 16) as u16
}

/// Element `k` of an encoded buffer, as f32.
pub fn decode(buf: &[u8], dtype: Dtype, k: usize) -> f32 {
    let s = dtype.size();
    match buf.get(k * s..(k + 1) * s) {
        Some(b) if dtype == Dtype::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        Some(b) => bf16_to_f32(u16::from_le_bytes([b[0], b[1]])),
        None => f32::NAN,
    }
}

/// Fills `buf` with rank `rank`'s pattern for the elements starting at `first`.
pub fn fill(buf: &mut [u8], dtype: Dtype, rank: usize, first: usize) {
    match dtype {
        Dtype::F32 => {
            for (k, e) in buf.chunks_exact_mut(4).enumerate() {
                e.copy_from_slice(&(value(rank, first + k) as f32).to_le_bytes());
            }
        }
        Dtype::Bf16 => {
            for (k, e) in buf.chunks_exact_mut(2).enumerate() {
                e.copy_from_slice(&f32_to_bf16(value(rank, first + k) as f32).to_le_bytes());
            }
        }
    }
}

/// `out = a + b`, element by element; the three have the same length, a whole number of elements.
pub fn reduce(out: &mut [u8], a: &[u8], b: &[u8], dtype: Dtype) {
    match dtype {
        Dtype::F32 => add_f32(out, a, b),
        Dtype::Bf16 => add_bf16(out, a, b),
    }
}

fn add_f32(out: &mut [u8], a: &[u8], b: &[u8]) {
    for ((o, x), y) in out.chunks_exact_mut(4).zip(a.chunks_exact(4)).zip(b.chunks_exact(4)) {
        let x = f32::from_le_bytes([x[0], x[1], x[2], x[3]]);
        let y = f32::from_le_bytes([y[0], y[1], y[2], y[3]]);
        o.copy_from_slice(&(x + y).to_le_bytes());
    }
}

fn add_bf16(out: &mut [u8], a: &[u8], b: &[u8]) {
    for ((o, x), y) in out.chunks_exact_mut(2).zip(a.chunks_exact(2)).zip(b.chunks_exact(2)) {
        let x = bf16_to_f32(u16::from_le_bytes([x[0], x[1]]));
        let y = bf16_to_f32(u16::from_le_bytes([y[0], y[1]]));
        o.copy_from_slice(&f32_to_bf16(x + y).to_le_bytes());
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
