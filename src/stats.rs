//! Latency statistics: an HDR histogram of round-trip times, percentiles, RFC 3550 jitter.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Highest RTT the histogram holds: one minute, in nanoseconds.
const MAX_NS: u64 = 60_000_000_000;

/// Percentiles and moments of a set of RTTs, in microseconds (units in the field names).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LatencyStats {
    pub samples: u64,
    pub min_us: f64,
    pub mean_us: f64,
    pub stddev_us: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p99_9_us: f64,
    pub p99_99_us: f64,
    pub max_us: f64,
    /// RFC 3550 interarrival jitter of successive RTTs.
    pub jitter_us: f64,
}

/// One point of the CDF: the share of samples at or below `rtt_us`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CdfPoint {
    pub rtt_us: f64,
    pub count: u64,
    pub cumulative: f64,
}

/// Records RTTs with 3 significant digits from 1 ns to 60 s.
#[derive(Debug, Clone)]
pub struct Recorder {
    hist: Histogram<u64>,
    jitter_ns: f64,
    last_ns: Option<u64>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            hist: Histogram::new_with_bounds(1, MAX_NS, 3).expect("static bounds are valid"),
            jitter_ns: 0.0,
            last_ns: None,
        }
    }
}

impl Recorder {
    /// Adds one RTT, in nanoseconds.
    pub fn record(&mut self, ns: u64) {
        let v = ns.clamp(1, MAX_NS);
        let _ = self.hist.record(v);
        if let Some(last) = self.last_ns {
            // RFC 3550 §6.4.1: J += (|D| - J) / 16.
            let d = (v as f64 - last as f64).abs();
            self.jitter_ns += (d - self.jitter_ns) / 16.0;
        }
        self.last_ns = Some(v);
    }

    /// Each recorded value (ns) with how many times it was seen, as the histogram holds them (3 digits).
    pub fn recorded(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.hist
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
    }

    pub fn len(&self) -> u64 {
        self.hist.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }

    pub fn stats(&self) -> LatencyStats {
        if self.hist.is_empty() {
            return LatencyStats::default();
        }
        let us = |ns: u64| ns as f64 / 1000.0;
        let q = |p: f64| us(self.hist.value_at_quantile(p));
        LatencyStats {
            samples: self.hist.len(),
            min_us: us(self.hist.min()),
            mean_us: self.hist.mean() / 1000.0,
            stddev_us: self.hist.stdev() / 1000.0,
            p50_us: q(0.50),
            p90_us: q(0.90),
            p99_us: q(0.99),
            p99_9_us: q(0.999),
            p99_99_us: q(0.9999),
            max_us: us(self.hist.max()),
            jitter_us: self.jitter_ns / 1000.0,
        }
    }

    /// The histogram's non-empty buckets as a CDF, enough to draw it.
    pub fn cdf(&self) -> Vec<CdfPoint> {
        let total = self.hist.len().max(1) as f64;
        let mut seen = 0u64;
        self.hist
            .iter_recorded()
            .map(|v| {
                seen += v.count_at_value();
                CdfPoint {
                    rtt_us: self.hist.highest_equivalent(v.value_iterated_to()) as f64 / 1000.0,
                    count: v.count_at_value(),
                    cumulative: seen as f64 / total,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_known_samples() {
        let mut r = Recorder::default();
        for us in 1..=1000u64 {
            r.record(us * 1000);
        }
        let s = r.stats();
        assert_eq!(s.samples, 1000);
        let close = |got: f64, want: f64| (got - want).abs() <= want * 0.001 + 0.001;
        assert!(close(s.min_us, 1.0), "{s:?}");
        assert!(close(s.p50_us, 500.0), "{s:?}");
        assert!(close(s.p90_us, 900.0), "{s:?}");
        assert!(close(s.p99_us, 990.0), "{s:?}");
        assert!(close(s.p99_9_us, 999.0), "{s:?}");
        assert!(close(s.max_us, 1000.0), "{s:?}");
        assert!(close(s.mean_us, 500.5), "{s:?}");
        assert!((s.stddev_us - 288.67).abs() < 0.5, "{s:?}");
        assert!(s.min_us <= s.p50_us && s.p50_us <= s.p99_us && s.p99_us <= s.max_us);
    }

    #[test]
    fn jitter_follows_rfc3550() {
        let mut r = Recorder::default();
        for ns in [100_000u64, 200_000, 100_000, 200_000] {
            r.record(ns);
        }
        // Three differences of 100 µs: J = 100 * (1 - (15/16)^3).
        let want = 100.0 * (1.0 - (15.0f64 / 16.0).powi(3));
        assert!((r.stats().jitter_us - want).abs() < 0.01, "{}", r.stats().jitter_us);
        let mut flat = Recorder::default();
        for _ in 0..10 {
            flat.record(50_000);
        }
        assert_eq!(flat.stats().jitter_us, 0.0);
    }

    #[test]
    fn cdf_ends_at_one_and_is_monotonic() {
        let mut r = Recorder::default();
        for ns in [10_000u64, 10_000, 20_000, 5_000_000] {
            r.record(ns);
        }
        let cdf = r.cdf();
        assert_eq!(cdf.len(), 3);
        assert!((cdf.last().unwrap().cumulative - 1.0).abs() < 1e-9);
        assert!(
            cdf.windows(2)
                .all(|w| w[0].rtt_us < w[1].rtt_us && w[0].cumulative < w[1].cumulative)
        );
        assert_eq!(cdf[0].count, 2);
        assert!(Recorder::default().cdf().is_empty());
        assert_eq!(Recorder::default().stats(), LatencyStats::default());
    }
}
