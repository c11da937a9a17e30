//! `saf-net mesh` through the binary against keyed servers on loopback (one host, a port per node): every pair
//! measured by the nodes' own servers through the relay, the matrices, `-J`, the history (a row per pair), and a
//! node that refuses to relay named while its incoming pairs still run.

mod common;

use std::path::Path;

use common::{Server, saf_net, text};
use saf_net::auth::Psk;
use saf_net::config::ServerConfig;

const KEY: &str = "mesh-run-test-key-0123456789abcdef";

fn key_file(dir: &Path) -> std::path::PathBuf {
    common::key_file(dir, "key", KEY)
}

async fn node(psk: &Psk, allow_relay: bool) -> Server {
    common::server(ServerConfig {
        psk: Some(psk.clone()),
        allow_relay,
        max_relays_per_minute: 1000,
        ..ServerConfig::default()
    })
    .await
}

/// Runs `saf-net mesh ARGS` on a blocking thread (the servers run on this runtime); exit code, stdout, stderr.
async fn mesh(args: Vec<String>) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        let o = saf_net().arg("mesh").args(&args).output().unwrap();
        (o.status.code().unwrap_or(-1), text(&o.stdout), text(&o.stderr))
    })
    .await
    .unwrap()
}

fn args(nodes: &[&Server], key: &Path, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = nodes.iter().map(|s| format!("127.0.0.1:{}", s.addr.port())).collect();
    a.extend(["--psk-file".to_string(), key.display().to_string()]);
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_measure_every_pair_and_record_a_row_each() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let psk = Psk::resolve(Some(&key)).unwrap().unwrap();
    let (a, b, c) = (node(&psk, true).await, node(&psk, true).await, node(&psk, true).await);
    let csv = dir.path().join("history.csv");
    let extra = [
        "-t",
        "0.5",
        "-P",
        "2",
        "-J",
        "--csv",
        csv.to_str().unwrap(),
        "--label",
        "loop",
    ];
    let (code, out, err) = mesh(args(&[&a, &b, &c], &key, &extra)).await;
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let findings = doc["findings"].as_array().unwrap();
    // Loopback pairs may differ enough for a matrix finding; nothing may be incomplete or refused.
    assert!(code == 0 || (code == 4 && !findings.is_empty()), "exit {code}: {err}");
    assert!(
        findings
            .iter()
            .all(|f| !["node_unreachable", "relay_refused"].contains(&f["kind"].as_str().unwrap())),
        "{findings:?}"
    );
    assert_eq!(doc["saf_net"]["complete"], true, "{err}");
    assert_eq!(doc["saf_net"]["label"], "loop");
    let pairs = doc["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 6);
    for p in pairs {
        assert_eq!(p["complete"], true, "{p}");
        assert!(p["goodput_bps"].as_u64().unwrap() > 1_000_000, "{p}");
        assert!(p["goodput_parallel_bps"].as_u64().unwrap() > 1_000_000, "{p}");
    }
    let nodes = doc["nodes"].as_array().unwrap();
    assert!(
        nodes.iter().all(|n| n["interface"] == "lo"),
        "facts of each node: {nodes:?}"
    );
    let progress = err.lines().filter(|l| l.starts_with('[')).count();
    assert_eq!(progress, 6, "a progress line per pair: {err}");
    let rows = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(rows.lines().filter(|l| l.contains(",mesh,")).count(), 6, "{rows}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_refuses_to_relay_is_named_and_still_receives() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let psk = Psk::resolve(Some(&key)).unwrap().unwrap();
    let (a, b, no) = (node(&psk, true).await, node(&psk, true).await, node(&psk, false).await);
    let (code, out, err) = mesh(args(&[&a, &b, &no], &key, &["-t", "0.3", "-P", "1", "--no-history"])).await;
    assert_eq!(code, 4, "{out}{err}");
    let refusing = format!("127.0.0.1:{}", no.addr.port());
    assert!(
        out.contains(&format!("Finding [relay_refused] {refusing}: refused")),
        "{out}"
    );
    assert!(out.contains("--allow-relay"), "the fix names the flag: {out}");
    assert!(out.contains("Goodput, 1 stream"), "{out}");
    // Its two pairs as sender are incomplete; the four others (two of them into it) complete.
    let incomplete = err.lines().filter(|l| l.contains("(incomplete)")).count();
    let complete = err
        .lines()
        .filter(|l| l.starts_with('[') && !l.contains("(incomplete)"))
        .count();
    assert_eq!((complete, incomplete), (4, 2), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_another_key_is_named_and_all_its_pairs_left_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let psk = Psk::resolve(Some(&key)).unwrap().unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let other_file = other_dir.path().join("key");
    std::fs::write(&other_file, "another-key-entirely-0123456789abcdef").unwrap();
    let other = Psk::resolve(Some(&other_file)).unwrap().unwrap();
    let (a, b, odd) = (node(&psk, true).await, node(&psk, true).await, node(&other, true).await);
    let (code, out, err) = mesh(args(
        &[&a, &b, &odd],
        &key,
        &["-t", "0.3", "-P", "1", "-J", "--no-history"],
    ))
    .await;
    assert_eq!(code, 4, "{out}{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let odd_name = format!("127.0.0.1:{}", odd.addr.port());
    let named: Vec<(&str, &str)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), f["subject"].as_str().unwrap()))
        // Loopback pairs may differ enough for a matrix finding; only the node findings are judged.
        .filter(|(k, _)| ["relay_refused", "node_unreachable"].contains(k))
        .collect();
    assert_eq!(named, [("relay_refused", odd_name.as_str())], "{out}");
    for p in doc["pairs"].as_array().unwrap() {
        let involves = p["from"] == odd_name.as_str() || p["to"] == odd_name.as_str();
        assert_eq!(p["complete"], !involves, "{p}");
    }
}

/// SIGINT during the run: the pairs measured so far are printed and recorded, the rest incomplete, exit 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_keeps_the_pairs_measured() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let psk = Psk::resolve(Some(&key)).unwrap().unwrap();
    let (a, b, c) = (node(&psk, true).await, node(&psk, true).await, node(&psk, true).await);
    let csv = dir.path().join("history.csv");
    let argv = args(
        &[&a, &b, &c],
        &key,
        &["-t", "1", "-P", "1", "-J", "--csv", csv.to_str().unwrap()],
    );
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        use std::io::{BufRead, Read};
        let mut child = saf_net()
            .arg("mesh")
            .args(&argv)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Stop once the first pair is in: kill(1) sends SIGINT as a terminal's Ctrl-C would.
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut err = String::new();
        while stderr.read_line(&mut err).unwrap() > 0 && !err.contains("[1/6]") {}
        let _ = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        stderr.read_to_string(&mut err).unwrap();
        let o = child.wait_with_output().unwrap();
        (o.status.code().unwrap_or(-1), text(&o.stdout), err)
    })
    .await
    .unwrap();
    assert_eq!(code, 3, "{out}{err}");
    assert!(err.contains("interrupted by Ctrl-C (SIGINT)"), "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let pairs = doc["pairs"].as_array().unwrap();
    let done = pairs.iter().filter(|p| p["complete"] == true).count();
    assert!((1..6).contains(&done), "some pairs measured, not all: {out}");
    let rows = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        rows.lines().filter(|l| l.contains(",mesh,")).count(),
        6,
        "every pair recorded: {rows}"
    );
}
