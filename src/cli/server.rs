//! `saf-net server`'s arguments.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;

use super::parse::*;
use crate::config::{
    DEFAULT_HANDSHAKE_TIMEOUT_SECS, DEFAULT_MAX_CONCURRENT, DEFAULT_MAX_DURATION_SECS, DEFAULT_MAX_QUEUE,
    DEFAULT_MAX_STREAMS, DEFAULT_PORT,
};

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// TCP port to listen on (iperf3 uses 5201; saf-net uses 5301 so both can run).
    #[arg(short, long, default_value_t = DEFAULT_PORT, env = "SAF_NET_PORT")]
    pub port: u16,
    /// Address to listen on [default: all IPv6 and IPv4 addresses].
    #[arg(short = 'B', long = "bind", value_name = "ADDR")]
    pub bind: Option<IpAddr>,
    /// Serve one test, then exit.
    #[arg(short = '1', long = "one-off")]
    pub one_off: bool,
    /// Longest test allowed, omitted seconds included.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_MAX_DURATION_SECS, value_parser = seconds)]
    pub max_duration: f64,
    /// Most data connections one test may open (-P, doubled by --bidir).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_STREAMS)]
    pub max_streams: u32,
    /// Tests that may run at the same time; more than 1 makes results interfere.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONCURRENT)]
    pub max_concurrent: usize,
    /// Clients that may wait in line for a slot; later ones are told the server is busy.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_QUEUE)]
    pub max_queue: usize,
    /// Largest block size (-l) a client may ask for.
    #[arg(long, value_name = "SIZE", default_value = "16M", value_parser = size)]
    pub max_block: u64,
    /// Largest socket buffer (-w) a client may ask for.
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = size)]
    pub max_window: u64,
    /// Pre-shared key file (its trimmed content, 16+ bytes); clients must prove they hold it [env: SAF_NET_PSK holds the key itself].
    #[arg(long, value_name = "FILE")]
    pub psk_file: Option<PathBuf>,
    /// More log detail (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only warnings and errors.
    #[arg(short, long)]
    pub quiet: bool,
    /// Handshakes in progress per source address; a newer connection evicts the oldest, so idle ones cannot lock a client out.
    #[arg(long, value_name = "N", default_value_t = crate::config::DEFAULT_MAX_HANDSHAKES_PER_IP)]
    pub max_handshakes_per_ip: usize,
    /// Largest total of stream buffers one test may use: TCP block size + min(connections, CPUs) × min(block size, 512K), UDP connections × block size.
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = size)]
    pub max_test_memory: u64,
    /// A receiving data stream that gets no bytes for this long ends the test.
    #[arg(long, value_name = "SECS", default_value_t = crate::config::DEFAULT_IDLE_TIMEOUT_SECS, value_parser = seconds)]
    pub idle_timeout: f64,
    /// Largest control frame accepted, in bytes.
    #[arg(long, value_name = "SIZE", default_value = "64K", value_parser = size)]
    pub max_frame: u64,
    /// Time a new connection has to say hello and send its request.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_HANDSHAKE_TIMEOUT_SECS, value_parser = seconds)]
    pub handshake_timeout: f64,
    /// Serve the server's own counters to Prometheus at http://ADDR/metrics (tests served, refused, queued, bytes,
    /// errors by kind); e.g. 127.0.0.1:9302. Off by default.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Also listen for iperf3 clients on this port, TCP and UDP (5201 is iperf3's own); they are served on -p too.
    #[arg(long, value_name = "PORT", conflicts_with = "no_iperf3")]
    pub iperf3_port: Option<u16>,
    /// Do not serve iperf3 clients (`iperf3 -c`); their connections are dropped like any other stranger's.
    #[arg(long)]
    pub no_iperf3: bool,
    /// Serve iperf3 clients although --psk-file is set: they cannot prove the key, so are refused without this.
    #[arg(long, conflicts_with = "no_iperf3")]
    pub allow_iperf3_without_key: bool,
    /// Slot-free echo sessions (protocol 3, `latency --no-slot`, the monitor's probes) that may run at once.
    #[arg(long, value_name = "N", default_value_t = crate::config::DEFAULT_MAX_ECHO_SESSIONS)]
    pub max_echo_sessions: usize,
    /// Run relayed tests and port checks toward the other nodes of a mesh for clients that prove the key (needs --psk-file or SAF_NET_PSK).
    #[arg(long)]
    pub allow_relay: bool,
    /// Relayed tests and port checks this server starts in any 60 s, together (one of each runs at a time).
    #[arg(long, value_name = "N", default_value_t = crate::config::DEFAULT_MAX_RELAYS_PER_MINUTE)]
    pub max_relays_per_minute: u32,
    /// Echo probes per second one echo session may send; faster ones are dropped unanswered.
    #[arg(long, value_name = "PER_SEC", default_value_t = crate::config::DEFAULT_MAX_ECHO_RATE)]
    pub max_echo_rate: f64,
    /// Longest echo session.
    #[arg(long, value_name = "SECS", default_value_t = crate::config::DEFAULT_MAX_ECHO_DURATION_SECS, value_parser = seconds)]
    pub max_echo_duration: f64,
    /// Newest protocol version to speak (2 behaves as saf-net 0.2; for testing mixed versions).
    #[arg(long, value_name = "N", hide = true, default_value_t = crate::protocol::PROTOCOL_VERSION)]
    pub max_protocol: u32,
}
