//! The `-J` document, laid out like iperf3's so its consumers read it; saf-net's own fields live under `saf_net`.

use serde::Serialize;

use super::Outcome;
use super::json_saf_net::{SafNet, saf_net};
use crate::client::ClientError;
use crate::kinds::udp::{self, UdpSpan};
use crate::output::RunMeta;
use crate::output::json::{ConnectingTo, Timestamp, number, version};
use crate::protocol::{
    Direction, IntervalReport, Protocol, SocketReport, StopAfter, StreamBytes, StreamTotals, TcpSample, TcpTotals,
    TestRequest,
};
use crate::result::{DirectionResult, Sum, cpu_percent};

#[derive(Debug, Serialize)]
pub struct Document {
    pub start: Start,
    pub intervals: Vec<Interval>,
    pub end: End,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub saf_net: SafNet,
}

#[derive(Debug, Serialize)]
pub struct Start {
    pub connected: Vec<Connected>,
    pub version: String,
    pub system_info: String,
    pub timestamp: Timestamp,
    pub connecting_to: ConnectingTo,
    /// The test's cookie (saf-net's: 32 hex digits).
    pub cookie: String,
    /// The requested -w, 0 when the OS autotunes.
    pub sock_bufsize: u64,
    /// The MSS in use; iperf3 names it tcp_mss when -M was given, tcp_mss_default otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_mss: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_mss_default: Option<u32>,
    pub sndbuf_actual: u64,
    pub rcvbuf_actual: u64,
    /// -b per stream, bits/s; 0 means as fast as possible.
    pub target_bitrate: u64,
    pub test_start: TestStart,
}

#[derive(Debug, Serialize)]
pub struct Connected {
    pub socket: u32,
    pub local_host: String,
    pub local_port: u16,
    pub remote_host: String,
    pub remote_port: u16,
}

#[derive(Debug, Serialize)]
pub struct TestStart {
    pub protocol: &'static str,
    pub num_streams: u32,
    pub blksize: u32,
    #[serde(serialize_with = "number")]
    pub omit: f64,
    #[serde(serialize_with = "number")]
    pub duration: f64,
    pub bytes: u64,
    pub blocks: u64,
    pub reverse: u8,
    pub bidir: u8,
    /// saf-net sets no IP TOS: the socket's, 0.
    pub tos: u8,
    pub target_bitrate: u64,
    #[serde(serialize_with = "number")]
    pub interval: f64,
}

/// One stream's (or the sum's) figures over some span, as iperf3 names them.
#[derive(Debug, Clone, Serialize)]
pub struct Span {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket: Option<u32>,
    #[serde(serialize_with = "number")]
    pub start: f64,
    #[serde(serialize_with = "number")]
    pub end: f64,
    #[serde(serialize_with = "number")]
    pub seconds: f64,
    pub bytes: u64,
    #[serde(serialize_with = "number")]
    pub bits_per_second: f64,
    /// Sums only: retransmits over the streams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retransmits: Option<u64>,
    /// Interval streams: the sender's retransmits, snd_cwnd, rtt, rttvar, pmtu.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpSample>,
    /// Interval streams this side sent: the peer's receive window (iperf3's snd_wnd), where the kernel says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snd_wnd: Option<u64>,
    /// End-of-test sender streams: retransmits, max_snd_cwnd, max/min/mean_rtt.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub tcp_end: Option<EndTcp>,
    /// UDP tests: iperf3's jitter_ms, lost_packets, packets, lost_percent, out_of_order (senders: packets).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub udp: Option<UdpSpan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub omitted: Option<bool>,
    /// iperf3's meaning: whether this side (the client) sent the stream, whichever side's view the span is.
    pub sender: bool,
}

/// iperf3's end-of-test TCP fields for a sender stream.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct EndTcp {
    pub retransmits: u64,
    pub max_snd_cwnd: u64,
    pub max_rtt: u32,
    pub min_rtt: u32,
    pub mean_rtt: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_snd_wnd: Option<u64>,
}

impl From<&TcpTotals> for EndTcp {
    fn from(t: &TcpTotals) -> Self {
        EndTcp {
            retransmits: t.retransmits,
            max_snd_cwnd: t.max_snd_cwnd,
            max_rtt: t.max_rtt,
            min_rtt: t.min_rtt,
            mean_rtt: t.mean_rtt,
            max_snd_wnd: t.max_snd_wnd,
        }
    }
}

impl Span {
    fn new(socket: Option<u32>, start: f64, end: f64, bytes: u64, sender: bool, omitted: Option<bool>) -> Span {
        let seconds = (end - start).max(0.0);
        let bits_per_second = if seconds > 0.0 {
            bytes as f64 * 8.0 / seconds
        } else {
            0.0
        };
        Span {
            socket,
            start,
            end,
            seconds,
            bytes,
            bits_per_second,
            retransmits: None,
            tcp: None,
            snd_wnd: None,
            tcp_end: None,
            udp: None,
            omitted,
            sender,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Interval {
    pub streams: Vec<Span>,
    pub sum: Span,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sum_bidir_reverse: Option<Span>,
}

#[derive(Debug, Serialize)]
pub struct StreamEnd {
    /// UDP tests: the receiver's view under iperf3's key for UDP streams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub udp: Option<Span>,
    pub sender: Span,
    pub receiver: Span,
}

#[derive(Debug, Serialize)]
pub struct Cpu {
    #[serde(serialize_with = "number")]
    pub host_total: f64,
    #[serde(serialize_with = "number")]
    pub host_user: f64,
    #[serde(serialize_with = "number")]
    pub host_system: f64,
    #[serde(serialize_with = "number")]
    pub remote_total: f64,
    #[serde(serialize_with = "number")]
    pub remote_user: f64,
    #[serde(serialize_with = "number")]
    pub remote_system: f64,
}

#[derive(Debug, Serialize)]
pub struct End {
    pub streams: Vec<StreamEnd>,
    /// UDP tests: iperf3's UDP summary, here the receiver's totals (= sum_received).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sum: Option<Span>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sum_bidir_reverse: Option<Span>,
    pub sum_sent: Span,
    pub sum_received: Span,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sum_sent_bidir_reverse: Option<Span>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sum_received_bidir_reverse: Option<Span>,
    pub cpu_utilization_percent: Cpu,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_tcp_congestion: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver_tcp_congestion: Option<String>,
}

/// Which side's figures a span shows, and iperf3's `sender` flag: whether this side (the client) sent the stream.
#[derive(Debug, Clone, Copy)]
struct View {
    sender_side: bool,
    local_sends: bool,
}

impl View {
    fn of(d: &DirectionResult, sender_side: bool) -> View {
        View {
            sender_side,
            local_sends: d.client_sends,
        }
    }
}

/// One side's interval as spans; stream TCP figures come from the entry itself or the sender's matching interval.
fn interval_spans(iv: &IntervalReport, view: View, tcp_from: Option<&IntervalReport>) -> (Vec<Span>, Span) {
    let list: &[StreamBytes] = if view.sender_side { &iv.sent } else { &iv.received };
    let (omitted, flag) = (Some(iv.omitted), view.local_sends);
    let tcp_of = |b: &StreamBytes| {
        b.tcp.or_else(|| {
            tcp_from
                .and_then(|t| t.sent.iter().find(|x| x.stream == b.stream))
                .and_then(|x| x.tcp)
        })
    };
    let streams: Vec<Span> = list
        .iter()
        .map(|b| Span {
            tcp: tcp_of(b),
            snd_wnd: tcp_of(b).and_then(|t| t.snd_wnd),
            udp: b.udp.map(|c| UdpSpan::of(&c, view.sender_side)),
            ..Span::new(Some(b.stream), iv.start, iv.end, b.bytes, flag, omitted)
        })
        .collect();
    let total = list.iter().map(|b| b.bytes).sum();
    let retransmits = streams
        .iter()
        .any(|s| s.tcp.is_some())
        .then(|| streams.iter().filter_map(|s| s.tcp).map(|t| t.retransmits).sum());
    (
        streams,
        Span {
            retransmits,
            udp: udp::interval_sum(list).map(|c| UdpSpan::of(&c, view.sender_side)),
            ..Span::new(None, iv.start, iv.end, total, flag, omitted)
        },
    )
}

/// Zips two directions' interval lists by index (the sides tick in step).
pub(super) fn intervals(first: &DirectionResult, second: Option<&DirectionResult>, sender_side: bool) -> Vec<Interval> {
    let view = |d: &DirectionResult| {
        if sender_side {
            d.sender_intervals.clone()
        } else {
            d.receiver_intervals.clone()
        }
    };
    let spans = |d: &DirectionResult, i: usize, iv: &IntervalReport| {
        interval_spans(iv, View::of(d, sender_side), d.sender_intervals.get(i))
    };
    view(first)
        .iter()
        .enumerate()
        .map(|(i, iv)| {
            let (mut streams, sum) = spans(first, i, iv);
            let rev = second.and_then(|d| {
                view(d).get(i).map(|r| {
                    let (more, sum) = spans(d, i, r);
                    streams.extend(more);
                    sum
                })
            });
            Interval {
                streams,
                sum,
                sum_bidir_reverse: rev,
            }
        })
        .collect()
}

/// One direction's totals as one side saw them; `flag` is the span's `sender`.
fn total_span(sum: &Sum, sender_side: bool, flag: bool, streams: &[StreamTotals]) -> Span {
    let retransmits = streams
        .iter()
        .any(|s| s.tcp.is_some())
        .then(|| streams.iter().filter_map(|s| s.tcp).map(|t| t.retransmits).sum());
    Span {
        retransmits,
        udp: udp::totals_sum(streams).map(|c| UdpSpan::of(&c, sender_side)),
        ..Span::new(None, 0.0, sum.seconds, sum.bytes, flag, None)
    }
}

/// `sum_sent` (or `sum_received`) of one direction. TCP flags them iperf3's way (whether this side sent);
/// UDP as iperf3 3.x writes them: `sum_sent` true with no loss or jitter seen, `sum_received` false.
fn sum_of(d: &DirectionResult, sender_side: bool) -> Span {
    let (sum, streams) = if sender_side {
        (&d.sent, &d.sender)
    } else {
        (&d.received, &d.receiver)
    };
    let udp = udp::totals_sum(streams).is_some();
    let flag = if udp { sender_side } else { d.client_sends };
    let mut span = total_span(sum, sender_side, flag, streams);
    if let Some(u) = span.udp.as_mut().filter(|_| sender_side) {
        (u.jitter_ms, u.lost_packets, u.lost_percent) = (Some(0.0), Some(0), Some(0.0));
    }
    span
}

/// iperf3's UDP `end.sum`: the receiver's totals of one direction, for UDP tests.
fn udp_sum(d: &DirectionResult) -> Option<Span> {
    udp::totals_sum(&d.receiver).map(|_| total_span(&d.received, false, d.client_sends, &d.receiver))
}

fn stream_end(d: &DirectionResult) -> Vec<StreamEnd> {
    let find = |v: &[StreamTotals], id: u32| v.iter().find(|s| s.stream == id).cloned();
    let flag = d.client_sends;
    d.sender
        .iter()
        .map(|s| {
            let r = find(&d.receiver, s.stream);
            let receiver = match r {
                Some(r) => Span {
                    udp: r.udp.map(|c| UdpSpan::of(&c, false)),
                    ..Span::new(Some(r.stream), 0.0, r.seconds, r.bytes, flag, None)
                },
                None => Span::new(Some(s.stream), 0.0, 0.0, 0, flag, None),
            };
            StreamEnd {
                udp: receiver.udp.is_some().then(|| receiver.clone()),
                sender: Span {
                    tcp_end: s.tcp.as_ref().map(EndTcp::from),
                    udp: s.udp.map(|c| UdpSpan::of(&c, true)),
                    ..Span::new(Some(s.stream), 0.0, s.seconds, s.bytes, flag, None)
                },
                receiver,
            }
        })
        .collect()
}

/// Builds the `-J` document for a finished (or partial) test.
pub fn document(o: &Outcome, meta: &RunMeta) -> Document {
    let dirs = o.directions();
    let (first, second) = (&dirs[0], dirs.get(1));
    Document {
        start: start(o, meta),
        intervals: intervals(first, second, false),
        end: end(o, first, second),
        error: o.error.clone(),
        saf_net: saf_net(o, meta, &dirs),
    }
}

/// The client's socket as the kernel set it up, and the server's (as it reported it).
pub(super) fn sockets(o: &Outcome) -> (Option<&SocketReport>, Option<&SocketReport>) {
    let client = o.streams.first().map(|s| &s.socket);
    let server = o.remote.as_ref().and_then(|x| x.socket.as_ref());
    (client, server)
}

fn start(o: &Outcome, meta: &RunMeta) -> Start {
    let r = &o.request;
    // UDP streams have no MSS: iperf3 leaves both names out.
    let tcp_socket = sockets(o).0.filter(|_| r.protocol == Protocol::Tcp);
    Start {
        connected: o
            .streams
            .iter()
            .map(|s| Connected {
                socket: s.id,
                local_host: s.local.ip().to_string(),
                local_port: s.local.port(),
                remote_host: s.remote.ip().to_string(),
                remote_port: s.remote.port(),
            })
            .collect(),
        version: version(),
        system_info: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        timestamp: Timestamp::of(meta.time),
        connecting_to: ConnectingTo::of(meta),
        cookie: o.cookie.clone(),
        sock_bufsize: r.window.map_or(0, u64::from),
        tcp_mss: r.mss.and(tcp_socket.map(|s| s.mss)),
        tcp_mss_default: if r.mss.is_none() {
            tcp_socket.map(|s| s.mss)
        } else {
            None
        },
        sndbuf_actual: o.streams.first().map_or(0, |s| s.socket.sndbuf),
        rcvbuf_actual: o.streams.first().map_or(0, |s| s.socket.rcvbuf),
        target_bitrate: r.bitrate.unwrap_or(0),
        test_start: TestStart::of(r),
    }
}

impl TestStart {
    fn of(r: &TestRequest) -> TestStart {
        TestStart {
            protocol: match r.protocol {
                Protocol::Tcp => "TCP",
                Protocol::Udp => "UDP",
            },
            num_streams: r.streams,
            blksize: r.block_size,
            omit: r.omit_seconds,
            duration: match r.stop {
                StopAfter::Seconds(t) => t,
                StopAfter::Bytes(_) => 0.0,
            },
            bytes: match r.stop {
                StopAfter::Bytes(b) => b,
                StopAfter::Seconds(_) => 0,
            },
            blocks: 0,
            reverse: u8::from(r.direction == Direction::Reverse),
            bidir: u8::from(r.direction == Direction::Bidir),
            tos: 0,
            target_bitrate: r.bitrate.unwrap_or(0),
            interval: r.interval_seconds,
        }
    }
}

fn end(o: &Outcome, first: &DirectionResult, second: Option<&DirectionResult>) -> End {
    let (client_socket, server_socket) = sockets(o);
    let (sender_socket, receiver_socket) = if first.client_sends {
        (client_socket, server_socket)
    } else {
        (server_socket, client_socket)
    };
    let (ht, hu, hs) = cpu_percent(&o.local_cpu());
    let (rt, ru, rs) = o.remote_cpu().map_or((0.0, 0.0, 0.0), |c| cpu_percent(&c));
    let mut streams = stream_end(first);
    if let Some(d) = second {
        streams.extend(stream_end(d));
    }
    End {
        streams,
        sum: udp_sum(first),
        sum_bidir_reverse: second.and_then(udp_sum),
        sum_sent: sum_of(first, true),
        sum_received: sum_of(first, false),
        sum_sent_bidir_reverse: second.map(|d| sum_of(d, true)),
        sum_received_bidir_reverse: second.map(|d| sum_of(d, false)),
        sender_tcp_congestion: sender_socket.and_then(|s| s.congestion.clone()),
        receiver_tcp_congestion: receiver_socket.and_then(|s| s.congestion.clone()),
        cpu_utilization_percent: Cpu {
            host_total: ht,
            host_user: hu,
            host_system: hs,
            remote_total: rt,
            remote_user: ru,
            remote_system: rs,
        },
    }
}

/// The `-J` document of a test that never started: empty sections and why; a signal marks it incomplete.
pub fn not_started(e: &ClientError) -> serde_json::Value {
    let mut doc = serde_json::json!({ "start": {}, "intervals": [], "end": {}, "error": e.to_string() });
    if matches!(e, ClientError::Interrupted { .. }) {
        doc["saf_net"] = serde_json::json!({ "complete": false });
    }
    doc
}
