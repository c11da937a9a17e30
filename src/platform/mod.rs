//! Everything OS-specific, behind `cfg` with portable fallbacks. The only home of `unsafe`.

mod busy;
mod cpu;
mod fast;
pub mod files;
mod iface;
mod limits;
mod link;
pub mod media;
mod page_send;
mod pmtu;
mod rawopt;
mod signal;
mod sink;
mod sockopt;
mod tcp_info;
mod udp_batch;
mod user;

pub use busy::{recv_nowait, wait_readable};
pub use cpu::{CpuClock, cpu_count, process_cpu_seconds};
#[cfg(all(test, target_os = "linux"))]
pub use fast::nice_in;
pub use fast::{lower_current_thread_priority, pin_current_thread, supports_cpu_pinning, supports_receive_discard};
pub use iface::{host_name, hostname, interface_index, interface_name};
pub use limits::{open_files_limit, out_of_descriptors};
pub use link::{SYSFS_ENV, facts_towards, interface_details, local_addr_towards, sysfs_interface_details, sysfs_root};
pub use page_send::PageSender;
pub use pmtu::{path_mtu, set_dont_fragment};
pub use signal::ignore_hangup;
pub use sink::{Sink, current_cpu, sink_for_this_cpu};
pub use sockopt::{
    RECV_LOWAT_BATCHES, available_congestion, congestion, max_pacing_rate, recv_lowat, set_congestion,
    set_max_pacing_rate, set_recv_lowat, supports_congestion_control, supports_pacing_rate, unsupported,
};
pub use tcp_info::{TcpInfo, tcp_info};
pub use udp_batch::{MAX_BATCH, RecvBatch, batch_limit, enable_gro, gso_available, send_segments, tighten_timer_slack};
pub use user::effective_uid;
