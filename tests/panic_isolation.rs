//! Panic isolation, proven: with the test-only `panic-probe` feature the REAL connection handler panics
//! on a chosen hello, and the same server process survives it and serves the next client.
//!
//! cargo test --features panic-probe --test panic_isolation
#![cfg(feature = "panic-probe")]

mod common;

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use saf_net::client::Event;
use saf_net::config::{ClientInput, LatencyInput, ServerConfig};
use saf_net::kinds::latency::run as run_latency;
use saf_net::kinds::throughput;
use saf_net::protocol::{
    ClientMessage, DEFAULT_MAX_FRAME, Direction, LatencyMode, PROTOCOL_VERSION, Protocol, ServerMessage, StopAfter,
    TestRequest, read_message, write_message,
};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Panic messages seen by the hook: proof that the probe fired, not merely that a connection closed.
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn record_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        if msg.starts_with("panic probe") {
            eprintln!("(expected) server task panicked: {msg}");
            PANICS.lock().unwrap_or_else(|p| p.into_inner()).push(msg);
        } else {
            default(info);
        }
    }));
}

fn probes_fired() -> Vec<String> {
    PANICS.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

async fn server() -> common::Server {
    // One test at a time: a slot leaked by the panic would make the next client wait forever.
    common::server(ServerConfig {
        max_concurrent: 1,
        handshake_timeout: Duration::from_secs(2),
        ..ServerConfig::default()
    })
    .await
}

/// Sends the probing hello (and a test request for the in-slot stages); the server's task panics,
/// so the connection must close without an acceptance.
async fn trigger(addr: SocketAddr, stage: &str) {
    let sock = TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = sock.into_split();
    let hello = ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        software: format!("panic-probe:{stage}"),
        nonce: None,
    };
    write_message(&mut wr, &hello).await.unwrap();
    if stage != "hello" {
        let welcome = read_message::<ServerMessage, _>(&mut rd, DEFAULT_MAX_FRAME, Duration::from_secs(2))
            .await
            .unwrap();
        assert!(matches!(welcome, ServerMessage::Welcome { .. }), "{welcome:?}");
        let req = TestRequest {
            direction: Direction::Forward,
            streams: 1,
            stop: StopAfter::Seconds(1.0),
            omit_seconds: 0.0,
            interval_seconds: 1.0,
            block_size: 128 * 1024,
            window: None,
            mss: None,
            congestion: None,
            fq_rate: None,
            bitrate: None,
            udp_echo: true,
            protocol: Protocol::Tcp,
            server_cpu: None,
            skip_rx_copy: false,
        };
        write_message(&mut wr, &ClientMessage::Test(req)).await.unwrap();
    }
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(3), rd.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "{stage}: the panicking task's connection was not closed");
    // Only queue positions may come first (the previous stage's slot can take a moment to free); nothing else.
    let mut at = 0;
    while at + 4 <= rest.len() {
        let len = u32::from_be_bytes(rest[at..at + 4].try_into().unwrap()) as usize;
        let body = &rest[at + 4..(at + 4 + len).min(rest.len())];
        let text = String::from_utf8_lossy(body);
        assert!(
            text.starts_with("{\"queued\""),
            "{stage}: the server answered {text} instead of panicking"
        );
        at += 4 + len;
    }
    assert_eq!(at, rest.len(), "{stage}: a partial frame {rest:?}");
}

/// A normal 1 s forward test; the whole run, queueing included, must finish in time.
async fn normal_test(addr: SocketAddr) {
    let mut i = ClientInput::new("127.0.0.1");
    i.port = addr.port();
    i.time = Some(1.0);
    i.interval = 0.5;
    let plan = i.plan().unwrap();
    let mut quiet = |_: Event<'_>| {};
    let o = tokio::time::timeout(Duration::from_secs(10), throughput::run(&plan, &mut quiet))
        .await
        .expect("the next client was served (a leaked slot would leave it queued)")
        .expect("test starts");
    assert!(o.complete(), "{:?}", o.error);
    let d = &o.directions()[0];
    assert!(d.received.bytes > 0 && d.received.bytes <= d.sent.bytes);
    assert!((0.9..1.6).contains(&d.received.seconds), "{}", d.received.seconds);
}

/// A UDP latency run: the UDP allow-list (whose mutex "locks" poisoned) still works.
async fn udp_latency(addr: SocketAddr) {
    let mut i = LatencyInput::new("127.0.0.1");
    i.port = addr.port();
    i.mode = LatencyMode::Udp;
    i.count = Some(20);
    i.interval = Some(0.005);
    let plan = i.plan().unwrap();
    let mut quiet = |_: Event<'_>| {};
    let o = tokio::time::timeout(Duration::from_secs(10), run_latency(&plan, &mut quiet))
        .await
        .expect("latency run finished")
        .expect("latency run starts");
    assert!(o.probe.error.is_none(), "{:?}", o.probe.error);
    assert_eq!(o.probe.received, 20, "every probe answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_connection_handler_takes_nothing_else_down() {
    record_panics();
    let srv = server().await;
    let addr = srv.addr;
    normal_test(addr).await;
    // After the hello; while holding the only test slot; while holding every shared mutex.
    for (n, stage) in ["hello", "slot", "locks"].into_iter().enumerate() {
        trigger(addr, stage).await;
        let fired = probes_fired();
        assert_eq!(fired.len(), n + 1, "the probe for {stage} did not fire: {fired:?}");
        assert!(fired[n].ends_with(stage), "{fired:?}");
        normal_test(addr).await;
        udp_latency(addr).await;
    }
}
