//! Server limits and shutdown: idle connections cannot lock a client out, stream memory is capped,
//! a silent sender is cut off, and a shutting-down server tells its client.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use saf_net::client::{self, Event};
use saf_net::config::{ClientInput, ServerConfig};
use saf_net::kinds::throughput;
use saf_net::protocol::{ClientMessage, ServerMessage, StopAfter, TestRequest, encode, read_message, write_message};
use tokio::io::AsyncWriteExt;

fn input(addr: SocketAddr, secs: f64) -> ClientInput {
    let mut i = ClientInput::new("127.0.0.1");
    i.port = addr.port();
    i.time = Some(secs);
    i
}

async fn run(i: ClientInput) -> Result<throughput::Outcome, client::ClientError> {
    let plan = i.plan().unwrap();
    let mut quiet = |_: Event<'_>| {};
    throughput::run(&plan, &mut quiet).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_idle_connections_do_not_lock_out_a_client() {
    let config = ServerConfig {
        handshake_timeout: Duration::from_secs(5),
        ..ServerConfig::default()
    };
    let srv = common::server(config).await;
    let addr = srv.addr;
    let mut idle = Vec::new();
    for _ in 0..100 {
        idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    let t = Instant::now();
    let o = run(input(addr, 0.5)).await.expect("the legitimate client gets in");
    assert!(o.complete(), "{:?}", o.error);
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "not delayed by idle connections: {:?}",
        t.elapsed()
    );
    drop(idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_memory_is_capped() {
    let config = ServerConfig {
        max_test_memory: 4 << 20,
        ..ServerConfig::default()
    };
    let srv = common::server(config).await;
    let addr = srv.addr;
    let mut i = input(addr, 0.3);
    // TCP holds (min(streams, CPUs) + 1) blocks: at least 2 × 4 MiB here.
    i.parallel = 8;
    i.length = Some(4 << 20);
    let err = run(i).await.unwrap_err().to_string();
    assert!(err.contains("--max-test-memory"), "{err}");
    assert!(
        run(input(addr, 0.3)).await.unwrap().complete(),
        "a modest test still runs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_that_goes_silent_is_cut_off() {
    let config = ServerConfig {
        idle_timeout: Duration::from_secs(1),
        ..ServerConfig::default()
    };
    let srv = common::server(config).await;
    let addr = srv.addr;
    let t = Duration::from_secs(2);
    let mut ctl = tokio::net::TcpStream::connect(addr).await.unwrap();
    let hello = ClientMessage::Hello {
        protocol: saf_net::protocol::PROTOCOL_VERSION,
        software: "t".into(),
        nonce: None,
    };
    write_message(&mut ctl, &hello).await.unwrap();
    let _welcome: ServerMessage = read_message(&mut ctl, 65_536, t).await.unwrap();
    let req = TestRequest {
        direction: saf_net::protocol::Direction::Forward,
        streams: 1,
        stop: StopAfter::Seconds(30.0),
        omit_seconds: 0.0,
        interval_seconds: 1.0,
        block_size: 131_072,
        window: None,
        mss: None,
        congestion: None,
        fq_rate: None,
        bitrate: None,
        udp_echo: false,
        protocol: Default::default(),
        server_cpu: None,
        skip_rx_copy: false,
    };
    write_message(&mut ctl, &ClientMessage::Test(req)).await.unwrap();
    let ServerMessage::Accepted { cookie, .. } = read_message(&mut ctl, 65_536, t).await.unwrap() else {
        panic!("expected acceptance")
    };
    let mut data = tokio::net::TcpStream::connect(addr).await.unwrap();
    data.write_all(&encode(&ClientMessage::Data { cookie, stream: 1 }))
        .await
        .unwrap();
    let _start: ServerMessage = read_message(&mut ctl, 65_536, t).await.unwrap();
    data.write_all(&[0u8; 1000]).await.unwrap();
    // Now silence. The server must end the test on its idle timeout, long before the 30 s.
    let began = Instant::now();
    let mut failed = None;
    while began.elapsed() < Duration::from_secs(8) {
        match read_message::<ServerMessage, _>(&mut ctl, 65_536, Duration::from_secs(8)).await {
            Ok(ServerMessage::Results(r)) => {
                failed = r.streams[0].error.clone();
                break;
            }
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    let why = failed.expect("the server reported the silent stream");
    assert!(why.contains("no data for 1 s"), "{why}");
    assert!(began.elapsed() < Duration::from_secs(4), "{:?}", began.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_tells_the_client_and_ends_cleanly() {
    let srv = common::server(ServerConfig::default()).await;
    let addr = srv.addr;
    let test = tokio::spawn(run(input(addr, 10.0)));
    tokio::time::sleep(Duration::from_millis(800)).await;
    let t = Instant::now();
    let handle = srv.shutdown();
    let served = tokio::time::timeout(Duration::from_secs(6), handle)
        .await
        .expect("server stops in time");
    assert!(served.unwrap().is_ok(), "serve returns Ok on shutdown");
    let o = test.await.unwrap().expect("the test had started");
    assert!(!o.complete());
    let err = o.error.unwrap_or_default();
    assert!(err.contains("shutting down"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(6));
}
