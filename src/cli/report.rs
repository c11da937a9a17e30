//! `report` and `compare` arguments.

use std::path::PathBuf;

use clap::Args;

use super::parse::*;
use crate::model::BASELINE_MBPS;

#[derive(Debug, Args)]
#[command(
    after_help = "Writes goodput.png, goodput-over-time.png, latency.png (when latency runs exist), mesh-ID.png \
(a heatmap per mesh run), collective-OP.png (busbw by size per collective op), summary.csv and report.md into DIR. Runs whose per-run JSON is missing are left out of the charts that need it, with a warning."
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
    /// Label of the runs before the change (e.g. before); for mesh and collective runs also a run's id.
    #[arg(long, value_name = "LABEL")]
    pub before: String,
    /// Label of the runs after the change (e.g. after); for mesh and collective runs also a run's id.
    #[arg(long, value_name = "LABEL")]
    pub after: String,
    /// Compare mesh runs (each label's latest mesh run): the matrix of after/before ratios. Implied when neither
    /// label has throughput runs and both name a mesh run.
    #[arg(long, conflicts_with = "collective")]
    pub mesh: bool,
    /// Compare collective runs (each label's latest collective run): busbw after/before per op and size.
    /// Implied when neither label has throughput or mesh runs and both name a collective run.
    #[arg(long)]
    pub collective: bool,
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
