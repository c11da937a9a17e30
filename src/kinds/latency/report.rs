//! Latency results: text, the JSON document (percentiles plus CDF buckets), and the history row.

use std::fmt::Write as _;

use serde::Serialize;

use super::LatencyOutcome;
use crate::engine::probe::ProbeOutcome;
use crate::output::history::{HistoryRow, Kind, KindColumns};
use crate::output::json::{ProbeSafNet, ProbeStart, ProbeTestStart, ServerInfo};
use crate::output::{Report, RunMeta, Verdict};
use crate::stats::{CdfPoint, LatencyStats};

/// Below this share of the requested probe rate, the run warns that the host could not keep up.
const RATE_SHORTFALL: f64 = 0.9;

#[derive(Debug, Serialize)]
pub struct Document {
    pub start: ProbeStart,
    pub end: End,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub saf_net: ProbeSafNet,
}

/// One probe run's counts and statistics, shared by `saf-net latency` and `client --latency`.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    pub lost_percent: f64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub requested_rate_per_second: Option<f64>,
    pub achieved_rate_per_second: f64,
    /// RTT from each probe's actual send time.
    pub rtt: LatencyStats,
    /// RTT from each probe's scheduled send time (fixed rate only): what a stalled sender would otherwise hide.
    pub rtt_from_schedule: Option<LatencyStats>,
    /// Histogram buckets of `rtt` as a CDF.
    pub histogram: Vec<CdfPoint>,
}

impl ProbeReport {
    pub fn new(p: &ProbeOutcome, interval: std::time::Duration) -> ProbeReport {
        ProbeReport {
            sent: p.sent,
            received: p.received,
            lost: p.lost,
            lost_percent: if p.sent > 0 {
                100.0 * p.lost as f64 / p.sent as f64
            } else {
                0.0
            },
            duplicates: p.duplicates,
            out_of_order: p.out_of_order,
            requested_rate_per_second: (!interval.is_zero()).then(|| 1.0 / interval.as_secs_f64()),
            achieved_rate_per_second: p.achieved_rate(),
            rtt: p.rtt.stats(),
            rtt_from_schedule: p.rtt_from_schedule.as_ref().map(|r| r.stats()),
            histogram: p.rtt.cdf(),
        }
    }

    /// A warning when the host sent probes well below the requested rate.
    pub fn rate_warning(&self) -> Option<String> {
        let want = self.requested_rate_per_second?;
        (self.achieved_rate_per_second < want * RATE_SHORTFALL && self.sent > 1).then(|| {
            format!(
                "asked for {want:.0} probes/s but this host achieved {:.0}/s; the schedule-based RTT shows the cost",
                self.achieved_rate_per_second
            )
        })
    }
}

#[derive(Debug, Serialize)]
pub struct End {
    #[serde(flatten)]
    pub report: ProbeReport,
}

pub fn document(o: &LatencyOutcome, meta: &RunMeta) -> Document {
    let report = ProbeReport::new(&o.probe, o.plan.interval);
    let warnings = report.rate_warning().into_iter().collect();
    Document {
        start: ProbeStart::new(
            meta,
            ProbeTestStart {
                protocol: if o.mode == crate::protocol::LatencyMode::Udp {
                    "UDP"
                } else {
                    "TCP"
                },
                mode: o.mode.as_str(),
                size_bytes: o.plan.size,
                interval_seconds: o.plan.interval.as_secs_f64(),
                count: o.plan.count,
                duration_seconds: o.plan.duration.map(|d| d.as_secs_f64()),
                timeout_seconds: o.plan.timeout.as_secs_f64(),
                busy_poll_microseconds: busy_poll_us(o),
            },
        ),
        end: End { report },
        error: o.probe.error.clone(),
        saf_net: ProbeSafNet {
            version: env!("CARGO_PKG_VERSION"),
            kind: "latency",
            run_id: meta.run_id.clone(),
            label: meta.label.clone(),
            profile: meta.profile.clone(),
            complete: o.probe.error.is_none(),
            server: ServerInfo {
                address: o.server.to_string(),
                version: o.server_software.clone(),
            },
            warnings,
            time: crate::output::json::rfc3339(meta.time),
        },
    }
}

/// One line of percentiles, in microseconds.
pub fn stats_line(name: &str, s: &LatencyStats) -> String {
    format!(
        "  {name:<9} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
        s.min_us, s.p50_us, s.p90_us, s.p99_us, s.p99_9_us, s.p99_99_us, s.max_us, s.mean_us, s.stddev_us, s.jitter_us
    )
}

pub const STATS_HEADER: &str =
    "  RTT (µs)       min      p50      p90      p99    p99.9   p99.99      max     mean   stddev   jitter";

/// The probe counts and percentile table.
pub fn report_text(out: &mut String, r: &ProbeReport) {
    let _ = writeln!(
        out,
        "  sent {}, received {}, lost {} ({:.2} %), duplicates {}, out of order {}",
        r.sent, r.received, r.lost, r.lost_percent, r.duplicates, r.out_of_order
    );
    let _ = writeln!(out, "{STATS_HEADER}");
    let _ = writeln!(out, "{}", stats_line("actual", &r.rtt));
    if let Some(s) = &r.rtt_from_schedule {
        let _ = writeln!(out, "{}", stats_line("schedule", s));
        let _ = writeln!(
            out,
            "  (schedule: RTT from each probe's planned send time, so a stalled sender cannot hide slow answers)"
        );
    }
}

pub fn summary(o: &LatencyOutcome) -> String {
    let mut out = String::new();
    let report = ProbeReport::new(&o.probe, o.plan.interval);
    let mut pace = if o.plan.interval.is_zero() {
        "back to back".to_string()
    } else {
        format!("every {:.1} ms", o.plan.interval.as_secs_f64() * 1000.0)
    };
    if let Some(us) = busy_poll_us(o) {
        let _ = write!(pace, ", busy poll {us} µs");
    }
    let _ = writeln!(
        out,
        "Latency to {} ({}, {}-byte probes, {pace}, timeout {:.1} s)",
        o.server,
        o.mode.as_str(),
        o.plan.size,
        o.plan.timeout.as_secs_f64()
    );
    report_text(&mut out, &report);
    if let Some(w) = report.rate_warning() {
        let _ = writeln!(out, "Warning: {w}");
    }
    if let Some(e) = &o.probe.error {
        let _ = writeln!(out, "INCOMPLETE: {e}");
    }
    out
}

/// The busy-poll window in microseconds, when the prober spun.
fn busy_poll_us(o: &LatencyOutcome) -> Option<u64> {
    let us = o.plan.busy_poll.as_micros();
    (us > 0).then(|| u64::try_from(us).unwrap_or(u64::MAX))
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub fn history_row(o: &LatencyOutcome, meta: &RunMeta) -> HistoryRow {
    let r = ProbeReport::new(&o.probe, o.plan.interval);
    HistoryRow {
        streams: 1,
        duration_s: round(o.probe.elapsed.as_secs_f64()),
        complete: o.probe.error.is_none(),
        detail: KindColumns {
            latency_mode: Some(o.mode.as_str().into()),
            rtt_min_us: Some(round(r.rtt.min_us)),
            rtt_p50_us: Some(round(r.rtt.p50_us)),
            rtt_p90_us: Some(round(r.rtt.p90_us)),
            rtt_p99_us: Some(round(r.rtt.p99_us)),
            rtt_p99_9_us: Some(round(r.rtt.p99_9_us)),
            rtt_max_us: Some(round(r.rtt.max_us)),
            jitter_us: Some(round(r.rtt.jitter_us)),
            lost_percent: Some(round(r.lost_percent)),
            ..KindColumns::default()
        },
        ..HistoryRow::for_run(Kind::Latency, meta)
    }
}

impl Report for LatencyOutcome {
    type Document = Document;

    fn document(&self, meta: &RunMeta) -> Document {
        document(self, meta)
    }

    fn text(&self, _: &RunMeta) -> String {
        summary(self)
    }

    fn history_row(&self, meta: &RunMeta) -> HistoryRow {
        history_row(self, meta)
    }

    /// A run the server or a fault ended early is incomplete.
    fn verdict(&self) -> Verdict {
        if self.probe.error.is_none() {
            Verdict::Ok
        } else {
            Verdict::Incomplete
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::engine::probe::ProbePlan;
    use crate::output::history::{details, encode_row};
    use crate::protocol::LatencyMode;
    use crate::stats::Recorder;

    #[test]
    fn latency_rows_are_byte_identical_to_schema_5() {
        let mut rtt = Recorder::default();
        for ns in [100_000, 120_000, 150_000, 400_000] {
            rtt.record(ns);
        }
        let o = LatencyOutcome {
            mode: LatencyMode::Udp,
            server: "192.168.1.172:5201".parse().unwrap(),
            server_software: String::new(),
            started_at: SystemTime::UNIX_EPOCH,
            plan: ProbePlan {
                count: Some(5),
                duration: None,
                interval: Duration::from_millis(10),
                size: 64,
                timeout: Duration::from_secs(1),
                busy_poll: Duration::ZERO,
            },
            probe: ProbeOutcome {
                sent: 5,
                received: 4,
                lost: 1,
                duplicates: 0,
                out_of_order: 0,
                rtt,
                rtt_from_schedule: None,
                elapsed: Duration::from_millis(1234),
                error: None,
            },
        };
        let row = history_row(&o, &RunMeta::fixed());
        let want = concat!(
            "5,latency,20261129T130000Z-a1b2c3,2026-11-30T13:00:00Z,",
            "\"has, comma\",1gbe,beta,192.168.1.172,,1,1.234,0,0.0,0.0,,,true,",
            env!("CARGO_PKG_VERSION"),
            ",,\n"
        );
        assert_eq!(String::from_utf8(encode_row(&row)).unwrap(), want);
        // The figures schema 4 had in its columns, in the per-run JSON.
        let json = concat!(
            "{\"history_columns\":{\"jitter_us\":18.481,\"latency_mode\":\"udp\",\"lost_percent\":20.0,",
            "\"rtt_max_us\":400.127,\"rtt_min_us\":99.968,\"rtt_p50_us\":120.063,\"rtt_p90_us\":400.127,",
            "\"rtt_p99_9_us\":400.127,\"rtt_p99_us\":400.127}}"
        );
        assert_eq!(details::with_columns("{}", &row.detail), json);
    }
}
