//! The iperf3 drop-in through the real binary: iperf3's command lines (in the Prometheus exporter's order, and
//! through a link named `iperf3`) against a saf-net server and a real `iperf3 -s` on loopback, iperf3's text, -J, exit codes, the
//! drop-in server, --logfile, and one line for what is not supported.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{BIN, KillOnDrop, free_port, isolate, logged_server, text};

/// A saf-net server on a free port (its own protocol), killed when dropped.
fn server(dir: &Path) -> (KillOnDrop, String) {
    let port = free_port().to_string();
    let mut cmd = Command::new(BIN);
    isolate(&mut cmd).args(["server", "-p", &port]);
    (logged_server(cmd, &dir.join("server.log"), "listening on"), port)
}

/// A link named `iperf3` to the binary under test.
fn iperf3_link(dir: &Path) -> PathBuf {
    let link = dir.join("iperf3");
    std::os::unix::fs::symlink(BIN, &link).unwrap();
    link
}

fn run(program: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(program);
    isolate(&mut cmd).args(args).output().unwrap()
}

/// What the Prometheus iperf3 exporter reads: end.sum_sent and end.sum_received seconds and bytes, retransmits.
fn exporter_fields(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert!(doc.get("error").is_none(), "{doc}");
    for sum in ["sum_sent", "sum_received"] {
        let s = &doc["end"][sum];
        let seconds = s["seconds"].as_f64().unwrap_or_else(|| panic!("{sum}.seconds: {s}"));
        assert!((1.9..3.0).contains(&seconds), "{sum}.seconds {seconds}");
        assert!(
            s["bytes"].as_u64().is_some_and(|b| b > 0),
            "{sum}.bytes is a positive integer: {s}"
        );
        assert!(s["bits_per_second"].as_f64().is_some_and(|b| b > 0.0), "{s}");
    }
    assert!(
        doc["end"]["sum_sent"]["retransmits"].as_u64().is_some(),
        "{}",
        doc["end"]["sum_sent"]
    );
}

#[test]
fn the_exporters_command_line_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = server(dir.path());
    // Exactly the exporter's order: iperf3 -J -t N -c HOST -p PORT.
    let out = run(Path::new(BIN), &["-J", "-t", "2", "-c", "127.0.0.1", "-p", &port]);
    exporter_fields(&out);
    let link = iperf3_link(dir.path());
    exporter_fields(&run(&link, &["-J", "-t", "2", "-c", "127.0.0.1", "-p", &port]));
}

/// The drop-in speaks iperf3's own protocol, so the exporter's command line works against a real `iperf3 -s`.
#[test]
fn the_exporters_command_line_runs_against_a_real_iperf3_server() {
    let Some(bin) = ["/usr/bin/iperf3", "/usr/local/bin/iperf3"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        eprintln!(
            "SKIPPED the_exporters_command_line_runs_against_a_real_iperf3_server: no iperf3 (apt-get install iperf3)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let mut cmd = Command::new(bin);
    cmd.args(["-s", "--forceflush", "-B", "127.0.0.1", "-p", &port]);
    let _server = logged_server(cmd, &dir.path().join("iperf3.log"), "Server listening on");
    let link = iperf3_link(dir.path());
    let out = run(&link, &["-J", "-t", "2", "-c", "127.0.0.1", "-p", &port]);
    exporter_fields(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["saf_net"]["peer"], "iperf3", "{doc}");
}

/// `-B` on the client: every connection and datagram leaves from that address (127.0.0.2 is this host's on Linux).
#[test]
fn the_client_tests_from_the_bound_address() {
    if !cfg!(target_os = "linux") {
        eprintln!("SKIPPED the_client_tests_from_the_bound_address: 127.0.0.2 is a local address on Linux only");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = server(dir.path());
    let dropin = ["-J", "-t", "1", "-c", "127.0.0.1", "-B", "127.0.0.2", "-p", &port];
    let native = [
        "client",
        "127.0.0.1",
        "-B",
        "127.0.0.2",
        "-p",
        &port,
        "-t",
        "1",
        "-J",
        "--no-history",
    ];
    for (base, extra) in [
        (&dropin[..], &[][..]),
        (&dropin[..], &["-u", "-b", "20M"][..]),
        (&native[..], &["--latency"][..]),
        (&native[..], &["-u", "-b", "20M", "-R"][..]),
    ] {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let out = run(Path::new(BIN), &args);
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {out:?}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let connected = doc["start"]["connected"].as_array().unwrap();
        assert!(!connected.is_empty(), "{doc}");
        for c in connected {
            assert_eq!(c["local_host"], "127.0.0.2", "{extra:?}: {c}");
        }
    }
    let out = run(
        Path::new(BIN),
        &["-c", "127.0.0.1", "-B", "192.0.2.1", "-p", &port, "-t", "1"],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = text(&out.stderr);
    assert!(err.contains("cannot test from 192.0.2.1 (-B)"), "{err}");
}

#[test]
fn text_output_is_iperf3s() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = server(dir.path());
    let link = iperf3_link(dir.path());
    let out = run(
        &link,
        &["-c", "127.0.0.1", "-p", &port, "-t", "1", "-P", "2", "-b", "50M"],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        stdout.starts_with(&format!("Connecting to host 127.0.0.1, port {port}\n")),
        "{stdout}"
    );
    assert!(
        stdout.contains("[ ID] Interval           Transfer     Bitrate         Retr  Cwnd\n"),
        "{stdout}"
    );
    let sender = stdout.lines().filter(|l| l.ends_with("sender")).count();
    let receiver = stdout.lines().filter(|l| l.ends_with("receiver")).count();
    assert_eq!((sender, receiver), (3, 3), "two streams and [SUM]: {stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("[SUM]   0.00-1.") && l.contains("Mbits/sec")),
        "{stdout}"
    );
    assert!(stdout.ends_with("\niperf Done.\n"), "{stdout}");
}

#[test]
fn an_unsupported_flag_is_one_line_and_exit_1() {
    let out = run(Path::new(BIN), &["-c", "127.0.0.1", "-t", "1", "--tos", "4"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("iperf3: parameter error - --tos is not supported"),
        "{err}"
    );
}

#[test]
fn a_refused_connection_is_exit_1_in_text_and_json() {
    let port = free_port().to_string();
    let out = run(Path::new(BIN), &["-c", "127.0.0.1", "-p", &port, "-t", "1"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = text(&out.stderr);
    assert!(err.starts_with("iperf3: error - ") && err.lines().count() == 1, "{err}");
    let out = run(Path::new(BIN), &["-J", "-c", "127.0.0.1", "-p", &port, "-t", "1"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["error"].as_str().is_some_and(|e| !e.is_empty()), "{doc}");
}

#[test]
fn logfile_takes_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = server(dir.path());
    let log = dir.path().join("client.log");
    let log_arg = log.to_str().unwrap();
    let args = [
        "-c",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        "1",
        "--logfile",
        log_arg,
        "--forceflush",
    ];
    let out = run(Path::new(BIN), &args);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stdout.is_empty(), "everything goes to the log file: {out:?}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("Connecting to host") && logged.ends_with("iperf Done.\n"),
        "{logged}"
    );
}

#[test]
fn the_drop_in_server_serves_one_test_with_1() {
    let dir = tempfile::tempdir().unwrap();
    let link = iperf3_link(dir.path());
    let port = free_port().to_string();
    let log = dir.path().join("server.log");
    let mut cmd = Command::new(&link);
    isolate(&mut cmd).args([
        "-s",
        "-1",
        "-p",
        &port,
        "-B",
        "127.0.0.1",
        "--logfile",
        log.to_str().unwrap(),
    ]);
    let mut server = logged_server(cmd, &dir.path().join("stdout.log"), "");
    let start = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("Server listening on")
    {
        assert!(start.elapsed() < Duration::from_secs(10), "no banner in {log:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = run(&link, &["-c", "127.0.0.1", "-p", &port, "-t", "1"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status.code();
        }
        assert!(Instant::now() < deadline, "-1: the server did not exit after its test");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains(&format!("Server listening on {port}")), "{logged}");
}

#[test]
fn version_help_and_zerocopy() {
    let out = run(Path::new(BIN), &["-c", "h", "-v"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("saf-net "), "{out:?}");
    let help = run(Path::new(BIN), &["-s", "-h"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help.stdout).contains("--connect-timeout"), "{help:?}");
    // -Z is said on stderr; the run goes on (and fails here: nothing listens).
    let port = free_port().to_string();
    let out = run(Path::new(BIN), &["-c", "127.0.0.1", "-p", &port, "-Z", "-t", "1"]);
    assert!(
        text(&out.stderr).starts_with("iperf3: -Z (zero copy) is not available here"),
        "{out:?}"
    );
    // saf-net's own -V (its version) is untouched without -c or -s.
    let own = run(Path::new(BIN), &["-V"]);
    assert_eq!(
        text(&own.stdout).trim(),
        format!("saf-net {}", env!("CARGO_PKG_VERSION"))
    );
}
