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
//!
//! A lab of N hosts (`--hosts`) is the same switch with N ports, each named after its host (h1..hN),
//! and a tbf on each host's own `eth0` as well: its NIC, so a host sending to several others at once
//! has one port's rate in total, as on a real switch.

use super::names::{BRIDGE, HOST_IF};
use super::runner::Cmd;
use super::shaping::Tbf;
use super::state::Host;
use super::tunnel::{self, SecondRoute};

/// What to build.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub switch_ns: String,
    /// Near and far, or h1..hN: each one's namespace, address, MTU and its port's rate and tbf.
    pub hosts: Vec<Host>,
    pub prefix_len: u8,
    pub switch_mtu: u32,
    /// `--hosts`: each host's own eth0 egress is shaped too (its NIC), not only its switch port.
    pub switched: bool,
    pub congestion: super::congestion::Choice,
    /// `--second-route`: a tunnel from near to far beside the link.
    pub second_route: Option<SecondRoute>,
}

impl Spec {
    /// Host `index` (1-based): near is 1, far is 2.
    pub fn host(&self, index: u8) -> &Host {
        &self.hosts[usize::from(index) - 1]
    }

    /// The namespaces, the switch first.
    pub fn namespaces(&self) -> Vec<&str> {
        let hosts = self.hosts.iter().map(|h| h.namespace.as_str());
        std::iter::once(self.switch_ns.as_str()).chain(hosts).collect()
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

/// The tbf command for the egress of `dev` in `ns`: a switch port (named after the host it leads to),
/// or a host's eth0.
pub fn tbf_cmd(ns: &str, dev: &str, tbf: &Tbf) -> Cmd {
    Cmd::new("tc")
        .args(["-n", ns, "qdisc", "replace", "dev", dev, "root", "tbf"])
        .args([
            "rate".to_string(),
            format!("{}bit", tbf.rate_bits()),
            "burst".into(),
            tbf.burst_bytes.to_string(),
            "limit".into(),
            tbf.limit_bytes.to_string(),
        ])
}

/// One host's veth, its port on the bridge, its settings and its shaping.
fn host_port(s: &Spec, h: &Host) -> Vec<Cmd> {
    let (sw, ns, port) = (&s.switch_ns, &h.namespace, &h.name);
    let mut v = vec![
        ip(sw, &format!("link add {port} type veth peer name {HOST_IF} netns {ns}")),
        ip(sw, &format!("link set {port} mtu {} master {BRIDGE}", s.switch_mtu)),
        ethtool(sw, &["-K", port, "gro", "on"]),
        Cmd::new("ip")
            .args(["netns", "exec", ns, "sysctl", "-qw"])
            .arg(format!("net.ipv4.tcp_congestion_control={}", s.congestion.algorithm)),
        ip(ns, &format!("link set {HOST_IF} mtu {}", h.mtu)),
        ip(ns, &format!("addr add {}/{} dev {HOST_IF}", h.address, s.prefix_len)),
        ethtool(ns, &["-K", HOST_IF, "tso", "off", "gso", "off", "gro", "on"]),
        tbf_cmd(sw, port, &h.tbf),
    ];
    if s.switched {
        v.push(tbf_cmd(ns, HOST_IF, &h.tbf));
    }
    v
}

/// Every command that builds the lab, in order. Namespaces come first so a failure part-way leaves
/// only things `lab down` finds by name.
pub fn build(s: &Spec) -> Vec<Cmd> {
    let mut v = Vec::new();
    for ns in s.namespaces() {
        v.push(Cmd::new("ip").args(["netns", "add", ns]));
        v.push(ip(ns, "link set lo up"));
    }
    let sw = &s.switch_ns;
    v.push(ip(
        sw,
        &format!("link add {BRIDGE} type bridge stp_state 0 forward_delay 0"),
    ));
    for h in &s.hosts {
        v.extend(host_port(s, h));
    }
    v.push(ip(sw, &format!("link set {BRIDGE} mtu {} up", s.switch_mtu)));
    for h in &s.hosts {
        v.push(ip(sw, &format!("link set {} up", h.name)));
        v.push(ip(&h.namespace, &format!("link set {HOST_IF} up")));
    }
    if let Some(t) = &s.second_route {
        let (n, f) = (s.host(1), s.host(2));
        v.extend(tunnel::build(t, (&n.namespace, n.address), (&f.namespace, f.address)));
    }
    v
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    pub fn spec() -> Spec {
        let host = |index: u8, name: &str| Host {
            index,
            name: name.into(),
            namespace: format!("safnet-t-{name}"),
            address: Ipv4Addr::new(10, 77, 5, index),
            rate_mbps: 10_000.0,
            mtu: 9000,
            tbf: Tbf::for_link(10_000.0, 9000, None, None),
            server: None,
        };
        Spec {
            switch_ns: "safnet-t-switch".into(),
            hosts: vec![host(1, "near"), host(2, "far")],
            prefix_len: 24,
            switch_mtu: 1500,
            switched: false,
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

    #[test]
    fn n_hosts_get_a_port_each_shaped_in_both_directions_at_their_own_rate() {
        let p = crate::profile::resolve_in("1gbe", &[]).unwrap();
        let layout = crate::lab::hosts::HostsInput {
            count: Some(4),
            rates: vec!["3=100".into()],
            mtus: vec!["2=1400".into()],
        }
        .layout(&p)
        .unwrap();
        let s = Spec {
            hosts: layout.hosts("t", 5, &p),
            switched: true,
            ..spec()
        };
        let cmds: Vec<String> = build(&s).iter().map(ToString::to_string).collect();
        let adds: Vec<&String> = cmds.iter().filter(|c| c.starts_with("ip netns add")).collect();
        assert_eq!(
            adds,
            [
                "ip netns add safnet-t-switch",
                "ip netns add safnet-t-h1",
                "ip netns add safnet-t-h2",
                "ip netns add safnet-t-h3",
                "ip netns add safnet-t-h4"
            ]
        );
        assert_eq!(cmds.iter().position(|c| c.starts_with("ip netns add")), Some(0));
        assert!(cmds.contains(&"ip -n safnet-t-switch link add h4 type veth peer name eth0 netns safnet-t-h4".into()));
        assert!(cmds.contains(&"ip -n safnet-t-h4 addr add 10.77.5.4/24 dev eth0".into()));
        assert!(cmds.contains(&"ip -n safnet-t-h2 link set eth0 mtu 1400".into()));
        assert!(
            cmds.contains(&"ip -n safnet-t-switch link set h2 mtu 1500 master br0".into()),
            "the switch keeps its MTU"
        );
        let slow = Tbf::for_link(100.0, 1500, None, None);
        let line = Tbf::for_profile(&p);
        for (ns, dev, tbf) in [
            ("safnet-t-switch", "h3", slow),
            ("safnet-t-h3", "eth0", slow),
            ("safnet-t-switch", "h1", line),
            ("safnet-t-h1", "eth0", line),
            ("safnet-t-h4", "eth0", line),
        ] {
            let want = tbf_cmd(ns, dev, &tbf).to_string();
            assert!(cmds.contains(&want), "{want} in {cmds:#?}");
        }
        assert_eq!(cmds.iter().filter(|c| c.starts_with("tc ")).count(), 8, "two per host");
        assert_eq!(cmds.last().unwrap(), "ip -n safnet-t-h4 link set eth0 up");
        for c in &cmds {
            assert!(c.contains("safnet-t-"), "{c}");
        }
    }
}
