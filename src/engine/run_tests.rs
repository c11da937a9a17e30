//! `drive` and `drive_until` against real sockets on loopback.

use super::*;
use crate::engine::StreamSpec;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    (c, l.accept().unwrap().0)
}

fn spec(id: u32, sender: bool) -> StreamSpec {
    StreamSpec::plain(id, sender)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_ends_the_run_ends_it_cleanly_at_its_word() {
    // The peer sends to our receiver and reads our sender, and never closes either connection.
    let (mut peer_tx, ours_rx) = pair();
    let (mut peer_rx, ours_tx) = pair();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = stop.clone();
    let peer = std::thread::spawn(move || {
        peer_rx.set_nonblocking(true).unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        while !s.load(Ordering::Relaxed) {
            let _ = peer_tx.write(&buf[..16 * 1024]);
            let _ = peer_rx.read(&mut buf);
        }
    });
    let mut local = LocalStreams::default();
    local.add(ours_rx, spec(1, false));
    local.add(ours_tx, spec(2, true));
    let finish = tokio::time::sleep(Duration::from_millis(300));
    let run: SideRun<String> = drive_until(local, timing(10), |_| {}, std::future::pending(), finish).await;
    stop.store(true, Ordering::Relaxed);
    peer.join().unwrap();
    assert!(
        run.aborted.is_none() && run.results.complete,
        "{:?} {:?}",
        run.aborted,
        run.results.streams
    );
    for s in &run.results.streams {
        assert!(s.error.is_none() && s.bytes > 0, "{s:?}");
        // Nothing counts past the peer's word, although the streams were stopped 250 ms later.
        assert!((0.25..0.45).contains(&s.seconds), "{s:?}");
    }
}

fn timing(hard: u64) -> Timing {
    Timing {
        omit: Duration::ZERO,
        duration: None,
        interval: Duration::from_secs(1),
        hard_limit: Some(Duration::from_secs(hard)),
        stall_after: None,
        quiet_end: None,
    }
}

/// Many more streams than data workers, both ways at once: every byte is counted once, at both ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_streams_both_ways_count_every_byte_exactly() {
    const N: u32 = 40;
    let mut local = LocalStreams::default();
    let mut peers = Vec::new();
    for id in 0..N {
        let (ours, mut theirs) = pair();
        let sender = id % 2 == 0;
        // Odd sizes, none a multiple of the block, so partial writes and short reads both happen.
        let bytes = 300_007 + u64::from(id) * 7_919;
        let mut s = spec(id, sender);
        s.block_size = 48 * 1024 + id as usize;
        if sender {
            s.quota = Some(bytes);
            peers.push(std::thread::spawn(move || {
                let mut got = 0u64;
                let mut buf = vec![0u8; 100_000];
                loop {
                    match theirs.read(&mut buf).unwrap() {
                        0 => return got,
                        k => got += k as u64,
                    }
                }
            }));
        } else {
            peers.push(std::thread::spawn(move || {
                let data = vec![7u8; bytes as usize];
                theirs.write_all(&data).unwrap();
                bytes
            }));
        }
        local.add(ours, s);
    }
    let run: SideRun<String> = drive(local, timing(30), |_| {}, std::future::pending()).await;
    let peer_counts: Vec<u64> = peers.into_iter().map(|p| p.join().unwrap()).collect();
    assert!(run.aborted.is_none() && run.results.complete, "{:?}", run.aborted);
    assert_eq!(run.results.streams.len(), N as usize);
    for s in &run.results.streams {
        let expected = 300_007 + u64::from(s.stream) * 7_919;
        assert!(s.error.is_none(), "{s:?}");
        assert_eq!(
            s.bytes, expected,
            "stream {} counted {} of {expected}",
            s.stream, s.bytes
        );
        assert_eq!(
            peer_counts[s.stream as usize], expected,
            "the peer of stream {}",
            s.stream
        );
    }
}

/// A stream pinned to a CPU (-A) runs on a thread of its own, and moves its bytes exactly too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_stream_moves_its_quota_exactly() {
    let (ours, mut theirs) = pair();
    let mut s = spec(0, true);
    s.quota = Some(1_234_567);
    s.cpu = Some(0);
    let peer = std::thread::spawn(move || {
        let mut buf = Vec::new();
        theirs.read_to_end(&mut buf).unwrap();
        buf
    });
    let mut local = LocalStreams::default();
    local.add(ours, s);
    let run: SideRun<String> = drive(local, timing(10), |_| {}, std::future::pending()).await;
    let got = peer.join().unwrap();
    assert!(run.results.complete, "{:?}", run.aborted);
    assert_eq!(run.results.streams[0].bytes, 1_234_567);
    assert_eq!(got.len(), 1_234_567);
}

#[test]
fn senders_yield_only_when_more_than_two_per_cpu() {
    assert!(!many_senders(0, 2));
    assert!(!many_senders(4, 2), "4 streams on 2 CPUs lost with yielding senders");
    assert!(many_senders(5, 2));
    assert!(many_senders(128, 16));
    assert!(!many_senders(32, 16));
}
