//! One test's result seen per direction: who sent, who received, sums, and the receiver-side headline.

use crate::client::StreamInfo;
use crate::findings::{Finding, FindingKind};
use crate::protocol::{CpuUsage, IntervalReport, SideResults, StreamTotals, TcpTotals, TestRequest, UdpCounts};
use crate::units::BitsPerSec;

/// A total over some streams for one side of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Sum {
    pub bytes: u64,
    pub seconds: f64,
}

impl Sum {
    pub fn rate(&self) -> BitsPerSec {
        BitsPerSec::from_bytes(self.bytes, self.seconds)
    }

    fn of<'a>(streams: impl Iterator<Item = &'a StreamTotals>) -> Sum {
        streams.fold(Sum::default(), |acc, s| Sum {
            bytes: acc.bytes + s.bytes,
            seconds: acc.seconds.max(s.seconds),
        })
    }
}

/// One direction of a test (client→server or server→client).
#[derive(Debug, Clone)]
pub struct DirectionResult {
    pub client_sends: bool,
    pub sender: Vec<StreamTotals>,
    pub receiver: Vec<StreamTotals>,
    pub sent: Sum,
    pub received: Sum,
    /// Intervals as the receiving side measured them, only this direction's streams.
    pub receiver_intervals: Vec<IntervalReport>,
    pub sender_intervals: Vec<IntervalReport>,
}

impl DirectionResult {
    pub fn label(&self) -> &'static str {
        if self.client_sends {
            "client → server"
        } else {
            "server → client"
        }
    }
}

/// Stream totals for one role: from the side's final results, or rebuilt from its intervals when the side vanished.
fn totals(results: Option<&SideResults>, intervals: &[IntervalReport], sender: bool, ids: &[u32]) -> Vec<StreamTotals> {
    if let Some(r) = results {
        return r
            .streams
            .iter()
            .filter(|s| s.sender == sender && ids.contains(&s.stream))
            .cloned()
            .collect();
    }
    let measured: Vec<&IntervalReport> = intervals.iter().filter(|i| !i.omitted).collect();
    let seconds = measured.last().map_or(0.0, |i| i.end);
    ids.iter()
        .map(|&id| {
            let sum = |ivs: &mut dyn Iterator<Item = &IntervalReport>| -> u64 {
                ivs.flat_map(|i| if sender { &i.sent } else { &i.received })
                    .filter(|b| b.stream == id)
                    .map(|b| b.bytes)
                    .sum()
            };
            StreamTotals {
                stream: id,
                sender,
                bytes: sum(&mut measured.iter().copied()),
                seconds,
                bytes_total: sum(&mut intervals.iter()),
                error: Some("side did not report final results".into()),
                tcp: None,
                udp: udp_from_intervals(&measured, id),
            }
        })
        .collect()
}

/// A UDP stream's counts rebuilt from the intervals a side sent before it vanished.
fn udp_from_intervals(measured: &[&IntervalReport], id: u32) -> Option<UdpCounts> {
    let entries: Vec<UdpCounts> = measured
        .iter()
        .flat_map(|i| i.sent.iter().chain(&i.received))
        .filter(|b| b.stream == id)
        .filter_map(|b| b.udp)
        .collect();
    let last = entries.last()?;
    Some(entries.iter().fold(
        UdpCounts {
            jitter_ms: last.jitter_ms,
            ..UdpCounts::default()
        },
        |acc, c| UdpCounts {
            packets: acc.packets + c.packets,
            received: acc.received + c.received,
            lost: acc.lost + c.lost,
            out_of_order: acc.out_of_order + c.out_of_order,
            duplicates: acc.duplicates + c.duplicates,
            jitter_ms: acc.jitter_ms,
        },
    ))
}

/// The part of each interval that belongs to these streams and this role.
fn filter_intervals(intervals: &[IntervalReport], sender: bool, ids: &[u32]) -> Vec<IntervalReport> {
    intervals
        .iter()
        .map(|i| {
            let keep =
                |v: &Vec<crate::protocol::StreamBytes>| v.iter().filter(|b| ids.contains(&b.stream)).copied().collect();
            IntervalReport {
                start: i.start,
                end: i.end,
                omitted: i.omitted,
                sent: if sender { keep(&i.sent) } else { Vec::new() },
                received: if sender { Vec::new() } else { keep(&i.received) },
            }
        })
        .collect()
}

/// Both sides of one test as measured, which [`directions`] turns into per-direction views.
pub struct Sides<'a> {
    pub request: &'a TestRequest,
    /// The data connections the client opened; none when the test ended before its start.
    pub streams: &'a [StreamInfo],
    pub local: (&'a SideResults, &'a [IntervalReport]),
    /// The server's results (None when it vanished) and the intervals it sent.
    pub remote: (Option<&'a SideResults>, &'a [IntervalReport]),
}

/// The test's directions: client→server first (forward, bidir), then server→client (reverse, bidir).
pub fn directions(sides: Sides<'_>) -> Vec<DirectionResult> {
    let mut out = Vec::new();
    for client_sends in [true, false] {
        // A test ended before its start opened no stream: its directions are the requested ones, all 0.
        let ids: Vec<u32> = if sides.streams.is_empty() {
            (1..=sides.request.connections())
                .filter(|&id| sides.request.client_sends(id) == client_sends)
                .collect()
        } else {
            sides
                .streams
                .iter()
                .filter(|s| s.client_sends == client_sends)
                .map(|s| s.id)
                .collect()
        };
        if ids.is_empty() {
            continue;
        }
        let local = (Some(sides.local.0), sides.local.1);
        let (snd, rcv) = if client_sends {
            (local, sides.remote)
        } else {
            (sides.remote, local)
        };
        let sender = totals(snd.0, snd.1, true, &ids);
        let receiver = totals(rcv.0, rcv.1, false, &ids);
        out.push(DirectionResult {
            client_sends,
            sent: Sum::of(sender.iter()),
            received: Sum::of(receiver.iter()),
            sender,
            receiver,
            receiver_intervals: filter_intervals(rcv.1, false, &ids),
            sender_intervals: filter_intervals(snd.1, true, &ids),
        });
    }
    out
}

/// CPU use as a percentage of one core over the wall time.
pub fn cpu_percent(c: &CpuUsage) -> (f64, f64, f64) {
    if c.wall_seconds <= 0.0 {
        return (0.0, 0.0, 0.0);
    }
    let pct = |s: f64| 100.0 * s / c.wall_seconds;
    (
        pct(c.user_seconds + c.system_seconds),
        pct(c.user_seconds),
        pct(c.system_seconds),
    )
}

/// Share of busy time below which a limit is not worth naming.
const HINT_THRESHOLD: f64 = 0.10;
/// Retransmissions per GB sent below which no hint is given: a few per GB (about one segment in 100,000 at
/// MSS 1448) is noise, e.g. on loopback at 30 Gbit/s; the Retr column still shows every one.
const RETRANS_HINT_PER_GB: f64 = 10.0;

/// What held one direction's senders back, in words, when the kernel says so. On loopback there is no wire, so
/// no cable or duplex is blamed.
pub fn hints(d: &DirectionResult, on_loopback: bool) -> Vec<String> {
    hint_findings(d, on_loopback).iter().map(Finding::hint_line).collect()
}

/// What the receivers of `dirs` read together, and the longest receiver's seconds.
pub fn received(dirs: &[DirectionResult]) -> (u64, f64) {
    let bytes = dirs.iter().map(|d| d.received.bytes).sum();
    let seconds = dirs.iter().map(|d| d.received.seconds).fold(0.0, f64::max);
    (bytes, seconds)
}

/// The kernel's hints about one direction as findings whose subject is the direction's label.
pub fn hint_findings(d: &DirectionResult, on_loopback: bool) -> Vec<Finding> {
    let tcp: Vec<&TcpTotals> = d.sender.iter().filter_map(|s| s.tcp.as_ref()).collect();
    let mut out = Vec::new();
    if tcp.is_empty() {
        return out;
    }
    let sum = |f: fn(&TcpTotals) -> u64| -> u64 { tcp.iter().map(|t| f(t)).sum() };
    let busy = sum(|t| t.busy_us);
    let who = d.label();
    if busy > 0 {
        let rwnd = sum(|t| t.rwnd_limited_us) as f64 / busy as f64;
        if rwnd >= HINT_THRESHOLD {
            out.push(Finding::new(
                FindingKind::ReceiveWindowLimited,
                who,
                format!(
                    "the receiver's window held the sender back {:.0}% of the time: the receiving application or \
                     its socket buffer is the limit",
                    rwnd * 100.0
                ),
                "raise it with -w, or net.core.rmem_max and net.ipv4.tcp_rmem (Linux), kern.ipc.maxsockbuf and \
                 net.inet.tcp.autorcvbufmax (macOS)"
                    .into(),
            ));
        }
        let sndbuf = sum(|t| t.sndbuf_limited_us) as f64 / busy as f64;
        if sndbuf >= HINT_THRESHOLD {
            out.push(Finding::new(
                FindingKind::SendBufferLimited,
                who,
                format!("the sender's socket buffer was full {:.0}% of the time", sndbuf * 100.0),
                "raise it with -w, or net.core.wmem_max and net.ipv4.tcp_wmem (Linux), net.inet.tcp.autosndbufmax \
                 (macOS)"
                    .into(),
            ));
        }
    }
    let retrans = sum(|t| t.retransmits);
    let per_gb = retrans as f64 / (d.sent.bytes.max(1) as f64 / 1e9);
    if retrans > 0 && per_gb >= RETRANS_HINT_PER_GB {
        let cause = if on_loopback {
            "the receiving host dropped packets (on loopback there is no wire: a full queue or a busy CPU)"
        } else {
            "the path or the receiving host dropped packets (congestion, a duplex or MTU mismatch, or a bad cable)"
        };
        // The cause names where to look; the hint has always been one sentence without a separate fix.
        out.push(Finding::new(
            FindingKind::Retransmits,
            who,
            format!("{retrans} segments retransmitted ({per_gb:.0} per GB): {cause}"),
            String::new(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{StreamTotals, TcpTotals};

    fn sent(bytes: u64, retransmits: u64) -> DirectionResult {
        let stream = StreamTotals {
            stream: 1,
            sender: true,
            bytes,
            seconds: 10.0,
            bytes_total: bytes,
            error: None,
            tcp: Some(TcpTotals {
                retransmits,
                ..TcpTotals::default()
            }),
            udp: None,
        };
        DirectionResult {
            client_sends: true,
            sender: vec![stream],
            receiver: Vec::new(),
            sent: Sum { bytes, seconds: 10.0 },
            received: Sum { bytes, seconds: 10.0 },
            receiver_intervals: Vec::new(),
            sender_intervals: Vec::new(),
        }
    }

    #[test]
    fn retransmissions_are_hinted_only_above_noise() {
        // 12 in 36 GB (loopback at 30 Gbit/s): noise, no hint.
        assert!(hints(&sent(36_000_000_000, 12), false).is_empty());
        // 977 in 1.18 GB (a switch queue overflowing): named.
        let h = hints(&sent(1_180_000_000, 977), false);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h[0].contains("977 segments retransmitted (828 per GB)"), "{}", h[0]);
        assert!(h[0].contains("bad cable"), "{}", h[0]);
        // The demo on loopback: the same drops, never a cable.
        let lo = hints(&sent(1_180_000_000, 977), true);
        assert!(lo[0].contains("on loopback there is no wire"), "{}", lo[0]);
        assert!(!lo[0].contains("cable") && !lo[0].contains("duplex"), "{}", lo[0]);
    }
}
