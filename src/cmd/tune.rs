//! `saf-net tune show | apply | revert | confirm` (and the hidden `watch` behind `--try`): the arguments become a
//! request for `tune::workflow`, which does the work; this file picks the runner, prints and exits.

use std::io::{BufRead, Write};

use anyhow::{Context, Result};

use super::{EXIT_OK, ExitCode, classified};
use crate::cli::{
    BackendArg, TuneApplyArgs, TuneArgs, TuneCommand, TuneConfirmArgs, TuneRevertArgs, TuneShowArgs, TuneWatchArgs,
};
use crate::runner::Runner;
use crate::tune::workflow::{self, ApplyRequest, Console, RevertRequest, StateDir};
use crate::tune::{BackendKind, text};

/// `--backend` as given, else this OS's.
pub(super) fn backend_kind(arg: Option<BackendArg>) -> BackendKind {
    match arg {
        Some(BackendArg::Macos) => BackendKind::Macos,
        Some(BackendArg::Linux) => BackendKind::Linux,
        None => BackendKind::native(),
    }
}

/// The terminal: stdout for what the workflow says, stdin for the answer.
struct Terminal;

impl Console for Terminal {
    fn say(&mut self, text: &str) {
        print!("{text}");
    }

    fn answer(&mut self, prompt: &str) -> Option<String> {
        print!("{prompt}");
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(n) if n > 0 => Some(line),
            _ => None,
        }
    }
}

pub fn tune(args: TuneArgs) -> Result<ExitCode> {
    match args.command {
        TuneCommand::Show(a) => show(a),
        TuneCommand::Apply(a) => apply(a),
        TuneCommand::Revert(a) => revert(a),
        TuneCommand::Confirm(a) => confirm(a),
        TuneCommand::Watch(a) => watch(a),
    }
}

fn show(a: TuneShowArgs) -> Result<ExitCode> {
    let dir = StateDir::new(a.state_dir);
    let kind = backend_kind(a.backend);
    let report = workflow::show(&mut Runner::execute(), kind, a.interface.as_deref(), &dir).map_err(classified)?;
    let out = if a.json {
        serde_json::to_string_pretty(&report).context("cannot write JSON")? + "\n"
    } else {
        text::show(&report)
    };
    let _ = std::io::stdout().write_all(out.as_bytes());
    Ok(EXIT_OK)
}

fn apply(a: TuneApplyArgs) -> Result<ExitCode> {
    let req = ApplyRequest {
        kind: backend_kind(a.backend),
        profile: a.profile,
        interface: a.interface,
        dry_run: a.dry_run,
        yes: a.yes,
        persist: a.persist,
        try_secs: a.try_secs,
        state: StateDir::new(a.state_dir),
    };
    let mut r = if req.dry_run {
        // Read-only commands still run (the plan needs the real state); anything else would be printed.
        Runner::print_to(Box::new(std::io::stdout()))
    } else {
        Runner::execute()
    };
    workflow::apply(&req, &mut r, &mut Terminal).map_err(classified)?;
    Ok(EXIT_OK)
}

fn revert(a: TuneRevertArgs) -> Result<ExitCode> {
    let req = RevertRequest {
        kind: a.backend.map(|b| backend_kind(Some(b))),
        interface: a.interface,
        state: StateDir::new(a.state_dir),
    };
    workflow::revert(&req, &mut Runner::execute(), &mut Terminal).map_err(classified)?;
    Ok(EXIT_OK)
}

fn confirm(a: TuneConfirmArgs) -> Result<ExitCode> {
    workflow::confirm(&StateDir::new(a.state_dir), &mut Terminal).map_err(classified)?;
    Ok(EXIT_OK)
}

fn watch(a: TuneWatchArgs) -> Result<ExitCode> {
    let kind = backend_kind(Some(a.backend));
    workflow::watch(&mut Runner::execute(), kind, &a.state_dir, &a.token, &mut Terminal).map_err(classified)?;
    Ok(EXIT_OK)
}
