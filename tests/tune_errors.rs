//! Every bad input to `saf-net tune` changes nothing and gets one clear line and a non-zero exit:
//! an MTU outside the valid range, an unknown interface (the known ones listed), media not in the
//! valid list (the list shown), a missing or malformed profile, and not being root.
//!
//! Each case runs as a dry run (any user) and, as root, as a real apply too. "Not root" runs the
//! binary as `nobody` (setpriv) when the tests run as root, and as the test's own user otherwise.
#![cfg(unix)]

#[macro_use]
mod tune_support;

use std::process::Command;

use tune_support::{Sandbox, is_root, one_line_error, text};

fn mac() -> Sandbox {
    let sb = Sandbox::new(&["networksetup", "sysctl", "ifconfig"]);
    sb.mac_studio();
    sb
}

fn profile_file(sb: &Sandbox, name: &str, body: &str) -> String {
    let p = sb.path().join(name);
    std::fs::write(&p, body).unwrap();
    p.display().to_string()
}

/// Runs `tune apply` (dry run, and for real when root) and checks: exit `code`, one stderr line
/// containing `want`, nothing on stdout, no changing command, no snapshot, fakes unchanged.
fn refused(sb: &Sandbox, profile: &str, iface: &str, code: i32, want: &str) -> String {
    let before = sb.fake_state();
    let state = sb.state_dir().display().to_string();
    let mut modes = vec![vec!["--dry-run"]];
    if is_root() {
        modes.push(vec!["--yes"]);
    }
    let mut line = String::new();
    for extra in modes {
        let mut args = vec![
            "tune",
            "apply",
            profile,
            "--backend",
            "macos",
            "--interface",
            iface,
            "--state-dir",
            &state,
        ];
        args.extend(extra);
        let out = sb.saf(&args);
        line = one_line_error(&out, code, want);
        assert_eq!(text(&out.stdout), "", "nothing printed before the error");
        assert!(sb.changing_calls().is_empty(), "{:?}", sb.changing_calls());
        assert_eq!(sb.fake_state(), before);
        assert!(!sb.state_file().exists());
    }
    line
}

#[test]
fn an_mtu_outside_the_valid_range_is_refused() {
    let sb = mac();
    let p = profile_file(
        &sb,
        "big.toml",
        "schema_version = 1\n[link]\nline_rate_mbps = 10000\nmtu = 9216\n[tune.macos]\nmtu = 9216\n",
    );
    let line = refused(
        &sb,
        &p,
        "Thunderbolt Ethernet Slot 1",
        2,
        "MTU 9216 is outside the valid range 1280-9000",
    );
    assert_eq!(
        line,
        "error: MTU 9216 is outside the valid range 1280-9000 of \"Thunderbolt Ethernet Slot 1\" (en5) \
(from `networksetup -listValidMTURange 'Thunderbolt Ethernet Slot 1'`)"
    );
    // Wi-Fi takes no jumbo frames at all.
    refused(
        &sb,
        "10gbe-jumbo",
        "Wi-Fi",
        2,
        "MTU 9000 is outside the valid range 1280-1500 of \"Wi-Fi\" (en1)",
    );
}

#[test]
fn an_unknown_interface_lists_the_known_ones() {
    let sb = mac();
    let line = refused(&sb, "10gbe", "Ethernt", 2, "unknown interface 'Ethernt'");
    assert_eq!(
        line,
        "error: unknown interface 'Ethernt'; hardware ports: \"Ethernet\" (en0), \
\"Thunderbolt Ethernet Slot 1\" (en5), \"Wi-Fi\" (en1), \"Thunderbolt 1\" (en2), \"Thunderbolt 2\" (en3), \
\"Thunderbolt Bridge\" (bridge0)"
    );
}

#[test]
fn media_not_in_the_valid_list_shows_the_list() {
    let sb = mac();
    // The seed document's spelling, which is not what networksetup lists.
    let p = profile_file(
        &sb,
        "typo.toml",
        "schema_version = 1\n[link]\nline_rate_mbps = 10000\nmtu = 1500\n[tune.macos]\nmtu = 1500\n\
media = \"10GbaseT <full-duplex>\"\n",
    );
    let line = refused(
        &sb,
        &p,
        "Ethernet",
        2,
        "media '10GbaseT <full-duplex>' is not valid for \"Ethernet\" (en0)",
    );
    assert!(
        line.ends_with(
            "valid media: autoselect | 10baseT/UTP <half-duplex> | 10baseT/UTP <full-duplex> | \
100baseTX <half-duplex> | 100baseTX <full-duplex> | 1000baseT <full-duplex> | 2500Base-T <full-duplex> | \
5000Base-T <full-duplex> | 10Gbase-T <full-duplex> | 10Gbase-T <full-duplex,flow-control> | \
10Gbase-T <full-duplex,flow-control,energy-efficient-ethernet>"
        ),
        "{line}"
    );
}

#[test]
fn missing_and_malformed_profiles_are_refused() {
    let sb = mac();
    let line = refused(&sb, "10gb", "Ethernet", 2, "unknown profile '10gb'");
    assert!(
        line.contains("known profiles: 10gbe, 10gbe-jumbo, 1gbe, thunderbolt"),
        "{line}"
    );
    let p = profile_file(
        &sb,
        "bad.toml",
        "schema_version = 1\n[link]\nline_rate_mbps = 10000\nmtu = 1500\n[tune.macos]\nmtu = \"big\"\n",
    );
    refused(
        &sb,
        &p,
        "Ethernet",
        2,
        "bad.toml:6:7: invalid type: string \"big\", expected u32",
    );
    let p = profile_file(
        &sb,
        "none.toml",
        "schema_version = 1\n[link]\nline_rate_mbps = 1000\nmtu = 1500\n",
    );
    refused(&sb, &p, "Ethernet", 2, "profile 'none' has no [tune.macos] section");
    let missing = sb.path().join("nope.toml").display().to_string();
    refused(&sb, &missing, "Ethernet", 2, "nope.toml: No such file or directory");
}

#[test]
fn not_root_is_told_to_use_sudo_and_nothing_changes() {
    let sb = mac();
    let before = sb.fake_state();
    let state = sb.state_dir().display().to_string();
    let cases: [&[&str]; 3] = [
        &[
            "tune",
            "apply",
            "10gbe-jumbo",
            "--backend",
            "macos",
            "--interface",
            "Ethernet",
            "--yes",
            "--state-dir",
            &state,
        ],
        &["tune", "revert", "--state-dir", &state],
        &["tune", "confirm", "--state-dir", &state],
    ];
    for args in cases {
        let out = if is_root() {
            // Run as nobody; the sandbox must be reachable for it.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(sb.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
            let mut c = Command::new("setpriv");
            c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", tune_support::BIN])
                .args(args);
            sb.prepare(&mut c);
            c.env("SAF_NET_FAKE_SYSCTL", "macos");
            tune_support::run(c)
        } else {
            sb.saf(args)
        };
        let line = one_line_error(&out, 1, "needs root; run it with sudo");
        if args[1] == "apply" {
            assert_eq!(
                line,
                "error: saf-net tune apply changes network settings and needs root; run it with sudo \
(or add --dry-run to see the plan without root)"
            );
        }
        assert!(sb.calls().is_empty(), "nothing ran: {:?}", sb.calls());
        assert_eq!(sb.fake_state(), before);
        assert!(!sb.state_file().exists());
    }
}

#[test]
fn a_declined_prompt_changes_nothing() {
    require_root!("the confirmation prompt");
    let sb = mac();
    let before = sb.fake_state();
    let state = sb.state_dir().display().to_string();
    // stdin is empty: no answer is no.
    let out = sb.saf(&[
        "tune",
        "apply",
        "10gbe-jumbo",
        "--backend",
        "macos",
        "--interface",
        "Ethernet",
        "--state-dir",
        &state,
    ]);
    one_line_error(
        &out,
        1,
        "not applied: no answer on stdin; add --yes to apply without asking",
    );
    assert!(text(&out.stdout).contains("Apply 6 changes to \"Ethernet\" (en0)? [y/N]"));
    assert!(sb.changing_calls().is_empty());
    assert_eq!(sb.fake_state(), before);
    assert!(!sb.state_file().exists());
}

#[test]
fn revert_and_confirm_with_nothing_to_do() {
    require_root!("revert and confirm without a snapshot");
    let sb = mac();
    let state = sb.state_dir().display().to_string();
    let out = sb.saf(&["tune", "revert", "--state-dir", &state]);
    assert!(out.status.success());
    assert!(
        text(&out.stdout).starts_with("Nothing to revert"),
        "{}",
        text(&out.stdout)
    );
    let out = sb.saf(&["tune", "confirm", "--state-dir", &state]);
    one_line_error(&out, 1, "no trial is pending, so there is nothing to confirm");
    let out = sb.saf(&["tune", "show", "--backend", "windows"]);
    one_line_error(&out, 2, "invalid value 'windows' for '--backend <OS>'");
}
