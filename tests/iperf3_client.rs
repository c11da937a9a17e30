//! `saf-net client HOST --iperf3` against the real iperf3 (Debian's 3.12) on loopback: each mode's exit code, its
//! `-J` document against the iperf3 server's own `-J` results, the history row, and iperf3's error states.
//! Without an `iperf3` binary every test prints a loud SKIPPED line and passes.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, saf_net, text};
use serde_json::Value;

/// The longest any process here may run.
const LIMIT: Duration = Duration::from_secs(30);

fn iperf3_binary() -> Option<PathBuf> {
    ["/usr/bin/iperf3", "/usr/local/bin/iperf3"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Whether something listens on TCP `port` (read from /proc, so the one-off server is not used up by a probe).
fn listening(port: u16) -> bool {
    let needle = format!(":{port:04X} ");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|f| {
        std::fs::read_to_string(f).unwrap_or_default().lines().any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() > 3 && format!("{} ", cols[1]).ends_with(&needle) && cols[3] == "0A"
        })
    })
}

/// `iperf3 -s -1 -J` on a free port, killed when dropped.
struct Iperf3Server {
    child: Child,
    port: u16,
}

impl Iperf3Server {
    fn start(test: &str) -> Option<Iperf3Server> {
        let Some(bin) = iperf3_binary() else {
            eprintln!("SKIPPED {test}: no iperf3 binary (apt-get install iperf3)");
            return None;
        };
        let port = free_port();
        let child = Command::new(bin)
            .args(["-s", "-1", "-J", "-B", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !listening(port) {
            assert!(
                Instant::now() < deadline,
                "iperf3 -s did not listen on {port} within 5 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Iperf3Server { child, port })
    }

    /// The server's own `-J` document, once its one test is over.
    fn results(mut self) -> Value {
        let deadline = Instant::now() + LIMIT;
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "iperf3 -s -1 did not exit after its test");
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut out = String::new();
        self.child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("iperf3's -J: {e}: {out}"))
    }
}

impl Drop for Iperf3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cmd` to its end, killed after [`LIMIT`].
fn run_bounded(cmd: &mut Command) -> Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + LIMIT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("saf-net did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// One `saf-net client --iperf3 -J` run against its own iperf3 server: our document, the server's, the history.
struct Run {
    ours: Value,
    theirs: Value,
    history: String,
}

fn run(test: &str, args: &[&str]) -> Option<Run> {
    let server = Iperf3Server::start(test)?;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("history.csv");
    let port = server.port.to_string();
    let out = run_bounded(
        saf_net()
            .args(["client", "127.0.0.1", "--iperf3", "-p", &port, "-J", "--csv"])
            .arg(&csv)
            .args(args),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let ours: Value = serde_json::from_slice(&out.stdout).unwrap();
    let theirs = server.results();
    let history = std::fs::read_to_string(&csv).unwrap();
    assert_runs_recorded(dir.path(), &ours);
    Some(Run { ours, theirs, history })
}

/// The history's per-run JSON is there, named by the run id.
fn assert_runs_recorded(dir: &Path, ours: &Value) {
    let id = ours["saf_net"]["run_id"].as_str().unwrap();
    assert!(
        dir.join("runs").join(format!("{id}.json")).exists(),
        "no runs/{id}.json"
    );
}

/// The history's one row, as header → value.
fn row(history: &str) -> std::collections::HashMap<String, String> {
    let mut r = csv::Reader::from_reader(history.as_bytes());
    let header = r.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{history}");
    header
        .iter()
        .map(String::from)
        .zip(rows[0].iter().map(String::from))
        .collect()
}

fn bytes(v: &Value) -> u64 {
    v["bytes"].as_u64().unwrap_or_else(|| panic!("no bytes in {v}"))
}

/// The common checks: iperf3 as the peer, complete, the stream count, a history row that says the same.
fn check_common(r: &Run, kind: &str, direction: &str, connections: usize) {
    let sn = &r.ours["saf_net"];
    assert_eq!(sn["peer"], "iperf3");
    assert_eq!(sn["complete"], true, "{sn}");
    assert_eq!(sn["direction"], direction);
    assert_eq!(r.ours["start"]["connected"].as_array().unwrap().len(), connections);
    assert_eq!(r.ours["end"]["streams"].as_array().unwrap().len(), connections);
    assert_eq!(r.theirs["start"]["connected"].as_array().unwrap().len(), connections);
    let row = row(&r.history);
    assert_eq!(row["kind"], kind);
    assert_eq!(row["direction"], direction);
    assert_eq!(row["complete"], "true");
    let headline = sn["receiver_bits_per_second"].as_f64().unwrap();
    let recorded: f64 = row["receiver_mbps"].parse().unwrap();
    assert!(
        (recorded - headline / 1e6).abs() < 0.01 * recorded.max(1.0),
        "{recorded} vs {headline}"
    );
}

/// Forward: our headline is the iperf3 server's own received count, byte for byte.
fn assert_server_received(r: &Run) {
    let ours = bytes(&r.ours["end"]["sum_received"]);
    let theirs = bytes(&r.theirs["end"]["sum_received"]);
    assert!(ours > 0);
    assert_eq!(ours, theirs, "our receiver figure must be the server's");
    assert!(bytes(&r.ours["end"]["sum_sent"]) >= ours);
}

#[test]
fn tcp_one_stream() {
    let Some(r) = run("tcp_one_stream", &["-t", "1"]) else {
        return;
    };
    check_common(&r, "throughput", "forward", 1);
    assert_server_received(&r);
}

#[test]
fn tcp_four_streams() {
    let Some(r) = run("tcp_four_streams", &["-t", "1", "-P", "4"]) else {
        return;
    };
    check_common(&r, "throughput", "forward", 4);
    assert_server_received(&r);
    for s in r.ours["end"]["streams"].as_array().unwrap() {
        assert!(bytes(&s["receiver"]) > 0, "{s}");
    }
}

#[test]
fn tcp_reverse_counts_what_we_received() {
    let Some(r) = run("tcp_reverse", &["-t", "1", "-R"]) else {
        return;
    };
    check_common(&r, "throughput", "reverse", 1);
    let ours = bytes(&r.ours["end"]["sum_received"]);
    let sent = bytes(&r.theirs["end"]["sum_sent"]);
    assert!(ours > 0);
    // The server counts until TEST_END; we also read what was in flight then: never more than a few buffers.
    assert!(
        ours >= sent && ours - sent < 64 << 20,
        "received {ours}, the server sent {sent}"
    );
}

#[test]
fn tcp_bidir_reports_both_directions() {
    let Some(r) = run("tcp_bidir", &["-t", "1", "--bidir"]) else {
        return;
    };
    check_common(&r, "throughput", "bidir", 2);
    assert_server_received(&r);
    let back = bytes(&r.ours["end"]["sum_received_bidir_reverse"]);
    let server_sent = bytes(&r.theirs["end"]["sum_sent_bidir_reverse"]);
    assert!(back > 0 && back >= server_sent, "{back} vs {server_sent}");
}

#[test]
fn tcp_by_byte_count() {
    let Some(r) = run("tcp_bytes", &["-n", "64M"]) else {
        return;
    };
    check_common(&r, "throughput", "forward", 1);
    assert_server_received(&r);
    assert_eq!(bytes(&r.ours["end"]["sum_sent"]), 64 << 20);
}

#[test]
fn udp_at_100_mbit() {
    let Some(r) = run("udp", &["-t", "1", "-u", "-b", "100M"]) else {
        return;
    };
    check_common(&r, "udp", "forward", 1);
    assert_server_received(&r);
    let theirs = &r.theirs["end"]["sum"];
    let ours = &r.ours["end"]["sum"];
    assert_eq!(ours["lost_packets"], theirs["lost_packets"], "{ours} vs {theirs}");
    assert_eq!(ours["packets"], theirs["packets"]);
    let rate = r.ours["saf_net"]["receiver_bits_per_second"].as_f64().unwrap();
    assert!(rate > 80e6 && rate < 110e6, "{rate}");
}

#[test]
fn a_busy_server_is_one_line_and_exit_1() {
    let Some(server) = Iperf3Server::start("busy") else {
        return;
    };
    let port = server.port.to_string();
    let mut busy = Command::new(iperf3_binary().unwrap())
        .args(["-c", "127.0.0.1", "-p", &port, "-t", "4", "-b", "10M"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let out = run_bounded(saf_net().args([
        "client",
        "127.0.0.1",
        "--iperf3",
        "-p",
        &port,
        "-t",
        "1",
        "--no-history",
    ]));
    let _ = busy.kill();
    let _ = busy.wait();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("busy running a test"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn options_an_iperf3_server_cannot_honour_are_refused() {
    for (args, says) in [
        (&["--latency"][..], "--latency with --iperf3"),
        (&["-R", "-n", "1M"][..], "-n with -R or --bidir"),
        (&["-O", "0.5"][..], "iperf3 omits whole seconds"),
    ] {
        let out = run_bounded(
            saf_net()
                .args(["client", "127.0.0.1", "--iperf3", "--no-history"])
                .args(args),
        );
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
