//! UDP throughput (`-u`) end to end: counting, pacing, every direction, JSON, bad input and faults.
//!
//! Library-level tests run a server in-process on 127.0.0.1 (port 0). Process-level tests run the real binary.
//! Traffic goes only to loopback, or to loopback inside a network namespace this file creates (and deletes).

mod common;

use std::io::Read;
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{BIN, KillOnDrop, Server, free_port, is_root};
use saf_net::client::Event;
use saf_net::config::{ClientInput, ServerConfig};
use saf_net::engine::udp::{Meter, UdpPlan, spawn};
use saf_net::engine::{Flags, StreamSpec};
use saf_net::kinds::throughput::{self, Outcome};
use saf_net::output::{Report, RunMeta, history, json};
use saf_net::protocol::{
    ClientMessage, Cookie, DatagramKind, Direction, FLAG_END, Header, PROTOCOL_VERSION, Protocol, ServerMessage,
    SideResults, StopAfter, TestRequest, UdpCounts, read_message, set_data_tag, write_message,
};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// In-process server and client
// ---------------------------------------------------------------------------------------------

async fn server() -> Server {
    common::server(ServerConfig::default()).await
}

fn input(srv: &Server, f: impl FnOnce(&mut ClientInput)) -> ClientInput {
    let mut i = ClientInput::new("127.0.0.1");
    i.port = srv.addr.port();
    i.protocol = Protocol::Udp;
    i.time = Some(1.0);
    i.interval = 0.25;
    i.bitrate = Some(100_000_000);
    f(&mut i);
    i
}

async fn run(input: ClientInput) -> Outcome {
    let plan = input.plan().expect("valid plan");
    let mut quiet = |_: Event<'_>| {};
    throughput::run(&plan, &mut quiet).await.expect("test starts")
}

fn doc(o: &Outcome) -> Value {
    let meta = RunMeta::new("127.0.0.1", o.server.port(), None, None);
    serde_json::from_str(&json::render(o, &meta)).unwrap()
}

fn u(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no {key} in {v}"))
}

/// Every UDP document: iperf3's UDP names everywhere, and every sum equal to the sum of its streams.
fn check_udp_json(d: &Value) {
    assert_eq!(d["start"]["test_start"]["protocol"], "UDP");
    for iv in d["intervals"].as_array().unwrap() {
        let streams = iv["streams"].as_array().unwrap();
        assert!(!streams.is_empty());
        for s in streams {
            for key in ["jitter_ms", "lost_packets", "packets", "lost_percent", "out_of_order"] {
                assert!(s.get(key).is_some(), "interval stream lacks {key}: {s}");
            }
        }
        if iv.get("sum_bidir_reverse").is_none() {
            for key in ["bytes", "packets", "lost_packets", "out_of_order"] {
                let total: u64 = streams.iter().map(|s| u(s, key)).sum();
                assert_eq!(u(&iv["sum"], key), total, "interval sum of {key}: {iv}");
            }
        }
    }
    let end = &d["end"];
    let streams = end["streams"].as_array().unwrap();
    for s in streams {
        let udp = &s["udp"];
        for key in [
            "jitter_ms",
            "lost_packets",
            "packets",
            "lost_percent",
            "out_of_order",
            "bytes",
        ] {
            assert!(udp.get(key).is_some(), "end.streams[].udp lacks {key}: {s}");
        }
        assert_eq!(udp["bytes"], s["receiver"]["bytes"]);
        assert!(u(&s["sender"], "packets") > 0, "{s}");
    }
    let headline: Vec<&Value> = if end.get("sum_bidir_reverse").is_some() {
        streams.iter().take(streams.len() / 2).collect()
    } else {
        streams.iter().collect()
    };
    let sum = &end["sum"];
    for key in ["bytes", "packets", "lost_packets", "out_of_order"] {
        let total: u64 = headline.iter().map(|s| u(&s["udp"], key)).sum();
        assert_eq!(u(sum, key), total, "end.sum.{key} = sum over streams");
    }
    assert_eq!(sum["bytes"], end["sum_received"]["bytes"]);
    assert_eq!(sum["lost_packets"], end["sum_received"]["lost_packets"]);
    let pct = sum["lost_percent"].as_f64().unwrap();
    let want = 100.0 * u(sum, "lost_packets") as f64 / u(sum, "packets").max(1) as f64;
    assert!((pct - want).abs() < 1e-9, "lost_percent = 100 * lost / packets");
    assert!(sum["jitter_ms"].as_f64().unwrap() >= 0.0);
}

fn receiver_counts(o: &Outcome, client_sends: bool) -> UdpCounts {
    let d = o
        .directions()
        .into_iter()
        .find(|d| d.client_sends == client_sends)
        .unwrap();
    saf_net::kinds::udp::totals_sum(&d.receiver).expect("UDP receiver totals")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_reverse_bidir_and_parallel_run_on_loopback() {
    let srv = server().await;
    for (direction, streams) in [
        (Direction::Forward, 1),
        (Direction::Reverse, 1),
        (Direction::Forward, 3),
        (Direction::Reverse, 2),
        (Direction::Bidir, 2),
    ] {
        let o = run(input(&srv, |i| {
            i.parallel = streams;
            i.reverse = direction == Direction::Reverse;
            i.bidir = direction == Direction::Bidir;
            i.bitrate = Some(50_000_000);
        }))
        .await;
        let what = format!("{direction:?} -P {streams}");
        assert!(o.complete(), "{what}: {:?}", o.error);
        assert_eq!(
            o.request.block_size, 1472,
            "{what}: loopback gets an Ethernet-sized payload"
        );
        let dirs = o.directions();
        assert_eq!(dirs.len(), if direction == Direction::Bidir { 2 } else { 1 });
        for d in &dirs {
            assert_eq!(d.receiver.len(), streams as usize, "{what}");
            let rx = saf_net::kinds::udp::totals_sum(&d.receiver).unwrap();
            let tx = saf_net::kinds::udp::totals_sum(&d.sender).unwrap();
            assert_eq!(rx.packets, tx.packets, "{what}: every datagram sent is accounted for");
            assert_eq!(rx.received + rx.lost, rx.packets, "{what}: {rx:?}");
            assert!(
                rx.lost_percent() < 1.0,
                "{what}: loopback at 50 Mbit/s per stream: {rx:?}"
            );
            let mbps = d.received.rate().mbps() / streams as f64;
            assert!((40.0..60.0).contains(&mbps), "{what}: {mbps} Mbit/s per stream");
        }
        check_udp_json(&doc(&o));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacing_holds_within_five_percent_at_200_mbits() {
    let srv = server().await;
    let o = run(input(&srv, |i| {
        i.time = Some(2.0);
        i.bitrate = Some(200_000_000);
    }))
    .await;
    assert!(o.complete(), "{:?}", o.error);
    let d = &o.directions()[0];
    let sent = d.sent.rate().mbps();
    let got = d.received.rate().mbps();
    assert!((190.0..=210.0).contains(&sent), "sender {sent:.1} Mbit/s, target 200");
    assert!((190.0..=210.0).contains(&got), "receiver {got:.1} Mbit/s, target 200");
    // Interval by interval too (the last one may be short).
    for iv in d.receiver_intervals.iter().filter(|iv| iv.end - iv.start > 0.2) {
        let bytes: u64 = iv.received.iter().map(|b| b.bytes).sum();
        let mbps = bytes as f64 * 8.0 / (iv.end - iv.start) / 1e6;
        assert!((170.0..=230.0).contains(&mbps), "interval {iv:?}: {mbps:.1} Mbit/s");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byte_count_and_omit_work_with_udp() {
    let srv = server().await;
    let o = run(input(&srv, |i| {
        i.time = None;
        i.bytes = Some(1472 * 1000);
        i.length = Some(1472);
    }))
    .await;
    assert!(o.complete(), "{:?}", o.error);
    assert_eq!(receiver_counts(&o, true).packets, 1000);
    let o = run(input(&srv, |i| {
        i.omit = 0.5;
        i.time = Some(1.0);
    }))
    .await;
    assert!(o.complete(), "{:?}", o.error);
    let rx = receiver_counts(&o, true);
    // 100 Mbit/s of 1472-byte datagrams for the measured second only: about 8500, not 12700.
    assert!((7500..9500).contains(&rx.packets), "{rx:?}");
    let d = doc(&o);
    check_udp_json(&d);
    assert!(d["intervals"][0]["streams"][0]["omitted"].as_bool().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_rows_are_kind_udp_with_udp_columns() {
    let srv = server().await;
    let o = run(input(&srv, |i| i.bidir = true)).await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("h.csv");
    let meta = RunMeta::new("127.0.0.1", o.server.port(), None, None);
    history::append(&csv, &o.history_row(&meta), "{}").unwrap();
    let rows = history::read(&csv).unwrap();
    let r = &rows[0];
    assert_eq!(r.kind.as_deref(), Some("udp"));
    assert_eq!(r.schema_version, Some(history::SCHEMA_VERSION));
    assert_eq!(r.detail.udp_datagram_bytes, Some(1472));
    assert_eq!(r.detail.udp_target_mbps, Some(100.0));
    assert!(r.detail.udp_packets.unwrap() > 0);
    assert!(r.detail.udp_lost_percent.is_some() && r.detail.udp_jitter_ms.is_some());
    assert!(r.detail.reverse_udp_lost_percent.is_some() && r.detail.reverse_udp_jitter_ms.is_some());
    assert!(r.receiver_mbps.unwrap() > 50.0);
}

// ---------------------------------------------------------------------------------------------
// Counting against a sender that skips, swaps and repeats sequence numbers
// ---------------------------------------------------------------------------------------------

/// Data datagrams of one stream in the order a naughty sender emits them: 3 and 7 skipped, 5/6 swapped, 8
/// repeated, then 10..100 clean; then the end marker saying 100 were sent.
fn naughty(cookie: Cookie, stream: u32) -> Vec<Vec<u8>> {
    let mut order: Vec<u64> = vec![0, 1, 2, 4, 6, 5, 8, 8, 9];
    order.extend(10..100);
    let mut out: Vec<Vec<u8>> = order
        .iter()
        .map(|&seq| {
            let mut b = vec![0u8; 200];
            Header {
                kind: DatagramKind::Data,
                cookie,
                seq,
                sent_ns: seq * 100_000,
            }
            .write(&mut b);
            set_data_tag(&mut b, 0, stream);
            b
        })
        .collect();
    let mut end = vec![0u8; 40];
    Header {
        kind: DatagramKind::Data,
        cookie,
        seq: 100,
        sent_ns: 0,
    }
    .write(&mut end);
    set_data_tag(&mut end, FLAG_END, stream);
    out.push(end);
    out
}

fn assert_naughty_counts(c: &UdpCounts) {
    assert_eq!(c.packets, 100, "{c:?}");
    assert_eq!(c.lost, 2, "3 and 7 never came: {c:?}");
    assert_eq!(c.out_of_order, 1, "5 came after 6: {c:?}");
    assert_eq!(c.duplicates, 1, "8 came twice: {c:?}");
    assert_eq!(c.received, 98, "{c:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_counts_loss_reordering_and_duplicates_of_a_naughty_sender() {
    let srv = server().await;
    let sock = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let (mut rd, mut wr) = sock.into_split();
    let hs = Duration::from_secs(5);
    let cap = saf_net::protocol::DEFAULT_MAX_FRAME;
    let hello = ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        software: "test".into(),
        nonce: None,
    };
    write_message(&mut wr, &hello).await.unwrap();
    assert!(matches!(
        read_message::<ServerMessage, _>(&mut rd, cap, hs).await.unwrap(),
        ServerMessage::Welcome { .. }
    ));
    let req = TestRequest {
        direction: Direction::Forward,
        streams: 1,
        stop: StopAfter::Seconds(1.0),
        omit_seconds: 0.0,
        interval_seconds: 0.5,
        block_size: 200,
        window: None,
        mss: None,
        congestion: None,
        fq_rate: None,
        bitrate: Some(1_000_000),
        udp_echo: false,
        protocol: Protocol::Udp,
        server_cpu: None,
        skip_rx_copy: false,
    };
    write_message(&mut wr, &ClientMessage::Test(req)).await.unwrap();
    let ServerMessage::Accepted { cookie, .. } = read_message(&mut rd, cap, hs).await.unwrap() else {
        panic!("not accepted")
    };
    assert_eq!(
        read_message::<ServerMessage, _>(&mut rd, cap, hs).await.unwrap(),
        ServerMessage::Start
    );
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.connect(srv.addr).unwrap();
    // A stranger's cookie is dropped unread.
    for d in naughty(Cookie([0xee; 16]), 1) {
        tx.send(&d).unwrap();
    }
    for d in naughty(cookie, 1) {
        tx.send(&d).unwrap();
        std::thread::sleep(Duration::from_micros(200));
    }
    write_message(&mut wr, &ClientMessage::Done).await.unwrap();
    let results: SideResults = loop {
        match read_message::<ServerMessage, _>(&mut rd, cap, Duration::from_secs(10))
            .await
            .unwrap()
        {
            ServerMessage::Interval(_) => {}
            ServerMessage::Results(r) => break r,
            other => panic!("unexpected {other:?}"),
        }
    };
    let s = &results.streams[0];
    assert!(!s.sender);
    assert_naughty_counts(&s.udp.expect("UDP totals"));
    assert_eq!(s.bytes, 98 * 200, "distinct datagrams only");
}

#[test]
fn client_receiver_counts_loss_reordering_and_duplicates_of_a_naughty_sender() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.connect(rx.local_addr().unwrap()).unwrap();
    let cookie = Cookie([7; 16]);
    let flags = Arc::new(Flags::default());
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let meter = Meter::new(3);
    let stream = spawn(
        UdpPlan::Receive {
            socket: rx,
            cookie,
            meter: meter.clone(),
        },
        StreamSpec {
            id: 3,
            sender: false,
            quota: None,
            block_size: 200,
            pace_bps: None,
            idle_timeout: None,
            cpu: None,
            discard: false,
            fixed_window: false,
        },
        flags,
        done_tx,
    )
    .unwrap();
    // Another stream's datagrams on this socket are not this stream's.
    for d in naughty(cookie, 4).into_iter().take(5) {
        tx.send(&d).unwrap();
    }
    for d in naughty(cookie, 3) {
        tx.send(&d).unwrap();
        std::thread::sleep(Duration::from_micros(200));
    }
    let f = done_rx.blocking_recv().expect("the receiver ends at the end marker");
    assert!(f.error.is_none(), "{f:?}");
    assert_naughty_counts(&meter.counts(false));
    assert_eq!(stream.bytes(), 98 * 200);
}

// ---------------------------------------------------------------------------------------------
// The real binary: bad input and a server that dies mid-test
// ---------------------------------------------------------------------------------------------

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn wait(mut p: KillOnDrop, limit: Duration) -> Run {
    let start = Instant::now();
    let code = loop {
        if let Some(status) = p.0.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        assert!(start.elapsed() < limit, "still running after {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    p.0.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    p.0.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    Run { code, stdout, stderr }
}

fn command(prefix: &[&str], args: &[&str]) -> Command {
    let mut cmd = match prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(BIN);
            c
        }
        None => Command::new(BIN),
    };
    common::isolate(&mut cmd)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn start(cmd: &mut Command) -> KillOnDrop {
    KillOnDrop(cmd.spawn().expect("the binary starts"))
}

/// A server process (inside `prefix`, e.g. `ip netns exec NS`) once it accepts connections.
fn server_process(prefix: &[&str], port: u16) -> KillOnDrop {
    let mut cmd = command(prefix, &["server", "-p", &port.to_string(), "-B", "127.0.0.1"]);
    cmd.stderr(Stdio::null());
    let p = start(&mut cmd);
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(5) {
        let probe = command(
            prefix,
            &[
                "latency",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "--count",
                "1",
                "--no-history",
            ],
        )
        .output();
        if probe.is_ok_and(|o| o.status.success()) {
            return p;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server on port {port} did not come up");
}

fn one_line_error(r: &Run) -> &str {
    let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {:?}", r.stderr);
    lines[0]
}

#[test]
fn bad_udp_input_gets_one_clear_line_and_a_nonzero_exit() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["-b", "fast"], &["'fast'", "not a bit rate"]),
        (&["-l", "20"], &["-l 20", "40-byte saf-net header"]),
        (&["-l", "70000"], &["-l 70000", "65507"]),
        (&["-M", "1400"], &["-M applies to TCP tests only"]),
        (&["-C", "reno"], &["-C applies to TCP tests only"]),
        (&["--latency"], &["--latency applies to TCP tests only"]),
        (&["--skip-rx-copy"], &["--skip-rx-copy applies to TCP tests only"]),
    ];
    for (extra, needles) in cases {
        let mut args = vec!["client", "127.0.0.1", "-p", "1", "-u", "--no-history"];
        args.extend_from_slice(extra);
        let r = wait(start(&mut command(&[], &args)), Duration::from_secs(10));
        assert_eq!(r.code, 2, "{extra:?}: {}", r.stderr);
        let line = one_line_error(&r);
        for n in *needles {
            assert!(line.contains(n), "{extra:?}: {line:?} lacks {n:?}");
        }
    }
}

#[test]
fn server_killed_mid_udp_test_leaves_partial_results_marked_incomplete() {
    let port = free_port();
    let srv = server_process(&[], port);
    let p = port.to_string();
    let client = start(&mut command(
        &[],
        &[
            "client",
            "127.0.0.1",
            "-p",
            &p,
            "-u",
            "-b",
            "50M",
            "-t",
            "6",
            "-J",
            "--no-history",
        ],
    ));
    std::thread::sleep(Duration::from_millis(1500));
    drop(srv);
    let t = Instant::now();
    let r = wait(client, Duration::from_secs(20));
    assert!(
        t.elapsed() < Duration::from_secs(8),
        "the client noticed late: {:?}",
        t.elapsed()
    );
    assert_eq!(r.code, 3, "incomplete: exit 3: {}", r.stderr);
    let d: Value = serde_json::from_str(&r.stdout).expect("one JSON document");
    assert_eq!(d["saf_net"]["complete"], Value::Bool(false));
    assert!(
        d["error"].as_str().is_some_and(|e| e.contains("127.0.0.1")),
        "{}",
        d["error"]
    );
    assert!(u(&d["end"]["sum_sent"], "bytes") > 0, "partial figures are kept");
    assert!(
        !d["intervals"].as_array().unwrap().is_empty(),
        "the server's early intervals are kept"
    );
}

// ---------------------------------------------------------------------------------------------
// Path MTU: a namespace whose loopback has a 1500-byte MTU (root + iproute2)
// ---------------------------------------------------------------------------------------------

struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip_ok(&["netns", "del", &self.0]);
    }
}

fn ip_ok(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn datagram_size_follows_the_path_mtu_and_oversize_names_it() {
    if !is_root() || !ip_ok(&["-V"]) {
        eprintln!("SKIPPED (needs root + iproute2): datagram_size_follows_the_path_mtu_and_oversize_names_it");
        return;
    }
    let name = format!("saf-udp-{}", std::process::id());
    let _ = ip_ok(&["netns", "del", &name]);
    assert!(ip_ok(&["netns", "add", &name]), "ip netns add {name}");
    let ns = Netns(name);
    assert!(ip_ok(&["-n", &ns.0, "link", "set", "lo", "mtu", "1500", "up"]));
    let prefix = ["ip", "netns", "exec", ns.0.as_str()];
    let port = free_port().to_string();
    let _srv = server_process(&prefix, port.parse().unwrap());
    let base = [
        "client",
        "127.0.0.1",
        "-p",
        &port,
        "-u",
        "-t",
        "0.5",
        "-b",
        "20M",
        "--no-history",
    ];
    let mut args = base.to_vec();
    args.extend(["-l", "2000"]);
    let r = wait(start(&mut command(&prefix, &args)), Duration::from_secs(20));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let line = one_line_error(&r);
    assert!(
        line.contains("-l 2000") && line.contains("path MTU of 1500 bytes") && line.contains("at most 1472"),
        "{line}"
    );
    let mut args = base.to_vec();
    args.push("-J");
    let r = wait(start(&mut command(&prefix, &args)), Duration::from_secs(20));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let d: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        d["start"]["test_start"]["blksize"], 1472,
        "the default fits a 1500-byte path"
    );
    check_udp_json(&d);
}
