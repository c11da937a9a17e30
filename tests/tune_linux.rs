//! `saf-net tune` with the Linux backend, for real, against a veth pair in a network namespace each
//! test creates and removes (a drop guard), the binary run inside it with `ip netns exec`.
//!
//! `ip` is the real one. `sysctl` is always the fake (tests/fakes): some of these sysctls are not
//! per network namespace (net.core.rmem_max is global), so a real write would change the host. A veth
//! cannot change speed, so speed changes run against the fake `ethtool`; the MTU tests use the real
//! ethtool, which reports that a veth has no link modes to set. Without root or namespaces every test
//! here prints a loud SKIPPED line and returns.
#![cfg(target_os = "linux")]

mod tune_support;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use tune_support::{LINUX_SYSCTLS, Sandbox, text, wait_for};

/// Why namespace tests cannot run here, if they cannot.
fn netns_unavailable() -> Option<String> {
    if !tune_support::is_root() {
        return Some("not running as root".into());
    }
    for tool in ["ip", "ethtool"] {
        let ok = Command::new(tool)
            .arg(if tool == "ip" { "-V" } else { "--version" })
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Some(format!("`{tool}` is missing"));
        }
    }
    None
}

macro_rules! require_netns {
    ($what:expr) => {
        if let Some(why) = netns_unavailable() {
            eprintln!("\n========================================================================");
            eprintln!("SKIPPED (needs root + network namespaces): {} — {why}", $what);
            eprintln!("========================================================================\n");
            return;
        }
    };
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip runs");
    assert!(out.status.success(), "ip {args:?}: {}", text(&out.stderr));
}

/// A namespace with a veth pair (`va`, `vb`, both up), `va` at 10.99.K.1/24; removed on drop.
struct Netns {
    name: String,
}

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("safnet-tune-{}-{tag}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        ip(&["netns", "add", &name]);
        let ns = Netns { name };
        ip(&[
            "-n", &ns.name, "link", "add", "va", "type", "veth", "peer", "name", "vb",
        ]);
        ip(&["-n", &ns.name, "addr", "add", "10.99.0.1/24", "dev", "va"]);
        ip(&["-n", &ns.name, "link", "set", "va", "up"]);
        ip(&["-n", &ns.name, "link", "set", "vb", "up"]);
        ns
    }

    fn mtu(&self, dev: &str) -> u32 {
        let out = Command::new("ip")
            .args(["-n", &self.name, "-j", "link", "show", "dev", dev])
            .output()
            .unwrap();
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        j[0]["mtu"].as_u64().unwrap() as u32
    }

    /// Runs saf-net inside the namespace with the sandbox's fakes first on PATH.
    fn saf(&self, sb: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = Command::new("ip");
        sb.prepare(&mut c);
        c.args(["netns", "exec", &self.name, tune_support::BIN]).args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        tune_support::run(c)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
    }
}

fn linux_sandbox(fakes: &[&str]) -> Sandbox {
    let sb = Sandbox::new(fakes);
    sb.sysctls(LINUX_SYSCTLS);
    sb
}

#[test]
fn a_veth_goes_1500_to_9000_and_back() {
    require_netns!("veth MTU 1500 -> 9000 -> revert -> 1500");
    let ns = Netns::new("mtu");
    let sb = linux_sandbox(&["sysctl"]);
    let state = sb.state_dir().display().to_string();
    assert_eq!(ns.mtu("va"), 1500);

    let out = ns.saf(&sb, &["tune", "show", "--interface", "va", "-J"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["interfaces"][0]["mtu"]["max"], 65535);
    assert_eq!(j["interfaces"][0]["link"]["speed_mbps"], 10000);
    assert_eq!(j["interfaces"][0]["link_persistence"]["survives_reboot"], false);
    assert!(j["interfaces"][0]["offloads"]["tcp-segmentation-offload"]["on"].is_boolean());
    assert_eq!(j["sysctls"][2]["value"], "4096 131072 6291456");

    let out = ns.saf(
        &sb,
        &[
            "tune",
            "apply",
            "10gbe-jumbo",
            "-i",
            "va",
            "--state-dir",
            &state,
            "--dry-run",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("run: ip link set dev va mtu 9000\n"));
    assert_eq!(ns.mtu("va"), 1500, "a dry run changes nothing");
    assert!(sb.changing_calls().is_empty());

    let out = ns.saf(
        &sb,
        &[
            "tune",
            "apply",
            "10gbe-jumbo",
            "-i",
            "va",
            "--state-dir",
            &state,
            "--yes",
        ],
        &[],
    );
    let t = text(&out.stdout);
    assert!(out.status.success(), "{t}\n{}", text(&out.stderr));
    assert_eq!(ns.mtu("va"), 9000);
    assert_eq!(ns.mtu("vb"), 1500, "only the named interface");
    assert!(t.contains("Ran: ip link set dev va mtu 9000"), "{t}");
    assert!(
        t.contains("reports no link modes to set") || t.contains("link                         10000 Mbit/s"),
        "{t}"
    );
    assert!(t.contains("survives reboot: no (ip link set lasts until reboot"), "{t}");
    assert_eq!(
        sb.changing_calls(),
        [
            "sysctl -w net.core.rmem_max=67108864",
            "sysctl -w net.core.wmem_max=67108864",
            "sysctl -w 'net.ipv4.tcp_rmem=4096 131072 67108864'",
            "sysctl -w 'net.ipv4.tcp_wmem=4096 65536 67108864'",
        ],
        "the fakes saw the sysctls; ip is real"
    );
    assert_eq!(sb.read("sysctl/net.ipv4.tcp_rmem"), "4096 131072 67108864");

    sb.clear_calls();
    let out = ns.saf(
        &sb,
        &[
            "tune",
            "apply",
            "10gbe-jumbo",
            "-i",
            "va",
            "--state-dir",
            &state,
            "--yes",
        ],
        &[],
    );
    assert!(text(&out.stdout).contains("Nothing to change"), "{}", text(&out.stdout));
    assert!(sb.changing_calls().is_empty());

    let out = ns.saf(&sb, &["tune", "revert", "--state-dir", &state], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(ns.mtu("va"), 1500);
    for (k, v) in LINUX_SYSCTLS {
        assert_eq!(&sb.read(&format!("sysctl/{k}")), v);
    }
    assert!(!sb.state_file().exists());
}

#[test]
fn an_unconfirmed_try_on_a_veth_reverts() {
    require_netns!("--try expiry in a namespace");
    let ns = Netns::new("try");
    let sb = linux_sandbox(&["sysctl"]);
    let state = sb.state_dir().display().to_string();
    let out = ns.saf(
        &sb,
        &[
            "tune",
            "apply",
            "10gbe-jumbo",
            "-i",
            "va",
            "--state-dir",
            &state,
            "--yes",
            "--try",
            "2",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(ns.mtu("va"), 9000);
    assert!(
        wait_for(Duration::from_secs(15), || ns.mtu("va") == 1500),
        "not reverted"
    );
    assert!(wait_for(Duration::from_secs(5), || !sb.state_file().exists()));
    assert_eq!(sb.read("sysctl/net.core.rmem_max"), "212992");
}

#[test]
fn ssh_over_the_veth_makes_a_trial_the_default() {
    require_netns!("default --try over SSH in a namespace");
    let ns = Netns::new("ssh");
    let sb = linux_sandbox(&["sysctl"]);
    let state = sb.state_dir().display().to_string();
    let ssh = [("SSH_CONNECTION", "10.99.0.2 52311 10.99.0.1 22")];
    let out = ns.saf(
        &sb,
        &[
            "tune",
            "apply",
            "10gbe-jumbo",
            "-i",
            "va",
            "--state-dir",
            &state,
            "--yes",
        ],
        &ssh,
    );
    let t = text(&out.stdout);
    assert!(out.status.success(), "{t}\n{}", text(&out.stderr));
    assert!(
        t.contains("This SSH session (to 10.99.0.1) runs over va: the change is tried for 60 s"),
        "{t}"
    );
    let out = ns.saf(&sb, &["tune", "confirm", "--state-dir", &state], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let log = sb.state_dir().join("tune-watch.log");
    assert!(wait_for(Duration::from_secs(5), || std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("ended (confirmed")));
    assert_eq!(ns.mtu("va"), 9000);
    assert!(
        ns.saf(&sb, &["tune", "revert", "--state-dir", &state], &[])
            .status
            .success()
    );
    assert_eq!(ns.mtu("va"), 1500);
}

#[test]
fn speed_changes_through_a_fake_ethtool_apply_and_revert() {
    require_netns!("ethtool speed against the fake ethtool");
    let ns = Netns::new("speed");
    let sb = linux_sandbox(&["sysctl", "ethtool"]);
    // A 10GBASE-T NIC on a switch port that does 1G and 10G, negotiated at 10G.
    sb.nic("va", "1000baseT/Full 10000baseT/Full");
    let before = sb.fake_state();
    let state = sb.state_dir().display().to_string();
    let out = ns.saf(
        &sb,
        &["tune", "apply", "1gbe", "-i", "va", "--state-dir", &state, "--yes"],
        &[],
    );
    let t = text(&out.stdout);
    assert!(out.status.success(), "{t}\n{}", text(&out.stderr));
    assert!(
        t.contains("link                         10000 Mbit/s, full duplex, autonegotiation on -> speed 1000 duplex full autoneg on"),
        "{t}"
    );
    assert_eq!(
        sb.changing_calls(),
        [
            "ethtool -s va speed 1000 duplex full autoneg on",
            "sysctl -w net.core.rmem_max=16777216",
            "sysctl -w net.core.wmem_max=16777216",
            "sysctl -w 'net.ipv4.tcp_rmem=4096 131072 16777216'",
            "sysctl -w 'net.ipv4.tcp_wmem=4096 16384 16777216'",
        ]
    );
    assert_eq!(sb.read("ethtool/va/speed"), "1000");
    sb.clear_calls();
    let out = ns.saf(&sb, &["tune", "revert", "--state-dir", &state], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        sb.changing_calls()[0],
        "ethtool -s va autoneg on advertise 100baseT/Full on 1000baseT/Full on 2500baseT/Full on 5000baseT/Full on 10000baseT/Full on"
    );
    assert_eq!(
        sb.fake_state(),
        before,
        "advertising every mode again, negotiated at 10G"
    );
}

#[test]
fn a_forced_speed_the_switch_will_not_take_drops_the_link_and_is_rolled_back() {
    require_netns!("forced 10G on a 1G-only switch port");
    let ns = Netns::new("forced");
    let sb = linux_sandbox(&["sysctl", "ethtool"]);
    // The switch port only does 1G: the NIC negotiated 1000.
    sb.nic("va", "100baseT/Full 1000baseT/Full");
    std::fs::write(sb.path().join("ethtool/va/speed"), "1000").unwrap();
    let before = sb.fake_state();
    let p = sb.path().join("forced.toml");
    std::fs::write(
        &p,
        "schema_version = 1\n[link]\nline_rate_mbps = 10000\nmtu = 1500\n[tune.linux]\nmtu = 1500\n\
speed_mbps = 10000\nduplex = \"full\"\nautoneg = false\n",
    )
    .unwrap();
    let state = sb.state_dir().display().to_string();
    let p = p.display().to_string();
    let out = ns.saf(
        &sb,
        &["tune", "apply", &p, "-i", "va", "--state-dir", &state, "--yes"],
        &[],
    );
    let t = text(&out.stdout);
    assert!(
        t.contains("WARNING: forcing 10000 Mbit/s with autonegotiation off can drop the link"),
        "{t}"
    );
    assert!(
        t.contains("runs at 1000 Mbit/s, below the profile's 10000 Mbit/s"),
        "{t}"
    );
    let err = tune_support::one_line_error(&out, 1, "the link is down after the change (it was up before)");
    assert!(err.contains("rolled back"), "{err}");
    assert_eq!(
        sb.changing_calls(),
        [
            "ethtool -s va speed 10000 duplex full autoneg off",
            "ethtool -s va autoneg on advertise 100baseT/Full on 1000baseT/Full on 2500baseT/Full on 5000baseT/Full on 10000baseT/Full on",
        ]
    );
    assert_eq!(sb.fake_state(), before);
}
