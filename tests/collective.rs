//! `saf-net collective` over three keyed `--allow-relay` server processes on 127.0.0.1: every op verifies at
//! odd sizes in f32 and bf16, `-J` has nccl-tests' fields and the history a `collective` row; bad input is one
//! line and exit 2; a size above a server's --max-test-memory is refused before anything runs (naming the flag);
//! a node killed mid-run ends the run within the timeout, named, with the sizes already measured kept.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{KillOnDrop, free_port, key_file, logged_server, saf_net, text};
use serde_json::Value;

const KEY: &str = "the collective's key, long enough to pass";

struct Node {
    port: u16,
    _server: KillOnDrop,
}

/// A keyed relaying server process on a free port; `extra` flags appended.
fn node(dir: &Path, i: usize, extra: &[&str]) -> Node {
    let key = key_file(dir, "key", KEY);
    let port = free_port();
    let mut c = saf_net();
    c.args(["server", "-p", &port.to_string(), "--allow-relay", "--psk-file"])
        .arg(&key)
        .args(extra);
    let server = logged_server(c, &dir.join(format!("server{i}.log")), "listening on");
    Node { port, _server: server }
}

fn nodes(dir: &Path, n: usize, extra: &[&str]) -> Vec<Node> {
    (0..n).map(|i| node(dir, i, extra)).collect()
}

/// `saf-net collective` over `nodes` (named n0, n1, …) with `args`, its history in `dir`.
fn collective(dir: &Path, nodes: &[Node], args: &[&str]) -> Command {
    let mut c = saf_net();
    c.arg("collective")
        .args(
            nodes
                .iter()
                .enumerate()
                .map(|(i, n)| format!("n{i}=127.0.0.1:{}", n.port)),
        )
        .arg("--psk-file")
        .arg(dir.join("key"))
        .arg("--csv")
        .arg(dir.join("history.csv"))
        .args(args);
    c
}

fn run(mut c: Command) -> (Option<i32>, String, String) {
    let Output { status, stdout, stderr } = c.output().unwrap();
    (status.code(), text(&stdout), text(&stderr))
}

#[test]
fn every_op_verifies_at_odd_sizes_and_the_json_and_history_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let ns = nodes(dir.path(), 3, &[]);
    for dtype in ["f32", "bf16"] {
        let (code, out, err) = run(collective(
            dir.path(),
            &ns,
            &[
                "--op",
                "allreduce,allgather,reduce-scatter,broadcast,alltoall",
                "--sizes",
                "1001,64K,1000003",
                "--iters",
                "3",
                "--warmup",
                "1",
                "--dtype",
                dtype,
                "-J",
            ],
        ));
        assert_eq!(code, Some(0), "{dtype}: {err}\n{out}");
        let doc: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(doc["saf_net"]["kind"], "collective");
        assert_eq!(doc["saf_net"]["complete"], true);
        assert_eq!(doc["dtype"], dtype);
        let results = doc["results"].as_array().unwrap();
        // 1001 bytes is no whole number of f32s: the plan keeps it, the ranks use its whole elements.
        assert_eq!(results.len(), 15, "{out}");
        for r in results {
            assert_eq!(r["verified"], true, "{r}");
            let (p50, p99) = (r["time_p50_s"].as_f64().unwrap(), r["time_p99_s"].as_f64().unwrap());
            assert!(p50 > 0.0 && p99 >= p50, "{r}");
            let size = r["size_bytes"].as_f64().unwrap();
            let algbw = r["algbw_bps"].as_f64().unwrap();
            assert!(
                (algbw - size * 8.0 / p50).abs() / algbw < 1e-9,
                "algbw = size / time p50: {r}"
            );
            let factor = match r["op"].as_str().unwrap() {
                "allreduce" => 4.0 / 3.0,
                "broadcast" => 1.0,
                _ => 2.0 / 3.0,
            };
            let busbw = r["busbw_bps"].as_f64().unwrap();
            assert!((busbw - algbw * factor).abs() / busbw < 1e-9, "busbw factor: {r}");
        }
        assert_eq!(doc["ops"].as_array().unwrap().len(), 5);
        assert!(doc["bottleneck"].is_null() || doc["bottleneck"]["kind"] == "collective_bottleneck");
        assert!(err.contains("[15/15] "), "progress per point: {err}");
    }
    let csv = std::fs::read_to_string(dir.path().join("history.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().filter(|l| l.contains(",collective,")).collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(rows[0].contains("n0+n1+n2"), "{csv}");
}

#[test]
fn the_text_is_a_table_by_size_with_what_it_means() {
    let dir = tempfile::tempdir().unwrap();
    let ns = nodes(dir.path(), 2, &[]);
    let (code, out, err) = run(collective(
        dir.path(),
        &ns,
        &[
            "--min",
            "1K",
            "--max",
            "1M",
            "--iters",
            "2",
            "--warmup",
            "0",
            "--profile",
            "1gbe",
            "--label",
            "loop",
        ],
    ));
    assert_eq!(code, Some(0), "{err}\n{out}");
    for want in [
        "saf-net collective: 2 nodes (n0 n1)",
        "busbw GB/s",
        "ceiling: 1gbe, 941.5 Mbit/s",
        "peak busbw",
        "latency floor",
        "What it means: Syncing 10 GB of gradients (allreduce) across the 2 nodes takes",
    ] {
        assert!(out.contains(want), "{want:?} in\n{out}");
    }
    // 1K, 2K, … 1M: eleven sizes, each a row that checked out.
    assert_eq!(out.lines().filter(|l| l.ends_with("  ok")).count(), 11, "{out}");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let ns = nodes(dir.path(), 2, &[]);
    let cases: [(&[&str], &str); 5] = [
        (
            &["--sizes", "4"],
            "size 4 bytes is smaller than 2 nodes × 4 bytes of f32",
        ),
        (&["--min", "1M", "--max", "1K"], "--min 1048576 is above --max 1024"),
        (&["--op", "allmix"], "invalid value 'allmix'"),
        (&["--dtype", "f64"], "invalid value 'f64'"),
        (&["--sizes", "1M", "--min", "1K"], "cannot be used with"),
    ];
    for (args, want) in cases {
        let (code, _, err) = run(collective(dir.path(), &ns, args));
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    let (code, _, err) = run(collective(dir.path(), &ns[..1], &[]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("needs at least 2 nodes, got 1"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_size_above_a_servers_test_memory_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut ns = nodes(dir.path(), 1, &[]);
    ns.push(node(dir.path(), 1, &["--max-test-memory", "8M"]));
    let start = Instant::now();
    let (code, out, err) = run(collective(dir.path(), &ns, &["--sizes", "1M,16M", "-J"]));
    assert_eq!(code, Some(3), "{err}\n{out}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["results"].as_array().unwrap().len(), 0, "nothing ran: {out}");
    let problems = doc["problems"].to_string();
    assert!(
        problems.contains("n1: could not join") && problems.contains("--max-test-memory"),
        "{problems}"
    );
    assert!(start.elapsed() < Duration::from_secs(15));
}

#[test]
fn a_node_killed_mid_run_is_named_and_the_sizes_measured_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut ns = nodes(dir.path(), 3, &[]);
    let mut c = collective(
        dir.path(),
        &ns,
        &["--sizes", "64K,128K,32M", "--iters", "200", "--warmup", "0", "-J"],
    );
    // Not KillOnDrop: its output is read at the end; the servers' ends bound it if the test fails first.
    let mut child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    for line in err.lines().map_while(Result::ok) {
        let two_done = line.starts_with("[2/3]");
        seen.push(line);
        if two_done {
            break;
        }
    }
    assert!(seen.last().is_some_and(|l| l.starts_with("[2/3]")), "{seen:?}");
    // The 32M point is running: its node n2 goes away.
    let killed = Instant::now();
    drop(ns.pop());
    let out = child.wait_with_output().unwrap();
    let took = killed.elapsed();
    assert!(took < Duration::from_secs(40), "the run ended {took:?} after the kill");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    let doc: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    let results = doc["results"].as_array().unwrap();
    let kept: Vec<_> = results.iter().filter(|r| r["verified"] == true).collect();
    assert_eq!(kept.len(), 2, "64K and 128K kept: {results:?}");
    let problems = doc["problems"].to_string();
    assert!(problems.contains("n2"), "the node that left is named: {problems}");
    assert_eq!(doc["saf_net"]["complete"], false);
}

#[test]
fn a_sweep_longer_than_a_servers_max_duration_stops_there_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut ns = nodes(dir.path(), 1, &[]);
    ns.push(node(dir.path(), 1, &["--max-duration", "1"]));
    let start = Instant::now();
    let (code, out, err) = run(collective(
        dir.path(),
        &ns,
        &["--sizes", "64K", "--iters", "10000", "--warmup", "0", "-J"],
    ));
    let took = start.elapsed();
    assert_eq!(code, Some(3), "{err}\n{out}");
    assert!(took < Duration::from_secs(20), "ended {took:?} after it started");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["results"][0]["complete"], false, "{out}");
    let problems = doc["problems"].to_string();
    assert!(
        problems.contains("n1: ") && problems.contains("--max-duration"),
        "{problems}"
    );
}
