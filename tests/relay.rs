//! Protocol 3's relay against in-process servers on 127.0.0.1: a node's server measures toward another with its
//! own key; refused without `--allow-relay`, toward a place not among the nodes, over the server's limits or its
//! relay limit; a target that is not saf-net or holds another key comes back as a clear reason.

mod common;

use std::net::SocketAddr;

use common::{key, name, relaying};
use saf_net::auth::Psk;
use saf_net::client::ClientError;
use saf_net::config::{ClientInput, ServerConfig, Target};
use saf_net::kinds::mesh::{measure, relay};
use saf_net::net::Family;
use saf_net::protocol::{RelayResult, TestRequest};
use tokio::io::AsyncWriteExt;

fn target(addr: SocketAddr, psk: &Psk) -> Target {
    let mut t = Target::new("127.0.0.1", addr.port(), Family::Any, 2.0).unwrap();
    t.psk = Some(psk.clone());
    t
}

/// A forward TCP test of `seconds` with `streams` streams, as the client would ask for it.
fn request(seconds: f64, streams: u32) -> TestRequest {
    let mut i = ClientInput::new("127.0.0.1");
    i.time = Some(seconds);
    i.parallel = streams;
    i.interval = 0.5;
    i.plan().unwrap().request
}

async fn ask(
    via: SocketAddr,
    psk: &Psk,
    to: &str,
    nodes: &[String],
    req: TestRequest,
) -> Result<RelayResult, ClientError> {
    relay::run(&target(via, psk), to, nodes, req, false).await
}

fn refusal(r: Result<RelayResult, ClientError>) -> String {
    match r {
        Err(ClientError::Refused { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_measures_toward_a_node_with_the_same_key() {
    let k = key("the mesh key, long enough to pass");
    let (a, b) = (relaying(&k, 5).await, relaying(&k, 5).await);
    let nodes = vec![name(a.addr), name(b.addr)];
    for streams in [1, 3] {
        let r = ask(a.addr, &k, &nodes[1], &nodes, request(1.0, streams)).await.unwrap();
        assert!(r.complete, "{r:?}");
        assert!(r.error.is_none(), "{r:?}");
        assert!(r.bytes > 0 && r.seconds > 0.5, "{r:?}");
        assert_eq!(
            (r.rtt_p50_us, r.path_mtu),
            (None, None),
            "no probes unless asked: {r:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_with_probes_brings_the_idle_rtt_and_the_path_mtu() {
    let k = key("the mesh key, long enough to pass");
    let (a, b) = (relaying(&k, 5).await, relaying(&k, 5).await);
    let nodes = vec![name(a.addr), name(b.addr)];
    let r = relay::run(&target(a.addr, &k), &nodes[1], &nodes, request(0.5, 1), true)
        .await
        .unwrap();
    assert!(r.complete && r.bytes > 0, "{r:?}");
    let (p50, p99) = (r.rtt_p50_us.unwrap(), r.rtt_p99_us.unwrap());
    assert!(p50 > 0.0 && p50 <= p99 && p99 < 100_000.0, "loopback RTT: {r:?}");
    let lo: u32 = std::fs::read_to_string("/sys/class/net/lo/mtu")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mtu = r.path_mtu.unwrap();
    assert!((1500..=lo).contains(&mtu), "path MTU {mtu} on loopback (MTU {lo})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_allow_relay_the_server_refuses() {
    let k = key("the mesh key, long enough to pass");
    let a = common::server(ServerConfig {
        psk: Some(k.clone()),
        ..ServerConfig::default()
    })
    .await;
    let b = relaying(&k, 5).await;
    let nodes = vec![name(a.addr), name(b.addr)];
    let why = refusal(ask(a.addr, &k, &nodes[1], &nodes, request(1.0, 1)).await);
    assert!(why.contains("--allow-relay"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_not_among_the_nodes_is_refused_undialed() {
    let k = key("the mesh key, long enough to pass");
    let (a, b) = (relaying(&k, 5).await, relaying(&k, 5).await);
    let nodes = vec![name(a.addr), name(b.addr)];
    // Same host, another port: not what the nodes list says.
    let elsewhere = format!("127.0.0.1:{}", common::free_port());
    let why = refusal(ask(a.addr, &k, &elsewhere, &nodes, request(1.0, 1)).await);
    assert!(why.contains("not one of the run's nodes"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_over_the_servers_limits_is_refused() {
    let k = key("the mesh key, long enough to pass");
    let a = common::server(ServerConfig {
        psk: Some(k.clone()),
        allow_relay: true,
        max_streams: 2,
        ..ServerConfig::default()
    })
    .await;
    let b = relaying(&k, 5).await;
    let nodes = vec![name(a.addr), name(b.addr)];
    let why = refusal(ask(a.addr, &k, &nodes[1], &nodes, request(1.0, 4)).await);
    assert!(why.contains("--max-streams"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_limit_per_minute_holds() {
    let k = key("the mesh key, long enough to pass");
    let (a, b) = (relaying(&k, 1).await, relaying(&k, 5).await);
    let nodes = vec![name(a.addr), name(b.addr)];
    let first = ask(a.addr, &k, &nodes[1], &nodes, request(0.5, 1)).await.unwrap();
    assert!(first.complete, "{first:?}");
    let why = refusal(ask(a.addr, &k, &nodes[1], &nodes, request(0.5, 1)).await);
    assert!(why.contains("--max-relays-per-minute"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_with_another_key_comes_back_as_the_reason() {
    let k = key("the mesh key, long enough to pass");
    let a = relaying(&k, 5).await;
    let b = relaying(&key("another mesh key, long enough too"), 5).await;
    let nodes = vec![name(a.addr), name(b.addr)];
    let r = ask(a.addr, &k, &nodes[1], &nodes, request(1.0, 1)).await.unwrap();
    assert!(!r.complete && r.bytes == 0, "{r:?}");
    let why = r.error.unwrap();
    assert!(why.contains("different keys"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_is_not_saf_net_comes_back_as_the_reason() {
    let k = key("the mesh key, long enough to pass");
    let a = relaying(&k, 5).await;
    let junk = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let junk_addr = junk.local_addr().unwrap();
    tokio::spawn(async move {
        for _ in 0..4 {
            let Ok((mut s, _)) = junk.accept().await else { return };
            let _ = s
                .write_all(b"SSH-2.0-not-saf-net\r\n garbage garbage garbage\r\n")
                .await;
        }
    });
    let nodes = vec![name(a.addr), name(junk_addr)];
    let r = ask(a.addr, &k, &nodes[1], &nodes, request(1.0, 1)).await.unwrap();
    assert!(!r.complete && r.bytes == 0, "{r:?}");
    let why = r.error.unwrap();
    assert!(why.contains(&nodes[1]), "{why}");
}

/// `--allow-relay` without a key is a usage error at server start: one line, exit 2.
#[test]
fn allow_relay_without_a_key_is_a_usage_error() {
    let port = common::free_port().to_string();
    let mut c = common::saf_net();
    common::isolate(&mut c);
    let out = c
        .args(["server", "-p", &port, "--allow-relay"])
        .env_remove("SAF_NET_PSK")
        .output()
        .unwrap();
    let err = common::text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--allow-relay needs a key"), "{err}");
}

fn mesh_matrix(addrs: &[String]) -> saf_net::kinds::mesh::Matrix {
    let nodes = addrs
        .iter()
        .map(|a| saf_net::kinds::mesh::MeshNode {
            name: a.clone(),
            host: a.clone(),
            link: None,
        })
        .collect();
    saf_net::kinds::mesh::Matrix::new(nodes)
}

fn settings(psk: &Psk) -> measure::Settings {
    measure::Settings {
        duration_secs: 1.0,
        parallel: 2,
        psk: Some(psk.clone()),
        connect_timeout_secs: 2.0,
    }
}

/// Three loopback servers: all 6 ordered pairs measured through the relay, complete, with RTT and path MTU, one
/// progress line each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sequential_mesh_of_three_fills_all_six_pairs() {
    let k = key("the mesh key, long enough to pass");
    let servers = [relaying(&k, 20).await, relaying(&k, 20).await, relaying(&k, 20).await];
    let addrs: Vec<String> = servers.iter().map(|s| name(s.addr)).collect();
    let mut m = mesh_matrix(&addrs);
    let mut lines = Vec::new();
    let ended = measure::sequential(
        &mut m,
        &addrs,
        &settings(&k),
        &mut |l| lines.push(l),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert!(ended.problems.is_empty() && !ended.interrupted, "{ended:?}");
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert!(m.complete(), "{m:?}");
    for (a, b) in m.ordered_pairs() {
        let p = m.pair(a, b).unwrap();
        assert!(
            p.goodput_bps.unwrap() > 0.0 && p.goodput_parallel_bps.unwrap() > 0.0,
            "{p:?}"
        );
        assert!(
            p.rtt_p50_us.is_some_and(|r| r > 0.0) && p.path_mtu.is_some_and(|m| m >= 1500),
            "RTT and path MTU from the 1-stream test's probes: {p:?}"
        );
    }
}

/// A node without --allow-relay is named, its pairs are incomplete, and the others are still measured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_refuses_to_relay_is_named_and_the_run_goes_on() {
    let k = key("the mesh key, long enough to pass");
    let plain = common::server(ServerConfig {
        psk: Some(k.clone()),
        ..ServerConfig::default()
    })
    .await;
    let servers = [relaying(&k, 20).await, plain, relaying(&k, 20).await];
    let addrs: Vec<String> = servers.iter().map(|s| name(s.addr)).collect();
    let mut m = mesh_matrix(&addrs);
    let s = measure::Settings {
        parallel: 1,
        ..settings(&k)
    };
    let ended = measure::sequential(&mut m, &addrs, &s, &mut |_| {}, std::future::pending())
        .await
        .unwrap();
    assert_eq!(ended.problems.len(), 1, "{ended:?}");
    assert_eq!(ended.problems[0].node, 1);
    assert!(
        !ended.problems[0].unreachable && ended.problems[0].reason.contains("--allow-relay"),
        "{ended:?}"
    );
    for (a, b) in m.ordered_pairs() {
        assert_eq!(m.pair(a, b).unwrap().complete, a != 1, "{a}->{b}: {:?}", m.pair(a, b));
    }
}

/// An interrupt before the first pair ends the run at once: interrupted, every pair present and incomplete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupt_keeps_the_matrix_with_pairs_marked_incomplete() {
    let k = key("the mesh key, long enough to pass");
    let servers = [relaying(&k, 20).await, relaying(&k, 20).await];
    let addrs: Vec<String> = servers.iter().map(|s| name(s.addr)).collect();
    let mut m = mesh_matrix(&addrs);
    let mut lines = Vec::new();
    let ended = measure::sequential(
        &mut m,
        &addrs,
        &settings(&k),
        &mut |l| lines.push(l),
        std::future::ready(()),
    )
    .await
    .unwrap();
    assert!(ended.interrupted && lines.is_empty(), "{ended:?} {lines:?}");
    for (a, b) in m.ordered_pairs() {
        let p = m.pair(a, b).expect("every pair is in the matrix");
        assert!(!p.complete && p.goodput_bps.is_none(), "{p:?}");
    }
}

/// The fuzz seed of a relay request decodes as one, with its target among its nodes.
#[test]
fn the_relay_fuzz_seed_decodes_as_a_relay_request() {
    let seed = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fuzz/seeds/client_message/v3_relay"
    ))
    .unwrap();
    match saf_net::protocol::decode::<saf_net::protocol::ClientMessage>(&seed) {
        Ok(saf_net::protocol::ClientMessage::Relay(r)) => {
            assert!(r.nodes.contains(&r.target), "{r:?}");
            assert_eq!(r.request.streams, 4);
        }
        other => panic!("not a relay request: {other:?}"),
    }
}
