//! UDP throughput (`saf-net client HOST -u`): the throughput session (`super::throughput`: control, clock,
//! results) with UDP's own transport and figures. Here: the datagram size from the path MTU, one connected
//! socket per stream, the hellos of the streams the server sends (`streams.rs`).

mod streams;

pub use streams::choose_size;
pub(crate) use streams::{Hellos, datagram_size, open_streams};
