//! `saf-net mesh` through the binary against keyed servers on loopback (one host, a port per node): every pair
//! measured by the nodes' own servers through the relay, the matrices, `-J`, the history (a row per pair), and a
//! node that refuses to relay named while its incoming pairs still run.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Server, saf_net, text};
use saf_net::auth::Psk;
use saf_net::config::ServerConfig;

const KEY: &str = "mesh-run-test-key-0123456789abcdef";

fn key_file(dir: &Path) -> std::path::PathBuf {
    let f = dir.join("key");
    std::fs::write(&f, KEY).unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    f
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
