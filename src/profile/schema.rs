//! The profile's tables and keys (schema version 1), as serde reads and writes them, and the ceiling
//! a profile's link implies. Unknown keys are errors; the checked keys' ranges are in `values.rs`.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::values::{
    fraction, line_rate, mtu, opt_algorithm, opt_mtu, opt_rtt_us, opt_tbf_bytes, opt_triple, schema_version,
};
use crate::model::tcp_goodput_ceiling_mbps;

/// Where a profile was read from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into the binary.
    #[default]
    Builtin,
    File(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Builtin => f.write_str("built-in"),
            Origin::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// One link profile.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The file's name without `.toml`; not a key in the file.
    #[serde(skip)]
    pub name: String,
    #[serde(skip)]
    pub origin: Origin,
    /// Must be 1.
    #[serde(deserialize_with = "schema_version")]
    pub schema_version: u32,
    /// One line for listings.
    #[serde(default)]
    pub description: String,
    pub link: Link,
    #[serde(default)]
    pub lab: LabSettings,
    #[serde(default)]
    pub tune: Tune,
    #[serde(default)]
    pub validate: Validate,
}

/// The physical link.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// Ethernet line rate in Mbit/s (1000 for 1GbE), before preamble, header, FCS and gap.
    #[serde(deserialize_with = "line_rate")]
    pub line_rate_mbps: f64,
    /// IP MTU of the hosts, bytes (1500 standard, 9000 jumbo).
    #[serde(deserialize_with = "mtu")]
    pub mtu: u32,
    /// What carries the link: the kind of interface a run under this profile should leave by
    /// [default: ethernet]. A run that leaves by another kind (Wi-Fi, a VPN tunnel) gets a warning.
    #[serde(default)]
    pub medium: Medium,
}

/// The kind of interface a profile's link is made of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Medium {
    /// Copper or fibre Ethernet, through a switch or direct.
    #[default]
    Ethernet,
    /// IP over Thunderbolt (macOS's Thunderbolt Bridge, Linux's thunderbolt-net).
    Thunderbolt,
}

impl Medium {
    pub fn as_str(self) -> &'static str {
        match self {
            Medium::Ethernet => "ethernet",
            Medium::Thunderbolt => "thunderbolt",
        }
    }
}

/// How `saf-net lab` emulates the link. Every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LabSettings {
    /// tbf bucket size in bytes [default: 2 ms at the shaped rate, see docs/lab.md].
    #[serde(default, deserialize_with = "opt_tbf_bytes")]
    pub tbf_burst_bytes: Option<u64>,
    /// tbf queue limit in bytes [default: burst + 10 ms at the shaped rate].
    #[serde(default, deserialize_with = "opt_tbf_bytes")]
    pub tbf_limit_bytes: Option<u64>,
    /// MTU of the switch (bridge) ports [default: link.mtu]; `lab up --switch-mtu` overrides it.
    #[serde(default, deserialize_with = "opt_mtu")]
    pub switch_mtu: Option<u32>,
    /// TCP congestion control of the lab's hosts [default: cubic where a namespace may use it, else reno].
    #[serde(default, deserialize_with = "opt_algorithm")]
    pub congestion_control: Option<String>,
}

/// Host tuning targets per OS, read by `saf-net tune`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Tune {
    pub linux: Option<TuneLinux>,
    pub macos: Option<TuneMacos>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Duplex {
    Full,
    Half,
}

/// Linux targets: `ip link set mtu`, `ethtool -s`, `sysctl -w`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TuneLinux {
    #[serde(deserialize_with = "mtu")]
    pub mtu: u32,
    /// `ethtool -s IF speed N`; leave out to keep autonegotiation's choice.
    pub speed_mbps: Option<u32>,
    pub duplex: Option<Duplex>,
    pub autoneg: Option<bool>,
    #[serde(default)]
    pub sysctl: LinuxSysctl,
}

/// The Linux sysctls saf-net tunes. Names contain dots, so they are quoted keys in TOML.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinuxSysctl {
    #[serde(rename = "net.core.rmem_max")]
    pub rmem_max: Option<u64>,
    #[serde(rename = "net.core.wmem_max")]
    pub wmem_max: Option<u64>,
    /// min, default, max bytes.
    #[serde(rename = "net.ipv4.tcp_rmem", default, deserialize_with = "opt_triple")]
    pub tcp_rmem: Option<[u64; 3]>,
    #[serde(rename = "net.ipv4.tcp_wmem", default, deserialize_with = "opt_triple")]
    pub tcp_wmem: Option<[u64; 3]>,
}

/// macOS targets: `networksetup -setMTU` / `-setMedia`, `sysctl -w`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TuneMacos {
    #[serde(deserialize_with = "mtu")]
    pub mtu: u32,
    /// `networksetup -setMedia` subtype, e.g. "autoselect" or "10Gbase-T <full-duplex>".
    pub media: Option<String>,
    #[serde(default)]
    pub sysctl: MacosSysctl,
}

/// The macOS sysctls saf-net tunes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MacosSysctl {
    #[serde(rename = "kern.ipc.maxsockbuf")]
    pub maxsockbuf: Option<u64>,
    #[serde(rename = "net.inet.tcp.sendspace")]
    pub sendspace: Option<u64>,
    #[serde(rename = "net.inet.tcp.recvspace")]
    pub recvspace: Option<u64>,
    #[serde(rename = "net.inet.tcp.autorcvbufmax")]
    pub autorcvbufmax: Option<u64>,
    #[serde(rename = "net.inet.tcp.autosndbufmax")]
    pub autosndbufmax: Option<u64>,
}

/// Thresholds a report judges runs on this link by.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Validate {
    /// Whether the ceiling assumes TCP timestamps (on by default on Linux and macOS).
    pub tcp_timestamps: bool,
    /// A run passes at or above this fraction of the TCP goodput ceiling.
    #[serde(deserialize_with = "fraction")]
    pub min_ceiling_fraction: f64,
    /// A receiver figure more than this fraction above the ceiling is flagged as impossible on this link.
    #[serde(deserialize_with = "fraction")]
    pub max_above_ceiling_fraction: f64,
    /// Highest acceptable UDP RTT p99 in microseconds (`validate`, the monitor's alert); optional, added
    /// without a schema change: files without it read as before.
    #[serde(deserialize_with = "opt_rtt_us", skip_serializing_if = "Option::is_none")]
    pub max_rtt_p99_us: Option<f64>,
}

impl Default for Validate {
    fn default() -> Self {
        Validate {
            tcp_timestamps: true,
            min_ceiling_fraction: 0.95,
            max_above_ceiling_fraction: 0.002,
            max_rtt_p99_us: None,
        }
    }
}

impl Profile {
    /// The TCP goodput ceiling of this link in Mbit/s, IPv4, with the profile's timestamp setting.
    pub fn ceiling_mbps(&self) -> f64 {
        tcp_goodput_ceiling_mbps(self.link.line_rate_mbps, self.link.mtu, self.validate.tcp_timestamps)
    }
}
