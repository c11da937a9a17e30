//! `saf-net route` end to end: the macOS backend on any Unix against fake `route`, `networksetup` and
//! `ifconfig` first on PATH (tests/fakes, real output formats), the Linux backend against this host,
//! and a client run on loopback that must draw no wrong-interface warning.
#![cfg(unix)]

mod common;
#[macro_use]
mod tune_support;

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tune_support::{Sandbox, text};

/// A Mac Studio (Ethernet en0, Wi-Fi en1, Thunderbolt Ethernet en5) whose routing table sends
/// 192.168.1.172 out of en0 on-link, 100.64.0.0/10 into Tailscale's utun4, and the rest by the default
/// route over Wi-Fi.
fn mac() -> Sandbox {
    let sb = Sandbox::new(&["networksetup", "ifconfig", "route"]);
    sb.mac_studio();
    let routes = [
        (
            "192.168.1.172",
            "192.168.1.172|||en0|UP,HOST,DONE,LLINFO,WASCLONED,IFSCOPE,IFREF|1500",
        ),
        (
            "100.101.102.103",
            "100.64.0.0|255.192.0.0||utun4|UP,DONE,CLONING,STATIC|1280",
        ),
        (
            "default",
            "default|default|192.168.1.1|en1|UP,GATEWAY,DONE,STATIC,PRCLONING|1500",
        ),
    ];
    let dir = sb.path().join("route");
    std::fs::create_dir_all(&dir).unwrap();
    // destination|mask|gateway|interface|flags|mtu, as tests/fakes/route reads them.
    for (addr, line) in routes {
        std::fs::write(dir.join(addr), format!("{line}\n")).unwrap();
    }
    sb
}

fn saf(sb: &Sandbox, args: &[&str]) -> Output {
    let mut c = sb.command(args);
    c.env_remove("SAF_NET_PROFILE");
    tune_support::run(c)
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON: {e}: {}{}", text(&out.stdout), text(&out.stderr)))
}

#[test]
fn macos_backend_finds_the_ethernet_port_and_its_link() {
    let sb = mac();
    let out = saf(&sb, &["route", "192.168.1.172", "--backend", "macos", "-J"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        out.stderr.is_empty(),
        "no warning without a profile: {}",
        text(&out.stderr)
    );
    let d = json(&out);
    assert_eq!(d["interface"], "en0");
    assert_eq!(d["kind"], "ethernet");
    assert_eq!(d["hardware_port"], "Ethernet");
    assert_eq!(d["gateway"], Value::Null, "on-link");
    assert_eq!(d["source"], Value::Null, "not this host's route: unknown, not guessed");
    assert_eq!(d["mtu"], 1500);
    assert_eq!(d["speed_mbps"], 10_000);
    assert_eq!(d["duplex"], "full");
    assert_eq!(d["warning"], Value::Null);
    let calls = sb.calls();
    assert_eq!(calls[0], "route -n get 192.168.1.172");
    assert!(calls.contains(&"ifconfig en0".to_string()), "{calls:?}");
    assert!(sb.changing_calls().is_empty());

    let out = saf(
        &sb,
        &[
            "route",
            "192.168.1.172",
            "--backend",
            "macos",
            "--profile",
            "10gbe-jumbo",
        ],
    );
    let t = text(&out.stdout);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{t}{}",
        text(&out.stderr)
    );
    assert!(
        t.starts_with("Route to 192.168.1.172: en0 (Ethernet, port \"Ethernet\"), on-link\n"),
        "{t}"
    );
    assert!(t.contains("  hardware port: Ethernet\n"), "{t}");
    assert!(t.contains("  source:        unknown\n"), "{t}");
    assert!(
        t.contains("  link:          MTU 1500, speed 10000 Mb/s, duplex full\n"),
        "{t}"
    );
}

#[test]
fn wifi_and_tunnels_under_an_ethernet_profile_get_one_warning_each() {
    let sb = mac();
    for (host, iface, kind, label) in [
        ("8.8.8.8", "en1", "wifi", "Wi-Fi"),
        ("100.101.102.103", "utun4", "vpn_tunnel", "VPN tunnel"),
    ] {
        let out = saf(
            &sb,
            &["route", host, "--backend", "macos", "--profile", "10gbe-jumbo", "-J"],
        );
        assert!(
            out.status.success(),
            "a warning is not a failure: {}",
            text(&out.stderr)
        );
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        let want = format!("leaves by {iface} ({label}), not the profile's interface (an Ethernet link)");
        assert!(err.contains(&want), "{err}");
        assert!(
            err.contains(&format!("sudo route -n add -host {host} -interface DEV")),
            "{err}"
        );
        let d = json(&out);
        assert_eq!((d["interface"].as_str(), d["kind"].as_str()), (Some(iface), Some(kind)));
        assert_eq!(d["warning"].as_str(), Some(err.trim_end()));
    }
    let d = json(&saf(&sb, &["route", "8.8.8.8", "--backend", "macos", "-J"]));
    assert_eq!(d["gateway"], "192.168.1.1");
    assert_eq!(d["hardware_port"], "Wi-Fi");
    assert_eq!(d["warning"], Value::Null, "no profile, no verdict");
}

#[test]
fn no_route_is_one_line_and_exit_1() {
    let sb = mac();
    std::fs::remove_file(sb.path().join("route/default")).unwrap();
    let out = saf(&sb, &["route", "10.9.9.9", "--backend", "macos"]);
    tune_support::one_line_error(
        &out,
        1,
        "no route to 10.9.9.9: route: writing to routing socket: not in table",
    );
    let out = saf(&sb, &["route", "10.9.9.9", "--backend", "macos", "-J"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(json(&out)["error"].as_str().unwrap().contains("not in table"));
    let out = saf(
        &sb,
        &["route", "10.9.9.9", "--backend", "macos", "--profile", "no-such"],
    );
    tune_support::one_line_error(&out, 2, "unknown profile 'no-such'");
    let out = saf(&sb, &["route", "10.9.9.9", "--backend", "windows"]);
    assert_eq!(out.status.code(), Some(2));
}

#[cfg(target_os = "linux")]
#[test]
fn linux_backend_sees_loopback_and_never_warns_for_it() {
    let sb = Sandbox::new(&[]);
    let out = saf(
        &sb,
        &["route", "127.0.0.1", "--backend", "linux", "--profile", "10gbe", "-J"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let d = json(&out);
    assert_eq!(
        (d["interface"].as_str(), d["kind"].as_str()),
        (Some("lo"), Some("loopback"))
    );
    assert_eq!(d["source"], "127.0.0.1");
}

/// A `saf-net server` on 127.0.0.1 at a free port, killed when dropped.
fn loopback_server() -> (common::KillOnDrop, u16) {
    let port = common::free_port();
    let child = common::saf_net()
        .args(["server", "-B", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    (common::KillOnDrop(child), port)
}

#[test]
fn a_loopback_client_under_a_profile_gets_no_wrong_interface_warning() {
    let (_server, port) = loopback_server();
    let port = port.to_string();
    let out = common::saf_net()
        .args([
            "client",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "0.3",
            "--profile",
            "10gbe",
            "-J",
            "--no-history",
        ])
        .env_remove("SAF_NET_PROFILE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("wrong_interface"), "{}", text(&out.stderr));
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    let path = &d["saf_net"]["path"];
    let kinds: Vec<&str> = path["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["kind"].as_str())
        .collect();
    assert!(!kinds.contains(&"wrong_interface"), "{path}");
    if cfg!(target_os = "linux") {
        assert_eq!(path["route"]["interface"], "lo", "{path}");
        assert_eq!(path["route"]["kind"], "loopback", "{path}");
    }
    // The text run names the route in the path section.
    let out = common::saf_net()
        .args([
            "client",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "0.3",
            "-i",
            "0",
            "--no-history",
        ])
        .env_remove("SAF_NET_PROFILE")
        .output()
        .unwrap();
    let t = text(&out.stdout);
    assert!(t.lines().any(|l| l.starts_with("  route:     ")), "{t}");
}
