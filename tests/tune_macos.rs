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

/// Applies a profile with a forced media, then MTU 9000, to the Thunderbolt port, with `rule` (tests/fakes/_fake.sh)
/// making one of its commands fail.
fn apply_forced_media_failing(sb: &Sandbox, rule: &str) -> std::process::Output {
    let profile = sb.path().join("forced.toml");
    std::fs::write(
        &profile,
        "schema_version = 1\n[link]\nline_rate_mbps = 10000\nmtu = 9000\n[tune.macos]\nmtu = 9000\n\
media = \"10Gbase-T <full-duplex>\"\n",
    )
    .unwrap();
    sb.fail_on(rule);
    let state = sb.state_dir().display().to_string();
    let p = profile.display().to_string();
    sb.saf(&apply_args(&state, &p, TB, &["--yes"]))
}

#[test]
fn an_error_printed_with_exit_status_zero_is_caught_and_rolled_back() {
    require_root!("networksetup error with exit 0");
    let sb = mac();
    let before = sb.fake_state();
    // A forced media first, then the MTU; the MTU's networksetup prints an error but exits 0.
    let out = apply_forced_media_failing(&sb, "networksetup -setMTU 'Thunderbolt Ethernet Slot 1' 9000|error0\n");
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

const BRIDGE_UP: &[&str] = &[
    "networksetup -setMTU 'Thunderbolt 1' 9000",
    "networksetup -setMTU 'Thunderbolt 2' 9000",
    "networksetup -setMTU 'Thunderbolt Bridge' 9000",
];

fn show_json(sb: &Sandbox, iface: &str) -> serde_json::Value {
    let state = sb.state_dir().display().to_string();
    let args = [
        "tune",
        "show",
        "--backend",
        "macos",
        "-i",
        iface,
        "-J",
        "--state-dir",
        &state,
    ];
    let out = sb.saf(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn show_lists_the_thunderbolt_bridge_with_its_members_and_no_media() {
    let sb = mac();
    let state = sb.state_dir().display().to_string();
    let out = sb.saf(&["tune", "show", "--backend", "macos", "--state-dir", &state]);
    let t = text(&out.stdout);
    assert!(out.status.success(), "{t}\n{}", text(&out.stderr));
    for want in [
        "Thunderbolt Bridge           bridge0   36:b5:4b:12:34:00",
        "\nThunderbolt Bridge (bridge0)\n  MTU           active 1500, configured 1500, valid 1280-9000;",
        "  members       \"Thunderbolt 1\" (en2), \"Thunderbolt 2\" (en3) (a bridge: MTU set on them first)",
        "  media         none (a bridge has none): `networksetup -getMedia 'Thunderbolt Bridge'`: ** Error: The parameters were not valid.",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
    let j = show_json(&sb, "bridge0");
    let i = &j["interfaces"][0];
    assert_eq!(i["name"], "Thunderbolt Bridge");
    assert_eq!(i["members"][0]["name"], "Thunderbolt 1");
    assert_eq!(i["members"][1]["device"], "en3");
    assert!(i["media"].is_null() && i["link"].is_null(), "{i}");
    assert!(i["media_error"].as_str().unwrap().contains("-getMedia"), "{i}");
    assert!(sb.changing_calls().is_empty());
}

#[test]
fn thunderbolt_sets_the_members_first_then_the_bridge_and_revert_goes_back_to_automatic() {
    let sb = mac();
    let before = sb.fake_state();
    let state = sb.state_dir().display().to_string();
    let out = sb.saf(&apply_args(&state, "thunderbolt", "bridge0", &["--dry-run"]));
    let t = text(&out.stdout);
    assert!(out.status.success(), "{t}\n{}", text(&out.stderr));
    let order: Vec<usize> = BRIDGE_UP
        .iter()
        .map(|c| t.find(&format!("run: {c}\n")).unwrap())
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "members first, then the bridge:\n{t}"
    );
    assert!(!t.contains("-setMedia"), "{t}");
    // A profile with media: the bridge has none, so it is skipped with a note, not an error.
    let out = sb.saf(&apply_args(&state, "10gbe-jumbo", "bridge0", &["--dry-run"]));
    let t = text(&out.stdout);
    assert!(out.status.success(), "{t}\n{}", text(&out.stderr));
    assert!(
        t.contains("note: media: \"Thunderbolt Bridge\" (bridge0) is a bridge and has no media of its own"),
        "{t}"
    );
    require_root!("apply thunderbolt to the Thunderbolt Bridge");
    let out = sb.saf(&apply_args(&state, "thunderbolt", "bridge0", &["--yes"]));
    let t = text(&out.stdout);
    assert!(out.status.success(), "{t}\n{}", text(&out.stderr));
    assert_eq!(sb.changing_calls()[..3], *BRIDGE_UP);
    assert!(t.contains("Verified: every setting reads back as planned."), "{t}");
    assert!(
        t.contains("\"Thunderbolt 1\" (en2), \"Thunderbolt 2\" (en3), \"Thunderbolt Bridge\" (bridge0)"),
        "{t}"
    );
    assert_eq!(sb.read("networksetup/en3/mtu"), "9000");
    sb.clear_calls();
    let out = sb.saf(&["tune", "revert", "--interface", "Thunderbolt 2", "--state-dir", &state]);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let net: Vec<String> = sb
        .changing_calls()
        .into_iter()
        .filter(|c| c.starts_with("networksetup"))
        .collect();
    assert_eq!(
        net,
        [
            // The bridge's MTU must equal its members' when it is set: members first here too.
            "networksetup -setMTUAndMediaAutomatically 'Thunderbolt 1'",
            "networksetup -setMTUAndMediaAutomatically 'Thunderbolt 2'",
            "networksetup -setMTUAndMediaAutomatically 'Thunderbolt Bridge'",
        ],
        "a member goes back with its bridge"
    );
    assert_eq!(sb.fake_state(), before, "back on automatic, as before");
    assert!(!sb.state_file().exists());
}

#[test]
fn a_member_that_takes_no_jumbo_frames_is_refused_before_anything() {
    let sb = mac();
    sb.set("networksetup/en3/range", "1280-1500");
    let before = sb.fake_state();
    let state = sb.state_dir().display().to_string();
    let mut modes = vec!["--dry-run"];
    if tune_support::is_root() {
        modes.push("--yes");
    }
    for mode in modes {
        let out = sb.saf(&apply_args(&state, "thunderbolt", "Thunderbolt Bridge", &[mode]));
        let line = tune_support::one_line_error(&out, 2, "MTU 9000 is outside the valid range 1280-1500");
        assert_eq!(
            line,
            "error: MTU 9000 is outside the valid range 1280-1500 of \"Thunderbolt 2\" (en3) (from \
`networksetup -listValidMTURange 'Thunderbolt 2'`); it is a member of \"Thunderbolt Bridge\" (bridge0), \
whose MTU cannot exceed its members'"
        );
        assert!(sb.changing_calls().is_empty());
        assert_eq!(sb.fake_state(), before);
        assert!(!sb.state_file().exists());
    }
}

#[test]
fn an_mtu_saved_but_not_in_effect_is_not_verified_and_is_rolled_back() {
    let sb = mac();
    // The driver applies a new MTU only when the link comes back: networksetup saves 9000, 1500 stays.
    sb.set("networksetup/en5/hold", "");
    sb.set("networksetup/en0/mtu", "9000");
    sb.set("networksetup/en0/active_mtu", "1500");
    let j = show_json(&sb, "en0");
    assert_eq!(
        (
            j["interfaces"][0]["mtu"]["active"].as_u64(),
            j["interfaces"][0]["mtu"]["configured"].as_u64()
        ),
        (Some(1500), Some(9000))
    );
    let state = sb.state_dir().display().to_string();
    let out = sb.saf(&[
        "tune",
        "show",
        "--backend",
        "macos",
        "-i",
        "Ethernet",
        "--state-dir",
        &state,
    ]);
    assert!(
        text(&out.stdout).contains("active 1500, configured 9000, valid 1280-9000 (NOT IN EFFECT"),
        "{}",
        text(&out.stdout)
    );
    require_root!("a saved but inactive MTU");
    let before = sb.fake_state();
    let out = sb.saf(&apply_args(&state, "10gbe-jumbo", TB, &["--yes"]));
    let t = text(&out.stdout);
    let err = tune_support::one_line_error(
        &out,
        1,
        "verification failed: mtu of \"Thunderbolt Ethernet Slot 1\" (en5) is set to 9000 but 1500 is in effect",
    );
    assert!(err.contains("rolled back"), "{err}");
    assert!(!t.contains("Verified"), "{t}");
    assert_eq!(sb.fake_state(), before);
    assert!(!sb.state_file().exists());
}

#[test]
fn admin_privileges_printed_with_exit_status_zero_fail_suggest_sudo_and_roll_back() {
    require_root!("networksetup's admin error with exit 0");
    let sb = mac();
    let before = sb.fake_state();
    let out = apply_forced_media_failing(&sb, "networksetup -setMTU 'Thunderbolt Ethernet Slot 1' 9000|admin0\n");
    let err = tune_support::one_line_error(
        &out,
        1,
        "reported an error: ** Error: Command requires admin privileges. (run saf-net with sudo)",
    );
    assert!(err.contains("rolled back to the snapshot"), "{err}");
    assert_eq!(
        sb.changing_calls(),
        [
            "networksetup -setMedia 'Thunderbolt Ethernet Slot 1' 10Gbase-T full-duplex",
            "networksetup -setMTU 'Thunderbolt Ethernet Slot 1' 9000",
            "networksetup -setMTUAndMediaAutomatically 'Thunderbolt Ethernet Slot 1'",
        ]
    );
    assert_eq!(sb.fake_state(), before);
}

#[test]
fn ports_with_translated_names_are_found_by_device_and_by_name() {
    let sb = mac();
    sb.rename_ports(&[
        ("bridge0", "Thunderbolt-Brücke"),
        ("en5", "Thunderbolt-Ethernet Steckplatz 1"),
        ("en0", "Ethernet 1"),
    ]);
    let before = sb.fake_state();
    let state = sb.state_dir().display().to_string();
    let out = sb.saf(&apply_args(&state, "10gbe-jumbo", "en5", &["--dry-run"]));
    let t = text(&out.stdout);
    assert!(out.status.success(), "{t}\n{}", text(&out.stderr));
    assert!(
        t.contains("run: networksetup -setMTU 'Thunderbolt-Ethernet Steckplatz 1' 9000\n"),
        "{t}"
    );
    let out = sb.saf(&apply_args(&state, "thunderbolt", "Thunderbolt-Brücke", &["--dry-run"]));
    let t = text(&out.stdout);
    assert!(out.status.success(), "{t}\n{}", text(&out.stderr));
    assert!(
        t.contains("Plan: profile thunderbolt on \"Thunderbolt-Brücke\" (bridge0)"),
        "{t}"
    );
    assert!(
        t.contains("run: networksetup -setMTU 'Thunderbolt-Brücke' 9000\n"),
        "{t}"
    );
    assert!(t.contains("run: networksetup -setMTU 'Thunderbolt 2' 9000\n"), "{t}");
    require_root!("apply and revert on translated port names");
    let out = sb.saf(&apply_args(&state, "thunderbolt", "Thunderbolt-Brücke", &["--yes"]));
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(sb.read("networksetup/bridge0/mtu"), "9000");
    let out = sb.saf(&["tune", "revert", "--interface", "bridge0", "--state-dir", &state]);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(sb.fake_state(), before);
}

#[test]
fn media_with_flow_control_and_eee_parse_and_round_trip() {
    let sb = mac();
    let j = show_json(&sb, "Ethernet");
    let i = &j["interfaces"][0];
    assert_eq!(i["media"]["active"], tune_support::MAC_EEE_MEDIA);
    assert_eq!(
        (i["link"]["speed_mbps"].as_u64(), i["link"]["duplex"].as_str()),
        (Some(10_000), Some("full"))
    );
    let profile = sb.path().join("eee.toml");
    std::fs::write(
        &profile,
        format!(
            "schema_version = 1\n[link]\nline_rate_mbps = 10000\nmtu = 1500\n[tune.macos]\nmtu = 1500\nmedia = \"{}\"\n",
            tune_support::MAC_EEE_MEDIA
        ),
    )
    .unwrap();
    let (state, p) = (sb.state_dir().display().to_string(), profile.display().to_string());
    let out = sb.saf(&apply_args(&state, &p, "Ethernet", &["--dry-run"]));
    let t = text(&out.stdout);
    assert!(
        t.contains(
            "run: networksetup -setMedia Ethernet 10Gbase-T full-duplex flow-control energy-efficient-ethernet\n"
        ),
        "{t}"
    );
    require_root!("forced media with three options");
    let before = sb.fake_state();
    let out = sb.saf(&apply_args(&state, &p, "Ethernet", &["--yes"]));
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(sb.read("networksetup/en0/media"), tune_support::MAC_EEE_MEDIA);
    assert!(sb.saf(&["tune", "revert", "--state-dir", &state]).status.success());
    assert_eq!(sb.fake_state(), before);
}

#[test]
fn wifi_with_no_active_media_has_an_unknown_speed_not_a_slow_link() {
    let sb = mac();
    let j = show_json(&sb, "Wi-Fi");
    let i = &j["interfaces"][0];
    assert_eq!(i["media"]["active"], "not set");
    assert!(
        i["link"]["speed_mbps"].is_null() && i["link"]["duplex"].is_null(),
        "{i}"
    );
    let state = sb.state_dir().display().to_string();
    let out = sb.saf(&apply_args(&state, "1gbe", "Wi-Fi", &["--dry-run"]));
    let t = text(&out.stdout);
    assert!(out.status.success(), "{t}\n{}", text(&out.stderr));
    assert!(!t.contains("runs at") && !t.contains("below the profile"), "{t}");
}

#[test]
fn a_pinned_mtu_that_automatic_does_not_give_back_is_pinned_again() {
    require_root!("revert of a port whose MTU was set by hand");
    let sb = mac();
    // Set by hand to 4000 (media still autoselect): networksetup prints it like an automatic one.
    sb.set("networksetup/en5/mtu", "4000");
    let _ = std::fs::remove_file(sb.path().join("networksetup/en5/auto"));
    let before = sb.fake_state();
    let state = sb.state_dir().display().to_string();
    assert!(
        sb.saf(&apply_args(&state, "10gbe-jumbo", TB, &["--yes"]))
            .status
            .success()
    );
    sb.clear_calls();
    let out = sb.saf(&["tune", "revert", "--state-dir", &state]);
    let t = text(&out.stdout);
    assert!(out.status.success(), "{t}\n{}", text(&out.stderr));
    let net: Vec<String> = sb
        .changing_calls()
        .into_iter()
        .filter(|c| c.starts_with("networksetup"))
        .collect();
    assert_eq!(
        net,
        [
            "networksetup -setMTUAndMediaAutomatically 'Thunderbolt Ethernet Slot 1'",
            "networksetup -setMTU 'Thunderbolt Ethernet Slot 1' 4000",
        ]
    );
    assert!(
        t.contains("note: automatic did not give back the MTU recorded in the snapshot"),
        "{t}"
    );
    assert_eq!(sb.fake_state(), before);
}
