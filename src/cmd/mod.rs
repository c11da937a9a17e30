//! Subcommand entry points: arguments in, work done, output written, exit code out.

mod client;
mod compare;
mod demo;
mod errors;
mod lab;
mod latency;
mod mtu;
mod report;
mod server;
mod service;
mod signals;
mod tune;
mod validate;

pub use client::client;
pub use compare::compare;
pub use demo::demo;
pub use errors::{error_line, repeated_cause};
pub use lab::lab;
pub use latency::latency;
pub use mtu::mtu;
pub use report::report;
pub use server::server;
pub use service::service;
pub use tune::tune;
pub use validate::validate;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::auth::Psk;
use crate::cli::HistoryArgs;
use crate::output::history::{self, HistoryError};
use crate::profile::Profile;

/// The process exit code of a subcommand that ran.
pub type ExitCode = i32;

pub const EXIT_OK: ExitCode = 0;
/// The test ran but did not complete; partial results were printed.
pub const EXIT_INCOMPLETE: ExitCode = 3;
/// The measurement ran and diagnosed a problem on the path.
pub const EXIT_DIAGNOSED: ExitCode = 4;

/// A bad argument found after parsing; exits with code 2 like clap's own errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The history file to append to: none with --no-history, else --csv, else the default.
fn history_path(no_history: bool, csv: Option<&PathBuf>) -> Result<Option<PathBuf>, HistoryError> {
    if no_history {
        return Ok(None);
    }
    Ok(Some(match csv {
        Some(p) => p.clone(),
        None => history::default_path()?,
    }))
}

impl HistoryArgs {
    /// The history file to append to, if any (see [`history_path`]).
    fn path(&self) -> Result<Option<PathBuf>, HistoryError> {
        history_path(self.no_history, self.csv.as_ref())
    }
}

/// The pre-shared key from --psk-file or SAF_NET_PSK, if any; a bad one is a usage error.
fn psk(file: Option<&Path>) -> Result<Option<Psk>, UsageError> {
    Psk::resolve(file).map_err(|e| UsageError(e.to_string()))
}

/// The link profile --profile names, if any; an unknown one is a usage error.
fn profile(spec: Option<&str>) -> Result<Option<Profile>, UsageError> {
    spec.map(|s| Profile::resolve(s).map_err(|e| UsageError(e.to_string())))
        .transpose()
}

/// The single-threaded runtime the client-side subcommands run on.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")
}
