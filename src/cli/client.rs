//! Arguments of the commands that test against a server: client, latency, mtu, and the parts they share.

use std::path::PathBuf;

use clap::Args;

use super::parse::*;
use crate::config::{DEFAULT_CONNECT_TIMEOUT_SECS, DEFAULT_INTERVAL_SECS, DEFAULT_PORT};
use crate::net::Family;

/// The server a probe goes to (latency, mtu).
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Server: a name, IPv4, IPv6, or link-local with zone (fe80::1%en0).
    pub host: String,
    /// Server port.
    #[arg(short, long, default_value_t = DEFAULT_PORT, env = "SAF_NET_PORT")]
    pub port: u16,
}

/// Where a run is recorded (client, latency, mtu).
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// History CSV to append to [default: $SAF_NET_HISTORY, else the user data dir's saf-net/history.csv].
    #[arg(long, value_name = "FILE", conflicts_with = "no_history")]
    pub csv: Option<PathBuf>,
    /// Do not record this run in the history.
    #[arg(long)]
    pub no_history: bool,
}

/// The key a client proves it holds (client, latency, mtu).
#[derive(Debug, Args)]
pub struct PskArgs {
    /// Pre-shared key file, when the server requires one [env: SAF_NET_PSK holds the key itself].
    #[arg(long, value_name = "FILE")]
    pub psk_file: Option<PathBuf>,
}

/// How long a client tries to connect (client, latency, mtu).
#[derive(Debug, Args)]
pub struct ConnectTimeoutArgs {
    /// Give up connecting after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_CONNECT_TIMEOUT_SECS, value_parser = seconds)]
    pub connect_timeout: f64,
}

/// The flags latency and mtu share after their own: history, label, profile, address family, key, connect timeout.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub history: HistoryArgs,
    /// Free text stored with the run.
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    /// Link profile the run was made on.
    #[arg(long, value_name = "NAME", env = "SAF_NET_PROFILE")]
    pub profile: Option<String>,
    /// Use IPv4 only.
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Use IPv6 only.
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    #[command(flatten)]
    pub psk: PskArgs,
    #[command(flatten)]
    pub connect: ConnectTimeoutArgs,
}

impl ProbeArgs {
    /// The address family -4/-6 ask for.
    pub fn family(&self) -> Family {
        Family::from_flags(self.ipv4, self.ipv6)
    }
}

#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Server: a name (alpha.local), IPv4, IPv6, or link-local with zone (fe80::1%en0).
    pub host: String,
    /// Server port [default: 5301; 5201 with --iperf3].
    #[arg(short, long, env = "SAF_NET_PORT")]
    pub port: Option<u16>,
    /// This host's address to test from (every connection and datagram leaves from it) [default: by route].
    #[arg(short = 'B', long, value_name = "ADDR")]
    pub bind: Option<std::net::IpAddr>,
    /// Seconds to measure [default: 10].
    #[arg(short = 't', long = "time", value_name = "SECS", value_parser = seconds, conflicts_with = "bytes", allow_negative_numbers = true)]
    pub time: Option<f64>,
    /// Bytes to send in total instead of a duration (K/M/G suffixes, 1024-based).
    #[arg(short = 'n', long = "bytes", value_name = "SIZE", value_parser = size)]
    pub bytes: Option<u64>,
    /// Parallel streams.
    #[arg(short = 'P', long = "parallel", value_name = "N", default_value_t = 1)]
    pub parallel: u32,
    /// Reverse: the server sends, the client receives.
    #[arg(short = 'R', long, conflicts_with = "bidir")]
    pub reverse: bool,
    /// Both directions at once, reported separately.
    #[arg(long)]
    pub bidir: bool,
    /// Seconds between interval reports; 0 turns them off.
    #[arg(short = 'i', long, value_name = "SECS", default_value_t = DEFAULT_INTERVAL_SECS, value_parser = seconds, allow_negative_numbers = true)]
    pub interval: f64,
    /// Seconds to run first and leave out of the results (slow start); adds to -t.
    #[arg(short = 'O', long, value_name = "SECS", default_value_t = 0.0, value_parser = seconds, allow_negative_numbers = true)]
    pub omit: f64,
    /// Bytes per write call (a TCP receiver reads at most 512K per call, woken once a block is queued); with -u, the datagram payload size [default: 512K for one stream, 1M for 2 to 16, 256K for more; with -u, what fits the path MTU: 1472 on a 1500 path, 8972 on a 9000 path, 1472 on loopback].
    #[arg(short = 'l', long, value_name = "SIZE", value_parser = size)]
    pub length: Option<u64>,
    /// Socket buffer size (SO_SNDBUF/SO_RCVBUF) on both ends [default: the OS's autotuning].
    #[arg(short = 'w', long, value_name = "SIZE", value_parser = size)]
    pub window: Option<u64>,
    /// Set the TCP maximum segment size (TCP_MAXSEG) on both ends; the effective value is reported.
    #[arg(short = 'M', long = "set-mss", value_name = "BYTES")]
    pub mss: Option<u32>,
    /// Congestion control for the sending side, e.g. cubic, reno, bbr (Linux; read back and reported).
    #[arg(short = 'C', long = "congestion", value_name = "ALGO")]
    pub congestion: Option<String>,
    /// Kernel pacing cap per sending stream (SO_MAX_PACING_RATE, Linux), bits/s with K/M/G (1000-based).
    #[arg(long = "fq-rate", value_name = "RATE", value_parser = rate)]
    pub fq_rate: Option<u64>,
    /// Application pacing target per sending stream, bits/s with K/M/G (1000-based); 0 means as fast as possible [default: 0 for TCP, 1G for UDP].
    #[arg(short = 'b', long = "bitrate", value_name = "RATE", value_parser = rate)]
    pub bitrate: Option<u64>,
    /// UDP instead of TCP: paced datagrams; the receiver counts loss, reordering, duplicates and jitter.
    #[arg(short = 'u', long = "udp")]
    pub udp: bool,
    /// Test against an unmodified iperf3 server (3.1 or later) in iperf3's own protocol; -p defaults to 5201.
    #[arg(long)]
    pub iperf3: bool,
    #[command(flatten)]
    pub psk: PskArgs,
    /// Pin stream threads to CPUs: N for the client's, M for the server's (round-robin upward), as iperf3's -A (Linux).
    #[arg(short = 'A', long = "affinity", value_name = "N[,M]", value_parser = affinity)]
    pub affinity: Option<(u32, Option<u32>)>,
    /// Receivers discard data in the kernel instead of copying it to user memory (Linux MSG_TRUNC); faster, but
    /// not the default goodput definition, and marked in the output.
    #[arg(long)]
    pub skip_rx_copy: bool,
    /// Skip the path-MTU probe that runs before the streams start.
    #[arg(long)]
    pub no_mtu_check: bool,
    /// Measure UDP round-trip time idle (1 s before the streams start) and under load (during the test).
    #[arg(long)]
    pub latency: bool,
    /// Print one iperf3-layout JSON document instead of text.
    #[arg(short = 'J', long)]
    pub json: bool,
    #[command(flatten)]
    pub history: HistoryArgs,
    /// Free text stored with the run (e.g. "before switch upgrade").
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    /// Link profile the run was made on (1gbe, 10gbe, 10gbe-jumbo, ...).
    #[arg(long, value_name = "NAME", env = "SAF_NET_PROFILE")]
    pub profile: Option<String>,
    /// Use IPv4 only.
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Use IPv6 only.
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    #[command(flatten)]
    pub connect: ConnectTimeoutArgs,
}

/// Latency probe modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// Request/response on one TCP connection with TCP_NODELAY.
    Tcp,
    /// UDP echo with sequence numbers: counts loss, duplicates and reordering.
    Udp,
    /// TCP handshake time, one new connection per probe.
    Connect,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Percentiles come from an HDR histogram (3 significant digits). With a fixed rate, RTT is also measured from each probe's scheduled send time, so a stalled sender cannot hide slow answers (coordinated omission). A probe unanswered within --timeout is counted lost."
)]
pub struct LatencyArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Probe kind.
    #[arg(long, value_enum, default_value_t = ModeArg::Tcp)]
    pub mode: ModeArg,
    /// Stop after this many probes.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Stop after this many seconds [default: 5, or what --count needs].
    #[arg(long, value_name = "SECS", value_parser = seconds, allow_negative_numbers = true)]
    pub duration: Option<f64>,
    /// Seconds between scheduled probes; 0 sends each as soon as the last is answered [default: 0.01].
    #[arg(long, value_name = "SECS", value_parser = seconds, conflicts_with = "rate", allow_negative_numbers = true)]
    pub interval: Option<f64>,
    /// Probes per second (the inverse of --interval).
    #[arg(long, value_name = "PER_SEC")]
    pub rate: Option<f64>,
    /// Probe size in bytes (UDP payload; up to the path MTU: 1472 on a 1500 path, 8972 on a 9000 path).
    #[arg(long, value_name = "BYTES", default_value_t = crate::config::DEFAULT_PROBE_SIZE)]
    pub size: u32,
    /// Seconds to wait for each answer before counting the probe lost.
    #[arg(long, value_name = "SECS", default_value_t = crate::config::DEFAULT_PROBE_TIMEOUT_SECS, value_parser = seconds)]
    pub timeout: f64,
    /// Print one JSON document (percentiles plus histogram buckets) instead of text.
    #[arg(short = 'J', long)]
    pub json: bool,
    /// UDP echo without a test slot (protocol 3; with --mode udp): runs while the server's slot is busy, at most its --max-echo-rate.
    #[arg(long)]
    pub no_slot: bool,
    /// Spin for each answer for up to this many microseconds after its probe is sent, instead of sleeping until the answer wakes the prober: its wake-up leaves the RTT (loopback UDP back to back: p50 47 -> 19 us), and one CPU stays busy while it waits. At a fixed rate the window opens at each scheduled send. 0: off.
    #[arg(long, value_name = "MICROS", default_value_t = 0)]
    pub busy_poll: u64,
    #[command(flatten)]
    pub probe: ProbeArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Needs no test slot: answered at once, even while a test runs. A fact the server does not know reads unknown (null in -J). Exit codes: 0 facts shown, 1 cannot connect, refused, wrong key, or a server of protocol 2 (older saf-net: upgrade it), 2 bad arguments."
)]
pub struct FactsArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print one JSON document instead of text.
    #[arg(short = 'J', long)]
    pub json: bool,
    /// Use IPv4 only.
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Use IPv6 only.
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    #[command(flatten)]
    pub psk: PskArgs,
    #[command(flatten)]
    pub connect: ConnectTimeoutArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "The search runs between 576 (IPv4) or 1280 (IPv6) and the local interface MTU, client → server and server → client separately, and usually takes well under a second on a LAN. Exit code 0 means a clean path, 4 a diagnosed problem (black hole, path down, MTU mismatch, slow link)."
)]
pub struct MtuArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print one JSON document instead of text.
    #[arg(short = 'J', long)]
    pub json: bool,
    #[command(flatten)]
    pub probe: ProbeArgs,
}
