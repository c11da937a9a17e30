//! `saf-net collective` in 4-host labs (issue #20's checks), run from host 1 through `lab exec`, the data moving
//! host to host through the lab's shaped ports: on `1gbe` a ring allreduce of 256 MiB reaches busbw ≥ 90 % of
//! the TCP ceiling and verifies; with host 2 at 100 Mbit/s busbw falls to that port's ceiling (80–105 %) and
//! host 2 is named as the bottleneck.

mod common;

#[path = "common/hosts_lab.rs"]
mod hosts_lab;

use std::time::Duration;

use hosts_lab::{CEILING_1GBE, CEILING_100M, Lab, cluster_json, serial, skipped};
use serde_json::Value;

/// `saf-net collective h1=ADDR1 … h4=ADDR4 ARGS -J` from host 1: the document, exit code, stderr, wall time.
fn collective(lab: &Lab, args: &[&str]) -> (Value, Option<i32>, String, Duration) {
    cluster_json(lab, "collective", 4, args)
}

/// The busbw of the one result, Mbit/s, after checking it verified.
fn busbw_mbps(doc: &Value) -> f64 {
    let r = &doc["results"][0];
    assert_eq!(r["verified"], true, "{doc:#}");
    r["busbw_bps"].as_f64().unwrap() / 1e6
}

#[test]
fn a_ring_allreduce_of_256m_on_1gbe_reaches_90_percent_of_the_ceiling() {
    let _g = serial();
    if skipped("collective on lab 1gbe --hosts 4") {
        return;
    }
    let lab = Lab::up("cclean", &["1gbe", "--hosts", "4"]);
    let (doc, code, err, took) = collective(
        &lab,
        &["--sizes", "256M", "--iters", "4", "--warmup", "1", "--profile", "1gbe"],
    );
    let busbw = busbw_mbps(&doc);
    eprintln!("1gbe, 4 hosts: allreduce 256M busbw {busbw:.1} Mbit/s in {took:?}");
    assert!(busbw >= 0.9 * CEILING_1GBE, "busbw {busbw:.1} Mbit/s: {err}\n{doc:#}");
    assert!(
        busbw <= 1.02 * CEILING_1GBE,
        "busbw {busbw:.1} above the ceiling: {doc:#}"
    );
    assert_eq!(code, Some(0), "{err}\n{doc:#}");
    assert!(
        doc["bottleneck"].is_null(),
        "no single bottleneck on a clean lab: {doc:#}"
    );
}

#[test]
fn a_host_at_100_mbits_sets_the_busbw_and_is_named() {
    let _g = serial();
    if skipped("collective on lab 1gbe --hosts 4 --host-rate 2=100") {
        return;
    }
    let lab = Lab::up("cslow", &["1gbe", "--hosts", "4", "--host-rate", "2=100"]);
    let (doc, code, err, took) = collective(
        &lab,
        &["--sizes", "32M", "--iters", "3", "--warmup", "1", "--profile", "1gbe"],
    );
    let busbw = busbw_mbps(&doc);
    eprintln!("1gbe, host 2 at 100: allreduce 32M busbw {busbw:.1} Mbit/s in {took:?}");
    assert!(
        (0.80 * CEILING_100M..=1.05 * CEILING_100M).contains(&busbw),
        "busbw {busbw:.1} Mbit/s, host 2's ceiling {CEILING_100M}: {err}\n{doc:#}"
    );
    assert_eq!(doc["bottleneck"]["kind"], "collective_bottleneck", "{doc:#}");
    assert_eq!(doc["bottleneck"]["subject"], "h2", "{doc:#}");
    assert_eq!(code, Some(4), "a bottleneck is a finding: {err}");
}
