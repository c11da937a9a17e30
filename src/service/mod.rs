//! `saf-net service`: `saf-net server` as a service the OS starts by itself — a launchd job on macOS,
//! a systemd unit on Linux.
//!
//! Everything here is plain code that runs on any OS: choosing the file's place ([`Target`]), writing
//! the file ([`render`]), and the steps that install or remove it ([`install_steps`],
//! [`uninstall_steps`]) as data. [`apply`] carries the steps out; every external command goes
//! through [`runner::Runner`], which executes, prints (dry run) or records. The only OS call is the
//! effective uid, in `platform`. [`workflow`] puts these together for each subcommand (`cmd/service.rs`
//! parses and prints), [`text`] is how the results read.

pub mod launchd;
pub mod systemd;
pub mod text;
pub mod workflow;

pub use crate::runner;

use std::fmt;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use runner::{Cmd, RunError, Runner};

use crate::auth::AuthError;
use crate::classify::Classify;

/// Environment variable naming a directory that every file path is placed under (like `DESTDIR`
/// in packaging), so tests can install a system-wide service without touching the real system.
/// The file's contents and the service manager commands still name the real paths.
pub const DESTDIR_ENV: &str = "SAF_NET_SERVICE_DESTDIR";

/// Which service manager's file to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A launchd property list (macOS).
    Launchd,
    /// A systemd unit (Linux).
    Systemd,
}

impl Format {
    /// This OS's service manager, if saf-net knows it.
    pub fn native() -> Option<Format> {
        if cfg!(target_os = "macos") {
            Some(Format::Launchd)
        } else if cfg!(target_os = "linux") {
            Some(Format::Systemd)
        } else {
            None
        }
    }

    /// The program that controls this service manager.
    pub fn tool(self) -> &'static str {
        match self {
            Format::Launchd => "launchctl",
            Format::Systemd => "systemctl",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Launchd => "launchd",
            Format::Systemd => "systemd",
        })
    }
}

/// System-wide (starts at boot, needs root) or per-user (starts at login).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    System,
    User,
}

impl Scope {
    /// The scope asked for, else system-wide for root and per-user for everyone else.
    pub fn resolve(asked: Option<Scope>, uid: Option<u32>) -> Scope {
        asked.unwrap_or(if uid == Some(0) { Scope::System } else { Scope::User })
    }

    pub fn other(self) -> Scope {
        match self {
            Scope::System => Scope::User,
            Scope::User => Scope::System,
        }
    }
}

/// Facts about this process's surroundings that decide where files go. [`Host::current`] reads
/// them; tests make them up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Host {
    /// Effective user id (None where the OS has none).
    pub uid: Option<u32>,
    pub home: Option<PathBuf>,
    /// `$XDG_CONFIG_HOME` when set to an absolute path (systemd user units live under it).
    pub xdg_config_home: Option<PathBuf>,
    /// `$SAF_NET_SERVICE_DESTDIR`: a directory every file path is placed under.
    pub destdir: Option<PathBuf>,
}

impl Host {
    pub fn current() -> Host {
        let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
        Host {
            uid: crate::platform::effective_uid(),
            home: std::env::var_os("HOME").and_then(absolute).or_else(dirs::home_dir),
            xdg_config_home: std::env::var_os("XDG_CONFIG_HOME").and_then(absolute),
            destdir: std::env::var_os(DESTDIR_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        }
    }

    /// Where a real path is on disk: itself, or under the DESTDIR.
    pub fn on_disk(&self, path: &Path) -> PathBuf {
        match &self.destdir {
            Some(d) => d.join(path.strip_prefix("/").unwrap_or(path)),
            None => path.to_path_buf(),
        }
    }

    fn home(&self) -> Result<&Path, ServiceError> {
        self.home.as_deref().ok_or(ServiceError::NoHome)
    }
}

/// One service: its format, its scope and where its files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub format: Format,
    pub scope: Scope,
    /// The plist or unit file (the real path, before any DESTDIR).
    pub file: PathBuf,
    /// Where the server's output goes: a file for launchd, None for systemd (the journal).
    pub log: Option<PathBuf>,
    /// The user id, for launchd's per-user domain `gui/UID`.
    pub uid: u32,
}

impl Target {
    pub fn new(format: Format, scope: Scope, host: &Host) -> Result<Target, ServiceError> {
        let uid = match (format, scope, host.uid) {
            (_, Scope::System, _) => 0,
            (_, Scope::User, Some(uid)) => uid,
            (Format::Systemd, Scope::User, None) => 0,
            (Format::Launchd, Scope::User, None) => return Err(ServiceError::NoUid),
        };
        let (file, log) = match (format, scope) {
            (Format::Launchd, Scope::System) => (launchd::system_file(), Some(launchd::system_log())),
            (Format::Launchd, Scope::User) => {
                let home = host.home()?;
                (launchd::user_file(home), Some(launchd::user_log(home)))
            }
            (Format::Systemd, Scope::System) => (systemd::system_file(), None),
            (Format::Systemd, Scope::User) => {
                let config = match &host.xdg_config_home {
                    Some(c) => c.clone(),
                    None => host.home()?.join(".config"),
                };
                (systemd::user_file(&config), None)
            }
        };
        Ok(Target {
            format,
            scope,
            file,
            log,
            uid,
        })
    }

    /// What kind of service this is, in the platform's words.
    pub fn kind(&self) -> &'static str {
        match (self.format, self.scope) {
            (Format::Launchd, Scope::System) => "LaunchDaemon",
            (Format::Launchd, Scope::User) => "LaunchAgent",
            (Format::Systemd, Scope::System) => "systemd system service",
            (Format::Systemd, Scope::User) => "systemd user service",
        }
    }

    /// When it starts, and as whom.
    pub fn when(&self) -> &'static str {
        match (self.format, self.scope) {
            (Format::Launchd, Scope::System) => "starts at boot, runs as root",
            (Format::Launchd, Scope::User) => "starts at login, runs as you",
            (Format::Systemd, Scope::System) => "starts at boot",
            (Format::Systemd, Scope::User) => "starts at login, runs as you",
        }
    }

    /// How to read the server's output.
    pub fn logs_hint(&self) -> String {
        match (&self.log, self.scope) {
            (Some(log), _) => format!("tail -f {}", runner::shell_quote(&log.display().to_string())),
            (None, Scope::System) => format!("journalctl -u {} -f", systemd::UNIT),
            (None, Scope::User) => format!("journalctl --user -u {} -f", systemd::UNIT),
        }
    }
}

/// What the service runs: `EXE server [--psk-file KEY] SERVER_ARGS...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Absolute path of the saf-net program.
    pub exe: PathBuf,
    /// Absolute path of the pre-shared key file, passed to the server as `--psk-file`.
    pub psk_file: Option<PathBuf>,
    /// Further `saf-net server` flags.
    pub server_args: Vec<String>,
}

impl Spec {
    /// The command line, checked: UTF-8 paths, absolute, no control characters (a plist cannot hold
    /// them and a unit file would need them escaped).
    pub fn argv(&self) -> Result<Vec<String>, ServiceError> {
        let path = |p: &Path, what: &str| -> Result<String, ServiceError> {
            if !p.is_absolute() {
                return Err(ServiceError::BadArgument(format!(
                    "{what} {} is not an absolute path",
                    p.display()
                )));
            }
            p.to_str()
                .map(String::from)
                .ok_or_else(|| ServiceError::BadArgument(format!("{what} {} is not valid UTF-8", p.display())))
        };
        let mut argv = vec![path(&self.exe, "the program")?, "server".to_string()];
        if let Some(key) = &self.psk_file {
            argv.push("--psk-file".into());
            argv.push(path(key, "the key file")?);
        }
        argv.extend(self.server_args.iter().cloned());
        if let Some(bad) = argv.iter().find(|a| a.chars().any(char::is_control)) {
            return Err(ServiceError::BadArgument(format!(
                "{bad:?} contains a control character, which a service file cannot hold"
            )));
        }
        Ok(argv)
    }
}

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

/// Why a service operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("key file {path}: {problem}")]
    KeyFile { path: PathBuf, problem: String },
    #[error("{0}")]
    BadArgument(String),
    #[error(
        "cannot write {path}: permission denied. A system-wide service needs root: run it with sudo, or leave out sudo and --system for a per-user service"
    )]
    NotPermitted { path: PathBuf },
    #[error("cannot {action} {path}: {cause}")]
    Io {
        action: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("`{tool}` was not found on PATH: {format} services need {needs} (--print shows the file on any system)")]
    ToolMissing {
        tool: &'static str,
        format: Format,
        needs: &'static str,
    },
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("`{cmd}` failed: {reason}{hint}")]
    Failed { cmd: String, reason: String, hint: String },
    #[error("cannot find the home directory: set HOME")]
    NoHome,
    #[error("cannot tell this process's user id, which a per-user launchd service needs")]
    NoUid,
    #[error("this system has neither launchd nor systemd; pick one with --format (and --print)")]
    NoServiceManager,
    #[error(transparent)]
    Psk(#[from] AuthError),
    #[error("cannot tell where this saf-net program is")]
    NoExe(#[source] std::io::Error),
    #[error("cannot resolve this program's path {}", path.display())]
    ExePath {
        path: PathBuf,
        #[source]
        cause: std::io::Error,
    },
}

/// A mistake in what was asked (exit code 2), rather than a failure to do it.
impl Classify for ServiceError {
    fn is_usage(&self) -> bool {
        matches!(
            self,
            ServiceError::KeyFile { .. }
                | ServiceError::BadArgument(_)
                | ServiceError::NoServiceManager
                | ServiceError::Psk(_)
        )
    }
}

impl ServiceError {
    fn io(action: &'static str, path: &Path, scope: Scope, source: std::io::Error) -> ServiceError {
        let denied = matches!(
            source.kind(),
            ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem
        );
        if denied && scope == Scope::System {
            ServiceError::NotPermitted {
                path: path.to_path_buf(),
            }
        } else {
            ServiceError::Io {
                action,
                path: path.to_path_buf(),
                cause: source,
            }
        }
    }
}

/// Checks a pre-shared key file the service will read: it must exist, be a regular file and not be
/// readable by everyone. Returns its absolute path.
pub fn check_key_file(path: &Path) -> Result<PathBuf, ServiceError> {
    let problem = |problem: String| ServiceError::KeyFile {
        path: path.to_path_buf(),
        problem,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Err(problem("does not exist".into())),
        Err(e) => return Err(problem(format!("cannot be read: {e}"))),
    };
    if !meta.is_file() {
        return Err(problem("is not a regular file".into()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o004 != 0 {
            return Err(problem(format!(
                "is readable by everyone (mode {mode:03o}); make it private first: chmod 600 {}",
                runner::shell_quote(&path.display().to_string())
            )));
        }
    }
    std::fs::canonicalize(path).map_err(|e| problem(format!("cannot be resolved: {e}")))
}

/// The plist or unit file for `spec`.
pub fn render(target: &Target, spec: &Spec) -> Result<String, ServiceError> {
    let argv = spec.argv()?;
    Ok(match target.format {
        Format::Launchd => launchd::render(target, &argv),
        Format::Systemd => systemd::render(target, spec, &argv),
    })
}

/// Writes the file (`contents`, from [`render`]), then loads and starts the service, replacing one
/// already running.
pub fn install_steps(target: &Target, contents: &str) -> Vec<Step> {
    match target.format {
        Format::Launchd => launchd::install_steps(target, contents),
        Format::Systemd => systemd::install_steps(target, contents),
    }
}

/// Stops the service and removes its file (`installed`: whether the file exists).
pub fn uninstall_steps(target: &Target, installed: bool) -> Vec<Step> {
    match target.format {
        Format::Launchd => launchd::uninstall_steps(target, installed),
        Format::Systemd => systemd::uninstall_steps(target, installed),
    }
}

/// Whether the target's file exists (under the DESTDIR, if any).
pub fn is_installed(target: &Target, host: &Host) -> bool {
    host.on_disk(&target.file).exists()
}

/// How long to wait before the one retry of a step marked `retry`.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// Carries out `steps` in order, stopping at the first failure. Commands go through `runner`; when it
/// prints (dry run), file steps are only described (as runner notes) and nothing is written. A
/// recording runner still writes files, so tests see them (under a DESTDIR).
pub fn apply(steps: &[Step], target: &Target, host: &Host, runner: &mut Runner) -> Result<(), ServiceError> {
    // Nothing is touched when the service manager is not there.
    for step in steps {
        if let Step::Run(r) = step {
            runner.check_available(&r.cmd.program).map_err(|e| match e {
                RunError::NotFound { .. } => tool_missing(target.format),
                e => e.into(),
            })?;
        }
    }
    for step in steps {
        match step {
            Step::MkDir(dir) => {
                if runner.is_printing() {
                    if !host.on_disk(dir).is_dir() {
                        runner.note(&format!("would create {}", dir.display()))?;
                    }
                    continue;
                }
                let d = host.on_disk(dir);
                std::fs::create_dir_all(&d).map_err(|e| ServiceError::io("create", &d, target.scope, e))?;
            }
            Step::Write { path, contents } => {
                if runner.is_printing() {
                    runner.note(&format!("would write {}", path.display()))?;
                    continue;
                }
                write_whole(&host.on_disk(path), contents, target.scope)?;
            }
            Step::Remove(path) => {
                if runner.is_printing() {
                    runner.note(&format!("would remove {}", path.display()))?;
                    continue;
                }
                let p = host.on_disk(path);
                match std::fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(ServiceError::io("remove", &p, target.scope, e)),
                }
            }
            Step::Run(r) => run_step(r, target, runner)?,
        }
    }
    Ok(())
}

fn tool_missing(format: Format) -> ServiceError {
    ServiceError::ToolMissing {
        tool: format.tool(),
        format,
        needs: match format {
            Format::Launchd => "macOS",
            Format::Systemd => "a Linux system run by systemd",
        },
    }
}

fn run_step(r: &Run, target: &Target, runner: &mut Runner) -> Result<(), ServiceError> {
    let spawn = |e: RunError| match e {
        RunError::NotFound { .. } => tool_missing(target.format),
        e => e.into(),
    };
    let mut out = runner.run(&r.cmd).map_err(spawn)?;
    if !out.success() && r.retry && !runner.is_dry_run() {
        std::thread::sleep(RETRY_PAUSE);
        out = runner.run(&r.cmd).map_err(spawn)?;
    }
    if out.success() || r.may_fail {
        return Ok(());
    }
    Err(ServiceError::Failed {
        cmd: r.cmd.to_string(),
        reason: out.reason(),
        hint: r.hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default(),
    })
}

/// Writes `path` whole: a temporary file beside it, mode 0644, then a rename.
fn write_whole(path: &Path, contents: &str, scope: Scope) -> Result<(), ServiceError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("service");
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        std::fs::write(&tmp, contents)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))?;
        }
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        ServiceError::io("write", path, scope, e)
    })
}

/// What `status` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// The file exists.
    pub installed: bool,
    /// The service manager knows the service (launchd: loaded; systemd: enabled).
    pub loaded: bool,
    /// The server process is up.
    pub running: bool,
    /// The service manager's word for its state ("running", "active", "failed", ...).
    pub state: Option<String>,
    pub pid: Option<u32>,
    /// launchd's "last exit code", when it has one.
    pub last_exit: Option<String>,
}

/// Asks the service manager about the target.
pub fn status(target: &Target, host: &Host, runner: &mut Runner) -> Result<Status, ServiceError> {
    runner.check_available(target.format.tool()).map_err(|e| match e {
        RunError::NotFound { .. } => tool_missing(target.format),
        e => e.into(),
    })?;
    let mut st = match target.format {
        Format::Launchd => launchd::query(target, runner),
        Format::Systemd => systemd::query(target, runner),
    }
    .map_err(|e| match e {
        RunError::NotFound { .. } => tool_missing(target.format),
        e => e.into(),
    })?;
    st.installed = is_installed(target, host);
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Host {
        Host {
            uid: Some(501),
            home: Some("/Users/ann".into()),
            xdg_config_home: None,
            destdir: None,
        }
    }

    #[test]
    fn scope_follows_root_unless_asked() {
        assert_eq!(Scope::resolve(None, Some(0)), Scope::System);
        assert_eq!(Scope::resolve(None, Some(501)), Scope::User);
        assert_eq!(Scope::resolve(None, None), Scope::User);
        assert_eq!(Scope::resolve(Some(Scope::User), Some(0)), Scope::User);
        assert_eq!(Scope::resolve(Some(Scope::System), Some(501)), Scope::System);
    }

    #[test]
    fn targets_land_where_each_manager_looks() {
        let h = host();
        let t = |f, s| Target::new(f, s, &h).unwrap();
        let d = t(Format::Launchd, Scope::System);
        assert_eq!(d.file, Path::new("/Library/LaunchDaemons/net.saf-net.server.plist"));
        assert_eq!(d.log.as_deref(), Some(Path::new("/var/log/saf-net.log")));
        assert_eq!((d.kind(), d.uid), ("LaunchDaemon", 0));
        let a = t(Format::Launchd, Scope::User);
        assert_eq!(
            a.file,
            Path::new("/Users/ann/Library/LaunchAgents/net.saf-net.server.plist")
        );
        assert_eq!(a.log.as_deref(), Some(Path::new("/Users/ann/Library/Logs/saf-net.log")));
        assert_eq!((a.kind(), a.uid), ("LaunchAgent", 501));
        assert_eq!(
            t(Format::Systemd, Scope::System).file,
            Path::new("/etc/systemd/system/saf-net.service")
        );
        assert_eq!(
            t(Format::Systemd, Scope::User).file,
            Path::new("/Users/ann/.config/systemd/user/saf-net.service")
        );
        let xdg = Host {
            xdg_config_home: Some("/cfg".into()),
            ..host()
        };
        assert_eq!(
            Target::new(Format::Systemd, Scope::User, &xdg).unwrap().file,
            Path::new("/cfg/systemd/user/saf-net.service")
        );
        let homeless = Host { home: None, ..host() };
        assert!(matches!(
            Target::new(Format::Launchd, Scope::User, &homeless),
            Err(ServiceError::NoHome)
        ));
        assert!(Target::new(Format::Launchd, Scope::System, &homeless).is_ok());
    }

    #[test]
    fn destdir_prefixes_paths_on_disk_only() {
        let h = Host {
            destdir: Some("/tmp/stage".into()),
            ..host()
        };
        assert_eq!(
            h.on_disk(Path::new("/etc/systemd/system/saf-net.service")),
            Path::new("/tmp/stage/etc/systemd/system/saf-net.service")
        );
        assert_eq!(host().on_disk(Path::new("/etc/x")), Path::new("/etc/x"));
    }

    #[test]
    fn argv_puts_the_key_first_and_refuses_what_a_file_cannot_hold() {
        let mut spec = Spec {
            exe: "/usr/local/bin/saf-net".into(),
            psk_file: Some("/etc/saf-net/psk".into()),
            server_args: vec!["-p".into(), "5301".into()],
        };
        assert_eq!(
            spec.argv().unwrap(),
            [
                "/usr/local/bin/saf-net",
                "server",
                "--psk-file",
                "/etc/saf-net/psk",
                "-p",
                "5301"
            ]
        );
        spec.server_args.push("a\nb".into());
        assert!(matches!(spec.argv(), Err(ServiceError::BadArgument(_))));
        spec.server_args.pop();
        spec.exe = "saf-net".into();
        assert!(spec.argv().unwrap_err().to_string().contains("not an absolute path"));
    }

    #[cfg(unix)]
    #[test]
    fn key_files_must_exist_and_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("psk");
        let err = check_key_file(&key).unwrap_err();
        assert!(err.is_usage());
        assert!(err.to_string().ends_with("psk: does not exist"), "{err}");
        std::fs::write(&key, "0123456789abcdef0123").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = check_key_file(&key).unwrap_err().to_string();
        assert!(
            err.contains("readable by everyone (mode 644)") && err.contains("chmod 600"),
            "{err}"
        );
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(check_key_file(&key).unwrap(), std::fs::canonicalize(&key).unwrap());
        assert!(
            check_key_file(dir.path())
                .unwrap_err()
                .to_string()
                .contains("not a regular file")
        );
    }

    #[test]
    fn permission_denied_on_a_system_path_says_to_use_sudo() {
        let denied = || std::io::Error::from(ErrorKind::PermissionDenied);
        let e = ServiceError::io("write", Path::new("/etc/x"), Scope::System, denied());
        assert!(e.to_string().contains("run it with sudo"), "{e}");
        assert!(e.to_string().contains("per-user service"), "{e}");
        let e = ServiceError::io("write", Path::new("/home/a/x"), Scope::User, denied());
        assert!(matches!(e, ServiceError::Io { .. }), "{e}");
    }

    #[test]
    fn apply_writes_files_and_runs_commands_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let h = Host {
            destdir: Some(dir.path().to_path_buf()),
            ..host()
        };
        let t = Target::new(Format::Systemd, Scope::System, &h).unwrap();
        let steps = install_steps(&t, "[Unit]\n");
        let mut r = Runner::record();
        apply(&steps, &t, &h, &mut r).unwrap();
        let on_disk = dir.path().join("etc/systemd/system/saf-net.service");
        assert_eq!(std::fs::read_to_string(&on_disk).unwrap(), "[Unit]\n");
        assert_eq!(
            r.log(),
            [
                "systemctl daemon-reload",
                "systemctl enable saf-net.service",
                "systemctl restart saf-net.service"
            ]
        );
        assert!(is_installed(&t, &h));
        let mut r = Runner::record();
        apply(&uninstall_steps(&t, true), &t, &h, &mut r).unwrap();
        assert!(!on_disk.exists());
        assert!(!is_installed(&t, &h));
    }

    #[test]
    fn a_failing_command_stops_and_names_itself_unless_it_may_fail() {
        let h = host();
        let t = Target::new(Format::Launchd, Scope::System, &h).unwrap();
        let steps = vec![
            Run::may_fail(Cmd::new("launchctl").arg("bootout")),
            Run::must(Cmd::new("launchctl").arg("bootstrap")),
            Run::must(Cmd::new("launchctl").arg("never")),
        ];
        let mut r = Runner::record()
            .answer(
                "launchctl bootout",
                runner::Output::failed(3, "Boot-out failed: 3: No such process"),
            )
            .answer(
                "launchctl bootstrap",
                runner::Output::failed(5, "Bootstrap failed: 5: Input/output error"),
            );
        let err = apply(&steps, &t, &h, &mut r).unwrap_err().to_string();
        assert_eq!(
            err,
            "`launchctl bootstrap` failed: Bootstrap failed: 5: Input/output error"
        );
        assert_eq!(r.log(), ["launchctl bootout", "launchctl bootstrap"]);
    }

    #[test]
    fn a_missing_tool_is_found_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let h = Host {
            destdir: Some(dir.path().to_path_buf()),
            ..host()
        };
        let t = Target::new(Format::Launchd, Scope::System, &h).unwrap();
        let mut steps = install_steps(&t, "<plist/>");
        for s in &mut steps {
            if let Step::Run(r) = s {
                r.cmd.program = "saf-net-no-such-launchctl".into();
            }
        }
        let err = apply(&steps, &t, &h, &mut Runner::execute()).unwrap_err();
        assert!(matches!(err, ServiceError::ToolMissing { .. }), "{err}");
        assert!(err.to_string().contains("launchd services need macOS"), "{err}");
        assert!(!is_installed(&t, &h));
    }
}
