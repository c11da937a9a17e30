//! The one way the lab runs external programs (`ip`, `tc`, `ethtool`, `kill`): really, printed
//! (dry run), or recorded with canned answers (tests).

use std::fmt;
use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};

/// An external command line, with extra environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl Cmd {
    pub fn new(program: impl Into<String>) -> Self {
        Cmd {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
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

    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }
}

fn quote(word: &str) -> String {
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
        for (k, v) in &self.env {
            write!(f, "{}={} ", k, quote(v))?;
        }
        f.write_str(&quote(&self.program))?;
        for a in &self.args {
            write!(f, " {}", quote(a))?;
        }
        Ok(())
    }
}

/// A command that could not be run or failed; carries the command line.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("`{cmd}` could not start: {source}")]
    Spawn { cmd: String, source: std::io::Error },
    #[error("`{cmd}` failed ({status}): {stderr}")]
    Failed {
        cmd: String,
        status: String,
        stderr: String,
    },
}

/// Runs external commands.
pub trait Runner {
    /// Runs to completion and returns stdout; a non-zero exit is an error carrying stderr.
    fn output(&mut self, cmd: &Cmd) -> Result<String, CommandError>;
    /// Runs with this process's stdin, stdout and stderr and returns its exit code. The real runner
    /// replaces this process with the command (exec), so signals such as Ctrl-C and the exit code
    /// reach the command and its caller directly; it returns only if the command cannot start.
    fn replace(&mut self, cmd: &Cmd) -> Result<i32, CommandError>;
    /// Starts a long-lived process in its own process group, stdout and stderr appended to `log`;
    /// returns its pid without waiting.
    fn spawn_daemon(&mut self, cmd: &Cmd, log: &Path) -> Result<u32, CommandError>;
}

fn spawn_err(cmd: &Cmd) -> impl FnOnce(std::io::Error) -> CommandError + '_ {
    move |source| CommandError::Spawn {
        cmd: cmd.to_string(),
        source,
    }
}

/// Runs commands for real.
#[derive(Debug, Default)]
pub struct System;

impl Runner for System {
    fn output(&mut self, cmd: &Cmd) -> Result<String, CommandError> {
        let out = cmd.command().stdin(Stdio::null()).output().map_err(spawn_err(cmd))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let stderr: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
            return Err(CommandError::Failed {
                cmd: cmd.to_string(),
                status: out.status.to_string(),
                stderr: stderr.join("; "),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn replace(&mut self, cmd: &Cmd) -> Result<i32, CommandError> {
        use std::os::unix::process::CommandExt;
        Err(spawn_err(cmd)(cmd.command().exec()))
    }

    fn spawn_daemon(&mut self, cmd: &Cmd, log: &Path) -> Result<u32, CommandError> {
        use std::os::unix::process::CommandExt;
        let open = || File::options().create(true).append(true).open(log);
        let out = open().map_err(spawn_err(cmd))?;
        let err = open().map_err(spawn_err(cmd))?;
        let child = cmd
            .command()
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(spawn_err(cmd))?;
        Ok(child.id())
    }
}

/// Prints each command instead of running it; every command "succeeds" with empty output.
#[derive(Debug, Default)]
pub struct DryRun {
    pub printed: Vec<String>,
}

impl Runner for DryRun {
    fn output(&mut self, cmd: &Cmd) -> Result<String, CommandError> {
        println!("{cmd}");
        self.printed.push(cmd.to_string());
        Ok(String::new())
    }

    fn replace(&mut self, cmd: &Cmd) -> Result<i32, CommandError> {
        self.output(cmd).map(|_| 0)
    }

    fn spawn_daemon(&mut self, cmd: &Cmd, log: &Path) -> Result<u32, CommandError> {
        println!("{cmd} >>{} 2>&1 &", quote(&log.display().to_string()));
        self.printed.push(cmd.to_string());
        Ok(0)
    }
}

/// Records command lines and answers from a script: the first rule whose prefix matches wins;
/// commands matching no rule succeed with empty output.
#[derive(Debug, Default)]
pub struct Recorder {
    pub log: Vec<String>,
    rules: Vec<(String, Result<String, String>)>,
    pub next_pid: u32,
}

impl Recorder {
    pub fn new() -> Self {
        Recorder {
            next_pid: 4242,
            ..Default::default()
        }
    }

    /// Answers commands starting with `prefix` with `stdout`.
    pub fn answer(mut self, prefix: &str, stdout: &str) -> Self {
        self.rules.push((prefix.into(), Ok(stdout.into())));
        self
    }

    /// Makes commands starting with `prefix` fail with `stderr`.
    pub fn fail(mut self, prefix: &str, stderr: &str) -> Self {
        self.rules.push((prefix.into(), Err(stderr.into())));
        self
    }
}

impl Runner for Recorder {
    fn output(&mut self, cmd: &Cmd) -> Result<String, CommandError> {
        let line = cmd.to_string();
        self.log.push(line.clone());
        match self.rules.iter().find(|(p, _)| line.starts_with(p.as_str())) {
            Some((_, Ok(out))) => Ok(out.clone()),
            Some((_, Err(e))) => Err(CommandError::Failed {
                cmd: line,
                status: "exit status: 1".into(),
                stderr: e.clone(),
            }),
            None => Ok(String::new()),
        }
    }

    fn replace(&mut self, cmd: &Cmd) -> Result<i32, CommandError> {
        self.output(cmd).map(|_| 0)
    }

    fn spawn_daemon(&mut self, cmd: &Cmd, _log: &Path) -> Result<u32, CommandError> {
        self.output(cmd)?;
        self.next_pid += 1;
        Ok(self.next_pid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_only_what_needs_it() {
        let c = Cmd::new("ip")
            .args(["netns", "exec", "x", "sh", "-c", "echo it's"])
            .env("SAF_NET_PROFILE", "1gbe");
        assert_eq!(
            c.to_string(),
            r"SAF_NET_PROFILE=1gbe ip netns exec x sh -c 'echo it'\''s'"
        );
        assert_eq!(Cmd::words("tc qdisc  show").args, ["qdisc", "show"]);
    }

    #[test]
    fn system_runner_reports_failures_with_the_command_line() {
        let mut r = System;
        assert_eq!(r.output(&Cmd::words("echo hi")).unwrap(), "hi\n");
        let e = r
            .output(&Cmd::new("sh").args(["-c", "echo bad >&2; exit 3"]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "`sh -c 'echo bad >&2; exit 3'` failed (exit status: 3): bad"
        );
        let e = r.output(&Cmd::new("/no/such/program")).unwrap_err();
        assert!(e.to_string().starts_with("`/no/such/program` could not start"), "{e}");
        let e = r.replace(&Cmd::new("/no/such/program")).unwrap_err();
        assert!(e.to_string().starts_with("`/no/such/program` could not start"), "{e}");
    }

    #[test]
    fn recorder_answers_by_prefix() {
        let mut r = Recorder::new()
            .answer("ip netns list", "a\n")
            .fail("ip netns del", "busy");
        assert_eq!(r.output(&Cmd::words("ip netns list")).unwrap(), "a\n");
        assert!(r.output(&Cmd::words("ip netns del x")).is_err());
        assert_eq!(r.output(&Cmd::words("tc qdisc")).unwrap(), "");
        assert_eq!(r.log.len(), 3);
    }
}
