//! The steps that install or remove a service, as data; `apply.rs` carries them out.

use std::path::PathBuf;

use crate::runner::Cmd;

/// One thing to do to install or remove a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Create a directory and its parents.
    MkDir(PathBuf),
    /// Write a file whole (temporary file, then rename), mode 0644.
    Write { path: PathBuf, contents: String },
    /// Remove a file; a missing one is fine.
    Remove(PathBuf),
    /// Run a command.
    Run(Run),
}

/// A command step and what to do when it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub cmd: Cmd,
    /// A non-zero exit is expected sometimes (stopping what may not run) and is ignored.
    pub may_fail: bool,
    /// Try once more after a pause before failing (launchd may still be tearing the old job down).
    pub retry: bool,
    /// Added to the error when it fails.
    pub hint: Option<String>,
}

impl Run {
    pub fn must(cmd: Cmd) -> Step {
        Step::Run(Run {
            cmd,
            may_fail: false,
            retry: false,
            hint: None,
        })
    }

    pub fn may_fail(cmd: Cmd) -> Step {
        Step::Run(Run {
            cmd,
            may_fail: true,
            retry: false,
            hint: None,
        })
    }
}
