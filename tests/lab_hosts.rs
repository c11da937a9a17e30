//! End-to-end tests of `saf-net lab up --hosts N`: N hosts on one switch, a server with the lab key in
//! each, per-host rates and MTUs, `lab status --json`, `lab exec --host K`. Real namespaces, root only:
//! without root or network namespaces each lab test prints a loud SKIPPED line and passes; the input
//! checks run everywhere (dry runs need no root). Each lab has its own name and a drop guard.
#![cfg(target_os = "linux")]

mod common;

#[path = "common/hosts_lab.rs"]
mod hosts_lab;

use common::{BIN, text};
use hosts_lab::{CEILING_1GBE, CEILING_100M, Lab, alive, saf, serial, skipped};
use serde_json::Value;

#[test]
fn four_hosts_on_1gbe_with_a_slow_host_3() {
    let _serial = serial();
    if skipped("lab up 1gbe --hosts 4 --host-rate 3=100") {
        return;
    }
    let lab = Lab::up("rate", &["1gbe", "--hosts", "4", "--host-rate", "3=100"]);
    let st = lab.status();
    assert_eq!(
        (st["profile"].as_str(), st["up"].as_bool()),
        (Some("1gbe"), Some(true)),
        "{st}"
    );
    let hosts = st["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 4, "{st}");
    let subnet = hosts[0]["address"]
        .as_str()
        .unwrap()
        .rsplit_once('.')
        .unwrap()
        .0
        .to_string();
    for (i, h) in hosts.iter().enumerate() {
        let k = i + 1;
        assert_eq!(h["index"], k, "{h}");
        assert_eq!(h["name"], format!("h{k}"), "{h}");
        assert_eq!(h["namespace"], format!("safnet-{}-h{k}", lab.name), "{h}");
        assert_eq!(h["address"], format!("{subnet}.{k}"), "{h}");
        assert_eq!(h["rate_mbps"], if k == 3 { 100.0 } else { 1000.0 }, "{h}");
        assert_eq!((h["mtu"].as_u64(), h["port"].as_u64()), (Some(1500), Some(5301)), "{h}");
        assert!(alive(h["server_pid"].as_u64().unwrap()), "host {k}'s server runs: {h}");
    }
    let key = st["psk_file"].as_str().unwrap().to_string();
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "{key}");

    // The servers require the key: a client without it is refused, `lab exec` hands it on.
    let (h3, h4) = (lab.addr(3), lab.addr(4));
    let bare = lab.exec(
        "1",
        &[
            "sh",
            "-c",
            &format!("unset SAF_NET_PSK; exec {BIN} client {h4} -t 1 --no-history"),
        ],
    );
    assert_eq!(bare.status.code(), Some(1), "{}", text(&bare.stderr));
    assert!(
        text(&bare.stderr).contains("requires a pre-shared key"),
        "{}",
        text(&bare.stderr)
    );

    let slow = lab.goodput("1", &h3, false);
    let slow_back = lab.goodput("1", &h3, true);
    let fast = lab.goodput("1", &h4, false);
    eprintln!("host 1 -> 3: {slow:.2} Mbit/s, 3 -> 1: {slow_back:.2}, 1 -> 4: {fast:.2}");
    for g in [slow, slow_back] {
        assert!(g <= 100.0 && g > CEILING_100M * 0.8, "host 3's 100 Mbit/s port: {g:.2}");
    }
    assert!(
        (850.0..=CEILING_1GBE * 1.005).contains(&fast),
        "host 4's 1GbE port: {fast:.2}"
    );

    let pids: Vec<u64> = hosts.iter().map(|h| h["server_pid"].as_u64().unwrap()).collect();
    let out = saf(&["lab", "down", "--name", &lab.name]);
    assert!(
        text(&out.stdout).contains("stopped 4 processes; state removed"),
        "{}",
        text(&out.stdout)
    );
    assert!(lab.namespaces_left().is_empty(), "{:?}", lab.namespaces_left());
    assert!(!pids.iter().any(|&p| alive(p)), "every server is gone: {pids:?}");
    assert!(!std::path::Path::new(&key).exists(), "the key goes with the state");
}

#[test]
fn a_1500_host_on_a_jumbo_switch_is_the_path_mtu_to_it_and_no_other() {
    let _serial = serial();
    if skipped("lab up 10gbe-jumbo --hosts 3 --host-mtu 2=1500") {
        return;
    }
    let lab = Lab::up("mtu", &["10gbe-jumbo", "--hosts", "3", "--host-mtu", "2=1500"]);
    let mtus: Vec<u64> = lab.status()["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["mtu"].as_u64().unwrap())
        .collect();
    assert_eq!(mtus, [9000, 1500, 9000]);
    let probe = |to: &str| {
        let out = lab.exec("1", &["saf-net", "mtu", to, "-J", "--no-history"]);
        let doc: Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("mtu JSON ({e}): {}", text(&out.stderr)));
        (out.status.code(), doc["path"].clone())
    };
    let (code, path) = probe(&lab.addr(2));
    let p = &path["mtu_probe"];
    let (fwd, rev) = (
        p["forward_path_mtu"].as_u64().unwrap(),
        p["reverse_path_mtu"].as_u64().unwrap(),
    );
    eprintln!("host 1 -> 2 (MTU 1500): forward {fwd}, reverse {rev}");
    // Linux's veth, like many NICs, takes a frame 4 bytes (a VLAN tag) above its MTU.
    assert!((1500..=1504).contains(&fwd) && rev == 1500, "{p}");
    assert_eq!(code, Some(4), "a diagnosed mismatch: {path}");
    assert_eq!(path["diagnoses"][0]["kind"], "mtu_mismatch", "{path}");
    let (code, path) = probe(&lab.addr(3));
    let p = &path["mtu_probe"];
    assert_eq!(
        (p["forward_path_mtu"].as_u64(), p["reverse_path_mtu"].as_u64()),
        (Some(9000), Some(9000)),
        "{p}"
    );
    assert_eq!(code, Some(0), "{path}");
}

#[test]
fn two_hosts_keep_near_and_far_and_each_serves_with_the_key() {
    let _serial = serial();
    if skipped("lab up 1gbe --hosts 2") {
        return;
    }
    let lab = Lab::up("two", &["1gbe", "--hosts", "2"]);
    let st = lab.status();
    let names: Vec<(&str, &str, u64)> = st["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["name"].as_str().unwrap(),
                h["namespace"].as_str().unwrap(),
                h["port"].as_u64().unwrap(),
            )
        })
        .collect();
    let (near, far) = (format!("safnet-{}-near", lab.name), format!("safnet-{}-far", lab.name));
    assert_eq!(names, [("near", near.as_str(), 5301), ("far", far.as_str(), 5301)]);
    assert_eq!(st["keyed"], true);
    // Far measures near: near has a server too, and `--host far` is host 2.
    let out = lab.exec("far", &["saf-net", "client", &lab.addr(1), "-t", "1", "--no-history"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = lab.exec("3", &["true"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("has hosts 1 to 2") && err.trim().lines().count() == 1,
        "{err}"
    );
}

#[test]
fn bad_host_flags_are_one_line_and_a_usage_exit() {
    let cases: [(&[&str], &str); 9] = [
        (&["--hosts", "9"], "--hosts 9 is outside 2..=8"),
        (&["--hosts", "1"], "--hosts 1 is outside 2..=8"),
        (&["--hosts", "4", "--host-rate", "5=100"], "there is no host 5"),
        (
            &["--hosts", "4", "--host-rate", "2=100", "--host-rate", "2=200"],
            "names host 2 twice",
        ),
        (
            &["--hosts", "4", "--host-rate", "2=0"],
            "--host-rate 2=0: a port's rate is 1 Mbit/s to",
        ),
        (
            &["--hosts", "4", "--host-rate", "2=1500"],
            "the profile's line rate, 1000 Mbit/s",
        ),
        (
            &["--hosts", "4", "--host-mtu", "2=9"],
            "--host-mtu 2=9 is outside 576..=65535",
        ),
        (&["--host-rate", "2=100"], "--host-rate needs --hosts N"),
        (&["--hosts", "3", "--second-route"], "--second-route needs a 2-host lab"),
    ];
    for (extra, want) in cases {
        let mut args = vec!["lab", "up", "1gbe", "--name", "bad", "--dry-run"];
        args.extend_from_slice(extra);
        let out = saf(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains(want), "{extra:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{extra:?}: {err}");
        assert!(out.stdout.is_empty(), "nothing planned: {}", text(&out.stdout));
    }
    let out = saf(&["lab", "exec", "--host", "9", "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("use near, far, or a host number 1 to 8"));
}

#[test]
fn a_dry_run_of_four_hosts_plans_a_keyed_server_in_each() {
    let out = saf(&["lab", "up", "1gbe", "--name", "plan4", "--hosts", "4", "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    for k in 1..=4 {
        assert!(t.contains(&format!("ip netns add safnet-plan4-h{k}\n")), "{t}");
        assert!(
            t.contains(&format!(
                "ip netns exec safnet-plan4-h{k} {BIN} server -p 5301 --psk-file "
            )),
            "{t}"
        );
        assert!(
            t.contains(&format!("tc -n safnet-plan4-h{k} qdisc replace dev eth0 root tbf")),
            "{t}"
        );
    }
}

/// `mesh --concurrent PATTERN -J` run in host 1; each measured pair's `goodput_parallel_bps` in Mbit/s.
fn concurrent_mesh(lab: &Lab, pattern: &str, addrs: &[String]) -> Vec<(String, String, f64)> {
    let mut argv = vec!["saf-net", "mesh", "--concurrent", pattern, "-t", "3", "-J"];
    argv.extend(addrs.iter().map(String::as_str));
    let out = lab.exec("1", &argv);
    assert!(
        out.status.success(),
        "mesh {argv:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("mesh JSON");
    let measured: Vec<(String, String, f64)> = doc["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["complete"] == true)
        .map(|p| {
            let mbps = p["goodput_parallel_bps"].as_f64().expect("a concurrent figure") / 1e6;
            (
                p["from"].as_str().unwrap().to_string(),
                p["to"].as_str().unwrap().to_string(),
                mbps,
            )
        })
        .collect();
    eprintln!("--concurrent {pattern}: {measured:?}\n{}", text(&out.stderr));
    measured
}

/// A concurrent ring on a clean 4-host 1GbE lab uses each port once per direction: every pair ≥ 80 % of the
/// ceiling. An incast into host 1: the senders' figures add up to host 1's port rate, ±10 %.
#[test]
fn concurrent_ring_and_incast_on_a_clean_1gbe_lab() {
    let _serial = serial();
    if skipped("lab up 1gbe --hosts 4, mesh --concurrent ring and incast") {
        return;
    }
    let lab = Lab::up("conc", &["1gbe", "--hosts", "4"]);
    let addrs: Vec<String> = (1..=4).map(|i| lab.addr(i)).collect();
    let ring = concurrent_mesh(&lab, "ring", &addrs);
    assert_eq!(ring.len(), 8, "both ring directions, every pair complete: {ring:?}");
    for (from, to, mbps) in &ring {
        let next = |a: &String, b: &String| {
            let (i, j) = (
                addrs.iter().position(|x| x == a).unwrap(),
                addrs.iter().position(|x| x == b).unwrap(),
            );
            (j + 4 - i) % 4
        };
        assert!(matches!(next(from, to), 1 | 3), "{from}->{to} is not a ring pair");
        assert!(
            *mbps >= 0.8 * CEILING_1GBE && *mbps <= CEILING_1GBE * 1.005,
            "{from}->{to}: {mbps:.1} Mbit/s"
        );
    }
    let incast = concurrent_mesh(&lab, &format!("incast:{}", addrs[0]), &addrs);
    assert_eq!(incast.len(), 3, "{incast:?}");
    assert!(
        incast.iter().all(|(_, to, m)| to == &addrs[0] && *m > 0.0),
        "{incast:?}"
    );
    let sum: f64 = incast.iter().map(|(_, _, m)| m).sum();
    assert!(
        (0.9 * CEILING_1GBE..=1.1 * CEILING_1GBE).contains(&sum),
        "incast into host 1 adds up to {sum:.1} Mbit/s, its port's ceiling is {CEILING_1GBE}"
    );
}
