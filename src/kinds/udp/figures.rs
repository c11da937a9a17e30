//! UDP figures in every format: iperf3's UDP JSON names, the text columns and lines, the history's UDP columns.
//! The throughput renderings call these for a `-u` run.

use std::fmt::Write as _;

use serde::Serialize;

use crate::output::history::{HistoryRow, Kind};
use crate::output::json::opt_number;
use crate::protocol::{Protocol, StreamBytes, StreamTotals, TestRequest, UdpCounts};
use crate::result::DirectionResult;
use crate::units::BitsPerSec;

/// What the receiver-side UDP figures mean, in words (JSON `saf_net.udp.definition`, docs).
pub const DEFINITION: &str = "receiver side: packets = datagrams the sequence numbers say were sent (received + \
     lost); lost_packets = sequence numbers never received; out_of_order = datagrams that arrived after a higher \
     sequence number; duplicates are not counted as received; jitter_ms = RFC 3550 interarrival jitter from the \
     sender's timestamps and the receiver's arrival times; bytes = distinct datagrams' payload";

/// iperf3's UDP fields of one span, flattened into it. A sender span carries only `packets`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct UdpSpan {
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_number")]
    pub jitter_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_packets: Option<u64>,
    pub packets: u64,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_number")]
    pub lost_percent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_of_order: Option<u64>,
    /// saf-net's addition: datagrams that arrived more than once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicates: Option<u64>,
}

impl UdpSpan {
    pub fn of(c: &UdpCounts, sender: bool) -> UdpSpan {
        if sender {
            return UdpSpan {
                jitter_ms: None,
                lost_packets: None,
                packets: c.packets,
                lost_percent: None,
                out_of_order: None,
                duplicates: None,
            };
        }
        UdpSpan {
            jitter_ms: Some(c.jitter_ms),
            lost_packets: Some(c.lost),
            packets: c.packets,
            lost_percent: Some(c.lost_percent()),
            out_of_order: Some(c.out_of_order),
            duplicates: Some(c.duplicates),
        }
    }
}

/// Counts summed over streams; the jitter is the streams' mean, as iperf3 reports it. None without UDP streams.
pub fn sum<'a>(counts: impl Iterator<Item = &'a UdpCounts>) -> Option<UdpCounts> {
    let all: Vec<&UdpCounts> = counts.collect();
    if all.is_empty() {
        return None;
    }
    let mut s = all.iter().fold(UdpCounts::default(), |a, c| UdpCounts {
        packets: a.packets + c.packets,
        received: a.received + c.received,
        lost: a.lost + c.lost,
        out_of_order: a.out_of_order + c.out_of_order,
        duplicates: a.duplicates + c.duplicates,
        jitter_ms: a.jitter_ms + c.jitter_ms,
    });
    s.jitter_ms /= all.len() as f64;
    Some(s)
}

/// The UDP sum of one interval's stream entries.
pub fn interval_sum(list: &[StreamBytes]) -> Option<UdpCounts> {
    sum(list.iter().filter_map(|b| b.udp.as_ref()))
}

/// The UDP sum of some streams' totals.
pub fn totals_sum(list: &[StreamTotals]) -> Option<UdpCounts> {
    sum(list.iter().filter_map(|s| s.udp.as_ref()))
}

/// `saf_net.udp` in the JSON document: how the test was run and what the figures mean.
#[derive(Debug, Serialize)]
pub struct UdpInfo {
    /// Datagram payload size, bytes (-l, or what fits the path MTU).
    pub datagram_size: u32,
    /// Target per sending stream (-b); null means as fast as possible.
    pub target_bits_per_second: Option<u64>,
    pub definition: &'static str,
}

pub fn info(r: &TestRequest) -> Option<UdpInfo> {
    (r.protocol == Protocol::Udp).then_some(UdpInfo {
        datagram_size: r.block_size,
        target_bits_per_second: r.bitrate,
        definition: DEFINITION,
    })
}

/// The live interval header of a UDP test.
pub const INTERVAL_HEADER: &str =
    "[ ID] Interval           Transfer         Bitrate       Jitter    Lost/Total Datagrams  (receiver side)";

/// Jitter and loss columns of one receiver line: `0.012 ms  3/8500 (0.035%)`, reordering and duplicates if any.
pub fn columns(c: Option<&UdpCounts>) -> String {
    let Some(c) = c else {
        return String::new();
    };
    let mut s = format!(
        "{:>8.3} ms  {}/{} ({})",
        c.jitter_ms,
        c.lost,
        c.packets,
        percent(c.lost_percent())
    );
    if c.out_of_order > 0 {
        let _ = write!(s, "  {} out of order", c.out_of_order);
    }
    if c.duplicates > 0 {
        let _ = write!(s, "  {} duplicates", c.duplicates);
    }
    s
}

/// A loss percentage with enough digits to show small losses.
fn percent(p: f64) -> String {
    if p == 0.0 {
        "0%".into()
    } else if p < 0.01 {
        format!("{p:.4}%")
    } else {
        format!("{p:.2}%")
    }
}

/// The summary's UDP lines for one direction: receiver-side loss, reordering, duplicates, jitter.
pub fn summary_line(d: &DirectionResult) -> Option<String> {
    let rx = totals_sum(&d.receiver)?;
    let tx = totals_sum(&d.sender);
    let sent = tx.map_or(String::new(), |t| format!(" (the sender counted {} sent)", t.packets));
    Some(format!(
        "UDP, {}: lost {} of {} datagrams ({}){sent}, {} out of order, {} duplicates, jitter {:.3} ms  (receiver side)",
        d.label(),
        rx.lost,
        rx.packets,
        percent(rx.lost_percent()),
        rx.out_of_order,
        rx.duplicates,
        rx.jitter_ms
    ))
}

/// The run's UDP settings, for the summary.
pub fn settings_line(r: &TestRequest) -> Option<String> {
    (r.protocol == Protocol::Udp).then(|| {
        let rate = r.bitrate.map_or("as fast as possible (-b 0)".to_string(), |b| {
            let total = BitsPerSec(b as f64 * f64::from(r.streams.max(1)));
            format!(
                "{} per stream, {total} in total over {} stream(s)",
                BitsPerSec(b as f64),
                r.streams.max(1)
            )
        });
        format!("UDP settings: {}-byte datagrams, target {rate}", r.block_size)
    })
}

/// Fills a history row's UDP columns and marks it kind `udp`.
pub fn fill_history(r: &TestRequest, dirs: &[DirectionResult], row: &mut HistoryRow) {
    if r.protocol != Protocol::Udp {
        return;
    }
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    row.kind = Kind::Udp;
    let row = &mut row.detail;
    row.udp_datagram_bytes = Some(r.block_size);
    row.udp_target_mbps = r.bitrate.map(|b| round(b as f64 / 1e6));
    if let Some(rx) = dirs.first().and_then(|d| totals_sum(&d.receiver)) {
        row.udp_packets = Some(rx.packets);
        row.udp_lost = Some(rx.lost);
        row.udp_lost_percent = Some((rx.lost_percent() * 10_000.0).round() / 10_000.0);
        row.udp_out_of_order = Some(rx.out_of_order);
        row.udp_duplicates = Some(rx.duplicates);
        row.udp_jitter_ms = Some(round(rx.jitter_ms * 1000.0) / 1000.0);
    }
    if let Some(rx) = dirs.get(1).and_then(|d| totals_sum(&d.receiver)) {
        row.reverse_udp_lost_percent = Some((rx.lost_percent() * 10_000.0).round() / 10_000.0);
        row.reverse_udp_jitter_ms = Some(round(rx.jitter_ms * 1000.0) / 1000.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(packets: u64, lost: u64, jitter_ms: f64) -> UdpCounts {
        UdpCounts {
            packets,
            received: packets - lost,
            lost,
            out_of_order: 1,
            duplicates: 0,
            jitter_ms,
        }
    }

    #[test]
    fn sums_add_counts_and_average_jitter() {
        let s = sum([c(100, 10, 1.0), c(300, 10, 3.0)].iter()).unwrap();
        assert_eq!((s.packets, s.lost, s.received, s.out_of_order), (400, 20, 380, 2));
        assert_eq!(s.jitter_ms, 2.0);
        assert_eq!(s.lost_percent(), 5.0);
        assert_eq!(sum(std::iter::empty()), None);
    }

    #[test]
    fn spans_use_iperf3_names_and_senders_carry_packets_only() {
        let rx = serde_json::to_value(UdpSpan::of(&c(200, 2, 0.5), false)).unwrap();
        assert_eq!(rx["lost_packets"], 2);
        assert_eq!(rx["packets"], 200);
        assert_eq!(rx["lost_percent"], 1.0);
        assert_eq!(rx["jitter_ms"], 0.5);
        assert_eq!(rx["out_of_order"], 1);
        let tx = serde_json::to_value(UdpSpan::of(&c(200, 2, 0.5), true)).unwrap();
        assert_eq!(tx, serde_json::json!({"packets": 200}));
    }

    #[test]
    fn text_columns_show_loss_and_only_nonzero_extras() {
        let line = columns(Some(&c(8500, 3, 0.012)));
        assert!(line.contains("0.012 ms  3/8500 (0.04%)"), "{line}");
        assert!(
            line.contains("1 out of order") && !line.contains("duplicates"),
            "{line}"
        );
        assert_eq!(columns(None), "");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.001), "0.0010%");
    }
}
