//! Protocol version 3 against in-process servers: a v2 client (frames spoken by hand) still served as v2, a v3
//! client against a server held to v2, `facts` behind the key, and the slot-free echo: beside a test that holds
//! the only slot, behind the key, within its limits, and never answering a stranger.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::key;
use saf_net::auth::Psk;
use saf_net::client::{ClientError, Event};
use saf_net::config::{ClientInput, ServerConfig, Target};
use saf_net::engine::probe::ProbePlan;
use saf_net::kinds::{facts, latency, throughput};
use saf_net::net::Family;
use saf_net::protocol::{
    ClientMessage, Cookie, DatagramKind, EchoRequest, HEADER_LEN, Header, ServerMessage, read_message, read_raw,
    write_message,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const T: Duration = Duration::from_secs(5);
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn target(addr: SocketAddr, psk: Option<Psk>) -> Target {
    let mut t = Target::new("127.0.0.1", addr.port(), Family::Any, 2.0).unwrap();
    t.psk = psk;
    t
}

/// `n` UDP echo probes at `rate` a second.
fn probes(n: u64, rate: f64) -> ProbePlan {
    ProbePlan {
        count: Some(n),
        duration: Some(Duration::from_secs_f64(n as f64 / rate + 1.0)),
        interval: Duration::from_secs_f64(1.0 / rate),
        size: 64,
        timeout: Duration::from_secs(1),
        busy_poll: Duration::ZERO,
    }
}

async fn echo(addr: SocketAddr, psk: Option<Psk>, plan: &ProbePlan) -> Result<latency::LatencyOutcome, ClientError> {
    let mut quiet = |_: Event<'_>| {};
    latency::echo_session(&target(addr, psk), plan, &mut quiet).await
}

/// A `seconds`-long forward TCP test through the library client.
async fn tcp_test(addr: SocketAddr, seconds: f64) -> Result<throughput::Outcome, ClientError> {
    let mut i = ClientInput::new("127.0.0.1");
    i.port = addr.port();
    i.time = Some(seconds);
    i.interval = 0.5;
    let plan = i.plan().unwrap();
    let mut quiet = |_: Event<'_>| {};
    throughput::run(&plan, &mut quiet).await
}

fn frame(v: &Value) -> Vec<u8> {
    let body = serde_json::to_vec(v).unwrap();
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// The next frame as its exact bytes.
async fn raw(s: &mut (impl AsyncReadExt + Unpin)) -> String {
    String::from_utf8(read_raw(s, 65_536, T).await.expect("a frame")).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Negotiation
// ---------------------------------------------------------------------------------------------

/// A v2 client, every frame as saf-net 0.2.0 writes it, runs a whole TCP test on a v3 server and gets the
/// exact v2 bytes back (welcome with protocol 2, acceptance with the v2 fields only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v2_client_speaking_by_hand_runs_a_tcp_test() {
    let srv = common::server(ServerConfig::default()).await;
    let mut c = TcpStream::connect(srv.addr).await.unwrap();
    c.write_all(&frame(&json!({"hello": {"protocol": 2, "software": "0.2.0"}})))
        .await
        .unwrap();
    let welcome = raw(&mut c).await;
    assert_eq!(
        welcome,
        format!(r#"{{"welcome":{{"protocol":2,"software":"{VERSION}"}}}}"#)
    );
    let request = json!({"test": {
        "direction": "forward", "streams": 1, "stop": {"seconds": 0.5}, "omit_seconds": 0.0,
        "interval_seconds": 0.25, "block_size": 65536, "window": null, "mss": null, "congestion": null,
        "fq_rate": null, "bitrate": null, "udp_echo": false, "server_cpu": null, "skip_rx_copy": false
    }});
    c.write_all(&frame(&request)).await.unwrap();
    let accepted: Value = serde_json::from_str(&raw(&mut c).await).unwrap();
    let fields: Vec<&String> = accepted["accepted"]
        .as_object()
        .expect("an acceptance")
        .keys()
        .collect();
    assert_eq!(fields, ["cookie", "facts"], "{accepted}");
    let cookie = accepted["accepted"]["cookie"].as_str().unwrap().to_string();
    let mut data = TcpStream::connect(srv.addr).await.unwrap();
    data.write_all(&frame(&json!({"data": {"cookie": cookie, "stream": 1}})))
        .await
        .unwrap();
    assert_eq!(raw(&mut c).await, r#""start""#);
    let sent = send_for(&mut data, Duration::from_millis(800)).await;
    let mut sink = [0u8; 4096];
    while tokio::time::timeout(T, data.read(&mut sink))
        .await
        .is_ok_and(|r| r.is_ok_and(|n| n > 0))
    {}
    let results = loop {
        let m: Value = serde_json::from_str(&raw(&mut c).await).unwrap();
        if m["interval"]["end"].as_f64().is_some_and(|e| e >= 0.5) {
            c.write_all(&frame(&json!("done"))).await.unwrap();
        }
        if m.get("results").is_some() {
            break m;
        }
        assert!(m.get("interval").is_some(), "only intervals before the results: {m}");
    };
    assert_eq!(results["results"]["complete"], json!(true), "{results}");
    let got = results["results"]["streams"][0]["bytes_total"].as_u64().unwrap();
    assert!(got > 0 && got <= sent, "the server received {got} of {sent} bytes");
}

/// Writes zeros for `how_long` (the server may close at its planned end); then ends the stream.
async fn send_for(data: &mut TcpStream, how_long: Duration) -> u64 {
    let t0 = Instant::now();
    let mut sent = 0;
    while t0.elapsed() < how_long {
        match tokio::time::timeout(Duration::from_millis(300), data.write_all(&[0u8; 65536])).await {
            Ok(Ok(())) => sent += 65536,
            _ => break,
        }
    }
    let _ = data.shutdown().await;
    sent
}

/// A v3 client against a server held to v2: the refusal is v2's own text, the client says hello again as v2
/// and runs its test; facts and the echo get one line naming the server's release and protocol.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v3_client_against_a_v2_server_still_tests_and_names_what_needs_v3() {
    let srv = common::server(ServerConfig {
        max_protocol: 2,
        ..ServerConfig::default()
    })
    .await;
    let mut c = TcpStream::connect(srv.addr).await.unwrap();
    c.write_all(&frame(&json!({"hello": {"protocol": 3, "software": "0.3.0"}})))
        .await
        .unwrap();
    let refusal = raw(&mut c).await;
    assert!(
        refusal.contains("protocol version mismatch") && refusal.contains("this server speaks protocol 2 (saf-net"),
        "{refusal}"
    );

    let o = tcp_test(srv.addr, 0.5).await.expect("a v2 server still runs the test");
    assert!(o.complete(), "{:?}", o.error);
    assert!(o.directions()[0].received.bytes > 0);

    let err = facts::facts(&target(srv.addr, None)).await.unwrap_err();
    let line = err.to_string();
    let want = format!("runs saf-net {VERSION} (protocol 2); facts need protocol 3: upgrade it");
    assert!(line.ends_with(&want), "{line}");
    assert!(matches!(err, ClientError::TooOld { protocol: 2, .. }), "{err:?}");
    let err = echo(srv.addr, None, &probes(3, 10.0)).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("(protocol 2); the slot-free echo needs protocol 3: upgrade it"),
        "{err}"
    );
}

/// The same through the binary: `saf-net facts` against `saf-net server --max-protocol 2` is one line, exit 1.
#[test]
fn facts_against_a_v2_server_is_one_line_and_exit_1() {
    let port = common::free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut server = common::saf_net();
    server.args(["server", "-p", &port.to_string(), "--max-protocol", "2"]);
    let _srv = common::logged_server(server, &dir.path().join("server.log"), "listening on");
    let out = common::saf_net()
        .args(["facts", "127.0.0.1", "-p", &port.to_string()])
        .output()
        .unwrap();
    let err = common::text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("(protocol 2); facts need protocol 3: upgrade it"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Facts
// ---------------------------------------------------------------------------------------------

/// Facts behind a key: the right key gets them; a wrong key, no key, or a `facts` instead of the key proof get a
/// refusal and no facts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facts_need_the_key_and_tell_the_servers_own_side() {
    let k = key("the server's facts key, long enough");
    let srv = common::server(ServerConfig {
        psk: Some(k.clone()),
        ..ServerConfig::default()
    })
    .await;
    let f = facts::facts(&target(srv.addr, Some(k)))
        .await
        .expect("facts with the key");
    assert_eq!((f.software.as_str(), f.protocol), (VERSION, 3));
    assert_eq!(f.os, std::env::consts::OS);
    assert_eq!(f.link.address, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    assert_eq!(
        f.link.speed_mbps, None,
        "loopback has no link speed: unknown, not guessed"
    );
    if cfg!(target_os = "linux") {
        assert_eq!(f.link.interface.as_deref(), Some("lo"));
        let route = f
            .route
            .as_ref()
            .unwrap_or_else(|| panic!("no route: {:?}", f.route_error));
        assert_eq!(route.kind, "loopback");
    }

    let wrong = facts::facts(&target(srv.addr, Some(key("another key, just as long"))))
        .await
        .unwrap_err();
    assert!(wrong.to_string().contains("different keys"), "{wrong}");
    let none = facts::facts(&target(srv.addr, None)).await.unwrap_err();
    assert!(none.to_string().contains("requires a pre-shared key"), "{none}");

    // By hand: a nonce, then `facts` where the proof belongs.
    let said = unproven(srv.addr, &ClientMessage::Facts).await;
    assert!(
        matches!(&said[..], [ServerMessage::Refused { reason }] if reason.contains("authentication failed")),
        "{said:?}"
    );
}

/// Says hello with a nonce, sends `ask` instead of the key proof, and returns all the server said after welcome.
async fn unproven(addr: SocketAddr, ask: &ClientMessage) -> Vec<ServerMessage> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let hello = ClientMessage::Hello {
        protocol: 3,
        software: "by hand".into(),
        nonce: Some("00".repeat(16)),
    };
    write_message(&mut s, &hello).await.unwrap();
    let welcome = read_message::<ServerMessage, _>(&mut s, 65_536, T).await.unwrap();
    assert!(
        matches!(welcome, ServerMessage::Welcome { challenge: Some(_), .. }),
        "{welcome:?}"
    );
    write_message(&mut s, ask).await.unwrap();
    let mut said = Vec::new();
    while let Ok(m) = read_message::<ServerMessage, _>(&mut s, 65_536, T).await {
        said.push(m);
    }
    said
}

// ---------------------------------------------------------------------------------------------
// The slot-free echo
// ---------------------------------------------------------------------------------------------

/// With `--max-concurrent 1` and a 3 s test holding the slot, an echo session and a facts request are answered
/// at once, and the test still completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_and_facts_run_while_a_test_holds_the_only_slot() {
    let srv = common::server(ServerConfig {
        max_concurrent: 1,
        max_queue: 0,
        ..ServerConfig::default()
    })
    .await;
    let addr = srv.addr;
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let test = tokio::spawn(async move {
        let mut i = ClientInput::new("127.0.0.1");
        i.port = addr.port();
        i.time = Some(3.0);
        let plan = i.plan().unwrap();
        let mut tx = Some(started_tx);
        let mut obs = |e: Event<'_>| {
            if matches!(e, Event::Started { .. }) {
                tx.take().map(|t| t.send(()));
            }
        };
        throughput::run(&plan, &mut obs).await
    });
    tokio::time::timeout(T, started_rx)
        .await
        .unwrap()
        .expect("the long test started");
    let busy = tcp_test(addr, 0.2).await.unwrap_err();
    assert!(busy.to_string().contains("server busy"), "the slot is taken: {busy}");
    let began = Instant::now();
    let o = echo(addr, None, &probes(20, 20.0))
        .await
        .expect("an echo beside the test");
    assert!(o.probe.error.is_none(), "{:?}", o.probe.error);
    assert_eq!(o.probe.sent, 20);
    assert!(o.probe.received >= 18, "{} of 20 answered", o.probe.received);
    let f = facts::facts(&target(addr, None)).await.expect("facts beside the test");
    assert_eq!(f.protocol, 3);
    assert!(!test.is_finished(), "echo and facts ran while the test held the slot");
    assert!(began.elapsed() < Duration::from_secs(3));
    let o = test.await.unwrap().expect("the test ran");
    assert!(o.complete(), "the test was not disturbed: {:?}", o.error);
    assert!(o.directions()[0].received.bytes > 0);
}

/// Behind a key, the echo needs it: no key, a wrong one, or `echo` in place of the proof are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_is_refused_without_the_key() {
    let k = key("the echo key, sixteen bytes plus");
    let srv = common::server(ServerConfig {
        psk: Some(k.clone()),
        ..ServerConfig::default()
    })
    .await;
    let plan = probes(3, 10.0);
    let err = echo(srv.addr, None, &plan).await.unwrap_err();
    assert!(err.to_string().contains("requires a pre-shared key"), "{err}");
    let err = echo(srv.addr, Some(key("not the echo key at all")), &plan)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("different keys"), "{err}");
    let ask = ClientMessage::Echo(EchoRequest {
        duration_seconds: 1.0,
        rate: 1.0,
        size: 64,
    });
    let said = unproven(srv.addr, &ask).await;
    assert!(
        matches!(&said[..], [ServerMessage::Refused { reason }] if reason.contains("authentication failed")),
        "{said:?}"
    );
    let ok = echo(srv.addr, Some(k), &plan).await.expect("with the key");
    assert_eq!(ok.probe.received, 3);
}

/// An echo session opened by hand: its cookie, and the control connection that holds it open.
async fn echo_by_hand(addr: SocketAddr, rate: f64) -> Result<(Cookie, TcpStream), String> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let hello = ClientMessage::Hello {
        protocol: 3,
        software: "by hand".into(),
        nonce: None,
    };
    write_message(&mut s, &hello).await.unwrap();
    read_message::<ServerMessage, _>(&mut s, 65_536, T).await.unwrap();
    let ask = ClientMessage::Echo(EchoRequest {
        duration_seconds: 5.0,
        rate,
        size: 64,
    });
    write_message(&mut s, &ask).await.unwrap();
    match read_message::<ServerMessage, _>(&mut s, 65_536, T).await.unwrap() {
        ServerMessage::Accepted { cookie, .. } => {
            let start = read_message::<ServerMessage, _>(&mut s, 65_536, T).await.unwrap();
            assert_eq!(start, ServerMessage::Start);
            Ok((cookie, s))
        }
        ServerMessage::Refused { reason } => Err(reason),
        other => panic!("{other:?}"),
    }
}

/// The limits: rate, duration and sessions over the server's are refused naming the server option; a client
/// flooding past its own rate gets only its burst answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_is_bounded() {
    let srv = common::server(ServerConfig {
        max_echo_sessions: 1,
        max_echo_rate: 50.0,
        max_echo_duration: Duration::from_secs(10),
        ..ServerConfig::default()
    })
    .await;
    let err = echo(srv.addr, None, &probes(5, 100.0)).await.unwrap_err();
    assert!(err.to_string().contains("(server option --max-echo-rate)"), "{err}");
    let long = ProbePlan {
        duration: Some(Duration::from_secs(60)),
        ..probes(5, 10.0)
    };
    let err = echo(srv.addr, None, &long).await.unwrap_err();
    assert!(err.to_string().contains("(server option --max-echo-duration)"), "{err}");

    let (cookie, _held) = echo_by_hand(srv.addr, 10.0).await.expect("the one session");
    let busy = echo_by_hand(srv.addr, 10.0).await.unwrap_err();
    assert!(busy.contains("(server option --max-echo-sessions)"), "{busy}");

    // 200 probes back to back at a declared 10/s: the burst (5) is answered, the rest dropped.
    let sock = udp_from(Ipv4Addr::LOCALHOST, srv.addr);
    for seq in 0..200 {
        send(&sock, DatagramKind::Echo, cookie, seq, 64);
    }
    let answers = answers(&sock, Duration::from_millis(500));
    assert!((1..=6).contains(&answers.len()), "{} answered", answers.len());
}

fn udp_from(ip: Ipv4Addr, to: SocketAddr) -> UdpSocket {
    let s = UdpSocket::bind((ip, 0)).unwrap();
    s.connect(to).unwrap();
    s
}

fn send(sock: &UdpSocket, kind: DatagramKind, cookie: Cookie, seq: u64, size: usize) {
    let mut buf = vec![0u8; size];
    Header {
        kind,
        cookie,
        seq,
        sent_ns: 0,
    }
    .write(&mut buf);
    if kind == DatagramKind::Fill {
        buf[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&9000u32.to_be_bytes());
    }
    sock.send(&buf).unwrap();
}

/// Sizes of the datagrams that came back within `wait`.
fn answers(sock: &UdpSocket, wait: Duration) -> Vec<usize> {
    sock.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let (t0, mut got, mut buf) = (Instant::now(), Vec::new(), vec![0u8; 65_536]);
    while t0.elapsed() < wait {
        if let Ok(n) = sock.recv(&mut buf) {
            got.push(n);
        }
    }
    got
}

/// No reflection, no amplification: a random cookie, the session's cookie from another address, and an MTU fill
/// request (which would answer bigger than it asked) get nothing; the session's own echo gets its own size back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_echo_answers_only_its_session_and_never_larger() {
    let srv = common::server(ServerConfig::default()).await;
    let (cookie, _held) = echo_by_hand(srv.addr, 50.0).await.expect("a session");
    let own = udp_from(Ipv4Addr::LOCALHOST, srv.addr);
    send(&own, DatagramKind::Echo, Cookie([7; 16]), 1, 64);
    send(&own, DatagramKind::Fill, cookie, 2, 64);
    assert_eq!(answers(&own, Duration::from_millis(300)), Vec::<usize>::new());
    let stranger = udp_from(Ipv4Addr::new(127, 0, 0, 2), srv.addr);
    send(&stranger, DatagramKind::Echo, cookie, 3, 64);
    assert_eq!(answers(&stranger, Duration::from_millis(300)), Vec::<usize>::new());
    send(&own, DatagramKind::Echo, cookie, 4, 100);
    assert_eq!(answers(&own, Duration::from_millis(300)), vec![100]);
}
