//! A real Prometheus scrapes the monitor: its HTTP API then has `saf_net_rtt_seconds_count` for the peer, the
//! shipped rules load, and every metric the Grafana dashboard draws is one the monitor really exports.

mod common;
#[path = "common/prometheus.rs"]
mod prometheus;
#[path = "common/scrape.rs"]
mod scrape;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

use common::{KillOnDrop, free_port, logged_server, saf_net};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every `saf_net_*` name in `text`, histogram suffixes taken off.
fn names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("saf_net_") {
        let n: String = text[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let base = ["_bucket", "_count", "_sum"]
            .iter()
            .find_map(|s| n.strip_suffix(s))
            .unwrap_or(&n);
        out.insert(base.to_string());
    }
    out
}

#[test]
fn a_real_prometheus_scrapes_the_monitor() {
    if !prometheus::installed() {
        eprintln!(
            "\n*** SKIPPED a_real_prometheus_scrapes_the_monitor: prometheus is not installed (apt-get install prometheus) ***\n"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut s = saf_net();
    s.args(["server", "-p", &port.to_string()]);
    let _server = logged_server(s, &dir.path().join("server.log"), "listening on");
    let listen = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let monitor = saf_net()
        .args([
            "monitor",
            "--peer",
            &format!("node1=127.0.0.1:{port}"),
            "--profile",
            "1gbe",
        ])
        .args(["--listen", &listen.to_string(), "--budget", "off"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("monitor.log")).unwrap())
        .spawn()
        .unwrap();
    let _monitor = KillOnDrop(monitor);
    std::fs::copy(
        format!("{ROOT}/contrib/prometheus/saf-net.rules.yml"),
        dir.path().join("saf-net.rules.yml"),
    )
    .unwrap();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - saf-net.rules.yml\n\
         scrape_configs:\n  - job_name: saf-net-monitor\n    static_configs:\n      - targets: [\"{listen}\"]\n"
    );
    let prom = prometheus::start(dir.path(), &config, &[], "127.0.0.1");
    prom.ready(dir.path(), scrape::get);
    let (ok, body) = prom.wait_query(
        "saf_net_rtt_seconds_count{peer=\"node1\"}",
        Duration::from_secs(30),
        |v| prometheus::values(v).iter().any(|x| *x > 0.0),
    );
    assert!(
        ok,
        "Prometheus never had saf_net_rtt_seconds_count > 0 for node1: {body}\nmonitor log: {}",
        std::fs::read_to_string(dir.path().join("monitor.log")).unwrap_or_default()
    );
    let (rules, body) = scrape::wait_for(prom.addr, "/api/v1/rules", Duration::from_secs(10), |b| {
        b.contains("SafNetGoodputBelowFloor") && b.contains("\"health\":\"ok\"")
    });
    assert!(rules, "the shipped rules did not load healthy: {body}");

    // The dashboard draws only what the monitor exports.
    let (_, live) = scrape::get(listen, "/metrics").unwrap();
    let exported: BTreeSet<String> = names(&live)
        .into_iter()
        .chain(saf_net::kinds::monitor::metrics::NAMES.iter().map(|s| s.to_string()))
        .collect();
    let dash = std::fs::read_to_string(format!("{ROOT}/contrib/grafana/saf-net.json")).unwrap();
    let missing: Vec<_> = names(&dash).difference(&exported).cloned().collect();
    assert!(
        missing.is_empty(),
        "the dashboard uses metrics the monitor does not export: {missing:?}"
    );
    for n in [
        "saf_net_rtt_seconds",
        "saf_net_probe_up",
        "saf_net_profile_min_ceiling_fraction",
    ] {
        assert!(names(&live).contains(n), "{n} not in the live /metrics:\n{live}");
    }
}
