//! How the lab's results read: what `lab up` built, what `lab down` removed, what `lab status` found.

use super::DEFAULT_NAME;
use super::down::Removed;
use super::shaping;
use super::state::LabState;
use super::status::{HostView, LabView};
use super::tunnel::SecondRoute;
use super::workflow::{Down, Status};

pub(super) fn mbit(bytes_per_sec: u64) -> String {
    format!("{:.2} Mbit/s", bytes_per_sec as f64 * 8.0 / 1e6)
}

/// `--name X` for hints, empty for the default lab.
fn name_flag(name: &str) -> String {
    if name == DEFAULT_NAME {
        String::new()
    } else {
        format!(" --name {name}")
    }
}

/// The first line of `lab up --dry-run`, before the commands.
pub fn dry_run_header(profile: &str, name: &str) -> String {
    format!("# saf-net lab up {profile} --name {name}: commands it runs as root (dry run; nothing is run)\n")
}

/// What `lab up` built, and how to measure it and remove it.
pub fn up(st: &LabState, congestion_note: Option<&str>) -> String {
    let mut o = format!(
        "Lab '{}' is up: profile {}, {} Mbit/s, MTU {}\n",
        st.name, st.profile, st.line_rate_mbps, st.mtu
    );
    o += &if st.switched() {
        super::text_hosts::layout(st)
    } else {
        up_layout(st)
    };
    if let Some(cc) = &st.congestion_control {
        let why = congestion_note.map(|n| format!(" ({n})")).unwrap_or_default();
        o += &format!("  tcp     congestion control {cc} in {}{why}\n", every_host(st));
    }
    o += &format!(
        "  ceiling TCP goodput {:.1} Mbit/s (IPv4, timestamps on); no delay is emulated\n",
        st.ceiling_mbps
    );
    if let Some(note) = shaping::beyond_reach(st.line_rate_mbps) {
        o += &format!("  note    {note}\n");
    }
    if let Some(t) = &st.second_route {
        o += &format!("  tunnel  {}\n", tunnel(t));
    }
    o + &up_hints(st)
}

/// "both hosts", or "all N hosts".
fn every_host(st: &LabState) -> String {
    match st.host_list().len() {
        2 => "both hosts".into(),
        n => format!("all {n} hosts"),
    }
}

/// The hosts, the switch and the shaping of a lab just built.
fn up_layout(st: &LabState) -> String {
    let server = st
        .server
        .as_ref()
        .map(|s| format!("; saf-net server on port {}, pid {}", s.port, s.pid))
        .unwrap_or_default();
    let switch_note = if st.switch_mtu < st.mtu {
        format!(
            " (below the hosts' {}: frames above it are dropped, the jumbo black hole)",
            st.mtu
        )
    } else {
        String::new()
    };
    let mut o = format!(
        "  near    {}/{}  in {} (eth0, MTU {})\n",
        st.near_addr, st.prefix_len, st.near_ns, st.mtu
    );
    o += &format!(
        "  far     {}/{}  in {} (eth0, MTU {}){server}\n",
        st.far_addr, st.prefix_len, st.far_ns, st.mtu
    );
    o += &format!(
        "  switch  br0 in {}, ports MTU {}{switch_note}\n",
        st.switch_ns, st.switch_mtu
    );
    o + &format!(
        "  shaping tbf on each switch port's egress (toward its host): wire {} = {} Mbit/s x {}/{}, given as {} (less burst / 3 s), \
burst {} B, limit {} B\n",
        mbit(st.tbf.wire_bytes_per_sec),
        st.line_rate_mbps,
        st.mtu + 14,
        st.mtu + 38,
        mbit(st.tbf.rate_bytes_per_sec),
        st.tbf.burst_bytes,
        st.tbf.limit_bytes
    )
}

/// The commands that measure a lab just built, and remove it.
fn up_hints(st: &LabState) -> String {
    let flag = name_flag(&st.name);
    let mut o = format!("Measure: saf-net lab exec{flag} -- saf-net client {}\n", st.far_addr);
    if st.switched() {
        o += &super::text_hosts::hints(st, &flag);
    }
    if let Some(t) = &st.second_route {
        o += &format!(
            "Second route: saf-net lab exec{flag} -- saf-net client {} (through {}: a tunnel, not the link)\n",
            t.far_addr, t.interface
        );
    }
    o + &format!("Remove:  saf-net lab down{flag}\n")
}

/// One line saying what the `--second-route` tunnel is.
fn tunnel(t: &SecondRoute) -> String {
    format!(
        "{} in both hosts, {} over eth0 (UDP {}), MTU {}: near {}, far {} (reachable only through it), route {}",
        t.interface,
        t.kind.to_uppercase(),
        t.udp_port,
        t.mtu,
        t.near_addr,
        t.far_addr,
        t.network()
    )
}

/// What `lab down` removed, or that there was nothing to remove.
pub fn down(d: &Down) -> String {
    match d {
        Down::All(removed) if removed.is_empty() => "No lab is up; nothing to remove.\n".to_string(),
        Down::One { name, removed: None } => format!("Lab '{name}' is not up; nothing to remove.\n"),
        Down::All(removed) => removed.iter().map(removed_line).collect(),
        Down::One { removed: Some(r), .. } => removed_line(r),
    }
}

fn removed_line(r: &Removed) -> String {
    let ns = if r.namespaces.is_empty() {
        "none".to_string()
    } else {
        r.namespaces.join(", ")
    };
    format!(
        "Lab '{}' is down: removed namespaces {ns}; stopped {} process{}; {}\n",
        r.name,
        r.processes,
        if r.processes == 1 { "" } else { "es" },
        if r.had_state {
            "state removed"
        } else {
            "there was no state (leftovers of a crashed run)"
        }
    )
}

/// What `lab status` found: every lab, or how to start one.
pub fn status(s: &Status) -> String {
    if s.views.is_empty() {
        return "No lab is up. Start one with: saf-net lab up 1gbe\n".to_string();
    }
    let mut o: String = s.views.iter().map(view).collect();
    if !s.root {
        o += "(run as root to see live addresses, MTUs and qdiscs)\n";
    }
    o
}

/// One lab as `lab status` shows it: its health, namespaces, hosts, switch, and what its state records.
fn view(v: &LabView) -> String {
    let mut o = view_header(v);
    o += &format!(
        "  namespaces {}\n",
        if v.namespaces.is_empty() {
            "none".into()
        } else {
            v.namespaces.join(", ")
        }
    );
    for h in &v.hosts {
        o += &host_line(v, h);
    }
    if !v.switch_ports.is_empty() {
        let ports: Vec<String> = v
            .switch_ports
            .iter()
            .map(|p| format!("{} MTU {}", p.name, p.mtu))
            .collect();
        o += &format!("  switch  {}\n", ports.join(", "));
    }
    o + &recorded(v)
}

/// The lab's first line: its name, its health and, from its state, what it emulates.
fn view_header(v: &LabView) -> String {
    let health = if v.healthy() {
        "up".to_string()
    } else if v.state.is_none() {
        format!(
            "leftovers without state; remove with `saf-net lab down{}`",
            name_flag(&v.name)
        )
    } else {
        format!("damaged; remove with `saf-net lab down{}`", name_flag(&v.name))
    };
    match &v.state {
        Some(st) => format!(
            "Lab '{}': {health}; profile {}, {} Mbit/s, MTU {}, TCP ceiling {:.1} Mbit/s, since {}\n",
            v.name, st.profile, st.line_rate_mbps, st.mtu, st.ceiling_mbps, st.created_utc
        ),
        None => format!("Lab '{}': {health}\n", v.name),
    }
}

fn ipv4_list(addrs: &[(std::net::Ipv4Addr, u8)]) -> Vec<String> {
    addrs.iter().map(|(a, p)| format!("{a}/{p}")).collect()
}

/// One host as read live: its interface, its switch port's tbf, its tunnel.
fn host_line(v: &LabView, h: &HostView) -> String {
    let iface = match &h.iface {
        Some(i) => {
            let addrs = ipv4_list(&i.ipv4);
            let addrs = if addrs.is_empty() {
                "(no address)".to_string()
            } else {
                addrs.join(" ")
            };
            format!("eth0 {addrs} MTU {}", i.mtu)
        }
        None => "eth0 missing".into(),
    };
    let tbf = match &h.tbf {
        Some(t) => format!(
            "switch port tbf {} burst {} B queue {:.1} ms",
            mbit(t.rate_bytes_per_sec),
            t.burst_bytes,
            t.latency_us / 1000.0
        ),
        None => "no tbf".into(),
    };
    let own = match (&h.own_tbf, v.state.as_ref().is_some_and(LabState::switched)) {
        (Some(t), _) => format!(", eth0 tbf {}", mbit(t.rate_bytes_per_sec)),
        (None, true) => ", no eth0 tbf".into(),
        (None, false) => String::new(),
    };
    let tunnel = match (&h.tunnel, v.state.as_ref().and_then(|s| s.second_route.as_ref())) {
        (Some(t), _) => format!("; {} {} MTU {}", t.name, ipv4_list(&t.ipv4).join(" "), t.mtu),
        (None, Some(t)) => format!("; {} missing", t.interface),
        (None, None) => String::new(),
    };
    format!("  {:<6}  {iface}, {tbf}{own}{tunnel}\n", h.role.as_str())
}

/// What the lab's state records: its layout when nothing could be read live, congestion control, tunnel,
/// server.
fn recorded(v: &LabView) -> String {
    let Some(st) = &v.state else {
        return String::new();
    };
    let mut o = String::new();
    if v.hosts.is_empty() && st.switched() {
        o += &super::text_hosts::brief(st);
    } else if v.hosts.is_empty() {
        o += &format!(
            "  near {} / far {}, switch ports MTU {}, tbf {}\n",
            st.near_addr,
            st.far_addr,
            st.switch_mtu,
            mbit(st.tbf.rate_bytes_per_sec)
        );
    }
    if let Some(cc) = &st.congestion_control {
        o += &format!("  tcp     congestion control {cc} in {}\n", every_host(st));
    }
    if let Some(t) = &st.second_route {
        o += &format!("  tunnel  {}\n", tunnel(t));
    }
    if st.switched() {
        o += &super::text_hosts::servers(st, v.server_running);
    } else if let Some(s) = &st.server {
        o += &format!(
            "  server  saf-net server on {}:{}, pid {}, {}; log {}\n",
            st.far_addr,
            s.port,
            s.pid,
            if v.server_running { "running" } else { "NOT running" },
            s.log.display()
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::names::Role;
    use crate::lab::parse::{Interface, TbfSeen};
    use crate::lab::state::ServerProcess;
    use crate::lab::state::tests::sample;

    fn iface(name: &str, ipv4: &[&str]) -> Interface {
        Interface {
            name: name.into(),
            mtu: 1500,
            master: None,
            up: true,
            ipv4: ipv4.iter().map(|a| (a.parse().unwrap(), 24)).collect(),
        }
    }

    #[test]
    fn a_status_view_reads_live_details_then_the_state() {
        let mut st = sample("y");
        st.server = Some(ServerProcess {
            pid: 42,
            start_ticks: 1,
            port: 5301,
            log: "/run/x.log".into(),
        });
        st.second_route = Some(SecondRoute::for_subnet(9));
        let near = HostView {
            role: Role::Near,
            ns: "safnet-y-near".into(),
            iface: Some(iface("eth0", &["10.77.9.1"])),
            tbf: Some(TbfSeen {
                rate_bytes_per_sec: 123_456_789,
                burst_bytes: 3000,
                latency_us: 1234.5,
            }),
            own_tbf: None,
            tunnel: Some(iface("vpn0", &["100.77.9.1"])),
        };
        let far = HostView {
            role: Role::Far,
            ns: "safnet-y-far".into(),
            iface: Some(iface("eth0", &[])),
            tbf: None,
            own_tbf: None,
            tunnel: None,
        };
        let v = LabView {
            name: "y".into(),
            state: Some(st),
            namespaces: vec!["safnet-y-far".into(), "safnet-y-near".into(), "safnet-y-switch".into()],
            hosts: vec![near, far],
            switch_ports: vec![iface("p1", &[]), iface("p2", &[])],
            server_running: true,
        };
        assert_eq!(
            view(&v),
            "Lab 'y': up; profile 1gbe, 1000 Mbit/s, MTU 1500, TCP ceiling 941.5 Mbit/s, since 2026-11-29T14:00:00Z
  namespaces safnet-y-far, safnet-y-near, safnet-y-switch
  near    eth0 10.77.9.1/24 MTU 1500, switch port tbf 987.65 Mbit/s burst 3000 B queue 1.2 ms; vpn0 100.77.9.1/24 MTU 1500
  far     eth0 (no address) MTU 1500, no tbf; vpn0 missing
  switch  p1 MTU 1500, p2 MTU 1500
  tcp     congestion control reno in both hosts
  tunnel  vpn0 in both hosts, VXLAN over eth0 (UDP 4789), MTU 1280: near 100.77.9.1, far 100.77.9.2 (reachable only through it), route 100.77.9.0/24
  server  saf-net server on 10.77.9.2:5301, pid 42, running; log /run/x.log
"
        );
    }

    #[test]
    fn leftovers_and_labs_without_live_details_read_from_what_is_known() {
        let bare = LabView {
            name: DEFAULT_NAME.into(),
            state: None,
            namespaces: vec![],
            hosts: vec![],
            switch_ports: vec![],
            server_running: false,
        };
        let s = Status {
            views: vec![bare.clone()],
            root: false,
        };
        assert_eq!(
            status(&s),
            "Lab 'default': leftovers without state; remove with `saf-net lab down`
  namespaces none
(run as root to see live addresses, MTUs and qdiscs)
"
        );
        let v = LabView {
            name: "x".into(),
            state: Some(sample("x")),
            ..bare
        };
        assert!(view(&v).ends_with(
            "  near 10.77.9.1 / far 10.77.9.2, switch ports MTU 1500, tbf 983.08 Mbit/s
  tcp     congestion control reno in both hosts
"
        ));
        let none = Status {
            views: vec![],
            root: false,
        };
        assert_eq!(status(&none), "No lab is up. Start one with: saf-net lab up 1gbe\n");
    }

    #[test]
    fn down_says_what_it_removed_or_that_nothing_was_up() {
        assert_eq!(down(&Down::All(vec![])), "No lab is up; nothing to remove.\n");
        let one = Down::One {
            name: "x".into(),
            removed: None,
        };
        assert_eq!(down(&one), "Lab 'x' is not up; nothing to remove.\n");
        let removed = Removed {
            name: "x".into(),
            namespaces: vec![],
            processes: 1,
            had_state: false,
        };
        assert_eq!(
            down(&Down::All(vec![removed])),
            "Lab 'x' is down: removed namespaces none; stopped 1 process; there was no state (leftovers of a crashed run)\n"
        );
    }
}
