//! The monitor in a 1 GbE lab: near watches far with a short sample period; a real Prometheus in near's
//! namespace scrapes it and evaluates the shipped rules. Then far's switch port is degraded with `tc qdisc
//! change`: within two sample periods the goodput metric falls and SafNetGoodputBelowFloor fires.

mod common;
#[path = "common/hosts_lab.rs"]
mod hosts_lab;
#[path = "common/prometheus.rs"]
mod prometheus;
#[path = "common/scrape.rs"]
mod scrape;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, KillOnDrop, isolate, text};
use hosts_lab::{Lab, serial, skipped};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The sample period and length the test runs the monitor with.
const EVERY_S: u64 = 6;

/// An instant query run inside namespace `ns` (Prometheus listens on its loopback), as JSON.
fn query(ns: &str, port: u16, q: &str) -> Option<serde_json::Value> {
    let py = "import sys,urllib.request,urllib.parse;print(urllib.request.urlopen('http://127.0.0.1:'+sys.argv[1]+\
              '/api/v1/query?query='+urllib.parse.quote(sys.argv[2]),timeout=5).read().decode())";
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "python3", "-c", py, &port.to_string(), q])
        .output()
        .ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

/// Polls `q` until `done` holds for its values, for at most `limit`; whether it did, and the last values.
fn wait(ns: &str, port: u16, q: &str, limit: Duration, done: impl Fn(&[f64]) -> bool) -> (bool, Vec<f64>) {
    let start = Instant::now();
    let mut last = Vec::new();
    while start.elapsed() < limit {
        if let Some(v) = query(ns, port, q) {
            last = prometheus::values(&v);
            if done(&last) {
                return (true, last);
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    (false, last)
}

#[test]
fn a_degraded_link_drops_the_goodput_metric_and_fires_the_alert() {
    let _serial = serial();
    if skipped("monitor lab: a degraded link fires SafNetGoodputBelowFloor") {
        return;
    }
    if !prometheus::installed() {
        eprintln!("\n*** SKIPPED a_degraded_link_drops_the_goodput_metric_and_fires_the_alert: no prometheus ***\n");
        return;
    }
    let lab = Lab::up("mon", &["1gbe", "--hosts", "2"]);
    let near = format!("safnet-{}-near", lab.name);
    let switch = format!("safnet-{}-switch", lab.name);
    let far = lab.addr(2);
    let dir = tempfile::tempdir().unwrap();
    let mut m = Command::new(BIN);
    isolate(&mut m);
    m.args(["lab", "exec", "--name", &lab.name, "--host", "near", "--"])
        .args([BIN, "monitor", "--peer", &format!("far={far}"), "--profile", "1gbe"])
        .args([
            "--throughput-every",
            &format!("{EVERY_S}s"),
            "--throughput-seconds",
            "2",
            "--budget",
            "100G/day",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("monitor.log")).unwrap());
    let _monitor = KillOnDrop(m.spawn().unwrap());
    std::fs::copy(
        format!("{ROOT}/contrib/prometheus/saf-net.rules.yml"),
        dir.path().join("saf-net.rules.yml"),
    )
    .unwrap();
    let config = "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - saf-net.rules.yml\n\
                  scrape_configs:\n  - job_name: saf-net-monitor\n    static_configs:\n      - targets: [\"127.0.0.1:9301\"]\n";
    let prom = prometheus::start(dir.path(), config, &["ip", "netns", "exec", &near], "127.0.0.1");
    let port = prom.addr.port();
    let log = || std::fs::read_to_string(dir.path().join("monitor.log")).unwrap_or_default();

    let ratio = "saf_net_goodput_ceiling_ratio{peer=\"far\"}";
    let (healthy, seen) = wait(&near, port, ratio, Duration::from_secs(40), |v| {
        v.iter().any(|r| *r >= 0.9)
    });
    assert!(
        healthy,
        "no healthy sample (≥ 90 % of 1GbE's ceiling) reached Prometheus: {seen:?}\n{}",
        log()
    );
    let alert = "ALERTS{alertname=\"SafNetGoodputBelowFloor\",alertstate=\"firing\",peer=\"far\"}";
    let quiet = query(&near, port, alert)
        .map(|v| prometheus::values(&v))
        .unwrap_or_default();
    assert!(quiet.is_empty(), "the alert fired on a healthy link: {quiet:?}");

    // far's switch port now carries 300 Mbit/s: a port renegotiated down, a congested uplink.
    let tc = Command::new("tc")
        .args(["-n", &switch, "qdisc", "change", "dev", "far", "root", "tbf"])
        .args(["rate", "300mbit", "burst", "64kb", "limit", "1mb"])
        .output()
        .unwrap();
    assert!(tc.status.success(), "tc change: {}", text(&tc.stderr));
    let changed = Instant::now();
    let within = Duration::from_secs(2 * EVERY_S + 6);
    let (fell, seen) = wait(&near, port, ratio, within, |v| v.iter().any(|r| *r < 0.9));
    assert!(
        fell,
        "the goodput metric did not fall within two periods: {seen:?}\n{}",
        log()
    );
    let (fired, _) = wait(
        &near,
        port,
        alert,
        within.saturating_sub(changed.elapsed()) + Duration::from_secs(3),
        |v| !v.is_empty(),
    );
    assert!(
        fired,
        "SafNetGoodputBelowFloor did not fire within two sample periods\n{}",
        log()
    );
}
