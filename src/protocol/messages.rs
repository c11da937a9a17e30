//! The control-channel messages: one typed enum per direction, decoded strictly.

use serde::{Deserialize, Serialize};

use super::{EchoRequest, ServerFacts};

/// The reason a server gives when it stops: `refused` before a test is accepted, `failed` after.
pub const SHUTTING_DOWN: &str = "the server is shutting down";

/// A random per-test token that data connections present to join their test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cookie(#[serde(with = "hex16")] pub [u8; 16]);

impl Cookie {
    pub fn random() -> std::io::Result<Self> {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Cookie(b))
    }

    /// The cookie as 32 lowercase hex digits, as the wire carries it.
    pub fn hex(&self) -> String {
        self.0.iter().map(|x| format!("{x:02x}")).collect()
    }
}

mod hex16 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(b: &[u8; 16], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::Cookie(*b).hex())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 16], D::Error> {
        let text = String::deserialize(d)?;
        if text.len() != 32 || !text.is_ascii() {
            return Err(D::Error::custom("cookie must be 32 hex digits"));
        }
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
                .map_err(|_| D::Error::custom("cookie must be 32 hex digits"))?;
        }
        Ok(out)
    }
}

/// Which way the bytes flow, seen from the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Client sends, server receives (iperf3's default).
    Forward,
    /// Server sends on connections the client opened (`-R`).
    Reverse,
    /// Both at once (`--bidir`).
    Bidir,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Forward => "forward",
            Direction::Reverse => "reverse",
            Direction::Bidir => "bidir",
        }
    }
}

/// The transport of a test's data streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// Byte streams on TCP connections.
    #[default]
    Tcp,
    /// Paced datagrams on UDP (`-u`), counted for loss, reordering, duplicates and jitter.
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }

    pub fn is_tcp(&self) -> bool {
        *self == Protocol::Tcp
    }
}

/// When the senders stop.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum StopAfter {
    /// Measured seconds, after the omitted ones.
    Seconds(f64),
    /// Total bytes across all streams of one direction.
    Bytes(u64),
}

/// Everything the server must know, and check, before it gives a test any resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    pub direction: Direction,
    /// Streams per direction.
    pub streams: u32,
    pub stop: StopAfter,
    pub omit_seconds: f64,
    pub interval_seconds: f64,
    pub block_size: u32,
    /// Requested SO_SNDBUF/SO_RCVBUF, if any (-w).
    pub window: Option<u32>,
    /// TCP_MAXSEG for every data connection (-M).
    pub mss: Option<u32>,
    /// Congestion control algorithm for sending sockets (-C, Linux).
    pub congestion: Option<String>,
    /// Kernel pacing cap per sending stream, bits per second (--fq-rate, Linux).
    pub fq_rate: Option<u64>,
    /// Application pacing target per sending stream, bits per second (-b).
    pub bitrate: Option<u64>,
    /// Answer UDP echo probes with this test's cookie while it runs (--latency).
    #[serde(default)]
    pub udp_echo: bool,
    /// TCP or UDP data streams; absent means TCP. With UDP, `block_size` is the datagram payload size.
    #[serde(default, skip_serializing_if = "Protocol::is_tcp")]
    pub protocol: Protocol,
    /// First CPU the server pins its stream threads to (-A N,M: M), round-robin from there.
    #[serde(default)]
    pub server_cpu: Option<u32>,
    /// Receivers discard data in the kernel instead of copying it (--skip-rx-copy, Linux).
    #[serde(default)]
    pub skip_rx_copy: bool,
}

impl TestRequest {
    /// Data connections this test opens.
    pub fn connections(&self) -> u32 {
        match self.direction {
            Direction::Bidir => self.streams.saturating_mul(2),
            _ => self.streams,
        }
    }

    /// Bytes the stream with this 1-based id must send under `-n`: the total split evenly within its direction.
    pub fn quota(&self, stream: u32) -> Option<u64> {
        let StopAfter::Bytes(total) = self.stop else {
            return None;
        };
        let n = u64::from(self.streams.max(1));
        let idx = u64::from((stream.max(1) - 1) % self.streams.max(1));
        Some(total / n + u64::from(idx < total % n))
    }

    /// Whether the stream with this 1-based id is sent by the client.
    pub fn client_sends(&self, stream: u32) -> bool {
        match self.direction {
            Direction::Forward => true,
            Direction::Reverse => false,
            Direction::Bidir => stream <= self.streams,
        }
    }
}

/// One stream's byte count within one interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamBytes {
    pub stream: u32,
    pub bytes: u64,
    /// Kernel TCP figures at the interval's end (sender streams, where the OS reports them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpSample>,
    /// Datagram counts within the interval (UDP streams).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp: Option<UdpCounts>,
}

/// One UDP stream's datagram counts over a span (an interval, or the measured period).
///
/// On the sender only `packets` is set. On the receiver, `packets` is what the sequence numbers say was sent
/// (`received + lost`, iperf3's `packets`), and duplicates are neither received nor counted in the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UdpCounts {
    pub packets: u64,
    /// Distinct datagrams the receiving application got.
    pub received: u64,
    /// Sequence numbers never received (iperf3's `lost_packets`).
    pub lost: u64,
    /// Datagrams that arrived after a higher sequence number.
    pub out_of_order: u64,
    pub duplicates: u64,
    /// RFC 3550 interarrival jitter at the end of the span, milliseconds.
    pub jitter_ms: f64,
}

impl UdpCounts {
    /// Lost datagrams as a share of `packets`, in percent.
    pub fn lost_percent(&self) -> f64 {
        if self.packets == 0 {
            0.0
        } else {
            100.0 * self.lost as f64 / self.packets as f64
        }
    }
}

/// A sender's TCP state at one instant, iperf3's per-interval names and units.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpSample {
    /// Segments retransmitted during the interval.
    pub retransmits: u64,
    /// Congestion window, bytes.
    pub snd_cwnd: u64,
    /// Smoothed RTT and its variation, microseconds.
    pub rtt: u32,
    pub rttvar: u32,
    pub pmtu: u32,
    /// The peer's receive window, bytes (`-J`'s snd_wnd); measured locally, never on the wire.
    #[serde(skip)]
    pub snd_wnd: Option<u64>,
}

/// A sender's TCP figures over the measured period.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpTotals {
    pub retransmits: u64,
    pub max_snd_cwnd: u64,
    /// RTT over the interval samples, microseconds.
    pub max_rtt: u32,
    pub min_rtt: u32,
    pub mean_rtt: u32,
    pub snd_mss: u32,
    pub pmtu: u32,
    /// Last delivery-rate estimate, bits per second (Linux).
    pub delivery_rate: u64,
    /// Microseconds with data to send, and of those limited by the peer's receive window or our send buffer (Linux).
    pub busy_us: u64,
    pub rwnd_limited_us: u64,
    pub sndbuf_limited_us: u64,
    /// Largest peer receive window seen, bytes (`-J`'s max_snd_wnd); measured locally, never on the wire.
    #[serde(skip)]
    pub max_snd_wnd: Option<u64>,
}

/// One reporting interval as measured by one side, times relative to that side's start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntervalReport {
    pub start: f64,
    pub end: f64,
    pub omitted: bool,
    pub sent: Vec<StreamBytes>,
    pub received: Vec<StreamBytes>,
}

/// One stream's totals on one side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamTotals {
    pub stream: u32,
    pub sender: bool,
    /// Bytes moved during the measured period (after the omit).
    pub bytes: u64,
    /// Length of the measured period on this side's clock.
    pub seconds: f64,
    /// Bytes moved including the omitted period.
    pub bytes_total: u64,
    /// Why the stream ended early, if it did.
    pub error: Option<String>,
    /// Kernel TCP figures for sender streams, where the OS reports them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpTotals>,
    /// Datagram counts over the measured period (UDP streams).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp: Option<UdpCounts>,
}

/// The interface one side uses to reach the other; every field is None when the OS does not say.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterfaceFacts {
    pub interface: Option<String>,
    pub address: Option<std::net::IpAddr>,
    pub mtu: Option<u32>,
    pub speed_mbps: Option<u32>,
    pub duplex: Option<String>,
}

/// Socket options as the kernel applied them, read back from one data connection.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocketReport {
    pub sndbuf: u64,
    pub rcvbuf: u64,
    /// Current maximum segment size (TCP_MAXSEG).
    pub mss: u32,
    pub congestion: Option<String>,
    /// Kernel pacing cap, bytes per second (Linux; u64::MAX or 2^32-1 means none).
    pub max_pacing_rate: Option<u64>,
}

/// CPU used by one process over the test.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuUsage {
    pub user_seconds: f64,
    pub system_seconds: f64,
    pub wall_seconds: f64,
}

/// Everything one side knows at the end of a test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SideResults {
    pub streams: Vec<StreamTotals>,
    /// Effective socket options on this side's first data connection.
    pub socket: Option<SocketReport>,
    pub cpu: CpuUsage,
    pub complete: bool,
}

/// Messages from client to server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// First frame of a control connection.
    /// `nonce`: the client's challenge when it holds a pre-shared key.
    Hello {
        protocol: u32,
        software: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nonce: Option<String>,
    },
    /// The client's proof that it holds the pre-shared key.
    Auth { proof: String },
    /// First (and only) frame of a data connection.
    Data { cookie: Cookie, stream: u32 },
    /// The test to run.
    Test(TestRequest),
    /// The client gives up; the server frees the slot.
    Abort { reason: String },
    /// The client's streams ended normally (a vanished client never says this).
    Done,
    /// A latency run instead of a throughput test.
    Latency(LatencyRequest),
    /// First frame of a connect-time probe connection; the server closes it quietly.
    Probe { cookie: Cookie },
    /// Protocol 3: the server's own link facts, answered at once with `facts`; needs no test slot.
    Facts,
    /// Protocol 3: a slot-free UDP echo session, answered with `accepted` and `start`.
    Echo(EchoRequest),
    /// Protocol 3: run a throughput test toward another node and answer with `relayed` (`--allow-relay`).
    Relay(Box<super::RelayRequest>),
    /// Protocol 3: try a TCP connect to ports on the nodes' hosts and answer with `ports_checked` (`--allow-relay`).
    PortCheck(Box<super::PortCheckRequest>),
    /// Protocol 3: a group session's join, start, or a member's data connection (`--allow-relay`).
    Group(Box<super::GroupAsk>),
}

impl ClientMessage {
    /// The oldest protocol version that has this message.
    pub fn needs_protocol(&self) -> u32 {
        match self {
            ClientMessage::Facts
            | ClientMessage::Echo(_)
            | ClientMessage::Relay(_)
            | ClientMessage::PortCheck(_)
            | ClientMessage::Group(_) => super::V3,
            _ => super::MIN_PROTOCOL,
        }
    }

    /// What the message asks for, for the line that says a peer's protocol is too old for it.
    pub fn feature(&self) -> &'static str {
        match self {
            ClientMessage::Facts => "facts need",
            ClientMessage::Echo(_) => "the slot-free echo needs",
            ClientMessage::Relay(_) => "the relay needs",
            ClientMessage::PortCheck(_) => "the port check needs",
            ClientMessage::Group(_) => "group sessions need",
            _ => "this request needs",
        }
    }
}

/// The kind of latency probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencyMode {
    /// Request/response on one TCP connection with TCP_NODELAY.
    Tcp,
    /// UDP echo with sequence numbers.
    Udp,
    /// TCP handshake time.
    Connect,
    /// Path-MTU probe datagrams (`saf-net mtu`), answered like UDP echo.
    Mtu,
}

impl LatencyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LatencyMode::Tcp => "tcp",
            LatencyMode::Udp => "udp",
            LatencyMode::Connect => "connect",
            LatencyMode::Mtu => "mtu",
        }
    }
}

/// What a latency run needs from the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyRequest {
    pub mode: LatencyMode,
    /// Longest the run may take, seconds (the client stops sooner after --count probes).
    pub duration_seconds: f64,
    /// Probe size in bytes (UDP payload or TCP message).
    pub size: u32,
}

/// Messages from server to client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerMessage {
    /// `challenge`: present when the server holds a pre-shared key.
    Welcome {
        protocol: u32,
        software: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        challenge: Option<Challenge>,
    },
    /// The request cannot be served; nothing was allocated.
    Refused {
        reason: String,
    },
    /// Waiting in the FIFO queue; 1 means next.
    Queued {
        position: u32,
    },
    /// A slot is ours; open the data connections with this cookie. `facts`: the server's interface towards us.
    Accepted {
        cookie: Cookie,
        #[serde(default)]
        facts: Option<InterfaceFacts>,
    },
    /// All data connections are in; the clock starts now.
    Start,
    Interval(IntervalReport),
    Results(SideResults),
    /// The test failed on the server side.
    Failed {
        reason: String,
    },
    /// Protocol 3: the answer to `facts`.
    Facts(Box<ServerFacts>),
    /// Protocol 3: the answer to `relay`, once the relayed test ended.
    Relayed(super::RelayResult),
    /// Protocol 3: the answer to `port_check`, one result per target in the order asked.
    PortsChecked {
        results: Vec<super::PortResult>,
    },
    /// Protocol 3: a group session's answer (`joined`, `ready`, `results`).
    Group(Box<super::GroupReply>),
}

/// The server's nonce and its proof of the key over both nonces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Challenge {
    pub nonce: String,
    pub proof: String,
}

/// The only part of a hello every protocol version must keep, read when strict decoding fails.
#[derive(Debug, Deserialize)]
pub(crate) struct AnyHello {
    pub hello: AnyHelloBody,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AnyHelloBody {
    pub protocol: u32,
    #[serde(default)]
    pub software: String,
}

#[cfg(test)]
#[path = "messages_tests.rs"]
mod tests;
