//! The data engine: blocking stream threads sharing one send pattern and per-CPU receive sinks, an async driver
//! that keeps the clock, and the message transfers of the collectives (`message.rs`).

pub mod message;
pub mod mtu;
pub mod probe;
mod run;
mod shared;
pub mod sockets;
mod stream;
mod tcp;
mod tcp_stats;
pub mod udp;
mod udp_framing;
mod udp_ledger;
mod udp_stats;
mod wake;

pub use run::{Abort, FINISH_LINGER, GRACE, SideRun, Timing, drive, drive_until};
pub use shared::stream_memory;
pub use stream::{Flags, LocalStreams, Stream, StreamSpec, UdpPlan};
