//! `lab up --second-route`: a second path from near to far that is a tunnel, as a VPN such as
//! Tailscale makes one. Each host gets `vpn0`, a VXLAN device that carries its packets in UDP over the
//! lab link (so the switch shapes them like everything else), MTU 1280 like Tailscale's, and an
//! address in 100.77.K.0/24 (inside the 100.64.0.0/10 range Tailscale uses). Far's 100.77.K.2 is
//! reachable only through the tunnel: a client that tests it measures the tunnel, not the link.
//!
//! VXLAN because this kernel has no ipip, gre or WireGuard, a tun device would need a process to
//! move its packets, and sysfs names a VXLAN device (`DEVTYPE=vxlan`): `saf-net route` tells it from
//! the lab's veth by what the kernel says, not by its name.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::names::HOST_IF;
use super::runner::Cmd;

/// The tunnel's interface in both hosts.
pub const TUNNEL_IF: &str = "vpn0";
/// The tunnel addresses are 100.77.K.1 (near) and 100.77.K.2 (far).
pub const TUNNEL_BASE: [u8; 2] = [100, 77];
/// Tailscale's MTU.
pub const TUNNEL_MTU: u32 = 1280;
/// VXLAN network identifier and the IANA VXLAN port.
pub const VNI: u32 = 77;
pub const UDP_PORT: u16 = 4789;

/// The second route as built and recorded in the lab's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondRoute {
    pub interface: String,
    /// How the tunnel is made: "vxlan".
    pub kind: String,
    pub near_addr: Ipv4Addr,
    /// Far's second address, reachable only through the tunnel.
    pub far_addr: Ipv4Addr,
    pub mtu: u32,
    pub vni: u32,
    pub udp_port: u16,
}

impl SecondRoute {
    /// The tunnel of the lab with subnet index K.
    pub fn for_subnet(k: u8) -> Self {
        let [a, b] = TUNNEL_BASE;
        SecondRoute {
            interface: TUNNEL_IF.into(),
            kind: "vxlan".into(),
            near_addr: Ipv4Addr::new(a, b, k, 1),
            far_addr: Ipv4Addr::new(a, b, k, 2),
            mtu: TUNNEL_MTU,
            vni: VNI,
            udp_port: UDP_PORT,
        }
    }

    /// The tunnel's network, routed through it in both hosts.
    pub fn network(&self) -> String {
        let [a, b, k, _] = self.near_addr.octets();
        format!("{a}.{b}.{k}.0/24")
    }
}

fn ip(ns: &str, rest: &str) -> Cmd {
    Cmd::new("ip").args(["-n", ns]).args(rest.split_whitespace())
}

/// The commands that build one host's end: the VXLAN device to the other host over eth0, its MTU,
/// its address, and the route to the tunnel's network through it.
fn host_end(t: &SecondRoute, ns: &str, local: Ipv4Addr, remote: Ipv4Addr, addr: Ipv4Addr) -> Vec<Cmd> {
    let dev = &t.interface;
    vec![
        ip(
            ns,
            &format!(
                "link add {dev} type vxlan id {} local {local} remote {remote} dstport {} dev {HOST_IF}",
                t.vni, t.udp_port
            ),
        ),
        ip(ns, &format!("link set {dev} mtu {} up", t.mtu)),
        ip(ns, &format!("addr add {addr}/32 dev {dev}")),
        ip(ns, &format!("route add {} dev {dev} src {addr}", t.network())),
    ]
}

/// Both ends of the tunnel; `near`/`far` are the hosts' namespaces and lab-link addresses.
pub fn build(t: &SecondRoute, near: (&str, Ipv4Addr), far: (&str, Ipv4Addr)) -> Vec<Cmd> {
    let mut v = host_end(t, near.0, near.1, far.1, t.near_addr);
    v.extend(host_end(t, far.0, far.1, near.1, t.far_addr));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ends_ride_the_lab_link_and_route_the_tunnel_network() {
        let t = SecondRoute::for_subnet(5);
        assert_eq!(
            (t.near_addr.to_string(), t.far_addr.to_string()),
            ("100.77.5.1".into(), "100.77.5.2".into())
        );
        assert_eq!(t.network(), "100.77.5.0/24");
        let near = ("safnet-t-near", Ipv4Addr::new(10, 77, 5, 1));
        let far = ("safnet-t-far", Ipv4Addr::new(10, 77, 5, 2));
        let cmds: Vec<String> = build(&t, near, far).iter().map(ToString::to_string).collect();
        assert_eq!(
            cmds,
            [
                "ip -n safnet-t-near link add vpn0 type vxlan id 77 local 10.77.5.1 remote 10.77.5.2 dstport 4789 dev eth0",
                "ip -n safnet-t-near link set vpn0 mtu 1280 up",
                "ip -n safnet-t-near addr add 100.77.5.1/32 dev vpn0",
                "ip -n safnet-t-near route add 100.77.5.0/24 dev vpn0 src 100.77.5.1",
                "ip -n safnet-t-far link add vpn0 type vxlan id 77 local 10.77.5.2 remote 10.77.5.1 dstport 4789 dev eth0",
                "ip -n safnet-t-far link set vpn0 mtu 1280 up",
                "ip -n safnet-t-far addr add 100.77.5.2/32 dev vpn0",
                "ip -n safnet-t-far route add 100.77.5.0/24 dev vpn0 src 100.77.5.2",
            ]
        );
    }

    #[test]
    fn the_record_round_trips() {
        let json = serde_json::to_string(&SecondRoute::for_subnet(9)).unwrap();
        let back: SecondRoute = serde_json::from_str(&json).unwrap();
        assert_eq!(back.interface, "vpn0");
    }
}
