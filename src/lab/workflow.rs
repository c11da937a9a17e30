//! What each `saf-net lab` subcommand does, from its request to its result: the checks first (name, profile,
//! root, tools), then the operation (`up`, `down`, `status`, `exec`). `cmd/lab.rs` only turns the arguments
//! into these requests, picks the runner and prints the result through [`super::text`].

use std::path::PathBuf;

use super::congestion::Lists;
use super::down::{self, Removed};
use super::hosts::HostsInput;
use super::status::{self, LabView};
use super::up::{self, UpRequest};
use super::{DEFAULT_NAME, LabError, LabState, Runner, exec, names, preflight, state};
use crate::profile::Profile;

/// This program, which the lab runs as its server and inside `lab exec`.
fn exe() -> Result<PathBuf, LabError> {
    std::env::current_exe().map_err(LabError::Exe)
}

/// What `lab up` is asked for, as given.
#[derive(Debug, Clone)]
pub struct UpInput {
    pub name: String,
    /// The profile's name or path.
    pub profile: String,
    pub switch_mtu: Option<u32>,
    pub congestion: Option<String>,
    pub second_route: bool,
    /// `--hosts`, `--host-rate`, `--host-mtu`.
    pub hosts: HostsInput,
}

/// Checks the name and finds the profile: every problem here is the user's input.
pub fn up_request(input: UpInput) -> Result<UpRequest, LabError> {
    names::check_name(&input.name).map_err(LabError::BadName)?;
    let profile = Profile::resolve(&input.profile)?;
    // The client must find the same profile from inside the lab: by name, or by absolute path.
    let spec = &input.profile;
    let profile_ref = if spec.contains('/') || spec.ends_with(".toml") {
        std::fs::canonicalize(spec).map_or_else(|_| spec.clone(), |p| p.display().to_string())
    } else {
        spec.clone()
    };
    let req = UpRequest {
        name: input.name,
        profile,
        profile_ref,
        switch_mtu: input.switch_mtu,
        congestion: input.congestion,
        congestion_lists: Lists::read(),
        second_route: input.second_route,
        hosts: input.hosts,
    };
    // Flags that contradict each other or the profile are refused before a dry run prints anything.
    req.spec(1)?;
    Ok(req)
}

/// `lab up --dry-run`: the commands `up` would run, through a printing runner.
pub fn plan_up(req: &UpRequest, r: &mut Runner) -> Result<(), LabError> {
    let k = names::preferred_subnet(&req.name);
    up::plan(r, req, &exe()?, k)?;
    Ok(())
}

/// A lab just built, and why its congestion control is the one it is (when that needs saying).
#[derive(Debug, Clone)]
pub struct Built {
    pub state: LabState,
    pub congestion_note: Option<String>,
}

/// `lab up`: checks the request, then root and tools, then builds the lab and starts its server.
pub fn up(req: &UpRequest, r: &mut Runner) -> Result<Built, LabError> {
    let spec = req.spec(1)?;
    preflight::require_root("up")?;
    preflight::require_tools()?;
    let state = up::up(r, &state::base_dir(), req, &exe()?)?;
    Ok(Built {
        state,
        congestion_note: spec.congestion.note,
    })
}

/// What `lab down` removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Down {
    /// `--all`: every lab there was.
    All(Vec<Removed>),
    /// One lab, None when it was not up.
    One { name: String, removed: Option<Removed> },
}

/// `lab down`: lab `name` (the default lab when None), or every lab with `all`.
pub fn down(r: &mut Runner, name: Option<&str>, all: bool) -> Result<Down, LabError> {
    if let Some(n) = name {
        names::check_name(n).map_err(LabError::BadName)?;
    }
    preflight::require_root("down")?;
    preflight::require_tools()?;
    let base = state::base_dir();
    if all {
        return Ok(Down::All(down::down_all(r, &base)?));
    }
    let name = name.unwrap_or(DEFAULT_NAME);
    Ok(Down::One {
        name: name.to_string(),
        removed: down::down(r, &base, name)?,
    })
}

/// What `lab status` found, and whether it could look at the live details (root only).
#[derive(Debug, Clone)]
pub struct Status {
    pub views: Vec<LabView>,
    pub root: bool,
}

/// `lab status`: every lab, from its state and (as root) from what the kernel reports now.
pub fn status(r: &mut Runner) -> Result<Status, LabError> {
    preflight::require_tools()?;
    let root = preflight::effective_uid() == Some(0);
    let views = status::status(r, &state::base_dir(), root)?;
    Ok(Status { views, root })
}

/// `lab exec`: runs `command` in host `index` (near is 1, far is 2) of lab `name`; its exit code.
pub fn exec(r: &mut Runner, name: &str, index: u8, command: &[String]) -> Result<i32, LabError> {
    names::check_name(name).map_err(LabError::BadName)?;
    preflight::require_root("exec")?;
    preflight::require_tools()?;
    exec::exec(r, &state::base_dir(), name, index, command, &exe()?)
}
