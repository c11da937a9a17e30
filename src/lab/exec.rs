//! `lab exec`: run a command in a lab host's namespace, scored against the lab's profile.

use std::path::Path;

use super::names::{self, Role};
use super::runner::{Cmd, Runner};
use super::state::{self, LabState};
use super::{LabError, all_labs, namespaces_by_lab};

/// Environment variable naming the lab a command runs in.
pub const LAB_ENV: &str = "SAF_NET_LAB";
/// The port variable `saf-net client` and `saf-net server` read.
pub const PORT_ENV: &str = "SAF_NET_PORT";

/// The command line `exec` runs: `ip netns exec NS ARGV...` with SAF_NET_PROFILE, SAF_NET_LAB and
/// SAF_NET_PORT (the lab server's port) set. A first word of exactly `saf-net` becomes `exe`, so the
/// lab uses the binary that built it.
pub fn command(st: &LabState, ns: &str, argv: &[String], exe: &Path) -> Cmd {
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
    if let Some(s) = &st.server {
        c = c.env(PORT_ENV, s.port.to_string());
    }
    c
}

/// Runs `argv` in host `role` of lab `name` (with the real runner, by becoming it); returns its exit code.
pub fn exec(
    runner: &mut Runner,
    base: &Path,
    name: &str,
    role: Role,
    argv: &[String],
    exe: &Path,
) -> Result<i32, LabError> {
    names::check_name(name).map_err(LabError::BadName)?;
    let ns = names::netns(name, role);
    let st = state::read(base, name)?;
    let present = namespaces_by_lab(runner)?;
    let has_ns = present.get(name).is_some_and(|r| r.contains(&role));
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
    Ok(runner.replace(&command(&st, &ns, argv, exe))?)
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
        let code = exec(&mut r, dir.path(), "x", Role::Near, &argv, Path::new("/opt/saf-net")).unwrap();
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
        let e = exec(&mut r, dir.path(), "x", Role::Near, &argv, Path::new("/x")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no lab named 'x' is up (labs up: other); start one with `saf-net lab up PROFILE --name x`"
        );
    }
}
