//! A server told to stop (SIGTERM) at every stage of a test, and a client told to stop (SIGTERM, SIGHUP).
//!
//! Each stage is reached by what the other side shows, never by a sleep: the server's log line, the client's
//! output, a frame on a raw control connection, or the first UDP probe on a socket this file holds on the
//! server's port (so the MTU and idle-RTT phases wait for answers while the signal arrives). Every process
//! writes its history to a temporary file. Traffic goes only to loopback.

mod common;

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{BIN, free_port};
use serde_json::{Value, json};
use tempfile::TempDir;

/// How long a stopping server and its clients may take: below the server's 5 s grace, which is what a stage
/// the server did not watch used to cost.
const PROMPT: Duration = Duration::from_secs(4);
const SHUTTING_DOWN: &str = "the server is shutting down";

/// A child process, killed and reaped on drop; stdout and stderr in files.
struct Proc {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Proc {
    fn spawn(args: &[&str], dir: &Path, name: &str) -> Proc {
        let (out, err) = (dir.join(format!("{name}.out")), dir.join(format!("{name}.err")));
        let child = Command::new(BIN)
            .args(args)
            .env_remove("SAF_NET_PORT")
            .env_remove("SAF_NET_PSK")
            .env_remove("SAF_NET_PROFILE")
            .env("SAF_NET_HISTORY", dir.join("history.csv"))
            .stdin(Stdio::null())
            .stdout(File::create(&out).unwrap())
            .stderr(File::create(&err).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start saf-net {args:?}: {e}"));
        Proc { child, out, err }
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Waits until `file` (stdout or stderr) holds `needle`; panics after `limit`.
    fn wait_for(&self, needle: &str, limit: Duration) {
        let t0 = Instant::now();
        while t0.elapsed() < limit {
            if self.stdout().contains(needle) || self.stderr().contains(needle) {
                return;
            }
            sleep(Duration::from_millis(5));
        }
        panic!("{needle:?} never came:\n{}\n{}", self.stdout(), self.stderr());
    }

    fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success(), "kill {sig}");
    }

    /// The exit code, within `limit` of now.
    fn exit_code(&mut self, limit: Duration) -> i32 {
        let t0 = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st
                    .code()
                    .unwrap_or_else(|| panic!("died by a signal: {st}\n{}", self.stderr()));
            }
            assert!(
                t0.elapsed() < limit,
                "still running {limit:?} later:\n{}\n{}",
                self.stdout(),
                self.stderr()
            );
            sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `saf-net server -v` on a port of its own; `udp` holds UDP on that port first, so the server has none.
struct Server {
    proc: Proc,
    port: u16,
    udp: Option<UdpSocket>,
    dir: TempDir,
}

impl Server {
    fn start(hold_udp: bool) -> Server {
        for _ in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            let (port, udp) = if hold_udp {
                let u = UdpSocket::bind("0.0.0.0:0").unwrap();
                (u.local_addr().unwrap().port(), Some(u))
            } else {
                (free_port(), None)
            };
            let p = port.to_string();
            let proc = Proc::spawn(&["server", "-p", &p, "-v"], dir.path(), "server");
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(5) && !proc.stderr().contains("listening on") {
                sleep(Duration::from_millis(10));
            }
            if proc.stderr().contains("listening on") {
                assert!(
                    !hold_udp || proc.stderr().contains("no UDP probes"),
                    "{}",
                    proc.stderr()
                );
                return Server { proc, port, udp, dir };
            }
        }
        panic!("the server did not start");
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn client(&self, extra: &[&str], name: &str) -> Proc {
        let p = self.port.to_string();
        let mut args = vec!["client", "127.0.0.1", "-p", &p];
        args.extend_from_slice(extra);
        Proc::spawn(&args, self.dir.path(), name)
    }

    /// SIGTERM; the server must exit 0 promptly.
    fn stop(&mut self) {
        self.proc.signal("-TERM");
        let code = self.proc.exit_code(PROMPT);
        assert_eq!(code, 0, "{}", self.proc.stderr());
        assert!(self.proc.stderr().contains("stopped"), "{}", self.proc.stderr());
    }

    /// The `complete` column of every history row the clients wrote.
    fn history(&self) -> Vec<String> {
        let Ok(mut rd) = csv::Reader::from_path(self.dir.path().join("history.csv")) else {
            return Vec::new();
        };
        let col = rd.headers().unwrap().iter().position(|h| h == "complete").unwrap();
        rd.records().map(|r| r.unwrap()[col].to_string()).collect()
    }

    /// Waits for the first UDP probe of `kind` (1 echo, 3 MTU) on the held port.
    fn first_probe(&self, kind: u8) {
        let udp = self.udp.as_ref().expect("UDP held");
        udp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = vec![0u8; 70_000];
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            let Ok((n, _)) = udp.recv_from(&mut buf) else { break };
            if n >= 5 && &buf[..4] == b"SAFN" && buf[4] == kind {
                return;
            }
        }
        panic!("no UDP probe of kind {kind} arrived");
    }
}

/// A client stopped by the server's shutdown after acceptance: exit 3, partial output, row incomplete.
fn assert_ended_by_shutdown(c: &mut Proc) {
    let code = c.exit_code(PROMPT);
    assert_eq!(code, 3, "{}\n{}", c.stdout(), c.stderr());
    let out = c.stdout();
    assert!(
        out.contains("INCOMPLETE: server 127.0.0.1:") && out.contains(SHUTTING_DOWN),
        "{out}"
    );
    assert!(c.stderr().trim().is_empty(), "nothing on stderr: {}", c.stderr());
}

// ---------------------------------------------------------------------------------------------
// Raw control connections
// ---------------------------------------------------------------------------------------------

fn frame(msg: &Value) -> Vec<u8> {
    let body = serde_json::to_vec(msg).unwrap();
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// The next frame, or None once the server closed.
fn next_frame(s: &mut TcpStream) -> Option<Value> {
    let mut len = [0u8; 4];
    match s.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if matches!(e.kind(), ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset) => return None,
        Err(e) => panic!("reading a frame: {e}"),
    }
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).unwrap();
    Some(serde_json::from_slice(&body).unwrap())
}

/// A connection that said hello and got its welcome.
fn hello(srv: &Server) -> TcpStream {
    let mut s = TcpStream::connect(srv.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
    let v = saf_net::protocol::PROTOCOL_VERSION;
    s.write_all(&frame(&json!({"hello": {"protocol": v, "software": "shutdown-test"}})))
        .unwrap();
    let welcome = next_frame(&mut s).expect("a welcome");
    assert!(welcome.get("welcome").is_some(), "{welcome}");
    s
}

fn test_request(seconds: f64) -> Value {
    json!({"test": {
        "direction": "forward", "streams": 1, "stop": {"seconds": seconds}, "omit_seconds": 0.0,
        "interval_seconds": 0.25, "block_size": 65536, "window": null, "mss": null, "congestion": null,
        "fq_rate": null, "bitrate": null
    }})
}

/// Reads until the server closes; returns what it said, and fails if that takes past [`PROMPT`].
fn rest(s: &mut TcpStream) -> Vec<Value> {
    let t0 = Instant::now();
    let mut said = Vec::new();
    while let Some(m) = next_frame(s) {
        said.push(m);
    }
    assert!(
        t0.elapsed() < PROMPT,
        "the server kept the connection for {:?}",
        t0.elapsed()
    );
    said
}

fn reason(m: &Value, kind: &str) -> String {
    m[kind]["reason"].as_str().unwrap_or_default().to_string()
}

// ---------------------------------------------------------------------------------------------
// The stages
// ---------------------------------------------------------------------------------------------

/// Hello: a client whose request has not come yet is refused with the reason; one that said nothing is closed.
#[test]
fn stage_hello() {
    let mut srv = Server::start(false);
    let mut s = hello(&srv);
    let mut silent = TcpStream::connect(srv.addr()).unwrap();
    silent.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
    srv.stop();
    let said = rest(&mut s);
    assert_eq!(said.len(), 1, "{said:?}");
    assert_eq!(reason(&said[0], "refused"), SHUTTING_DOWN, "{said:?}");
    assert!(rest(&mut silent).is_empty());
}

/// Queue: the running test ends incomplete; the client waiting in line is refused with the reason.
#[test]
fn stage_queue() {
    let mut srv = Server::start(false);
    let mut first = srv.client(&["-t", "10"], "first");
    srv.proc.wait_for("test 1 from", Duration::from_secs(10));
    let mut second = srv.client(&["-t", "10"], "second");
    second.wait_for("waiting in line at position 1", Duration::from_secs(10));
    srv.stop();
    assert_ended_by_shutdown(&mut first);
    assert_eq!(second.exit_code(PROMPT), 1, "{}", second.stderr());
    let err = second.stderr();
    assert_eq!(
        err.trim(),
        format!("error: server 127.0.0.1:{} refused the test: {SHUTTING_DOWN}", srv.port)
    );
    // The test that ran has its row; the one that never ran has none.
    assert_eq!(srv.history(), ["false"]);
}

/// Accepted: the reproduction (`--latency`), the signal right after the server accepted the test.
#[test]
fn stage_accepted() {
    let mut srv = Server::start(false);
    let mut c = srv.client(&["-t", "10", "--latency"], "client");
    srv.proc.wait_for("test 1 from", Duration::from_secs(10));
    srv.stop();
    assert_ended_by_shutdown(&mut c);
    assert_eq!(srv.history(), ["false"]);
}

/// Accepted, on the wire: no data connection yet, so the server fails the test and closes.
#[test]
fn stage_accepted_raw() {
    let mut srv = Server::start(false);
    let mut s = hello(&srv);
    s.write_all(&frame(&test_request(10.0))).unwrap();
    let accepted = next_frame(&mut s).expect("an acceptance");
    assert!(accepted.get("accepted").is_some(), "{accepted}");
    srv.stop();
    let said = rest(&mut s);
    assert_eq!(said.len(), 1, "{said:?}");
    assert_eq!(reason(&said[0], "failed"), SHUTTING_DOWN);
}

/// MTU probe: the client waits for answers that never come when the signal arrives.
#[test]
fn stage_mtu_probe() {
    let mut srv = Server::start(true);
    let mut c = srv.client(&["-t", "10", "-J"], "client");
    srv.first_probe(3);
    srv.stop();
    assert_eq!(c.exit_code(PROMPT), 3, "{}", c.stderr());
    let doc: Value = serde_json::from_str(&c.stdout()).expect("one JSON document");
    assert_eq!(doc["saf_net"]["complete"], json!(false), "{doc:#}");
    assert!(
        doc["error"].as_str().unwrap_or_default().contains(SHUTTING_DOWN),
        "{doc:#}"
    );
    assert_eq!(srv.history(), ["false"]);
}

/// Latency, idle phase: the client's idle RTT probes go unanswered when the signal arrives.
#[test]
fn stage_latency_idle() {
    let mut srv = Server::start(true);
    let mut c = srv.client(&["-t", "10", "--latency", "--no-mtu-check"], "client");
    srv.first_probe(1);
    srv.stop();
    assert_ended_by_shutdown(&mut c);
    assert_eq!(srv.history(), ["false"]);
}

/// Streams: mid-test, text and -J keep the partial figures.
#[test]
fn stage_streams() {
    for json in [false, true] {
        let mut srv = Server::start(false);
        let args: &[&str] = if json { &["-t", "10", "-J"] } else { &["-t", "10"] };
        let mut c = srv.client(args, "client");
        // -J prints nothing live: the server's log says when the streams started.
        let started = if json { "started" } else { " sec " };
        if json {
            srv.proc.wait_for(started, Duration::from_secs(10));
        } else {
            c.wait_for(started, Duration::from_secs(10));
        }
        srv.stop();
        if json {
            assert_eq!(c.exit_code(PROMPT), 3, "{}", c.stderr());
            let doc: Value = serde_json::from_str(&c.stdout()).expect("one JSON document");
            assert_eq!(doc["saf_net"]["complete"], json!(false), "{doc:#}");
            assert!(
                doc["error"].as_str().unwrap_or_default().contains(SHUTTING_DOWN),
                "{doc:#}"
            );
            assert!(
                doc["end"]["sum_sent"]["bytes"].is_u64(),
                "the partial figures are there: {doc:#}"
            );
        } else {
            assert_ended_by_shutdown(&mut c);
        }
        assert_eq!(srv.history(), ["false"]);
    }
}

/// Results: the streams are over and the server waits for the client's word; it fails the test at once.
#[test]
fn stage_results() {
    let mut srv = Server::start(false);
    let mut s = hello(&srv);
    s.write_all(&frame(&test_request(0.5))).unwrap();
    let accepted = next_frame(&mut s).expect("an acceptance");
    let cookie = accepted["accepted"]["cookie"].as_str().expect("a cookie").to_string();
    let mut data = TcpStream::connect(srv.addr()).unwrap();
    data.write_all(&frame(&json!({"data": {"cookie": cookie, "stream": 1}})))
        .unwrap();
    assert!(
        next_frame(&mut s).is_some_and(|m| m == json!("start")),
        "expected the start"
    );
    // Data past the half second the server's clock runs (its clock starts before our "start" arrives, so 500 ms
    // on ours could end its stream early, short of 0.5 s), then the end of the stream. The server may close the
    // connection at its planned end: a failed write just means that.
    data.set_write_timeout(Some(Duration::from_millis(300))).unwrap();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(800) {
        if data.write_all(&[0u8; 65536]).is_err() {
            break;
        }
    }
    let _ = data.shutdown(std::net::Shutdown::Write);
    // The server closes the data connection when its stream has ended: its clock is done.
    data.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 4096];
    while data.read(&mut buf).is_ok_and(|n| n > 0) {}
    loop {
        let m = next_frame(&mut s).expect("intervals until the last");
        let end = m["interval"]["end"].as_f64().unwrap_or(0.0);
        if end >= 0.5 {
            break;
        }
    }
    // No `done` from us: the server now waits for it (10 s) before its results.
    srv.stop();
    let said = rest(&mut s);
    assert_eq!(reason(&said[0], "failed"), SHUTTING_DOWN, "{said:?}");
    let results = said
        .iter()
        .find(|m| m.get("results").is_some())
        .expect("results after the failure");
    assert_eq!(results["results"]["complete"], json!(false), "{results}");
}

// ---------------------------------------------------------------------------------------------
// Signals to the client
// ---------------------------------------------------------------------------------------------

/// SIGTERM and SIGHUP stop the client like Ctrl-C: partial results, the row incomplete, exit 3.
#[test]
fn client_signals_end_the_test_like_ctrl_c() {
    for (sig, json) in [("-TERM", false), ("-TERM", true), ("-HUP", false), ("-HUP", true)] {
        let mut srv = Server::start(false);
        let args: &[&str] = if json { &["-t", "10", "-J"] } else { &["-t", "10"] };
        let mut c = srv.client(args, "client");
        if json {
            srv.proc.wait_for("started", Duration::from_secs(10));
        } else {
            c.wait_for(" sec ", Duration::from_secs(10));
        }
        c.signal(sig);
        assert_eq!(c.exit_code(PROMPT), 3, "{sig} json={json}: {}", c.stderr());
        let name = &sig[1..];
        if json {
            let doc: Value = serde_json::from_str(&c.stdout()).expect("one JSON document");
            assert_eq!(doc["saf_net"]["complete"], json!(false), "{doc:#}");
            let err = doc["error"].as_str().unwrap_or_default();
            assert!(err.contains(&format!("interrupted by SIG{name}")), "{err}");
            assert!(
                doc["end"]["sum_sent"]["bytes"].is_u64(),
                "the partial figures are there: {doc:#}"
            );
        } else {
            let out = c.stdout();
            assert!(out.contains(&format!("INCOMPLETE: interrupted by SIG{name}")), "{out}");
            assert!(out.contains("sender"), "the partial summary is printed: {out}");
        }
        assert_eq!(srv.history(), ["false"], "{sig} json={json}");
        srv.proc
            .wait_for("client aborted: interrupted by", Duration::from_secs(5));
        srv.stop();
    }
}

/// A signal while waiting in line: one line, exit 3, no row (nothing ran).
#[test]
fn client_signal_in_the_queue() {
    let mut srv = Server::start(false);
    let _first = srv.client(&["-t", "10", "--no-history"], "first");
    srv.proc.wait_for("test 1 from", Duration::from_secs(10));
    let mut second = srv.client(&["-t", "10", "-J"], "second");
    srv.proc.wait_for("queued at position 1", Duration::from_secs(10));
    second.signal("-TERM");
    assert_eq!(second.exit_code(PROMPT), 3, "{}", second.stderr());
    assert_eq!(
        second.stderr().trim(),
        "error: interrupted by SIGTERM before the test started; nothing was measured"
    );
    let doc: Value = serde_json::from_str(&second.stdout()).expect("one JSON document");
    assert_eq!(doc["saf_net"]["complete"], json!(false), "{doc:#}");
    assert!(srv.history().is_empty());
    srv.proc.wait_for("left the queue", Duration::from_secs(5));
    srv.stop();
}
