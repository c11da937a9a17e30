//! The element kernels of saf-net's collectives, kept in a crate of their own so that `Cargo.toml` can build
//! them optimised even in debug builds (`[profile.dev.package.saf-net-kernels]`): unoptimised, a reduction runs
//! at a fifth of a 1 Gbit/s link, and the test suite runs debug builds. Plain byte slices, little-endian
//! elements, loops over fixed-size chunks that LLVM vectorises. Data layout and meaning: saf-net's
//! `src/collective/reduce.rs`.

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

/// Fills `buf` (f32 elements) with rank `rank`'s pattern for the elements starting at `first`.
pub fn fill_f32(buf: &mut [u8], rank: usize, first: usize) {
    for (k, e) in buf.chunks_exact_mut(4).enumerate() {
        e.copy_from_slice(&(value(rank, first + k) as f32).to_le_bytes());
    }
}

/// Fills `buf` (bf16 elements) with rank `rank`'s pattern for the elements starting at `first`.
pub fn fill_bf16(buf: &mut [u8], rank: usize, first: usize) {
    for (k, e) in buf.chunks_exact_mut(2).enumerate() {
        e.copy_from_slice(&f32_to_bf16(value(rank, first + k) as f32).to_le_bytes());
    }
}

/// `out = a + b` over f32 elements.
pub fn add_f32(out: &mut [u8], a: &[u8], b: &[u8]) {
    for ((o, x), y) in out.chunks_exact_mut(4).zip(a.chunks_exact(4)).zip(b.chunks_exact(4)) {
        let x = f32::from_le_bytes([x[0], x[1], x[2], x[3]]);
        let y = f32::from_le_bytes([y[0], y[1], y[2], y[3]]);
        o.copy_from_slice(&(x + y).to_le_bytes());
    }
}

/// `out = a + b` over bf16 elements (the sum rounded to bf16).
pub fn add_bf16(out: &mut [u8], a: &[u8], b: &[u8]) {
    for ((o, x), y) in out.chunks_exact_mut(2).zip(a.chunks_exact(2)).zip(b.chunks_exact(2)) {
        let x = bf16_to_f32(u16::from_le_bytes([x[0], x[1]]));
        let y = bf16_to_f32(u16::from_le_bytes([y[0], y[1]]));
        o.copy_from_slice(&f32_to_bf16(x + y).to_le_bytes());
    }
}

/// Element `k` of a buffer of `size`-byte elements (4: f32, 2: bf16), as f32; NaN past its end.
#[inline]
pub fn decode(buf: &[u8], size: usize, k: usize) -> f32 {
    match buf.get(k * size..(k + 1) * size) {
        Some(b) if size == 4 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        Some(b) => bf16_to_f32(u16::from_le_bytes([b[0], b[1]])),
        None => f32::NAN,
    }
}

/// The first element `k` of `buf` (elements `first`… of an allreduce's result, `size` bytes each) that is not
/// `sums[value(0, first + k)]`, with what it holds.
pub fn first_wrong_sum(buf: &[u8], size: usize, first: usize, sums: &[f32]) -> Option<(usize, f32)> {
    (0..buf.len() / size).find_map(|k| {
        let got = decode(buf, size, k);
        (got != sums[value(0, first + k) as usize]).then_some((k, got))
    })
}
