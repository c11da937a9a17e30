//! The control protocol: versioned hello, length-prefixed frames, typed messages.

mod datagram;
mod framing;
mod messages;

pub use datagram::{HEADER_LEN, Header, Kind as DatagramKind, MAX_DATAGRAM};
pub use framing::{DEFAULT_MAX_FRAME, FrameError, decode, encode, read_message, read_raw, write_message};
pub use messages::*;
