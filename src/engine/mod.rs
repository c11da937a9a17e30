//! The data engine: blocking stream threads plus an async driver that keeps the clock, and the message
//! transfers of the collectives (`message.rs`).

pub mod message;
pub mod mtu;
pub mod probe;
mod run;
pub mod sockets;
mod stream;
mod tcp;
mod tcp_stats;
pub mod udp;
mod udp_framing;
mod udp_ledger;
mod udp_stats;

pub use run::{Abort, FINISH_LINGER, GRACE, SideRun, Timing, drive, drive_until};
pub use stream::{Flags, LocalStreams, Stream, StreamSpec, UdpPlan};
