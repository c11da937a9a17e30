//! `lab down`: remove what a lab created, and only that: the processes inside its namespaces (its
//! servers among them), its namespaces (which takes their veths, bridge and qdiscs along), its key and
//! its state folder. Works from whatever is left, so a crashed `lab up` is cleaned up too.

use std::path::Path;

use super::names::{self, Role};
use super::parse;
use super::process;
use super::runner::{Cmd, Runner};
use super::state::{self, LabState};
use super::{LabError, all_labs, namespaces_by_lab};

/// What `down` removed for one lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub name: String,
    pub namespaces: Vec<String>,
    /// Processes stopped (the server and anything started with `lab exec` that still ran).
    pub processes: usize,
    pub had_state: bool,
}

/// Removes lab `name`; Ok(None) when nothing of it exists.
pub fn down(runner: &mut Runner, base: &Path, name: &str) -> Result<Option<Removed>, LabError> {
    names::check_name(name).map_err(LabError::BadName)?;
    let _lock = state::lock(base)?;
    remove_locked(runner, base, name)
}

/// Removes every lab (state folders and `safnet-*` namespaces of the lab layout).
pub fn down_all(runner: &mut Runner, base: &Path) -> Result<Vec<Removed>, LabError> {
    let _lock = state::lock(base)?;
    let mut out = Vec::new();
    for name in all_labs(runner, base)? {
        if let Some(r) = remove_locked(runner, base, &name)? {
            out.push(r);
        }
    }
    Ok(out)
}

/// [`down`] for a caller that holds the lock.
pub(crate) fn remove_locked(runner: &mut Runner, base: &Path, name: &str) -> Result<Option<Removed>, LabError> {
    // A damaged state file must not keep the namespaces alive: it is removed with the rest.
    let st = state::read(base, name).ok().flatten();
    let had_state = st.is_some() || state::lab_dir(base, name).exists();
    let roles = namespaces_by_lab(runner)?.remove(name).unwrap_or_default();
    if roles.is_empty() && !had_state {
        return Ok(None);
    }
    let namespaces: Vec<String> = roles.iter().map(|r| names::netns(name, *r)).collect();
    let mut pids = Vec::new();
    for ns in &namespaces {
        if let Ok(text) = runner.output(&Cmd::new("ip").args(["netns", "pids", ns])) {
            pids.extend(parse::pids(&text));
        }
    }
    // A server outside any listed namespace (its namespace name was already deleted): only
    // the very process that was recorded, never a later one that reused the pid.
    for s in st.as_ref().map(LabState::servers).unwrap_or_default() {
        if !pids.contains(&s.pid) && process::is_same_process(&s) {
            pids.push(s.pid);
        }
    }
    pids.sort_unstable();
    pids.dedup();
    let processes = process::stop(runner, &pids)?;
    // Hosts first, the switch last: deleting a host namespace destroys its veth pair.
    let mut ordered = roles.clone();
    ordered.sort_by_key(|r| *r == Role::Switch);
    for role in ordered {
        runner.output(&Cmd::new("ip").args(["netns", "del", &names::netns(name, role)]))?;
    }
    state::remove(base, name)?;
    Ok(Some(Removed {
        name: name.to_string(),
        namespaces,
        processes,
        had_state,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Runner;

    #[test]
    fn nothing_up_is_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Runner::record().ok("ip netns list", "other-ns\n");
        assert_eq!(down(&mut r, dir.path(), "x").unwrap(), None);
        assert!(down_all(&mut r, dir.path()).unwrap().is_empty());
    }

    #[test]
    fn removes_only_the_named_labs_namespaces_and_state() {
        let dir = tempfile::tempdir().unwrap();
        state::write(dir.path(), &state::tests::sample("x")).unwrap();
        state::write(dir.path(), &state::tests::sample("y")).unwrap();
        let listing = "safnet-x-near\nsafnet-x-far\nsafnet-x-switch\nsafnet-y-near\nsafnet-x-y-near\nnot-ours\n";
        let mut r = Runner::record().ok("ip netns list", listing);
        let removed = down(&mut r, dir.path(), "x").unwrap().unwrap();
        assert_eq!(removed.namespaces, ["safnet-x-near", "safnet-x-far", "safnet-x-switch"]);
        assert!(removed.had_state);
        let dels: Vec<&String> = r.log().iter().filter(|l| l.starts_with("ip netns del")).collect();
        assert_eq!(
            dels,
            [
                "ip netns del safnet-x-near",
                "ip netns del safnet-x-far",
                "ip netns del safnet-x-switch"
            ]
        );
        assert_eq!(state::names(dir.path()), ["y"]);
    }

    #[test]
    fn all_covers_state_only_and_namespace_only_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        state::write(dir.path(), &state::tests::sample("stateonly")).unwrap();
        let mut r = Runner::record().ok("ip netns list", "safnet-crashed-switch\n");
        let removed = down_all(&mut r, dir.path()).unwrap();
        let names: Vec<&str> = removed.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["crashed", "stateonly"]);
        assert!(r.log().contains(&"ip netns del safnet-crashed-switch".to_string()));
        assert!(state::names(dir.path()).is_empty());
    }

    #[test]
    fn a_lab_of_four_hosts_loses_every_host_before_its_switch() {
        let dir = tempfile::tempdir().unwrap();
        let listing = "safnet-m-switch\nsafnet-m-h3\nsafnet-m-h1\nsafnet-m-h4\nsafnet-m-h2\n";
        let mut r = Runner::record().ok("ip netns list", listing);
        let removed = down(&mut r, dir.path(), "m").unwrap().unwrap();
        assert_eq!(removed.namespaces.len(), 5);
        let pids: Vec<&String> = r.log().iter().filter(|l| l.starts_with("ip netns pids")).collect();
        assert_eq!(pids.len(), 5, "every namespace is searched for processes");
        let dels: Vec<&String> = r.log().iter().filter(|l| l.starts_with("ip netns del")).collect();
        assert_eq!(
            dels,
            [
                "ip netns del safnet-m-h1",
                "ip netns del safnet-m-h2",
                "ip netns del safnet-m-h3",
                "ip netns del safnet-m-h4",
                "ip netns del safnet-m-switch"
            ]
        );
    }
}
