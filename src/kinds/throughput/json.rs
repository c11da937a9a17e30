//! The `-J` document, laid out like iperf3's so its consumers read it; saf-net's own fields live under `saf_net`.

use serde::Serialize;

use super::{Outcome, Peer};
use crate::client::ClientError;
use crate::kinds::latency::ProbeReport;
use crate::kinds::udp::{self, UdpInfo, UdpSpan};
use crate::output::RunMeta;
use crate::output::json::{ConnectingTo, ServerInfo, Timestamp, version};
use crate::protocol::{
    Direction, IntervalReport, Protocol, SocketReport, StopAfter, StreamBytes, StreamTotals, TcpSample, TcpTotals,
    TestRequest,
};
use crate::result::{DirectionResult, Sum, cpu_percent, hints};

pub const RECEIVER_DEFINITION: &str = "receiver goodput: bytes the receiving application read during the measured \
     period (after -O), divided by that period on the receiver's clock";

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
    /// The requested -w, 0 when the OS autotunes.
    pub sock_bufsize: u64,
    /// The MSS in use; iperf3 names it tcp_mss when -M was given, tcp_mss_default otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_mss: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_mss_default: Option<u32>,
    pub sndbuf_actual: u64,
    pub rcvbuf_actual: u64,
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
    pub omit: f64,
    pub duration: f64,
    pub bytes: u64,
    pub blocks: u64,
    pub reverse: u8,
    pub bidir: u8,
    pub interval: f64,
}

/// One stream's (or the sum's) figures over some span, as iperf3 names them.
#[derive(Debug, Clone, Serialize)]
pub struct Span {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket: Option<u32>,
    pub start: f64,
    pub end: f64,
    pub seconds: f64,
    pub bytes: u64,
    pub bits_per_second: f64,
    /// Sums only: retransmits over the streams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retransmits: Option<u64>,
    /// Interval streams: the sender's retransmits, snd_cwnd, rtt, rttvar, pmtu.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpSample>,
    /// End-of-test sender streams: retransmits, max_snd_cwnd, max/min/mean_rtt.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub tcp_end: Option<EndTcp>,
    /// UDP tests: iperf3's jitter_ms, lost_packets, packets, lost_percent, out_of_order (senders: packets).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub udp: Option<UdpSpan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub omitted: Option<bool>,
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
}

impl From<&TcpTotals> for EndTcp {
    fn from(t: &TcpTotals) -> Self {
        EndTcp {
            retransmits: t.retransmits,
            max_snd_cwnd: t.max_snd_cwnd,
            max_rtt: t.max_rtt,
            min_rtt: t.min_rtt,
            mean_rtt: t.mean_rtt,
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
    pub host_total: f64,
    pub host_user: f64,
    pub host_system: f64,
    pub remote_total: f64,
    pub remote_user: f64,
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

#[derive(Debug, Serialize)]
pub struct SafNet {
    pub version: &'static str,
    pub run_id: String,
    pub label: Option<String>,
    pub profile: Option<String>,
    pub complete: bool,
    /// `"iperf3"` when the server was an unmodified iperf3 (`--iperf3`); absent for a saf-net server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<&'static str>,
    pub direction: &'static str,
    pub receiver_definition: &'static str,
    pub sender_definition: &'static str,
    /// The headline: receiver goodput of the client→server direction (server→client under -R).
    pub receiver_bits_per_second: f64,
    pub sender_bits_per_second: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverse_receiver_bits_per_second: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverse_sender_bits_per_second: Option<f64>,
    pub server: ServerInfo,
    /// iperf3's `intervals` carry the receiver's view; the sender's view is here.
    pub sender_intervals: Vec<Interval>,
    /// Every sender stream's kernel TCP figures, including what limited it (Linux).
    pub tcp: Vec<StreamTcp>,
    /// What held the senders back, in words, when the kernel says so.
    pub hints: Vec<String>,
    pub socket_options: SocketOptions,
    /// True when receivers discarded data in the kernel (--skip-rx-copy): not the default goodput definition.
    pub skip_rx_copy: bool,
    /// First CPU each side's stream threads were pinned to (-A; stream k on CPU first + k - 1, modulo the CPUs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Both interfaces, MSS, the probed path MTU, and diagnoses.
    pub path: crate::diagnose::PathReport,
    /// UDP RTT idle and under load (--latency).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyUnderLoad>,
    /// UDP tests: datagram size, target rate, and what the UDP figures mean.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub udp: Option<UdpInfo>,
}

/// `-A`: the first CPU of each side's stream threads.
#[derive(Debug, Serialize)]
pub struct Affinity {
    pub client_cpu: Option<u32>,
    pub server_cpu: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct LatencyUnderLoad {
    pub idle: ProbeReport,
    pub loaded: ProbeReport,
}

/// Socket options as requested, and as each side's kernel applied them.
#[derive(Debug, Serialize)]
pub struct SocketOptions {
    pub requested: RequestedOptions,
    pub client: Option<SocketReport>,
    pub server: Option<SocketReport>,
}

#[derive(Debug, Serialize)]
pub struct RequestedOptions {
    pub window: Option<u32>,
    pub mss: Option<u32>,
    pub congestion: Option<String>,
    pub fq_rate: Option<u64>,
    pub bitrate: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct StreamTcp {
    pub stream: u32,
    #[serde(flatten)]
    pub totals: TcpTotals,
}

pub const SENDER_DEFINITION: &str = "sender rate: bytes the sending application handed to the kernel during the \
     measured period, divided by that period on the sender's clock";

/// One side's interval as spans; stream TCP figures come from the entry itself or the sender's matching interval.
fn interval_spans(iv: &IntervalReport, sender: bool, tcp_from: Option<&IntervalReport>) -> (Vec<Span>, Span) {
    let list: &[StreamBytes] = if sender { &iv.sent } else { &iv.received };
    let omitted = Some(iv.omitted);
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
            udp: b.udp.map(|c| UdpSpan::of(&c, sender)),
            ..Span::new(Some(b.stream), iv.start, iv.end, b.bytes, sender, omitted)
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
            udp: udp::interval_sum(list).map(|c| UdpSpan::of(&c, sender)),
            ..Span::new(None, iv.start, iv.end, total, sender, omitted)
        },
    )
}

/// Zips two directions' interval lists by index (the sides tick in step).
fn intervals(first: &DirectionResult, second: Option<&DirectionResult>, sender: bool) -> Vec<Interval> {
    let view = |d: &DirectionResult| {
        if sender {
            d.sender_intervals.clone()
        } else {
            d.receiver_intervals.clone()
        }
    };
    let spans =
        |d: &DirectionResult, i: usize, iv: &IntervalReport| interval_spans(iv, sender, d.sender_intervals.get(i));
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

fn total_span(sum: &Sum, sender: bool, streams: &[StreamTotals]) -> Span {
    let retransmits = streams
        .iter()
        .any(|s| s.tcp.is_some())
        .then(|| streams.iter().filter_map(|s| s.tcp).map(|t| t.retransmits).sum());
    Span {
        retransmits,
        udp: udp::totals_sum(streams).map(|c| UdpSpan::of(&c, sender)),
        ..Span::new(None, 0.0, sum.seconds, sum.bytes, sender, None)
    }
}

/// iperf3's UDP `end.sum`: the receiver's totals of one direction, for UDP tests.
fn udp_sum(d: &DirectionResult) -> Option<Span> {
    udp::totals_sum(&d.receiver).map(|_| total_span(&d.received, false, &d.receiver))
}

fn stream_end(d: &DirectionResult) -> Vec<StreamEnd> {
    let find = |v: &[StreamTotals], id: u32| v.iter().find(|s| s.stream == id).cloned();
    d.sender
        .iter()
        .map(|s| {
            let r = find(&d.receiver, s.stream);
            let receiver = match r {
                Some(r) => Span {
                    udp: r.udp.map(|c| UdpSpan::of(&c, false)),
                    ..Span::new(Some(r.stream), 0.0, r.seconds, r.bytes, false, None)
                },
                None => Span::new(Some(s.stream), 0.0, 0.0, 0, false, None),
            };
            StreamEnd {
                udp: receiver.udp.is_some().then(|| receiver.clone()),
                sender: Span {
                    tcp_end: s.tcp.as_ref().map(EndTcp::from),
                    udp: s.udp.map(|c| UdpSpan::of(&c, true)),
                    ..Span::new(Some(s.stream), 0.0, s.seconds, s.bytes, true, None)
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
fn sockets(o: &Outcome) -> (Option<&SocketReport>, Option<&SocketReport>) {
    let client = o.streams.first().map(|s| &s.socket);
    let server = o.remote.as_ref().and_then(|x| x.socket.as_ref());
    (client, server)
}

fn start(o: &Outcome, meta: &RunMeta) -> Start {
    let r = &o.request;
    let (client_socket, _) = sockets(o);
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
        sock_bufsize: r.window.map_or(0, u64::from),
        tcp_mss: r.mss.and(client_socket.map(|s| s.mss)),
        tcp_mss_default: if r.mss.is_none() {
            client_socket.map(|s| s.mss)
        } else {
            None
        },
        sndbuf_actual: o.streams.first().map_or(0, |s| s.socket.sndbuf),
        rcvbuf_actual: o.streams.first().map_or(0, |s| s.socket.rcvbuf),
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
        sum_sent: total_span(&first.sent, true, &first.sender),
        sum_received: total_span(&first.received, false, &first.receiver),
        sum_sent_bidir_reverse: second.map(|d| total_span(&d.sent, true, &d.sender)),
        sum_received_bidir_reverse: second.map(|d| total_span(&d.received, false, &d.receiver)),
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

fn saf_net(o: &Outcome, meta: &RunMeta, dirs: &[DirectionResult]) -> SafNet {
    let r = &o.request;
    let (first, second) = (&dirs[0], dirs.get(1));
    let (client_socket, server_socket) = sockets(o);
    SafNet {
        version: env!("CARGO_PKG_VERSION"),
        run_id: meta.run_id.clone(),
        label: meta.label.clone(),
        profile: meta.profile.clone(),
        complete: o.complete(),
        peer: (o.peer != Peer::SafNet).then(|| o.peer.as_str()),
        direction: r.direction.as_str(),
        receiver_definition: RECEIVER_DEFINITION,
        sender_definition: SENDER_DEFINITION,
        receiver_bits_per_second: first.received.rate().0,
        sender_bits_per_second: first.sent.rate().0,
        reverse_receiver_bits_per_second: second.map(|d| d.received.rate().0),
        reverse_sender_bits_per_second: second.map(|d| d.sent.rate().0),
        server: ServerInfo {
            address: o.server.to_string(),
            version: o.server_software.clone(),
        },
        sender_intervals: intervals(first, second, true),
        tcp: dirs
            .iter()
            .flat_map(|d| &d.sender)
            .filter_map(|s| {
                s.tcp.map(|totals| StreamTcp {
                    stream: s.stream,
                    totals,
                })
            })
            .collect(),
        hints: dirs.iter().flat_map(|d| hints(d, o.path.is_loopback())).collect(),
        udp: udp::info(r),
        path: o.path.clone(),
        skip_rx_copy: r.skip_rx_copy,
        affinity: (o.client_cpu.is_some() || r.server_cpu.is_some()).then_some(Affinity {
            client_cpu: o.client_cpu,
            server_cpu: r.server_cpu,
        }),
        latency: o.latency.as_ref().map(|l| LatencyUnderLoad {
            idle: ProbeReport::new(&l.idle, l.idle_interval()),
            loaded: ProbeReport::new(&l.loaded, l.idle_interval()),
        }),
        socket_options: SocketOptions {
            requested: RequestedOptions {
                window: r.window,
                mss: r.mss,
                congestion: r.congestion.clone(),
                fq_rate: r.fq_rate,
                bitrate: r.bitrate,
            },
            client: client_socket.cloned(),
            server: server_socket.cloned(),
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
