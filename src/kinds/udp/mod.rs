//! UDP throughput (`saf-net client HOST -u`): the throughput session (`super::throughput`: control, clock,
//! results) with UDP's own transport and figures. Here: the datagram size from the path MTU, one connected
//! socket per stream and the hellos of the streams the server sends (`streams.rs`); loss, reordering,
//! duplicates and jitter in text, JSON and history (`figures.rs`).

mod figures;
mod streams;

pub use figures::{
    DEFINITION, INTERVAL_HEADER, UdpInfo, UdpSpan, columns, fill_history, info, interval_sum, settings_line, sum,
    summary_line, totals_sum,
};
pub use streams::choose_size;
pub(crate) use streams::{Hellos, datagram_size, open_streams};
