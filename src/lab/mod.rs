//! `saf-net lab`: emulated links in Linux network namespaces, wire-exact in throughput, for
//! rehearsing an upgrade and for the project's own tests. No delay is emulated (no netem).
//!
//! `names` (naming and addresses) · `hosts` (`--hosts N`, per-host rates and MTUs) · `key` (the lab key
//! of a `--hosts` lab) · `shaping` (tbf math) · `topology` (the build commands) ·
//! `tunnel` (`--second-route`: a VPN-like tunnel beside the link) ·
//! `crate::runner` (every external command) · `parse` (their outputs) · `state` (what is up, on disk) ·
//! `process` (the server, and stopping what runs in a lab) · `preflight` (root, tools) ·
//! `up`, `down`, `status`, `exec`: the four operations · `workflow` (each subcommand's checks and operation,
//! from request to result) · `text` (how the results read; `cmd/lab.rs` parses and prints) · `json`
//! (`lab status --json`).

pub mod congestion;
pub mod down;
pub mod exec;
pub mod hosts;
pub mod json;
pub mod key;
pub mod names;
pub mod parse;
pub mod preflight;
pub mod process;
pub mod shaping;
pub mod state;
pub mod status;
pub mod text;
pub mod text_hosts;
pub mod topology;
pub mod tunnel;
pub mod up;
pub mod workflow;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use crate::runner::{self, Cmd, RunError, Runner};
pub use names::{DEFAULT_NAME, Role};
pub use shaping::Tbf;
pub use state::LabState;

use crate::classify::Classify;
use crate::profile::ProfileError;

/// Why a lab command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error(
        "saf-net lab {action} needs root (it manages network namespaces, veth pairs and tc qdiscs); run it with sudo"
    )]
    NotRoot { action: String },
    #[error("`{tool}` is not on PATH; install the {package} package")]
    MissingTool { tool: &'static str, package: &'static str },
    #[error("this kernel has no network namespaces (/proc/self/ns/net is missing)")]
    NoNetns,
    #[error("{0}")]
    BadName(String),
    #[error("--switch-mtu {0} is outside 576..=65535")]
    BadSwitchMtu(u32),
    #[error("{0}")]
    Congestion(String),
    /// `--hosts`, `--host-rate`, `--host-mtu`, `lab exec --host`: what was wrong and what to give.
    #[error("{0}")]
    Hosts(String),
    #[error("lab '{name}' is already up: {what}; take it down first with `saf-net lab down --name {name}`")]
    AlreadyUp { name: String, what: String },
    #[error("lab '{name}' has leftovers of an earlier run ({what}); remove them with `saf-net lab down --name {name}`")]
    Leftovers { name: String, what: String },
    #[error(
        "no lab named '{name}' is up{}; start one with `saf-net lab up PROFILE --name {name}`",
        others_note(others)
    )]
    NotUp { name: String, others: Vec<String> },
    #[error("no free lab subnet: all 254 of 10.77.1-254.0/24 are taken by other labs")]
    NoSubnet,
    #[error("building lab '{name}' failed, and what was built is removed again: {cause}")]
    Build { name: String, cause: RunError },
    #[error("{ns}: {detail}")]
    Offloads { ns: String, detail: String },
    #[error("the saf-net server in {ns} did not start: {detail} (log: {})", log.display())]
    ServerStart { ns: String, log: PathBuf, detail: String },
    #[error("lab state {}: {cause}", path.display())]
    State { path: PathBuf, cause: std::io::Error },
    #[error("lab state {} is damaged ({detail}); `saf-net lab down --all` removes it", path.display())]
    StateFormat { path: PathBuf, detail: String },
    #[error("unexpected output from `{cmd}`: {detail}")]
    Output { cmd: String, detail: String },
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error("cannot find this program's path to start the lab's server")]
    Exe(#[source] std::io::Error),
    #[error(transparent)]
    Command(#[from] RunError),
}

fn others_note(others: &[String]) -> String {
    if others.is_empty() {
        String::new()
    } else {
        format!(" (labs up: {})", others.join(", "))
    }
}

impl Classify for LabError {
    fn is_usage(&self) -> bool {
        matches!(
            self,
            LabError::BadName(_)
                | LabError::BadSwitchMtu(_)
                | LabError::Congestion(_)
                | LabError::Hosts(_)
                | LabError::Profile(_)
        )
    }
}

/// The lab namespaces that exist now, by lab name.
pub fn namespaces_by_lab(runner: &mut Runner) -> Result<BTreeMap<String, Vec<Role>>, LabError> {
    let text = runner.output(&Cmd::words("ip netns list"))?;
    let mut labs: BTreeMap<String, Vec<Role>> = BTreeMap::new();
    for ns in parse::netns_list(&text) {
        if let Some((name, role)) = names::parse_netns(&ns) {
            labs.entry(name).or_default().push(role);
        }
    }
    for roles in labs.values_mut() {
        roles.sort();
    }
    Ok(labs)
}

/// Names of every lab with state or namespaces, sorted.
pub fn all_labs(runner: &mut Runner, base: &std::path::Path) -> Result<Vec<String>, LabError> {
    let mut v: Vec<String> = namespaces_by_lab(runner)?.into_keys().collect();
    v.extend(state::names(base));
    v.sort();
    v.dedup();
    Ok(v)
}
