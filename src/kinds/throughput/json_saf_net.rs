//! The `saf_net` section of the `-J` document: what saf-net measures beyond iperf3's fields.

use serde::Serialize;

use super::json::{Interval, intervals, sockets};
use super::{Outcome, Peer};
use crate::kinds::latency::ProbeReport;
use crate::kinds::udp::{self, UdpInfo};
use crate::output::RunMeta;
use crate::output::json::{ServerInfo, rfc3339};
use crate::protocol::{SocketReport, TcpTotals};
use crate::result::{DirectionResult, hints};

pub const RECEIVER_DEFINITION: &str = "receiver goodput: bytes the receiving application read during the measured \
     period (after -O), divided by that period on the receiver's clock";

#[derive(Debug, Serialize)]
pub struct SafNet {
    pub version: &'static str,
    pub run_id: String,
    /// When the test started, RFC 3339 (`start.timestamp.time` is in iperf3's format).
    pub time: String,
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
    /// Whose figures `intervals` carry: "receiver", saf-net's choice (iperf3's client shows its own side's).
    pub intervals_view: &'static str,
    /// The sender's view of the intervals (`sender` flags as in `intervals`).
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

pub(super) fn saf_net(o: &Outcome, meta: &RunMeta, dirs: &[DirectionResult]) -> SafNet {
    let r = &o.request;
    let (first, second) = (&dirs[0], dirs.get(1));
    let (client_socket, server_socket) = sockets(o);
    SafNet {
        version: env!("CARGO_PKG_VERSION"),
        run_id: meta.run_id.clone(),
        time: rfc3339(meta.time),
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
        intervals_view: "receiver",
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
