//! The real iperf3 client (Debian's 3.12 at /usr/bin/iperf3) against a saf-net server on loopback: TCP with 1
//! and 4 streams, -R, --bidir, UDP both ways; the busy answer; the key rule; --no-iperf3; --iperf3-port.
//! Without iperf3 each test prints a loud SKIPPED line and passes. Speed is compared in bench/, not here.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::key;
use saf_net::config::ServerConfig;
use serde_json::Value;

const IPERF3: &str = "/usr/bin/iperf3";

fn have_iperf3(test: &str) -> bool {
    let ok = Path::new(IPERF3).exists();
    if !ok {
        eprintln!("SKIPPED {test}: {IPERF3} is not installed (apt-get install iperf3)");
    }
    ok
}

/// Runs `iperf3 -c 127.0.0.1 -p PORT -J ARGS` to its end (it stops itself: -t is short, and --connect-timeout
/// bounds the connect).
async fn iperf3(port: u16, args: &[&str]) -> (Output, Value) {
    let mut cmd = Command::new(IPERF3);
    cmd.args([
        "-c",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-J",
        "--connect-timeout",
        "3000",
    ])
    .args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, doc)
}

fn bytes(doc: &Value, sum: &str) -> u64 {
    doc["end"][sum]["bytes"].as_u64().unwrap_or(0)
}

/// Exit 0, no error in the document, and the receiver's bytes (the server's count when the client sends) above
/// 0 and never above what was sent.
fn assert_ran(out: &Output, doc: &Value, what: &str) {
    assert!(
        out.status.success() && doc.get("error").is_none(),
        "{what}: {:?} {}\n{}",
        out.status,
        doc["error"],
        common::text(&out.stderr)
    );
    let (sent, received) = (bytes(doc, "sum_sent"), bytes(doc, "sum_received"));
    assert!(received > 0, "{what}: nothing received: {}", doc["end"]);
    assert!(received <= sent, "{what}: received {received} > sent {sent}");
}

async fn server(config: ServerConfig) -> common::Server {
    common::server(config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_one_and_four_streams_reverse_and_bidir() {
    if !have_iperf3("tcp_one_and_four_streams_reverse_and_bidir") {
        return;
    }
    let s = server(ServerConfig::default()).await;
    let port = s.addr.port();
    let (out, doc) = iperf3(port, &["-t", "1"]).await;
    assert_ran(&out, &doc, "1 stream");
    let (out, doc) = iperf3(port, &["-t", "1", "-P", "4"]).await;
    assert_ran(&out, &doc, "-P 4");
    let streams = doc["end"]["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 4);
    let per_stream: u64 = streams.iter().map(|s| s["receiver"]["bytes"].as_u64().unwrap()).sum();
    assert_eq!(
        per_stream,
        bytes(&doc, "sum_received"),
        "the server's per-stream counts add up"
    );
    assert!(
        streams.iter().all(|s| s["receiver"]["bytes"].as_u64() > Some(0)),
        "every stream moved data"
    );
    let (out, doc) = iperf3(port, &["-t", "1", "-R"]).await;
    assert_ran(&out, &doc, "-R");
    assert_eq!(doc["start"]["test_start"]["reverse"], 1);
    let (out, doc) = iperf3(port, &["-t", "1", "--bidir"]).await;
    assert_ran(&out, &doc, "--bidir");
    let back = bytes(&doc, "sum_received_bidir_reverse");
    assert!(
        back > 0 && back <= bytes(&doc, "sum_sent_bidir_reverse"),
        "{}",
        doc["end"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_both_ways_with_loss_and_jitter() {
    if !have_iperf3("udp_both_ways_with_loss_and_jitter") {
        return;
    }
    let s = server(ServerConfig::default()).await;
    for args in [
        &["-u", "-b", "100M", "-t", "1"][..],
        &["-u", "-b", "100M", "-t", "1", "-R"],
    ] {
        let (out, doc) = iperf3(s.addr.port(), args).await;
        assert_ran(&out, &doc, &format!("{args:?}"));
        let sum = &doc["end"]["sum"];
        let (packets, lost) = (sum["packets"].as_u64().unwrap(), sum["lost_packets"].as_u64().unwrap());
        assert!(packets > 0 && lost < packets, "{args:?}: {sum}");
        assert!(sum["jitter_ms"].as_f64().is_some_and(|j| j >= 0.0), "{sum}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_client_gets_iperf3s_busy_answer() {
    if !have_iperf3("a_second_client_gets_iperf3s_busy_answer") {
        return;
    }
    let s = server(ServerConfig::default()).await;
    let port = s.addr.port();
    let first = tokio::spawn(iperf3(port, &["-t", "3"]));
    // Wait until the first test holds the slot: its streams are up well within a second.
    tokio::time::sleep(Duration::from_millis(800)).await;
    // iperf3 3.12 exits 0 with -J even on errors; the document's error is what tells.
    let (_, doc) = iperf3(port, &["-t", "1"]).await;
    let error = doc["error"].as_str().unwrap_or_default();
    assert!(error.contains("busy"), "iperf3's own busy message: {doc}");
    let (out, doc) = first.await.unwrap();
    assert_ran(&out, &doc, "the first test, beside the refused one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyed_server_refuses_iperf3_unless_allowed() {
    if !have_iperf3("a_keyed_server_refuses_iperf3_unless_allowed") {
        return;
    }
    let psk = key("a key of well over sixteen bytes");
    let keyed = server(ServerConfig {
        psk: Some(psk.clone()),
        ..ServerConfig::default()
    })
    .await;
    let (_, doc) = iperf3(keyed.addr.port(), &["-t", "1"]).await;
    let error = doc["error"].as_str().unwrap_or_default();
    assert!(error.contains("authorization failed"), "{doc}");
    let allowed = server(ServerConfig {
        psk: Some(psk),
        iperf3_without_key: true,
        ..ServerConfig::default()
    })
    .await;
    let (out, doc) = iperf3(allowed.addr.port(), &["-t", "1"]).await;
    assert_ran(&out, &doc, "--allow-iperf3-without-key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_iperf3_turns_it_off() {
    if !have_iperf3("no_iperf3_turns_it_off") {
        return;
    }
    let s = server(ServerConfig {
        iperf3: false,
        ..ServerConfig::default()
    })
    .await;
    let began = Instant::now();
    let (_, doc) = iperf3(s.addr.port(), &["-t", "1"]).await;
    assert!(doc.get("error").is_some() && bytes(&doc, "sum_received") == 0, "{doc}");
    assert!(began.elapsed() < Duration::from_secs(8), "refused promptly");
}

#[test]
fn the_binary_serves_iperf3_on_its_iperf3_port_too() {
    if !have_iperf3("the_binary_serves_iperf3_on_its_iperf3_port_too") {
        return;
    }
    let (port, extra) = (common::free_port(), common::free_port());
    let child = common::saf_net()
        .args([
            "server",
            "-q",
            "-p",
            &port.to_string(),
            "--iperf3-port",
            &extra.to_string(),
        ])
        .spawn()
        .unwrap();
    let _server = common::KillOnDrop(child);
    let addr: SocketAddr = ([127, 0, 0, 1], extra).into();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "the server never listened on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    for args in [&["-t", "1"][..], &["-t", "1", "-u", "-b", "50M"]] {
        let (out, doc) = rt.block_on(iperf3(extra, args));
        assert_ran(&out, &doc, &format!("{args:?} on --iperf3-port"));
    }
    let clash = common::saf_net()
        .args(["server", "-p", &port.to_string(), "--iperf3-port", &port.to_string()])
        .output()
        .unwrap();
    assert_eq!(clash.status.code(), Some(2), "{}", common::text(&clash.stderr));
    assert!(common::text(&clash.stderr).contains("--iperf3-port"));
}
