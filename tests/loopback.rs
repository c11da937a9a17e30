//! End-to-end throughput tests against an in-process server on 127.0.0.1, port 0.

mod common;

use std::time::{Duration, Instant};

use common::{Server, server};
use saf_net::client::Event;
use saf_net::config::{ClientInput, ServerConfig};
use saf_net::kinds::throughput::{self, Outcome};
use saf_net::output::history;
use saf_net::output::{Report, RunMeta, json};
use serde_json::Value;

fn input(srv: &Server, f: impl FnOnce(&mut ClientInput)) -> ClientInput {
    let mut i = ClientInput::new("127.0.0.1");
    i.port = srv.addr.port();
    i.time = Some(1.0);
    i.interval = 0.25;
    f(&mut i);
    i
}

async fn run(input: ClientInput) -> Outcome {
    let mut events = |_: Event<'_>| {};
    run_with(input, &mut events).await
}

async fn run_with(input: ClientInput, obs: &mut dyn saf_net::Observer) -> Outcome {
    let plan = input.plan().expect("valid plan");
    throughput::run(&plan, obs).await.expect("test starts")
}

fn doc(o: &Outcome) -> Value {
    let meta = RunMeta::new("127.0.0.1", o.server.port(), Some("t".into()), None);
    serde_json::from_str(&json::render(o, &meta)).unwrap()
}

/// Checks the invariants every -J document must hold.
fn check_json(d: &Value) {
    let intervals = d["intervals"].as_array().unwrap();
    assert!(!intervals.is_empty());
    for iv in intervals {
        for key in ["sum", "sum_bidir_reverse"] {
            let Some(sum) = iv.get(key) else { continue };
            let sender = sum["sender"].as_bool().unwrap();
            let streams: u64 = iv["streams"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["sender"].as_bool() == Some(sender) && s["start"] == sum["start"])
                .map(|s| s["bytes"].as_u64().unwrap())
                .sum();
            if key == "sum" && iv.get("sum_bidir_reverse").is_none() {
                assert_eq!(sum["bytes"].as_u64().unwrap(), streams, "interval sum = sum of streams");
            }
        }
    }
    let end = &d["end"];
    let rx: u64 = end["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["receiver"]["bytes"].as_u64().unwrap())
        .sum();
    let tx: u64 = end["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sender"]["bytes"].as_u64().unwrap())
        .sum();
    let rev_rx = end
        .get("sum_received_bidir_reverse")
        .map_or(0, |s| s["bytes"].as_u64().unwrap());
    let rev_tx = end
        .get("sum_sent_bidir_reverse")
        .map_or(0, |s| s["bytes"].as_u64().unwrap());
    assert_eq!(
        end["sum_received"]["bytes"].as_u64().unwrap() + rev_rx,
        rx,
        "sum_received = sum over streams"
    );
    assert_eq!(
        end["sum_sent"]["bytes"].as_u64().unwrap() + rev_tx,
        tx,
        "sum_sent = sum over streams"
    );
    assert!(
        end["sum_received"]["bytes"].as_u64().unwrap() <= end["sum_sent"]["bytes"].as_u64().unwrap()
            || d["start"]["test_start"]["omit"].as_f64().unwrap() > 0.0,
        "receiver bytes <= sender bytes"
    );
    let bps = end["sum_received"]["bits_per_second"].as_f64().unwrap();
    let want = end["sum_received"]["bytes"].as_f64().unwrap() * 8.0 / end["sum_received"]["seconds"].as_f64().unwrap();
    assert!((bps - want).abs() < 1.0, "bits_per_second = bytes*8/seconds");
    assert_eq!(d["saf_net"]["receiver_bits_per_second"].as_f64().unwrap(), bps);
}

/// Non-omitted receiver intervals of the headline direction.
fn measured_intervals(o: &Outcome) -> usize {
    o.directions()[0]
        .receiver_intervals
        .iter()
        .filter(|i| !i.omitted)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_single_stream() {
    let srv = server(ServerConfig::default()).await;
    let o = run(input(&srv, |_| {})).await;
    assert!(o.complete(), "{:?}", o.error);
    let d = &o.directions()[0];
    assert!(d.client_sends);
    assert!(d.received.bytes > 0 && d.received.bytes <= d.sent.bytes);
    assert!((0.9..1.5).contains(&d.received.seconds), "{}", d.received.seconds);
    assert_eq!(measured_intervals(&o), 4);
    let doc = doc(&o);
    check_json(&doc);
    assert_eq!(doc["intervals"].as_array().unwrap().len(), 4);
    assert_eq!(doc["saf_net"]["complete"], Value::Bool(true));
    assert_eq!(doc["start"]["test_start"]["num_streams"], 1);
    assert_eq!(doc["start"]["test_start"]["reverse"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reverse_two_streams() {
    let srv = server(ServerConfig::default()).await;
    let o = run(input(&srv, |i| {
        i.reverse = true;
        i.parallel = 2;
    }))
    .await;
    assert!(o.complete(), "{:?}", o.error);
    let dirs = o.directions();
    assert_eq!(dirs.len(), 1);
    assert!(!dirs[0].client_sends, "server sends under -R");
    assert_eq!(dirs[0].receiver.len(), 2);
    assert!(dirs[0].receiver.iter().all(|s| s.bytes > 0));
    assert!(
        o.local.results.streams.iter().all(|s| !s.sender),
        "client only receives"
    );
    let doc = doc(&o);
    check_json(&doc);
    assert_eq!(doc["start"]["test_start"]["reverse"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bidir_reports_both_directions() {
    let srv = server(ServerConfig::default()).await;
    let o = run(input(&srv, |i| {
        i.bidir = true;
        i.parallel = 2;
    }))
    .await;
    assert!(o.complete(), "{:?}", o.error);
    let dirs = o.directions();
    assert_eq!(dirs.len(), 2);
    assert!(dirs[0].client_sends && !dirs[1].client_sends);
    for d in &dirs {
        assert_eq!(d.sender.len(), 2);
        assert!(d.received.bytes > 0 && d.received.bytes <= d.sent.bytes);
    }
    let doc = doc(&o);
    check_json(&doc);
    assert!(doc["end"]["sum_received_bidir_reverse"]["bytes"].as_u64().unwrap() > 0);
    assert!(doc["intervals"][0]["sum_bidir_reverse"]["bytes"].as_u64().is_some());
    assert!(doc["saf_net"]["reverse_receiver_bits_per_second"].as_f64().unwrap() > 0.0);
    assert_eq!(doc["end"]["streams"].as_array().unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_parallel_streams() {
    let srv = server(ServerConfig::default()).await;
    let o = run(input(&srv, |i| i.parallel = 8)).await;
    assert!(o.complete(), "{:?}", o.error);
    let d = &o.directions()[0];
    assert_eq!(d.receiver.len(), 8);
    assert!(d.receiver.iter().all(|s| s.bytes > 0), "every stream moved data");
    let ids: Vec<u32> = d.receiver.iter().map(|s| s.stream).collect();
    assert_eq!(ids, (1..=8).collect::<Vec<_>>());
    check_json(&doc(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byte_count_is_exact() {
    let srv = server(ServerConfig::default()).await;
    let n = 10 * 1024 * 1024 + 7;
    let o = run(input(&srv, |i| {
        i.time = None;
        i.bytes = Some(n);
        i.parallel = 3;
    }))
    .await;
    assert!(o.complete(), "{:?}", o.error);
    let d = &o.directions()[0];
    assert_eq!(d.sent.bytes, n);
    assert_eq!(d.received.bytes, n);
    let doc = doc(&o);
    check_json(&doc);
    assert_eq!(doc["start"]["test_start"]["bytes"], n);
    // And the reverse direction honours -n too.
    let o = run(input(&srv, |i| {
        i.time = None;
        i.bytes = Some(n);
        i.reverse = true;
    }))
    .await;
    assert!(o.complete(), "{:?}", o.error);
    assert_eq!(o.directions()[0].received.bytes, n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn omitted_seconds_add_to_the_test_and_are_left_out() {
    let srv = server(ServerConfig::default()).await;
    let started = Instant::now();
    let o = run(input(&srv, |i| i.omit = 0.5)).await;
    assert!(started.elapsed() >= Duration::from_millis(1500), "-O adds to -t");
    assert!(o.complete(), "{:?}", o.error);
    let d = &o.directions()[0];
    let omitted = d.receiver_intervals.iter().filter(|i| i.omitted).count();
    assert_eq!(omitted, 2);
    assert_eq!(measured_intervals(&o), 4);
    let measured: u64 = d
        .receiver_intervals
        .iter()
        .filter(|i| !i.omitted)
        .flat_map(|i| &i.received)
        .map(|b| b.bytes)
        .sum();
    assert_eq!(
        measured, d.received.bytes,
        "summary covers exactly the measured intervals"
    );
    assert!(d.receiver[0].bytes_total > d.received.bytes);
    assert!((0.9..1.5).contains(&d.received.seconds));
    check_json(&doc(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_client_waits_in_line_and_is_told_its_position() {
    let srv = server(ServerConfig::default()).await;
    let first = tokio::spawn(run(input(&srv, |i| i.time = Some(1.5))));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut positions = Vec::new();
    let mut started = None;
    let begin = Instant::now();
    let mut obs = |e: Event<'_>| match e {
        Event::Queued { position } => positions.push(position),
        Event::Started { .. } => started = Some(begin.elapsed()),
        _ => {}
    };
    let second = run_with(input(&srv, |i| i.time = Some(0.5)), &mut obs).await;
    let first = first.await.unwrap();
    assert!(first.complete() && second.complete());
    assert!(positions.contains(&1), "queued at position 1, saw {positions:?}");
    assert!(
        started.unwrap() >= Duration::from_millis(900),
        "second test waited for the first"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_append_whole_history_lines() {
    let srv = server(ServerConfig {
        max_concurrent: 2,
        ..ServerConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("history.csv");
    let mut handles = Vec::new();
    for k in 0..2 {
        let inp = input(&srv, |i| i.time = Some(0.5));
        let csv = csv.clone();
        handles.push(tokio::spawn(async move {
            let o = run(inp).await;
            let meta = RunMeta::new(
                "127.0.0.1",
                o.server.port(),
                Some(format!("client {k}, \"quoted\"")),
                None,
            );
            let row = o.history_row(&meta);
            tokio::task::spawn_blocking(move || history::append(&csv, &row, &json::render(&o, &meta)).unwrap())
                .await
                .unwrap();
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let rows = history::read(&csv).unwrap();
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(r.schema_version, Some(history::SCHEMA_VERSION));
        assert_eq!(r.kind.as_deref(), Some("throughput"));
        assert!(r.receiver_mbps.unwrap() > 0.0);
        let details = dir.path().join(r.details.as_ref().unwrap());
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(details).unwrap()).unwrap();
        assert!(
            doc["intervals"].as_array().is_some_and(|v| !v.is_empty()),
            "per-run JSON holds the intervals"
        );
    }
}

#[test]
fn many_writers_never_interleave_lines() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("h.csv");
    let row = |i: usize| history::HistoryRow {
        schema_version: history::SCHEMA_VERSION,
        kind: "throughput".into(),
        run_id: format!("run-{i}"),
        time_utc: "2026-11-29T00:00:00Z".into(),
        label: "x".repeat(2000 + i),
        profile: String::new(),
        client_host: "c".into(),
        server_host: "s".into(),
        direction: "forward".into(),
        streams: 1,
        duration_s: 1.0,
        bytes: i as u64,
        receiver_mbps: 1.0,
        sender_mbps: 1.0,
        reverse_receiver_mbps: None,
        reverse_sender_mbps: None,
        complete: true,
        saf_net_version: "0".into(),
        ..history::HistoryRow::default()
    };
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let csv = csv.clone();
            let r = row(i);
            std::thread::spawn(move || history::append(&csv, &r, "{}").unwrap())
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let rows = history::read(&csv).unwrap();
    assert_eq!(rows.len(), 16);
    let mut ids: Vec<u64> = rows.iter().map(|r| r.bytes.unwrap()).collect();
    ids.sort();
    assert_eq!(ids, (0..16).collect::<Vec<_>>());
    for r in rows {
        assert_eq!(
            r.label.unwrap().len(),
            2000 + r.bytes.unwrap() as usize,
            "no torn lines"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_sets_socket_buffers() {
    let srv = server(ServerConfig::default()).await;
    let o = run(input(&srv, |i| {
        i.window = Some(256 * 1024);
        i.time = Some(0.3);
    }))
    .await;
    assert!(o.complete(), "{:?}", o.error);
    // Linux doubles the requested size for bookkeeping; either way it is near the request, not the default.
    let s = &o.streams[0];
    assert!(
        (256 * 1024..=512 * 1024u64).contains(&s.socket.sndbuf),
        "sndbuf {}",
        s.socket.sndbuf
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_loopback_works_when_available() {
    let Ok(listener) = tokio::net::TcpListener::bind("[::1]:0").await else {
        eprintln!("SKIPPED ipv6_loopback_works_when_available: no IPv6 loopback on this machine");
        return;
    };
    let addr = listener.local_addr().unwrap();
    let _srv = Server::on(
        listener,
        ServerConfig {
            log: false,
            ..ServerConfig::default()
        },
    );
    let mut i = ClientInput::new("::1");
    i.port = addr.port();
    i.time = Some(0.3);
    let o = run(i).await;
    assert!(o.complete(), "{:?}", o.error);
    assert!(o.server.is_ipv6());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_refuse_before_any_data_moves() {
    let srv = server(ServerConfig {
        max_streams: 2,
        ..ServerConfig::default()
    })
    .await;
    let plan = input(&srv, |i| i.parallel = 3).plan().unwrap();
    let mut connected_streams = 0;
    let mut obs = |e: Event<'_>| {
        if let Event::Started { streams } = e {
            connected_streams = streams.len();
        }
    };
    let err = throughput::run(&plan, &mut obs).await.unwrap_err();
    assert!(err.to_string().contains("--max-streams"), "{err}");
    assert_eq!(connected_streams, 0);
}
