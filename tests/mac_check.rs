//! `scripts/mac-check.sh`, the report a Mac owner pastes: run on Linux against the fake macOS tools of
//! tests/fakes (first on PATH, so the script drives `--backend macos`), its report asserted line by line;
//! and without them, the Mac-only lines SKIPped and exit 0.
#![cfg(target_os = "linux")]

#[macro_use]
mod tune_support;

use std::path::Path;
use std::process::{Command, Output};

use tune_support::{BIN, Sandbox, text};

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mac-check.sh")
}

fn isolated(c: &mut Command, tmp: &Path) {
    c.env("SAF_NET", BIN)
        .env("SAF_NET_HISTORY", tmp.join("history.csv"))
        .env("XDG_DATA_HOME", tmp.join("data"))
        .env("TMPDIR", tmp)
        .env_remove("SAF_NET_PROFILE")
        .env_remove("SAF_NET_PROFILES");
}

/// The report's fact lines (PASS/CHECK/SKIP), with the run's own figures cut off after the colon.
fn facts(out: &Output) -> Vec<String> {
    text(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("PASS") || l.starts_with("CHECK") || l.starts_with("SKIP"))
        .map(String::from)
        .collect()
}

fn head(line: &str) -> &str {
    line.split_once(": ").map_or(line, |(h, _)| h)
}

#[test]
fn without_a_mac_or_fakes_the_mac_lines_are_skipped_and_it_exits_0() {
    let path = std::env::var("PATH").unwrap_or_default();
    assert!(
        !path.split(':').any(|d| Path::new(d).join("networksetup").exists()),
        "a networksetup on PATH would make this a fake run"
    );
    let tmp = tempfile::tempdir().unwrap();
    let mut c = Command::new("bash");
    c.arg(script());
    isolated(&mut c, tmp.path());
    let out = c.output().unwrap();
    let f = facts(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let heads: Vec<&str> = f.iter().map(|l| head(l)).collect();
    assert_eq!(
        heads,
        [
            "SKIP  hardware ports and link facts",
            "SKIP  route",
            "SKIP  tune apply --dry-run for each profile",
            "PASS  client -t 2 on loopback",
            "PASS  latency on loopback",
            "PASS  mtu on loopback",
            "PASS  service install --print",
        ],
        "{}",
        text(&out.stdout)
    );
    assert!(
        f[3].contains("TCP_INFO/TCP_CONNECTION_INFO figures present"),
        "{}",
        f[3]
    );
    assert!(f[4].contains("sent 200, received 200"), "{}", f[4]);
    assert!(f[6].contains("a launchd property list"), "{}", f[6]);
    let t = text(&out.stdout);
    assert!(t.starts_with("saf-net mac-check report\n"), "{t}");
    assert!(t.ends_with("summary: 4 PASS, 0 CHECK, 3 SKIP\n"), "{t}");
    assert!(!tmp.path().join("history.csv").exists(), "the check writes no history");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "the script removes its temp folder: {left:?}");
}

#[test]
fn a_missing_saf_net_is_one_line_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = Command::new("bash");
    c.arg(script());
    isolated(&mut c, tmp.path());
    c.env("SAF_NET", tmp.path().join("no-such-saf-net"));
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("saf-net not found or does not run"), "{err}");
    assert!(out.stdout.is_empty());
}

/// The report of a Mac Studio (tests/tune_support) whose route to 192.168.1.172 is `route_line`
/// ("destination|mask|gateway|interface|flags|mtu", as tests/fakes/route reads it).
fn fake_mac_report(route_line: &str) -> (Sandbox, Output) {
    let sb = Sandbox::new(&["networksetup", "sysctl", "ifconfig", "route"]);
    sb.mac_studio();
    let routes = sb.path().join("route");
    std::fs::create_dir_all(&routes).unwrap();
    std::fs::write(routes.join("192.168.1.172"), format!("{route_line}\n")).unwrap();
    let mut c = Command::new("bash");
    c.arg(script()).arg("192.168.1.172");
    sb.prepare(&mut c);
    c.env("SAF_NET_FAKE_SYSCTL", "macos");
    isolated(&mut c, sb.path());
    let out = c.output().unwrap();
    (sb, out)
}

/// Wi-Fi and Ethernet both up, and the node reached by Wi-Fi: the most common Mac pitfall is a CHECK.
#[test]
fn a_route_by_wifi_is_a_check() {
    let (_sb, out) = fake_mac_report("default|default|192.168.1.1|en1|UP,GATEWAY,DONE,STATIC,PRCLONING|1500");
    let t = text(&out.stdout);
    let line = facts(&out)
        .into_iter()
        .find(|l| l.contains("route to 192.168.1.172"))
        .expect("route line");
    assert!(line.starts_with("CHECK"), "{t}");
    assert!(line.contains("en1 (Wi-Fi") && line.contains("not the cable"), "{line}");
    assert_eq!(out.status.code(), Some(1), "{t}");
}

#[test]
fn against_the_fake_macos_tools_every_mac_path_reports() {
    let (sb, out) = fake_mac_report("192.168.1.172|||en0|UP,HOST,DONE,LLINFO,WASCLONED,IFSCOPE,IFREF|1500");
    let t = text(&out.stdout);
    let f = facts(&out);
    assert!(t.contains("macOS paths: fake"), "{t}");
    assert!(
        f.iter().any(
            |l| l.starts_with("PASS  port Ethernet (en0): MTU active 1500, configured 1500")
                && l.contains("link 10000 Mbit/s, full duplex")
        ),
        "{t}"
    );
    for p in ["1gbe", "10gbe", "10gbe-jumbo"] {
        assert!(
            f.iter()
                .any(|l| l.starts_with(&format!("PASS  tune apply {p} --dry-run on en0: "))),
            "{p}: {t}"
        );
    }
    assert!(
        f.iter()
            .any(|l| l.starts_with("PASS  tune apply 10gbe-jumbo --dry-run on en0: 6 commands planned")),
        "{t}"
    );
    let has = |prefix: &str| f.iter().any(|l| l.starts_with(prefix));
    assert!(has("PASS  tune show: 6 hardware ports listed"), "{t}");
    // The 10 GbE port with flow control and EEE, Wi-Fi with `Active: not set`, the bridge with no media: all
    // facts, none a CHECK (unknown is reported as unknown).
    assert!(
        has(
            "PASS  port Ethernet (en0): MTU active 1500, configured 1500, valid 1280-9000; media current autoselect, \
             active 10Gbase-T <full-duplex,flow-control,energy-efficient-ethernet>; link 10000 Mbit/s, full duplex"
        ),
        "{t}"
    );
    assert!(has("PASS  port Wi-Fi (en1): "), "{t}");
    assert!(
        f.iter()
            .any(|l| l.starts_with("PASS  port Thunderbolt Bridge (bridge0): ") && l.ends_with("link unknown")),
        "{t}"
    );
    assert!(has("PASS  tune apply thunderbolt --dry-run on bridge0: "), "{t}");
    assert!(
        has("PASS  route to 192.168.1.172: Route to 192.168.1.172: en0 (Ethernet, port \"Ethernet\"), on-link"),
        "{t}"
    );
    assert!(
        t.contains("      link:          MTU 1500, speed 10000 Mb/s, duplex full\n"),
        "{t}"
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "nothing to CHECK on a healthy Mac Studio: {t}"
    );
    assert!(sb.changing_calls().is_empty(), "read-only: {:?}", sb.changing_calls());
}

/// On a Mac, `tune show` adds the kernel's view of each port (`kernel media`, from SIOCGIFXMEDIA). The report
/// CHECKs a port where it disagrees with networksetup, the 32-bit baud-rate bug's signature, or is missing. A
/// wrapper stands in for a Mac's saf-net here: it prints such a `tune show` and hands everything else on.
#[test]
fn a_kernel_speed_that_disagrees_with_networksetup_is_a_check() {
    let sb = Sandbox::new(&["networksetup"]);
    let show = "Hardware ports (macos backend):\n  Ethernet  en0  3c:a6:f6:12:34:56\n  Thunderbolt Ethernet Slot 1  en5  \
00:30:93:12:34:57\n\nEthernet (en0)\n  MTU           active 9000, configured 9000, valid 1280-9000; change survives \
reboot: yes\n  media         current autoselect, active 10Gbase-T <full-duplex>; change survives reboot: yes\n  \
link          10000 Mbit/s, full duplex, autonegotiation on; set through media\n  kernel media  4294 Mbit/s, \
full duplex (SIOCGIFXMEDIA, as client and mtu read it)\n\nThunderbolt Ethernet Slot 1 (en5)\n  MTU           active \
1500, configured 1500, valid 1280-9000; change survives reboot: yes\n  media         current autoselect, active \
10Gbase-T <full-duplex>; change survives reboot: yes\n  link          10000 Mbit/s, full duplex, autonegotiation \
on; set through media\n  kernel media  10000 Mbit/s, full duplex (SIOCGIFXMEDIA, as client and mtu read it)\n\n\
Sysctls (one set per machine):\n";
    std::fs::write(sb.path().join("show.txt"), show).unwrap();
    let wrapper = sb.path().join("saf-net-on-a-mac");
    std::fs::write(
        &wrapper,
        format!(
            "#!/usr/bin/env bash\nif [ \"$1 $2\" = \"tune show\" ]; then cat '{}'; exit 0; fi\nexec '{BIN}' \"$@\"\n",
            sb.path().join("show.txt").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut c = Command::new("bash");
    c.arg(script());
    sb.prepare(&mut c);
    isolated(&mut c, sb.path());
    c.env("SAF_NET", &wrapper);
    let out = c.output().unwrap();
    let t = text(&out.stdout);
    let f = facts(&out);
    let en0 = f.iter().find(|l| l.contains("port Ethernet (en0)")).expect("en0 line");
    assert!(en0.starts_with("CHECK"), "{t}");
    assert!(
        en0.contains("networksetup says 10000 Mbit/s but the kernel media says 4294"),
        "{en0}"
    );
    let en5 = f.iter().find(|l| l.contains("(en5)")).expect("en5 line");
    assert!(
        en5.starts_with("PASS") && en5.ends_with("kernel media 10000 Mbit/s, full duplex"),
        "{en5}"
    );
    assert_eq!(out.status.code(), Some(1), "a CHECK exits 1: {t}");
}
