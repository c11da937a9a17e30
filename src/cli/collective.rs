//! `collective` arguments.

use clap::Args;

use super::{ConnectTimeoutArgs, HistoryArgs, NodeSourceArgs, PskArgs};
use crate::kinds::collective::plan::{DEFAULT_ITERS, DEFAULT_WARMUP};
use crate::protocol::{Algo, CollOp, Dtype};

#[derive(Debug, Args)]
#[command(
    after_help = "Each node runs `saf-net server --allow-relay` with the cluster's key; the nodes join one group \
session and move the data node to node over TCP (a ring; every pair for alltoall), never through this machine. \
A size is the per-rank buffer, as in nccl-tests; each node needs twice the largest size within its server's \
--max-test-memory (default 256 MiB, so up to 128M), else it refuses before anything runs. Every result is checked \
against its closed form on every node. busbw = algbw × 2(n-1)/n for allreduce, (n-1)/n for allgather, \
reduce-scatter and alltoall, 1 for broadcast. Ctrl-C, or a node that leaves, keeps the sizes measured. Exit codes: \
0 every point measured and verified, no bottleneck; 4 a node or link named as the bottleneck; 3 incomplete (a node \
refused, did not answer or left, Ctrl-C), no bottleneck; 1 a wrong result (the run fails), Ray not installed, the \
history cannot be written; 2 bad arguments (fewer than 2 nodes, a size below nodes × the element size, --min above \
--max, an unknown op or dtype) (docs/collective.md)."
)]
pub struct CollectiveArgs {
    /// Nodes running saf-net server: HOST, HOST:PORT ([V6]:PORT), or NAME=HOST[:PORT] to name it in the outputs.
    #[arg(value_name = "NODE")]
    pub nodes: Vec<String>,
    #[command(flatten)]
    pub more: NodeSourceArgs,
    /// Operations to run, comma-separated, each over every size.
    #[arg(long = "op", value_name = "OPS", value_delimiter = ',', default_value = "allreduce")]
    pub ops: Vec<CollOp>,
    /// Sizes to run, comma-separated (K, M, G are 1024-based), instead of the --min/--max sweep.
    #[arg(long, value_name = "SIZES", value_delimiter = ',', value_parser = super::parse::size,
          conflicts_with_all = ["min", "max"])]
    pub sizes: Option<Vec<u64>>,
    /// Smallest size of a doubling sweep [default: 1K].
    #[arg(long, value_name = "SIZE", value_parser = super::parse::size)]
    pub min: Option<u64>,
    /// Largest size of a doubling sweep [default: 64M].
    #[arg(long, value_name = "SIZE", value_parser = super::parse::size)]
    pub max: Option<u64>,
    /// Timed iterations per size.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ITERS)]
    pub iters: u32,
    /// Untimed iterations before them.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_WARMUP)]
    pub warmup: u32,
    /// Element type of the buffers (bf16 patterns are exact in bf16).
    #[arg(long, value_name = "TYPE", default_value = "f32")]
    pub dtype: Dtype,
    /// How the data moves.
    #[arg(long, value_name = "ALGO", default_value = "ring")]
    pub algo: Algo,
    /// Profile of the cluster's links: busbw as % of its TCP ceiling, and what the ceiling would give.
    #[arg(long, value_name = "NAME", env = "SAF_NET_PROFILE")]
    pub profile: Option<String>,
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
    /// Free text stored with the run (e.g. "1gbe"); `report` draws one series per label, `compare` compares two.
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    /// Print one JSON document instead of text.
    #[arg(short = 'J', long)]
    pub json: bool,
}
