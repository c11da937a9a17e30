//! `--help` of every subcommand, held byte for byte in `tests/snapshots/help/*.txt`, so that a flag, a
//! default or a help line that changes shows up in review as a diff of these files.
//!
//! The list of subcommands comes from clap itself: a new subcommand without a snapshot fails, and so does a
//! snapshot whose subcommand is gone. The help is that of the real binary, at a pinned width of
//! [`COLUMNS`] (clap's `wrap_help` reads the terminal's width, else `$COLUMNS`; the binary runs with no
//! terminal on any of its standard streams), with an empty environment so that no `SAF_NET_*` value shows
//! up in an `[env: …]` note.
//!
//! Refresh after an intended change: `SAF_NET_BLESS=1 cargo test --no-fail-fast --test docs --test help`, then read the
//! diff of `tests/snapshots/help/` before committing it.

mod cli_support;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use cli_support::{BLESS_COMMAND, Check};

const BIN: &str = env!("CARGO_BIN_EXE_saf-net");

/// The width the help is wrapped at.
const COLUMNS: &str = "100";

fn snapshot_dir() -> PathBuf {
    cli_support::root().join("tests/snapshots/help")
}

/// `saf-net.txt`, `saf-net-client.txt`, `saf-net-tune-show.txt`, …
fn snapshot_name(path: &[String]) -> String {
    let mut words = vec!["saf-net".to_string()];
    words.extend(path.iter().cloned());
    format!("{}.txt", words.join("-"))
}

/// `saf-net PATH... --help` as the binary prints it, at the pinned width, with nothing from this environment.
fn help_of(path: &[String]) -> String {
    let out = Command::new(BIN)
        .args(path)
        .arg("--help")
        .env_clear()
        .env("COLUMNS", COLUMNS)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run saf-net");
    let shown = format!("saf-net {} --help", path.join(" "));
    assert!(
        out.status.success(),
        "{shown} exited {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{shown} wrote to stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("{shown}: not UTF-8: {e}"))
}

#[test]
fn every_subcommand_help_matches_its_snapshot() {
    let paths = cli_support::command_paths();
    let mut problems = Vec::new();
    let mut expected_files = Vec::new();
    for path in &paths {
        let name = snapshot_name(path);
        let help = help_of(path);
        if let Check::Stale(why) = cli_support::check_or_bless(&snapshot_dir().join(&name), &help) {
            problems.push(why);
        }
        expected_files.push(name);
    }
    // A snapshot without a subcommand: the subcommand was removed or renamed.
    for entry in std::fs::read_dir(snapshot_dir()).into_iter().flatten() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !expected_files.contains(&name) {
            if cli_support::blessing() {
                std::fs::remove_file(entry.path()).unwrap();
            } else {
                problems.push(format!("tests/snapshots/help/{name}: no such subcommand any more"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "--help differs from its snapshot for {} of {} commands:\n  {}\n\nIf the change is intended, refresh the \
         snapshots with\n    {BLESS_COMMAND}\nand review `git diff tests/snapshots/help` before committing.",
        problems.len(),
        paths.len(),
        problems.join("\n  ")
    );
}

/// The walk finds the nested commands the issue names, and only real ones.
#[test]
fn the_command_list_comes_from_clap_and_includes_nested_commands() {
    let names: Vec<String> = cli_support::command_paths().iter().map(|p| snapshot_name(p)).collect();
    for must in [
        "saf-net.txt",
        "saf-net-client.txt",
        "saf-net-route.txt",
        "saf-net-service-install.txt",
        "saf-net-lab-exec.txt",
        "saf-net-tune-show.txt",
        "saf-net-tune-confirm.txt",
    ] {
        assert!(names.iter().any(|n| n == must), "{must} not among {names:?}");
    }
    // clap's generated `help` and the internal, hidden `tune watch` have no snapshot.
    assert!(
        !names
            .iter()
            .any(|n| n.ends_with("-help.txt") || n == "saf-net-tune-watch.txt"),
        "{names:?}"
    );
    // Every name appears once.
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len(), "{names:?}");
}

/// The pin holds: a narrower `COLUMNS` wraps differently, so the snapshots really depend on it, and the same
/// width twice gives the same bytes.
#[test]
fn help_width_is_pinned_by_columns() {
    let path = vec!["client".to_string()];
    assert_eq!(help_of(&path), help_of(&path));
    let narrow = Command::new(BIN)
        .args(["client", "--help"])
        .env_clear()
        .env("COLUMNS", "60")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let narrow = String::from_utf8(narrow.stdout).unwrap();
    assert!(narrow.lines().all(|l| l.chars().count() <= 60), "{narrow}");
    assert_ne!(narrow, help_of(&path));
    assert!(help_of(&path).lines().all(|l| l.chars().count() <= 100));
}
