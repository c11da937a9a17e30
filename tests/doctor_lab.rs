//! `saf-net doctor` in the lab, one fault planted at a time, each named as the FIRST finding: a host port at
//! 1000 Mb/s under `10gbe`, the switch at MTU 1500 under `10gbe-jumbo`, a tiny socket buffer (`-w`), a second
//! route through a tunnel. Root and namespaces; loudly SKIPPED otherwise.

mod common;
#[path = "common/hosts_lab.rs"]
mod hosts_lab;

use std::time::Duration;

use common::{BIN, text};
use hosts_lab::{Lab, saf_within, serial, skipped};
use serde_json::Value;

/// `doctor` run in host `from` of `lab` (with `-J`): its exit code and document.
fn doctor(lab: &Lab, from: &str, args: &[&str]) -> (Option<i32>, Value) {
    let mut argv = vec![
        "lab", "exec", "--name", &lab.name, "--host", from, "--", BIN, "doctor", "-J", "-t", "2",
    ];
    argv.extend_from_slice(args);
    let out = saf_within(&argv, Duration::from_secs(90));
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor {args:?}: {e}\n{}\n{}", text(&out.stdout), text(&out.stderr)));
    (out.status.code(), doc)
}

fn first(doc: &Value) -> &str {
    doc["findings"][0]["kind"].as_str().unwrap_or("none")
}

#[test]
fn a_port_at_1000_under_10gbe_is_the_limiting_factor() {
    let _serial = serial();
    if skipped("doctor lab: a port at 1000 Mb/s under 10gbe") {
        return;
    }
    let lab = Lab::up("drate", &["10gbe", "--hosts", "2", "--host-rate", "2=1000"]);
    let (code, doc) = doctor(&lab, "1", &[&lab.addr(2), "--profile", "10gbe"]);
    assert_eq!(code, Some(4), "{doc:#}");
    assert_eq!(first(&doc), "path_rate_limited", "{doc:#}");
    assert!(
        doc["findings"][0]["text"]
            .as_str()
            .unwrap()
            .contains("1000 Mbit/s link"),
        "{doc:#}"
    );
}

#[test]
fn the_switch_at_1500_under_10gbe_jumbo_is_the_limiting_factor() {
    let _serial = serial();
    if skipped("doctor lab: the switch at MTU 1500 under 10gbe-jumbo") {
        return;
    }
    let lab = Lab::up("dmtu", &["10gbe-jumbo", "--switch-mtu", "1500"]);
    let (code, doc) = doctor(&lab, "near", &[&lab.addr(2), "--profile", "10gbe-jumbo"]);
    assert_eq!(code, Some(4), "{doc:#}");
    assert_eq!(first(&doc), "jumbo_black_hole", "{doc:#}");
    assert_eq!(doc["facts"]["path_mtu"], 1500, "{doc:#}");
    assert!(doc["sample"].is_null(), "no TCP test into a black hole: {doc:#}");
}

#[test]
fn a_tiny_socket_buffer_is_the_limiting_factor() {
    let _serial = serial();
    if skipped("doctor lab: a tiny socket buffer") {
        return;
    }
    let lab = Lab::up("dbuf", &["10gbe"]);
    let (code, doc) = doctor(&lab, "near", &[&lab.addr(2), "--profile", "10gbe", "-w", "16K"]);
    assert_eq!(code, Some(4), "{doc:#}");
    assert_eq!(first(&doc), "socket_buffer_small", "{doc:#}");
    // Without the tiny buffer the same link is clean at its ceiling.
    let (code, doc) = doctor(&lab, "near", &[&lab.addr(2), "--profile", "10gbe", "-P", "2"]);
    assert!(
        code == Some(0) || first(&doc) != "socket_buffer_small",
        "the buffer finding must come from -w: {doc:#}"
    );
}

#[test]
fn a_second_route_through_a_tunnel_is_the_limiting_factor() {
    let _serial = serial();
    if skipped("doctor lab: a second route through a tunnel") {
        return;
    }
    let lab = Lab::up("droute", &["10gbe", "--second-route"]);
    let tunnel = lab.addr(2).replacen("10.77.", "100.77.", 1);
    let (code, doc) = doctor(&lab, "near", &[&tunnel, "--profile", "10gbe"]);
    assert_eq!(code, Some(4), "{doc:#}");
    assert_eq!(first(&doc), "wrong_interface", "{doc:#}");
    assert!(doc["findings"][0]["text"].as_str().unwrap().contains("vpn0"), "{doc:#}");
}
