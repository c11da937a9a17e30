//! `lab status`: every lab that is up, from its state file and from what the kernel reports now.

use std::path::Path;

use super::names::{self, BRIDGE, HOST_IF, Role};
use super::parse::{self, Interface, TbfSeen};
use super::process;
use super::runner::{Cmd, Runner};
use super::state::{self, LabState};
use super::{LabError, namespaces_by_lab};

/// A host namespace as seen now.
#[derive(Debug, Clone, PartialEq)]
pub struct HostView {
    pub role: Role,
    pub ns: String,
    pub iface: Option<Interface>,
    /// The tbf on the switch port that leads to this host (shapes traffic toward it).
    pub tbf: Option<TbfSeen>,
    /// The tbf on the host's own eth0 (its NIC; a lab built with `--hosts` only).
    pub own_tbf: Option<TbfSeen>,
    /// The `--second-route` tunnel's end in this host, when the lab has one and it exists.
    pub tunnel: Option<Interface>,
}

/// One lab as seen now.
#[derive(Debug, Clone, PartialEq)]
pub struct LabView {
    pub name: String,
    pub state: Option<LabState>,
    /// Namespaces of this lab that exist.
    pub namespaces: Vec<String>,
    /// Live details; empty when not root.
    pub hosts: Vec<HostView>,
    pub switch_ports: Vec<Interface>,
    pub server_running: bool,
}

impl LabView {
    /// Up means: state recorded, every host's namespace and the switch's present, every server running.
    pub fn healthy(&self) -> bool {
        self.state
            .as_ref()
            .is_some_and(|st| self.namespaces.len() == st.host_list().len() + 1)
            && self.server_running
    }
}

fn query<T>(
    runner: &mut Runner,
    cmd: Cmd,
    parse: impl FnOnce(&str) -> Result<T, serde_json::Error>,
) -> Result<T, LabError> {
    let text = runner.output(&cmd)?;
    parse(&text).map_err(|e| LabError::Output {
        cmd: cmd.to_string(),
        detail: e.to_string(),
    })
}

/// The tunnel interface `dev` in `ns`; None when it is missing.
fn tunnel_end(runner: &mut Runner, ns: &str, dev: &str) -> Result<Option<Interface>, LabError> {
    let cmd = Cmd::new("ip").args(["-n", ns, "-j", "addr", "show", "dev", dev]);
    let out = runner.run(&cmd)?;
    if !out.success() {
        return Ok(None);
    }
    let found = parse::interfaces(&out.stdout).map_err(|e| LabError::Output {
        cmd: cmd.to_string(),
        detail: e.to_string(),
    })?;
    Ok(found.into_iter().next())
}

/// One host namespace as read now: its eth0, the tbf of its switch port and its own, its tunnel end.
fn host_view(runner: &mut Runner, view: &LabView, role: Role, ns: String) -> Result<HostView, LabError> {
    let addr = Cmd::new("ip").args(["-n", &ns, "-j", "addr", "show", "dev", HOST_IF]);
    let iface = query(runner, addr, parse::interfaces)?.into_iter().next();
    let switch = names::netns(&view.name, Role::Switch);
    let port = role.as_str();
    let tc = Cmd::new("tc").args(["-n", &switch, "-j", "qdisc", "show", "dev", port]);
    let tbf = query(runner, tc, parse::tbf)?;
    let own_tbf = if view.state.as_ref().is_some_and(LabState::switched) {
        let tc = Cmd::new("tc").args(["-n", &ns, "-j", "qdisc", "show", "dev", HOST_IF]);
        query(runner, tc, parse::tbf)?
    } else {
        None
    };
    let tunnel = match view.state.as_ref().and_then(|s| s.second_route.as_ref()) {
        Some(t) => tunnel_end(runner, &ns, &t.interface)?,
        None => None,
    };
    Ok(HostView {
        role,
        ns,
        iface,
        tbf,
        own_tbf,
        tunnel,
    })
}

/// Every lab with state or namespaces. `live` adds what `ip` and `tc` report (needs root).
pub fn status(runner: &mut Runner, base: &Path, live: bool) -> Result<Vec<LabView>, LabError> {
    let present = namespaces_by_lab(runner)?;
    let mut names: Vec<String> = present.keys().cloned().collect();
    names.extend(state::names(base));
    names.sort();
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        let st = state::read(base, &name).ok().flatten();
        let roles = present.get(&name).cloned().unwrap_or_default();
        let mut view = LabView {
            namespaces: roles.iter().map(|r| names::netns(&name, *r)).collect(),
            server_running: st.as_ref().is_some_and(|s| {
                let servers = s.servers();
                !servers.is_empty() && servers.iter().all(process::is_same_process)
            }),
            state: st,
            hosts: Vec::new(),
            switch_ports: Vec::new(),
            name,
        };
        if live {
            for role in roles.iter().copied() {
                let ns = names::netns(&view.name, role);
                if role == Role::Switch {
                    let links = query(
                        runner,
                        Cmd::new("ip").args(["-n", &ns, "-j", "link", "show"]),
                        parse::interfaces,
                    )?;
                    view.switch_ports = links
                        .into_iter()
                        .filter(|l| l.master.as_deref() == Some(BRIDGE) || l.name == BRIDGE)
                        .collect();
                } else {
                    view.hosts.push(host_view(runner, &view, role, ns)?);
                }
            }
        }
        out.push(view);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Runner;

    #[test]
    fn live_status_reads_ip_and_tc() {
        let dir = tempfile::tempdir().unwrap();
        state::write(dir.path(), &state::tests::sample("x")).unwrap();
        let mut r = Runner::record()
            .ok("ip netns list", "safnet-x-near\nsafnet-x-far\nsafnet-x-switch\n")
            .ok(
                "ip -n safnet-x-near -j addr",
                r#"[{"ifname":"eth0","mtu":1500,"operstate":"UP","addr_info":[{"family":"inet","local":"10.77.9.1","prefixlen":24}]}]"#,
            )
            .ok("tc -n safnet-x-switch -j qdisc show dev near", r#"[{"kind":"tbf","options":{"rate":123049414,"burst":246099,"lat":10000}}]"#)
            .ok(
                "ip -n safnet-x-switch -j link",
                r#"[{"ifname":"lo","mtu":65536},{"ifname":"br0","mtu":1500},{"ifname":"near","mtu":1500,"master":"br0"}]"#,
            );
        let v = status(&mut r, dir.path(), true).unwrap();
        assert_eq!(v.len(), 1);
        let lab = &v[0];
        assert_eq!(lab.namespaces.len(), 3);
        assert!(!lab.server_running && !lab.healthy());
        let near = lab.hosts.iter().find(|h| h.role == Role::Near).unwrap();
        assert_eq!(near.iface.as_ref().unwrap().ipv4[0].0.to_string(), "10.77.9.1");
        assert_eq!(near.tbf.unwrap().rate_bytes_per_sec, 123_049_414);
        let far = lab.hosts.iter().find(|h| h.role == Role::Far).unwrap();
        assert_eq!(far.iface, None);
        assert_eq!(lab.switch_ports.len(), 2);
        assert_eq!(near.tunnel, None, "no second route, not asked");
        assert!(!r.log().iter().any(|l| l.contains("vpn0")));
    }

    #[test]
    fn live_status_shows_the_second_route_or_its_absence() {
        let dir = tempfile::tempdir().unwrap();
        let mut st = state::tests::sample("x");
        st.second_route = Some(crate::lab::tunnel::SecondRoute::for_subnet(9));
        state::write(dir.path(), &st).unwrap();
        let mut r = Runner::record()
            .ok("ip netns list", "safnet-x-near\nsafnet-x-far\nsafnet-x-switch\n")
            .ok(
                "ip -n safnet-x-near -j addr show dev vpn0",
                r#"[{"ifname":"vpn0","mtu":1280,"operstate":"UNKNOWN","addr_info":[{"family":"inet","local":"100.77.9.1","prefixlen":32}]}]"#,
            )
            .fail("ip -n safnet-x-far -j addr show dev vpn0", "Device \"vpn0\" does not exist.")
            .ok("ip -n safnet-x-near -j addr", "[]")
            .ok("ip -n safnet-x-far -j addr", "[]")
            .ok("tc -n", "[]")
            .ok("ip -n safnet-x-switch -j link", "[]");
        let v = status(&mut r, dir.path(), true).unwrap();
        let near = v[0].hosts.iter().find(|h| h.role == Role::Near).unwrap();
        let t = near.tunnel.as_ref().unwrap();
        assert_eq!(
            (t.name.as_str(), t.mtu, t.ipv4[0].0.to_string()),
            ("vpn0", 1280, "100.77.9.1".into())
        );
        let far = v[0].hosts.iter().find(|h| h.role == Role::Far).unwrap();
        assert_eq!(far.tunnel, None, "missing is reported, not an error");
    }

    #[test]
    fn bad_tool_output_is_an_error_naming_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Runner::record()
            .ok("ip netns list", "safnet-x-near\n")
            .ok("ip -n safnet-x-near", "not json");
        let e = status(&mut r, dir.path(), true).unwrap_err().to_string();
        assert!(
            e.starts_with("unexpected output from `ip -n safnet-x-near -j addr show dev eth0`"),
            "{e}"
        );
        assert_eq!(status(&mut r, dir.path(), false).unwrap().len(), 1);
    }
}
