//! `saf-net server --metrics ADDR`: the server's counters move by what clients did (a test served and its bytes,
//! a refusal for a wrong key), and a taken address is one line and a failure exit.

mod common;
#[path = "common/scrape.rs"]
mod scrape;

use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

use common::{free_port, logged_server, saf_net, text};
use scrape::{get, value, wait_for};

#[test]
fn the_counters_move_by_what_clients_did() {
    let dir = tempfile::tempdir().unwrap();
    let good = common::key_file(dir.path(), "good", "server-metrics-key-0123456789abcdef\n");
    let bad = common::key_file(dir.path(), "bad", "another-key-entirely-0123456789abcdef\n");
    let port = free_port();
    let metrics = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut s = saf_net();
    s.args([
        "server",
        "-p",
        &port.to_string(),
        "--metrics",
        &metrics.to_string(),
        "--psk-file",
    ])
    .arg(&good);
    let _server = logged_server(s, &dir.path().join("server.log"), "listening on");
    let (up, before) = wait_for(metrics, "/metrics", Duration::from_secs(10), |b| b.contains("# EOF"));
    assert!(up, "no /metrics: {before}");
    assert_eq!(
        value(&before, "saf_net_server_served_total{kind=\"throughput\"}"),
        None,
        "{before}"
    );

    let client = |k: &std::path::Path| {
        saf_net()
            .args([
                "client",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-t",
                "1",
                "--no-history",
                "--psk-file",
            ])
            .arg(k)
            .stdout(Stdio::null())
            .output()
            .unwrap()
    };
    let ok = client(&good);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    let refused = client(&bad);
    assert!(!refused.status.success());

    let (_, body) = get(metrics, "/metrics").unwrap();
    assert_eq!(
        value(&body, "saf_net_server_served_total{kind=\"throughput\"}"),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        value(&body, "saf_net_server_refused_total{reason=\"key\"}"),
        Some(1.0),
        "{body}"
    );
    let received = value(&body, "saf_net_server_test_bytes_total{direction=\"received\"}").unwrap_or(0.0);
    assert!(received > 1e6, "a 1 s loopback upload moved more than 1 MB: {body}");
    assert_eq!(value(&body, "saf_net_server_tests_running"), Some(0.0), "{body}");
    assert_eq!(value(&body, "saf_net_server_queue_length"), Some(0.0), "{body}");
    let (status, _) = get(metrics, "/anything").unwrap();
    assert_eq!(status, 404);
}

#[test]
fn a_taken_metrics_address_is_one_line() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = saf_net()
        .args([
            "server",
            "-p",
            &free_port().to_string(),
            "--metrics",
            &addr,
            "--one-off",
        ])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let line = err.lines().find(|l| l.starts_with("error:")).unwrap_or_default();
    assert!(line.contains(&addr) && line.contains("--metrics"), "{err}");
}
