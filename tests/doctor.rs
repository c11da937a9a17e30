//! `saf-net doctor` on loopback: the `-J` layout, an unreachable host (named first, local facts still there,
//! exit 1), a tiny `-w` named with its fix, bad input.

mod common;

use common::{free_port, logged_server, saf_net, text};
use serde_json::Value;

fn server(dir: &std::path::Path) -> (common::KillOnDrop, u16) {
    let port = free_port();
    let mut c = saf_net();
    c.args(["server", "-p", &port.to_string()]);
    (logged_server(c, &dir.join("server.log"), "listening on"), port)
}

fn doctor(args: &[&str]) -> (Option<i32>, String, String) {
    let out = saf_net().arg("doctor").args(args).output().unwrap();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn json_has_the_facts_the_test_and_ranked_findings() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, port) = server(dir.path());
    let p = port.to_string();
    let (code, out, err) = doctor(&[
        "127.0.0.1",
        "-p",
        &p,
        "-t",
        "1",
        "-J",
        "--check-ports",
        &format!("{p},{}", free_port()),
    ]);
    let doc: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    assert!(matches!(code, Some(0) | Some(4)), "{code:?} {err}");
    assert_eq!(doc["reached"], true);
    assert_eq!(doc["facts"]["local"]["link"]["interface"], "lo");
    assert_eq!(doc["facts"]["remote"]["link"]["interface"], "lo");
    assert!(doc["facts"]["path_mtu"].as_u64().is_some_and(|m| m >= 1500), "{doc}");
    assert!(doc["sample"]["goodput_bps"].as_f64().is_some_and(|g| g > 1e8), "{doc}");
    let findings = doc["findings"].as_array().unwrap();
    for f in findings {
        for k in ["kind", "subject", "text", "fix"] {
            assert!(f[k].is_string(), "{f}");
        }
    }
    assert!(
        findings.iter().any(|f| f["kind"] == "port_unreachable"),
        "the closed port is named: {doc}"
    );
    assert_eq!(doc["ports"][0]["state"], "open", "{doc}");
    assert!(err.contains("doctor: the path MTU"), "progress on stderr: {err}");
}

#[test]
fn an_unreachable_host_is_the_first_finding_and_exit_1() {
    let port = free_port().to_string();
    let (code, out, _) = doctor(&["127.0.0.1", "-p", &port]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.starts_with("Limiting factor (node_unreachable): 127.0.0.1 did not answer"),
        "{out}"
    );
    assert!(
        out.contains("TCP buffers (rx/tx)") && out.contains("interface             lo"),
        "local facts still shown: {out}"
    );
    let (code, out, _) = doctor(&["127.0.0.1", "-p", &port, "-J"]);
    assert_eq!(code, Some(1));
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["findings"][0]["kind"], "node_unreachable");
    assert_eq!(doc["reached"], false);
}

#[test]
fn a_tiny_window_is_named_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, port) = server(dir.path());
    let (code, out, err) = doctor(&[
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-t",
        "1",
        "-w",
        "8K",
        "--profile",
        "10gbe",
        "-J",
    ]);
    assert_eq!(code, Some(4), "{out}\n{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["findings"][0]["kind"], "socket_buffer_small", "{doc}");
    assert!(
        doc["findings"][0]["fix"].as_str().unwrap().starts_with("drop -w"),
        "{doc}"
    );
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    for (args, want) in [
        (vec!["127.0.0.1", "-t", "0.1"], "-t 0.1"),
        (vec!["127.0.0.1", "-P", "0"], "-P 0"),
        (vec!["127.0.0.1", "--profile", "nope"], "unknown profile"),
        (vec!["127.0.0.1", "--check-ports", "99999"], "99999"),
    ] {
        let (code, _, err) = doctor(&args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(want) && err.trim().lines().count() == 1, "{args:?}: {err}");
    }
}
