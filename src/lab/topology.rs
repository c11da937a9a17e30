//! The commands that build a lab, as a plain list (so it can be printed, recorded and tested).
//!
//! ```text
//!  near ns                     switch ns                      far ns
//!  eth0 10.77.K.1  ══veth══  near ─┐            ┌─ far  ══veth══  eth0 10.77.K.2
//!  MTU host                  tbf   └── br0 ─────┘   tbf           MTU host
//!                            (ports: MTU switch, tbf egress)      saf-net server :5301
//! ```
//!
//! The wire's serializer is the switch port: a tbf qdisc on the egress of each bridge port (toward its
//! host) shapes one direction, and its queue is the switch's buffer. Frames beyond it are dropped
//! there, as a real switch drops them, so a UDP sender driven above the line rate sees loss; a tbf on
//! the host's own egress would instead hold the sender back through its socket buffer and hide the
//! excess. Segmentation offloads (TSO, GSO) are off on each host's `eth0`, so every frame that leaves a
//! host is MTU-sized as on a wire. GRO stays on at every receiving veth end: tbf counts a merged
//! frame's bytes with one header per segment, so the shaping is unchanged, and GRO keeps veth
//! delivering in order through NAPI; without it a veth hands frames to per-CPU backlogs and tbf's
//! timer-driven dequeue on either core reorders them, which TCP answers with spurious retransmissions.

use std::net::Ipv4Addr;

use super::names::{BRIDGE, HOST_IF, Role};
use super::runner::Cmd;
use super::shaping::Tbf;
use super::tunnel::{self, SecondRoute};

/// What to build.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub near_ns: String,
    pub far_ns: String,
    pub switch_ns: String,
    pub near_addr: Ipv4Addr,
    pub far_addr: Ipv4Addr,
    pub prefix_len: u8,
    pub host_mtu: u32,
    pub switch_mtu: u32,
    pub tbf: Tbf,
    pub congestion: super::congestion::Choice,
    /// `--second-route`: a tunnel from near to far beside the link.
    pub second_route: Option<SecondRoute>,
}

impl Spec {
    pub fn ns(&self, role: Role) -> &str {
        match role {
            Role::Near => &self.near_ns,
            Role::Far => &self.far_ns,
            Role::Switch => &self.switch_ns,
        }
    }

    fn host(&self, role: Role) -> (&str, Ipv4Addr) {
        match role {
            Role::Near => (&self.near_ns, self.near_addr),
            _ => (&self.far_ns, self.far_addr),
        }
    }
}

fn ip(ns: &str, rest: &str) -> Cmd {
    Cmd::new("ip").args(["-n", ns]).args(rest.split_whitespace())
}

/// `ethtool` has no namespace option, so it runs under `ip netns exec`.
pub fn ethtool(ns: &str, args: &[&str]) -> Cmd {
    Cmd::new("ip")
        .args(["netns", "exec", ns, "ethtool"])
        .args(args.iter().copied())
}

/// The tbf command for a switch port's egress (`port` is named after the host it leads to).
pub fn tbf_cmd(switch_ns: &str, port: &str, tbf: &Tbf) -> Cmd {
    Cmd::new("tc")
        .args(["-n", switch_ns, "qdisc", "replace", "dev", port, "root", "tbf"])
        .args([
            "rate".to_string(),
            format!("{}bit", tbf.rate_bits()),
            "burst".into(),
            tbf.burst_bytes.to_string(),
            "limit".into(),
            tbf.limit_bytes.to_string(),
        ])
}

/// Every command that builds the lab, in order. Namespaces come first so a failure part-way leaves
/// only things `lab down` finds by name.
pub fn build(s: &Spec) -> Vec<Cmd> {
    let mut v = Vec::new();
    for role in [Role::Switch, Role::Near, Role::Far] {
        v.push(Cmd::new("ip").args(["netns", "add", s.ns(role)]));
        v.push(ip(s.ns(role), "link set lo up"));
    }
    let sw = &s.switch_ns;
    v.push(ip(
        sw,
        &format!("link add {BRIDGE} type bridge stp_state 0 forward_delay 0"),
    ));
    for role in [Role::Near, Role::Far] {
        let (ns, addr) = s.host(role);
        let port = role.as_str();
        v.push(ip(
            sw,
            &format!("link add {port} type veth peer name {HOST_IF} netns {ns}"),
        ));
        v.push(ip(sw, &format!("link set {port} mtu {} master {BRIDGE}", s.switch_mtu)));
        v.push(ethtool(sw, &["-K", port, "gro", "on"]));
        v.push(
            Cmd::new("ip")
                .args(["netns", "exec", ns, "sysctl", "-qw"])
                .arg(format!("net.ipv4.tcp_congestion_control={}", s.congestion.algorithm)),
        );
        v.push(ip(ns, &format!("link set {HOST_IF} mtu {}", s.host_mtu)));
        v.push(ip(ns, &format!("addr add {addr}/{} dev {HOST_IF}", s.prefix_len)));
        v.push(ethtool(ns, &["-K", HOST_IF, "tso", "off", "gso", "off", "gro", "on"]));
        v.push(tbf_cmd(sw, port, &s.tbf));
    }
    v.push(ip(sw, &format!("link set {BRIDGE} mtu {} up", s.switch_mtu)));
    for role in [Role::Near, Role::Far] {
        v.push(ip(sw, &format!("link set {} up", role.as_str())));
        v.push(ip(s.host(role).0, &format!("link set {HOST_IF} up")));
    }
    if let Some(t) = &s.second_route {
        v.extend(tunnel::build(t, s.host(Role::Near), s.host(Role::Far)));
    }
    v
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn spec() -> Spec {
        Spec {
            near_ns: "safnet-t-near".into(),
            far_ns: "safnet-t-far".into(),
            switch_ns: "safnet-t-switch".into(),
            near_addr: Ipv4Addr::new(10, 77, 5, 1),
            far_addr: Ipv4Addr::new(10, 77, 5, 2),
            prefix_len: 24,
            host_mtu: 9000,
            switch_mtu: 1500,
            tbf: Tbf::for_link(10_000.0, 9000, None, None),
            congestion: crate::lab::congestion::Choice {
                algorithm: "reno".into(),
                note: None,
            },
            second_route: None,
        }
    }

    #[test]
    fn build_creates_namespaces_first_then_links_shaping_and_addresses() {
        let cmds: Vec<String> = build(&spec()).iter().map(ToString::to_string).collect();
        assert_eq!(cmds[0], "ip netns add safnet-t-switch");
        assert_eq!(cmds[2], "ip netns add safnet-t-near");
        assert!(
            cmds.contains(&"ip -n safnet-t-switch link add near type veth peer name eth0 netns safnet-t-near".into())
        );
        assert!(cmds.contains(&"ip -n safnet-t-switch link set far mtu 1500 master br0".into()));
        assert!(cmds.contains(&"ip -n safnet-t-near link set eth0 mtu 9000".into()));
        assert!(cmds.contains(&"ip netns exec safnet-t-far sysctl -qw net.ipv4.tcp_congestion_control=reno".into()));
        assert!(cmds.contains(&"ip -n safnet-t-far addr add 10.77.5.2/24 dev eth0".into()));
        assert!(cmds.contains(&"ip netns exec safnet-t-near ethtool -K eth0 tso off gso off gro on".into()));
        let tbf = Tbf::for_link(10_000.0, 9000, None, None);
        let want = format!(
            "tc -n safnet-t-switch qdisc replace dev far root tbf rate {}bit burst {} limit {}",
            tbf.rate_bits(),
            tbf.burst_bytes,
            tbf.limit_bytes
        );
        assert!(cmds.contains(&want), "{cmds:#?}");
        assert!(
            cmds.iter()
                .any(|c| c.starts_with("tc -n safnet-t-switch qdisc replace dev near root tbf"))
        );
        // No host is shaped: its socket buffer would hold a sender back instead of the switch dropping.
        assert!(
            !cmds
                .iter()
                .any(|c| c.starts_with("tc -n safnet-t-near") || c.starts_with("tc -n safnet-t-far"))
        );
        assert_eq!(cmds.last().unwrap(), "ip -n safnet-t-far link set eth0 up");
        // Nothing outside the lab's namespaces is touched.
        for c in &cmds {
            assert!(c.contains("safnet-t-"), "{c}");
        }
        assert!(!cmds.iter().any(|c| c.contains("vxlan")), "no tunnel unless asked");
    }

    #[test]
    fn a_second_route_is_built_last_over_the_hosts_links() {
        let s = Spec {
            second_route: Some(SecondRoute::for_subnet(5)),
            ..spec()
        };
        let cmds: Vec<String> = build(&s).iter().map(ToString::to_string).collect();
        let first = cmds.iter().position(|c| c.contains("type vxlan")).unwrap();
        let last_up = cmds.iter().rposition(|c| c.ends_with("link set eth0 up")).unwrap();
        assert!(first > last_up, "{cmds:#?}");
        assert_eq!(cmds.iter().filter(|c| c.contains("type vxlan")).count(), 2);
        assert_eq!(
            cmds.last().unwrap(),
            "ip -n safnet-t-far route add 100.77.5.0/24 dev vpn0 src 100.77.5.2"
        );
    }
}
