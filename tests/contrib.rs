//! The files in contrib/ are what Prometheus and Grafana will load: promtool checks the rules and the scrape
//! config, `promtool test rules` proves each alert fires on a degraded peer and not on a healthy one, and the
//! dashboard is valid JSON whose every panel has a title and a data source.

use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn promtool(args: &[&str]) -> Option<(bool, String)> {
    let out = Command::new("promtool").args(args).current_dir(ROOT).output().ok()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), text))
}

fn skipped(test: &str) -> bool {
    if Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return false;
    }
    eprintln!("\n*** SKIPPED {test}: promtool is not installed (apt-get install prometheus) ***\n");
    true
}

#[test]
fn promtool_accepts_the_rules_and_the_scrape_config() {
    if skipped("promtool_accepts_the_rules_and_the_scrape_config") {
        return;
    }
    let (ok, out) = promtool(&["check", "rules", "contrib/prometheus/saf-net.rules.yml"]).unwrap();
    assert!(ok && out.contains("5 rules found"), "{out}");
    let (ok, out) = promtool(&["check", "config", "contrib/prometheus/scrape.yml"]).unwrap();
    assert!(ok && out.contains("1 rule files found"), "{out}");
}

#[test]
fn every_alert_fires_on_a_degraded_peer_and_not_on_a_healthy_one() {
    if skipped("every_alert_fires_on_a_degraded_peer_and_not_on_a_healthy_one") {
        return;
    }
    let (ok, out) = promtool(&["test", "rules", "tests/fixtures/prometheus/saf-net.rules.test.yml"]).unwrap();
    assert!(ok && out.contains("SUCCESS"), "{out}");
    let rules = std::fs::read_to_string(format!("{ROOT}/contrib/prometheus/saf-net.rules.yml")).unwrap();
    let test = std::fs::read_to_string(format!("{ROOT}/tests/fixtures/prometheus/saf-net.rules.test.yml")).unwrap();
    for alert in rules.lines().filter_map(|l| l.trim().strip_prefix("- alert: ")) {
        assert!(
            test.contains(&format!("alertname: {alert}")),
            "no promtool test for {alert}"
        );
    }
}

#[test]
fn the_dashboard_is_valid_and_every_panel_has_a_title_and_a_source() {
    let text = std::fs::read_to_string(format!("{ROOT}/contrib/grafana/saf-net.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let panels = v["panels"].as_array().expect("panels");
    assert!(panels.len() >= 5);
    for p in panels {
        assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()), "{p}");
        assert!(p["datasource"].is_object(), "{p}");
        assert!(
            p["targets"]
                .as_array()
                .is_some_and(|t| t.iter().all(|t| t["expr"].is_string())),
            "{p}"
        );
    }
    let kinds: Vec<_> = panels.iter().filter_map(|p| p["type"].as_str()).collect();
    assert!(kinds.contains(&"heatmap"), "an RTT heatmap: {kinds:?}");
    for n in [
        "saf_net_rtt_seconds_bucket",
        "saf_net_goodput_ceiling_ratio",
        "saf_net_path_mtu_bytes",
        "saf_net_link_speed_bits_per_second",
    ] {
        assert!(text.contains(n), "the dashboard draws {n}");
    }
}
