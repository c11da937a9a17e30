//! Which interface the traffic to a host really takes: the kernel's route to it, the kind of the
//! interface it leaves by (Ethernet, Wi-Fi, Thunderbolt Bridge, a VPN tunnel such as Tailscale's
//! `utun`, ...) and that interface's link facts. The classic Mac pitfall is Wi-Fi and Ethernet both up
//! and the test measuring the wrong one; a profile says which kind a run should leave by.
//!
//! `kind` (the kinds and which fit a profile's medium) · `macos` (`route -n get`, `networksetup`,
//! `ifconfig`) · `linux` (`ip route get`, sysfs) · `render` (the route as text and JSON). The
//! `wrong_interface` verdict is a diagnosis ([`crate::diagnose::wrong_interface`]). Every external command goes through [`crate::runner::Runner`], so either OS's
//! backend runs anywhere against fake programs.

pub mod kind;
pub mod linux;
pub mod macos;
pub mod render;

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use kind::InterfaceKind;

use crate::runner::{RunError, Runner};
use crate::tune::BackendKind;

/// Where to look up the route to: an address, and for link-local IPv6 its zone (the interface name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub addr: IpAddr,
    pub zone: Option<String>,
}

impl Destination {
    pub fn new(addr: IpAddr) -> Self {
        Destination { addr, zone: None }
    }

    /// From a socket address; a link-local scope id becomes its interface name when the OS knows it.
    pub fn of(addr: std::net::SocketAddr) -> Self {
        let zone = match addr {
            std::net::SocketAddr::V6(v6) if v6.scope_id() != 0 => crate::platform::interface_name(v6.scope_id()),
            _ => None,
        };
        Destination { addr: addr.ip(), zone }
    }

    /// `addr`, resolved from `host`; a zone written in `host` (`fe80::1%en0`, `[fe80::1%en0]`) is kept as given.
    pub fn for_host(host: &str, addr: std::net::SocketAddr) -> Self {
        let mut dest = Destination::of(addr);
        if let Some((_, zone)) = host.trim_end_matches(']').split_once('%') {
            dest.zone = Some(zone.to_string());
        }
        dest
    }
}

/// The route to one destination and what is known about the interface it leaves by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteFacts {
    pub destination: IpAddr,
    /// The egress interface (`en0`, `utun4`, `eth0`).
    pub interface: String,
    pub kind: InterfaceKind,
    /// How the kind was known (e.g. `hardware port "Wi-Fi"`, `sysfs DEVTYPE=vxlan`), or why it is unknown.
    pub kind_source: String,
    /// macOS's hardware port name of the interface (`Ethernet`, `Wi-Fi`, `Thunderbolt Bridge`).
    pub hardware_port: Option<String>,
    /// The next hop; None when the destination is on the interface's own network.
    pub gateway: Option<IpAddr>,
    /// The local address the kernel uses, when the tool says (Linux) or this host is the Mac asked about.
    pub source: Option<IpAddr>,
    pub mtu: Option<u32>,
    pub speed_mbps: Option<u32>,
    pub duplex: Option<String>,
    /// The route's own MTU, when the tool reports one.
    #[serde(default)]
    pub route_mtu: Option<u32>,
}

/// Why no route could be found.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error("no route to {dest}: {reason}")]
    NoRoute { dest: IpAddr, reason: String },
    #[error("unexpected output from `{cmd}`: {detail}")]
    Output { cmd: String, detail: String },
    #[error("cannot look up the route: {0}")]
    Run(#[from] RunError),
}

/// Looks up the route to `dest` with `backend`'s tools.
pub fn find(backend: BackendKind, r: &mut Runner, dest: &Destination) -> Result<RouteFacts, RouteError> {
    match backend {
        BackendKind::Macos => macos::find(r, dest),
        BackendKind::Linux => linux::find(r, dest),
    }
}

/// Looks up the route to `dest` on this machine with `backend`'s tools run for real. With this OS's own
/// backend the kernel's source address fills in what the tool does not say (macOS's `route get`).
pub fn find_here(backend: BackendKind, dest: &Destination) -> Result<RouteFacts, RouteError> {
    let mut f = find(backend, &mut Runner::execute(), dest)?;
    if backend == BackendKind::native() && f.source.is_none() && dest.zone.is_none() {
        f.source = crate::platform::local_addr_towards(dest.addr);
    }
    Ok(f)
}

/// Looks up the route to `dest` on this machine with its own tools.
pub fn find_native(dest: &Destination) -> Result<RouteFacts, RouteError> {
    find_here(BackendKind::native(), dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_written_in_the_host_is_kept() {
        let addr: std::net::SocketAddr = "[fe80::1]:0".parse().unwrap();
        let dest = Destination::for_host("[fe80::1%en0]", addr);
        assert_eq!((dest.addr, dest.zone.as_deref()), (addr.ip(), Some("en0")));
        assert_eq!(
            Destination::for_host("fe80::1%eth1", addr).zone.as_deref(),
            Some("eth1")
        );
        let v4: std::net::SocketAddr = "192.0.2.1:0".parse().unwrap();
        assert_eq!(Destination::for_host("node.local", v4), Destination::new(v4.ip()));
    }
}
