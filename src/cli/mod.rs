//! Command-line arguments (clap derive): subcommands, help text, environment variables. One file per command
//! family; `parse.rs` holds the value parsers.

mod client;
mod collective;
mod doctor;
mod lab;
mod mesh;
mod monitor;
mod parse;
mod report;
mod server;
mod service;
mod tune;
mod validate;

pub use client::*;
pub use collective::*;
pub use doctor::*;
pub use lab::*;
pub use mesh::*;
pub use monitor::*;
pub use report::*;
pub use server::*;
pub use service::*;
pub use tune::*;
pub use validate::*;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Run allreduce, allgather, reduce-scatter, broadcast or all-to-all over the nodes, on verified data; busbw as nccl-tests reports it.
    Collective(CollectiveArgs),
    /// Watch peers' links on a schedule (RTT, loss, path MTU, link facts, a budgeted throughput sample) and serve them to Prometheus.
    Monitor(MonitorArgs),
    /// Name what limits the link to HOST: both ends' facts, the path MTU and a short test, the limiting factor first with its fix.
    Doctor(DoctorArgs),
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
    /// Ask a saf-net server (protocol 3) for its own link facts towards this host: interface, speed, duplex, MTU, kind, route, OS.
    Facts(FactsArgs),
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
