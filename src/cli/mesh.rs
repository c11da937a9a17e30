//! `mesh` arguments.

use std::path::PathBuf;

use clap::Args;

use super::parse::seconds;

#[derive(Debug, Args)]
#[command(
    after_help = "Nodes come from the arguments, --nodes and --from-ray together; the same host twice, or \
fewer than 2 nodes, is refused (exit 2). Ray not installed or no cluster: exit 1. --concurrent PATTERN measures \
through protocol 3's group sessions (the nodes' servers run with --allow-relay and the key in SAF_NET_PSK): exit 3 \
when a pair of the pattern is incomplete, 4 with findings. A sequential run is not built yet: without --dry-run mesh \
says so and exits 1 (docs/mesh.md)."
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
