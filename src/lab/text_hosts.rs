//! How a lab built with `--hosts` reads in `lab up` and `lab status`: a line per host, its port's rate and
//! shaping, its server, and the lab key.

use super::state::{Host, LabState};
use super::text::mbit;

/// Host `h`'s port: its rate, and the tbf on both its sides.
fn shaping(h: &Host) -> String {
    format!(
        "{} Mbit/s, tbf {} both ways (burst {} B, limit {} B)",
        h.rate_mbps,
        mbit(h.tbf.rate_bytes_per_sec),
        h.tbf.burst_bytes,
        h.tbf.limit_bytes
    )
}

/// The hosts, the switch and the key of a lab just built.
pub fn layout(st: &LabState) -> String {
    let mut o = String::new();
    for h in st.host_list() {
        let server = h
            .server
            .as_ref()
            .map(|s| format!("; saf-net server on port {}, pid {}", s.port, s.pid))
            .unwrap_or_default();
        let mtu = if h.mtu == st.mtu {
            format!("MTU {}", h.mtu)
        } else {
            format!("MTU {} (the switch's is {})", h.mtu, st.switch_mtu)
        };
        o += &format!(
            "  {:<6}  {}/{}  in {} (eth0, {mtu}), port {}{server}\n",
            h.name,
            h.address,
            st.prefix_len,
            h.namespace,
            shaping(&h)
        );
    }
    o += &format!("  switch  br0 in {}, ports MTU {}\n", st.switch_ns, st.switch_mtu);
    o += "  shaping tbf on both sides of each host's port: the switch port's egress (toward the host) and the host's \
eth0 (its NIC), at rate x (MTU+14)/(MTU+38) less burst / 3 s\n";
    o + &key_line(st)
}

fn key_line(st: &LabState) -> String {
    match &st.psk_file {
        Some(k) => format!(
            "  key     the servers require the lab key in {} (mode 0600); lab exec sets SAF_NET_PSK to it\n",
            k.display()
        ),
        None => String::new(),
    }
}

/// How to run something in another host of a lab just built.
pub fn hints(st: &LabState, flag: &str) -> String {
    let hosts = st.host_list();
    let last = hosts.last().map(|h| (h.index, h.address.to_string()));
    let Some((n, addr)) = last else {
        return String::new();
    };
    format!(
        "Any host: saf-net lab exec{flag} --host K -- COMMAND (K = 1 to {n}; near is 1, far is 2), e.g. \
saf-net lab exec{flag} --host 2 -- saf-net client {addr}\n"
    )
}

/// The hosts as recorded, when nothing could be read live.
pub fn brief(st: &LabState) -> String {
    st.host_list()
        .iter()
        .map(|h| {
            format!(
                "  {:<6}  {} in {}, MTU {}, port {}\n",
                h.name,
                h.address,
                h.namespace,
                h.mtu,
                shaping(h)
            )
        })
        .collect()
}

/// The servers and the key, as recorded.
pub fn servers(st: &LabState, all_running: bool) -> String {
    let servers = st.servers();
    let pids: Vec<String> = servers.iter().map(|s| s.pid.to_string()).collect();
    let port = servers.first().map(|s| s.port).unwrap_or_default();
    let state = if all_running { "all running" } else { "NOT all running" };
    let mut o = format!(
        "  server  saf-net server on port {port} in every host, pids {}, {state}; logs in {}\n",
        pids.join(" "),
        servers
            .first()
            .and_then(|s| s.log.parent())
            .map(|d| d.display().to_string())
            .unwrap_or_default()
    );
    o += &key_line(st);
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::state::ServerProcess;
    use crate::lab::state::tests::sample;

    pub fn four_hosts() -> LabState {
        let p = crate::profile::resolve_in("1gbe", &[]).unwrap();
        let layout = crate::lab::hosts::HostsInput {
            count: Some(4),
            rates: vec!["3=100".into()],
            mtus: vec![],
        }
        .layout(&p)
        .unwrap();
        let mut st = sample("m");
        let mut hosts = layout.hosts("m", 9, &p);
        for h in &mut hosts {
            h.server = Some(ServerProcess {
                pid: 100 + u32::from(h.index),
                start_ticks: 1,
                port: 5301,
                log: format!("/run/saf-net/labs/m/server-{}.log", h.name).into(),
            });
        }
        st.hosts = Some(hosts);
        st.psk_file = Some("/run/saf-net/labs/m/psk".into());
        st
    }

    #[test]
    fn every_host_gets_a_line_with_its_rate_and_server() {
        let t = layout(&four_hosts());
        assert_eq!(t.lines().count(), 7, "{t}");
        assert!(
            t.starts_with(
                "  h1      10.77.9.1/24  in safnet-m-h1 (eth0, MTU 1500), port 1000 Mbit/s, tbf 983.08 Mbit/s"
            ),
            "{t}"
        );
        let h3 = t.lines().find(|l| l.starts_with("  h3 ")).unwrap();
        assert!(
            h3.contains("port 100 Mbit/s, tbf 98.") && h3.ends_with("saf-net server on port 5301, pid 103"),
            "{h3}"
        );
        assert!(
            t.contains("lab key in /run/saf-net/labs/m/psk (mode 0600); lab exec sets SAF_NET_PSK"),
            "{t}"
        );
        let s = servers(&four_hosts(), false);
        assert!(
            s.starts_with("  server  saf-net server on port 5301 in every host, pids 101 102 103 104, NOT all running; logs in /run/saf-net/labs/m\n"),
            "{s}"
        );
        assert!(hints(&four_hosts(), " --name m").contains("--host 2 -- saf-net client 10.77.9.4"));
        assert_eq!(brief(&four_hosts()).lines().count(), 4);
    }
}
