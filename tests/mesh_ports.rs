//! `mesh --check-ports` against in-process servers on 127.0.0.1: each keyed `--allow-relay` node tries the other
//! nodes' ports (one open listener, one port with nothing behind it) with a bare connect; a node whose server
//! refuses or does not answer leaves its row unknown; each of the server's refusals comes back as its reason.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{key, name, relaying};
use saf_net::auth::Psk;
use saf_net::client::ClientError;
use saf_net::config::{ServerConfig, Target};
use saf_net::findings::FindingKind;
use saf_net::kinds::mesh::ports::{self, Cell, PortMatrix};
use saf_net::kinds::mesh::{Node, Plan};
use saf_net::net::Family;
use saf_net::protocol::{PortCheckRequest, PortResult, PortState, PortTarget};
use tokio::io::AsyncReadExt;

const KEY: &str = "the mesh key, long enough to pass";

/// A listener that accepts up to `n` connections within 20 s and returns how many came and the bytes they sent.
async fn open_port(n: usize) -> (u16, tokio::task::JoinHandle<(usize, usize)>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = tokio::spawn(async move {
        let (mut conns, mut bytes) = (0, 0);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while conns < n {
            let Ok(Ok((mut s, _))) = tokio::time::timeout_at(deadline, l.accept()).await else {
                break;
            };
            conns += 1;
            let mut buf = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
            bytes += buf.len();
        }
        (conns, bytes)
    });
    (port, seen)
}

/// The plan's port check over `addrs`, its nodes named a, b, c, d (and none without ports to check).
async fn run(addrs: &[String], psk: &Psk, ports: &[u16]) -> (PortMatrix, Vec<String>) {
    let nodes = ["a", "b", "c", "d"]
        .iter()
        .zip(addrs)
        .map(|(name, addr)| Node::new(name, addr))
        .collect();
    let mut plan = Plan::new(nodes, 1.0, 1, None).unwrap();
    let mut lines = Vec::new();
    assert!(
        ports::for_plan(&plan, addrs, Some(psk.clone()), &mut |l| lines.push(l))
            .await
            .is_none()
    );
    plan.check_ports = ports.to_vec();
    let m = ports::for_plan(&plan, addrs, Some(psk.clone()), &mut |l| lines.push(l))
        .await
        .unwrap();
    (m, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_reaches_the_open_port_and_is_refused_at_the_closed_one() {
    let k = key(KEY);
    let servers = [relaying(&k, 5).await, relaying(&k, 5).await, relaying(&k, 5).await];
    let addrs: Vec<String> = servers.iter().map(|s| name(s.addr)).collect();
    let (open, seen) = open_port(6).await;
    let closed = common::free_port();
    let (m, lines) = run(&addrs, &k, &[open, closed]).await;
    assert!(m.problems.is_empty(), "{:?}", m.problems);
    let mut named: Vec<&str> = lines.iter().map(|l| &l[..12]).collect();
    named.sort();
    assert_eq!(
        named,
        ["ports from a", "ports from b", "ports from c"],
        "a line per node: {lines:?}"
    );
    for (a, b) in [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)] {
        assert_eq!(m.cell(a, b, open), Cell::Open, "{a}->{b}\n{}", m.text());
        assert_eq!(m.cell(a, b, closed), Cell::Closed, "{a}->{b}\n{}", m.text());
    }
    // Six connects (3 nodes × 2 others), none of which sent a byte.
    assert_eq!(seen.await.unwrap(), (6, 0));
    // The closed port is closed from every node: one finding per node, about that node.
    let f = m.findings();
    let subjects: Vec<&str> = f.iter().map(|f| f.subject.as_str()).collect();
    assert_eq!(subjects, ["a", "b", "c"], "{f:?}");
    assert!(f.iter().all(|f| f.kind == FindingKind::PortUnreachable));
    assert!(
        f[0].text
            .contains(&format!("TCP port {closed} on a is not reachable from any other node")),
        "{f:?}"
    );
    let checks = m.json()["port_checks"].as_array().unwrap().len();
    assert_eq!(checks, 3 * 2 * 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_refuses_or_does_not_answer_leaves_its_row_unknown() {
    let k = key(KEY);
    let good = relaying(&k, 5).await;
    let plain = common::server(ServerConfig {
        psk: Some(k.clone()),
        ..ServerConfig::default()
    })
    .await;
    let other_key = relaying(&key("another mesh key, long enough too"), 5).await;
    let nobody = format!("127.0.0.1:{}", common::free_port());
    let addrs = vec![name(good.addr), name(plain.addr), name(other_key.addr), nobody];
    let (open, _seen) = open_port(3).await;
    let (m, _) = run(&addrs, &k, &[open]).await;
    let rows: Vec<usize> = m.problems.iter().map(|p| p.node).collect();
    assert_eq!(rows, [1, 2, 3], "{:?}", m.problems);
    assert!(m.problems[0].reason.contains("--allow-relay"), "{:?}", m.problems[0]);
    assert!(!m.problems[0].unreachable && !m.problems[1].unreachable && m.problems[2].unreachable);
    for a in 1..4 {
        for b in (0..4).filter(|&b| b != a) {
            assert_eq!(m.cell(a, b, open), Cell::Unknown, "{a}->{b}\n{}", m.text());
        }
    }
    for b in 1..4 {
        assert_eq!(m.cell(0, b, open), Cell::Open, "a->{b}\n{}", m.text());
    }
    assert!(
        m.findings().is_empty(),
        "unknown is never a finding: {:?}",
        m.findings()
    );
    assert_eq!(m.text().matches("its server did not check").count(), 3, "{}", m.text());
}

fn via(addr: SocketAddr, psk: &Psk) -> Target {
    let mut t = Target::new("127.0.0.1", addr.port(), Family::Any, 2.0).unwrap();
    t.psk = Some(psk.clone());
    t
}

fn refusal(r: Result<Vec<PortResult>, ClientError>) -> String {
    match r {
        Err(ClientError::Refused { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn ask(nodes: &[String], targets: &[(u32, u16)], timeout_ms: u32) -> PortCheckRequest {
    PortCheckRequest {
        nodes: nodes.to_vec(),
        targets: targets.iter().map(|&(node, port)| PortTarget { node, port }).collect(),
        timeout_ms,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_outside_the_rules_are_refused_with_their_reason() {
    let k = key(KEY);
    let (a, b) = (relaying(&k, 20).await, relaying(&k, 20).await);
    let nodes = vec![name(a.addr), name(b.addr)];
    let closed = common::free_port();
    // A target that is not one of the nodes: an index past the list.
    let why = refusal(ports::exchange(&via(a.addr, &k), ask(&nodes, &[(2, closed)], 500)).await);
    assert!(why.contains("not one of the request's 2 nodes"), "{why}");
    // Seventeen ports on one node.
    let many: Vec<(u32, u16)> = (1..=17).map(|p| (1, 40_000 + p)).collect();
    let why = refusal(ports::exchange(&via(a.addr, &k), ask(&nodes, &many, 500)).await);
    assert!(why.contains("at most 16 ports per node"), "{why}");
    // A timeout past the bound, and a request that could outlast 30 s.
    let why = refusal(ports::exchange(&via(a.addr, &k), ask(&nodes, &[(1, closed)], 60_000)).await);
    assert!(why.contains("out of range"), "{why}");
    let wide: Vec<String> = (0..15).map(|i| format!("127.0.0.1:{}", 1000 + i)).collect();
    let all: Vec<(u32, u16)> = (0..15).flat_map(|n| (1..=16).map(move |p| (n, 40_000 + p))).collect();
    let why = refusal(ports::exchange(&via(a.addr, &k), ask(&wide, &all, 5_000)).await);
    assert!(why.contains("longer than 30 s"), "{why}");
    // Within the rules, the same server answers.
    let ok = ports::exchange(&via(a.addr, &k), ask(&nodes, &[(1, closed)], 500))
        .await
        .unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!((ok[0].node, ok[0].port, ok[0].state), (1, closed, PortState::Refused));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_allow_relay_or_the_key_or_over_the_relay_limit_the_server_refuses() {
    let k = key(KEY);
    let plain = common::server(ServerConfig {
        psk: Some(k.clone()),
        ..ServerConfig::default()
    })
    .await;
    let limited = relaying(&k, 1).await;
    let nodes = vec![name(plain.addr), name(limited.addr)];
    let req = || ask(&nodes, &[(0, common::free_port())], 500);
    let why = refusal(ports::exchange(&via(plain.addr, &k), req()).await);
    assert!(why.contains("--allow-relay"), "{why}");
    let wrong = ports::exchange(&via(limited.addr, &key("another mesh key, long enough too")), req()).await;
    assert!(
        matches!(wrong, Err(ClientError::Auth { .. } | ClientError::Refused { .. })),
        "{wrong:?}"
    );
    ports::exchange(&via(limited.addr, &k), req()).await.unwrap();
    let why = refusal(ports::exchange(&via(limited.addr, &k), req()).await);
    assert!(why.contains("--max-relays-per-minute"), "{why}");
}

/// The fuzz seed of a port check decodes as one, its targets among its nodes.
#[test]
fn the_port_check_fuzz_seed_decodes_as_a_port_check() {
    let seed = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fuzz/seeds/client_message/v3_port_check"
    ))
    .unwrap();
    match saf_net::protocol::decode::<saf_net::protocol::ClientMessage>(&seed) {
        Ok(saf_net::protocol::ClientMessage::PortCheck(r)) => {
            assert!(r.targets.iter().all(|t| (t.node as usize) < r.nodes.len()), "{r:?}");
            assert_eq!(r.timeout_ms, 2000);
        }
        other => panic!("not a port check: {other:?}"),
    }
}
