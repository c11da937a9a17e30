//! `saf-net mesh` through the binary: bad node lists (one line, exit 2), the dry-run plan, nodes that answer
//! nothing (named, exit 4), and --from-ray against a fake `python3` first on PATH (Ray's answer, no Ray, no cluster).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Output;

use common::{saf_net, sandbox, text};

fn mesh(args: &[&str]) -> Output {
    saf_net().arg("mesh").args(args).output().unwrap()
}

/// Exit code, stdout, stderr.
fn run(args: &[&str]) -> (i32, String, String) {
    let o = mesh(args);
    (o.status.code().unwrap_or(-1), text(&o.stdout), text(&o.stderr))
}

fn one_error_line(stderr: &str, starts: &str) {
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with(starts), "{stderr}");
}

#[test]
fn bad_node_lists_are_one_line_and_exit_2() {
    let (code, _, err) = run(&["10.0.0.1", "--dry-run"]);
    assert_eq!(code, 2);
    one_error_line(&err, "error: a mesh needs at least 2 nodes, got 1; give more NODEs");
    let (code, _, err) = run(&["10.0.0.1", "x=10.0.0.1", "--dry-run"]);
    assert_eq!(code, 2);
    one_error_line(&err, "error: node 'x' is the same host as '10.0.0.1'");
    let file = sandbox().join("mesh-nodes-bad.txt");
    std::fs::write(&file, "# nodes\n10.0.0.1\none two three\n").unwrap();
    let (code, _, err) = run(&["--nodes", file.to_str().unwrap(), "--dry-run"]);
    assert_eq!(code, 2);
    one_error_line(
        &err,
        &format!("error: {}:3: 'one two three' is not a node", file.display()),
    );
    let (code, _, err) = run(&["a", "--nodes", "/nonexistent/saf-net-nodes", "--dry-run"]);
    assert_eq!(code, 2);
    one_error_line(&err, "error: cannot read the node list /nonexistent/saf-net-nodes: ");
    let (code, _, err) = run(&["a", "b", "--concurrent", "incast:c", "--dry-run"]);
    assert_eq!(code, 2);
    one_error_line(
        &err,
        "error: --concurrent incast:c names no node of the mesh; give one of: a, b",
    );
}

#[test]
fn the_dry_run_prints_every_ordered_pair_and_the_file_joins_the_arguments() {
    let file = sandbox().join("mesh-nodes.txt");
    std::fs::write(&file, "gpu3 10.0.0.3\n\n10.0.0.4  # last\n").unwrap();
    let (code, out, err) = run(&[
        "10.0.0.1",
        "10.0.0.2",
        "--nodes",
        file.to_str().unwrap(),
        "--dry-run",
        "-t",
        "3",
    ]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert!(out.starts_with("Mesh plan: 4 nodes, sequential, -t 3 -P 4\n"), "{out}");
    assert!(out.contains("  3  gpu3 (10.0.0.3)\n"), "{out}");
    assert!(
        out.contains("Ordered pairs: 12, each a 1-stream and a 4-stream run of 3 s\n"),
        "{out}"
    );
    assert!(out.contains("   12  10.0.0.4->gpu3\n"), "{out}");
    let (code, out, _) = run(&["a", "b", "c", "--dry-run", "--concurrent", "ring", "-J"]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["mode"], "concurrent ring");
    assert_eq!(doc["rounds"].as_array().unwrap().len(), 2);
    assert_eq!(doc["rounds"][0][2]["to"], "a");
}

#[test]
fn nodes_that_answer_nothing_are_named_and_their_pairs_left_incomplete() {
    let (p1, p2) = (common::free_port(), common::free_port());
    let (a, b) = (format!("127.0.0.1:{p1}"), format!("127.0.0.1:{p2}"));
    let (code, out, err) = run(&[&a, &b, "--connect-timeout", "1", "-J", "--no-history"]);
    assert_eq!(code, 4, "{out}{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["saf_net"]["complete"], false);
    let pairs = doc["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 2);
    assert!(
        pairs
            .iter()
            .all(|p| p["complete"] == false && p["goodput_bps"].is_null())
    );
    let findings = doc["findings"].as_array().unwrap();
    let named: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), f["subject"].as_str().unwrap()))
        .collect();
    assert_eq!(
        named,
        [("node_unreachable", a.as_str()), ("node_unreachable", b.as_str())]
    );
    assert!(err.contains(&a), "progress names the node: {err}");
}

/// A folder with a fake `python3` that prints `stdout` and exits `code`, first on PATH.
fn fake_python(name: &str, stdout: &str, code: i32) -> PathBuf {
    let dir = sandbox().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("python3");
    std::fs::write(
        &script,
        format!("#!/bin/sh\ncat <<'EOF'\n{stdout}\nEOF\necho 'fake ray says no' >&2\nexit {code}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn with_fake(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default());
    let o = saf_net().arg("mesh").args(args).env("PATH", path).output().unwrap();
    (o.status.code().unwrap_or(-1), text(&o.stdout), text(&o.stderr))
}

#[test]
fn from_ray_lists_the_alive_nodes_and_checks_the_ray_ports() {
    let answer = r#"{"nodes": [{"Alive": true, "NodeManagerAddress": "10.0.0.1", "NodeManagerHostname": "head"},
 {"Alive": false, "NodeManagerAddress": "10.0.0.2", "NodeManagerHostname": "gone"},
 {"Alive": true, "NodeManagerAddress": "10.0.0.3", "NodeManagerHostname": "worker"}],
 "dashboard_url": "10.0.0.1:8265", "gcs_address": "10.0.0.1:6380"}"#;
    let dir = fake_python("fake-ray-ok", answer, 0);
    let (code, out, err) = with_fake(&dir, &["--from-ray", "--ray-address", "10.0.0.1:6380", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "note: Ray node gone (10.0.0.2) is dead: left out\n");
    assert!(out.contains("  1  head (10.0.0.1)\n  2  worker (10.0.0.3)\n"), "{out}");
    assert!(
        out.contains("Ports to check from each node to each other: 6380, 8265\n"),
        "{out}"
    );
    let (_, out, _) = with_fake(&dir, &["--from-ray", "--check-ports", "22", "--dry-run"]);
    assert!(out.contains("each other: 22\n"), "{out}");
}

#[test]
fn from_ray_without_ray_or_a_cluster_is_one_line_and_exit_1() {
    let dir = fake_python("fake-ray-missing", "", 3);
    let (code, _, err) = with_fake(&dir, &["--from-ray", "--dry-run"]);
    assert_eq!(code, 1);
    one_error_line(
        &err,
        "error: --from-ray: Ray is not installed for python3 (fake ray says no)",
    );
    let dir = fake_python("fake-ray-nocluster", "", 4);
    let (code, _, err) = with_fake(&dir, &["--from-ray", "--dry-run"]);
    assert_eq!(code, 1);
    one_error_line(
        &err,
        "error: --from-ray: no Ray cluster at auto: fake ray says no; start one",
    );
    let one = r#"{"nodes": [{"Alive": true, "NodeManagerAddress": "10.0.0.1"}]}"#;
    let dir = fake_python("fake-ray-one", one, 0);
    let (code, _, err) = with_fake(&dir, &["--from-ray", "--dry-run"]);
    assert_eq!(code, 2);
    one_error_line(
        &err,
        "error: a mesh needs at least 2 nodes, got 1 (Ray at auto lists 1 alive node(s))",
    );
}
