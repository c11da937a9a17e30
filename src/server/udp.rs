//! The UDP responder: echoes saf-net datagrams whose cookie belongs to a running test and whose source is its
//! client, and hands the data datagrams of a UDP throughput test to that test's sink.

use std::collections::HashMap;
use std::net::{IpAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::echo::Bucket;
use super::iperf3::Flows;
use crate::engine::udp::Sink;
use crate::platform::{self, MAX_BATCH, RecvBatch};
use crate::protocol::{Cookie, DatagramKind, HEADER_LEN, Header, MAX_DATAGRAM};

/// The client a cookie belongs to, and the sink of its UDP throughput test, if it runs one.
#[derive(Debug, Clone)]
struct Entry {
    peer: IpAddr,
    sink: Option<Arc<Sink>>,
    /// A slot-free echo session's rate limit: only echo datagrams, only within it.
    echo: Option<Bucket>,
}

/// Cookies whose datagrams (and connect probes) the server answers, with the client each belongs to.
#[derive(Debug, Default, Clone)]
pub struct Allowed {
    inner: Arc<Mutex<HashMap<Cookie, Entry>>>,
    /// Bumped on every change, so the responder knows when its cached sink may be stale.
    generation: Arc<AtomicU64>,
    /// The responder's socket, for UDP tests that send from the test port (`-R`, `--bidir`).
    socket: Arc<OnceLock<UdpSocket>>,
    /// iperf3 clients' UDP streams, which carry no cookie.
    iperf3: Flows,
}

/// Removes the cookie from the allow-list when the test ends.
pub struct Allowance {
    allowed: Allowed,
    cookie: Cookie,
}

impl Drop for Allowance {
    fn drop(&mut self) {
        self.allowed.lock().remove(&self.cookie);
        self.allowed.generation.fetch_add(1, Ordering::Relaxed);
    }
}

impl Allowed {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Cookie, Entry>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` with the map locked (the panic probe poisons the lock this way).
    #[cfg(feature = "panic-probe")]
    pub(crate) fn hold<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.lock();
        f()
    }

    fn insert(&self, cookie: Cookie, peer: IpAddr, sink: Option<Arc<Sink>>, echo: Option<Bucket>) -> Allowance {
        let peer = peer.to_canonical();
        self.lock().insert(cookie, Entry { peer, sink, echo });
        self.generation.fetch_add(1, Ordering::Relaxed);
        Allowance {
            allowed: self.clone(),
            cookie,
        }
    }

    pub fn allow(&self, cookie: Cookie, peer: IpAddr) -> Allowance {
        self.insert(cookie, peer, None, None)
    }

    /// Allows a UDP throughput test: its data datagrams from `peer` go to `sink`.
    pub fn allow_data(&self, cookie: Cookie, peer: IpAddr, sink: Arc<Sink>) -> Allowance {
        self.insert(cookie, peer, Some(sink), None)
    }

    /// Allows a slot-free echo session: echo datagrams only (the answer is the request itself, never larger),
    /// from `peer` only, at most about `rate` a second.
    pub(super) fn allow_echo(&self, cookie: Cookie, peer: IpAddr, rate: f64) -> Allowance {
        self.insert(cookie, peer, None, Some(Bucket::new(rate, Instant::now())))
    }

    /// An echo session's counts so far: answered, and dropped over its rate.
    pub(super) fn echo_counts(&self, cookie: &Cookie) -> Option<(u64, u64)> {
        let map = self.lock();
        let b = map.get(cookie)?.echo.as_ref()?;
        Some((b.answered, b.dropped))
    }

    /// Whether to answer a `kind` datagram with this cookie from `from` arriving at `at`: it must come from the
    /// cookie's client, and an echo session's only as echo datagrams within its rate.
    fn answers(&self, cookie: &Cookie, from: IpAddr, kind: DatagramKind, at: Instant) -> bool {
        let mut map = self.lock();
        let Some(e) = map.get_mut(cookie).filter(|e| e.peer == from.to_canonical()) else {
            return false;
        };
        match &mut e.echo {
            None => true,
            Some(bucket) => kind == DatagramKind::Echo && bucket.take(at),
        }
    }

    /// Whether this cookie belongs to a running test of the client at `from`.
    pub fn permits(&self, cookie: &Cookie, from: IpAddr) -> bool {
        self.lock().get(cookie).is_some_and(|e| e.peer == from.to_canonical())
    }

    /// The iperf3 UDP tests the responders feed.
    pub(super) fn iperf3(&self) -> &Flows {
        &self.iperf3
    }

    /// A handle on the responder's socket (the test port), once the responder runs.
    pub fn socket(&self) -> Option<UdpSocket> {
        self.socket.get()?.try_clone().ok()
    }

    /// The sink of a running UDP test of the client at `from`.
    fn sink(&self, cookie: &Cookie, from: IpAddr) -> Option<Arc<Sink>> {
        self.lock()
            .get(cookie)
            .filter(|e| e.peer == from.to_canonical())
            .and_then(|e| e.sink.clone())
    }
}

/// The responder's memory of the last test it fed, so a burst of one test's datagrams costs one lookup.
#[derive(Default)]
struct LastSink {
    generation: u64,
    key: Option<(Cookie, IpAddr)>,
    sink: Option<Arc<Sink>>,
}

impl LastSink {
    fn get(&mut self, allowed: &Allowed, cookie: &Cookie, from: IpAddr) -> Option<Arc<Sink>> {
        let generation = allowed.generation.load(Ordering::Relaxed);
        if generation != self.generation || self.key != Some((*cookie, from)) {
            self.generation = generation;
            self.key = Some((*cookie, from));
            self.sink = allowed.sink(cookie, from);
        }
        self.sink.clone()
    }
}

/// Echoes permitted datagrams and feeds permitted data datagrams to their test's sink, and iperf3 clients'
/// setups and datagrams to theirs, until `stop` is set; everything else is dropped unanswered. It receives in
/// batches (recvmmsg on Linux) to keep up with UDP tests.
pub fn spawn_responder(sock: UdpSocket, allowed: Allowed, stop: Arc<AtomicBool>) -> std::io::Result<JoinHandle<()>> {
    sock.set_read_timeout(Some(Duration::from_millis(200)))?;
    let _ = allowed.socket.set(sock.try_clone()?);
    // A UDP test's GSO batches then arrive whole, one receive for up to 64 KiB of datagrams (Linux).
    platform::enable_gro(&sock);
    std::thread::Builder::new().name("udp-responder".into()).spawn(move || {
        let mut batch = RecvBatch::new(MAX_BATCH, MAX_DATAGRAM + 1);
        let mut fill = vec![0u8; MAX_DATAGRAM];
        let mut last = LastSink::default();
        while !stop.load(Ordering::Relaxed) {
            if batch.recv(&sock).is_err() {
                continue;
            }
            let at = Instant::now();
            for i in 0..batch.len() {
                // Replies keep the source's own form: a dual-stack socket sends to IPv4-mapped addresses.
                let Some(from) = batch.source(i) else { continue };
                for buf in batch.segments(i) {
                    let Some(h) = Header::read(buf) else {
                        allowed.iperf3.datagram(buf, from, at, &sock);
                        continue;
                    };
                    if h.kind == DatagramKind::Data {
                        if let Some(sink) = last.get(&allowed, &h.cookie, from.ip()) {
                            sink.deliver(&h, buf, from, at);
                        }
                        continue;
                    }
                    if !allowed.answers(&h.cookie, from.ip(), h.kind, at) {
                        continue;
                    }
                    // Send errors (EMSGSIZE past the path MTU with don't-fragment) mean no answer: that is the
                    // measurement.
                    let _ = match h.kind {
                        DatagramKind::Echo => sock.send_to(buf, from),
                        DatagramKind::Ack => sock.send_to(&buf[..HEADER_LEN], from),
                        DatagramKind::Fill => {
                            let want = buf
                                .get(HEADER_LEN..HEADER_LEN + 4)
                                .map_or(0, |b| u32::from_be_bytes(b.try_into().unwrap_or_default()));
                            let len = (want as usize).clamp(HEADER_LEN, MAX_DATAGRAM);
                            // The rest of `fill` stays zero: only headers are ever copied into it.
                            fill[..HEADER_LEN].copy_from_slice(&buf[..HEADER_LEN]);
                            sock.send_to(&fill[..len], from)
                        }
                        DatagramKind::Data => Ok(0),
                    };
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_only_permitted_cookies() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let allowed = Allowed::default();
        let stop = Arc::new(AtomicBool::new(false));
        let t = spawn_responder(server, allowed.clone(), stop.clone()).unwrap();
        let good = Cookie([1; 16]);
        let _a = allowed.allow(good, "127.0.0.1".parse().unwrap());
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let mut buf = [0u8; HEADER_LEN];
        let mut rx = [0u8; 128];
        Header {
            kind: DatagramKind::Echo,
            cookie: Cookie([2; 16]),
            seq: 1,
            sent_ns: 0,
        }
        .write(&mut buf);
        client.send_to(&buf, addr).unwrap();
        assert!(client.recv(&mut rx).is_err(), "a stranger's cookie gets no answer");
        client
            .send_to(b"not a saf-net datagram at all, long enough to parse", addr)
            .unwrap();
        assert!(client.recv(&mut rx).is_err(), "garbage gets no answer");
        Header {
            kind: DatagramKind::Echo,
            cookie: good,
            seq: 7,
            sent_ns: 0,
        }
        .write(&mut buf);
        client.send_to(&buf, addr).unwrap();
        let n = client.recv(&mut rx).unwrap();
        assert_eq!(Header::read(&rx[..n]).unwrap().seq, 7);
        assert!(
            !allowed.permits(&good, "10.0.0.1".parse().unwrap()),
            "bound to the control peer"
        );
        stop.store(true, Ordering::Relaxed);
        t.join().unwrap();
    }
}
