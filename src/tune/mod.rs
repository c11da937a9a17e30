//! `saf-net tune`: puts an interface and the machine's socket-buffer sysctls where a link profile
//! says, safely and reversibly, through `networksetup` and `sysctl` on macOS and `ip`, `ethtool` and
//! `sysctl` on Linux.
//!
//! `settings` (what an interface and the sysctls look like, and what is wanted) · `backend` (the OS
//! seam) with `macos` and `linux` (their commands and the parsers of their real outputs), `select`
//! (which of the two a `BackendKind` means) and `sysctl` (shared by both) · `plan` (current →
//! target, with the exact commands) · `state` (the snapshot taken before the first change, on disk) ·
//! `persist` (the sysctl file `--persist` writes) · `apply` (apply, verify, roll back; revert) ·
//! `trial` (`--try`: revert unless confirmed in time; the SSH session check) · `show` (what `tune
//! show` reports) · `text` (how plans and reports read) · `workflow` (each subcommand's steps, from
//! request to end; `cmd/tune.rs` parses and prints).
//!
//! Every external command goes through [`crate::runner::Runner`].

pub mod apply;
pub mod backend;
pub mod linux;
pub mod macos;
pub mod persist;
pub mod plan;
mod select;
pub mod settings;
pub mod show;
pub mod state;
pub mod sysctl;
pub mod text;
pub mod trial;
pub mod workflow;

use std::path::PathBuf;

pub use backend::{Backend, BackendKind};
pub use plan::Plan;

use crate::classify::Classify;
use crate::profile::ProfileError;
use crate::runner::RunError;

/// Why a tune command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error("profile '{profile}' has no [tune.{os}] section; add one (see docs/profiles.md)")]
    NoTuneSection { profile: String, os: &'static str },
    #[error("unknown interface '{name}'; {what}: {}", known.join(", "))]
    UnknownInterface {
        name: String,
        what: &'static str,
        known: Vec<String>,
    },
    #[error("MTU {mtu} is outside the valid range {min}-{max} of {port} (from `{source_cmd}`){why}")]
    MtuOutOfRange {
        port: String,
        mtu: u32,
        min: u32,
        max: u32,
        source_cmd: String,
        /// Why that port matters, when it is not the one named ("; it is a member of ...").
        why: String,
    },
    #[error("media '{media}' is not valid for {port}; valid media: {}", valid.join(" | "))]
    MediaNotValid {
        port: String,
        media: String,
        valid: Vec<String>,
    },
    #[error("{value} is not a valid {what}: {why}")]
    BadValue {
        what: &'static str,
        value: String,
        why: String,
    },
    #[error(
        "saf-net tune {action} changes network settings and needs root; run it with sudo{}",
        if *.action == "apply" { " (or add --dry-run to see the plan without root)" } else { "" }
    )]
    NotRoot { action: &'static str },
    #[error("not applied: {0}; nothing was changed")]
    Declined(String),
    #[error(
        "a trial of profile {profile} on {interface} is still running (it reverts at {deadline}); run `saf-net tune confirm` to keep it or `saf-net tune revert` to undo it first"
    )]
    TrialPending {
        profile: String,
        interface: String,
        deadline: String,
    },
    #[error("the snapshot in {} was taken with the {recorded} backend, not {wanted}; use --backend {recorded} or another --state-dir", path.display())]
    BackendMismatch {
        path: PathBuf,
        recorded: String,
        wanted: String,
    },
    #[error("verification failed: {}", .0.join("; "))]
    Verify(Vec<String>),
    #[error("no trial is pending, so there is nothing to confirm{0}")]
    NoTrial(String),
    #[error("{name} is not in the snapshot; it holds: {}", held.join(", "))]
    NotInSnapshot { name: String, held: Vec<String> },
    #[error("`{cmd}` reported an error: {message}")]
    Tool { cmd: String, message: String },
    #[error("unexpected output from `{cmd}`: {detail}")]
    Output { cmd: String, detail: String },
    #[error("tune state {}: {cause}", path.display())]
    State { path: PathBuf, cause: std::io::Error },
    #[error("tune state {} is damaged ({detail}); move it away and check the interface by hand", path.display())]
    StateFormat { path: PathBuf, detail: String },
    #[error("sysctl file {}: {cause}", path.display())]
    Persist { path: PathBuf, cause: std::io::Error },
    #[error("applying profile {profile} to {port} failed{rolled}: {cause}")]
    ApplyFailed {
        profile: String,
        port: String,
        /// What became of the change: "; nothing was changed", rolled back, or a rollback left incomplete.
        rolled: String,
        cause: Box<TuneError>,
    },
    #[error("cannot find this program to start the --try watcher")]
    WatcherExe(#[source] std::io::Error),
    #[error("could not start the --try watcher, so the change was rolled back: {0}")]
    WatcherStart(Box<TuneError>),
    #[error("revert is incomplete; the snapshot is kept in {} (fix the cause, then run `{follow_up}` again)", path.display())]
    RevertIncomplete { path: PathBuf, follow_up: String },
    #[error(transparent)]
    Command(#[from] RunError),
}

impl Classify for TuneError {
    fn is_usage(&self) -> bool {
        matches!(
            self,
            TuneError::Profile(_)
                | TuneError::NoTuneSection { .. }
                | TuneError::UnknownInterface { .. }
                | TuneError::MtuOutOfRange { .. }
                | TuneError::MediaNotValid { .. }
                | TuneError::BadValue { .. }
        )
    }
}
