//! Many TCP senders to this host give way to its receivers (engine/tcp.rs, #21): the client's stream threads
//! run at a lower priority than the server's, every byte still arrives, and SAF_NET_SENDER_YIELD=0 turns it off.
#![cfg(target_os = "linux")]

mod common;

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{KillOnDrop, free_port, logged_server, saf_net};

/// The nice values of a process's stream threads (proc(5): stat field 19, 17 fields after the command's ')').
fn stream_nices(pid: u32) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut nices = Vec::new();
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        let nice = stat
            .rfind(')')
            .and_then(|i| stat.get(i + 2..)?.split(' ').nth(16)?.parse().ok());
        if let (true, Some(n)) = (comm.starts_with("stream-"), nice) {
            nices.push(n);
        }
    }
    nices
}

struct Seen {
    client: Vec<i32>,
    server: Vec<i32>,
    json: serde_json::Value,
}

/// Runs `-P streams` for 2 s over loopback and records both sides' stream-thread priorities mid-test.
fn run(streams: usize, env: &[(&str, &str)]) -> Seen {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let mut srv = saf_net();
    srv.args(["server", "-p", &port, "--max-streams", "1024"])
        .envs(env.iter().copied());
    let server = logged_server(srv, &dir.path().join("server.log"), "listening");
    let mut cli = saf_net();
    cli.args([
        "client",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        "2",
        "-P",
        &streams.to_string(),
        "-J",
    ])
    .envs(env.iter().copied())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let client = KillOnDrop(cli.spawn().unwrap());
    let start = Instant::now();
    let (mut c, mut s) = (Vec::new(), Vec::new());
    while start.elapsed() < Duration::from_secs(10) && (c.len() < streams || s.len() < streams) {
        std::thread::sleep(Duration::from_millis(100));
        (c, s) = (stream_nices(client.0.id()), stream_nices(server.0.id()));
    }
    let mut client = client;
    let (mut stdout, mut stderr) = (Vec::new(), String::new());
    client.0.stdout.take().unwrap().read_to_end(&mut stdout).unwrap();
    client.0.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(client.0.wait().unwrap().success(), "{stderr}");
    Seen {
        client: c,
        server: s,
        json: serde_json::from_slice(&stdout).unwrap(),
    }
}

/// More senders than two per CPU: the many-streams case the yield is for; None on a host too large to run that
/// many in a test.
fn many() -> Option<usize> {
    let n = 2 * std::thread::available_parallelism().map_or(1, |n| n.get()) + 1;
    if n > 257 {
        eprintln!("SKIPPED: {n} streams (more than two per CPU) is too many for this test on this host");
        return None;
    }
    Some(n)
}

#[test]
fn many_senders_to_this_host_run_below_its_receivers_and_lose_nothing() {
    let Some(n) = many() else { return };
    let seen = run(n, &[]);
    assert_eq!(seen.client.len(), n, "all client streams seen: {:?}", seen.client);
    assert!(seen.client.iter().all(|&v| v >= 10), "senders yield: {:?}", seen.client);
    assert!(
        seen.server.iter().all(|&v| v < 10),
        "receivers keep their priority: {:?}",
        seen.server
    );
    let end = &seen.json["end"];
    let (sent, got) = (end["sum_sent"]["bytes"].as_u64(), end["sum_received"]["bytes"].as_u64());
    assert!(
        got.is_some_and(|b| b > 0) && sent == got,
        "every byte arrives: {sent:?} {got:?}"
    );
}

#[test]
fn the_yield_can_be_turned_off() {
    let Some(n) = many() else { return };
    let seen = run(n, &[("SAF_NET_SENDER_YIELD", "0")]);
    assert_eq!(seen.client.len(), n, "all client streams seen: {:?}", seen.client);
    assert!(
        seen.client.iter().all(|&v| v < 10),
        "no sender yields: {:?}",
        seen.client
    );
}
