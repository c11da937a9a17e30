//! `saf-net monitor` on loopback: real servers (the binary), the monitor as a process, its endpoint read with
//! plain HTTP. What a peer that does not answer does to the others, `/probe`'s rules, the budget, bad input.

mod common;
#[path = "common/scrape.rs"]
mod scrape;

use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{KillOnDrop, free_port, logged_server, saf_net, text};
use scrape::{get, value, wait_for};

fn server(dir: &std::path::Path, port: u16, key: &std::path::Path) -> KillOnDrop {
    let mut c = saf_net();
    c.args(["server", "-p", &port.to_string(), "--psk-file"]).arg(key);
    logged_server(c, &dir.join(format!("server-{port}.log")), "listening on")
}

fn monitor(args: &[String], log: &std::path::Path) -> KillOnDrop {
    let out = std::fs::File::create(log).unwrap();
    let child = saf_net()
        .arg("monitor")
        .args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    KillOnDrop(child)
}

fn key_file(dir: &std::path::Path) -> std::path::PathBuf {
    common::key_file(dir, "key", "monitor-test-key-0123456789abcdef\n")
}

fn listen_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

fn s(v: &str) -> String {
    v.to_string()
}

#[test]
fn two_peers_are_watched_and_a_dead_one_does_not_stop_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let (p1, p2, dead) = (free_port(), free_port(), free_port());
    let _a = server(dir.path(), p1, &key);
    let _b = server(dir.path(), p2, &key);
    let listen = listen_addr();
    let args = vec![
        s("--peer"),
        format!("a=127.0.0.1:{p1}"),
        s("--peer"),
        format!("b=127.0.0.1:{p2}"),
        s("--peer"),
        format!("gone=127.0.0.1:{dead}"),
        s("--psk-file"),
        key.display().to_string(),
        s("--listen"),
        listen.to_string(),
        s("--profile"),
        s("10gbe"),
        s("--throughput-every"),
        s("1h"),
        s("--budget"),
        s("off"),
    ];
    let log = dir.path().join("monitor.log");
    let _m = monitor(&args, &log);
    let (ok, body) = wait_for(listen, "/metrics", Duration::from_secs(20), |b| {
        ["a", "b"].iter().all(|p| {
            value(b, &format!("saf_net_rtt_seconds_count{{peer=\"{p}\"")).is_some_and(|v| v >= 5.0)
                && value(
                    b,
                    &format!("saf_net_probe_up{{peer=\"{p}\",profile=\"10gbe\",probe=\"facts\"}}"),
                ) == Some(1.0)
        }) && value(b, "saf_net_probe_up{peer=\"gone\",profile=\"10gbe\",probe=\"rtt\"}") == Some(0.0)
    });
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        ok,
        "metrics never showed both peers up and the dead one down:\n{body}\nlog:\n{logged}"
    );
    assert!(
        value(&body, "saf_net_profile_mtu_bytes{peer=\"a\",profile=\"10gbe\"}") == Some(1500.0),
        "{body}"
    );
    assert!(
        body.contains(
            "saf_net_interface_mtu_bytes{peer=\"a\",profile=\"10gbe\",interface=\"lo\",side=\"local\"} 65536"
        ),
        "{body}"
    );
    assert!(logged.contains("gone: rtt DOWN"), "{logged}");
    assert!(
        !body.contains("saf_net_goodput_bits_per_second{"),
        "--budget off runs no sample:\n{body}"
    );
}

#[test]
fn probe_answers_only_for_configured_peers_and_never_dials_another() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let p1 = free_port();
    let _a = server(dir.path(), p1, &key);
    // A listener the monitor must never connect to: /probe?target= naming it gets 400.
    let bait = TcpListener::bind("127.0.0.1:0").unwrap();
    bait.set_nonblocking(true).unwrap();
    let listen = listen_addr();
    let args = vec![
        s("--peer"),
        format!("127.0.0.1:{p1}"),
        s("--psk-file"),
        key.display().to_string(),
        s("--listen"),
        listen.to_string(),
        s("--budget"),
        s("100G/day"),
        s("--throughput-every"),
        s("1h"),
    ];
    let _m = monitor(&args, &dir.path().join("monitor.log"));
    let (up, _) = wait_for(listen, "/", Duration::from_secs(10), |b| b.contains("/metrics"));
    assert!(up, "the endpoint did not come up");
    let bait_target = format!("127.0.0.1:{}", bait.local_addr().unwrap().port());
    for q in [
        format!("/probe?target={bait_target}&module=rtt"),
        format!("/probe?target={bait_target}&module=throughput"),
        format!("/probe?target=127.0.0.1:{p1}&module=bogus"),
        "/probe?module=rtt".to_string(),
    ] {
        let (status, body) = get(listen, &q).unwrap();
        assert_eq!(status, 400, "{q}: {body}");
        assert_eq!(body.trim().lines().count(), 1, "{q}: one line: {body}");
    }
    assert!(
        bait.accept().is_err(),
        "the monitor dialled a target that is not a peer"
    );
    let (status, body) = get(listen, &format!("/probe?target=127.0.0.1:{p1}&module=rtt")).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("saf_net_probe_success 1"), "{body}");
    assert!(
        value(&body, "saf_net_rtt_seconds_count{").is_some_and(|v| v >= 1.0),
        "{body}"
    );
    let (status, body) = get(listen, &format!("/probe?target=127.0.0.1:{p1}&module=throughput")).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("saf_net_probe_success 1") && body.contains("saf_net_goodput_bits_per_second{"),
        "{body}"
    );
    let spent = value(&body, "saf_net_throughput_budget_remaining_bytes").unwrap();
    assert!(
        spent < 100.0 * (1u64 << 30) as f64,
        "the /probe sample counts against --budget: {body}"
    );
}

#[test]
fn a_sample_is_skipped_not_queued_while_another_test_holds_the_slot() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let p1 = free_port();
    let _a = server(dir.path(), p1, &key);
    // Another client holds the only slot for 8 s.
    let mut holder = saf_net();
    holder
        .args([
            "client",
            "127.0.0.1",
            "-p",
            &p1.to_string(),
            "-t",
            "8",
            "--no-history",
            "--psk-file",
        ])
        .arg(&key);
    let holder = KillOnDrop(holder.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap());
    std::thread::sleep(Duration::from_millis(700));
    let listen = listen_addr();
    let args = vec![
        s("--peer"),
        format!("127.0.0.1:{p1}"),
        s("--psk-file"),
        key.display().to_string(),
        s("--listen"),
        listen.to_string(),
        s("--budget"),
        s("100G/day"),
    ];
    let log = dir.path().join("monitor.log");
    let _m = monitor(&args, &log);
    let start = std::time::Instant::now();
    let (status, body) = get(
        listen_ready(listen),
        &format!("/probe?target=127.0.0.1:{p1}&module=throughput"),
    )
    .unwrap();
    assert!(start.elapsed() < Duration::from_secs(5), "the sample waited in line");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("saf_net_probe_success 0") && body.contains("skipped: another test holds"),
        "{body}"
    );
    let (ok, body) = wait_for(listen, "/metrics", Duration::from_secs(5), |b| {
        value(b, "saf_net_rtt_seconds_count{").is_some_and(|v| v >= 5.0)
    });
    assert!(ok, "RTT probes run while the slot is held (slot-free echo):\n{body}");
    drop(holder);
}

fn listen_ready(listen: SocketAddr) -> SocketAddr {
    let (up, _) = wait_for(listen, "/", Duration::from_secs(10), |b| b.contains("/metrics"));
    assert!(up, "the endpoint did not come up");
    listen
}

#[test]
fn bad_input_is_one_line_and_exit_2_and_a_taken_listen_address_exit_1() {
    let cases: [(&[&str], &str); 4] = [
        (&[], "no peers"),
        (&["--peer", "127.0.0.1", "--budget", "lots"], "--budget"),
        (&["--peer", "127.0.0.1", "--rtt-every", "soon"], "--rtt-every"),
        (&["--peer", "127.0.0.1", "--listen", "nowhere"], "--listen"),
    ];
    for (args, want) in cases {
        let out = saf_net().arg("monitor").args(args).output().unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want) && err.trim().lines().count() == 1, "{args:?}: {err}");
    }
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let mut c: Command = saf_net();
    let out = c
        .args(["monitor", "--peer", "127.0.0.1", "--listen", &addr])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&addr) && err.contains("--listen") && err.contains("already in use"),
        "{err}"
    );
}
