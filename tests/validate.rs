//! `saf-net validate` on loopback: a figure the profile's wire cannot carry fails the "within the wire" check
//! for the N-stream run as for the 1-stream run; the run is still complete; progress goes to stderr.

mod common;

use std::process::Output;

use common::text;
use saf_net::config::ServerConfig;
use serde_json::Value;

fn validate(port: u16, dir: &std::path::Path, extra: &[&str]) -> Output {
    let mut c = common::saf_net();
    c.env("SAF_NET_HISTORY", dir.join("history.csv"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env_remove("SAF_NET_PROFILE")
        .env_remove("SAF_NET_PROFILES")
        .args(["validate", "127.0.0.1", "--profile", "1gbe", "-t", "1", "-P", "2"])
        .args(["-p", &port.to_string(), "--max-rtt-p99-us", "100000"])
        .args(extra);
    c.output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_is_beyond_a_1gbe_wire_for_both_runs_and_the_fail_is_a_complete_run() {
    let srv = common::server(ServerConfig::default()).await;
    let port = srv.addr.port();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || validate(port, &d, &[]))
        .await
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(4), "{stdout}{stderr}");
    // Loopback carries far more than 1 Gbit/s: both goodput runs are above the 1gbe roof.
    assert!(stdout.contains("FAIL  goodput, 1 stream, within the wire"), "{stdout}");
    assert!(stdout.contains("FAIL  goodput, 2 streams, within the wire"), "{stdout}");
    assert!(stdout.contains("PASS  goodput, 2 streams "), "{stdout}");
    assert!(stdout.ends_with("Verdict: FAIL\n"), "{stdout}");
    // Progress: one line per phase, on stderr, each ending with its figure and time.
    let steps: Vec<&str> = stderr.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(steps.len(), 4, "{stderr}");
    assert!(
        steps[0].starts_with("[1/4] path MTU, both ways … 65535.0 bytes ("),
        "{stderr}"
    );
    assert!(steps[2].starts_with("[3/4] goodput, 2 streams (1 s) … "), "{stderr}");
    assert!(steps[3].contains("UDP round trips (200 probes) … p99 "), "{stderr}");

    // The history row: complete (every phase measured), the failed checks named.
    let csv = std::fs::read_to_string(dir.path().join("history.csv")).unwrap();
    let mut rd = csv::Reader::from_reader(csv.as_bytes());
    let header = rd.headers().unwrap().clone();
    let row = rd.records().next().unwrap().unwrap();
    let col = |name: &str| {
        row.get(header.iter().position(|h| h == name).unwrap())
            .unwrap()
            .to_string()
    };
    assert_eq!(col("kind"), "validate");
    assert_eq!(col("complete"), "true", "a FAIL is a complete run with a FAIL verdict");
    assert!(
        col("diagnoses").contains("goodput, 2 streams, within the wire"),
        "{}",
        col("diagnoses")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_says_complete_and_not_passed() {
    let srv = common::server(ServerConfig::default()).await;
    let port = srv.addr.port();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || validate(port, &d, &["-J", "--no-history"]))
        .await
        .unwrap();
    let stdout = text(&out.stdout);
    let json = stdout.as_str();
    let doc: Value = serde_json::from_str(json).expect("stdout is one JSON document");
    assert_eq!(doc["pass"], false, "{json}");
    assert_eq!(doc["complete"], true, "{json}");
    assert_eq!(doc["checks"].as_array().unwrap().len(), 6);
    assert!(!dir.path().join("history.csv").exists());
}

#[test]
fn connect_timeout_is_taken_and_a_bad_one_is_one_line_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = validate(9, dir.path(), &["--connect-timeout", "0", "--no-history"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--connect-timeout"), "{err}");
}

/// A phase that fails ends its progress line, so the error is a line of its own.
#[test]
fn a_failed_phase_ends_its_line_before_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let out = validate(port, dir.path(), &["--connect-timeout", "2", "--no-history"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines[0], "[1/4] path MTU, both ways … failed", "{err}");
    assert!(lines[1].starts_with("error: connection to 127.0.0.1:"), "{err}");
}
