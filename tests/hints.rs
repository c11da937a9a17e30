//! Hints and ceilings say what is true of the run: the MTU the interface really has, not the profile's.
#![cfg(target_os = "linux")]

mod common;

use common::text;
use saf_net::config::ServerConfig;

/// `saf-net client 127.0.0.1 -p PORT ARGS --no-history`, with `env` set, off the async runtime.
async fn client(port: u16, args: &[&str], env: Option<(&str, std::path::PathBuf)>) -> std::process::Output {
    let mut c = common::saf_net();
    c.env_remove("SAF_NET_PROFILES")
        .args(["client", "127.0.0.1", "--no-history", "-p", &port.to_string()])
        .args(args);
    if let Some((k, v)) = env {
        c.env(k, v);
    }
    tokio::task::spawn_blocking(move || c.output().unwrap()).await.unwrap()
}

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
    let root = ("SAF_NET_SYSFS_ROOT", sysfs.path().to_path_buf());
    let out = client(port, &["-t", "1", "--profile", "10gbe-jumbo"], Some(root)).await;
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
    let out = client(port, &["-u", "-b", "10M", "-P", "2", "-t", "1"], None).await;
    let t = text(&out.stdout);
    assert!(
        t.contains("target 10.00 Mbit/s per stream, 20.00 Mbit/s in total over 2 stream(s)"),
        "{t}{}",
        text(&out.stderr)
    );
}
