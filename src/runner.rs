//! The one way saf-net runs external programs (`ip`, `tc`, `ethtool`, `sysctl`, `networksetup`,
//! `launchctl`, `systemctl`, ...): for real, printed instead of run (dry run), or recorded with canned
//! answers (unit tests). `lab`, `service` and `tune` all use it.
//!
//! A command marked [`Cmd::read_only`] changes nothing, so a printing runner still runs it: a dry
//! run can read the machine's real state and print only the commands that would change it.
//! Integration tests use the executing runner with fake programs first on `PATH`.

use std::fmt;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// An external command line, with extra environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// The command only reads: a printing runner runs it anyway, and it is not a change.
    pub read_only: bool,
}

impl Cmd {
    pub fn new(program: impl Into<String>) -> Self {
        Cmd {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            read_only: false,
        }
    }

    /// A command from whitespace-separated words (no quoting; for fixed command lines).
    pub fn words(line: &str) -> Self {
        let mut it = line.split_whitespace();
        let mut c = Cmd::new(it.next().unwrap_or_default());
        c.args = it.map(String::from).collect();
        c
    }

    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn args<I, S>(mut self, a: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(a.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    /// Marks the command as one that changes nothing.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }
}

pub use crate::shell::shell_quote;

/// Environment variables whose values a printed command never shows (keys reach error lines and logs).
pub const SECRET_ENV: &[&str] = &[crate::auth::PSK_ENV];

/// Shell-quoted, so a printed command can be pasted into a shell; secrets read `(secret)`.
impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, v) in &self.env {
            let v = if SECRET_ENV.contains(&k.as_str()) {
                "(secret)".to_string()
            } else {
                shell_quote(v)
            };
            write!(f, "{k}={v} ")?;
        }
        f.write_str(&shell_quote(&self.program))?;
        for a in &self.args {
            write!(f, " {}", shell_quote(a))?;
        }
        Ok(())
    }
}

/// What a finished command said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// The exit code; -1 when it was killed by a signal.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn ok(stdout: impl Into<String>) -> Self {
        Output {
            code: 0,
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }

    pub fn failed(code: i32, stderr: impl Into<String>) -> Self {
        Output {
            code,
            stdout: String::new(),
            stderr: stderr.into(),
        }
    }

    pub fn success(&self) -> bool {
        self.code == 0
    }

    /// The first non-empty line of stderr, else of stdout: what to show when it failed.
    pub fn reason(&self) -> String {
        let first = |s: &str| s.lines().map(str::trim).find(|l| !l.is_empty()).map(String::from);
        first(&self.stderr)
            .or_else(|| first(&self.stdout))
            .unwrap_or_else(|| format!("exit code {}", self.code))
    }

    fn status(&self) -> String {
        if self.code == -1 {
            "killed by a signal".into()
        } else {
            format!("exit status: {}", self.code)
        }
    }
}

/// A command that could not be started, or (from [`Runner::output`]) failed; carries the command line.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("`{program}` was not found on PATH")]
    NotFound { program: String },
    #[error("`{cmd}` could not start: {cause}")]
    Spawn { cmd: String, cause: std::io::Error },
    #[error("`{cmd}` failed ({status}): {stderr}")]
    Failed {
        cmd: String,
        status: String,
        stderr: String,
    },
    #[error("could not print the dry run: {0}")]
    Print(std::io::Error),
}

enum Mode {
    /// Run each command and wait for it.
    Execute,
    /// Write each changing command, and each note, to the sink instead; every such command "succeeds".
    /// Read-only commands still run. `prefix` goes before each command ("would run: ", or nothing
    /// for a script that can be pasted into a shell).
    Print { sink: Box<dyn Write>, prefix: &'static str },
    /// Answer from rules: the first rule whose prefix the command line starts with wins; commands that
    /// match no rule succeed with empty output.
    Record(Vec<(String, Output)>),
}

/// Runs, prints or records external commands; every command line is also kept in [`Runner::log`],
/// and every one not marked read-only in [`Runner::changes`].
pub struct Runner {
    mode: Mode,
    log: Vec<String>,
    changes: Vec<String>,
    next_pid: u32,
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.mode {
            Mode::Execute => "execute",
            Mode::Print { .. } => "print",
            Mode::Record(_) => "record",
        };
        f.debug_struct("Runner")
            .field("mode", &mode)
            .field("log", &self.log)
            .finish()
    }
}

impl Runner {
    fn with(mode: Mode) -> Self {
        Runner {
            mode,
            log: Vec::new(),
            changes: Vec::new(),
            next_pid: 4242,
        }
    }

    /// Runs commands for real.
    pub fn execute() -> Self {
        Runner::with(Mode::Execute)
    }

    /// Prints `would run: CMD` lines (and notes) to `sink` instead of running anything that changes.
    pub fn print_to(sink: Box<dyn Write>) -> Self {
        Runner::with(Mode::Print {
            sink,
            prefix: "would run: ",
        })
    }

    /// Prints bare command lines to `sink`, a script that can be pasted into a shell.
    pub fn print_script(sink: Box<dyn Write>) -> Self {
        Runner::with(Mode::Print { sink, prefix: "" })
    }

    /// Records commands; answers come from [`Runner::answer`] rules.
    pub fn record() -> Self {
        Runner::with(Mode::Record(Vec::new()))
    }

    /// In record mode, answers commands whose line starts with `prefix` with `output`.
    pub fn answer(mut self, prefix: &str, output: Output) -> Self {
        if let Mode::Record(rules) = &mut self.mode {
            rules.push((prefix.to_string(), output));
        }
        self
    }

    /// In record mode, answers commands starting with `prefix` with `stdout` and exit code 0.
    pub fn ok(self, prefix: &str, stdout: &str) -> Self {
        self.answer(prefix, Output::ok(stdout))
    }

    /// In record mode, makes commands starting with `prefix` exit 1 with `stderr`.
    pub fn fail(self, prefix: &str, stderr: &str) -> Self {
        self.answer(prefix, Output::failed(1, stderr))
    }

    /// True unless commands really run (dry run or recording).
    pub fn is_dry_run(&self) -> bool {
        !matches!(self.mode, Mode::Execute)
    }

    /// True when printing a dry run.
    pub fn is_printing(&self) -> bool {
        matches!(self.mode, Mode::Print { .. })
    }

    /// Every command line seen so far, shell-quoted.
    pub fn log(&self) -> &[String] {
        &self.log
    }

    /// The command lines seen so far that were not marked read-only.
    pub fn changes(&self) -> &[String] {
        &self.changes
    }

    /// In print mode, writes `line` to the sink; otherwise does nothing.
    pub fn note(&mut self, line: &str) -> Result<(), RunError> {
        if let Mode::Print { sink, .. } = &mut self.mode {
            writeln!(sink, "{line}").map_err(RunError::Print)?;
        }
        Ok(())
    }

    /// Fails with [`RunError::NotFound`] if `program` would not be found when run for real.
    pub fn check_available(&self, program: &str) -> Result<(), RunError> {
        if self.is_dry_run() || find_program(program).is_some() {
            Ok(())
        } else {
            Err(RunError::NotFound {
                program: program.to_string(),
            })
        }
    }

    fn remember(&mut self, cmd: &Cmd) -> String {
        let line = cmd.to_string();
        self.log.push(line.clone());
        if !cmd.read_only {
            self.changes.push(line.clone());
        }
        line
    }

    /// Runs `cmd` to completion. A non-zero exit is an [`Output`], not an error; only a command
    /// that cannot start is an error.
    pub fn run(&mut self, cmd: &Cmd) -> Result<Output, RunError> {
        let line = self.remember(cmd);
        match &mut self.mode {
            Mode::Execute => run_real(cmd, &line),
            Mode::Print { .. } if cmd.read_only => run_real(cmd, &line),
            Mode::Print { sink, prefix } => {
                writeln!(sink, "{prefix}{line}").map_err(RunError::Print)?;
                Ok(Output::default())
            }
            Mode::Record(rules) => Ok(rules
                .iter()
                .find(|(p, _)| line.starts_with(p.as_str()))
                .map(|(_, out)| out.clone())
                .unwrap_or_default()),
        }
    }

    /// Runs `cmd` to completion and returns its stdout; a non-zero exit is [`RunError::Failed`]
    /// carrying stderr.
    pub fn output(&mut self, cmd: &Cmd) -> Result<String, RunError> {
        let out = self.run(cmd)?;
        if !out.success() {
            let lines = |t: &str| -> Vec<String> {
                t.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect()
            };
            // Some tools (ethtool, networksetup) put their error on stdout.
            let mut said = lines(&out.stderr);
            if said.is_empty() {
                said = lines(&out.stdout);
            }
            return Err(RunError::Failed {
                cmd: cmd.to_string(),
                status: out.status(),
                stderr: if said.is_empty() {
                    "no output".into()
                } else {
                    said.join("; ")
                },
            });
        }
        Ok(out.stdout)
    }

    /// Runs with this process's stdin, stdout and stderr and returns its exit code. For real, this
    /// process is replaced by the command (exec), so signals such as Ctrl-C and the exit code reach
    /// the command and its caller directly; it returns only if the command cannot start.
    pub fn replace(&mut self, cmd: &Cmd) -> Result<i32, RunError> {
        if self.is_dry_run() {
            return self.run(cmd).map(|o| o.code);
        }
        self.remember(cmd);
        Err(spawn_error(cmd, exec(cmd)))
    }

    /// Starts a long-lived process in its own process group, stdout and stderr appended to `log`;
    /// returns its pid without waiting.
    pub fn spawn_daemon(&mut self, cmd: &Cmd, log: &Path) -> Result<u32, RunError> {
        match &mut self.mode {
            Mode::Execute => {
                self.remember(cmd);
                spawn_detached(cmd, log)
            }
            Mode::Print { sink, prefix } => {
                writeln!(
                    sink,
                    "{prefix}{cmd} >>{} 2>&1 &",
                    shell_quote(&log.display().to_string())
                )
                .map_err(RunError::Print)?;
                self.remember(cmd);
                Ok(0)
            }
            Mode::Record(_) => {
                self.run(cmd)?;
                self.next_pid += 1;
                Ok(self.next_pid)
            }
        }
    }
}

fn spawn_error(cmd: &Cmd, source: std::io::Error) -> RunError {
    if source.kind() == std::io::ErrorKind::NotFound && !cmd.program.contains('/') {
        RunError::NotFound {
            program: cmd.program.clone(),
        }
    } else {
        RunError::Spawn {
            cmd: cmd.to_string(),
            cause: source,
        }
    }
}

fn run_real(cmd: &Cmd, _line: &str) -> Result<Output, RunError> {
    let out = cmd
        .command()
        .stdin(Stdio::null())
        .output()
        .map_err(|e| spawn_error(cmd, e))?;
    Ok(Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

#[cfg(unix)]
fn exec(cmd: &Cmd) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    cmd.command().exec()
}

#[cfg(not(unix))]
fn exec(cmd: &Cmd) -> std::io::Error {
    match cmd.command().status() {
        Ok(s) => std::process::exit(s.code().unwrap_or(1)),
        Err(e) => e,
    }
}

fn spawn_detached(cmd: &Cmd, log: &Path) -> Result<u32, RunError> {
    let open = || File::options().create(true).append(true).open(log);
    let out = open().map_err(|e| spawn_error(cmd, e))?;
    let err = open().map_err(|e| spawn_error(cmd, e))?;
    let mut c = cmd.command();
    c.stdin(Stdio::null()).stdout(out).stderr(err);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        c.process_group(0);
    }
    let child = c.spawn().map_err(|e| spawn_error(cmd, e))?;
    Ok(child.id())
}

/// Where `program` is: itself if it names a path, else the first executable file of that name on PATH.
pub fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = Path::new(program);
        return is_executable(p).then(|| p.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn display_quotes_only_what_needs_it() {
        let c = Cmd::new("launchctl").args(["bootstrap", "gui/501", "/Users/a b/x.plist", "it's", ""]);
        assert_eq!(
            c.to_string(),
            r#"launchctl bootstrap gui/501 '/Users/a b/x.plist' 'it'\''s' ''"#
        );
        let c = Cmd::new("ip")
            .args(["netns", "exec", "x", "sh", "-c", "echo it's"])
            .env("SAF_NET_PROFILE", "1gbe");
        assert_eq!(
            c.to_string(),
            r"SAF_NET_PROFILE=1gbe ip netns exec x sh -c 'echo it'\''s'"
        );
        assert_eq!(Cmd::words("tc qdisc  show").args, ["qdisc", "show"]);
        let keyed = Cmd::new("true").env("SAF_NET_PSK", "0123456789abcdef0123");
        assert_eq!(keyed.to_string(), "SAF_NET_PSK=(secret) true");
    }

    #[test]
    fn record_answers_by_prefix_and_logs_everything() {
        let mut r = Runner::record()
            .answer("systemctl is-active", Output::ok("active\n"))
            .answer("systemctl", Output::failed(1, "nope"))
            .ok("ip netns list", "a\n")
            .fail("ip netns del", "busy");
        assert_eq!(
            r.run(&Cmd::new("systemctl").arg("is-active")).unwrap().stdout,
            "active\n"
        );
        assert_eq!(r.run(&Cmd::new("systemctl").arg("enable")).unwrap().code, 1);
        assert!(r.run(&Cmd::new("launchctl").arg("print")).unwrap().success());
        assert_eq!(r.output(&Cmd::words("ip netns list").read_only()).unwrap(), "a\n");
        let e = r.output(&Cmd::words("ip netns del x")).unwrap_err();
        assert_eq!(e.to_string(), "`ip netns del x` failed (exit status: 1): busy");
        assert_eq!(
            r.log(),
            [
                "systemctl is-active",
                "systemctl enable",
                "launchctl print",
                "ip netns list",
                "ip netns del x"
            ]
        );
        assert_eq!(r.changes().len(), 4, "the read-only listing is no change");
        assert!(r.is_dry_run());
        r.check_available("no-such-program-anywhere").unwrap();
        assert_eq!(r.replace(&Cmd::words("true")).unwrap(), 0);
        assert_eq!(r.spawn_daemon(&Cmd::words("sleep 1"), Path::new("/x")).unwrap(), 4243);
    }

    #[test]
    fn print_mode_writes_changes_and_notes_and_runs_only_reads() {
        let sink = Shared::default();
        let mut r = Runner::print_to(Box::new(sink.clone()));
        r.note("would write /x").unwrap();
        let out = r.run(&Cmd::new("/definitely/not/here").arg("x y")).unwrap();
        assert!(out.success());
        let read = r.run(&Cmd::new("echo").arg("real").read_only()).unwrap();
        assert_eq!(read.stdout, "real\n", "a read-only command runs for real");
        assert_eq!(sink.text(), "would write /x\nwould run: /definitely/not/here 'x y'\n");
        assert_eq!(r.changes(), ["/definitely/not/here 'x y'"]);

        let sink = Shared::default();
        let mut r = Runner::print_script(Box::new(sink.clone()));
        r.output(&Cmd::words("ip link add a type veth")).unwrap();
        r.spawn_daemon(&Cmd::words("saf-net server"), Path::new("/l og"))
            .unwrap();
        assert_eq!(
            sink.text(),
            "ip link add a type veth\nsaf-net server >>'/l og' 2>&1 &\n"
        );
    }

    #[test]
    fn execute_reports_exit_codes_and_missing_programs() {
        let mut r = Runner::execute();
        let out = r
            .run(&Cmd::new("sh").args(["-c", "echo hi; echo oops >&2; exit 3"]))
            .unwrap();
        assert_eq!(
            (out.code, out.stdout.as_str(), out.reason()),
            (3, "hi\n", "oops".into())
        );
        assert_eq!(r.output(&Cmd::words("echo hi")).unwrap(), "hi\n");
        let e = r
            .output(&Cmd::new("sh").args(["-c", "echo bad >&2; exit 3"]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "`sh -c 'echo bad >&2; exit 3'` failed (exit status: 3): bad"
        );
        let e = r
            .output(&Cmd::new("sh").args(["-c", "echo No data available; exit 75"]))
            .unwrap_err();
        assert!(
            e.to_string().ends_with("failed (exit status: 75): No data available"),
            "{e}"
        );
        let err = r.run(&Cmd::new("saf-net-no-such-tool")).unwrap_err();
        assert!(matches!(err, RunError::NotFound { .. }), "{err}");
        let e = r.output(&Cmd::new("/no/such/program")).unwrap_err();
        assert!(e.to_string().starts_with("`/no/such/program` could not start"), "{e}");
        let e = r.replace(&Cmd::new("/no/such/program")).unwrap_err();
        assert!(e.to_string().starts_with("`/no/such/program` could not start"), "{e}");
        assert!(r.check_available("sh").is_ok());
        assert!(r.check_available("saf-net-no-such-tool").is_err());
    }
}
