//! The data engine: blocking stream threads plus an async driver that keeps the clock.

pub mod mtu;
pub mod probe;
mod run;
pub mod sockets;
mod tcp;
mod tcp_stats;
pub mod udp;
mod udp_ledger;
mod udp_stats;

pub use run::{LocalStreams, STALL, SideRun, Timing, drive};
pub use tcp::{Flags, Stream, StreamSpec};
