//! `saf-net tune --backend macos` end to end on any Unix, against fake `networksetup`, `sysctl` and
//! `ifconfig` first on PATH (tests/fakes): they print the real programs' formats and errors and keep
//! their state in a temp folder. Applying needs root (saf-net checks); those tests skip loudly
//! without it. Reading and dry runs need nothing.
#![cfg(unix)]

#[macro_use]
mod tune_support;

use std::time::Duration;

use tune_support::{Sandbox, text, wait_for};

const TB: &str = "Thunderbolt Ethernet Slot 1";

fn mac() -> Sandbox {
    let sb = Sandbox::new(&["networksetup", "sysctl", "ifconfig"]);
    sb.mac_studio();
    sb
}

fn apply_args<'a>(state: &'a str, profile: &'a str, iface: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "tune",
        "apply",
        profile,
        "--backend",
        "macos",
        "--interface",
        iface,
        "--state-dir",
        state,
    ];
    v.extend_from_slice(extra);
    v
}

/// The exact changing commands of applying 10gbe-jumbo to the Thunderbolt port of a stock Mac Studio.
const JUMBO_COMMANDS: &[&str] = &[
    "networksetup -setMTU 'Thunderbolt Ethernet Slot 1' 9000",
    "sysctl -w kern.ipc.maxsockbuf=16777216",
    "sysctl -w net.inet.tcp.autorcvbufmax=16777216",
    "sysctl -w net.inet.tcp.autosndbufmax=16777216",
    "sysctl -w net.inet.tcp.recvspace=1048576",
    "sysctl -w net.inet.tcp.sendspace=1048576",
];

#[test]
fn show_lists_ports_mtu_media_link_and_sysctls_in_text_and_json() {
    let sb = mac();
    let state = sb.state_dir().display().to_string();
    let out = sb.saf(&["tune", "show", "--backend", "macos", "--state-dir", &state]);
    let t = text(&out.stdout);
    assert!(out.status.success(), "{t}\n{}", text(&out.stderr));
    for want in [
        "Thunderbolt Ethernet Slot 1  en5",
        "MTU           active 1500, configured 1500, valid 1280-9000; change survives reboot: yes",
        "media         current autoselect, active 10Gbase-T <full-duplex>",
        "10Gbase-T <full-duplex,flow-control>",
        "link          10000 Mbit/s, full duplex, autonegotiation on",
        "kern.ipc.maxsockbuf          8388608",
        "change survives reboot: no (sysctl -w lasts until reboot; --persist writes it to",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
    let out = sb.saf(&[
        "tune",
        "show",
        "--backend",
        "macos",
        "-i",
        TB,
        "-J",
        "--state-dir",
        &state,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["backend"], "macos");
    assert_eq!(j["ports"].as_array().unwrap().len(), 6);
    let i = &j["interfaces"][0];
    assert_eq!(i["name"], TB);
    assert_eq!(i["device"], "en5");
    assert_eq!(i["mtu"]["max"], 9000);
    assert_eq!(i["mtu_persistence"]["survives_reboot"], true);
    assert_eq!(i["media"]["active"], "10Gbase-T <full-duplex>");
    assert_eq!(i["media"]["valid"].as_array().unwrap().len(), 10);
    assert_eq!(i["link"]["speed_mbps"], 10000);
    assert_eq!(j["sysctls"][0]["name"], "kern.ipc.maxsockbuf");
    assert_eq!(j["sysctls"][0]["value"], "8388608");
    assert_eq!(j["sysctls"][0]["persistence"]["survives_reboot"], false);
    assert!(sb.changing_calls().is_empty());
}

#[test]
fn a_dry_run_prints_the_exact_commands_and_changes_nothing() {
    let sb = mac();
    let before = sb.fake_state();
    let state = sb.state_dir().display().to_string();
    let out = sb.saf(&apply_args(&state, "10gbe-jumbo", TB, &["--dry-run"]));
    let t = text(&out.stdout);
    assert!(out.status.success(), "{t}\n{}", text(&out.stderr));
    for c in JUMBO_COMMANDS {
        assert!(t.contains(&format!("run: {c}\n")), "missing {c:?} in:\n{t}");
    }
    assert!(t.contains("mtu                          1500 -> 9000"), "{t}");
    assert!(
        t.contains("media                        autoselect (already so; nothing to run)"),
        "{t}"
    );
    assert!(t.contains("survives reboot: yes (networksetup saves it"), "{t}");
    assert!(t.ends_with("Dry run: nothing was changed.\n"), "{t}");
    assert_eq!(sb.fake_state(), before);
    assert!(sb.changing_calls().is_empty(), "{:?}", sb.changing_calls());
    assert!(!sb.state_file().exists());
}

#[test]
fn apply_verifies_is_idempotent_and_revert_restores_the_start() {
    require_root!("apply 10gbe-jumbo against fake networksetup");
    let sb = mac();
    let before = sb.fake_state();
    let state = sb.state_dir().display().to_string();
    let out = sb.saf(&apply_args(&state, "10gbe-jumbo", TB, &["--yes"]));
    let t = text(&out.stdout);
    assert!(out.status.success(), "{t}\n{}", text(&out.stderr));
    assert_eq!(sb.changing_calls(), JUMBO_COMMANDS);
    assert!(t.contains("Verified: every setting reads back as planned."), "{t}");
    assert!(
        t.contains("Applied profile 10gbe-jumbo to \"Thunderbolt Ethernet Slot 1\" (en5)."),
        "{t}"
    );
    assert_eq!(sb.read("networksetup/en5/mtu"), "9000");
    assert_eq!(sb.read("sysctl/kern.ipc.maxsockbuf"), "16777216");
    assert_eq!(sb.read("networksetup/en0/mtu"), "1500", "the other port is untouched");
    // The read-back after the changes is part of the apply.
    let calls = sb.calls();
    let last_set = calls.iter().rposition(|c| tune_support::is_change(c)).unwrap();
    assert!(
        calls[last_set..]
            .iter()
            .any(|c| c == "networksetup -getMTU 'Thunderbolt Ethernet Slot 1'")
    );

    sb.clear_calls();
    let out = sb.saf(&apply_args(&state, "10gbe-jumbo", TB, &["--yes"]));
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("Nothing to change"), "{}", text(&out.stdout));
    assert!(
        sb.changing_calls().is_empty(),
        "second apply changed: {:?}",
        sb.changing_calls()
    );

    sb.clear_calls();
    let out = sb.saf(&["tune", "revert", "--state-dir", &state]);
    let t = text(&out.stdout);
    assert!(out.status.success(), "{t}\n{}", text(&out.stderr));
    assert!(t.contains("verified by reading back"), "{t}");
    assert_eq!(
        sb.changing_calls(),
        [
            // The port was on automatic: it goes back to automatic, not to a pinned 1500.
            "networksetup -setMTUAndMediaAutomatically 'Thunderbolt Ethernet Slot 1'",
            "sysctl -w net.inet.tcp.autorcvbufmax=4194304",
            "sysctl -w net.inet.tcp.autosndbufmax=4194304",
            "sysctl -w net.inet.tcp.recvspace=131072",
            "sysctl -w net.inet.tcp.sendspace=131072",
            "sysctl -w kern.ipc.maxsockbuf=8388608",
        ],
        "the cap is lowered last"
    );
    assert_eq!(sb.fake_state(), before);
    assert!(!sb.state_file().exists(), "nothing left to revert");
}

#[test]
fn the_first_snapshot_is_kept_across_applies() {
    require_root!("two applies then revert");
    let sb = mac();
    let before = sb.fake_state();
    let state = sb.state_dir().display().to_string();
    assert!(
        sb.saf(&apply_args(&state, "10gbe", "Ethernet", &["-y"]))
            .status
            .success()
    );
    assert!(
        sb.saf(&apply_args(&state, "10gbe-jumbo", "en0", &["-y"]))
            .status
            .success()
    );
    assert_eq!(sb.read("networksetup/en0/mtu"), "9000");
    let out = sb.saf(&["tune", "revert", "--state-dir", &state]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        sb.fake_state(),
        before,
        "back to before the first apply, not the second"
    );
}

#[test]
fn a_failure_in_the_middle_rolls_back_to_the_snapshot() {
    require_root!("rollback on a failing sysctl");
    let sb = mac();
    let before = sb.fake_state();
    sb.fail_on("sysctl -w net.inet.tcp.recvspace|exit1\n");
    let state = sb.state_dir().display().to_string();
    let out = sb.saf(&apply_args(&state, "10gbe-jumbo", TB, &["--yes"]));
    let t = text(&out.stdout);
    let err = tune_support::one_line_error(&out, 1, "failed and was rolled back to the snapshot");
    assert!(err.contains("sysctl -w net.inet.tcp.recvspace=1048576"), "{err}");
    assert!(t.contains("Rolled back"), "{t}");
    assert_eq!(
        sb.changing_calls(),
        [
            JUMBO_COMMANDS[0],
            JUMBO_COMMANDS[1],
            JUMBO_COMMANDS[2],
            JUMBO_COMMANDS[3],
            JUMBO_COMMANDS[4],
            // The rollback: what had changed goes back (the port to automatic); the cap last.
            "networksetup -setMTUAndMediaAutomatically 'Thunderbolt Ethernet Slot 1'",
            "sysctl -w net.inet.tcp.autorcvbufmax=4194304",
            "sysctl -w net.inet.tcp.autosndbufmax=4194304",
            "sysctl -w kern.ipc.maxsockbuf=8388608",
        ]
    );
    assert_eq!(sb.fake_state(), before);
    assert!(!sb.state_file().exists());
}

#[test]
fn an_error_printed_with_exit_status_zero_is_caught_and_rolled_back() {
    require_root!("networksetup error with exit 0");
    let sb = mac();
    let before = sb.fake_state();
    // A forced media first, then the MTU; the MTU's networksetup prints an error but exits 0.
    let profile = sb.path().join("forced.toml");
    std::fs::write(
        &profile,
        "schema_version = 1\n[link]\nline_rate_mbps = 10000\nmtu = 9000\n[tune.macos]\nmtu = 9000\n\
media = \"10Gbase-T <full-duplex>\"\n",
    )
    .unwrap();
    sb.fail_on("networksetup -setMTU 'Thunderbolt Ethernet Slot 1' 9000|error0\n");
    let state = sb.state_dir().display().to_string();
    let p = profile.display().to_string();
    let out = sb.saf(&apply_args(&state, &p, TB, &["--yes"]));
    let err = tune_support::one_line_error(&out, 1, "reported an error: ** Error: The parameters were not valid.");
    assert!(err.contains("rolled back"), "{err}");
    assert_eq!(
        sb.changing_calls(),
        [
            "networksetup -setMedia 'Thunderbolt Ethernet Slot 1' 10Gbase-T full-duplex",
            "networksetup -setMTU 'Thunderbolt Ethernet Slot 1' 9000",
            // Media and MTU were on automatic: one command puts both back.
            "networksetup -setMTUAndMediaAutomatically 'Thunderbolt Ethernet Slot 1'",
        ]
    );
    assert!(text(&out.stdout).contains("WARNING: forcing media '10Gbase-T <full-duplex>' turns autonegotiation off"));
    assert_eq!(sb.fake_state(), before);
}

#[test]
fn a_change_that_does_not_stick_is_caught_by_verification() {
    require_root!("verification catches a silent failure");
    let sb = mac();
    let before = sb.fake_state();
    sb.fail_on("sysctl -w net.inet.tcp.sendspace|ignore\n");
    let state = sb.state_dir().display().to_string();
    let out = sb.saf(&apply_args(&state, "10gbe-jumbo", TB, &["--yes"]));
    let err = tune_support::one_line_error(
        &out,
        1,
        "verification failed: net.inet.tcp.sendspace is 131072, wanted 1048576",
    );
    assert!(err.contains("rolled back"), "{err}");
    assert_eq!(sb.fake_state(), before);
}

#[test]
fn persist_writes_the_boot_file_and_revert_takes_it_out() {
    require_root!("--persist");
    let sb = mac();
    std::fs::create_dir_all(sb.sysctl_conf().parent().unwrap()).unwrap();
    std::fs::write(sb.sysctl_conf(), "# the admin's own\nkern.maxfiles=65536\n").unwrap();
    let state = sb.state_dir().display().to_string();
    let out = sb.saf(&apply_args(&state, "10gbe-jumbo", TB, &["--yes", "--persist"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let conf = std::fs::read_to_string(sb.sysctl_conf()).unwrap();
    assert!(conf.starts_with("# the admin's own\nkern.maxfiles=65536\n"), "{conf}");
    assert!(conf.contains("kern.ipc.maxsockbuf=16777216\n"), "{conf}");
    assert!(text(&out.stdout).contains("Persisted: wrote the sysctls to"));
    // Applying again with --persist writes nothing new.
    sb.clear_calls();
    let out = sb.saf(&apply_args(&state, "10gbe-jumbo", TB, &["--yes", "--persist"]));
    assert!(text(&out.stdout).contains("Nothing to change"), "{}", text(&out.stdout));
    assert!(sb.changing_calls().is_empty());
    let out = sb.saf(&["tune", "revert", "--state-dir", &state]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(sb.sysctl_conf()).unwrap(),
        "# the admin's own\nkern.maxfiles=65536\n"
    );
}

#[test]
fn an_unconfirmed_try_reverts_by_itself() {
    require_root!("--try expiry");
    let sb = mac();
    let before = sb.fake_state();
    let state = sb.state_dir().display().to_string();
    let out = sb.saf(&apply_args(&state, "10gbe-jumbo", TB, &["--yes", "--try", "2"]));
    let t = text(&out.stdout);
    assert!(out.status.success(), "{t}\n{}", text(&out.stderr));
    assert!(t.contains("Trial: this reverts at"), "{t}");
    assert!(
        t.contains(&format!("unless `saf-net tune confirm --state-dir {state}` runs first")),
        "{t}"
    );
    assert_eq!(sb.read("networksetup/en5/mtu"), "9000");
    assert!(
        wait_for(Duration::from_secs(15), || sb.fake_state() == before),
        "not reverted: {:?}",
        sb.fake_state()
    );
    let log = sb.state_dir().join("tune-watch.log");
    assert!(wait_for(Duration::from_secs(5), || std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("was not confirmed")));
    assert!(wait_for(Duration::from_secs(5), || !sb.state_file().exists()));
    // Nothing is pending any more.
    let out = sb.saf(&["tune", "confirm", "--state-dir", &state]);
    tune_support::one_line_error(&out, 1, "no trial is pending");
}

#[test]
fn over_ssh_on_the_interface_a_trial_is_the_default_and_confirm_keeps_it() {
    require_root!("default --try over SSH");
    let sb = mac();
    let state = sb.state_dir().display().to_string();
    let mut c = sb.command(&apply_args(&state, "10gbe-jumbo", "Ethernet", &["--yes"]));
    c.env("SSH_CONNECTION", "192.168.1.50 52311 192.168.1.172 22")
        .env("SAF_NET_FAKE_SYSCTL", "macos");
    let out = tune_support::run(c);
    let t = text(&out.stdout);
    assert!(out.status.success(), "{t}\n{}", text(&out.stderr));
    assert!(
        t.contains("This SSH session (to 192.168.1.172) runs over \"Ethernet\" (en0): the change is tried for 60 s"),
        "{t}"
    );
    assert!(t.contains("(in 60 s)"), "{t}");
    // Another apply must wait for the trial to end.
    let out = sb.saf(&apply_args(&state, "10gbe", "Ethernet", &["--yes"]));
    tune_support::one_line_error(&out, 1, "is still running");
    let out = sb.saf(&["tune", "confirm", "--state-dir", &state]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("Confirmed: profile 10gbe-jumbo stays on Ethernet."));
    let log = sb.state_dir().join("tune-watch.log");
    assert!(wait_for(Duration::from_secs(5), || std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("ended (confirmed")));
    assert_eq!(sb.read("networksetup/en0/mtu"), "9000", "confirmed settings stay");
    // Over another interface there is no default trial.
    let mut c = sb.command(&apply_args(&state, "10gbe-jumbo", TB, &["--yes"]));
    c.env("SSH_CONNECTION", "192.168.1.50 52311 192.168.1.172 22")
        .env("SAF_NET_FAKE_SYSCTL", "macos");
    let out = tune_support::run(c);
    assert!(!text(&out.stdout).contains("Trial:"), "{}", text(&out.stdout));
    assert!(sb.saf(&["tune", "revert", "--state-dir", &state]).status.success());
}
