//! The one way `saf-net service` runs external programs (`launchctl`, `systemctl`): for real,
//! printed instead of run (dry run, `--print`), or recorded with canned answers (unit tests).
//!
//! Integration tests use the real mode with fake `launchctl`/`systemctl` scripts first on `PATH`,
//! so the macOS command sequences run on Linux too.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// An external command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    pub program: String,
    pub args: Vec<String>,
}

impl Cmd {
    pub fn new(program: impl Into<String>) -> Self {
        Cmd {
            program: program.into(),
            args: Vec::new(),
        }
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
}

/// A word quoted for a POSIX shell, only when it needs it.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Shell-quoted, so a printed command can be pasted into a shell.
impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
}

/// A command that could not be started at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("`{program}` was not found on PATH")]
    NotFound { program: String },
    #[error("`{cmd}` could not start: {source}")]
    Spawn { cmd: String, source: std::io::Error },
    #[error("could not print the dry run: {0}")]
    Print(std::io::Error),
}

enum Mode {
    /// Run each command and wait for it.
    Execute,
    /// Write each command, and each note, to the sink instead; every command "succeeds".
    Print(Box<dyn Write>),
    /// Answer from rules: the first rule whose prefix the command line starts with wins; commands that
    /// match no rule succeed with empty output.
    Record(Vec<(String, Output)>),
}

/// Runs, prints or records external commands; every command line is also kept in [`Runner::log`].
pub struct Runner {
    mode: Mode,
    log: Vec<String>,
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.mode {
            Mode::Execute => "execute",
            Mode::Print(_) => "print",
            Mode::Record(_) => "record",
        };
        f.debug_struct("Runner")
            .field("mode", &mode)
            .field("log", &self.log)
            .finish()
    }
}

impl Runner {
    /// Runs commands for real.
    pub fn execute() -> Self {
        Runner {
            mode: Mode::Execute,
            log: Vec::new(),
        }
    }

    /// Prints `would run: CMD` lines (and notes) to `sink` instead of running anything.
    pub fn print_to(sink: Box<dyn Write>) -> Self {
        Runner {
            mode: Mode::Print(sink),
            log: Vec::new(),
        }
    }

    /// Records commands; answers come from [`Runner::answer`] rules.
    pub fn record() -> Self {
        Runner {
            mode: Mode::Record(Vec::new()),
            log: Vec::new(),
        }
    }

    /// In record mode, answers commands whose line starts with `prefix` with `output`.
    pub fn answer(mut self, prefix: &str, output: Output) -> Self {
        if let Mode::Record(rules) = &mut self.mode {
            rules.push((prefix.to_string(), output));
        }
        self
    }

    /// True unless commands really run (dry run or recording).
    pub fn is_dry_run(&self) -> bool {
        !matches!(self.mode, Mode::Execute)
    }

    /// True when printing a dry run.
    pub fn is_printing(&self) -> bool {
        matches!(self.mode, Mode::Print(_))
    }

    /// Every command line seen so far, shell-quoted.
    pub fn log(&self) -> &[String] {
        &self.log
    }

    /// In print mode, writes `line` to the sink; otherwise does nothing.
    pub fn note(&mut self, line: &str) -> Result<(), RunError> {
        if let Mode::Print(sink) = &mut self.mode {
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

    /// Runs `cmd` to completion. A non-zero exit is an [`Output`], not an error; only a command
    /// that cannot start is an error.
    pub fn run(&mut self, cmd: &Cmd) -> Result<Output, RunError> {
        let line = cmd.to_string();
        self.log.push(line.clone());
        match &mut self.mode {
            Mode::Execute => run_real(cmd, &line),
            Mode::Print(sink) => {
                writeln!(sink, "would run: {line}").map_err(RunError::Print)?;
                Ok(Output::default())
            }
            Mode::Record(rules) => Ok(rules
                .iter()
                .find(|(prefix, _)| line.starts_with(prefix.as_str()))
                .map(|(_, out)| out.clone())
                .unwrap_or_default()),
        }
    }
}

fn run_real(cmd: &Cmd, line: &str) -> Result<Output, RunError> {
    let out = Command::new(&cmd.program)
        .args(&cmd.args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                RunError::NotFound {
                    program: cmd.program.clone(),
                }
            } else {
                RunError::Spawn {
                    cmd: line.to_string(),
                    source,
                }
            }
        })?;
    Ok(Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
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

    #[test]
    fn display_quotes_only_what_needs_it() {
        let c = Cmd::new("launchctl").args(["bootstrap", "gui/501", "/Users/a b/x.plist", "it's", ""]);
        assert_eq!(
            c.to_string(),
            r#"launchctl bootstrap gui/501 '/Users/a b/x.plist' 'it'\''s' ''"#
        );
    }

    #[test]
    fn record_answers_by_prefix_and_logs_everything() {
        let mut r = Runner::record()
            .answer("systemctl is-active", Output::ok("active\n"))
            .answer("systemctl", Output::failed(1, "nope"));
        assert_eq!(
            r.run(&Cmd::new("systemctl").arg("is-active")).unwrap().stdout,
            "active\n"
        );
        assert_eq!(r.run(&Cmd::new("systemctl").arg("enable")).unwrap().code, 1);
        assert!(r.run(&Cmd::new("launchctl").arg("print")).unwrap().success());
        assert_eq!(r.log(), ["systemctl is-active", "systemctl enable", "launchctl print"]);
        assert!(r.is_dry_run());
        r.check_available("no-such-program-anywhere").unwrap();
    }

    #[test]
    fn print_mode_writes_commands_and_notes_and_runs_nothing() {
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
        let sink = Shared::default();
        let mut r = Runner::print_to(Box::new(sink.clone()));
        r.note("would write /x").unwrap();
        let out = r.run(&Cmd::new("/definitely/not/here").arg("x y")).unwrap();
        assert!(out.success());
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text, "would write /x\nwould run: /definitely/not/here 'x y'\n");
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
        let err = r.run(&Cmd::new("saf-net-no-such-tool")).unwrap_err();
        assert!(matches!(err, RunError::NotFound { .. }), "{err}");
        assert!(r.check_available("sh").is_ok());
        assert!(r.check_available("saf-net-no-such-tool").is_err());
    }
}
