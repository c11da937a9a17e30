//! Hostile iperf3 clients against ONE in-process server, then proof that it still serves iperf3 and saf-net
//! tests (the iperf3 part of the hostile suite; `tests/hostile.rs` holds saf-net's). Covers iperf3's CVE classes
//! on the server's side: the 0xffffffff JSON length (CVE-2023-38403), JSON of the wrong type, a partial message
//! then silence, an oversized parameter block; plus garbage states mid-test, UDP setups from an address other
//! than the control connection's (a reflector), and a seeded batch of mutated parameter blocks.
//! `SAF_NET_HOSTILE_SEED=N` replays another seed. Traffic goes only to loopback.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::Server;
use saf_net::client::Event;
use saf_net::config::{ClientInput, ServerConfig};
use saf_net::kinds::throughput;
use saf_net::protocol::iperf3::{Cookie, State, encode_json};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

const SEED: u64 = 0x1935_2026_1204_0001;
/// The server's handshake timeout here: short, so silent clients cost little.
const HS: Duration = Duration::from_secs(2);
/// The longest any hostile exchange may stay open.
const BOUND: Duration = Duration::from_secs(5);
const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
/// A second loopback address: Linux routes all of 127.0.0.0/8 to lo.
const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
/// iperf3's "unable to receive parameters from client", "unable to accept stream connection".
const RECV_PARAMS: i32 = 114;
const STREAM_ACCEPT: i32 = 204;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

async fn server(max_concurrent: usize) -> Server {
    Server::start(ServerConfig {
        log: std::env::var_os("SAF_NET_HOSTILE_LOG").is_some(),
        handshake_timeout: HS,
        max_concurrent,
        ..ServerConfig::default()
    })
    .await
}

async fn connect(from: IpAddr, to: SocketAddr) -> TcpStream {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::new(from, 0)).unwrap();
    tokio::time::timeout(Duration::from_secs(3), sock.connect(to))
        .await
        .unwrap()
        .unwrap()
}

/// A control connection that sent its cookie and read the server's first state.
async fn control(addr: SocketAddr, from: IpAddr) -> (TcpStream, Cookie, i8) {
    let mut s = connect(from, addr).await;
    let cookie = Cookie::random().unwrap();
    s.write_all(cookie.as_bytes()).await.unwrap();
    let mut b = [0u8; 1];
    tokio::time::timeout(BOUND, s.read_exact(&mut b))
        .await
        .unwrap()
        .unwrap();
    (s, cookie, b[0] as i8)
}

/// Everything the server still sends until it closes, and whether it closed within `BOUND`.
async fn drain(s: &mut TcpStream) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let closed = tokio::time::timeout(BOUND, async {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = s.read(&mut buf).await {
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .is_ok();
    (got, closed)
}

/// The server's answer after PARAM_EXCHANGE, judged: nothing, SERVER_ERROR with iperf3's number, or
/// CREATE_STREAMS (the block was fine) and then, as no stream ever comes, SERVER_ERROR 204 or nothing.
fn judge(got: &[u8]) -> Result<&'static str, String> {
    let error = |b: &[u8]| -> Option<i32> {
        (b.len() == 9 && b[0] == State::ServerError.to_byte()).then(|| i32::from_be_bytes(b[1..5].try_into().unwrap()))
    };
    match got {
        [] => Ok("closed"),
        [10] => Ok("create-streams"),
        [10, rest @ ..] if error(rest) == Some(STREAM_ACCEPT) => Ok("create-streams"),
        b if error(b).is_some_and(|e| [5, 6, 7, 8, RECV_PARAMS, 131].contains(&e)) => Ok("refused"),
        b => Err(format!("unexpected answer {b:?}")),
    }
}

/// Sends `input` after the cookie, closes our side, and judges what comes back.
async fn params_case(addr: SocketAddr, from: IpAddr, input: &[u8]) -> Result<&'static str, String> {
    let (mut s, _, first) = control(addr, from).await;
    if first != State::ParamExchange as i8 {
        return Err(format!("first state {first}, not PARAM_EXCHANGE"));
    }
    let _ = s.write_all(input).await;
    let _ = s.shutdown().await;
    let (got, closed) = drain(&mut s).await;
    if !closed {
        return Err(format!("still open after {BOUND:?}"));
    }
    judge(&got)
}

fn block(v: &Value) -> Vec<u8> {
    encode_json(v)
}

fn real_params() -> Value {
    json!({"tcp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":1,"len":131072,
        "pacing_timer":1000,"client_version":"3.12"})
}

/// The named CVE classes and type confusion, each with the answer it must get.
async fn named_cases(addr: SocketAddr) -> Result<u64, String> {
    let mut huge = vec![0xff, 0xff, 0xff, 0xff];
    huge.extend_from_slice(b"{}");
    let mut oversized = (1u32 << 20).to_be_bytes().to_vec();
    oversized.extend(std::iter::repeat_n(b' ', 100_000));
    let mut cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("0xffffffff JSON length", huge, "refused"),
        ("oversized parameter block", oversized, "refused"),
        ("zero length", vec![0, 0, 0, 0], "refused"),
        ("not JSON", [&[0, 0, 0, 5][..], b"{{{{{"].concat(), "refused"),
    ];
    for v in [
        json!([1, 2, 3]),
        json!("tcp"),
        json!(null),
        json!(42),
        json!({"parallel": "4"}),
        json!({"parallel": [4]}),
        json!({"time": -1}),
        json!({"time": {"s": 1}}),
        json!({"len": 1.5}),
        json!({"num": "lots"}),
        json!({"bandwidth": -5}),
        json!({"window": true}),
        json!({"parallel": 100000}),
        json!({"time": 1e12}),
        json!({"len": 4294967296u64}),
        json!({"reverse": true, "bidirectional": true}),
        json!({"sctp": true}),
    ] {
        cases.push(("wrong type or value", block(&v), "refused"));
    }
    let n = cases.len() as u64;
    for (what, input, want) in cases {
        let got = params_case(addr, LOCAL, &input)
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        if got != want {
            return Err(format!("{what}: wanted {want}, got {got}"));
        }
    }
    Ok(n)
}

/// A partial cookie, and a partial parameter block, then silence: each dropped within the handshake timeout.
async fn partial_then_silence(addr: SocketAddr) -> Result<(), String> {
    for (what, cut) in [("partial cookie", 10usize), ("partial parameters", 37 + 4 + 10)] {
        let mut s = connect(LOCAL, addr).await;
        let cookie = Cookie::random().unwrap();
        let mut input = cookie.as_bytes().to_vec();
        input.extend(block(&real_params()));
        s.write_all(&input[..cut]).await.unwrap();
        let began = Instant::now();
        let (got, closed) = drain(&mut s).await;
        let took = began.elapsed();
        if !closed || took > HS + Duration::from_secs(2) {
            return Err(format!("{what}: not dropped within the handshake timeout ({took:?})"));
        }
        if got.len() > 1 {
            return Err(format!("{what}: answered {got:?}"));
        }
    }
    Ok(())
}

/// A test that got to TEST_RUNNING with one TCP stream; the data connection is returned to keep it open.
async fn running_test(addr: SocketAddr) -> (TcpStream, TcpStream) {
    let (mut ctl, cookie, first) = control(addr, LOCAL).await;
    assert_eq!(first, State::ParamExchange as i8, "the slot is free");
    ctl.write_all(&block(&real_params())).await.unwrap();
    let mut states = [0u8; 3];
    tokio::time::timeout(BOUND, ctl.read_exact(&mut states[..1]))
        .await
        .unwrap()
        .unwrap();
    // Like iperf3, open the stream only once told to.
    let mut data = connect(LOCAL, addr).await;
    data.write_all(cookie.as_bytes()).await.unwrap();
    tokio::time::timeout(BOUND, ctl.read_exact(&mut states[1..]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(states, [10, 1, 2], "CREATE_STREAMS, TEST_START, TEST_RUNNING");
    (ctl, data)
}

/// Garbage state bytes mid-test end the test promptly, and the slot is free again at once.
async fn garbage_states(addr: SocketAddr, rng: &mut Rng) -> Result<u64, String> {
    let mut n = 0;
    for _ in 0..12 {
        let b = loop {
            let b = rng.below(256) as u8;
            // TEST_END (4) is a legitimate end; the rest are garbage here.
            if b != 4 {
                break b;
            }
        };
        let (mut ctl, _data) = running_test(addr).await;
        ctl.write_all(&[b]).await.unwrap();
        let (_, closed) = drain(&mut ctl).await;
        if !closed {
            return Err(format!(
                "state byte {b} mid-test: the test did not end within {BOUND:?}"
            ));
        }
        n += 1;
    }
    Ok(n)
}

/// A UDP test's setups: one from another address is not answered (no reflection), one from the control
/// connection's address is; spoofed datagrams are not counted; a test whose setup never comes is ended.
async fn udp_setups(addr: SocketAddr) -> Result<(), String> {
    let udp = json!({"udp":true,"time":1,"parallel":1,"len":1000,"bandwidth":1000000,"client_version":"3.12"});
    let (mut ctl, _, _) = control(addr, LOCAL).await;
    ctl.write_all(&block(&udp)).await.unwrap();
    let mut b = [0u8; 1];
    ctl.read_exact(&mut b).await.unwrap();
    assert_eq!(b[0], 10, "CREATE_STREAMS");
    let spoofed = UdpSocket::bind(SocketAddr::new(OTHER, 0)).await.unwrap();
    spoofed.send_to(b"9876", addr).await.unwrap();
    let mut buf = [0u8; 64];
    if tokio::time::timeout(Duration::from_millis(500), spoofed.recv(&mut buf))
        .await
        .is_ok()
    {
        return Err("the server answered a UDP setup from another address than the test's".into());
    }
    let legit = UdpSocket::bind(SocketAddr::new(LOCAL, 0)).await.unwrap();
    legit.connect(addr).await.unwrap();
    legit.send(b"9876").await.unwrap();
    let n = tokio::time::timeout(BOUND, legit.recv(&mut buf))
        .await
        .map_err(|_| "no setup answer")?;
    if n.map_err(|e| e.to_string())? != 4 || &buf[..4] != b"6789" {
        return Err(format!("setup answer {:?}", &buf[..4]));
    }
    let mut states = [0u8; 2];
    ctl.read_exact(&mut states).await.unwrap();
    let datagram = |count: u32| {
        let mut d = vec![0u8; 1000];
        d[8..12].copy_from_slice(&count.to_be_bytes());
        d
    };
    for c in 1..=10 {
        legit.send(&datagram(c)).await.unwrap();
        spoofed.send_to(&datagram(c + 100), addr).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    ctl.write_all(&[State::TestEnd.to_byte()]).await.unwrap();
    ctl.read_exact(&mut b).await.unwrap();
    assert_eq!(b[0], State::ExchangeResults.to_byte());
    let ours = json!({"cpu_util_total":0,"cpu_util_user":0,"cpu_util_system":0,"sender_has_retransmits":0,
        "streams":[{"id":1,"bytes":10000,"retransmits":-1,"jitter":0,"errors":0,"packets":10}]});
    ctl.write_all(&block(&ours)).await.unwrap();
    let mut len = [0u8; 4];
    ctl.read_exact(&mut len).await.unwrap();
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    ctl.read_exact(&mut body).await.unwrap();
    let theirs: Value = serde_json::from_slice(&body).unwrap();
    let stream = &theirs["streams"][0];
    if stream["packets"] != 10 || stream["bytes"] != 10_000 || stream["errors"] != 0 {
        return Err(format!("the server counted spoofed datagrams: {stream}"));
    }
    ctl.read_exact(&mut b).await.unwrap();
    assert_eq!(b[0], State::DisplayResults.to_byte());
    ctl.write_all(&[State::IperfDone.to_byte()]).await.unwrap();
    drain(&mut ctl).await;
    // A test whose only setup comes from elsewhere never starts, and ends within the handshake timeout.
    let (mut ctl, _, first) = control(addr, LOCAL).await;
    assert_eq!(first, State::ParamExchange as i8, "the slot is free again");
    ctl.write_all(&block(&udp)).await.unwrap();
    ctl.read_exact(&mut b).await.unwrap();
    spoofed.send_to(b"9876", addr).await.unwrap();
    let (got, closed) = drain(&mut ctl).await;
    if !closed || judge(&got) != Ok("refused") && got.first() != Some(&(State::ServerError.to_byte())) {
        return Err(format!("a UDP test without its setup: closed {closed}, answer {got:?}"));
    }
    Ok(())
}

/// One mutation of a real parameter block.
fn mutated(rng: &mut Rng) -> Vec<u8> {
    let good = block(&real_params());
    match rng.below(5) {
        // Every truncation.
        0 => good[..rng.below(good.len() as u64) as usize].to_vec(),
        // Flipped bytes in the body.
        1 => {
            let mut b = good.clone();
            for _ in 0..=rng.below(4) {
                let i = 4 + rng.below(b.len() as u64 - 4) as usize;
                b[i] = rng.below(256) as u8;
            }
            b
        }
        // A wrong length prefix over a good body.
        2 => {
            let mut b = good.clone();
            b[..4].copy_from_slice(&(rng.next() as u32 >> rng.below(32)).to_be_bytes());
            b
        }
        // Each known key given a value of a random type.
        3 => {
            let mut v = real_params();
            let keys = [
                "tcp", "udp", "omit", "time", "num", "parallel", "len", "window", "reverse", "MSS",
            ];
            let key = keys[rng.below(keys.len() as u64) as usize];
            v[key] = match rng.below(6) {
                0 => json!(rng.next()),
                1 => json!(-(rng.below(1000) as i64)),
                2 => json!("x"),
                3 => json!([]),
                4 => json!({"a": 1}),
                _ => json!(rng.next() as f64 / 3.0),
            };
            block(&v)
        }
        // Random bytes.
        _ => (0..rng.below(64)).map(|_| rng.below(256) as u8).collect(),
    }
}

/// Seeded mutated parameter blocks, many at once, each from its own loopback address.
async fn mutation_batch(addr: SocketAddr, seed: u64, n: usize) -> Result<u64, String> {
    let done = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for w in 0..16u64 {
        let done = done.clone();
        workers.push(tokio::spawn(async move {
            let mut rng = Rng(seed ^ (w + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            let from = IpAddr::V4(Ipv4Addr::new(127, 0, 1, 10 + w as u8));
            for i in 0..n / 16 {
                let input = mutated(&mut rng);
                params_case(addr, from, &input)
                    .await
                    .map_err(|e| format!("worker {w} case {i} (seed {seed}): {e}; input {input:?}"))?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<(), String>(())
        }));
    }
    for w in workers {
        w.await.unwrap()?;
    }
    Ok(done.load(Ordering::Relaxed))
}

/// The same server still runs a real iperf3 test (when iperf3 is installed).
fn real_iperf3(port: u16) -> Result<String, String> {
    if !std::path::Path::new("/usr/bin/iperf3").exists() {
        return Ok("SKIPPED the real iperf3 check: /usr/bin/iperf3 is not installed".into());
    }
    let out = std::process::Command::new("/usr/bin/iperf3")
        .args([
            "-c",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-t",
            "1",
            "-J",
            "--connect-timeout",
            "3000",
        ])
        .output()
        .map_err(|e| e.to_string())?;
    let doc: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    let got = doc["end"]["sum_received"]["bytes"].as_u64().unwrap_or(0);
    if got == 0 || doc.get("error").is_some() {
        return Err(format!("iperf3 after the hostile clients: {}", doc["error"]));
    }
    Ok(format!("iperf3 afterwards: {got} bytes received"))
}

/// The same server still runs a saf-net test.
async fn real_saf_net(addr: SocketAddr) -> Result<String, String> {
    let mut i = ClientInput::new("127.0.0.1");
    i.port = addr.port();
    i.time = Some(0.5);
    let plan = i.plan()?;
    let o = throughput::run(&plan, &mut |_: Event<'_>| {})
        .await
        .map_err(|e| e.to_string())?;
    let received = o.directions()[0].received.bytes;
    if !o.complete() || received == 0 {
        return Err(format!("saf-net test after the hostile clients: {:?}", o.error));
    }
    Ok(format!("saf-net afterwards: {received} bytes received"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_iperf3_clients_then_real_tests_on_the_same_server() {
    let seed = std::env::var("SAF_NET_HOSTILE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED);
    let mut rng = Rng(seed | 1);
    let one = server(1).await;
    let named = named_cases(one.addr).await.unwrap();
    partial_then_silence(one.addr).await.unwrap();
    let garbage = garbage_states(one.addr, &mut rng).await.unwrap();
    udp_setups(one.addr).await.unwrap();
    let many = server(64).await;
    let mutations = mutation_batch(many.addr, seed, 3200).await.unwrap();
    for s in [&one, &many] {
        let port = s.addr.port();
        let note = tokio::task::spawn_blocking(move || real_iperf3(port))
            .await
            .unwrap()
            .unwrap();
        eprintln!("{note}");
        eprintln!("{}", real_saf_net(s.addr).await.unwrap());
    }
    eprintln!(
        "iperf3 hostile: {named} named cases, 2 partial-then-silent, {garbage} garbage states, 4 UDP setup \
         checks, {mutations} mutated parameter blocks (seed {seed})"
    );
}
