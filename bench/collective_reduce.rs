//! The collective's reduce kernel (`out = a + b`) in GB/s of output on this machine, f32 and bf16, for a piece
//! that fits in the cache (256 KiB, the pipeline's grain) and for 64 MiB buffers (memory-bound), next to a plain
//! `copy_from_slice` of the same bytes as the memory's own bound. At 10 Gbit/s a ring allreduce reduces at most
//! 1.25 GB/s per rank, so the kernel must run well above that. Run: `cargo bench --bench collective_reduce`.

use std::time::{Duration, Instant};

use saf_net::collective::reduce::{fill, reduce};
use saf_net::protocol::Dtype;

/// Timed rounds per case; the median is reported.
const ROUNDS: usize = 15;
/// Bytes each round moves through the kernel at least.
const BYTES_PER_ROUND: usize = 512 << 20;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// GB/s (10⁹ bytes of output per second) of `op` over `len`-byte buffers, median of the rounds.
fn rate(len: usize, mut op: impl FnMut()) -> f64 {
    let reps = (BYTES_PER_ROUND / len).max(1);
    for _ in 0..reps.min(8) {
        op();
    }
    let rounds = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                op();
            }
            let took = t.elapsed().max(Duration::from_nanos(1));
            (len * reps) as f64 / took.as_secs_f64() / 1e9
        })
        .collect();
    median(rounds)
}

fn main() {
    println!("collective reduce kernel, GB/s of output (median of {ROUNDS} rounds of >= 512 MiB)");
    println!("{:>8} {:>10} {:>10} {:>10}", "buffer", "f32 add", "bf16 add", "memcpy");
    for len in [256usize << 10, 64 << 20] {
        let mut out = vec![0u8; len];
        let (mut a, mut b) = (vec![0u8; len], vec![0u8; len]);
        let mut figures = Vec::new();
        for dtype in [Dtype::F32, Dtype::Bf16] {
            fill(&mut a, dtype, 0, 0);
            fill(&mut b, dtype, 1, 0);
            figures.push(rate(len, || reduce(std::hint::black_box(&mut out), &a, &b, dtype)));
        }
        let copy = rate(len, || std::hint::black_box(&mut out).copy_from_slice(&a));
        let name = if len < 1 << 20 {
            format!("{}K", len >> 10)
        } else {
            format!("{}M", len >> 20)
        };
        println!("{name:>8} {:>10.2} {:>10.2} {copy:>10.2}", figures[0], figures[1]);
    }
}
