//! The server's results as iperf3's client expects them in `EXCHANGE_RESULTS`: CPU use, and per stream the
//! bytes it counted (what the client shows as `sum_received` when it sent), retransmits, UDP jitter and loss.

use crate::protocol::iperf3::{Results, StreamResult, stream_id};
use crate::protocol::{SideResults, StreamTotals};

/// Percent of the run's wall time.
fn percent(secs: f64, wall: f64) -> f64 {
    if wall > 0.0 { 100.0 * secs / wall } else { 0.0 }
}

fn stream(s: &StreamTotals) -> StreamResult {
    let udp = s.udp.unwrap_or_default();
    StreamResult {
        // Engine streams are numbered from 1 in creation order, as iperf3's are.
        id: i64::from(stream_id(s.stream.saturating_sub(1) as usize)),
        bytes: s.bytes,
        // iperf3 sends -1 where it has no count (a receiver, or no TCP_INFO).
        retransmits: s.tcp.map_or(-1, |t| t.retransmits as i64),
        jitter: udp.jitter_ms / 1000.0,
        errors: udp.lost as i64,
        packets: udp.packets as i64,
        start_time: Some(0.0),
        end_time: Some(s.seconds),
        omitted_errors: Some(0),
        omitted_packets: Some(0),
    }
}

/// The results document for this side's run.
pub fn document(results: &SideResults) -> Results {
    let cpu = &results.cpu;
    let wall = cpu.wall_seconds;
    let sends_tcp = results.streams.iter().any(|s| s.sender && s.tcp.is_some());
    let mut streams: Vec<&StreamTotals> = results.streams.iter().collect();
    streams.sort_by_key(|s| s.stream);
    Results {
        cpu_util_total: percent(cpu.user_seconds + cpu.system_seconds, wall),
        cpu_util_user: percent(cpu.user_seconds, wall),
        cpu_util_system: percent(cpu.system_seconds, wall),
        sender_has_retransmits: if sends_tcp { 1 } else { -1 },
        streams: streams.into_iter().map(stream).collect(),
        ..Results::default()
    }
}

/// The bytes the client counted, from its results document. Read loosely: iperf3 3.12 writes its -1s as
/// 18446744073709551615, which the codec's `Results` refuses, and nothing else in it is used.
pub fn client_counted(doc: &serde_json::Value) -> u64 {
    doc.get("streams")
        .and_then(serde_json::Value::as_array)
        .map_or(0, |a| a.iter().filter_map(|s| s.get("bytes")?.as_u64()).sum())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{CpuUsage, TcpTotals, UdpCounts};

    fn totals(stream: u32, sender: bool) -> StreamTotals {
        StreamTotals {
            stream,
            sender,
            bytes: 1000 * u64::from(stream),
            seconds: 1.04,
            bytes_total: 0,
            error: None,
            tcp: None,
            udp: None,
        }
    }

    #[test]
    fn ids_follow_iperf3_and_figures_are_the_servers() {
        let mut tx = totals(2, true);
        tx.tcp = Some(TcpTotals {
            retransmits: 7,
            ..TcpTotals::default()
        });
        let mut rx = totals(1, false);
        rx.udp = Some(UdpCounts {
            packets: 100,
            received: 98,
            lost: 2,
            jitter_ms: 0.5,
            ..UdpCounts::default()
        });
        let doc = document(&SideResults {
            streams: vec![tx, rx],
            socket: None,
            cpu: CpuUsage {
                user_seconds: 0.1,
                system_seconds: 0.3,
                wall_seconds: 2.0,
            },
            complete: true,
        });
        assert_eq!(doc.sender_has_retransmits, 1);
        assert!((doc.cpu_util_total - 20.0).abs() < 1e-9);
        let s = &doc.streams;
        assert_eq!((s[0].id, s[0].bytes, s[0].errors, s[0].packets), (1, 1000, 2, 100));
        assert_eq!(s[0].retransmits, -1);
        assert!((s[0].jitter - 0.0005).abs() < 1e-12, "jitter in seconds");
        assert_eq!((s[1].id, s[1].retransmits, s[1].end_time), (3, 7, Some(1.04)));
        let theirs =
            serde_json::json!({"streams": [{"bytes": 5, "retransmits": 18446744073709551615u64}, {"bytes": 6}]});
        assert_eq!(client_counted(&theirs), 11);
    }
}
