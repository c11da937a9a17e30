//! `saf-net tune show | apply | revert | confirm` (and the hidden `watch` behind `--try`).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};

use super::{EXIT_OK, ExitCode, UsageError, classified};
use crate::cli::{
    BackendArg, TuneApplyArgs, TuneArgs, TuneCommand, TuneConfirmArgs, TuneRevertArgs, TuneShowArgs, TuneWatchArgs,
};
use crate::platform;
use crate::profile::Profile;
use crate::runner::{Runner, shell_quote};
use crate::tune::plan::{self, Scope};
use crate::tune::state::{self, TuneState};
use crate::tune::trial::{self, Ssh, WatchEnd};
use crate::tune::{BackendKind, TuneError, apply, persist, show, text};

fn kind(arg: Option<BackendArg>) -> BackendKind {
    match arg {
        Some(BackendArg::Macos) => BackendKind::Macos,
        Some(BackendArg::Linux) => BackendKind::Linux,
        None => BackendKind::native(),
    }
}

fn is_root() -> bool {
    platform::effective_uid() == Some(0)
}

fn require_root(action: &'static str) -> Result<()> {
    if is_root() {
        Ok(())
    } else {
        Err(TuneError::NotRoot { action }.into())
    }
}

fn state_dir(arg: Option<&PathBuf>) -> PathBuf {
    arg.cloned().unwrap_or_else(|| state::default_dir(is_root()))
}

/// How to write a follow-up command so it reaches the same state: `sudo` when run through sudo,
/// `--state-dir` when one was given.
fn follow_up(sub: &str, dir_flag: Option<&Path>) -> String {
    let sudo = if std::env::var_os("SUDO_USER").is_some() {
        "sudo "
    } else {
        ""
    };
    let dir = dir_flag
        .map(|d| format!(" --state-dir {}", shell_quote(&d.display().to_string())))
        .unwrap_or_default();
    format!("{sudo}saf-net tune {sub}{dir}")
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
    let backend = kind(a.backend).backend();
    let conf = persist::conf_path(backend.default_sysctl_conf());
    let dir = state_dir(a.state_dir.as_ref());
    // An unreadable snapshot does not stop `show`; apply and revert report it.
    let st = state::load(&dir).ok().flatten();
    let file = state::file(&dir);
    let mut r = Runner::execute();
    let report = show::collect(
        &mut r,
        backend,
        a.interface.as_deref(),
        &conf,
        st.as_ref().map(|s| (file.as_path(), s)),
    )
    .map_err(classified)?;
    let out = if a.json {
        serde_json::to_string_pretty(&report).context("cannot write JSON")? + "\n"
    } else {
        text::show(&report)
    };
    let _ = std::io::stdout().write_all(out.as_bytes());
    Ok(EXIT_OK)
}

/// Asks on stdin; Ok when the answer is yes.
fn ask(question: &str) -> Result<(), TuneError> {
    print!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let n = std::io::stdin().lock().read_line(&mut line).unwrap_or(0);
    if n == 0 {
        return Err(TuneError::Declined(
            "no answer on stdin; add --yes to apply without asking".into(),
        ));
    }
    match line.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(TuneError::Declined(format!(
            "the answer was '{}', not yes",
            line.trim()
        ))),
    }
}

fn check_backend(st: &TuneState, kind: BackendKind, dir: &Path) -> Result<(), TuneError> {
    if st.backend != kind.as_str() {
        return Err(TuneError::BackendMismatch {
            path: state::file(dir),
            recorded: st.backend.clone(),
            wanted: kind.as_str().into(),
        });
    }
    Ok(())
}

fn ssh_line(ssh: &Ssh, port: &str, secs: u64, explicit: bool) -> Option<String> {
    match ssh {
        Ssh::Carried(a) if !explicit => Some(format!(
            "This SSH session (to {a}) runs over {port}: the change is tried for {secs} s and reverts unless confirmed \
(--try 0 turns this off)."
        )),
        Ssh::Carried(a) => Some(format!("This SSH session (to {a}) runs over {port}.")),
        Ssh::Unknown(a, why) if !explicit => Some(format!(
            "WARNING: cannot tell whether this SSH session (to {a}) runs over {port} ({why}); if it does, \
add --try 60 to keep a way back."
        )),
        _ => None,
    }
}

fn apply(a: TuneApplyArgs) -> Result<ExitCode> {
    let kind = kind(a.backend);
    let backend = kind.backend();
    // Every profile problem is the user's input: one line, exit code 2, before anything runs.
    let profile = Profile::resolve(&a.profile).map_err(|e| UsageError(e.to_string()))?;
    backend.desired(&profile).map_err(classified)?;
    if !a.dry_run {
        require_root("apply")?;
    }
    let conf = persist::conf_path(backend.default_sysctl_conf());
    let persist_to = a.persist.then(|| conf.clone());
    let dir = state_dir(a.state_dir.as_ref());
    let dir_flag = a.state_dir.as_deref();
    // A real apply holds the lock from reading to the end, so nothing else changes the state meanwhile.
    let _lock = if a.dry_run {
        None
    } else {
        Some(state::lock(&dir).map_err(classified)?)
    };
    let st = if a.dry_run {
        state::load(&dir).ok().flatten()
    } else {
        state::load(&dir).map_err(classified)?
    };
    if let Some(st) = &st {
        if !a.dry_run {
            check_backend(st, kind, &dir).map_err(classified)?;
        }
        if let Some(t) = &st.trial
            && !a.dry_run
        {
            return Err(classified(TuneError::TrialPending {
                profile: t.profile.clone(),
                interface: t.interface.clone(),
                deadline: t.deadline_utc.clone(),
            }));
        }
    }
    let mut r = if a.dry_run {
        // Read-only commands still run (the plan needs the real state); anything else would be printed.
        Runner::print_to(Box::new(std::io::stdout()))
    } else {
        Runner::execute()
    };
    let conf_text = conf.display().to_string();
    let opts = plan::Options {
        persist_to: persist_to.as_ref().map(|p| p.display().to_string()),
        sysctl_conf: Some(conf_text),
        at_boot: persist::values(&conf),
        ..Default::default()
    };
    let prep = apply::prepare(&mut r, backend, &profile, &a.interface, opts).map_err(classified)?;
    let port = prep.reading.port.clone();
    let ssh_env = std::env::var("SSH_CONNECTION").ok();
    let ssh = trial::ssh_check(&mut r, backend, &port, ssh_env.as_deref());
    let changes_interface = prep.plan.changes.iter().any(|c| c.scope == Scope::Interface);
    let try_secs = trial::trial_secs(a.try_secs, &ssh, changes_interface);

    let mut out = text::plan(&prep.plan, &profile.name);
    if let Some(line) = ssh_line(&ssh, &port.to_string(), try_secs, a.try_secs.is_some()) {
        out += &line;
        out.push('\n');
    }
    let persist_pending = match &persist_to {
        Some(p) => {
            let now = std::fs::read_to_string(p).unwrap_or_default();
            let block = persist::block(&prep.desired.sysctls);
            let pending = !now.contains(&block);
            if pending {
                out += &format!("--persist: writes the sysctls to {} (read at boot)\n", p.display());
            }
            pending
        }
        None => false,
    };
    print!("{out}");
    if prep.plan.is_empty() && !persist_pending {
        println!("Nothing to change: {port} already matches profile {}.", profile.name);
        return Ok(EXIT_OK);
    }
    if a.dry_run {
        println!("Dry run: nothing was changed.");
        return Ok(EXIT_OK);
    }
    if !a.yes {
        let n = prep.plan.changes.len();
        ask(&format!("Apply {n} change{} to {port}?", if n == 1 { "" } else { "s" })).map_err(classified)?;
    }
    let mut st = st.unwrap_or_else(|| TuneState::new(kind.as_str()));
    let done = match apply::execute(&mut r, backend, &dir, &mut st, &prep, persist_to.as_deref()) {
        Ok(d) => d,
        Err(f) => {
            print!("{}", text::failed(&f));
            let rolled = match &f.rollback {
                None => "; nothing was changed".to_string(),
                Some(rb) if rb.ok() => " and was rolled back to the snapshot".to_string(),
                Some(_) => format!(
                    ", and the rollback is incomplete (the snapshot is kept in {}; run `{}` once the cause is fixed)",
                    state::file(&dir).display(),
                    follow_up("revert", dir_flag)
                ),
            };
            return Err(anyhow!(
                "applying profile {} to {port} failed{rolled}: {}",
                profile.name,
                f.cause
            ));
        }
    };
    print!("{}", text::done(&done));
    if try_secs > 0 {
        let t = trial::arm(&mut st, &profile.name, &port.name, try_secs);
        state::save(&dir, &st).map_err(classified)?;
        let exe = std::env::current_exe().context("cannot find this program to start the --try watcher")?;
        match trial::spawn_watcher(&mut r, &exe, &dir, kind, &t.token) {
            Ok(pid) => {
                if let Some(tr) = st.trial.as_mut() {
                    tr.watcher_pid = Some(pid);
                }
                state::save(&dir, &st).map_err(classified)?;
            }
            Err(e) => {
                // Without a watcher nothing would revert: undo now rather than leave the trial unguarded.
                let rb = apply::restore(&mut r, backend, &mut st, Some(&port.name), true);
                st.trial = None;
                let _ = state::save(&dir, &st);
                print!("{}", text::restored(&rb, "Rolled back"));
                return Err(anyhow!(
                    "could not start the --try watcher, so the change was rolled back: {e}"
                ));
            }
        }
        println!(
            "Trial: this reverts at {} (in {try_secs} s) unless `{}` runs first.",
            t.deadline_utc,
            follow_up("confirm", dir_flag)
        );
    }
    println!("Applied profile {} to {port}.", profile.name);
    Ok(EXIT_OK)
}

fn revert(a: TuneRevertArgs) -> Result<ExitCode> {
    require_root("revert")?;
    let dir = state_dir(a.state_dir.as_ref());
    let _lock = state::lock(&dir).map_err(classified)?;
    let Some(mut st) = state::load(&dir).map_err(classified)? else {
        println!(
            "Nothing to revert: saf-net has no snapshot in {} (it has not changed this machine).",
            dir.display()
        );
        return Ok(EXIT_OK);
    };
    let recorded = BackendKind::parse(&st.backend).ok_or_else(|| {
        classified(TuneError::StateFormat {
            path: state::file(&dir),
            detail: format!("unknown backend '{}'", st.backend),
        })
    })?;
    let kind = a.backend.map_or(recorded, |b| kind(Some(b)));
    check_backend(&st, kind, &dir).map_err(classified)?;
    let mut r = Runner::execute();
    let results = apply::revert(&mut r, kind.backend(), &mut st, a.interface.as_deref()).map_err(classified)?;
    state::save(&dir, &st).map_err(classified)?;
    for res in &results {
        print!("{}", text::restored(res, "Reverted"));
    }
    if results.iter().all(apply::Restored::ok) {
        Ok(EXIT_OK)
    } else {
        Err(anyhow!(
            "revert is incomplete; the snapshot is kept in {} (fix the cause, then run `{}` again)",
            state::file(&dir).display(),
            follow_up("revert", a.state_dir.as_deref())
        ))
    }
}

fn confirm(a: TuneConfirmArgs) -> Result<ExitCode> {
    require_root("confirm")?;
    let dir = state_dir(a.state_dir.as_ref());
    let _lock = state::lock(&dir).map_err(classified)?;
    let mut st = state::load(&dir)
        .map_err(classified)?
        .unwrap_or_else(|| TuneState::new(BackendKind::native().as_str()));
    let t = trial::confirm(&mut st, &dir).map_err(classified)?;
    state::save(&dir, &st).map_err(classified)?;
    println!(
        "Confirmed: profile {} stays on {}. `{}` still returns to the snapshot.",
        t.profile,
        t.interface,
        follow_up("revert", a.state_dir.as_deref())
    );
    Ok(EXIT_OK)
}

fn watch(a: TuneWatchArgs) -> Result<ExitCode> {
    platform::ignore_hangup();
    let backend = kind(Some(a.backend)).backend();
    let mut r = Runner::execute();
    println!(
        "{} watching trial {} in {}",
        state::now_utc(),
        a.token,
        a.state_dir.display()
    );
    match trial::watch(&mut r, backend, &a.state_dir, &a.token, Duration::from_millis(200)).map_err(classified)? {
        WatchEnd::Ended => println!(
            "{} trial {} ended (confirmed or reverted by hand)",
            state::now_utc(),
            a.token
        ),
        WatchEnd::Reverted { trial, restored } => {
            println!(
                "{} trial {} of profile {} on {} was not confirmed by {}:",
                state::now_utc(),
                a.token,
                trial.profile,
                trial.interface,
                trial.deadline_utc
            );
            print!("{}", text::restored(&restored, "Reverted"));
        }
    }
    Ok(EXIT_OK)
}
