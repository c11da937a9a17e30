//! Subcommand entry points: arguments in, work done, output written, exit code out. For the measurement kinds
//! (`client`, `latency`, `mtu`, `validate`) only dispatch: parse, call the kind ([`crate::kinds`]), print its
//! outcome ([`emit`]) and map its verdict to the exit code.

mod client;
mod collective;
mod compare;
mod demo;
mod doctor;
mod dropin;
mod errors;
mod facts;
mod lab;
mod latency;
mod manual;
mod mesh;
mod monitor;
mod mtu;
mod report;
mod route;
mod server;
mod service;
mod signals;
mod tune;
mod validate;

pub use client::client;
pub use collective::collective;
pub use compare::compare;
pub use demo::demo;
pub use doctor::doctor;
pub use dropin::dropin;
pub use errors::{error_line, repeated_cause};
pub use facts::facts;
pub use lab::lab;
pub use latency::latency;
pub use manual::{completions, man};
pub use mesh::mesh;
pub use monitor::monitor;
pub use mtu::mtu;
pub use report::report;
pub use route::route;
pub use server::server;
pub use service::service;
pub use tune::tune;
pub use validate::validate;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::auth::{ExposedKeyFile, Psk};
pub use crate::classify::Classify;
use crate::cli::HistoryArgs;
use crate::client::{Event, Observer};
use crate::output::history::{self, HistoryError};
use crate::output::text::Live;
use crate::output::{Report, RunMeta, Verdict, json};
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

/// The history file to append to: none with --no-history, else --csv, else the default. It is checked now
/// (a writable regular file holding a saf-net history, or a new file in a writable folder), so a test never
/// runs for a row that cannot be written.
fn history_target(no_history: bool, csv: Option<&PathBuf>) -> Result<Option<PathBuf>> {
    if no_history {
        return Ok(None);
    }
    let path = match csv {
        Some(p) => p.clone(),
        None => history::default_path()?,
    };
    history::check(&path).map_err(history_error)?;
    Ok(Some(path))
}

impl HistoryArgs {
    /// The checked history file to append to, if any (see [`history_target`]).
    fn target(&self) -> Result<Option<PathBuf>> {
        history_target(self.no_history, self.csv.as_ref())
    }
}

/// A history error as the binary reports it: a path that can never hold a history is a usage error (exit 2).
fn history_error(e: HistoryError) -> anyhow::Error {
    if e.is_wrong_target() {
        UsageError(e.to_string()).into()
    } else {
        e.into()
    }
}

/// Records a run (its row and JSON document) in the history at `path`, if any.
fn record<R: Report>(path: Option<&Path>, outcome: &R, meta: &RunMeta) -> Result<()> {
    if let Some(path) = path {
        history::append(path, &outcome.history_row(meta), &json::render(outcome, meta))
            .map_err(history_error)
            .context("could not record the run")?;
    }
    Ok(())
}

/// The exit code a kind's verdict means.
fn exit_code(verdict: Verdict) -> ExitCode {
    match verdict {
        Verdict::Ok => EXIT_OK,
        Verdict::Incomplete => EXIT_INCOMPLETE,
        Verdict::Diagnosed => EXIT_DIAGNOSED,
    }
}

/// Prints a kind's outcome (its text, or its `-J` document), records it in the history at `history`, if any,
/// and gives the exit code of its verdict.
fn emit<R: Report>(outcome: &R, meta: &RunMeta, json: bool, history: Option<&Path>) -> Result<ExitCode> {
    // A closed stdout must not cost the history row, so write errors are ignored here.
    let text = if json {
        json::render(outcome, meta) + "\n"
    } else {
        outcome.text(meta)
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    record(history, outcome, meta)?;
    Ok(exit_code(outcome.verdict()))
}

/// Runs a kind on the client-side runtime with its events shown on `live` (text) or nowhere (`None`, for
/// `-J`); warnings found before a test go to stderr either way.
fn run_shown<T>(live: Option<&mut dyn Live>, run: impl AsyncFnOnce(&mut dyn Observer) -> T) -> Result<T> {
    let rt = runtime()?;
    let mut quiet = |_: Event<'_>| {};
    Ok(match live {
        Some(live) => {
            let out = rt.block_on(run(&mut warn_then(live)));
            live.finish();
            out
        }
        None => rt.block_on(run(&mut warn_then(&mut quiet))),
    })
}

/// The pre-shared key from --psk-file or SAF_NET_PSK, if any; a bad one is a usage error. A key file that
/// group or others may read is used, with a one-line warning on stderr.
fn psk(file: Option<&Path>) -> Result<Option<Psk>, UsageError> {
    let key = Psk::resolve(file).map_err(|e| UsageError(e.to_string()))?;
    if let Some(exposed) = file.and_then(ExposedKeyFile::check) {
        eprintln!("{exposed}");
    }
    Ok(key)
}

/// The link profile --profile names, if any; an unknown one is a usage error.
fn profile(spec: Option<&str>) -> Result<Option<Profile>, UsageError> {
    spec.map(|s| Profile::resolve(s).map_err(|e| UsageError(e.to_string())))
        .transpose()
}

/// Prints each warning a run finds before its test on stderr, one line each, and hands every event on.
fn warn_then(obs: &mut dyn Observer) -> impl Observer + '_ {
    move |e: Event<'_>| {
        if let Event::Warning { diagnosis } = &e {
            eprintln!("{}", crate::diagnose::wrong_interface::warning_line(diagnosis));
        }
        obs.on(e)
    }
}

/// The single-threaded runtime the client-side subcommands run on.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")
}

/// A library error as the binary reports it: the user's input becomes a [`UsageError`] (exit code 2), anything
/// else stays itself (exit code 1).
pub fn classified<E: Classify>(e: E) -> anyhow::Error {
    if e.is_usage() {
        UsageError(e.to_string()).into()
    } else {
        e.into()
    }
}
