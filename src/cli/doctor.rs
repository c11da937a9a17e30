//! `doctor` arguments.

use clap::Args;

use super::parse::{seconds, size};
use super::{ConnectTimeoutArgs, PskArgs};

#[derive(Debug, Args)]
#[command(
    after_help = "Gathers both ends' facts (link speed, duplex, MTU, the route's interface kind, this host's TCP \
buffer caps, congestion control, load, CPU governor, offloads, EEE and flow control where readable; unknown stays \
unknown), the path MTU, and a short test; then names the single limiting factor first with its fix (often the \
exact `saf-net tune` command), then the lesser ones. HOST runs `saf-net server` (protocol 3). Exit codes: 0 \
nothing limits the link beyond noise; 4 a finding names a limit; 1 HOST did not answer (this host's facts are \
still printed, the unreachable host is the first finding); 2 bad arguments (docs/doctor.md)."
)]
pub struct DoctorArgs {
    /// The saf-net server at the other end of the link.
    pub host: String,
    /// Server port.
    #[arg(short = 'p', long, value_name = "PORT", default_value_t = crate::config::DEFAULT_PORT,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,
    /// Profile of the link: its ceiling, MTU, medium and the tune command of the fixes.
    #[arg(long, value_name = "NAME", env = "SAF_NET_PROFILE")]
    pub profile: Option<String>,
    /// Seconds of the short test.
    #[arg(short = 't', long = "time", value_name = "SECS", value_parser = seconds,
          default_value_t = crate::kinds::doctor::plan::DEFAULT_SECONDS)]
    pub time: f64,
    /// Streams of the short test.
    #[arg(short = 'P', long = "parallel", value_name = "N", default_value_t = 1)]
    pub parallel: u32,
    /// Socket buffer of the test's streams (as `client -w`); the doctor says when it is below the link's need.
    #[arg(short = 'w', long, value_name = "SIZE", value_parser = size)]
    pub window: Option<u64>,
    /// Also check that these TCP ports on HOST accept a connection from this host (e.g. Ray's 6380,8265).
    #[arg(long, value_name = "PORTS")]
    pub check_ports: Option<crate::kinds::mesh::plan::Ports>,
    /// Print one JSON document: the facts, the test and findings[] in rank order.
    #[arg(short = 'J', long)]
    pub json: bool,
    #[command(flatten)]
    pub psk: PskArgs,
    #[command(flatten)]
    pub connect: ConnectTimeoutArgs,
}
