//! `lab up`: build a lab for a profile, start its server, record its state.

use std::path::Path;

use super::congestion;
use super::hosts::HostsInput;
use super::key;
use super::names::{self, PREFIX_LEN, Role};
use super::parse;
use super::process;
use super::runner::Runner;
use super::shaping::Tbf;
use super::state::{self, Host, LabState, SERVER_LOG, STATE_VERSION};
use super::topology::{self, Spec};
use super::tunnel::SecondRoute;
use super::{LabError, namespaces_by_lab};
use crate::config::DEFAULT_PORT;
use crate::profile::Profile;

/// What to bring up.
#[derive(Debug, Clone)]
pub struct UpRequest {
    pub name: String,
    pub profile: Profile,
    /// What `lab exec` puts in SAF_NET_PROFILE so the client finds the same profile.
    pub profile_ref: String,
    /// Bridge port MTU; None takes the profile's `[lab] switch_mtu`, else the link MTU.
    pub switch_mtu: Option<u32>,
    /// The hosts' congestion control; None takes the profile's, else the lab's default.
    pub congestion: Option<String>,
    /// The machine's available and allowed algorithms.
    pub congestion_lists: congestion::Lists,
    /// Also build a tunnel from near to far with a second far address behind it (`--second-route`).
    pub second_route: bool,
    /// `--hosts`, `--host-rate`, `--host-mtu`.
    pub hosts: HostsInput,
}

impl UpRequest {
    /// Checks the request and works out the lab's layout for subnet index `k`.
    pub fn spec(&self, k: u8) -> Result<Spec, LabError> {
        names::check_name(&self.name).map_err(LabError::BadName)?;
        let p = &self.profile;
        let switch_mtu = self.switch_mtu.or(p.lab.switch_mtu).unwrap_or(p.link.mtu);
        if !(576..=65_535).contains(&switch_mtu) {
            return Err(LabError::BadSwitchMtu(switch_mtu));
        }
        let asked = self.congestion.as_deref().or(p.lab.congestion_control.as_deref());
        let layout = self.hosts.layout(p)?;
        if self.second_route && layout.count > 2 {
            return Err(LabError::Hosts(format!(
                "--second-route needs a 2-host lab (its tunnel joins near and far); leave it out with --hosts {}, or use --hosts 2",
                layout.count
            )));
        }
        let congestion = congestion::choose(asked, &self.congestion_lists)?;
        Ok(Spec {
            switch_ns: names::netns(&self.name, Role::Switch),
            hosts: layout.hosts(&self.name, k, p),
            prefix_len: PREFIX_LEN,
            switch_mtu,
            switched: layout.switched,
            congestion,
            second_route: self.second_route.then(|| SecondRoute::for_subnet(k)),
        })
    }
}

/// The hosts that run a server: far in a lab built without `--hosts`, every host in one built with it.
fn server_hosts(spec: &Spec) -> Vec<&Host> {
    spec.hosts.iter().filter(|h| spec.switched || h.index == 2).collect()
}

/// Where host `h`'s server writes: `server.log` in a 2-host lab without `--hosts`, else `server-NAME.log`.
fn server_log(dir: &Path, spec: &Spec, h: &Host) -> std::path::PathBuf {
    if spec.switched {
        dir.join(format!("server-{}.log", h.name))
    } else {
        dir.join(SERVER_LOG)
    }
}

/// One line saying what a lab is.
pub fn describe(st: &LabState) -> String {
    let switch = if st.switch_mtu == st.mtu {
        String::new()
    } else {
        format!(", switch ports MTU {}", st.switch_mtu)
    };
    let hosts = st.host_list();
    if st.switched() && hosts.len() > 2 {
        let last = &hosts[hosts.len() - 1];
        return format!(
            "profile {} ({} Mbit/s, MTU {}{switch}), {} hosts {} to {} in {} to {}",
            st.profile,
            st.line_rate_mbps,
            st.mtu,
            hosts.len(),
            st.near_addr,
            last.address,
            st.near_ns,
            last.namespace
        );
    }
    format!(
        "profile {} ({} Mbit/s, MTU {}{switch}), near {} in {}, far {} in {}",
        st.profile, st.line_rate_mbps, st.mtu, st.near_addr, st.near_ns, st.far_addr, st.far_ns
    )
}

fn check_offloads(runner: &mut Runner, ns: &str) -> Result<(), LabError> {
    let cmd = topology::ethtool(ns, &["-k", names::HOST_IF]);
    let features = parse::ethtool_features(&runner.output(&cmd)?);
    for f in ["tcp-segmentation-offload", "generic-segmentation-offload"] {
        match features.get(f) {
            Some(false) => {}
            Some(true) => {
                return Err(LabError::Offloads {
                    ns: ns.into(),
                    detail: format!("{f} is still on after `ethtool -K`; frames would not be MTU-sized"),
                });
            }
            None => {
                return Err(LabError::Output {
                    cmd: cmd.to_string(),
                    detail: format!("no '{f}' line"),
                });
            }
        }
    }
    Ok(())
}

/// Prints (through a dry-run runner) the commands `up` would run for subnet index `k`.
pub fn plan(runner: &mut Runner, req: &UpRequest, exe: &Path, k: u8) -> Result<Spec, LabError> {
    let spec = req.spec(k)?;
    for cmd in topology::build(&spec) {
        runner.output(&cmd)?;
    }
    let dir = state::lab_dir(&state::base_dir(), &req.name);
    let key = spec.switched.then(|| dir.join(key::KEY_FILE));
    if let Some(k) = &key {
        runner.note(&format!(
            "# a new lab key, 32 random bytes in hex, goes to {} (mode 0600)",
            k.display()
        ))?;
    }
    for h in server_hosts(&spec) {
        let cmd = process::server_cmd(&h.namespace, exe, DEFAULT_PORT, key.as_deref());
        runner.spawn_daemon(&cmd, &server_log(&dir, &spec, h))?;
    }
    Ok(spec)
}

/// Checks each host's offloads, makes the state folder (and the lab key), starts the servers; the hosts
/// with their servers, and the key file.
fn start(
    runner: &mut Runner,
    base: &Path,
    name: &str,
    spec: &Spec,
    exe: &Path,
) -> Result<(Vec<Host>, Option<std::path::PathBuf>), LabError> {
    for h in &spec.hosts {
        check_offloads(runner, &h.namespace)?;
    }
    let dir = state::lab_dir(base, name);
    std::fs::create_dir_all(&dir).map_err(|source| LabError::State {
        path: dir.clone(),
        cause: source,
    })?;
    let key = if spec.switched { Some(key::create(&dir)?) } else { None };
    let mut hosts = spec.hosts.clone();
    for h in hosts.iter_mut().filter(|h| spec.switched || h.index == 2) {
        let cmd = process::server_cmd(&h.namespace, exe, DEFAULT_PORT, key.as_deref());
        let log = server_log(&dir, spec, h);
        h.server = Some(process::start_server(runner, &cmd, &h.namespace, DEFAULT_PORT, &log)?);
    }
    Ok((hosts, key))
}

/// Builds the lab, starts `exe server` in its far namespace, and records it. On any failure what
/// was built is removed again.
pub fn up(runner: &mut Runner, base: &Path, req: &UpRequest, exe: &Path) -> Result<LabState, LabError> {
    names::check_name(&req.name).map_err(LabError::BadName)?;
    req.spec(1)?;
    let _lock = state::lock(base)?;
    let name = &req.name;
    if let Some(st) = state::read(base, name)? {
        return Err(LabError::AlreadyUp {
            name: name.clone(),
            what: describe(&st),
        });
    }
    let present = namespaces_by_lab(runner)?;
    if let Some(roles) = present.get(name) {
        let list: Vec<String> = roles.iter().map(|r| names::netns(name, *r)).collect();
        return Err(LabError::Leftovers {
            name: name.clone(),
            what: format!("namespaces {}", list.join(", ")),
        });
    }
    let mut taken = Vec::new();
    for other in state::names(base) {
        if let Ok(Some(st)) = state::read(base, &other) {
            taken.push(st.subnet);
        }
    }
    let k = names::pick_subnet(name, &taken).ok_or(LabError::NoSubnet)?;
    let spec = req.spec(k)?;

    let built = (|| {
        for cmd in topology::build(&spec) {
            runner.output(&cmd).map_err(|source| LabError::Build {
                name: name.clone(),
                cause: source,
            })?;
        }
        let (hosts, psk_file) = start(runner, base, name, &spec, exe)?;
        let st = record(req, &spec, k, hosts, psk_file);
        state::write(base, &st)?;
        Ok(st)
    })();
    if built.is_err() {
        let _ = super::down::remove_locked(runner, base, name);
    }
    built
}

/// The state of a lab just built: a lab without `--hosts` records its far server where it always has.
fn record(req: &UpRequest, spec: &Spec, k: u8, hosts: Vec<Host>, psk_file: Option<std::path::PathBuf>) -> LabState {
    let p = &req.profile;
    let (near, far) = (&hosts[0], &hosts[1]);
    LabState {
        state_version: STATE_VERSION,
        name: req.name.clone(),
        profile: p.name.clone(),
        profile_ref: req.profile_ref.clone(),
        line_rate_mbps: p.link.line_rate_mbps,
        mtu: p.link.mtu,
        switch_mtu: spec.switch_mtu,
        ceiling_mbps: p.ceiling_mbps(),
        subnet: k,
        near_addr: near.address,
        far_addr: far.address,
        prefix_len: spec.prefix_len,
        near_ns: near.namespace.clone(),
        far_ns: far.namespace.clone(),
        switch_ns: spec.switch_ns.clone(),
        tbf: Tbf::for_profile(p),
        congestion_control: Some(spec.congestion.algorithm.clone()),
        server: if spec.switched { None } else { far.server.clone() },
        second_route: spec.second_route.clone(),
        hosts: spec.switched.then_some(hosts),
        psk_file,
        created_utc: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        saf_net_version: env!("CARGO_PKG_VERSION").into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Runner;

    fn req(name: &str, profile: &str, switch_mtu: Option<u32>) -> UpRequest {
        UpRequest {
            name: name.into(),
            profile: crate::profile::resolve_in(profile, &[]).unwrap(),
            profile_ref: profile.into(),
            switch_mtu,
            congestion: None,
            congestion_lists: congestion::Lists {
                available: vec!["reno".into(), "cubic".into(), "bbr".into()],
                allowed: vec!["reno".into(), "bbr".into()],
            },
            second_route: false,
            hosts: HostsInput::default(),
        }
    }

    #[test]
    fn spec_takes_mtus_and_rates_from_the_profile() {
        let s = req("x", "10gbe-jumbo", None).spec(3).unwrap();
        assert_eq!((s.host(1).mtu, s.switch_mtu), (9000, 9000));
        assert_eq!(s.host(2).address.to_string(), "10.77.3.2");
        assert_eq!(s.host(1).namespace, "safnet-x-near");
        let s = req("x", "10gbe-jumbo", Some(1500)).spec(3).unwrap();
        assert_eq!((s.host(1).mtu, s.switch_mtu), (9000, 1500));
        assert!(matches!(
            req("x", "1gbe", Some(100)).spec(3),
            Err(LabError::BadSwitchMtu(100))
        ));
        assert!(matches!(req("a/b", "1gbe", None).spec(3), Err(LabError::BadName(_))));
        assert_eq!(req("x", "1gbe", None).spec(3).unwrap().second_route, None);
        let mut r = req("x", "1gbe", None);
        r.second_route = true;
        let t = r.spec(3).unwrap().second_route.unwrap();
        assert_eq!(
            (t.interface.as_str(), t.far_addr.to_string()),
            ("vpn0", "100.77.3.2".into())
        );
    }

    #[test]
    fn an_existing_lab_is_reported_not_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        state::write(dir.path(), &state::tests::sample("x")).unwrap();
        let mut r = Runner::record();
        let e = up(&mut r, dir.path(), &req("x", "1gbe", None), Path::new("/bin/true")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("lab 'x' is already up: profile 1gbe"), "{msg}");
        assert!(msg.contains("saf-net lab down --name x"), "{msg}");
        assert!(r.log().is_empty(), "nothing was run: {:?}", r.log());
    }

    #[test]
    fn a_lab_of_four_hosts_already_up_is_described_by_its_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let mut st = state::tests::sample("m");
        let p = crate::profile::resolve_in("1gbe", &[]).unwrap();
        let four = HostsInput {
            count: Some(4),
            ..Default::default()
        };
        st.hosts = Some(four.layout(&p).unwrap().hosts("m", 9, &p));
        st.near_ns = "safnet-m-h1".into();
        state::write(dir.path(), &st).unwrap();
        let mut r = Runner::record();
        let e = up(&mut r, dir.path(), &req("m", "1gbe", None), Path::new("/bin/true")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "lab 'm' is already up: profile 1gbe (1000 Mbit/s, MTU 1500), 4 hosts 10.77.9.1 to 10.77.9.4 in \
safnet-m-h1 to safnet-m-h4; take it down first with `saf-net lab down --name m`"
        );
    }

    #[test]
    fn leftovers_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Runner::record().ok("ip netns list", "safnet-x-far (id: 2)\nsafnet-y-near\n");
        let e = up(&mut r, dir.path(), &req("x", "1gbe", None), Path::new("/bin/true")).unwrap_err();
        assert!(
            e.to_string()
                .contains("leftovers of an earlier run (namespaces safnet-x-far)"),
            "{e}"
        );
    }

    #[test]
    fn a_failed_build_is_undone() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Runner::record()
            .fail(
                "ip -n safnet-x-switch link add br0",
                "RTNETLINK answers: Operation not supported",
            )
            .ok("ip netns list", "");
        let e = up(&mut r, dir.path(), &req("x", "1gbe", None), Path::new("/bin/true")).unwrap_err();
        assert!(e.to_string().contains("Operation not supported"), "{e}");
        assert!(e.to_string().contains("`ip -n safnet-x-switch link add br0"), "{e}");
        // The Recorder's `ip netns list` says nothing exists, so only the listing follows the failure.
        let after: Vec<&String> = r.log().iter().skip_while(|l| !l.contains("link add br0")).collect();
        assert_eq!(after.len(), 2, "{after:?}");
        assert!(state::names(dir.path()).is_empty());
    }

    fn planned(req: &UpRequest) -> Vec<String> {
        let mut r = Runner::record();
        plan(&mut r, req, Path::new("/opt/saf-net"), 4).unwrap();
        r.log().to_vec()
    }

    #[test]
    fn without_hosts_one_server_runs_in_far_without_a_key() {
        let log = planned(&req("x", "1gbe", None));
        let servers: Vec<&String> = log.iter().filter(|l| l.contains(" server ")).collect();
        assert_eq!(servers, ["ip netns exec safnet-x-far /opt/saf-net server -p 5301"]);
        assert!(
            !log.iter()
                .any(|l| l.starts_with("tc -n safnet-x-near") || l.starts_with("tc -n safnet-x-far"))
        );
    }

    #[test]
    fn with_hosts_every_host_runs_a_server_that_requires_the_lab_key() {
        let mut r = req("m", "1gbe", None);
        r.hosts = HostsInput {
            count: Some(4),
            rates: vec!["3=100".into()],
            mtus: vec![],
        };
        let log = planned(&r);
        let servers: Vec<&String> = log.iter().filter(|l| l.contains(" server ")).collect();
        assert_eq!(servers.len(), 4, "{log:#?}");
        for (i, line) in servers.iter().enumerate() {
            let ns = format!(
                "ip netns exec safnet-m-h{} /opt/saf-net server -p 5301 --psk-file ",
                i + 1
            );
            assert!(line.starts_with(&ns) && line.contains("/m/psk"), "{line}");
        }
        assert!(log.contains(&"ip -n safnet-m-h4 addr add 10.77.4.4/24 dev eth0".to_string()));
        // --hosts 2 keeps near and far, each with a server.
        r.hosts = HostsInput {
            count: Some(2),
            ..Default::default()
        };
        let log = planned(&r);
        let servers: Vec<&String> = log.iter().filter(|l| l.contains(" server ")).collect();
        assert!(
            servers[0].starts_with("ip netns exec safnet-m-near ")
                && servers[1].starts_with("ip netns exec safnet-m-far ")
        );
    }

    #[test]
    fn a_second_route_needs_a_two_host_lab() {
        let mut r = req("m", "1gbe", None);
        r.second_route = true;
        r.hosts.count = Some(3);
        let e = r.spec(4).unwrap_err();
        assert!(matches!(e, LabError::Hosts(_)), "{e:?}");
        assert!(e.to_string().starts_with("--second-route needs a 2-host lab"), "{e}");
        r.hosts.count = Some(2);
        let s = r.spec(4).unwrap();
        assert!(s.second_route.is_some() && s.switched);
    }
}
