//! Bad input and faults, end to end through the real `saf-net` binary.
//!
//! Every test starts its own server process on its own port (picked by the OS), so the tests run
//! in parallel. Every child process sits in a guard that kills it on drop, so a failing assert
//! leaks nothing. Traffic goes only to loopback, or to addresses inside network namespaces this
//! file creates (and deletes).

mod common;

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{BIN, free_port, is_root};
use serde_json::Value;
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A child process that is killed (SIGKILL) and reaped when dropped.
struct Proc {
    child: Child,
    what: String,
}

impl Proc {
    fn spawn(mut cmd: Command, what: impl Into<String>) -> Proc {
        let what = what.into();
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        Proc { child, what }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, then reap.
    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the exit, at most `limit`; panics (after killing it) if it takes longer.
    fn wait_for(&mut self, limit: Duration) -> i32 {
        let start = Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    return status
                        .code()
                        .unwrap_or_else(|| panic!("{} died by a signal: {status}", self.what));
                }
                Ok(None) if start.elapsed() > limit => {
                    self.kill9();
                    panic!("{} did not finish within {limit:?}", self.what);
                }
                Ok(None) => sleep(Duration::from_millis(10)),
                Err(e) => panic!("waiting for {}: {e}", self.what),
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill9();
        }
    }
}

/// A finished command: exit code, its output, how long it took.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Run {
    /// stderr, trimmed, which must be exactly one line.
    fn one_line_error(&self) -> &str {
        let err = self.stderr.trim();
        assert!(!err.is_empty(), "expected an error on stderr: {self:#?}");
        assert_eq!(err.lines().count(), 1, "stderr must be exactly one line: {err:?}");
        err
    }
}

/// Runs `cmd` to the end (at most `limit`), stdout and stderr going to files so no pipe can fill.
fn run_limited(mut cmd: Command, what: &str, limit: Duration) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    cmd.stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap());
    let start = Instant::now();
    let mut p = Proc::spawn(cmd, what);
    let code = p.wait_for(limit);
    let elapsed = start.elapsed();
    Run {
        code,
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        stderr: std::fs::read_to_string(&err_path).unwrap(),
        elapsed,
    }
}

/// `saf-net client ARGS`, untouched by the caller's SAF_NET_* environment.
fn client_cmd(args: &[&str]) -> Command {
    let mut cmd = common::saf_net();
    cmd.arg("client").args(args);
    cmd
}

fn client(args: &[&str], limit: Duration) -> Run {
    run_limited(client_cmd(args), &format!("client {args:?}"), limit)
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A `saf-net server` process with its log (stderr) in a file.
struct Server {
    proc: Proc,
    port: u16,
    log_path: PathBuf,
    _dir: TempDir,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let mut last = String::new();
        // The port is free when picked but could be taken before the server binds it: retry.
        for _ in 0..10 {
            let port = free_port();
            let dir = tempfile::tempdir().unwrap();
            let log_path = dir.path().join("server.log");
            let mut cmd = common::saf_net();
            // -v: the tests wait for the debug line that marks a test's start.
            cmd.args(["server", "-p", &port.to_string(), "-v"])
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(&log_path).unwrap());
            let mut srv = Server {
                proc: Proc::spawn(cmd, format!("server on port {port}")),
                port,
                log_path,
                _dir: dir,
            };
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(5) && srv.proc.running() {
                let probe = TcpStream::connect_timeout(&loopback(port), Duration::from_millis(200));
                if probe.is_ok() {
                    return srv;
                }
                sleep(Duration::from_millis(20));
            }
            last = srv.log();
        }
        panic!("the server did not start listening: {last}");
    }

    fn port_str(&self) -> String {
        self.port.to_string()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Waits (at most `limit`) until the log contains `needle`; returns whether it did.
    fn wait_log(&self, needle: &str, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.log().contains(needle) {
                return true;
            }
            sleep(Duration::from_millis(10));
        }
        self.log().contains(needle)
    }

    fn assert_alive(&mut self) {
        assert!(self.proc.running(), "the server exited; log:\n{}", self.log());
    }
}

/// Reads one control frame: 4-byte big-endian length, then JSON.
fn read_frame(s: &mut TcpStream) -> Value {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).expect("a reply frame's length");
    let n = u32::from_be_bytes(len) as usize;
    assert!(n > 0 && n < 1 << 20, "implausible frame length {n}");
    let mut body = vec![0u8; n];
    s.read_exact(&mut body).expect("a reply frame's body");
    serde_json::from_slice(&body).expect("the reply frame is JSON")
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect_timeout(&loopback(port), Duration::from_secs(2)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Reads until the server closes the connection; fails if it keeps it open past `limit`.
fn expect_closed(s: &mut TcpStream, what: &str, limit: Duration) {
    s.set_read_timeout(Some(limit)).unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return,
            // A server that closes with our bytes unread sends a reset: closed too.
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => {
                return;
            }
            Ok(_) if start.elapsed() < limit => {}
            Ok(_) => panic!("{what}: the server kept talking for {limit:?}"),
            Err(e) => panic!("{what}: the server did not close the connection: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Bad client input: exit 2, one line naming the problem, nothing sent.
// ---------------------------------------------------------------------------------------------

#[test]
fn bad_client_input_is_refused_before_any_network_activity() {
    let srv = Server::start(&[]);
    let port = srv.port_str();
    // Give the readiness probe's log line time to appear before counting connections.
    assert!(srv.wait_log("dropped", Duration::from_secs(3)), "{}", srv.log());
    let cases: &[(&[&str], &[&str])] = &[
        (&["-P", "0"], &["-P 0"]),
        (&["-t", "0"], &["-t 0"]),
        (&["-l", "0"], &["-l 0"]),
        (&["-n", "0"], &["-n 0"]),
        (&["-w", "0"], &["-w 0"]),
        (&["-l", "12X"], &["'12X'", "--length", "not a size"]),
        (&["-n", "abc"], &["'abc'", "--bytes", "not a size"]),
        (&["-w", "foo"], &["'foo'", "--window", "not a size"]),
        // clap reads `-1` as a flag here, so only the value is named (see the report).
        (&["-t", "-1"], &["'-1'"]),
        (&["--time=-1"], &["'-1'", "--time", "not a duration"]),
        (&["-t", "nan"], &["'nan'", "--time"]),
        (&["-R", "--bidir"], &["--reverse", "--bidir"]),
        (&["-t", "1", "-n", "1M"], &["--time", "--bytes"]),
        (&["-i", "0.001"], &["-i 0.001"]),
        (&["--connect-timeout", "0"], &["--connect-timeout 0"]),
    ];
    for (args, wants) in cases {
        let mut full = vec!["127.0.0.1", "-p", &port, "--no-history"];
        full.extend_from_slice(args);
        let run = client(&full, Duration::from_secs(5));
        assert_eq!(run.code, 2, "{args:?} must exit 2 (bad arguments): {run:#?}");
        let err = run.one_line_error();
        for want in *wants {
            assert!(err.contains(want), "{args:?}: {err:?} should name {want:?}");
        }
        assert!(
            run.elapsed < Duration::from_secs(2),
            "{args:?} took {:?} to be refused",
            run.elapsed
        );
        assert!(
            run.stdout.trim().is_empty(),
            "{args:?}: nothing belongs on stdout, got {:?}",
            run.stdout
        );
    }
    // The only connection the server ever saw is the readiness probe.
    sleep(Duration::from_millis(200));
    let log = srv.log();
    let peers: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("127.0.0.1:") && !l.contains("listening"))
        .collect();
    assert_eq!(peers.len(), 1, "bad input reached the server:\n{log}");
    assert!(!log.contains("test 1 from"), "{log}");
}

// ---------------------------------------------------------------------------------------------
// 2. Requests above the server's limits: refused before data moves, the server flag named.
// ---------------------------------------------------------------------------------------------

#[test]
fn requests_above_server_limits_are_refused_naming_the_server_flag() {
    let mut srv = Server::start(&["--max-streams", "4", "--max-duration", "5", "--max-block", "1M"]);
    let port = srv.port_str();
    let cases: &[(&[&str], &[&str])] = &[
        (&["-P", "5", "-t", "1"], &["-P 5", "--max-streams"]),
        (&["-t", "6"], &["-t 6", "--max-duration"]),
        // -t 1: the default 10 s would hit --max-duration first.
        (&["-t", "1", "-l", "2M"], &["2097152", "--max-block"]),
        (
            &["--bidir", "-P", "3", "-t", "1"],
            &["-P 3", "6 connections", "--max-streams"],
        ),
    ];
    for (args, wants) in cases {
        let mut full = vec!["127.0.0.1", "-p", &port, "--no-history"];
        full.extend_from_slice(args);
        let run = client(&full, Duration::from_secs(10));
        assert_ne!(run.code, 0, "{args:?} must fail: {run:#?}");
        assert_ne!(run.code, 3, "{args:?}: nothing ran, so not 'incomplete': {run:#?}");
        let err = run.one_line_error();
        assert!(err.contains("refused the test"), "{args:?}: {err:?}");
        for want in *wants {
            assert!(err.contains(want), "{args:?}: {err:?} should name {want:?}");
        }
        assert!(run.elapsed < Duration::from_secs(3), "{args:?} took {:?}", run.elapsed);
    }
    let log = srv.log();
    assert!(!log.contains("test 1 from"), "a refused test started:\n{log}");
    assert_eq!(log.matches("refused:").count(), cases.len(), "{log}");

    // Right at the limits is fine: the server still serves.
    let run = client(
        &[
            "127.0.0.1",
            "-p",
            &port,
            "--no-history",
            "-P",
            "4",
            "-t",
            "0.3",
            "-l",
            "1M",
        ],
        Duration::from_secs(10),
    );
    assert_eq!(run.code, 0, "a test at the limits must run: {run:#?}");
    srv.assert_alive();
}

// ---------------------------------------------------------------------------------------------
// 3. Closed port: refused, fast, exit 1.
// ---------------------------------------------------------------------------------------------

#[test]
fn closed_port_fails_fast_with_refused() {
    let port = free_port().to_string();
    let run = client(
        &["127.0.0.1", "-p", &port, "--no-history", "-t", "1"],
        Duration::from_secs(10),
    );
    assert_eq!(run.code, 1, "{run:#?}");
    let err = run.one_line_error();
    assert!(err.contains("refused"), "{err:?}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err:?}");
    assert!(
        run.elapsed < Duration::from_secs(2),
        "a refused connection took {:?}",
        run.elapsed
    );
}

// ---------------------------------------------------------------------------------------------
// 4. An address that does not answer (network namespaces; root only).
// ---------------------------------------------------------------------------------------------

const NS_PREFIX: &str = "saf-faults-";

fn ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ip {args:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Namespaces this test created; deleted (with the veth pair inside) on drop.
struct Netns {
    names: Vec<String>,
}

impl Netns {
    /// Deletes namespaces left by earlier runs of this file whose process is gone.
    fn remove_leftovers() {
        let Ok(list) = ip(&["netns", "list"]) else {
            return;
        };
        for line in list.lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            let Some(rest) = name.strip_prefix(NS_PREFIX) else {
                continue;
            };
            let pid = rest.split('-').next().unwrap_or("");
            if !pid.is_empty()
                && pid.chars().all(|c| c.is_ascii_digit())
                && !Path::new(&format!("/proc/{pid}")).exists()
            {
                let _ = ip(&["netns", "del", name]);
            }
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = ip(&["netns", "del", n]);
        }
    }
}

#[test]
fn silent_address_times_out_with_no_answer() {
    if !is_root() || ip(&["-V"]).is_err() {
        eprintln!("SKIPPED (needs root + iproute2): silent_address_times_out_with_no_answer did not run");
        return;
    }
    Netns::remove_leftovers();
    let pid = std::process::id();
    let ns = format!("{NS_PREFIX}{pid}-a");
    let peer_ns = format!("{NS_PREFIX}{pid}-b");
    // Interface names are limited to 15 bytes; a pid has at most 7 digits.
    let veth = format!("sfa{pid}");
    let peer = format!("sfb{pid}");
    let mut guard = Netns { names: Vec::new() };
    ip(&["netns", "add", &ns]).unwrap();
    guard.names.push(ns.clone());
    ip(&["netns", "add", &peer_ns]).unwrap();
    guard.names.push(peer_ns.clone());
    let setup: &[&[&str]] = &[
        &["-n", &ns, "link", "set", "lo", "up"],
        // Made inside the test namespace, so nothing touches the host's own namespace.
        &["-n", &ns, "link", "add", &veth, "type", "veth", "peer", "name", &peer],
        &["-n", &ns, "link", "set", &peer, "netns", &peer_ns],
        &["-n", &ns, "addr", "add", "10.213.0.1/24", "dev", &veth],
        &["-n", &ns, "link", "set", &veth, "up"],
        &["-n", &peer_ns, "link", "set", &peer, "up"],
        // No ARP needed: SYNs leave at once and land where nothing answers.
        &[
            "-n",
            &ns,
            "neigh",
            "add",
            "10.213.0.2",
            "lladdr",
            "02:00:00:00:00:02",
            "dev",
            &veth,
            "nud",
            "permanent",
        ],
    ];
    for args in setup {
        ip(args).unwrap();
    }
    let mut cmd = Command::new("ip");
    common::isolate(&mut cmd)
        .args(["netns", "exec", &ns, BIN, "client", "10.213.0.2"])
        .args(["--connect-timeout", "1", "--no-history", "-t", "1"]);
    let run = run_limited(cmd, "client to a silent address", Duration::from_secs(10));
    assert_ne!(run.code, 0, "{run:#?}");
    assert_eq!(run.code, 1, "{run:#?}");
    let err = run.one_line_error();
    assert!(err.contains("no answer from 10.213.0.2:5301"), "{err:?}");
    assert!(err.contains("within 1.0 s"), "{err:?}");
    assert!(
        run.elapsed < Duration::from_secs(3),
        "--connect-timeout 1 took {:?}",
        run.elapsed
    );
    // It really waited for the timeout rather than failing for another reason.
    assert!(
        run.elapsed >= Duration::from_millis(900),
        "gave up after only {:?}",
        run.elapsed
    );
    drop(guard);
    assert!(
        !ip(&["netns", "list"]).unwrap_or_default().contains(&ns),
        "namespace {ns} was not deleted"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Server killed mid-test: partial results, marked incomplete, exit 3.
// ---------------------------------------------------------------------------------------------

/// Starts a 6 s client in the background, kills the server about 1.5 s in, returns the client's run.
fn kill_server_mid_test(extra: &[&str]) -> Run {
    let mut srv = Server::start(&[]);
    let port = srv.port_str();
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    let mut args = vec!["127.0.0.1", "-p", &port, "-t", "6"];
    args.extend_from_slice(extra);
    let mut cmd = client_cmd(&args);
    cmd.stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap());
    let start = Instant::now();
    let mut c = Proc::spawn(cmd, "client -t 6");
    assert!(
        srv.wait_log("test 1 from", Duration::from_secs(5)),
        "the test never started:\n{}",
        srv.log()
    );
    sleep(Duration::from_millis(1500).saturating_sub(start.elapsed()));
    srv.proc.kill9();
    let code = c.wait_for(Duration::from_secs(15));
    let run = Run {
        code,
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        stderr: std::fs::read_to_string(&err_path).unwrap(),
        elapsed: start.elapsed(),
    };
    assert!(
        run.elapsed < Duration::from_secs(5),
        "the client ran on for {:?} after its server died",
        run.elapsed
    );
    run
}

#[test]
fn server_killed_mid_test_json_and_history_say_incomplete() {
    let hist = tempfile::tempdir().unwrap();
    let csv_path = hist.path().join("h.csv");
    let csv_arg = csv_path.to_str().unwrap().to_string();
    let run = kill_server_mid_test(&["-J", "--csv", &csv_arg]);
    assert_eq!(run.code, 3, "incomplete test must exit 3: {run:#?}");
    let doc: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}", run.stdout));
    assert_eq!(doc["saf_net"]["complete"], Value::Bool(false), "{doc:#}");
    let error = doc["error"].as_str().expect("an error string");
    assert!(!error.trim().is_empty(), "{doc:#}");
    assert!(
        error.contains("127.0.0.1"),
        "the error should name the server: {error:?}"
    );
    let sent = doc["end"]["sum_sent"]["bytes"].as_u64().expect("end.sum_sent.bytes");
    assert!(sent > 0, "partial results must keep the bytes sent: {doc:#}");

    let mut rd = csv::Reader::from_path(&csv_path).expect("the history CSV exists");
    let headers = rd.headers().unwrap().clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name} column in {headers:?}"))
    };
    let (complete, details) = (col("complete"), col("details"));
    let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 1, "one run, one row: {rows:?}");
    assert_eq!(&rows[0][complete], "false", "{rows:?}");
    // The per-run document beside it agrees.
    let details = hist.path().join(&rows[0][details]);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&details).unwrap()).unwrap();
    assert_eq!(saved["saf_net"]["complete"], Value::Bool(false));
}

#[test]
fn server_killed_mid_test_text_says_incomplete() {
    let run = kill_server_mid_test(&["--no-history"]);
    assert_eq!(run.code, 3, "incomplete test must exit 3: {run:#?}");
    assert!(run.stdout.contains("INCOMPLETE"), "{run:#?}");
    // The partial summary is still printed.
    assert!(run.stdout.contains("sender"), "{run:#?}");
}

// ---------------------------------------------------------------------------------------------
// 6. Client killed mid-test: the server frees the slot at once.
// ---------------------------------------------------------------------------------------------

fn kill_client_then_retest(extra: &[&str]) {
    let mut srv = Server::start(&[]);
    let port = srv.port_str();
    let mut args = vec!["127.0.0.1", "-p", &port, "-t", "10", "--no-history"];
    args.extend_from_slice(extra);
    let mut cmd = client_cmd(&args);
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let start = Instant::now();
    let mut victim = Proc::spawn(cmd, format!("client {args:?}"));
    assert!(
        srv.wait_log("test 1 from", Duration::from_secs(5)),
        "the first test never started:\n{}",
        srv.log()
    );
    sleep(Duration::from_millis(1500).saturating_sub(start.elapsed()));
    assert!(victim.running(), "the -t 10 client ended early");
    let victim_pid = victim.pid();
    victim.kill9();

    let run = client(
        &["127.0.0.1", "-p", &port, "-t", "0.5", "--no-history", "-J"],
        Duration::from_secs(15),
    );
    assert_eq!(
        run.code,
        0,
        "the next test must run (client {victim_pid} was killed): {run:#?}\nserver log:\n{}",
        srv.log()
    );
    assert!(
        run.elapsed < Duration::from_millis(2500),
        "the next test took {:?}: the slot was not freed promptly\nserver log:\n{}",
        run.elapsed,
        srv.log()
    );
    let doc: Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    assert_eq!(doc["saf_net"]["complete"], Value::Bool(true), "{doc:#}");
    // Test 1 may be logged as "finished" or "ended early": the data EOF and the control close race.
    let log = srv.log();
    assert!(log.contains("test 2 from"), "{log}");
    assert!(!log.contains("test 3 from"), "{log}");
    srv.assert_alive();
}

#[test]
fn client_killed_mid_test_frees_the_slot() {
    kill_client_then_retest(&[]);
}

#[test]
fn client_killed_mid_reverse_test_frees_the_slot() {
    kill_client_then_retest(&["-R"]);
}

// ---------------------------------------------------------------------------------------------
// 7. Protocol version mismatch: a refusal naming both versions.
// ---------------------------------------------------------------------------------------------

#[test]
fn version_mismatch_is_refused_naming_both_versions() {
    let mut srv = Server::start(&[]);
    // The server's own protocol version, as it announces it.
    let mut s = connect(srv.port);
    let ours = saf_net::protocol::PROTOCOL_VERSION;
    s.write_all(&frame(
        format!(r#"{{"hello":{{"protocol":{ours},"software":"0.0.0-test"}}}}"#).as_bytes(),
    ))
    .unwrap();
    let welcome = read_frame(&mut s);
    let server_protocol = welcome["welcome"]["protocol"]
        .as_u64()
        .unwrap_or_else(|| panic!("expected a welcome: {welcome}"));
    assert_eq!(server_protocol, u64::from(ours), "{welcome}");
    drop(s);

    // A newer client whose hello still reads as ours is answered in our version (it may speak it).
    let mut s = connect(srv.port);
    s.write_all(&frame(br#"{"hello":{"protocol":99,"software":"9.9.9"}}"#))
        .unwrap();
    let welcome = read_frame(&mut s);
    assert_eq!(
        welcome["welcome"]["protocol"].as_u64(),
        Some(u64::from(ours)),
        "{welcome}"
    );
    drop(s);

    let hellos: &[&[u8]] = &[
        br#"{"hello":{"protocol":1,"software":"9.9.9"}}"#,
        // A future release may add fields; the version must still be read and named.
        br#"{"hello":{"protocol":99,"software":"9.9.9","features":["udp"]}}"#,
    ];
    for hello in hellos {
        let mut s = connect(srv.port);
        s.write_all(&frame(hello)).unwrap();
        let reply = read_frame(&mut s);
        let reason = reply["refused"]["reason"]
            .as_str()
            .unwrap_or_else(|| panic!("expected a refusal: {reply}"));
        assert!(reason.contains("protocol version mismatch"), "{reason:?}");
        let named = ["protocol 1 (saf-net 9.9.9)", "protocol 99 (saf-net 9.9.9)"];
        assert!(named.iter().any(|n| reason.contains(n)), "{reason:?}");
        assert!(
            reason.contains(&format!("protocol {server_protocol} (saf-net ")),
            "{reason:?}"
        );
        expect_closed(&mut s, "after the refusal", Duration::from_secs(3));
    }
    srv.assert_alive();
}

// ---------------------------------------------------------------------------------------------
// 8. Garbage on the control port: dropped, and the server keeps serving.
// ---------------------------------------------------------------------------------------------

#[test]
fn server_survives_garbage_and_still_serves() {
    let mut srv = Server::start(&[]);
    let port = srv.port;

    // Random bytes (a fixed xorshift sequence, so a failure reproduces).
    let mut x: u32 = 0x2545_f491;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    let mut s = connect(port);
    let _ = s.write_all(&noise);
    expect_closed(&mut s, "random bytes", Duration::from_secs(3));

    // A length far over the cap: dropped on the prefix alone, without waiting for the body.
    let mut s = connect(port);
    s.write_all(&[0xff, 0xff, 0xff, 0xff]).unwrap();
    expect_closed(&mut s, "0xffffffff length", Duration::from_secs(3));

    // An empty frame: dropped at once (the handshake timeout is 10 s).
    let mut s = connect(port);
    s.write_all(&[0, 0, 0, 0]).unwrap();
    expect_closed(&mut s, "empty frame", Duration::from_secs(3));

    // A truncated frame: 100 bytes announced, 10 sent, then the write side closed.
    let mut s = connect(port);
    let mut partial = 100u32.to_be_bytes().to_vec();
    partial.extend_from_slice(b"{\"hello\":{");
    s.write_all(&partial).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    expect_closed(&mut s, "truncated frame", Duration::from_secs(3));

    // A well-framed body that is not JSON: refused with a reason.
    let mut s = connect(port);
    s.write_all(&frame(b"GET / HTTP/1.1\r\n\r\n")).unwrap();
    let reply = read_frame(&mut s);
    let reason = reply["refused"]["reason"]
        .as_str()
        .unwrap_or_else(|| panic!("expected a refusal: {reply}"));
    assert!(reason.contains("not a saf-net hello"), "{reason:?}");

    // A connection that says nothing stays open while a real test runs beside it.
    let _idle = connect(port);

    let log = srv.log();
    assert!(log.contains("exceeds the 65536-byte cap"), "{log}");
    assert!(log.contains("empty frame"), "{log}");
    srv.assert_alive();

    let p = port.to_string();
    let run = client(
        &["127.0.0.1", "-p", &p, "-t", "0.5", "--no-history", "-J"],
        Duration::from_secs(15),
    );
    assert_eq!(run.code, 0, "{run:#?}\nserver log:\n{}", srv.log());
    let doc: Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    assert_eq!(doc["saf_net"]["complete"], Value::Bool(true), "{doc:#}");
    assert!(doc["end"]["sum_received"]["bytes"].as_u64().unwrap_or(0) > 0, "{doc:#}");
    srv.assert_alive();
}

// ---------------------------------------------------------------------------------------------
// 9. Another program on the port: one line that says what answered, at once.
// ---------------------------------------------------------------------------------------------

/// A listener on 127.0.0.1 that answers every connection with `answer(bytes it read first)`, then
/// keeps it open, silent, for `hold` (like iperf3 waiting for its parameters).
fn impostor(first_read: usize, answer: &'static [u8], hold: Duration) -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming().take(4) {
            let Ok(mut c) = conn else { return };
            std::thread::spawn(move || {
                let mut buf = vec![0u8; first_read];
                if first_read == 0 || c.read_exact(&mut buf).is_ok() {
                    let _ = c.write_all(answer);
                    sleep(hold);
                }
            });
        }
    });
    port
}

#[test]
fn another_program_on_the_port_is_named_in_one_line() {
    let hold = Duration::from_secs(15);
    let cases: &[(&str, u16, &str)] = &[
        // iperf3 reads 37 bytes as its cookie, answers PARAM_EXCHANGE (9) and waits for parameters.
        (
            "iperf3",
            impostor(37, &[9], hold),
            "answered like an iperf3 server, not saf-net",
        ),
        // A busy iperf3 answers ACCESS_DENIED (-1) and closes.
        (
            "busy iperf3",
            impostor(0, &[0xff], Duration::ZERO),
            "answered like an iperf3 server (busy with another test), not saf-net",
        ),
        (
            "HTTP",
            impostor(4, b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n", hold),
            "answered like an HTTP server (\"HTTP/1.1 400 Bad Request\"), not saf-net",
        ),
        (
            "SSH",
            impostor(0, b"SSH-2.0-OpenSSH_9.6p1 Debian-3\r\n", hold),
            "answered like an SSH server (\"SSH-2.0-OpenSSH_9.6p1 Debian-3\"), not saf-net",
        ),
    ];
    for (what, port, want) in cases {
        let p = port.to_string();
        let run = client(
            &["127.0.0.1", "-p", &p, "--no-history", "-t", "1"],
            Duration::from_secs(20),
        );
        assert_eq!(run.code, 1, "{what}: {run:#?}");
        let err = run.one_line_error();
        assert_eq!(err, format!("error: 127.0.0.1:{port} {want}"), "{what}");
        // Before: a 10 s wait for iperf3, "HTTP" read as a frame length for the others.
        assert!(run.elapsed < Duration::from_secs(5), "{what}: took {:?}", run.elapsed);
    }
}

#[test]
fn a_real_iperf3_server_is_named() {
    let Ok(out) = Command::new("iperf3").arg("--version").output() else {
        eprintln!("SKIPPED (iperf3 is not installed): a_real_iperf3_server_is_named did not run");
        return;
    };
    assert!(out.status.success(), "iperf3 --version: {out:?}");
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("iperf3.log");
    let mut cmd = Command::new("iperf3");
    cmd.args(["-s", "-p", &port.to_string(), "--forceflush"])
        .stdin(Stdio::null())
        .stdout(File::create(&log_path).unwrap())
        .stderr(Stdio::null());
    let _iperf3 = Proc::spawn(cmd, "iperf3 -s");
    // Wait for its banner rather than probing the port: a probe would be a client to it.
    let start = Instant::now();
    while !std::fs::read_to_string(&log_path)
        .unwrap_or_default()
        .contains("listening")
        && start.elapsed() < Duration::from_secs(5)
    {
        sleep(Duration::from_millis(20));
    }
    let p = port.to_string();
    let run = client(
        &["127.0.0.1", "-p", &p, "--no-history", "-t", "1"],
        Duration::from_secs(20),
    );
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(
        run.one_line_error(),
        format!("error: 127.0.0.1:{port} answered like an iperf3 server, not saf-net")
    );
    assert!(run.elapsed < Duration::from_secs(5), "took {:?}", run.elapsed);
}

/// No segment of a `a: b: c` error line appears twice.
fn assert_no_repeated_cause(what: &str, line: &str) {
    let parts: Vec<&str> = line.split(": ").map(str::trim).collect();
    for (i, p) in parts.iter().enumerate() {
        assert!(
            !parts[i + 1..].contains(p),
            "{what}: {p:?} is printed twice in {line:?}"
        );
    }
}

#[test]
fn no_error_line_repeats_a_cause() {
    let srv = Server::start(&[]);
    let port = srv.port_str();
    let closed = free_port().to_string();
    // Accepts, reads the hello, hangs up without a word.
    let hangs_up = impostor(8, b"", Duration::ZERO).to_string();
    let http = impostor(4, b"HTTP/1.1 400 Bad Request\r\n\r\n", Duration::from_secs(15)).to_string();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("missing.key");
    let key = key.to_str().unwrap();
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (
            "server hangs up",
            vec!["client", "127.0.0.1", "-p", &hangs_up, "--no-history"],
        ),
        (
            "closed port",
            vec!["client", "127.0.0.1", "-p", &closed, "--no-history"],
        ),
        ("HTTP server", vec!["client", "127.0.0.1", "-p", &http, "--no-history"]),
        (
            "history not writable",
            vec![
                "client",
                "127.0.0.1",
                "-p",
                &port,
                "-t",
                "0.2",
                "--csv",
                "/dev/null/h.csv",
            ],
        ),
        (
            "missing key file",
            vec!["client", "127.0.0.1", "-p", &port, "--psk-file", key],
        ),
        (
            "missing profile",
            vec!["client", "127.0.0.1", "-p", &port, "--profile", "/nonexistent/p.toml"],
        ),
        (
            "missing history",
            vec!["report", "/nonexistent/h.csv", "--out", "/tmp/saf-net-no-report"],
        ),
        ("port in use", vec!["server", "-p", &port]),
        (
            "latency, server hangs up",
            vec!["latency", "127.0.0.1", "-p", &hangs_up, "--no-history"],
        ),
    ];
    for (what, args) in cases {
        let mut cmd = Command::new(BIN);
        cmd.args(&args)
            .env_remove("SAF_NET_PORT")
            .env_remove("SAF_NET_PSK")
            .env_remove("SAF_NET_PROFILE")
            .env("SAF_NET_HISTORY", dir.path().join("h.csv"));
        let run = run_limited(cmd, what, Duration::from_secs(20));
        assert_ne!(run.code, 0, "{what}: {run:#?}");
        let err = run.one_line_error();
        assert!(err.starts_with("error: "), "{what}: {err:?}");
        assert_no_repeated_cause(what, err);
    }
}
