//! `mesh` arguments.

use std::path::PathBuf;

use clap::Args;

use super::parse::seconds;
use super::{ConnectTimeoutArgs, HistoryArgs, PskArgs};

/// Where else nodes come from besides the arguments: a file and a Ray cluster (mesh, monitor).
#[derive(Debug, Args)]
pub struct NodeSourceArgs {
    /// Also the nodes in FILE: one HOST[:PORT], NAME=HOST[:PORT] or NAME HOST[:PORT] a line; # comments, blank lines.
    #[arg(long = "nodes", value_name = "FILE")]
    pub nodes_file: Option<PathBuf>,
    /// Also the alive nodes of a running Ray cluster (ray.nodes() through python3).
    #[arg(long)]
    pub from_ray: bool,
    /// The Ray cluster's address [default: auto, the cluster this host belongs to].
    #[arg(long, value_name = "ADDR", requires = "from_ray")]
    pub ray_address: Option<String>,
}

impl NodeSourceArgs {
    /// These sources with `args` (the nodes given one by one) in front.
    pub fn with<'a>(&'a self, args: &'a [String]) -> crate::kinds::mesh::sources::Sources<'a> {
        crate::kinds::mesh::sources::Sources {
            args,
            file: self.nodes_file.as_deref(),
            ray: self.from_ray.then_some(self.ray_address.as_deref()),
        }
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "Each node runs `saf-net server --allow-relay` with the cluster's key; every pair is measured by \
its two nodes, never through this machine. Nodes come from the arguments, --nodes and --from-ray together; the same \
server twice, or fewer than 2 nodes, is refused. A node that does not answer, or refuses, is named and its pairs left \
incomplete; the run goes on. --concurrent PATTERN runs many pairs at once (each round one group session of the \
nodes' servers) and fills the -P figure only. Ctrl-C keeps the pairs measured. Exit codes: 0 every pair measured, no finding; 3 some \
pairs incomplete (a node unreachable, Ctrl-C), no finding; 4 findings (a slow node, an MTU, a refusing node...); \
2 bad arguments; 1 Ray not installed or no cluster, the history cannot be written (docs/mesh.md)."
)]
pub struct MeshArgs {
    /// Nodes running saf-net server: HOST, HOST:PORT ([V6]:PORT), or NAME=HOST[:PORT] to name it in the outputs.
    #[arg(value_name = "NODE")]
    pub nodes: Vec<String>,
    #[command(flatten)]
    pub more: NodeSourceArgs,
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
    /// The nodes' server port, for nodes given without one.
    #[arg(short = 'p', long, value_name = "PORT", default_value_t = crate::config::DEFAULT_PORT,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,
    #[command(flatten)]
    pub psk: PskArgs,
    #[command(flatten)]
    pub connect: ConnectTimeoutArgs,
    #[command(flatten)]
    pub history: HistoryArgs,
    /// Free text stored with the run (e.g. "before switch upgrade"); `compare` finds a label's latest mesh.
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    /// Print the plan (nodes, ordered pairs, rounds) and measure nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON document instead of text.
    #[arg(short = 'J', long)]
    pub json: bool,
}
