//! Hints and ceilings say what is true of the run: the MTU the interface really has, not the profile's.
#![cfg(target_os = "linux")]

mod common;

use std::process::Command;

use common::{BIN, text};
use saf_net::config::ServerConfig;

/// `--profile 10gbe-jumbo` from a 1500-MTU interface: the ceiling line says MTU 1500 (and names the interface),
/// and the share is of the 1500-byte ceiling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jumbo_profile_on_a_1500_interface_says_1500() {
    let srv = common::server(ServerConfig::default()).await;
    let port = srv.addr.port();
    let sysfs = tempfile::tempdir().unwrap();
    let lo = sysfs.path().join("class/net/lo");
    std::fs::create_dir_all(&lo).unwrap();
    std::fs::write(lo.join("mtu"), "1500").unwrap();
    let root = sysfs.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .env("SAF_NET_SYSFS_ROOT", root)
            .env_remove("SAF_NET_PROFILES")
            .args([
                "client",
                "127.0.0.1",
                "-t",
                "1",
                "--no-history",
                "--profile",
                "10gbe-jumbo",
                "-p",
            ])
            .arg(port.to_string())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let t = text(&out.stdout);
    let line = t
        .lines()
        .find(|l| l.starts_with("Profile 10gbe-jumbo: receiver goodput"))
        .unwrap_or_else(|| panic!("no ceiling line in:\n{t}{}", text(&out.stderr)));
    assert!(
        line.contains("(10000 Mbit/s, MTU 1500 on lo, not the profile's 9000, timestamps on)"),
        "{line}"
    );
    assert!(line.contains("of the 9414.8 Mbit/s TCP ceiling"), "{line}");
    assert!(!line.contains("MTU 9000,"), "{line}");
}

/// The UDP target is per stream: the summary says so and gives the total.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_udp_target_is_given_per_stream_and_in_total() {
    let srv = common::server(ServerConfig::default()).await;
    let port = srv.addr.port();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args([
                "client",
                "127.0.0.1",
                "-u",
                "-b",
                "10M",
                "-P",
                "2",
                "-t",
                "1",
                "--no-history",
                "-p",
            ])
            .arg(port.to_string())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let t = text(&out.stdout);
    assert!(
        t.contains("target 10.00 Mbit/s per stream, 20.00 Mbit/s in total over 2 stream(s)"),
        "{t}{}",
        text(&out.stderr)
    );
}
