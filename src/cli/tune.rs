//! `tune` and `route` arguments.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct RouteArgs {
    /// Host: a name (alpha.local), IPv4, IPv6, or link-local with zone (fe80::1%en0).
    pub host: String,
    /// Which OS's tools to use: macos (route, networksetup, ifconfig) or linux (ip, sysfs) [default: this OS's].
    #[arg(long, value_enum, value_name = "OS")]
    pub backend: Option<BackendArg>,
    /// Print JSON instead of text.
    #[arg(short = 'J', long)]
    pub json: bool,
    /// Link profile whose medium the interface should match (1gbe, 10gbe, 10gbe-jumbo, ...).
    #[arg(long, value_name = "NAME", env = "SAF_NET_PROFILE")]
    pub profile: Option<String>,
}

/// Which OS's tools `saf-net tune` and `saf-net route` drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendArg {
    /// macOS's tools: networksetup, ifconfig and sysctl (tune); route, networksetup and ifconfig (route).
    Macos,
    /// Linux's tools: ip, ethtool and sysctl (tune); ip and sysfs (route).
    Linux,
}

#[derive(Debug, Args)]
pub struct TuneArgs {
    #[command(subcommand)]
    pub command: TuneCommand,
}

#[derive(Debug, Subcommand)]
pub enum TuneCommand {
    /// Show hardware ports, MTUs, media and link, offloads and rings, the sysctls, and what survives a reboot.
    Show(TuneShowArgs),
    /// Put an interface and the sysctls where PROFILE says: plan, snapshot, apply, verify, roll back on failure.
    #[command(
        after_help = "Example: sudo saf-net tune apply 10gbe-jumbo --interface Ethernet --try 60 \
(then `sudo saf-net tune confirm` within 60 s, or it reverts by itself)"
    )]
    Apply(TuneApplyArgs),
    /// Return the interfaces and sysctls to the snapshot taken before saf-net's first change.
    Revert(TuneRevertArgs),
    /// Keep the settings of a `--try` apply (stops the automatic revert).
    Confirm(TuneConfirmArgs),
    /// Internal: waits for a --try deadline and reverts unless confirmed.
    #[command(hide = true)]
    Watch(TuneWatchArgs),
}

#[derive(Debug, Args)]
pub struct TuneShowArgs {
    /// Hardware port or device (macOS: "Ethernet", "Thunderbolt Ethernet Slot 1", en0; Linux: eth0) [default: all].
    #[arg(short, long, value_name = "IF")]
    pub interface: Option<String>,
    /// Print JSON instead of text.
    #[arg(short = 'J', long)]
    pub json: bool,
    /// Which OS's tools to use [default: this OS's].
    #[arg(long, value_enum, value_name = "OS")]
    pub backend: Option<BackendArg>,
    /// Folder of saf-net's snapshot, to report it [default: /var/lib/saf-net as root, else the XDG state dir].
    #[arg(long, value_name = "DIR", env = "SAF_NET_TUNE_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TuneApplyArgs {
    /// Profile name (1gbe, 10gbe, 10gbe-jumbo, thunderbolt) or path to a .toml file.
    pub profile: String,
    /// Hardware port or device to tune (macOS: "Ethernet" or en0; Linux: eth0).
    #[arg(short, long, value_name = "IF")]
    pub interface: String,
    /// Print the plan and stop; change nothing (needs no root).
    #[arg(long)]
    pub dry_run: bool,
    /// Apply without asking.
    #[arg(short, long)]
    pub yes: bool,
    /// Revert by itself after SECS unless `saf-net tune confirm` runs; 0 turns it off
    /// [default: 60 when the interface carries this SSH session, else 0].
    #[arg(long = "try", value_name = "SECS")]
    pub try_secs: Option<u64>,
    /// Also write the sysctls to the file read at boot (/etc/sysctl.d/90-saf-net.conf, macOS /etc/sysctl.conf).
    #[arg(long)]
    pub persist: bool,
    /// Folder for the snapshot [default: /var/lib/saf-net as root, else the XDG state dir].
    #[arg(long, value_name = "DIR", env = "SAF_NET_TUNE_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Which OS's tools to use [default: this OS's].
    #[arg(long, value_enum, value_name = "OS")]
    pub backend: Option<BackendArg>,
}

#[derive(Debug, Args)]
pub struct TuneRevertArgs {
    /// Revert only this interface (the sysctls follow with the last one) [default: everything].
    #[arg(short, long, value_name = "IF")]
    pub interface: Option<String>,
    /// Folder of the snapshot [default: /var/lib/saf-net as root, else the XDG state dir].
    #[arg(long, value_name = "DIR", env = "SAF_NET_TUNE_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Which OS's tools to use [default: the one that took the snapshot].
    #[arg(long, value_enum, value_name = "OS")]
    pub backend: Option<BackendArg>,
}

#[derive(Debug, Args)]
pub struct TuneConfirmArgs {
    /// Folder of the snapshot [default: /var/lib/saf-net as root, else the XDG state dir].
    #[arg(long, value_name = "DIR", env = "SAF_NET_TUNE_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TuneWatchArgs {
    #[arg(long, value_name = "DIR")]
    pub state_dir: PathBuf,
    #[arg(long, value_enum, value_name = "OS")]
    pub backend: BackendArg,
    #[arg(long)]
    pub token: String,
}
