//! Command-line arguments (clap derive): subcommands, help text, environment variables.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{
    DEFAULT_CONNECT_TIMEOUT_SECS, DEFAULT_HANDSHAKE_TIMEOUT_SECS, DEFAULT_INTERVAL_SECS, DEFAULT_MAX_CONCURRENT,
    DEFAULT_MAX_DURATION_SECS, DEFAULT_MAX_QUEUE, DEFAULT_MAX_STREAMS, DEFAULT_PORT,
};
use crate::model::BASELINE_MBPS;
use crate::net::Family;
use crate::units;

fn size(text: &str) -> Result<u64, String> {
    units::parse_size(text).map_err(|e| e.to_string())
}

fn rate(text: &str) -> Result<u64, String> {
    units::parse_rate(text).map_err(|e| e.to_string())
}

fn affinity(text: &str) -> Result<(u32, Option<u32>), String> {
    let bad = || format!("'{text}' is not N or N,M (CPU numbers)");
    match text.split_once(',') {
        Some((a, b)) => Ok((
            a.trim().parse().map_err(|_| bad())?,
            Some(b.trim().parse().map_err(|_| bad())?),
        )),
        None => Ok((text.trim().parse().map_err(|_| bad())?, None)),
    }
}

fn seconds(text: &str) -> Result<f64, String> {
    units::parse_seconds(text)
        .map(|d| d.as_secs_f64())
        .map_err(|e| e.to_string())
}

#[derive(Debug, Parser)]
#[command(
    name = "saf-net",
    version,
    about = "Network benchmarking and 10GbE tuning: parallel TCP throughput with honest receiver-side goodput",
    long_about = "saf-net measures what a link really delivers. Run `saf-net server` on one host and \
`saf-net client HOST` on another. The headline figure is receiver-side goodput: bytes the receiving \
application read, over the measured time on the receiver's clock. `saf-net demo` runs both ends on \
loopback in one process. iperf3's command lines run too: `saf-net -c HOST …`, `saf-net -s`, or through a link \
named iperf3 (docs/iperf3.md).",
    after_help = "Exit codes: 0 success, 1 error, 2 bad arguments, 3 test ran but is incomplete, 4 a check found a \
problem (mtu: a diagnosis; validate: FAIL; compare: after slower than before)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Answer tests from saf-net clients (one at a time by default; others wait in line).
    Server(ServerArgs),
    /// Measure TCP (or, with -u, UDP) throughput to a saf-net server.
    Client(ClientArgs),
    /// Measure round-trip latency to a saf-net server: TCP ping-pong, UDP echo or TCP connect time.
    Latency(LatencyArgs),
    /// Check a link against a profile: path MTU, goodput with 1 and N streams, UDP RTT; PASS/FAIL, exit 0 only if all pass.
    Validate(ValidateArgs),
    /// Measure every ordered pair of a cluster's nodes and name the weak one (needs protocol 3's relay; --dry-run shows the plan).
    Mesh(MeshArgs),
    /// Find the path MTU to a saf-net server, each way, with don't-fragment UDP probes; name jumbo-frame black holes.
    Mtu(MtuArgs),
    /// Show which interface the traffic to HOST leaves by: its kind (Ethernet, Wi-Fi, Thunderbolt Bridge, VPN tunnel), link facts.
    #[command(
        long_about = "Show which interface the traffic to HOST really leaves by, as this host's routing table says \
(macOS: route -n get; Linux: ip route get): the interface, its kind (Ethernet, Wi-Fi, Thunderbolt Bridge, \
Thunderbolt, bridge, VPN tunnel such as Tailscale's utun, loopback, virtual, or unknown) and how the kind was \
known (macOS: the hardware port from networksetup; Linux: sysfs), the gateway, the source address, and the \
link's MTU, speed and duplex (macOS: ifconfig; Linux: sysfs). What is not known is printed as unknown. With \
--profile, a route that leaves by another kind of interface than the profile's link (Wi-Fi or a tunnel under an \
Ethernet profile) gets one warning on stderr naming it and how to pin the route. Sends no packet.",
        after_help = "Exit codes: 0 the route was found (with or without a warning), 1 no route, an unresolvable \
HOST or a missing tool (one line says which), 2 bad arguments or an unknown profile. See docs/route.md."
    )]
    Route(RouteArgs),
    /// Run a server on 127.0.0.1 in this process, test 1 and 4 streams, compare with the 945 Mbit/s baseline.
    Demo(DemoArgs),
    /// Draw PNG charts, a summary CSV and a Markdown summary from the run history.
    Report(ReportArgs),
    /// Compare two labels of the history: speedup, % of ceiling, what still limits the link.
    Compare(CompareArgs),
    /// Run `saf-net server` as a service that starts by itself: launchd on macOS, systemd on Linux.
    Service(ServiceArgs),
    /// Emulated links in Linux network namespaces (root): rehearse 1GbE -> 10GbE on one machine.
    #[command(
        long_about = "Emulated links in Linux network namespaces, wire-exact in throughput: two hosts (near, far) \
joined through a bridge (switch) whose ports are shaped with tbf to the profile's line rate (their queue is \
the switch's buffer, so a sender above the line rate loses the excess there), frames MTU-sized, and a \
saf-net server in far. Needs root. There is no delay emulation: this kernel has no netem, \
so the lab's round-trip time is whatever the machine's veths give (tens of microseconds)."
    )]
    Lab(LabArgs),
    /// Tune an interface and the socket buffers for a link profile, safely and reversibly (root).
    #[command(
        long_about = "Tune an interface and the socket-buffer sysctls for a link profile: MTU and media through \
networksetup on macOS, MTU and speed through ip and ethtool on Linux, sysctls through sysctl. `show` reads \
everything; `apply` prints the plan with the exact commands, snapshots the settings before its first change, \
applies, verifies by reading back and rolls back on any failure; `revert` returns to the snapshot; `confirm` \
keeps a `--try` apply. See docs/tune.md."
    )]
    Tune(TuneArgs),
    /// Print a shell completion script for bash, zsh, fish or powershell to stdout.
    #[command(
        after_help = "Install, e.g.: saf-net completions bash > /etc/bash_completion.d/saf-net; \
saf-net completions zsh > \"${fpath[1]}/_saf-net\"; saf-net completions fish > ~/.config/fish/completions/saf-net.fish."
    )]
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout, or write one page per subcommand into a folder.
    #[command(after_help = "Read it with: saf-net man | man -l -  (or: saf-net man --dir /usr/local/share/man/man1).")]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write saf-net.1 and one saf-net-SUBCOMMAND.1 per subcommand into this folder instead.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

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
    /// Largest total of stream buffers (connections × block size) one test may use.
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
    /// Also listen for iperf3 clients on this port, TCP and UDP (5201 is iperf3's own); they are served on -p too.
    #[arg(long, value_name = "PORT", conflicts_with = "no_iperf3")]
    pub iperf3_port: Option<u16>,
    /// Do not serve iperf3 clients (`iperf3 -c`); their connections are dropped like any other stranger's.
    #[arg(long)]
    pub no_iperf3: bool,
    /// Serve iperf3 clients although --psk-file is set: they cannot prove the key, so are refused without this.
    #[arg(long, conflicts_with = "no_iperf3")]
    pub allow_iperf3_without_key: bool,
}

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
    /// Bytes per read/write call; with -u, the datagram payload size [default: 512K; with -u, what fits the path MTU: 1472 on a 1500 path, 8972 on a 9000 path, 1472 on loopback].
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
    #[command(flatten)]
    pub probe: ProbeArgs,
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

#[derive(Debug, Args)]
#[command(
    after_help = "Nodes come from the arguments, --nodes and --from-ray together; the same host twice, or \
fewer than 2 nodes, is refused (exit 2). Ray not installed or no cluster: exit 1. Measuring needs protocol 3's relay, \
which is not built yet: without --dry-run mesh says so and exits 1 (docs/mesh.md)."
)]
pub struct MeshArgs {
    /// Nodes running saf-net server: HOST, or NAME=HOST to name it in the outputs.
    #[arg(value_name = "NODE")]
    pub nodes: Vec<String>,
    /// Also the nodes in FILE: one HOST, NAME=HOST or NAME HOST a line; # comments, blank lines.
    #[arg(long = "nodes", value_name = "FILE")]
    pub nodes_file: Option<PathBuf>,
    /// Also the alive nodes of a running Ray cluster (ray.nodes() through python3).
    #[arg(long)]
    pub from_ray: bool,
    /// The Ray cluster's address [default: auto, the cluster this host belongs to].
    #[arg(long, value_name = "ADDR", requires = "from_ray")]
    pub ray_address: Option<String>,
    /// Seconds of each run (a 1-stream and a -P run per ordered pair).
    #[arg(short = 't', long = "time", value_name = "SECS", value_parser = seconds, allow_negative_numbers = true,
          default_value_t = crate::kinds::mesh::plan::DEFAULT_MESH_SECS)]
    pub time: f64,
    /// Streams of each pair's parallel run.
    #[arg(short = 'P', long = "parallel", value_name = "N", default_value_t = crate::kinds::mesh::plan::DEFAULT_PARALLEL)]
    pub parallel: u32,
    /// One pair at a time, so each figure is that pair's own capacity (the default).
    #[arg(long, conflicts_with = "concurrent")]
    pub sequential: bool,
    /// Many pairs at once: all, ring, incast:NODE or pairs.
    #[arg(long, value_name = "PATTERN")]
    pub concurrent: Option<crate::kinds::mesh::PatternSpec>,
    /// Profile of the cluster's links: goodput as % of its ceiling, its MTU.
    #[arg(long, value_name = "NAME", env = "SAF_NET_PROFILE")]
    pub profile: Option<String>,
    /// TCP ports to check from each node to each other (with --from-ray default: 6380, and 8265 where Ray reports a dashboard).
    #[arg(long, value_name = "PORTS")]
    pub check_ports: Option<crate::kinds::mesh::plan::Ports>,
    /// Print the plan (nodes, ordered pairs, rounds) and measure nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON document instead of text.
    #[arg(short = 'J', long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Checks: path MTU >= the profile's MTU; goodput with 1 and N streams >= the profile's \
[validate] min_ceiling_fraction of the TCP ceiling (and not above the wire); UDP RTT p99 <= --max-rtt-p99-us. \
Appends a kind=validate row to the history. Exit 0 when every check passes, 4 when one fails."
)]
pub struct ValidateArgs {
    /// Server: a name, IPv4, IPv6, or link-local with zone.
    pub host: String,
    /// Profile of the link this should be (1gbe, 10gbe, 10gbe-jumbo, thunderbolt, or a .toml path).
    #[arg(long, value_name = "NAME", env = "SAF_NET_PROFILE")]
    pub profile: String,
    /// Server port.
    #[arg(short, long, default_value_t = DEFAULT_PORT, env = "SAF_NET_PORT")]
    pub port: u16,
    /// Seconds per throughput test.
    #[arg(short = 't', long = "time", value_name = "SECS", default_value_t = 5.0, value_parser = seconds)]
    pub time: f64,
    /// Streams for the multi-stream test.
    #[arg(short = 'P', long = "parallel", value_name = "N", default_value_t = 4)]
    pub streams: u32,
    /// Highest acceptable UDP RTT p99, microseconds.
    #[arg(long, value_name = "US", default_value_t = 2000.0)]
    pub max_rtt_p99_us: f64,
    /// Print one JSON document instead of text.
    #[arg(short = 'J', long)]
    pub json: bool,
    #[arg(long, value_name = "FILE", conflicts_with = "no_history")]
    pub csv: Option<PathBuf>,
    #[arg(long)]
    pub no_history: bool,
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    /// Pre-shared key file, when the server requires one.
    #[arg(long, value_name = "FILE")]
    pub psk_file: Option<PathBuf>,
    #[command(flatten)]
    pub connect: ConnectTimeoutArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seconds per test.
    #[arg(short = 't', long = "time", value_name = "SECS", default_value_t = 3.0, value_parser = seconds)]
    pub time: f64,
    /// Folder for the demo's history and its report (PNG charts, summary.csv, report.md).
    #[arg(long, value_name = "DIR", default_value = "reports/demo")]
    pub out: PathBuf,
}

fn mbps(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("\"{text}\" is not a positive rate in Mbit/s (e.g. 945)")),
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "Writes goodput.png, goodput-over-time.png, latency.png (when latency runs exist), summary.csv \
and report.md into DIR. Runs whose per-run JSON is missing are left out of the charts that need it, with a warning."
)]
pub struct ReportArgs {
    /// History CSV files [default: $SAF_NET_HISTORY, else the user data dir's saf-net/history.csv].
    #[arg(value_name = "HISTORY")]
    pub histories: Vec<PathBuf>,
    /// Folder for the charts and summaries (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The old measurement to compare with, in Mbit/s.
    #[arg(long, value_name = "MBPS", default_value_t = BASELINE_MBPS, value_parser = mbps)]
    pub baseline_mbps: f64,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Label of the runs before the change (e.g. before).
    #[arg(long, value_name = "LABEL")]
    pub before: String,
    /// Label of the runs after the change (e.g. after).
    #[arg(long, value_name = "LABEL")]
    pub after: String,
    /// History CSV [default: $SAF_NET_HISTORY, else the user data dir's saf-net/history.csv].
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Print the comparison as JSON.
    #[arg(short = 'J', long)]
    pub json: bool,
    /// Folder for the compare PNG.
    #[arg(long, value_name = "DIR", default_value = "reports/compare")]
    pub out: PathBuf,
    /// The old measurement, in Mbit/s.
    #[arg(long, value_name = "MBPS", default_value_t = BASELINE_MBPS, value_parser = mbps)]
    pub baseline_mbps: f64,
}

/// Service manager file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// A launchd property list (macOS).
    Launchd,
    /// A systemd unit (Linux).
    Systemd,
}

#[derive(Debug, Args)]
#[command(
    after_help = "As root the service is system-wide and starts at boot (a LaunchDaemon, or a unit in /etc/systemd/system); \
otherwise it is yours and starts at login (a LaunchAgent, or a systemd --user unit). `status` exits 0 when the server \
runs and 3 when it does not. See docs/service.md."
)]
pub struct ServiceArgs {
    #[command(subcommand)]
    pub action: ServiceAction,
}

#[derive(Debug, Subcommand)]
pub enum ServiceAction {
    /// Write the service file and start the server (again, with these settings, if it already runs).
    Install(ServiceInstallArgs),
    /// Stop the service and remove its file.
    Uninstall(ServicePlace),
    /// Say whether the service is installed and running.
    Status(ServicePlace),
}

#[derive(Debug, Args)]
pub struct ServicePlace {
    /// Change nothing; show what would be done instead (install prints the file on stdout, the steps on stderr).
    #[arg(long)]
    pub print: bool,
    /// Service manager [default: this system's: launchd on macOS, systemd on Linux].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<FormatArg>,
    /// The system-wide service, started at boot; needs root [default when root].
    #[arg(long, conflicts_with = "user")]
    pub system: bool,
    /// The per-user service, started at login [default when not root].
    #[arg(long)]
    pub user: bool,
}

#[derive(Debug, Args)]
pub struct ServiceInstallArgs {
    #[command(flatten)]
    pub place: ServicePlace,
    /// Pre-shared key file handed to the server (its --psk-file); must exist and not be readable by everyone.
    #[arg(long, value_name = "FILE")]
    pub psk_file: Option<PathBuf>,
    /// Flags for `saf-net server`, after `--` (e.g. `-- -p 5301 --max-concurrent 1`).
    #[arg(last = true, value_name = "SERVER_FLAGS")]
    pub server_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LabArgs {
    #[command(subcommand)]
    pub command: LabCommand,
}

#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Build a lab for PROFILE and start a saf-net server in its far host.
    #[command(
        long_about = "Build a lab for PROFILE: namespaces safnet-NAME-near, -far and -switch, a bridge in switch, \
veth pairs to the hosts, addresses 10.77.K.1 (near) and 10.77.K.2 (far), host MTUs from the profile, \
segmentation offloads off, and tbf on each switch port's egress at line_rate x (MTU+14)/(MTU+38) (less burst / 3 s, \
see docs/lab.md). A saf-net server listens in far on port 5301. Bandwidth and a switch buffer only: the lab emulates no delay \
and no random loss (no netem on this kernel).",
        after_help = "Example: saf-net lab up 1gbe && saf-net lab exec -- saf-net client 10.77.K.2 (lab up prints the address)"
    )]
    Up(LabUpArgs),
    /// Remove a lab: its processes, namespaces and state, also what a crashed run left.
    Down(LabDownArgs),
    /// Show every lab that is up: namespaces, addresses, MTUs, rates, server.
    Status(LabStatusArgs),
    /// Run a command in a lab host (near by default) with SAF_NET_PROFILE set to the lab's profile.
    #[command(after_help = "Example: saf-net lab exec -- saf-net client 10.77.K.2 -t 5")]
    Exec(LabExecArgs),
}

#[derive(Debug, Args)]
pub struct LabUpArgs {
    /// Profile name (1gbe, 10gbe, 10gbe-jumbo, thunderbolt, or profiles/NAME.toml) or path to a .toml file.
    #[arg(value_name = "PROFILE", required_unless_present = "profile_flag")]
    pub profile: Option<String>,
    /// The profile, as a flag (the same as PROFILE).
    #[arg(long = "profile", value_name = "PROFILE", conflicts_with = "profile")]
    pub profile_flag: Option<String>,
    /// Lab name; several labs with different names can be up at once.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub name: String,
    /// MTU of the switch's ports, below the hosts' to reproduce a switch not set for jumbo frames.
    #[arg(long, value_name = "N")]
    pub switch_mtu: Option<u32>,
    /// TCP congestion control of the lab's hosts [default: the profile's [lab] congestion_control, else cubic
    /// where a namespace may use it (net.ipv4.tcp_allowed_congestion_control), else reno].
    #[arg(long, value_name = "ALGO")]
    pub congestion: Option<String>,
    /// Also build a second route from near to far that is a tunnel, as a VPN such as Tailscale makes:
    /// vpn0 in both hosts (VXLAN over the lab link, MTU 1280), far's second address 100.77.K.2 reachable
    /// only through it. A client testing that address measures the tunnel and gets the wrong-interface warning.
    #[arg(long)]
    pub second_route: bool,
    /// Build N hosts (2 to 8) on the switch, each running a saf-net server that requires a new lab key
    /// (lab exec hands it on as SAF_NET_PSK), every port shaped both ways; hosts h1..hN (near and far when N
    /// is 2), addresses 10.77.K.1 to 10.77.K.N [default: near and far, one server in far, no key].
    #[arg(long, value_name = "N")]
    pub hosts: Option<u8>,
    /// Host K's port runs at MBPS Mbit/s (at most the profile's line rate) in both directions; repeatable;
    /// needs --hosts.
    #[arg(long, value_name = "K=MBPS")]
    pub host_rate: Vec<String>,
    /// Host K's eth0 MTU (576 to 65535), while the switch keeps its own: a misconfigured node; repeatable;
    /// needs --hosts.
    #[arg(long, value_name = "K=MTU")]
    pub host_mtu: Vec<String>,
    /// Print the commands that would build the lab, run nothing (needs no root).
    #[arg(long)]
    pub dry_run: bool,
}

impl LabUpArgs {
    /// The profile given, as PROFILE or --profile.
    pub fn profile(&self) -> &str {
        self.profile
            .as_deref()
            .or(self.profile_flag.as_deref())
            .unwrap_or_default()
    }
}

#[derive(Debug, Args)]
pub struct LabDownArgs {
    /// Lab to remove [default: default].
    #[arg(long, value_name = "NAME", conflicts_with = "all")]
    pub name: Option<String>,
    /// Remove every lab.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct LabStatusArgs {
    /// Print JSON: {"labs": [{"name", "profile", "hosts": [{"index", "name", "namespace", "address",
    /// "rate_mbps", "mtu", "port"}]}]}.
    #[arg(short = 'J', long)]
    pub json: bool,
}

/// A lab host by its number: near is 1, far is 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabHost(pub u8);

/// `near`, `far`, or a host number 1 to 8 (`3` or `h3`).
fn lab_host(s: &str) -> Result<LabHost, String> {
    let index = match s {
        "near" => Some(1),
        "far" => Some(2),
        _ => s.strip_prefix('h').unwrap_or(s).parse::<u8>().ok(),
    };
    index
        .filter(|i| (1..=8).contains(i))
        .map(LabHost)
        .ok_or_else(|| "use near, far, or a host number 1 to 8 (3 or h3)".into())
}

#[derive(Debug, Args)]
pub struct LabExecArgs {
    /// Lab to run in.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub name: String,
    /// Host to run in: near, far, or a host number K of a lab built with --hosts (near is 1, far is 2).
    #[arg(long, value_name = "HOST", default_value = "near", value_parser = lab_host)]
    pub host: LabHost,
    /// The command and its arguments, after `--`. A first word `saf-net` runs this saf-net binary.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RouteArgs {
    /// Host: a name (alpha.local), IPv4, IPv6, or link-local with zone (fe80::1%en0).
    pub host: String,
    /// Which OS's tools to use: macos (route, networksetup, ifconfig) or linux (ip, sysfs) [default: this OS's].
    #[arg(long, value_enum, value_name = "OS")]
    pub backend: Option<BackendArg>,
    /// Print JSON instead of text.
    #[arg(short = 'J', long)]
    pub json: bool,
    /// Link profile whose medium the interface should match (1gbe, 10gbe, 10gbe-jumbo, ...).
    #[arg(long, value_name = "NAME", env = "SAF_NET_PROFILE")]
    pub profile: Option<String>,
}

/// Which OS's tools `saf-net tune` and `saf-net route` drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendArg {
    /// macOS's tools: networksetup, ifconfig and sysctl (tune); route, networksetup and ifconfig (route).
    Macos,
    /// Linux's tools: ip, ethtool and sysctl (tune); ip and sysfs (route).
    Linux,
}

#[derive(Debug, Args)]
pub struct TuneArgs {
    #[command(subcommand)]
    pub command: TuneCommand,
}

#[derive(Debug, Subcommand)]
pub enum TuneCommand {
    /// Show hardware ports, MTUs, media and link, offloads and rings, the sysctls, and what survives a reboot.
    Show(TuneShowArgs),
    /// Put an interface and the sysctls where PROFILE says: plan, snapshot, apply, verify, roll back on failure.
    #[command(
        after_help = "Example: sudo saf-net tune apply 10gbe-jumbo --interface Ethernet --try 60 \
(then `sudo saf-net tune confirm` within 60 s, or it reverts by itself)"
    )]
    Apply(TuneApplyArgs),
    /// Return the interfaces and sysctls to the snapshot taken before saf-net's first change.
    Revert(TuneRevertArgs),
    /// Keep the settings of a `--try` apply (stops the automatic revert).
    Confirm(TuneConfirmArgs),
    /// Internal: waits for a --try deadline and reverts unless confirmed.
    #[command(hide = true)]
    Watch(TuneWatchArgs),
}

#[derive(Debug, Args)]
pub struct TuneShowArgs {
    /// Hardware port or device (macOS: "Ethernet", "Thunderbolt Ethernet Slot 1", en0; Linux: eth0) [default: all].
    #[arg(short, long, value_name = "IF")]
    pub interface: Option<String>,
    /// Print JSON instead of text.
    #[arg(short = 'J', long)]
    pub json: bool,
    /// Which OS's tools to use [default: this OS's].
    #[arg(long, value_enum, value_name = "OS")]
    pub backend: Option<BackendArg>,
    /// Folder of saf-net's snapshot, to report it [default: /var/lib/saf-net as root, else the XDG state dir].
    #[arg(long, value_name = "DIR", env = "SAF_NET_TUNE_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TuneApplyArgs {
    /// Profile name (1gbe, 10gbe, 10gbe-jumbo, thunderbolt) or path to a .toml file.
    pub profile: String,
    /// Hardware port or device to tune (macOS: "Ethernet" or en0; Linux: eth0).
    #[arg(short, long, value_name = "IF")]
    pub interface: String,
    /// Print the plan and stop; change nothing (needs no root).
    #[arg(long)]
    pub dry_run: bool,
    /// Apply without asking.
    #[arg(short, long)]
    pub yes: bool,
    /// Revert by itself after SECS unless `saf-net tune confirm` runs; 0 turns it off
    /// [default: 60 when the interface carries this SSH session, else 0].
    #[arg(long = "try", value_name = "SECS")]
    pub try_secs: Option<u64>,
    /// Also write the sysctls to the file read at boot (/etc/sysctl.d/90-saf-net.conf, macOS /etc/sysctl.conf).
    #[arg(long)]
    pub persist: bool,
    /// Folder for the snapshot [default: /var/lib/saf-net as root, else the XDG state dir].
    #[arg(long, value_name = "DIR", env = "SAF_NET_TUNE_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Which OS's tools to use [default: this OS's].
    #[arg(long, value_enum, value_name = "OS")]
    pub backend: Option<BackendArg>,
}

#[derive(Debug, Args)]
pub struct TuneRevertArgs {
    /// Revert only this interface (the sysctls follow with the last one) [default: everything].
    #[arg(short, long, value_name = "IF")]
    pub interface: Option<String>,
    /// Folder of the snapshot [default: /var/lib/saf-net as root, else the XDG state dir].
    #[arg(long, value_name = "DIR", env = "SAF_NET_TUNE_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Which OS's tools to use [default: the one that took the snapshot].
    #[arg(long, value_enum, value_name = "OS")]
    pub backend: Option<BackendArg>,
}

#[derive(Debug, Args)]
pub struct TuneConfirmArgs {
    /// Folder of the snapshot [default: /var/lib/saf-net as root, else the XDG state dir].
    #[arg(long, value_name = "DIR", env = "SAF_NET_TUNE_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TuneWatchArgs {
    #[arg(long, value_name = "DIR")]
    pub state_dir: PathBuf,
    #[arg(long, value_enum, value_name = "OS")]
    pub backend: BackendArg,
    #[arg(long)]
    pub token: String,
}
