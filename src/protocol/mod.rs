//! The control protocol: versioned hello, length-prefixed frames, typed messages.

mod collective;
mod datagram;
mod foreign;
mod framing;
mod group;
pub mod iperf3;
mod messages;
mod v3;
mod version;

pub use collective::{
    Algo, CollOp, CollectiveSpec, Dtype, LinkTime, MAX_ITERS, MAX_POINTS, MAX_WARMUP, PointResult, PointSpec,
};
pub use datagram::{
    FLAG_END, FLAG_HELLO, HEADER_LEN, Header, Kind as DatagramKind, MAX_DATAGRAM, data_tag, set_data_tag, stamp,
};
pub use foreign::{FirstReply, Foreign, identify, read_first};
pub use framing::{DEFAULT_MAX_FRAME, FrameError, decode, encode, read_message, read_raw, spawn_reader, write_message};
pub use group::{Flow, FlowIn, FlowOut, GroupAsk, GroupJoin, GroupReply, GroupResults, MAX_MEMBERS};
pub use messages::*;
pub use v3::{
    EchoRequest, MAX_PORTS_PER_NODE, PORT_CHECK_MAX_SECS, PortCheckRequest, PortResult, PortState, PortTarget,
    RelayRequest, RelayResult, RouteView, ServerFacts,
};
pub use version::{MIN_PROTOCOL, PROTOCOL_VERSION, V3, mismatch_text, negotiate, server_version_in};
