//! `lab` arguments.

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct LabArgs {
    #[command(subcommand)]
    pub command: LabCommand,
}

#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Build a lab for PROFILE and start a saf-net server in its far host.
    #[command(
        long_about = "Build a lab for PROFILE: namespaces safnet-NAME-near, -far and -switch, a bridge in switch, \
veth pairs to the hosts, addresses 10.77.K.1 (near) and 10.77.K.2 (far), host MTUs from the profile, \
segmentation offloads off, and tbf on each switch port's egress at line_rate x (MTU+14)/(MTU+38) (less burst / 3 s, \
see docs/lab.md). A saf-net server listens in far on port 5301. Bandwidth and a switch buffer only: the lab emulates no delay \
and no random loss (no netem on this kernel).",
        after_help = "Example: saf-net lab up 1gbe && saf-net lab exec -- saf-net client 10.77.K.2 (lab up prints the address)"
    )]
    Up(LabUpArgs),
    /// Remove a lab: its processes, namespaces and state, also what a crashed run left.
    Down(LabDownArgs),
    /// Show every lab that is up: namespaces, addresses, MTUs, rates, server.
    Status(LabStatusArgs),
    /// Run a command in a lab host (near by default) with SAF_NET_PROFILE set to the lab's profile.
    #[command(after_help = "Example: saf-net lab exec -- saf-net client 10.77.K.2 -t 5")]
    Exec(LabExecArgs),
}

#[derive(Debug, Args)]
pub struct LabUpArgs {
    /// Profile name (1gbe, 10gbe, 10gbe-jumbo, thunderbolt, or profiles/NAME.toml) or path to a .toml file.
    #[arg(value_name = "PROFILE", required_unless_present = "profile_flag")]
    pub profile: Option<String>,
    /// The profile, as a flag (the same as PROFILE).
    #[arg(long = "profile", value_name = "PROFILE", conflicts_with = "profile")]
    pub profile_flag: Option<String>,
    /// Lab name; several labs with different names can be up at once.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub name: String,
    /// MTU of the switch's ports, below the hosts' to reproduce a switch not set for jumbo frames.
    #[arg(long, value_name = "N")]
    pub switch_mtu: Option<u32>,
    /// TCP congestion control of the lab's hosts [default: the profile's [lab] congestion_control, else cubic
    /// where a namespace may use it (net.ipv4.tcp_allowed_congestion_control), else reno].
    #[arg(long, value_name = "ALGO")]
    pub congestion: Option<String>,
    /// Also build a second route from near to far that is a tunnel, as a VPN such as Tailscale makes:
    /// vpn0 in both hosts (VXLAN over the lab link, MTU 1280), far's second address 100.77.K.2 reachable
    /// only through it. A client testing that address measures the tunnel and gets the wrong-interface warning.
    #[arg(long)]
    pub second_route: bool,
    /// Build N hosts (2 to 8) on the switch, each running a saf-net server that requires a new lab key
    /// (lab exec hands it on as SAF_NET_PSK), every port shaped both ways; hosts h1..hN (near and far when N
    /// is 2), addresses 10.77.K.1 to 10.77.K.N [default: near and far, one server in far, no key].
    #[arg(long, value_name = "N")]
    pub hosts: Option<u8>,
    /// Host K's port runs at MBPS Mbit/s (at most the profile's line rate) in both directions; repeatable;
    /// needs --hosts.
    #[arg(long, value_name = "K=MBPS")]
    pub host_rate: Vec<String>,
    /// Host K's eth0 MTU (576 to 65535), while the switch keeps its own: a misconfigured node; repeatable;
    /// needs --hosts.
    #[arg(long, value_name = "K=MTU")]
    pub host_mtu: Vec<String>,
    /// Print the commands that would build the lab, run nothing (needs no root).
    #[arg(long)]
    pub dry_run: bool,
}

impl LabUpArgs {
    /// The profile given, as PROFILE or --profile.
    pub fn profile(&self) -> &str {
        self.profile
            .as_deref()
            .or(self.profile_flag.as_deref())
            .unwrap_or_default()
    }
}

#[derive(Debug, Args)]
pub struct LabDownArgs {
    /// Lab to remove [default: default].
    #[arg(long, value_name = "NAME", conflicts_with = "all")]
    pub name: Option<String>,
    /// Remove every lab.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct LabStatusArgs {
    /// Print JSON: {"labs": [{"name", "profile", "hosts": [{"index", "name", "namespace", "address",
    /// "rate_mbps", "mtu", "port"}]}]}.
    #[arg(short = 'J', long)]
    pub json: bool,
}

/// A lab host by its number: near is 1, far is 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabHost(pub u8);

/// `near`, `far`, or a host number 1 to 8 (`3` or `h3`).
fn lab_host(s: &str) -> Result<LabHost, String> {
    let index = match s {
        "near" => Some(1),
        "far" => Some(2),
        _ => s.strip_prefix('h').unwrap_or(s).parse::<u8>().ok(),
    };
    index
        .filter(|i| (1..=8).contains(i))
        .map(LabHost)
        .ok_or_else(|| "use near, far, or a host number 1 to 8 (3 or h3)".into())
}

#[derive(Debug, Args)]
pub struct LabExecArgs {
    /// Lab to run in.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub name: String,
    /// Host to run in: near, far, or a host number K of a lab built with --hosts (near is 1, far is 2).
    #[arg(long, value_name = "HOST", default_value = "near", value_parser = lab_host)]
    pub host: LabHost,
    /// The command and its arguments, after `--`. A first word `saf-net` runs this saf-net binary.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}
