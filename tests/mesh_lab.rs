//! `saf-net mesh` in 4-host labs (issue #18's checks): run from host 1 through `lab exec`, every pair measured
//! by the hosts' own servers. A 1gbe lab with host 3 at 100 Mbit/s names host 3 and nothing else; a jumbo lab
//! with host 2 at MTU 1500 names host 2's MTU; a clean 1gbe lab has no finding, every pair at 90 % of the ceiling
//! or more, within the time bound. Root and namespaces only: otherwise a loud SKIPPED line.
#![cfg(target_os = "linux")]

mod common;

#[path = "common/hosts_lab.rs"]
mod hosts_lab;

use std::time::Duration;

use hosts_lab::{CEILING_1GBE, Lab, cluster_json, serial, skipped};
use serde_json::Value;

/// `saf-net mesh h1=ADDR1 … ARGS -J` from host 1; the document, the exit code, stderr and the wall time.
fn mesh(lab: &Lab, hosts: u64, args: &[&str]) -> (Value, Option<i32>, String, Duration) {
    cluster_json(lab, "mesh", hosts, args)
}

/// `(kind, subject)` of each finding.
fn findings(doc: &Value) -> Vec<(String, String)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().into(),
                f["subject"].as_str().unwrap().into(),
            )
        })
        .collect()
}

/// Each pair's judged goodput (the -P run), Mbit/s, as `from->to`.
fn goodputs(doc: &Value) -> Vec<(String, f64)> {
    doc["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let name = format!("{}->{}", p["from"].as_str().unwrap(), p["to"].as_str().unwrap());
            (name, p["goodput_parallel_bps"].as_f64().unwrap_or(0.0) / 1e6)
        })
        .collect()
}

#[test]
fn a_slow_host_3_on_1gbe_is_named_and_nothing_else() {
    let _serial = serial();
    if skipped("mesh on lab 1gbe --hosts 4 --host-rate 3=100") {
        return;
    }
    let lab = Lab::up("mslow", &["1gbe", "--hosts", "4", "--host-rate", "3=100"]);
    let (doc, code, err, took) = mesh(&lab, 4, &["-t", "3", "--profile", "1gbe"]);
    eprintln!("{err}mesh took {took:.1?}; findings {:?}", findings(&doc));
    assert_eq!(doc["saf_net"]["complete"], true, "{err}");
    assert_eq!(findings(&doc), [("slow_node".to_string(), "h3".to_string())], "{doc}");
    assert_eq!(code, Some(4));
    for (pair, g) in goodputs(&doc) {
        let slow = pair.contains("h3");
        let want = if slow {
            80.0..=100.0
        } else {
            0.85 * CEILING_1GBE..=1000.0
        };
        assert!(want.contains(&g), "{pair}: {g:.1} Mbit/s");
    }
}

#[test]
fn a_1500_host_on_a_jumbo_lab_is_named_by_its_mtu() {
    let _serial = serial();
    if skipped("mesh on lab 10gbe-jumbo --hosts 4 --host-mtu 2=1500") {
        return;
    }
    let lab = Lab::up("mmtu", &["10gbe-jumbo", "--hosts", "4", "--host-mtu", "2=1500"]);
    let (doc, _, err, took) = mesh(&lab, 4, &["-t", "1", "-P", "2", "--profile", "10gbe-jumbo"]);
    let got = findings(&doc);
    eprintln!("{err}mesh took {took:.1?}; findings {got:?}");
    assert!(got.contains(&("node_mtu_mismatch".into(), "h2".into())), "{doc}");
    let mtu_findings: Vec<_> = got.iter().filter(|(k, _)| k.contains("mtu")).collect();
    assert_eq!(mtu_findings.len(), 1, "host 2's MTU only: {got:?}");
    for p in doc["pairs"].as_array().unwrap() {
        let mtu = p["path_mtu"]
            .as_u64()
            .unwrap_or_else(|| panic!("path MTU measured: {p}"));
        let via2 = p["from"] == "h2" || p["to"] == "h2";
        // Linux's veth takes a frame 4 bytes (a VLAN tag) above its MTU: 1500..1504 toward host 2.
        assert!(
            if via2 {
                (1500..=1504).contains(&mtu)
            } else {
                mtu == 9000
            },
            "{p}"
        );
    }
}

#[test]
fn a_clean_1gbe_lab_has_no_finding_and_every_pair_near_the_ceiling_in_time() {
    let _serial = serial();
    if skipped("mesh on lab 1gbe --hosts 4") {
        return;
    }
    let lab = Lab::up("mclean", &["1gbe", "--hosts", "4"]);
    let (doc, code, err, took) = mesh(&lab, 4, &["-t", "3", "--profile", "1gbe"]);
    eprintln!("{err}mesh took {took:.1?}");
    assert_eq!(findings(&doc), [], "{doc}");
    assert_eq!(code, Some(0), "{err}");
    let pairs = goodputs(&doc);
    assert_eq!(pairs.len(), 12);
    for (pair, g) in &pairs {
        assert!(
            *g >= 0.9 * CEILING_1GBE,
            "{pair}: {g:.1} Mbit/s, below 90 % of {CEILING_1GBE}"
        );
    }
    for p in doc["pairs"].as_array().unwrap() {
        assert!(p["rtt_p50_us"].as_f64().is_some_and(|r| r > 0.0), "{p}");
        assert!(p["path_mtu"].as_u64() == Some(1500), "{p}");
    }
    // The bound: N×(N−1)×(2t + 3 s) for a sequential mesh at -t 3.
    let bound = Duration::from_secs(4 * 3 * (2 * 3 + 3));
    assert!(took <= bound, "the mesh took {took:?}, over {bound:?}");
}
