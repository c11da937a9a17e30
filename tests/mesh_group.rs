//! Protocol 3's group sessions against in-process keyed `--allow-relay` servers on 127.0.0.1: a ring, an all
//! and an incast group complete with bytes on every flow; refusals (no `--allow-relay`, another key, limits, a
//! data connection with an unknown cookie, from a non-member, without the key); a member that never gets its
//! start frees its slot within the bound; a second group on an overlapping member is refused busy, no hang.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{key, name};
use saf_net::auth::{CLIENT_ROLE, Psk};
use saf_net::client::ClientError;
use saf_net::client::group::{self, GroupError, GroupPlan};
use saf_net::config::{ClientInput, ServerConfig, Target};
use saf_net::kinds::mesh::measure::Settings;
use saf_net::kinds::mesh::{Matrix, MeshNode, Node, PatternSpec, Plan, concurrent};
use saf_net::net::Family;
use saf_net::protocol::{
    ClientMessage, Cookie, Flow, GroupAsk, GroupJoin, GroupReply, GroupResults, ServerMessage, read_message,
    write_message,
};
use tokio::net::TcpStream;

/// Longest any one step here may take before the test calls it a hang.
const BOUND: Duration = Duration::from_secs(30);
const T: Duration = Duration::from_secs(5);

fn mesh_key() -> Psk {
    key("the group key, long enough to pass")
}

fn target(addr: SocketAddr, psk: &Psk) -> Target {
    let mut t = Target::new("127.0.0.1", addr.port(), Family::Any, 2.0).unwrap();
    t.psk = Some(psk.clone());
    t
}

fn member_config(psk: &Psk) -> ServerConfig {
    ServerConfig {
        psk: Some(psk.clone()),
        allow_relay: true,
        max_relays_per_minute: 100,
        max_concurrent: 1,
        handshake_timeout: Duration::from_secs(2),
        ..ServerConfig::default()
    }
}

async fn members(psk: &Psk, n: usize) -> Vec<common::Server> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(common::server(member_config(psk)).await);
    }
    out
}

fn flows(pairs: &[(u32, u32)]) -> Vec<Flow> {
    pairs.iter().map(|&(from, to)| Flow { from, to }).collect()
}

fn plan(servers: &[&common::Server], pairs: &[(u32, u32)], secs: f64) -> GroupPlan {
    GroupPlan {
        members: servers.iter().map(|s| name(s.addr)).collect(),
        flows: flows(pairs),
        streams: 2,
        duration_secs: secs,
        collective: None,
    }
}

async fn run_group(
    servers: &[&common::Server],
    psk: &Psk,
    p: &GroupPlan,
) -> Result<Vec<Result<GroupResults, ClientError>>, GroupError> {
    let targets: Vec<Target> = servers.iter().map(|s| target(s.addr, psk)).collect();
    tokio::time::timeout(BOUND, group::run(&targets, p, std::future::pending()))
        .await
        .expect("the group ends within its bound")
}

/// Every flow of the plan has bytes and a period at its receiver, and no error on either side.
fn assert_all_flows_ran(p: &GroupPlan, results: &[Result<GroupResults, ClientError>]) {
    for f in &p.flows {
        let to = results[f.to as usize].as_ref().unwrap();
        let got = to.incoming.iter().find(|i| i.from == f.from).unwrap();
        assert!(got.error.is_none(), "{f:?}: {got:?}");
        assert!(got.bytes > 0 && got.seconds > 0.5, "{f:?}: {got:?}");
        let from = results[f.from as usize].as_ref().unwrap();
        let sent = from.outgoing.iter().find(|o| o.to == f.to).unwrap();
        assert!(sent.error.is_none(), "{f:?}: {sent:?}");
    }
    for r in results {
        let r = r.as_ref().unwrap();
        assert!(r.error.is_none(), "{r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ring_all_and_incast_groups_move_bytes_on_every_flow() {
    let k = mesh_key();
    let s = members(&k, 4).await;
    let all: Vec<&common::Server> = s.iter().collect();
    let ring = plan(&all, &[(0, 1), (1, 2), (2, 3), (3, 0)], 1.0);
    let r = run_group(&all, &k, &ring).await.unwrap();
    assert_all_flows_ran(&ring, &r);
    for (i, m) in r.iter().enumerate() {
        let m = m.as_ref().unwrap();
        assert_eq!((m.incoming.len(), m.outgoing.len()), (1, 1), "member {i}: {m:?}");
    }
    let every: Vec<(u32, u32)> = (0..3)
        .flat_map(|a| (0..3).filter(move |&b| b != a).map(move |b| (a, b)))
        .collect();
    let three = &all[..3];
    let p = plan(three, &every, 1.0);
    assert_all_flows_ran(&p, &run_group(three, &k, &p).await.unwrap());
    let incast = plan(&all, &[(1, 0), (2, 0), (3, 0)], 1.0);
    let r = run_group(&all, &k, &incast).await.unwrap();
    assert_all_flows_ran(&incast, &r);
    assert_eq!(r[0].as_ref().unwrap().incoming.len(), 3);
}

/// The join failures of a group that must not run.
fn join_failures(r: Result<Vec<Result<GroupResults, ClientError>>, GroupError>) -> Vec<(usize, String)> {
    match r {
        Err(GroupError::Join(v)) => v.into_iter().map(|(i, e)| (i, e.to_string())).collect(),
        other => panic!("expected join refusals, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_refuse_without_allow_relay_with_another_key_or_over_limits() {
    let k = mesh_key();
    let ok = common::server(member_config(&k)).await;
    let no_relay = common::server(ServerConfig {
        allow_relay: false,
        ..member_config(&k)
    })
    .await;
    let other_key = common::server(member_config(&key("another group key, long enough too"))).await;
    let small = common::server(ServerConfig {
        max_streams: 3,
        ..member_config(&k)
    })
    .await;
    let pair = [(0, 1), (1, 0)];
    let f = join_failures(run_group(&[&ok, &no_relay], &k, &plan(&[&ok, &no_relay], &pair, 1.0)).await);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].0 == 1 && f[0].1.contains("--allow-relay"), "{f:?}");
    let f = join_failures(run_group(&[&ok, &other_key], &k, &plan(&[&ok, &other_key], &pair, 1.0)).await);
    assert!(f[0].0 == 1 && f[0].1.contains("key"), "{f:?}");
    // Two flows of 2 streams each is 4 connections at the small member.
    let f = join_failures(run_group(&[&ok, &small], &k, &plan(&[&ok, &small], &pair, 1.0)).await);
    assert!(f[0].0 == 1 && f[0].1.contains("--max-streams"), "{f:?}");
    let f = join_failures(run_group(&[&ok, &small], &k, &plan(&[&ok, &small], &[(0, 1)], 1e6)).await);
    assert!(f.iter().all(|(_, e)| e.contains("--max-duration")), "{f:?}");
    // The refusals left every slot free: a whole group runs on the same servers.
    let p = plan(&[&ok, &small], &[(0, 1)], 1.0);
    assert_all_flows_ran(&p, &run_group(&[&ok, &small], &k, &p).await.unwrap());
}

/// Hello with a nonce, the key proof when `psk` is given (else `ask` where the proof belongs), then `ask`;
/// the connection and what the server said first after its welcome.
async fn by_hand(addr: SocketAddr, psk: Option<&Psk>, ask: &ClientMessage) -> (TcpStream, Option<ServerMessage>) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mine = saf_net::auth::nonce().unwrap();
    let hello = ClientMessage::Hello {
        protocol: 3,
        software: "by hand".into(),
        nonce: Some(mine.clone()),
    };
    write_message(&mut s, &hello).await.unwrap();
    let welcome = read_message::<ServerMessage, _>(&mut s, 65_536, T).await.unwrap();
    let ServerMessage::Welcome { challenge: Some(c), .. } = welcome else {
        panic!("{welcome:?}")
    };
    if let Some(k) = psk {
        let proof = k.proof(CLIENT_ROLE, &c.nonce, &mine);
        write_message(&mut s, &ClientMessage::Auth { proof }).await.unwrap();
    }
    write_message(&mut s, ask).await.unwrap();
    let said = read_message::<ServerMessage, _>(&mut s, 65_536, T).await.ok();
    (s, said)
}

fn join_msg(cookie: Cookie, members: Vec<String>, index: u32, pairs: &[(u32, u32)]) -> ClientMessage {
    ClientMessage::Group(Box::new(GroupAsk::Join(GroupJoin {
        cookie,
        members,
        index,
        flows: flows(pairs),
        streams: 1,
        duration_seconds: 1.0,
        collective: None,
    })))
}

fn data_msg(cookie: Cookie, from: u32) -> ClientMessage {
    ClientMessage::Group(Box::new(GroupAsk::Data {
        cookie,
        from,
        stream: 1,
    }))
}

fn refused(said: Option<ServerMessage>) -> String {
    match said {
        Some(ServerMessage::Refused { reason }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_connections_need_a_registered_cookie_a_member_and_the_key() {
    let k = mesh_key();
    let m = common::server(member_config(&k)).await;
    let unknown = refused(by_hand(m.addr, Some(&k), &data_msg(Cookie([9; 16]), 0)).await.1);
    assert!(unknown.contains("no group with this cookie"), "{unknown}");
    // A member that joined by hand: member 1 sends to it from 127.0.0.1; member 2 is elsewhere.
    let cookie = Cookie::random().unwrap();
    let members = vec![name(m.addr), "127.0.0.1:9".into(), "192.0.2.7:5301".into()];
    let join = join_msg(cookie, members, 0, &[(1, 0), (2, 0)]);
    let (_orchestrator, said) = by_hand(m.addr, Some(&k), &join).await;
    assert!(
        matches!(&said, Some(ServerMessage::Group(r)) if **r == GroupReply::Joined),
        "{said:?}"
    );
    let stranger = refused(by_hand(m.addr, Some(&k), &data_msg(cookie, 2)).await.1);
    assert!(
        stranger.contains("comes from 127.0.0.1, but member 2 is 192.0.2.7:5301"),
        "{stranger}"
    );
    let no_such = refused(by_hand(m.addr, Some(&k), &data_msg(cookie, 7)).await.1);
    assert!(no_such.contains("member 7 is not among"), "{no_such}");
    let unproven = refused(by_hand(m.addr, None, &data_msg(cookie, 1)).await.1);
    assert!(unproven.contains("authentication failed"), "{unproven}");
    let (_data, said) = by_hand(m.addr, Some(&k), &data_msg(cookie, 1)).await;
    assert!(
        matches!(&said, Some(ServerMessage::Group(r)) if **r == GroupReply::Ready),
        "{said:?}"
    );
    let twice = refused(by_hand(m.addr, Some(&k), &data_msg(cookie, 1)).await.1);
    assert!(twice.contains("no (more) stream 1 from member 1"), "{twice}");
    let start = refused(
        by_hand(m.addr, Some(&k), &ClientMessage::Group(Box::new(GroupAsk::Start)))
            .await
            .1,
    );
    assert!(start.contains("after its join"), "{start}");
}

/// A normal 1 s test against `addr`; whether it completed.
async fn plain_test(addr: SocketAddr, psk: &Psk) -> bool {
    let mut i = ClientInput::new("127.0.0.1");
    i.port = addr.port();
    i.time = Some(1.0);
    let mut plan = i.plan().unwrap();
    plan.target.psk = Some(psk.clone());
    let mut quiet = |_: saf_net::client::Event<'_>| {};
    match tokio::time::timeout(BOUND, saf_net::kinds::throughput::run(&plan, &mut quiet)).await {
        Ok(Ok(o)) => o.complete(),
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_never_gets_start_frees_its_slot_and_cookie_within_the_bound() {
    let k = mesh_key();
    let m = common::server(member_config(&k)).await;
    let cookie = Cookie::random().unwrap();
    let join = join_msg(cookie, vec![name(m.addr), "127.0.0.1:9".into()], 0, &[(1, 0)]);
    let (held, said) = by_hand(m.addr, Some(&k), &join).await;
    assert!(
        matches!(&said, Some(ServerMessage::Group(r)) if **r == GroupReply::Joined),
        "{said:?}"
    );
    let busy = refused(
        by_hand(
            m.addr,
            Some(&k),
            &join_msg(Cookie([3; 16]), vec![name(m.addr), "127.0.0.1:9".into()], 0, &[(1, 0)]),
        )
        .await
        .1,
    );
    assert!(busy.contains("server busy"), "{busy}");
    // The orchestrator stays connected and silent: the member gives up after its handshake timeout (2 s).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let gone = refused(by_hand(m.addr, Some(&k), &data_msg(cookie, 1)).await.1);
    assert!(gone.contains("no group with this cookie"), "{gone}");
    assert!(plain_test(m.addr, &k).await, "the slot is free again");
    drop(held);
    // An orchestrator that leaves at once frees the slot at once.
    let (left, _) = by_hand(m.addr, Some(&k), &join).await;
    drop(left);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        plain_test(m.addr, &k).await,
        "the slot is free after the orchestrator left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_group_on_an_overlapping_member_is_refused_busy_without_deadlock() {
    let k = mesh_key();
    let s = members(&k, 3).await;
    let first = plan(&[&s[0], &s[1]], &[(0, 1), (1, 0)], 2.0);
    let second = plan(&[&s[1], &s[2]], &[(0, 1), (1, 0)], 1.0);
    let began = std::time::Instant::now();
    let (ab, bc) = ([&s[0], &s[1]], [&s[1], &s[2]]);
    let (a, b) = tokio::join!(run_group(&ab, &k, &first), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        run_group(&bc, &k, &second).await
    });
    assert_all_flows_ran(&first, &a.unwrap());
    let f = join_failures(b);
    assert!(f.len() == 1 && f[0].0 == 0 && f[0].1.contains("server busy"), "{f:?}");
    assert!(began.elapsed() < BOUND);
    // Afterwards the second group runs.
    assert_all_flows_ran(&second, &run_group(&[&s[1], &s[2]], &k, &second).await.unwrap());
}

fn matrix_of(servers: &[&common::Server]) -> (Matrix, Vec<String>, Vec<Node>) {
    let nodes: Vec<Node> = servers
        .iter()
        .enumerate()
        .map(|(i, s)| Node::new(&format!("n{}", i + 1), &name(s.addr)))
        .collect();
    let mesh = nodes
        .iter()
        .map(|n| MeshNode {
            name: n.name.clone(),
            host: n.host.clone(),
            link: None,
        })
        .collect();
    (Matrix::new(mesh), servers.iter().map(|s| name(s.addr)).collect(), nodes)
}

fn settings(psk: &Psk, secs: f64) -> Settings {
    Settings {
        duration_secs: secs,
        parallel: 2,
        psk: Some(psk.clone()),
        connect_timeout_secs: 2.0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_ring_fills_each_pair_and_names_a_refusing_node() {
    let k = mesh_key();
    let s = members(&k, 3).await;
    let plain = common::server(ServerConfig {
        allow_relay: false,
        ..member_config(&k)
    })
    .await;
    let all = [&s[0], &s[1], &s[2], &plain];
    let (mut matrix, addrs, nodes) = matrix_of(&all);
    let plan = Plan::new(nodes, 1.0, 2, Some(PatternSpec::Ring)).unwrap();
    let rounds = plan.rounds();
    let mut lines = Vec::new();
    let ended = tokio::time::timeout(
        BOUND,
        concurrent::run(
            &mut matrix,
            &addrs,
            &settings(&k, 1.0),
            &rounds,
            &mut |l| lines.push(l),
            std::future::pending(),
        ),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!ended.interrupted);
    assert_eq!(ended.problems.len(), 1, "{:?}", ended.problems);
    assert!(
        ended.problems[0].node == 3 && !ended.problems[0].unreachable,
        "{:?}",
        ended.problems
    );
    assert!(
        ended.problems[0].reason.contains("--allow-relay"),
        "{:?}",
        ended.problems
    );
    assert_eq!(lines.len(), rounds.len(), "{lines:?}");
    for (a, b) in rounds.iter().flatten().copied() {
        let p = matrix.pair(a, b).unwrap();
        if a == 3 || b == 3 {
            assert!(!p.complete && p.goodput_parallel_bps.is_none(), "{a}->{b}: {p:?}");
        } else {
            assert!(p.complete && p.goodput_parallel_bps.unwrap() > 0.0, "{a}->{b}: {p:?}");
            assert!(
                p.goodput_bps.is_none(),
                "a concurrent run fills the parallel figure only"
            );
        }
    }
    assert!(matrix.pair(0, 2).is_none(), "a ring of 4 does not measure 0->2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupt_ends_the_group_everywhere_and_frees_every_slot() {
    let k = mesh_key();
    let s = members(&k, 3).await;
    let all = [&s[0], &s[1], &s[2]];
    let (mut matrix, addrs, nodes) = matrix_of(&all);
    let plan = Plan::new(nodes, 8.0, 2, Some(PatternSpec::Incast("n1".into()))).unwrap();
    let began = std::time::Instant::now();
    let ended = concurrent::run(
        &mut matrix,
        &addrs,
        &settings(&k, 8.0),
        &plan.rounds(),
        &mut |_| {},
        tokio::time::sleep(Duration::from_millis(1500)),
    )
    .await
    .unwrap();
    assert!(ended.interrupted && ended.problems.is_empty(), "{ended:?}");
    assert!(began.elapsed() < Duration::from_secs(4), "{:?}", began.elapsed());
    for (a, b) in [(1, 0), (2, 0)] {
        assert!(!matrix.pair(a, b).unwrap().complete);
    }
    // Every member's run ends within the engine's abort wait; then each takes a normal test.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for m in &s {
        assert!(plain_test(m.addr, &k).await, "{} is free again", m.addr);
    }
}

/// The fuzz seeds of the group messages decode as what they are named for.
#[test]
fn the_group_fuzz_seeds_decode() {
    let seed = |p: &str| std::fs::read(format!("{}/fuzz/seeds/{p}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let join = saf_net::protocol::decode::<ClientMessage>(&seed("client_message/v3_group_join")).unwrap();
    match join {
        ClientMessage::Group(a) => match *a {
            GroupAsk::Join(j) => assert!(j.check().is_ok() && j.outgoing().count() == 1, "{j:?}"),
            other => panic!("not a join: {other:?}"),
        },
        other => panic!("not a group message: {other:?}"),
    }
    let data = saf_net::protocol::decode::<ClientMessage>(&seed("client_message/v3_group_data")).unwrap();
    assert!(
        matches!(data, ClientMessage::Group(ref a) if matches!(**a, GroupAsk::Data { from: 2, .. })),
        "{data:?}"
    );
    let results = saf_net::protocol::decode::<ServerMessage>(&seed("server_message/v3_group_results")).unwrap();
    assert!(
        matches!(results, ServerMessage::Group(ref r) if matches!(**r, GroupReply::Results(_))),
        "{results:?}"
    );
}

/// A member that stops mid-run (its server shuts down) ends its flows at every other member at once; the pairs
/// it sends or receives are incomplete, the others keep their figure, and the round ends within its bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_failing_mid_run_leaves_its_pairs_incomplete_within_the_bound() {
    let k = mesh_key();
    let mut s = members(&k, 3).await;
    let all = [&s[0], &s[1], &s[2]];
    let (mut matrix, addrs, nodes) = matrix_of(&all);
    let plan = Plan::new(nodes, 4.0, 2, Some(PatternSpec::Ring)).unwrap();
    let first_round = vec![plan.rounds()[0].clone()];
    let dying = s.remove(1);
    let (set, mut quiet) = (settings(&k, 4.0), |_| {});
    let began = std::time::Instant::now();
    let (ended, _) = tokio::join!(
        concurrent::run(
            &mut matrix,
            &addrs,
            &set,
            &first_round,
            &mut quiet,
            std::future::pending()
        ),
        async {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let _ = dying.shutdown().await;
        }
    );
    let ended = ended.unwrap();
    assert!(began.elapsed() < Duration::from_secs(16), "{:?}", began.elapsed());
    assert!(!ended.interrupted, "{ended:?}");
    for (a, b) in [(0, 1), (1, 2)] {
        assert!(
            !matrix.pair(a, b).unwrap().complete,
            "{a}->{b}: {:?}",
            matrix.pair(a, b)
        );
    }
    let kept = matrix.pair(2, 0).unwrap();
    assert!(kept.complete && kept.goodput_parallel_bps.unwrap() > 0.0, "{kept:?}");
}
