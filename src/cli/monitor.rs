//! `monitor` arguments.

use clap::Args;

use super::parse::seconds;
use super::{ConnectTimeoutArgs, PskArgs};
use crate::kinds::monitor::plan::{
    DEFAULT_BUDGET, DEFAULT_FACTS_EVERY, DEFAULT_LISTEN, DEFAULT_MTU_EVERY, DEFAULT_RTT_EVERY,
    DEFAULT_THROUGHPUT_EVERY, DEFAULT_THROUGHPUT_SECONDS,
};

#[derive(Debug, Args)]
#[command(
    after_help = "Each peer runs `saf-net server` (protocol 3 for the slot-free echo and facts; with --psk-file, the \
same key). RTT probes never take a peer's test slot; the MTU probe and the throughput sample run only when the slot \
is free (else they are skipped, never queued), and samples only within --budget. Metrics: http://LISTEN/metrics; \
blackbox style: /probe?target=PEER&module=rtt|mtu|throughput (a target that is not a peer gets HTTP 400). \
contrib/ has Prometheus rules, a scrape config and a Grafana dashboard. Runs until Ctrl-C or SIGTERM. Exit codes: \
0 stopped by a signal; 2 bad arguments (no peers, a bad --budget or period); 1 --listen is taken or cannot be \
used, Ray not installed (docs/monitor.md)."
)]
pub struct MonitorArgs {
    /// A peer running saf-net server: HOST, HOST:PORT ([V6]:PORT) or NAME=HOST[:PORT]; repeatable.
    #[arg(long = "peer", value_name = "PEER")]
    pub peers: Vec<String>,
    #[command(flatten)]
    pub more: super::NodeSourceArgs,
    /// The peers' server port, for peers given without one.
    #[arg(short = 'p', long, value_name = "PORT", default_value_t = crate::config::DEFAULT_PORT,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,
    /// Profile of the links: the alert thresholds (saf_net_profile_* gauges) and goodput as a share of its ceiling.
    #[arg(long, value_name = "NAME", env = "SAF_NET_PROFILE")]
    pub profile: Option<String>,
    /// Where /metrics and /probe are served (loopback by default; an address other hosts reach exposes them).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: String,
    /// Period of the UDP RTT and loss probe (5 echoes through the slot-free echo).
    #[arg(long, value_name = "DURATION", default_value = DEFAULT_RTT_EVERY)]
    pub rtt_every: String,
    /// Period of the link facts (speed, duplex, MTU of both ends' egress interfaces).
    #[arg(long, value_name = "DURATION", default_value = DEFAULT_FACTS_EVERY)]
    pub facts_every: String,
    /// Period of the path MTU probe (needs the peer's free slot).
    #[arg(long, value_name = "DURATION", default_value = DEFAULT_MTU_EVERY)]
    pub mtu_every: String,
    /// Period of the throughput sample (needs the peer's free slot and room in --budget).
    #[arg(long, value_name = "DURATION", default_value = DEFAULT_THROUGHPUT_EVERY)]
    pub throughput_every: String,
    /// Seconds of each throughput sample.
    #[arg(long, value_name = "SECS", value_parser = seconds, default_value_t = DEFAULT_THROUGHPUT_SECONDS)]
    pub throughput_seconds: f64,
    /// Streams of each throughput sample.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub throughput_streams: u32,
    /// Bytes the throughput samples may move: SIZE/day or SIZE/h, or off. A sample starts only when its worst case
    /// (the profile's line rate, else the link's speed, else 100 Gbit/s, for its seconds + 1) fits what is left.
    #[arg(long, value_name = "SIZE/WINDOW", default_value = DEFAULT_BUDGET)]
    pub budget: String,
    #[command(flatten)]
    pub psk: PskArgs,
    #[command(flatten)]
    pub connect: ConnectTimeoutArgs,
}
