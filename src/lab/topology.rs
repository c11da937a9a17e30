//! The commands that build a lab, as a plain list (so it can be printed, recorded and tested).
//!
//! ```text
//!  near ns                     switch ns                      far ns
//!  eth0 10.77.K.1  ══veth══  near ─┐            ┌─ far  ══veth══  eth0 10.77.K.2
//!  MTU host, tbf egress            └── br0 ─────┘                 MTU host, tbf egress
//!                            (ports: MTU switch)                  saf-net server :5301
//! ```
//!
//! Each host's `eth0` is the NIC: its tbf qdisc is the wire's serializer, so the queue sits where a
//! real host's does and TCP small queues push back on the sender. Segmentation offloads (TSO, GSO) are
//! off there, so every frame tbf counts is MTU-sized as on a wire. GRO stays on at each receiving
//! veth end: it does not change the frames (shaping already happened) and it keeps veth delivering
//! in order through NAPI; without it a veth hands frames to per-CPU backlogs and tbf's timer-driven
//! dequeue on either core reorders them, which TCP answers with spurious retransmissions.

use std::net::Ipv4Addr;

use super::names::{BRIDGE, HOST_IF, Role};
use super::runner::Cmd;
use super::shaping::Tbf;

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

/// The tbf command for a host's egress.
pub fn tbf_cmd(ns: &str, tbf: &Tbf) -> Cmd {
    Cmd::new("tc")
        .args(["-n", ns, "qdisc", "replace", "dev", HOST_IF, "root", "tbf"])
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
        v.push(ip(ns, &format!("link set {HOST_IF} mtu {}", s.host_mtu)));
        v.push(ip(ns, &format!("addr add {addr}/{} dev {HOST_IF}", s.prefix_len)));
        v.push(ethtool(ns, &["-K", HOST_IF, "tso", "off", "gso", "off", "gro", "on"]));
        v.push(tbf_cmd(ns, &s.tbf));
    }
    v.push(ip(sw, &format!("link set {BRIDGE} mtu {} up", s.switch_mtu)));
    for role in [Role::Near, Role::Far] {
        v.push(ip(sw, &format!("link set {} up", role.as_str())));
        v.push(ip(s.host(role).0, &format!("link set {HOST_IF} up")));
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
        assert!(cmds.contains(&"ip -n safnet-t-far addr add 10.77.5.2/24 dev eth0".into()));
        assert!(cmds.contains(&"ip netns exec safnet-t-near ethtool -K eth0 tso off gso off gro on".into()));
        let tbf = Tbf::for_link(10_000.0, 9000, None, None);
        let want = format!(
            "tc -n safnet-t-far qdisc replace dev eth0 root tbf rate {}bit burst {} limit {}",
            tbf.rate_bits(),
            tbf.burst_bytes,
            tbf.limit_bytes
        );
        assert!(cmds.contains(&want), "{cmds:#?}");
        assert_eq!(cmds.last().unwrap(), "ip -n safnet-t-far link set eth0 up");
        // Nothing outside the lab's namespaces is touched.
        for c in &cmds {
            assert!(c.contains("safnet-t-"), "{c}");
        }
    }
}
