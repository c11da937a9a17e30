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
    StreamSpec {
        id,
        sender,
        quota: None,
        block_size: 64 * 1024,
        pace_bps: None,
        idle_timeout: None,
        cpu: None,
        discard: false,
        fixed_window: false,
    }
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
    let timing = Timing {
        omit: Duration::ZERO,
        duration: None,
        interval: Duration::from_secs(1),
        hard_limit: Some(Duration::from_secs(10)),
        stall_after: None,
        quiet_end: None,
    };
    let finish = tokio::time::sleep(Duration::from_millis(300));
    let run: SideRun<String> = drive_until(local, timing, |_| {}, std::future::pending(), finish).await;
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
