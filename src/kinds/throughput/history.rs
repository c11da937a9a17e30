//! A throughput run's row in the history: the headline direction, the reverse one of a `--bidir` run, RTT idle
//! and loaded (`--latency`), the path columns, and UDP's columns for a `-u` run.

use super::Outcome;
use crate::kinds::udp;
use crate::output::RunMeta;
use crate::output::history::{HistoryRow, Kind, KindColumns};

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The row of kind `throughput` (`udp` for a `-u` run).
pub(super) fn row(o: &Outcome, meta: &RunMeta) -> HistoryRow {
    let dirs = o.directions();
    let first = &dirs[0];
    let second = dirs.get(1);
    let mut row = HistoryRow {
        direction: o.request.direction.as_str().into(),
        streams: o.request.streams,
        duration_s: round(first.received.seconds),
        bytes: first.received.bytes,
        receiver_mbps: round(first.received.rate().mbps()),
        sender_mbps: round(first.sent.rate().mbps()),
        reverse_receiver_mbps: second.map(|d| round(d.received.rate().mbps())),
        reverse_sender_mbps: second.map(|d| round(d.sent.rate().mbps())),
        complete: o.complete(),
        detail: KindColumns {
            latency_mode: o.latency.as_ref().map(|_| "udp".into()),
            idle_rtt_p50_us: o.latency.as_ref().map(|l| round(l.idle.rtt.stats().p50_us)),
            idle_rtt_p99_us: o.latency.as_ref().map(|l| round(l.idle.rtt.stats().p99_us)),
            loaded_rtt_p50_us: o.latency.as_ref().map(|l| round(l.loaded.rtt.stats().p50_us)),
            loaded_rtt_p99_us: o.latency.as_ref().map(|l| round(l.loaded.rtt.stats().p99_us)),
            ..KindColumns::default()
        },
        ..HistoryRow::for_run(Kind::Throughput, meta)
    };
    row.fill_path(&o.path);
    udp::fill_history(&o.request, &dirs, &mut row);
    row
}
