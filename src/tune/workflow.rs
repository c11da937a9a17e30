//! What each `saf-net tune` subcommand does, from its request to its end: where the snapshot lives, who may
//! change it, and `apply`'s steps (check, propose, ask, change, arm the trial). `cmd/tune.rs` only turns the
//! arguments into a request, picks the runner and prints; what a workflow says on the way, and the one
//! question `apply` asks, go through a [`Console`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::apply::{self, Done, Prepared};
use super::persist;
use super::plan::{self, Scope};
use super::settings::Port;
use super::show::{self, ShowReport};
use super::state::{self, TuneState};
use super::text;
use super::trial::{self, Ssh, WatchEnd};
use super::{Backend, BackendKind, TuneError};
use crate::platform;
use crate::profile::Profile;
use crate::runner::{Runner, shell_quote};

/// How often `watch` looks at its trial.
const WATCH_POLL: Duration = Duration::from_millis(200);

/// The person running a tune command: what they are told on the way, and their answer to a question.
pub trait Console {
    /// Shows `text` as it is (it carries its own line ends).
    fn say(&mut self, text: &str);
    /// Shows `prompt` and reads one line of answer; None when no answer comes (end of input).
    fn answer(&mut self, prompt: &str) -> Option<String>;
}

/// The folder that holds the snapshot, and the `--state-dir` that named it (if any) for follow-up hints.
#[derive(Debug, Clone)]
pub struct StateDir {
    pub path: PathBuf,
    flag: Option<PathBuf>,
}

impl StateDir {
    /// `--state-dir` if given, else the default folder for this user.
    pub fn new(flag: Option<PathBuf>) -> StateDir {
        let path = flag.clone().unwrap_or_else(|| state::default_dir(is_root()));
        StateDir { path, flag }
    }

    /// How to write a follow-up command so it reaches the same state: `sudo` when run through sudo,
    /// `--state-dir` when one was given.
    pub fn follow_up(&self, sub: &str) -> String {
        let sudo = if std::env::var_os("SUDO_USER").is_some() {
            "sudo "
        } else {
            ""
        };
        let dir = self
            .flag
            .as_ref()
            .map(|d| format!(" --state-dir {}", shell_quote(&d.display().to_string())))
            .unwrap_or_default();
        format!("{sudo}saf-net tune {sub}{dir}")
    }
}

fn is_root() -> bool {
    platform::effective_uid() == Some(0)
}

fn require_root(action: &'static str) -> Result<(), TuneError> {
    if is_root() {
        Ok(())
    } else {
        Err(TuneError::NotRoot { action })
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

/// `tune show`: the interface (or all of them), the sysctls and the snapshot, as they are now.
pub fn show(
    r: &mut Runner,
    kind: BackendKind,
    interface: Option<&str>,
    dir: &StateDir,
) -> Result<ShowReport, TuneError> {
    let backend = kind.backend();
    let conf = persist::conf_path(backend.default_sysctl_conf());
    // An unreadable snapshot does not stop `show`; apply and revert report it.
    let st = state::load(&dir.path).ok().flatten();
    let file = state::file(&dir.path);
    show::collect(r, backend, interface, &conf, st.as_ref().map(|s| (file.as_path(), s)))
}

/// What `tune apply` is asked to do.
#[derive(Debug, Clone)]
pub struct ApplyRequest {
    pub kind: BackendKind,
    /// The profile's name or path.
    pub profile: String,
    pub interface: String,
    /// Plan and print only; `r` then prints what it would change.
    pub dry_run: bool,
    /// Apply without asking.
    pub yes: bool,
    /// Also write the sysctls to the file read at boot.
    pub persist: bool,
    /// `--try SECS` as given.
    pub try_secs: Option<u64>,
    pub state: StateDir,
}

/// What `apply` proposes, and the text that shows it.
struct Proposal {
    prep: Prepared,
    /// The trial's length; 0 for none.
    try_secs: u64,
    /// `--persist` would change the sysctl file.
    persist_pending: bool,
    text: String,
}

/// `tune apply`: checks the profile, proposes the plan, asks, changes the interface and the sysctls (rolled back
/// on failure), and arms the `--try` trial.
pub fn apply(req: &ApplyRequest, r: &mut Runner, console: &mut dyn Console) -> Result<(), TuneError> {
    let backend = req.kind.backend();
    let profile = checked_profile(req, backend)?;
    let conf = persist::conf_path(backend.default_sysctl_conf());
    let persist_to = req.persist.then(|| conf.clone());
    // A real apply holds the lock from reading to the end, so nothing else changes the state meanwhile.
    let _lock = if req.dry_run {
        None
    } else {
        Some(state::lock(&req.state.path)?)
    };
    let st = snapshot(req)?;
    let proposal = propose(req, r, backend, &profile, &conf, persist_to.as_deref())?;
    console.say(&proposal.text);
    let port = proposal.prep.reading.port.clone();
    if proposal.prep.plan.is_empty() && !proposal.persist_pending {
        console.say(&format!(
            "Nothing to change: {port} already matches profile {}.\n",
            profile.name
        ));
        return Ok(());
    }
    if req.dry_run {
        console.say("Dry run: nothing was changed.\n");
        return Ok(());
    }
    if !req.yes {
        let n = proposal.prep.plan.changes.len();
        let s = if n == 1 { "" } else { "s" };
        agree(console, &format!("Apply {n} change{s} to {port}?"))?;
    }
    let mut st = st.unwrap_or_else(|| TuneState::new(req.kind.as_str()));
    let done = change(req, r, backend, &mut st, &proposal.prep, persist_to.as_deref(), console)?;
    console.say(&text::done(&done));
    if proposal.try_secs > 0 {
        start_trial(
            req,
            r,
            backend,
            &mut st,
            (&profile.name, &port),
            proposal.try_secs,
            console,
        )?;
    }
    console.say(&format!("Applied profile {} to {port}.\n", profile.name));
    Ok(())
}

/// The profile, checked against the backend before anything runs, and root unless it is a dry run.
fn checked_profile(req: &ApplyRequest, backend: &dyn Backend) -> Result<Profile, TuneError> {
    // Every profile problem is the user's input: one line, exit code 2, before anything runs.
    let profile = Profile::resolve(&req.profile)?;
    backend.desired(&profile)?;
    if !req.dry_run {
        require_root("apply")?;
    }
    Ok(profile)
}

/// The snapshot so far (a dry run reads it if it can). A real apply refuses another backend's snapshot and a
/// trial still running.
fn snapshot(req: &ApplyRequest) -> Result<Option<TuneState>, TuneError> {
    let dir = &req.state.path;
    if req.dry_run {
        return Ok(state::load(dir).ok().flatten());
    }
    let st = state::load(dir)?;
    if let Some(st) = &st {
        check_backend(st, req.kind, dir)?;
        if let Some(t) = &st.trial {
            return Err(TuneError::TrialPending {
                profile: t.profile.clone(),
                interface: t.interface.clone(),
                deadline: t.deadline_utc.clone(),
            });
        }
    }
    Ok(st)
}

/// The plan for the interface and the sysctls, the SSH session's verdict, the trial's length, and whether
/// `--persist` has work, with the text that shows them.
fn propose(
    req: &ApplyRequest,
    r: &mut Runner,
    backend: &dyn Backend,
    profile: &Profile,
    conf: &Path,
    persist_to: Option<&Path>,
) -> Result<Proposal, TuneError> {
    let opts = plan::Options {
        persist_to: persist_to.map(|p| p.display().to_string()),
        sysctl_conf: Some(conf.display().to_string()),
        at_boot: persist::values(conf),
        ..Default::default()
    };
    let prep = apply::prepare(r, backend, profile, &req.interface, opts)?;
    let port = &prep.reading.port;
    let ssh_env = std::env::var("SSH_CONNECTION").ok();
    let ssh = trial::ssh_check(r, backend, port, ssh_env.as_deref());
    let changes_interface = prep.plan.changes.iter().any(|c| c.scope == Scope::Interface);
    let try_secs = trial::trial_secs(req.try_secs, &ssh, changes_interface);
    let mut text = text::plan(&prep.plan, &profile.name);
    if let Some(line) = ssh_line(&ssh, &port.to_string(), try_secs, req.try_secs.is_some()) {
        text += &line;
        text.push('\n');
    }
    let persist_pending = persist_to.is_some_and(|p| persist_pending(p, &prep.desired.sysctls));
    if let Some(p) = persist_to.filter(|_| persist_pending) {
        text += &format!("--persist: writes the sysctls to {} (read at boot)\n", p.display());
    }
    Ok(Proposal {
        prep,
        try_secs,
        persist_pending,
        text,
    })
}

/// Whether the sysctl file at `path` lacks the block for `sysctls`.
fn persist_pending(path: &Path, sysctls: &BTreeMap<String, String>) -> bool {
    let now = std::fs::read_to_string(path).unwrap_or_default();
    !now.contains(&persist::block(sysctls))
}

/// What to say about the SSH session this command may run over.
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

/// Asks through the console; Ok when the answer is yes.
fn agree(console: &mut dyn Console, question: &str) -> Result<(), TuneError> {
    let Some(line) = console.answer(&format!("{question} [y/N] ")) else {
        return Err(TuneError::Declined(
            "no answer on stdin; add --yes to apply without asking".into(),
        ));
    };
    match line.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(TuneError::Declined(format!(
            "the answer was '{}', not yes",
            line.trim()
        ))),
    }
}

/// Carries out the plan. On failure it says what ran and what the rollback did, and the error says whether
/// anything is left to undo.
fn change(
    req: &ApplyRequest,
    r: &mut Runner,
    backend: &dyn Backend,
    st: &mut TuneState,
    prep: &Prepared,
    persist_to: Option<&Path>,
    console: &mut dyn Console,
) -> Result<Done, TuneError> {
    apply::execute(r, backend, &req.state.path, st, prep, persist_to).map_err(|f| {
        console.say(&text::failed(&f));
        let rolled = match &f.rollback {
            None => "; nothing was changed".to_string(),
            Some(rb) if rb.ok() => " and was rolled back to the snapshot".to_string(),
            Some(_) => format!(
                ", and the rollback is incomplete (the snapshot is kept in {}; run `{}` once the cause is fixed)",
                state::file(&req.state.path).display(),
                req.state.follow_up("revert")
            ),
        };
        TuneError::ApplyFailed {
            profile: prep.profile.clone(),
            port: prep.reading.port.to_string(),
            rolled,
            cause: Box::new(f.cause),
        }
    })
}

/// Arms the `--try` trial and starts its watcher; without a watcher nothing would revert, so the change is
/// rolled back at once.
fn start_trial(
    req: &ApplyRequest,
    r: &mut Runner,
    backend: &dyn Backend,
    st: &mut TuneState,
    (profile, port): (&str, &Port),
    secs: u64,
    console: &mut dyn Console,
) -> Result<(), TuneError> {
    let dir = &req.state.path;
    let t = trial::arm(st, profile, &port.name, secs);
    state::save(dir, st)?;
    let exe = std::env::current_exe().map_err(TuneError::WatcherExe)?;
    match trial::spawn_watcher(r, &exe, dir, req.kind, &t.token) {
        Ok(pid) => {
            if let Some(tr) = st.trial.as_mut() {
                tr.watcher_pid = Some(pid);
            }
            state::save(dir, st)?;
        }
        Err(e) => {
            let rb = apply::restore(r, backend, st, Some(&port.name), true);
            st.trial = None;
            let _ = state::save(dir, st);
            console.say(&text::restored(&rb, "Rolled back"));
            return Err(TuneError::WatcherStart(Box::new(e)));
        }
    }
    console.say(&format!(
        "Trial: this reverts at {} (in {secs} s) unless `{}` runs first.\n",
        t.deadline_utc,
        req.state.follow_up("confirm")
    ));
    Ok(())
}

/// What `tune revert` is asked to do.
#[derive(Debug, Clone)]
pub struct RevertRequest {
    /// `--backend`; None takes the snapshot's.
    pub kind: Option<BackendKind>,
    /// One interface; None restores everything in the snapshot.
    pub interface: Option<String>,
    pub state: StateDir,
}

/// `tune revert`: restores the snapshot (or one interface of it).
pub fn revert(req: &RevertRequest, r: &mut Runner, console: &mut dyn Console) -> Result<(), TuneError> {
    require_root("revert")?;
    let dir = &req.state.path;
    let _lock = state::lock(dir)?;
    let Some(mut st) = state::load(dir)? else {
        console.say(&format!(
            "Nothing to revert: saf-net has no snapshot in {} (it has not changed this machine).\n",
            dir.display()
        ));
        return Ok(());
    };
    let recorded = BackendKind::parse(&st.backend).ok_or_else(|| TuneError::StateFormat {
        path: state::file(dir),
        detail: format!("unknown backend '{}'", st.backend),
    })?;
    let kind = req.kind.unwrap_or(recorded);
    check_backend(&st, kind, dir)?;
    let results = apply::revert(r, kind.backend(), &mut st, req.interface.as_deref())?;
    state::save(dir, &st)?;
    for res in &results {
        console.say(&text::restored(res, "Reverted"));
    }
    if results.iter().all(apply::Restored::ok) {
        Ok(())
    } else {
        Err(TuneError::RevertIncomplete {
            path: state::file(dir),
            follow_up: req.state.follow_up("revert"),
        })
    }
}

/// `tune confirm`: keeps the change a `--try` trial made.
pub fn confirm(dir: &StateDir, console: &mut dyn Console) -> Result<(), TuneError> {
    require_root("confirm")?;
    let _lock = state::lock(&dir.path)?;
    let mut st = state::load(&dir.path)?.unwrap_or_else(|| TuneState::new(BackendKind::native().as_str()));
    let t = trial::confirm(&mut st, &dir.path)?;
    state::save(&dir.path, &st)?;
    console.say(&format!(
        "Confirmed: profile {} stays on {}. `{}` still returns to the snapshot.\n",
        t.profile,
        t.interface,
        dir.follow_up("revert")
    ));
    Ok(())
}

/// The hidden `tune watch` behind `--try`: waits for trial `token` in `dir`, and reverts it if it expires.
pub fn watch(
    r: &mut Runner,
    kind: BackendKind,
    dir: &Path,
    token: &str,
    console: &mut dyn Console,
) -> Result<(), TuneError> {
    platform::ignore_hangup();
    console.say(&format!(
        "{} watching trial {token} in {}\n",
        state::now_utc(),
        dir.display()
    ));
    match trial::watch(r, kind.backend(), dir, token, WATCH_POLL)? {
        WatchEnd::Ended => console.say(&format!(
            "{} trial {token} ended (confirmed or reverted by hand)\n",
            state::now_utc()
        )),
        WatchEnd::Reverted { trial, restored } => {
            console.say(&format!(
                "{} trial {token} of profile {} on {} was not confirmed by {}:\n",
                state::now_utc(),
                trial.profile,
                trial.interface,
                trial.deadline_utc
            ));
            console.say(&text::restored(&restored, "Reverted"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A console that records what it is told and gives canned answers.
    #[derive(Default)]
    struct Script {
        said: String,
        answers: Vec<&'static str>,
    }

    impl Console for Script {
        fn say(&mut self, text: &str) {
            self.said += text;
        }
        fn answer(&mut self, prompt: &str) -> Option<String> {
            self.said += prompt;
            (!self.answers.is_empty()).then(|| self.answers.remove(0).to_string())
        }
    }

    #[test]
    fn only_yes_agrees() {
        let mut c = Script {
            answers: vec!["Y\n", "yes\n", "no\n"],
            ..Script::default()
        };
        agree(&mut c, "Apply 1 change to en0?").unwrap();
        agree(&mut c, "Apply?").unwrap();
        let no = agree(&mut c, "Apply?").unwrap_err().to_string();
        assert_eq!(no, "not applied: the answer was 'no', not yes; nothing was changed");
        let none = agree(&mut c, "Apply?").unwrap_err().to_string();
        assert!(none.contains("no answer on stdin; add --yes"), "{none}");
        assert!(
            c.said.starts_with("Apply 1 change to en0? [y/N] Apply? [y/N] "),
            "{}",
            c.said
        );
    }

    #[test]
    fn follow_ups_name_the_state_dir_given() {
        let given = StateDir::new(Some(PathBuf::from("/tmp/tune state")));
        assert_eq!(given.path, PathBuf::from("/tmp/tune state"));
        assert!(
            given
                .follow_up("revert")
                .ends_with("saf-net tune revert --state-dir '/tmp/tune state'")
        );
        let default = StateDir::new(None);
        assert!(default.follow_up("confirm").ends_with("saf-net tune confirm"));
    }

    #[test]
    fn the_ssh_line_depends_on_whether_try_was_given() {
        let carried = Ssh::Carried("192.0.2.1".parse().unwrap());
        let auto = ssh_line(&carried, "en0", 60, false).unwrap();
        assert!(auto.contains("tried for 60 s"), "{auto}");
        assert_eq!(
            ssh_line(&carried, "en0", 0, true).unwrap(),
            "This SSH session (to 192.0.2.1) runs over en0."
        );
        let unknown = Ssh::Unknown("192.0.2.1".parse().unwrap(), "no route".into());
        assert!(ssh_line(&unknown, "en0", 0, false).unwrap().starts_with("WARNING"));
        assert_eq!(ssh_line(&unknown, "en0", 0, true), None);
    }
}
