//! `service` arguments.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::report::FormatArg;

#[derive(Debug, Args)]
#[command(
    after_help = "As root the service is system-wide and starts at boot (a LaunchDaemon, or a unit in /etc/systemd/system); \
otherwise it is yours and starts at login (a LaunchAgent, or a systemd --user unit). `status` exits 0 when the service \
runs and 3 when it does not. --monitor: the monitor's service (`saf-net monitor`), beside the server's. See docs/service.md."
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
    /// The monitor's service (`saf-net monitor`, beside the server's; its own label, unit and log) instead of
    /// the server's.
    #[arg(long)]
    pub monitor: bool,
}

#[derive(Debug, Args)]
pub struct ServiceInstallArgs {
    #[command(flatten)]
    pub place: ServicePlace,
    /// Pre-shared key file handed to the server or monitor (its --psk-file); must exist and not be readable by
    /// everyone.
    #[arg(long, value_name = "FILE")]
    pub psk_file: Option<PathBuf>,
    /// Flags for `saf-net server` (with --monitor: `saf-net monitor`), after `--` (e.g. `-- -p 5301
    /// --max-concurrent 1`, or with --monitor `-- --peer 192.168.1.172 --profile 10gbe`).
    #[arg(last = true, value_name = "SERVER_FLAGS")]
    pub server_args: Vec<String>,
}
