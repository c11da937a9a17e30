//! `lab exec`: run a command in a lab host's namespace, scored against the lab's profile.

use std::path::Path;

use super::names::{self, Role};
use super::runner::{Cmd, Runner};
use super::state::{self, LabState};
use super::{LabError, all_labs, key, namespaces_by_lab};
use crate::auth::PSK_ENV;

/// Environment variable naming the lab a command runs in.
pub const LAB_ENV: &str = "SAF_NET_LAB";
/// The port variable `saf-net client` and `saf-net server` read.
pub const PORT_ENV: &str = "SAF_NET_PORT";

/// The command line `exec` runs: `ip netns exec NS ARGV...` with SAF_NET_PROFILE, SAF_NET_LAB,
/// SAF_NET_PORT (the lab servers' port) and, in a lab built with `--hosts`, SAF_NET_PSK (the lab key)
/// set. A first word of exactly `saf-net` becomes `exe`, so the lab uses the binary that built it.
pub fn command(st: &LabState, ns: &str, argv: &[String], exe: &Path) -> Result<Cmd, LabError> {
    let mut c = Cmd::new("ip").args(["netns", "exec", ns]);
    for (i, a) in argv.iter().enumerate() {
        if i == 0 && a == "saf-net" {
            c = c.arg(exe.display().to_string());
        } else {
            c = c.arg(a.clone());
        }
    }
    c = c
        .env(crate::profile::PROFILE_ENV, &st.profile_ref)
        .env(LAB_ENV, &st.name);
    if let Some(s) = st.servers().first() {
        c = c.env(PORT_ENV, s.port.to_string());
    }
    if let Some(path) = &st.psk_file {
        c = c.env(PSK_ENV, key::read(path)?);
    }
    Ok(c)
}

/// The namespace of host `index` (near is 1, far is 2) in lab `name`, as its state records it.
fn host_ns(st: &LabState, index: u8) -> Result<String, LabError> {
    let hosts = st.host_list();
    match hosts.iter().find(|h| h.index == index) {
        Some(h) => Ok(h.namespace.clone()),
        None => Err(LabError::Hosts(format!(
            "lab '{}' has hosts 1 to {}; give --host one of them (near is 1, far is 2)",
            st.name,
            hosts.len()
        ))),
    }
}

/// Runs `argv` in host `index` of lab `name` (with the real runner, by becoming it); returns its exit code.
pub fn exec(
    runner: &mut Runner,
    base: &Path,
    name: &str,
    index: u8,
    argv: &[String],
    exe: &Path,
) -> Result<i32, LabError> {
    names::check_name(name).map_err(LabError::BadName)?;
    let st = state::read(base, name)?;
    let ns = match &st {
        Some(st) => host_ns(st, index)?,
        None => names::netns(name, Role::host(2, index)),
    };
    let present = namespaces_by_lab(runner)?;
    let has_ns = present
        .get(name)
        .is_some_and(|roles| roles.iter().any(|r| names::netns(name, *r) == ns));
    let Some(st) = st.filter(|_| has_ns) else {
        if present.contains_key(name) {
            return Err(LabError::Leftovers {
                name: name.into(),
                what: format!("{ns} {}", if has_ns { "without state" } else { "is missing" }),
            });
        }
        let others = all_labs(runner, base)?.into_iter().filter(|n| n != name).collect();
        return Err(LabError::NotUp {
            name: name.into(),
            others,
        });
    };
    Ok(runner.replace(&command(&st, &ns, argv, exe)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Runner;

    #[test]
    fn exec_runs_in_the_namespace_with_the_profile_set() {
        let dir = tempfile::tempdir().unwrap();
        let mut st = state::tests::sample("x");
        st.server = Some(state::ServerProcess {
            pid: 1,
            start_ticks: 1,
            port: 5301,
            log: "/dev/null".into(),
        });
        state::write(dir.path(), &st).unwrap();
        let mut r = Runner::record().ok("ip netns list", "safnet-x-near\nsafnet-x-far\nsafnet-x-switch\n");
        let argv: Vec<String> = ["saf-net", "client", "10.77.9.2"].map(String::from).into();
        let code = exec(&mut r, dir.path(), "x", 1, &argv, Path::new("/opt/saf-net")).unwrap();
        assert_eq!(code, 0);
        assert_eq!(
            r.log().last().unwrap(),
            "SAF_NET_PROFILE=1gbe SAF_NET_LAB=x SAF_NET_PORT=5301 ip netns exec safnet-x-near /opt/saf-net client 10.77.9.2"
        );
    }

    #[test]
    fn exec_without_a_lab_says_which_are_up() {
        let dir = tempfile::tempdir().unwrap();
        state::write(dir.path(), &state::tests::sample("other")).unwrap();
        let mut r = Runner::record().ok("ip netns list", "safnet-other-near\n");
        let argv = vec!["true".to_string()];
        let e = exec(&mut r, dir.path(), "x", 1, &argv, Path::new("/x")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no lab named 'x' is up (labs up: other); start one with `saf-net lab up PROFILE --name x`"
        );
    }

    #[test]
    fn exec_in_a_keyed_lab_finds_host_k_and_hands_on_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let lab_dir = state::lab_dir(dir.path(), "m");
        std::fs::create_dir_all(&lab_dir).unwrap();
        let key_path = key::create(&lab_dir).unwrap();
        let p = crate::profile::resolve_in("1gbe", &[]).unwrap();
        let layout = crate::lab::hosts::HostsInput {
            count: Some(4),
            ..Default::default()
        }
        .layout(&p)
        .unwrap();
        let mut st = state::tests::sample("m");
        let mut hosts = layout.hosts("m", 9, &p);
        for h in &mut hosts {
            h.server = Some(state::ServerProcess {
                pid: 1,
                start_ticks: 1,
                port: 5301,
                log: "/dev/null".into(),
            });
        }
        st.hosts = Some(hosts);
        st.psk_file = Some(key_path.clone());
        state::write(dir.path(), &st).unwrap();
        let listing = "safnet-m-h1\nsafnet-m-h2\nsafnet-m-h3\nsafnet-m-h4\nsafnet-m-switch\n";
        let mut r = Runner::record().ok("ip netns list", listing);
        let argv: Vec<String> = ["saf-net", "client", "10.77.9.4"].map(String::from).into();
        exec(&mut r, dir.path(), "m", 3, &argv, Path::new("/opt/saf-net")).unwrap();
        let line = r.log().last().unwrap().clone();
        assert!(
            line.ends_with("ip netns exec safnet-m-h3 /opt/saf-net client 10.77.9.4"),
            "{line}"
        );
        assert!(
            line.contains("SAF_NET_PSK=(secret)"),
            "the key never shows in a command line: {line}"
        );
        let cmd = command(&st, "safnet-m-h3", &argv, Path::new("/opt/saf-net")).unwrap();
        let psk = cmd.env.iter().find(|(k, _)| k == PSK_ENV).map(|(_, v)| v.clone());
        assert_eq!(psk, Some(key::read(&key_path).unwrap()));
        // Near is host 1, far host 2, in a lab of any size.
        exec(&mut r, dir.path(), "m", 1, &argv, Path::new("/x")).unwrap();
        assert!(r.log().last().unwrap().contains("ip netns exec safnet-m-h1 "));
        let e = exec(&mut r, dir.path(), "m", 5, &argv, Path::new("/x")).unwrap_err();
        assert!(matches!(e, LabError::Hosts(_)), "{e:?}");
        assert_eq!(
            e.to_string(),
            "lab 'm' has hosts 1 to 4; give --host one of them (near is 1, far is 2)"
        );
    }
}
