//! `lab up`: build a lab for a profile, start its server, record its state.

use std::path::Path;

use super::congestion;
use super::names::{self, PREFIX_LEN, Role};
use super::parse;
use super::process;
use super::runner::Runner;
use super::shaping::Tbf;
use super::state::{self, LabState, SERVER_LOG, STATE_VERSION};
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
        let congestion = congestion::choose(asked, &self.congestion_lists)?;
        Ok(Spec {
            near_ns: names::netns(&self.name, Role::Near),
            far_ns: names::netns(&self.name, Role::Far),
            switch_ns: names::netns(&self.name, Role::Switch),
            near_addr: names::near_addr(k),
            far_addr: names::far_addr(k),
            prefix_len: PREFIX_LEN,
            host_mtu: p.link.mtu,
            switch_mtu,
            tbf: Tbf::for_profile(p),
            congestion,
            second_route: self.second_route.then(|| SecondRoute::for_subnet(k)),
        })
    }
}

/// One line saying what a lab is.
pub fn describe(st: &LabState) -> String {
    let switch = if st.switch_mtu == st.mtu {
        String::new()
    } else {
        format!(", switch ports MTU {}", st.switch_mtu)
    };
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
    let log = state::lab_dir(&state::base_dir(), &req.name).join(SERVER_LOG);
    let server = super::runner::Cmd::new("ip")
        .args(["netns", "exec", &spec.far_ns])
        .arg(exe.display().to_string())
        .args(["server", "-p", &DEFAULT_PORT.to_string()]);
    runner.spawn_daemon(&server, &log)?;
    Ok(spec)
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
        check_offloads(runner, &spec.near_ns)?;
        check_offloads(runner, &spec.far_ns)?;
        let dir = state::lab_dir(base, name);
        std::fs::create_dir_all(&dir).map_err(|source| LabError::State {
            path: dir.clone(),
            cause: source,
        })?;
        let server = process::start_server(runner, &spec.far_ns, exe, DEFAULT_PORT, &dir.join(SERVER_LOG))?;
        let p = &req.profile;
        let st = LabState {
            state_version: STATE_VERSION,
            name: name.clone(),
            profile: p.name.clone(),
            profile_ref: req.profile_ref.clone(),
            line_rate_mbps: p.link.line_rate_mbps,
            mtu: p.link.mtu,
            switch_mtu: spec.switch_mtu,
            ceiling_mbps: p.ceiling_mbps(),
            subnet: k,
            near_addr: spec.near_addr,
            far_addr: spec.far_addr,
            prefix_len: spec.prefix_len,
            near_ns: spec.near_ns.clone(),
            far_ns: spec.far_ns.clone(),
            switch_ns: spec.switch_ns.clone(),
            tbf: spec.tbf,
            congestion_control: Some(spec.congestion.algorithm.clone()),
            server: Some(server),
            second_route: spec.second_route.clone(),
            created_utc: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            saf_net_version: env!("CARGO_PKG_VERSION").into(),
        };
        state::write(base, &st)?;
        Ok(st)
    })();
    if built.is_err() {
        let _ = super::down::remove_locked(runner, base, name);
    }
    built
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
        }
    }

    #[test]
    fn spec_takes_mtus_and_rates_from_the_profile() {
        let s = req("x", "10gbe-jumbo", None).spec(3).unwrap();
        assert_eq!((s.host_mtu, s.switch_mtu), (9000, 9000));
        assert_eq!(s.far_addr.to_string(), "10.77.3.2");
        assert_eq!(s.near_ns, "safnet-x-near");
        let s = req("x", "10gbe-jumbo", Some(1500)).spec(3).unwrap();
        assert_eq!((s.host_mtu, s.switch_mtu), (9000, 1500));
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
}
