//! Shared by `tests/docs.rs` and `tests/help.rs`: the command tree as clap defines it, and the bless
//! mechanism that compares a generated file with the one in the repository or, with `SAF_NET_BLESS=1`,
//! rewrites it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use clap::CommandFactory;

/// The environment variable that turns a comparison into a rewrite.
pub const BLESS_VAR: &str = "SAF_NET_BLESS";

/// The one command that regenerates every generated file these tests check.
pub const BLESS_COMMAND: &str = "SAF_NET_BLESS=1 cargo test --no-fail-fast --test docs --test help";

/// The repository's root folder.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// True when the run should rewrite generated files instead of comparing them.
pub fn blessing() -> bool {
    std::env::var_os(BLESS_VAR).is_some_and(|v| !v.is_empty() && v != "0")
}

/// saf-net's command tree as clap builds it for the binary (so `bin_name`s and usage lines are set).
pub fn built_command() -> clap::Command {
    let mut cmd = saf_net::cli::Cli::command();
    cmd.build();
    cmd
}

/// Every user-facing (sub)command as its words after `saf-net`, parents before children, in clap's order:
/// `[]`, `["server"]`, …, `["tune", "show"]`, …. clap's own `help` subcommand and hidden (internal)
/// subcommands are left out.
pub fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        out.push(prefix.to_vec());
        for sub in cmd.get_subcommands() {
            if sub.is_hide_set() || sub.get_name() == "help" {
                continue;
            }
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_string());
            walk(sub, &path, out);
        }
    }
    let mut out = Vec::new();
    walk(&built_command(), &[], &mut out);
    out
}

/// The (sub)command at `path` in a built command tree.
pub fn find<'a>(cmd: &'a clap::Command, path: &[String]) -> &'a clap::Command {
    path.iter().fold(cmd, |c, name| {
        c.find_subcommand(name)
            .unwrap_or_else(|| panic!("no subcommand {name} in {}", c.get_name()))
    })
}

/// The outcome of comparing one generated file with the repository's copy.
#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    Same,
    /// Differs or is missing; the text says how.
    Stale(String),
    /// Rewritten because blessing was on.
    Blessed,
}

/// Compares `expected` with the file at `path`, byte for byte; when blessing, writes it instead.
pub fn check_or_bless(path: &Path, expected: &str) -> Check {
    let actual = std::fs::read(path).ok();
    if actual.as_deref() == Some(expected.as_bytes()) {
        return Check::Same;
    }
    if blessing() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, expected).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        return Check::Blessed;
    }
    let shown = path.strip_prefix(root()).unwrap_or(path).display().to_string();
    Check::Stale(match actual {
        None => format!("{shown}: missing"),
        Some(bytes) => format!(
            "{shown}: {}",
            first_difference(&String::from_utf8_lossy(&bytes), expected)
        ),
    })
}

/// Where two texts first differ, as line number, the file's line and the generated one.
pub fn first_difference(file: &str, generated: &str) -> String {
    let (mut a, mut b) = (file.lines(), generated.lines());
    let mut n = 1;
    loop {
        match (a.next(), b.next()) {
            (Some(x), Some(y)) if x == y => n += 1,
            (None, None) => return "differs in line endings or the final newline".into(),
            (x, y) => {
                return format!(
                    "line {n} differs\n    file:      {}\n    generated: {}",
                    x.map_or("(end of file)".into(), |s| format!("{s:?}")),
                    y.map_or("(end of file)".into(), |s| format!("{s:?}")),
                );
            }
        }
    }
}
