//! UDP data streams: paced senders, receivers that account every datagram, and the sink through which the
//! server's one UDP socket feeds a test's receiving streams.
//!
//! A UDP stream looks like a TCP one to [`super::drive`]: a byte counter, a thread, and a `Finished` message
//! when it ends. A sender ends when the clock or its quota says so, then sends end markers that tell the
//! receiver how many datagrams it sent. A receiver ends at the first end marker, or [`LINGER`] after its own
//! clock stopped the test if every marker was lost; its measured period closes at its last datagram.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedSender;

pub use super::stream::UdpPlan;
use super::stream::{Finished, Flags, Stream, StreamSpec, pin};
use super::udp_framing::Framing;
pub use super::udp_ledger::Meter;
use crate::platform::{self, RecvBatch};
use crate::protocol::{
    Cookie, DatagramKind, FLAG_END, FLAG_HELLO, HEADER_LEN, Header, MAX_DATAGRAM, TestRequest, data_tag, set_data_tag,
};

/// Receive buffer asked for on UDP receiving sockets when `-w` is not given: room for bursts (the kernel caps
/// it at net.core.rmem_max).
pub const RCVBUF: usize = 4 << 20;
/// How long a receiver waits for the sender's end marker after its own clock stopped the test.
pub const LINGER: Duration = Duration::from_secs(2);
/// When, after its last data datagram, a sender repeats its end marker (a full queue may drop the first).
const END_MARKERS: [Duration; 4] = [
    Duration::ZERO,
    Duration::from_millis(5),
    Duration::from_millis(20),
    Duration::from_millis(60),
];
/// How often a blocked receiver or a watcher looks at the flags.
const POLL: Duration = Duration::from_millis(10);
/// Receive slots of a client receiver with GRO on, each up to 64 KiB.
const GRO_SLOTS: usize = 8;
/// Longest single sleep of a paced sender, so a stop is seen promptly at low rates.
const MAX_NAP: Duration = Duration::from_millis(20);

/// A server-side UDP test: the meters of the streams the server receives, and the client addresses of the
/// streams it sends (learned from the client's hello datagrams). The server's UDP responder feeds it.
#[derive(Debug)]
pub struct Sink {
    meters: Vec<Option<Arc<Meter>>>,
    peers: Mutex<Vec<Option<SocketAddr>>>,
    learned: Notify,
}

impl Sink {
    /// A sink for the streams of `req`, as the server sees them.
    pub fn new(req: &TestRequest) -> Arc<Sink> {
        let n = req.connections();
        Arc::new(Sink {
            meters: (1..=n).map(|id| req.client_sends(id).then(|| Meter::new(id))).collect(),
            peers: Mutex::new(vec![None; n as usize]),
            learned: Notify::new(),
        })
    }

    fn peers(&self) -> std::sync::MutexGuard<'_, Vec<Option<SocketAddr>>> {
        self.peers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The meter of a stream the server receives.
    pub fn meter(&self, id: u32) -> Option<Arc<Meter>> {
        self.meters.get((id as usize).wrapping_sub(1))?.clone()
    }

    /// Where to send a stream the server sends, once its hello arrived.
    pub fn peer(&self, id: u32) -> Option<SocketAddr> {
        *self.peers().get((id as usize).wrapping_sub(1))?
    }

    /// Streams the server sends whose hello has not arrived yet.
    pub fn peers_missing(&self) -> usize {
        let peers = self.peers();
        self.meters
            .iter()
            .zip(peers.iter())
            .filter(|(m, p)| m.is_none() && p.is_none())
            .count()
    }

    /// Resolves when a hello taught the sink a new address.
    pub async fn learned(&self) {
        self.learned.notified().await
    }

    /// Routes one datagram of this test (cookie and source already checked) that arrived at `at`.
    pub fn deliver(&self, h: &Header, buf: &[u8], from: SocketAddr, at: Instant) {
        let (flags, id) = data_tag(buf);
        let idx = (id as usize).wrapping_sub(1);
        match self.meters.get(idx) {
            Some(Some(meter)) if flags & FLAG_HELLO == 0 => meter.receive(h, flags, buf.len(), at),
            Some(None) if flags & FLAG_HELLO != 0 => {
                let mut peers = self.peers();
                if peers[idx].is_none() {
                    peers[idx] = Some(from);
                    drop(peers);
                    self.learned.notify_one();
                }
            }
            _ => {}
        }
    }
}

/// Starts a UDP stream's thread; it reports on `done` when it ends.
pub fn spawn(
    plan: UdpPlan,
    spec: StreamSpec,
    flags: Arc<Flags>,
    done: UnboundedSender<Finished>,
) -> std::io::Result<Stream> {
    let meter = match &plan {
        UdpPlan::Receive { meter, .. } | UdpPlan::Fed { meter } | UdpPlan::Iperf3Receive { meter, .. } => meter.clone(),
        UdpPlan::Send { .. } | UdpPlan::Iperf3Send { .. } => Meter::new(spec.id),
    };
    let m = meter.clone();
    let thread = std::thread::Builder::new()
        .name(format!("udp-{}", spec.id))
        .spawn(move || {
            pin(spec.cpu);
            let saf_net = |cookie| Framing::SafNet { cookie, id: spec.id };
            let (at, error) = match plan {
                UdpPlan::Send { socket, to, cookie } => send_loop(&socket, to, saf_net(cookie), &spec, &flags, &m),
                UdpPlan::Receive { socket, cookie, .. } => receive_loop(&socket, saf_net(cookie), &spec, &flags, &m),
                UdpPlan::Fed { .. } => watch(&flags, &m),
                UdpPlan::Iperf3Send {
                    socket,
                    to,
                    counters_64bit,
                } => send_loop(&socket, to, Framing::Iperf3 { counters_64bit }, &spec, &flags, &m),
                UdpPlan::Iperf3Receive {
                    socket, counters_64bit, ..
                } => receive_loop(&socket, Framing::Iperf3 { counters_64bit }, &spec, &flags, &m),
            };
            let _ = done.send(Finished { id: spec.id, at, error });
        })?;
    Ok(Stream::udp(spec, meter, thread))
}

/// A receiver's end, if it has come: at its last datagram once the end marker arrived, or after [`LINGER`].
fn receiving_done(flags: &Flags, meter: &Meter, stop_seen: &mut Option<Instant>) -> Option<Instant> {
    let now = Instant::now();
    if flags.abort.load(Ordering::Relaxed) {
        return Some(now);
    }
    if meter.ended() {
        return Some(meter.last_arrival().unwrap_or(now));
    }
    if flags.stop_send.load(Ordering::Relaxed) {
        let since = *stop_seen.get_or_insert(now);
        let last = meter.last_arrival();
        // A peer without end markers (iperf3) has ended once it has been quiet for a while.
        let quiet = flags
            .quiet_end
            .is_some_and(|q| now.duration_since(last.map_or(since, |l| l.max(since))) >= q);
        if quiet || now.duration_since(since) >= LINGER {
            return Some(last.unwrap_or(now));
        }
    }
    None
}

/// A fed stream's thread: the responder does the receiving; this only notices the end.
fn watch(flags: &Flags, meter: &Meter) -> (Instant, Option<String>) {
    let mut stop_seen = None;
    loop {
        if let Some(at) = receiving_done(flags, meter, &mut stop_seen) {
            return (at, None);
        }
        std::thread::sleep(POLL);
    }
}

fn receive_loop(
    sock: &UdpSocket,
    framing: Framing,
    spec: &StreamSpec,
    flags: &Flags,
    meter: &Meter,
) -> (Instant, Option<String>) {
    if let Err(e) = sock.set_read_timeout(Some(POLL)) {
        return (Instant::now(), Some(e.to_string()));
    }
    // With GRO a slot holds a whole GSO batch (up to 64 KiB), so fewer slots do; without, one datagram each
    // (one byte more than it should be, so a longer one shows and is still counted by its header).
    let mut batch = if platform::enable_gro(sock) {
        RecvBatch::new(GRO_SLOTS, MAX_DATAGRAM + 1)
    } else {
        let slot = (spec.block_size + 1).clamp(HEADER_LEN + 1, MAX_DATAGRAM + 1);
        RecvBatch::new(platform::MAX_BATCH, slot)
    };
    let mut stop_seen = None;
    loop {
        match batch.recv(sock) {
            Ok(n) => {
                let at = Instant::now();
                for i in 0..n {
                    for d in batch.segments(i) {
                        if let Some((h, flags)) = framing.read(d) {
                            meter.receive(&h, flags, d.len(), at);
                        }
                    }
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            // An ICMP error for one of our hellos; the datagrams that matter still arrive.
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => {}
            Err(e) => return (Instant::now(), Some(format!("UDP receive: {e}"))),
        }
        if let Some(at) = receiving_done(flags, meter, &mut stop_seen) {
            return (at, None);
        }
    }
}

/// Why a send failed, in words a user can act on.
fn send_error(e: &std::io::Error, size: usize) -> String {
    match e.raw_os_error() {
        Some(libc::EMSGSIZE) => format!("a {size}-byte datagram does not fit the path MTU: {e}"),
        _ if e.kind() == ErrorKind::ConnectionRefused => {
            format!("the peer's UDP port refused datagrams (ICMP port unreachable; did the server stop?): {e}")
        }
        _ => format!("UDP send: {e}"),
    }
}

/// Sends datagrams on schedule: at each wake-up, every datagram due by now goes out in as few system calls as
/// the platform allows; between wake-ups the thread sleeps until the next one is due.
fn send_loop(
    sock: &UdpSocket,
    to: Option<SocketAddr>,
    framing: Framing,
    spec: &StreamSpec,
    flags: &Flags,
    meter: &Meter,
) -> (Instant, Option<String>) {
    platform::tighten_timer_slack();
    let _ = sock.set_write_timeout(Some(Duration::from_millis(500)));
    let size = spec.block_size.clamp(framing.header_len(), MAX_DATAGRAM);
    let mut gso = platform::gso_available();
    let mut limit = platform::batch_limit(size, gso);
    let mut buf = framing.template(size, platform::MAX_BATCH);
    let quota = spec.quota.map_or(u64::MAX, |q| q.div_ceil(size as u64));
    // Nanoseconds between datagrams at the target rate; None sends as fast as possible.
    let gap_ns = spec
        .pace_bps
        .filter(|&b| b > 0)
        .map(|bps| size as f64 * 8.0 * 1e9 / bps as f64);
    let (start, wall_start) = (Instant::now(), SystemTime::now());
    let mut seq: u64 = 0;
    let mut last_send = start;
    let mut error = None;
    while seq < quota && !flags.stop_send.load(Ordering::Relaxed) && !flags.abort.load(Ordering::Relaxed) {
        let now = Instant::now();
        let elapsed = now.duration_since(start).as_nanos() as f64;
        let due = match gap_ns {
            Some(g) => (elapsed / g) as u64 + 1,
            None => u64::MAX,
        };
        if due <= seq {
            let next = start + Duration::from_nanos((seq as f64 * gap_ns.unwrap_or(0.0)) as u64);
            std::thread::sleep(next.saturating_duration_since(now).min(MAX_NAP));
            continue;
        }
        let n = (due - seq).min(limit as u64).min(quota - seq) as usize;
        let ns = elapsed as u64;
        for (i, slot) in buf.chunks_mut(size).take(n).enumerate() {
            framing.stamp(slot, seq + i as u64, ns, wall_start);
        }
        match platform::send_segments(sock, &buf[..n * size], size, to, gso) {
            Ok(k) => {
                seq += k as u64;
                meter.count_sent(k as u64, (k * size) as u64);
                last_send = Instant::now();
            }
            Err(e) if gso && e.kind() == ErrorKind::Unsupported => {
                gso = false;
                limit = platform::batch_limit(size, false);
            }
            // A full device queue or socket buffer: the datagram was not sent; try again shortly.
            Err(e)
                if e.raw_os_error() == Some(libc::ENOBUFS)
                    || matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) =>
            {
                std::thread::sleep(Duration::from_micros(50));
            }
            Err(e) => {
                error = Some(send_error(&e, size));
                break;
            }
        }
    }
    if let Framing::SafNet { cookie, id } = framing {
        send_end_markers(sock, to, cookie, id, seq, flags);
    }
    (last_send, error)
}

/// Tells the receiver how many data datagrams this stream sent, a few times over in case some are dropped.
fn send_end_markers(sock: &UdpSocket, to: Option<SocketAddr>, cookie: Cookie, id: u32, sent: u64, flags: &Flags) {
    let mut end = [0u8; HEADER_LEN];
    Header {
        kind: DatagramKind::Data,
        cookie,
        seq: sent,
        sent_ns: 0,
    }
    .write(&mut end);
    set_data_tag(&mut end, FLAG_END, id);
    let t0 = Instant::now();
    for at in END_MARKERS {
        if let Some(wait) = (t0 + at).checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let _ = match to {
            Some(a) => sock.send_to(&end, a),
            None => sock.send(&end),
        };
        if flags.abort.load(Ordering::Relaxed) {
            return;
        }
    }
}

/// The hello a client sends from a receiving stream's socket, so the server learns where to send that stream.
pub fn hello(cookie: Cookie, id: u32) -> [u8; HEADER_LEN] {
    let mut buf = [0u8; HEADER_LEN];
    Header {
        kind: DatagramKind::Data,
        cookie,
        seq: 0,
        sent_ns: 0,
    }
    .write(&mut buf);
    set_data_tag(&mut buf, FLAG_HELLO, id);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Direction, Protocol, StopAfter, stamp};

    fn template(cookie: Cookie, id: u32, size: usize, count: usize) -> Vec<u8> {
        Framing::SafNet { cookie, id }.template(size, count)
    }
    use tokio::sync::mpsc::unbounded_channel;

    fn spec(id: u32, sender: bool, bps: Option<u64>, quota: Option<u64>) -> StreamSpec {
        StreamSpec {
            id,
            sender,
            quota,
            block_size: 1000,
            pace_bps: bps,
            idle_timeout: None,
            cpu: None,
            discard: false,
            fixed_window: false,
        }
    }

    #[test]
    fn sender_and_receiver_agree_on_a_clean_loopback_run() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.connect(rx.local_addr().unwrap()).unwrap();
        rx.connect(tx.local_addr().unwrap()).unwrap();
        let cookie = Cookie([5; 16]);
        let flags = Arc::new(Flags::default());
        let (done_tx, mut done_rx) = unbounded_channel();
        let meter = Meter::new(1);
        let recv = spawn(
            UdpPlan::Receive {
                socket: rx,
                cookie,
                meter: meter.clone(),
            },
            spec(1, false, None, None),
            flags.clone(),
            done_tx.clone(),
        )
        .unwrap();
        // 500 datagrams at 40 Mbit/s: 100 ms.
        let send = spawn(
            UdpPlan::Send {
                socket: tx,
                to: None,
                cookie,
            },
            spec(1, true, Some(40_000_000), Some(500_000)),
            flags,
            done_tx,
        )
        .unwrap();
        let a = done_rx.blocking_recv().unwrap();
        let b = done_rx.blocking_recv().unwrap();
        assert!(a.error.is_none() && b.error.is_none(), "{a:?} {b:?}");
        let sent = send.udp_meter().unwrap().counts(true);
        let got = recv.udp_meter().unwrap().counts(false);
        assert_eq!(sent.packets, 500);
        assert_eq!((got.packets, got.received, got.lost), (500, 500, 0), "{got:?}");
        assert!(meter.ended());
        assert_eq!(recv.counter.load(Ordering::Relaxed), 500_000);
        assert_eq!(send.counter.load(Ordering::Relaxed), 500_000);
    }

    #[test]
    fn sink_routes_data_and_learns_hello_addresses() {
        let req = TestRequest {
            direction: Direction::Bidir,
            streams: 1,
            stop: StopAfter::Seconds(1.0),
            omit_seconds: 0.0,
            interval_seconds: 1.0,
            block_size: 100,
            window: None,
            mss: None,
            congestion: None,
            fq_rate: None,
            bitrate: None,
            udp_echo: false,
            protocol: Protocol::Udp,
            server_cpu: None,
            skip_rx_copy: false,
        };
        let sink = Sink::new(&req);
        assert_eq!(sink.peers_missing(), 1);
        assert!(sink.meter(1).is_some() && sink.meter(2).is_none());
        let cookie = Cookie([1; 16]);
        let from: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let mut data = template(cookie, 1, 100, 1);
        stamp(&mut data, 0, 0);
        let h = Header::read(&data).unwrap();
        sink.deliver(&h, &data, from, Instant::now());
        assert_eq!(sink.meter(1).unwrap().counts(false).received, 1);
        let hi = hello(cookie, 2);
        sink.deliver(&Header::read(&hi).unwrap(), &hi, from, Instant::now());
        assert_eq!(sink.peer(2), Some(from));
        assert_eq!(sink.peers_missing(), 0);
        // Data for a stream the server sends, and hellos for one it receives, are ignored.
        let mut stray = template(cookie, 2, 100, 1);
        stamp(&mut stray, 0, 0);
        sink.deliver(&h, &stray, from, Instant::now());
        let hi1 = hello(cookie, 1);
        sink.deliver(&Header::read(&hi1).unwrap(), &hi1, from, Instant::now());
        assert_eq!(sink.peer(1), None);
        assert_eq!(sink.meter(1).unwrap().counts(false).received, 1);
    }
}
