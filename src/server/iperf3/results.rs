//! The server's results as iperf3's client expects them in `EXCHANGE_RESULTS`: CPU use, and per stream the
//! bytes it counted (what the client shows as `sum_received` when it sent), retransmits, UDP jitter and loss.

use serde_json::{Value, json};

use crate::protocol::{SideResults, StreamTotals};

/// iperf3's id for the stream at 1-based position `n`: it numbers streams 1, 3, 4, 5, …
pub fn stream_id(n: u32) -> u32 {
    if n <= 1 { 1 } else { n + 1 }
}

/// Percent of the run's wall time.
fn percent(secs: f64, wall: f64) -> f64 {
    if wall > 0.0 { 100.0 * secs / wall } else { 0.0 }
}

fn stream(s: &StreamTotals) -> Value {
    let udp = s.udp.unwrap_or_default();
    json!({
        "id": stream_id(s.stream),
        "bytes": s.bytes,
        // iperf3 sends -1 where it has no count (a receiver, or no TCP_INFO).
        "retransmits": s.tcp.map_or(-1, |t| t.retransmits as i64),
        "jitter": udp.jitter_ms / 1000.0,
        "errors": udp.lost,
        "omitted_errors": 0,
        "packets": udp.packets,
        "omitted_packets": 0,
        "start_time": 0,
        "end_time": s.seconds,
    })
}

/// The results document for this side's run.
pub fn document(results: &SideResults) -> Value {
    let cpu = &results.cpu;
    let wall = cpu.wall_seconds;
    let sends_tcp = results.streams.iter().any(|s| s.sender && s.tcp.is_some());
    let mut streams: Vec<&StreamTotals> = results.streams.iter().collect();
    streams.sort_by_key(|s| s.stream);
    json!({
        "cpu_util_total": percent(cpu.user_seconds + cpu.system_seconds, wall),
        "cpu_util_user": percent(cpu.user_seconds, wall),
        "cpu_util_system": percent(cpu.system_seconds, wall),
        "sender_has_retransmits": if sends_tcp { 1 } else { -1 },
        "streams": streams.into_iter().map(stream).collect::<Vec<_>>(),
    })
}

/// The bytes the client says it sent, from its results document (0 when it says nothing usable).
pub fn client_sent(doc: &Value) -> u64 {
    doc.get("streams")
        .and_then(Value::as_array)
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
    fn ids_follow_iperf3_and_fields_are_all_there() {
        assert_eq!((1..=4).map(stream_id).collect::<Vec<_>>(), vec![1, 3, 4, 5]);
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
        assert_eq!(doc["sender_has_retransmits"], 1);
        assert!((doc["cpu_util_total"].as_f64().unwrap() - 20.0).abs() < 1e-9);
        let s = doc["streams"].as_array().unwrap();
        assert_eq!((s[0]["id"].as_u64(), s[0]["bytes"].as_u64()), (Some(1), Some(1000)));
        assert_eq!(
            (s[0]["errors"].as_u64(), s[0]["packets"].as_u64()),
            (Some(2), Some(100))
        );
        assert_eq!(s[0]["retransmits"], -1);
        assert!(
            (s[0]["jitter"].as_f64().unwrap() - 0.0005).abs() < 1e-12,
            "jitter in seconds"
        );
        assert_eq!((s[1]["id"].as_u64(), s[1]["retransmits"].as_u64()), (Some(3), Some(7)));
        assert_eq!(client_sent(&json!({"streams":[{"bytes":5},{"bytes":6}]})), 11);
    }
}
