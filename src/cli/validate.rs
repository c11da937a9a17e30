//! `validate` and `demo` arguments.

use std::path::PathBuf;

use clap::Args;

use super::client::*;
use super::parse::*;
use crate::config::DEFAULT_PORT;

#[derive(Debug, Args)]
#[command(
    after_help = "Checks: path MTU >= the profile's MTU; goodput with 1 and N streams >= the profile's \
[validate] min_ceiling_fraction of the TCP ceiling (and not above the wire); UDP RTT p99 <= --max-rtt-p99-us (else the profile's [validate] max_rtt_p99_us, else 2000). \
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
    /// Highest acceptable UDP RTT p99, microseconds [default: the profile's [validate] max_rtt_p99_us, else
    /// 2000]
    #[arg(long, value_name = "US")]
    pub max_rtt_p99_us: Option<f64>,
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
