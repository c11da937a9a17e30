//! Command-line arguments (clap derive): subcommands, help text, environment variables.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{
    DEFAULT_CONNECT_TIMEOUT_SECS, DEFAULT_HANDSHAKE_TIMEOUT_SECS, DEFAULT_INTERVAL_SECS, DEFAULT_MAX_CONCURRENT,
    DEFAULT_MAX_DURATION_SECS, DEFAULT_MAX_QUEUE, DEFAULT_MAX_STREAMS, DEFAULT_PORT,
};
use crate::units;

fn size(text: &str) -> Result<u64, String> {
    units::parse_size(text).map_err(|e| e.to_string())
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
loopback in one process.",
    after_help = "Exit codes: 0 success, 1 error, 2 bad arguments, 3 test ran but is incomplete."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Answer tests from saf-net clients (one at a time by default; others wait in line).
    Server(ServerArgs),
    /// Measure TCP throughput to a saf-net server.
    Client(ClientArgs),
    /// Run a server on 127.0.0.1 in this process, test 1 and 4 streams, compare with the 945 Mbit/s baseline.
    Demo(DemoArgs),
    /// Emulated links in Linux network namespaces (root): rehearse 1GbE -> 10GbE on one machine.
    #[command(
        long_about = "Emulated links in Linux network namespaces, wire-exact in throughput: two hosts (near, far) \
joined through a bridge (switch), each host's egress shaped with tbf to the profile's line rate, frames \
MTU-sized, and a saf-net server in far. Needs root. There is no delay emulation: this kernel has no netem, \
so the lab's round-trip time is whatever the machine's veths give (tens of microseconds)."
    )]
    Lab(LabArgs),
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
    /// Time a new connection has to say hello and send its request.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_HANDSHAKE_TIMEOUT_SECS, value_parser = seconds)]
    pub handshake_timeout: f64,
}

#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Server: a name (alpha.local), IPv4, IPv6, or link-local with zone (fe80::1%en0).
    pub host: String,
    /// Server port.
    #[arg(short, long, default_value_t = DEFAULT_PORT, env = "SAF_NET_PORT")]
    pub port: u16,
    /// Seconds to measure [default: 10].
    #[arg(short = 't', long = "time", value_name = "SECS", value_parser = seconds, conflicts_with = "bytes")]
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
    #[arg(short = 'i', long, value_name = "SECS", default_value_t = DEFAULT_INTERVAL_SECS, value_parser = seconds)]
    pub interval: f64,
    /// Seconds to run first and leave out of the results (slow start); adds to -t.
    #[arg(short = 'O', long, value_name = "SECS", default_value_t = 0.0, value_parser = seconds)]
    pub omit: f64,
    /// Bytes per read/write call.
    #[arg(short = 'l', long, value_name = "SIZE", default_value = "128K", value_parser = size)]
    pub length: u64,
    /// Socket buffer size (SO_SNDBUF/SO_RCVBUF) on both ends [default: the OS's autotuning].
    #[arg(short = 'w', long, value_name = "SIZE", value_parser = size)]
    pub window: Option<u64>,
    /// Print one iperf3-layout JSON document instead of text.
    #[arg(short = 'J', long)]
    pub json: bool,
    /// History CSV to append to [default: $SAF_NET_HISTORY, else the user data dir's saf-net/history.csv].
    #[arg(long, value_name = "FILE", conflicts_with = "no_history")]
    pub csv: Option<PathBuf>,
    /// Do not record this run in the history.
    #[arg(long)]
    pub no_history: bool,
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
    /// Give up connecting after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_CONNECT_TIMEOUT_SECS, value_parser = seconds)]
    pub connect_timeout: f64,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seconds per test.
    #[arg(short = 't', long = "time", value_name = "SECS", default_value_t = 3.0, value_parser = seconds)]
    pub time: f64,
    /// Folder for the demo's history.
    #[arg(long, value_name = "DIR", default_value = "reports/demo")]
    pub out: PathBuf,
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
segmentation offloads off, and tbf on each host's egress at line_rate x (MTU+14)/(MTU+38) (less burst / 3 s, \
see docs/lab.md). A saf-net server listens in far on port 5301. Bandwidth only: the lab emulates no delay or loss (no netem on this kernel).",
        after_help = "Example: saf-net lab up 1gbe && saf-net lab exec -- saf-net client 10.77.K.2 (lab up prints the address)"
    )]
    Up(LabUpArgs),
    /// Remove a lab: its processes, namespaces and state, also what a crashed run left.
    Down(LabDownArgs),
    /// Show every lab that is up: namespaces, addresses, MTUs, rates, server.
    Status,
    /// Run a command in a lab host (near by default) with SAF_NET_PROFILE set to the lab's profile.
    #[command(after_help = "Example: saf-net lab exec -- saf-net client 10.77.K.2 -t 5")]
    Exec(LabExecArgs),
}

#[derive(Debug, Args)]
pub struct LabUpArgs {
    /// Profile name (1gbe, 10gbe, 10gbe-jumbo, or profiles/NAME.toml) or path to a .toml file.
    pub profile: String,
    /// Lab name; several labs with different names can be up at once.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub name: String,
    /// MTU of the switch's ports, below the hosts' to reproduce a switch not set for jumbo frames.
    #[arg(long, value_name = "N")]
    pub switch_mtu: Option<u32>,
    /// Print the commands that would build the lab, run nothing (needs no root).
    #[arg(long)]
    pub dry_run: bool,
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

/// A lab host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LabHost {
    Near,
    Far,
}

#[derive(Debug, Args)]
pub struct LabExecArgs {
    /// Lab to run in.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub name: String,
    /// Host namespace to run in.
    #[arg(long, value_enum, default_value_t = LabHost::Near)]
    pub host: LabHost,
    /// The command and its arguments, after `--`. A first word `saf-net` runs this saf-net binary.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}
