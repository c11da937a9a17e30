//! The messages protocol 3 adds for mesh, monitor and collectives: a server's own link facts and the
//! slot-free echo, the relay and the port check. Group sessions join these later, as more `ClientMessage` variants.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::InterfaceFacts;

/// A server's own facts towards the client that asked: every field it does not know is null, never guessed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerFacts {
    /// saf-net's release on the server.
    pub software: String,
    /// The protocol version this session speaks.
    pub protocol: u32,
    /// The server's OS, as Rust names it (`linux`, `macos`).
    pub os: String,
    pub host_name: Option<String>,
    /// The interface the server reaches the client by: name, local address, MTU, speed, duplex.
    pub link: InterfaceFacts,
    /// The server's route to the client, from its own route tools; None when the lookup failed.
    pub route: Option<RouteView>,
    /// Why the route lookup failed, when it did.
    pub route_error: Option<String>,
}

/// The server's view of how it reaches the client: a wire copy of [`crate::route::RouteFacts`]' route part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteView {
    pub interface: String,
    /// The interface kind's snake_case name (`ethernet`, `wifi`, `virtual`, …, `unknown`).
    pub kind: String,
    /// How the kind was known, or why it is unknown.
    pub kind_source: String,
    /// The next hop; None when the client is on the interface's own network.
    pub gateway: Option<IpAddr>,
    /// The server's source address towards the client.
    pub source: Option<IpAddr>,
    /// The route's own MTU, when the tool reports one.
    pub route_mtu: Option<u32>,
}

/// A slot-free echo session: UDP echo datagrams with the session's cookie, at most `rate` a second, for at
/// most `duration_seconds`, each `size` bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EchoRequest {
    pub duration_seconds: f64,
    /// Probes per second the client will send.
    pub rate: f64,
    /// Probe size in bytes (UDP payload, header included).
    pub size: u32,
}

/// Protocol 3's relay: the server runs a saf-net throughput test toward `target`, one of `nodes`, as a client
/// with its own key, and answers with `relayed`. Only servers started with `--allow-relay` (and a key) do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayRequest {
    /// `HOST:PORT` of the saf-net server to measure toward; must be one of `nodes`, exactly as written there.
    pub target: String,
    /// The run's nodes, `HOST:PORT` each: the only places a relay may dial.
    pub nodes: Vec<String>,
    pub request: super::TestRequest,
    /// Also probe the path MTU toward the target and the idle RTT (100 UDP probes, 10 ms apart) before the test.
    /// Absent when false, so a request without probes is byte for byte the first relay's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub probes: bool,
}

/// The relayed test's figures, from the receiving side: goodput is `bytes` over `seconds`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayResult {
    pub bytes: u64,
    pub seconds: f64,
    pub complete: bool,
    /// Why the test is incomplete or never ran (the target's refusal, a wrong key, no answer).
    pub error: Option<String>,
    /// With `probes`: the idle RTT's median and 99th percentile, microseconds; absent when not probed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_p50_us: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_p99_us: Option<f64>,
    /// With `probes`: the largest IP packet that passed from the relaying node to the target (don't-fragment
    /// search); absent when not probed or not found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_mtu: Option<u32>,
}

/// Most TCP ports one port check asks about per node.
pub const MAX_PORTS_PER_NODE: usize = 16;
/// Longest one port check may take on the server, seconds: it refuses a request that could take longer.
pub const PORT_CHECK_MAX_SECS: u64 = 30;

/// Protocol 3's port check: the server tries a plain TCP connect (closed at once, no byte sent) to each target,
/// a port on the host of one of `nodes`, and answers with `ports_checked`. Same rules as the relay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortCheckRequest {
    /// The run's nodes, `HOST:PORT` of their saf-net servers: only their hosts are dialed.
    pub nodes: Vec<String>,
    pub targets: Vec<PortTarget>,
    /// Longest one connect may take, milliseconds.
    pub timeout_ms: u32,
}

/// One port to try: `port` on the host of `nodes[node]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortTarget {
    pub node: u32,
    pub port: u16,
}

/// What one connect found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortState {
    /// The connection was accepted (and closed at once).
    Open,
    /// The host answered with a reset: nothing listens there, or a firewall rejects.
    Refused,
    /// No answer within the timeout: a firewall that drops, or a host that is down.
    Timeout,
    /// The host did not resolve, or the network said it cannot be reached.
    Unreachable,
}

/// One target's answer, with the time the connect took (or was given up after), milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortResult {
    pub node: u32,
    pub port: u16,
    pub state: PortState,
    pub ms: f64,
}
