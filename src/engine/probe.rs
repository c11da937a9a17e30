//! Latency probes on the client: UDP echo, TCP ping-pong and TCP connect, each on its own blocking thread.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::platform;
use crate::protocol::{ClientMessage, Cookie, DatagramKind, HEADER_LEN, Header, encode};
use crate::stats::Recorder;

/// A UDP socket connected to the server with don't-fragment set, so oversized probes fail loudly; it leaves
/// from `bind` when given (-B), else from the address the route picks.
pub fn socket(server: SocketAddr, bind: Option<std::net::IpAddr>) -> std::io::Result<UdpSocket> {
    let any: std::net::IpAddr = if server.is_ipv6() {
        std::net::Ipv6Addr::UNSPECIFIED.into()
    } else {
        std::net::Ipv4Addr::UNSPECIFIED.into()
    };
    let sock = UdpSocket::bind(SocketAddr::new(bind.unwrap_or(any), 0))?;
    sock.connect(server)?;
    platform::set_dont_fragment(&sock, server.is_ipv6())?;
    Ok(sock)
}

/// How many probes, how often, how big, and how long to wait for each.
#[derive(Debug, Clone, Copy)]
pub struct ProbePlan {
    pub count: Option<u64>,
    pub duration: Option<Duration>,
    /// Time between scheduled sends; zero sends the next probe as soon as the last is answered.
    pub interval: Duration,
    pub size: usize,
    pub timeout: Duration,
    /// How long after each probe's send the receiver spins for the answer instead of sleeping until woken
    /// (zero: never). It saves the wake-up at the cost of a busy CPU meanwhile.
    pub busy_poll: Duration,
}

impl ProbePlan {
    fn more(&self, sent: u64, start: Instant) -> bool {
        self.count.is_none_or(|c| sent < c) && self.duration.is_none_or(|d| start.elapsed() < d)
    }
}

/// What a probe run saw.
#[derive(Debug, Clone, Default)]
pub struct ProbeOutcome {
    pub sent: u64,
    pub received: u64,
    /// Probes with no answer within the timeout (answers after it count here too).
    pub lost: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    /// RTT from each probe's actual send time.
    pub rtt: Recorder,
    /// RTT from each probe's scheduled send time (fixed rate only), so a stalled sender cannot hide slow answers.
    pub rtt_from_schedule: Option<Recorder>,
    pub elapsed: Duration,
    /// Why the run stopped early, if it did.
    pub error: Option<String>,
}

impl ProbeOutcome {
    /// Probes per second actually sent.
    pub fn achieved_rate(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 { self.sent as f64 / s } else { 0.0 }
    }
}

fn schedule(plan: &ProbePlan) -> Option<Recorder> {
    (!plan.interval.is_zero()).then(Recorder::default)
}

/// Per-sequence bookkeeping for datagram probes: send times, answers, duplicates, reordering.
struct Ledger {
    start: Instant,
    sent_at: Vec<Instant>,
    answered: Vec<bool>,
    highest: Option<u64>,
}

impl Ledger {
    fn on_answer(&mut self, seq: u64, now: Instant, plan: &ProbePlan, out: &mut ProbeOutcome) {
        let Some(&sent) = self.sent_at.get(seq as usize) else {
            return;
        };
        if self.answered[seq as usize] {
            out.duplicates += 1;
            return;
        }
        self.answered[seq as usize] = true;
        if self.highest.is_some_and(|h| seq < h) {
            out.out_of_order += 1;
        }
        self.highest = Some(self.highest.map_or(seq, |h| h.max(seq)));
        let rtt = now - sent;
        if rtt > plan.timeout {
            return;
        }
        out.received += 1;
        out.rtt.record(rtt.as_nanos() as u64);
        if let Some(s) = out.rtt_from_schedule.as_mut() {
            let due = self.start + plan.interval * seq as u32;
            s.record((now - due.min(sent)).as_nanos() as u64);
        }
    }
}

/// Sends UDP echo probes on a connected socket and collects the answers.
///
/// Back to back, one thread sends and waits for each answer. At a fixed rate, a sender thread keeps the
/// schedule with high-resolution sleeps while this thread blocks in `recv`, so answers are timestamped the
/// moment they arrive (socket receive timeouts tick in jiffies and would blur both).
pub fn udp(sock: &UdpSocket, cookie: Cookie, plan: &ProbePlan, stop: &AtomicBool) -> ProbeOutcome {
    let mut out = ProbeOutcome {
        rtt_from_schedule: schedule(plan),
        ..ProbeOutcome::default()
    };
    let start = Instant::now();
    let probe = UdpProbe {
        sock,
        cookie,
        plan,
        start,
        size: plan.size.max(HEADER_LEN),
        ledger: Mutex::new(Ledger {
            start,
            sent_at: Vec::new(),
            answered: Vec::new(),
            highest: None,
        }),
        sending: AtomicBool::new(true),
        failed: AtomicBool::new(false),
        send_error: Mutex::new(None),
    };
    // One buffer and one fixed receive timeout for the whole run: no per-probe allocation or setsockopt.
    let mut rx = vec![0u8; 65_536];
    let _ = sock.set_read_timeout(Some(Duration::from_millis(20)));
    if plan.interval.is_zero() {
        probe.back_to_back(&mut rx, &mut out, stop);
    } else {
        probe.at_rate(&mut rx, &mut out, stop);
    }
    if let Some(e) = probe.send_error.lock().unwrap_or_else(|p| p.into_inner()).take() {
        out.error.get_or_insert(e);
    }
    // Give the last probes their full timeout.
    let last = probe.ledger().sent_at.last().copied();
    if let Some(last) = last
        && out.error.is_none()
    {
        let all = |l: &Ledger| l.answered.iter().all(|a| *a);
        out.error = probe.receive(&mut rx, &mut out, &all, Some(last + plan.timeout));
    }
    out.lost = out.sent - out.received;
    out.elapsed = start.elapsed();
    out
}

/// One UDP probe run: what the sender and the receiver share.
struct UdpProbe<'a> {
    sock: &'a UdpSocket,
    cookie: Cookie,
    plan: &'a ProbePlan,
    start: Instant,
    /// Bytes per probe.
    size: usize,
    ledger: Mutex<Ledger>,
    /// The sender thread is still sending (fixed rate).
    sending: AtomicBool,
    /// The receiver failed: the sender stops.
    failed: AtomicBool,
    send_error: Mutex<Option<String>>,
}

impl UdpProbe<'_> {
    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends probe `seq` from `tx`; false when sending failed (the error is kept).
    fn send_one(&self, tx: &mut [u8], seq: u64) -> bool {
        let now = Instant::now();
        Header {
            kind: DatagramKind::Echo,
            cookie: self.cookie,
            seq,
            sent_ns: now.duration_since(self.start).as_nanos() as u64,
        }
        .write(tx);
        {
            let mut l = self.ledger();
            l.sent_at.push(now);
            l.answered.push(false);
        }
        match self.sock.send(tx) {
            Ok(_) => true,
            Err(e) => {
                let size = self.size;
                *self.send_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(match e.raw_os_error() {
                    Some(libc::EMSGSIZE) => format!("a {size}-byte probe does not fit the path MTU: {e}"),
                    _ => format!("UDP probe send: {e}"),
                });
                false
            }
        }
    }

    /// Receives answers until `done` says so or `deadline` passes; returns a receive error, if any.
    fn receive(
        &self,
        rx: &mut [u8],
        out: &mut ProbeOutcome,
        done: &dyn Fn(&Ledger) -> bool,
        deadline: Option<Instant>,
    ) -> Option<String> {
        loop {
            // One look at the ledger per turn: whether we are done, and when the last probe left.
            let last_send = {
                let ledger = self.ledger();
                if done(&ledger) {
                    return None;
                }
                ledger.sent_at.last().copied()
            };
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            match self.recv_once(rx, last_send) {
                Ok(n) => {
                    let at = Instant::now();
                    if let Some(h) = Header::read(&rx[..n]).filter(|h| h.cookie == self.cookie) {
                        self.ledger().on_answer(h.seq, at, self.plan, out);
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                // ICMP port unreachable surfaces here: nothing listens for UDP on the server.
                Err(e) => return Some(format!("UDP probe: {e}")),
            }
        }
    }

    /// One receive: without sleeping while a probe's busy-poll window is open; outside it, sleeping until data
    /// comes, but at a fixed rate only until the next window opens (`WouldBlock` then).
    fn recv_once(&self, rx: &mut [u8], last_send: Option<Instant>) -> std::io::Result<usize> {
        let window = self.plan.busy_poll;
        if window.is_zero() {
            return self.sock.recv(rx);
        }
        let now = Instant::now();
        let (opened, next) = self.window_around(now, last_send.unwrap_or(self.start));
        if now < opened + window {
            return platform::recv_nowait(self.sock, rx);
        }
        match next {
            Some(next) if !platform::wait_readable(self.sock, next.saturating_duration_since(now))? => {
                Err(ErrorKind::WouldBlock.into())
            }
            _ => self.sock.recv(rx),
        }
    }

    /// When the latest busy-poll window opened (the last send; at a fixed rate, not before the last scheduled
    /// send) and, at a fixed rate, when the next one opens.
    fn window_around(&self, now: Instant, last_send: Instant) -> (Instant, Option<Instant>) {
        let interval = self.plan.interval;
        if interval.is_zero() {
            return (last_send, None);
        }
        // The sender wakes a little after each scheduled time: the window opens at whichever came later.
        let slot = (now.saturating_duration_since(self.start).as_nanos() / interval.as_nanos()) as u32;
        let scheduled = self.start + interval * slot;
        (scheduled.max(last_send), Some(scheduled + interval))
    }

    /// Each probe as soon as the last is answered (or timed out).
    fn back_to_back(&self, rx: &mut [u8], out: &mut ProbeOutcome, stop: &AtomicBool) {
        let mut tx = vec![0u8; self.size];
        while self.plan.more(out.sent, self.start) && !stop.load(Ordering::Relaxed) && out.error.is_none() {
            let seq = out.sent;
            out.sent += 1;
            if !self.send_one(&mut tx, seq) {
                break;
            }
            let answered = move |l: &Ledger| l.answered[seq as usize];
            out.error = self.receive(rx, out, &answered, Some(Instant::now() + self.plan.timeout));
        }
    }

    /// Probes on a fixed schedule from a sender thread, while this thread receives the answers.
    fn at_rate(&self, rx: &mut [u8], out: &mut ProbeOutcome, stop: &AtomicBool) {
        let plan = self.plan;
        std::thread::scope(|scope| {
            let sender = scope.spawn(|| {
                let mut tx = vec![0u8; self.size];
                let mut seq = 0u64;
                while plan.more(seq, self.start)
                    && !stop.load(Ordering::Relaxed)
                    && !self.failed.load(Ordering::Relaxed)
                {
                    if let Some(wait) = (self.start + plan.interval * seq as u32).checked_duration_since(Instant::now())
                    {
                        std::thread::sleep(wait);
                    }
                    if stop.load(Ordering::Relaxed) || !self.send_one(&mut tx, seq) {
                        break;
                    }
                    seq += 1;
                }
                self.sending.store(false, Ordering::Relaxed);
            });
            let finished = |l: &Ledger| -> bool {
                // Stop once sending is over and every probe is answered or past its timeout.
                !self.sending.load(Ordering::Relaxed)
                    && l.sent_at
                        .iter()
                        .zip(&l.answered)
                        .all(|(t, a)| *a || t.elapsed() > plan.timeout)
            };
            out.error = self.receive(rx, out, &finished, None);
            if out.error.is_some() {
                self.failed.store(true, Ordering::Relaxed);
            }
            let _ = sender.join();
        });
        out.sent = self.ledger().sent_at.len() as u64;
    }
}

/// TCP request/response ping-pong on one connection with TCP_NODELAY.
pub fn tcp(mut stream: TcpStream, cookie: Cookie, plan: &ProbePlan, stop: &AtomicBool) -> ProbeOutcome {
    let mut out = ProbeOutcome {
        rtt_from_schedule: schedule(plan),
        ..ProbeOutcome::default()
    };
    let size = plan.size.max(HEADER_LEN);
    let mut tx = vec![0u8; size];
    let mut rx = vec![0u8; size];
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(plan.timeout));
    let start = Instant::now();
    while plan.more(out.sent, start) && !stop.load(Ordering::Relaxed) {
        let seq = out.sent;
        let due = start + plan.interval * seq as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let sent = Instant::now();
        Header {
            kind: DatagramKind::Echo,
            cookie,
            seq,
            sent_ns: sent.duration_since(start).as_nanos() as u64,
        }
        .write(&mut tx);
        out.sent += 1;
        let result = stream
            .write_all(&tx)
            .and_then(|_| read_answer(&mut stream, &mut rx, plan.busy_poll));
        let now = Instant::now();
        match result {
            Ok(()) => {
                out.received += 1;
                out.rtt.record((now - sent).as_nanos() as u64);
                if let Some(s) = out.rtt_from_schedule.as_mut() {
                    s.record((now - due.min(sent)).as_nanos() as u64);
                }
            }
            Err(e) => {
                out.error = Some(if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
                    format!(
                        "no answer within {:.1} s on the TCP connection",
                        plan.timeout.as_secs_f64()
                    )
                } else {
                    format!("TCP probe connection: {e}")
                });
                break;
            }
        }
    }
    out.lost = out.sent - out.received;
    out.elapsed = start.elapsed();
    out
}

/// Reads one whole answer, spinning for up to `spin` before sleeping in the read.
fn read_answer(stream: &mut TcpStream, rx: &mut [u8], spin: Duration) -> std::io::Result<()> {
    let mut got = 0;
    let until = Instant::now() + spin;
    while got < rx.len() && !spin.is_zero() && Instant::now() < until {
        match platform::recv_nowait(stream, &mut rx[got..]) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(e) => return Err(e),
        }
    }
    stream.read_exact(&mut rx[got..])
}

/// Times TCP handshakes to the server, one connection per probe.
pub fn connect(addr: SocketAddr, cookie: Cookie, plan: &ProbePlan, stop: &AtomicBool) -> ProbeOutcome {
    let mut out = ProbeOutcome {
        rtt_from_schedule: schedule(plan),
        ..ProbeOutcome::default()
    };
    let hello = encode(&ClientMessage::Probe { cookie });
    let start = Instant::now();
    while plan.more(out.sent, start) && !stop.load(Ordering::Relaxed) {
        let due = start + plan.interval * out.sent as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let t = Instant::now();
        out.sent += 1;
        match TcpStream::connect_timeout(&addr, plan.timeout) {
            Ok(mut s) => {
                let now = Instant::now();
                out.received += 1;
                out.rtt.record((now - t).as_nanos() as u64);
                if let Some(r) = out.rtt_from_schedule.as_mut() {
                    r.record((now - due.min(t)).as_nanos() as u64);
                }
                let _ = s.write_all(&hello);
            }
            Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {}
            Err(e) => {
                out.error = Some(format!("connect to {addr}: {e}"));
                break;
            }
        }
    }
    out.lost = out.sent - out.received;
    out.elapsed = start.elapsed();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server that drops every `drop_every`th datagram and answers seq 3 twice and swaps 5 and 6.
    fn naughty_echo(drop_every: u64) -> (SocketAddr, std::thread::JoinHandle<()>) {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = sock.local_addr().unwrap();
        let h = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let mut held: Option<(Vec<u8>, SocketAddr)> = None;
            sock.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
            while let Ok((n, from)) = sock.recv_from(&mut buf) {
                let seq = Header::read(&buf[..n]).unwrap().seq;
                if seq % drop_every == drop_every - 1 {
                    continue;
                }
                if seq == 5 {
                    held = Some((buf[..n].to_vec(), from));
                    continue;
                }
                sock.send_to(&buf[..n], from).unwrap();
                if seq == 3 {
                    sock.send_to(&buf[..n], from).unwrap();
                }
                if seq == 6
                    && let Some((b, f)) = held.take()
                {
                    sock.send_to(&b, f).unwrap();
                }
            }
        });
        (addr, h)
    }

    #[test]
    fn udp_counts_loss_duplicates_and_reordering() {
        udp_counts_with(Duration::ZERO);
    }

    #[test]
    fn busy_polling_udp_probes_count_the_same() {
        // A window shorter than the interval (spin, then wait for the next send) and one longer (always spinning).
        udp_counts_with(Duration::from_micros(500));
        udp_counts_with(Duration::from_millis(5));
    }

    fn udp_counts_with(busy_poll: Duration) {
        let (addr, server) = naughty_echo(10);
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.connect(addr).unwrap();
        let plan = ProbePlan {
            count: Some(20),
            duration: None,
            interval: Duration::from_millis(2),
            size: 64,
            timeout: Duration::from_millis(200),
            busy_poll,
        };
        let out = udp(&sock, Cookie([1; 16]), &plan, &AtomicBool::new(false));
        server.join().unwrap();
        assert_eq!(out.sent, 20);
        assert_eq!(out.lost, 2, "seq 9 and 19 dropped: {out:?}");
        assert_eq!(out.received, 18);
        assert_eq!(out.duplicates, 1);
        assert_eq!(out.out_of_order, 1, "5 arrives after 6");
        assert_eq!(out.rtt.len(), 18);
        let from_schedule = out.rtt_from_schedule.unwrap();
        assert!(from_schedule.stats().p50_us >= out.rtt.stats().p50_us);
    }

    #[test]
    fn silent_peer_costs_one_timeout_per_probe_and_no_more() {
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.connect(silent.local_addr().unwrap()).unwrap();
        let plan = ProbePlan {
            count: Some(3),
            duration: None,
            interval: Duration::ZERO,
            size: 64,
            timeout: Duration::from_millis(100),
            busy_poll: Duration::ZERO,
        };
        let t = Instant::now();
        let out = udp(&sock, Cookie([1; 16]), &plan, &AtomicBool::new(false));
        assert_eq!((out.sent, out.lost, out.received), (3, 3, 0));
        assert!(t.elapsed() < Duration::from_millis(800), "{:?}", t.elapsed());
    }

    #[test]
    fn busy_polling_back_to_back_counts_as_sleeping_does() {
        let (addr, server) = naughty_echo(u64::MAX);
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.connect(addr).unwrap();
        let plan = ProbePlan {
            count: Some(200),
            duration: None,
            interval: Duration::ZERO,
            size: 64,
            timeout: Duration::from_millis(300),
            busy_poll: Duration::from_micros(200),
        };
        let out = udp(&sock, Cookie([3; 16]), &plan, &AtomicBool::new(false));
        server.join().unwrap();
        // Seq 3 is answered twice; seq 5 is held until 6 is sent, after 5's timeout: lost, then late and out of order.
        let counts = (out.sent, out.received, out.lost, out.duplicates, out.out_of_order);
        assert_eq!(counts, (200, 199, 1, 1, 1), "{out:?}");
    }

    #[test]
    fn stalled_responder_shows_in_schedule_corrected_rtt() {
        stalled_responder_with(Duration::ZERO);
    }

    #[test]
    fn busy_polling_tcp_probes_see_the_same_answers_and_the_same_stall() {
        stalled_responder_with(Duration::from_micros(300));
    }

    fn stalled_responder_with(busy_poll: Duration) {
        // Answers immediately except once, when it stalls 200 ms; probes are due every 10 ms.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = vec![0u8; 64];
            let mut n = 0;
            while s.read_exact(&mut buf).is_ok() {
                n += 1;
                if n == 5 {
                    std::thread::sleep(Duration::from_millis(200));
                }
                if s.write_all(&buf).is_err() {
                    break;
                }
            }
        });
        let plan = ProbePlan {
            count: Some(40),
            duration: None,
            interval: Duration::from_millis(10),
            size: 64,
            timeout: Duration::from_secs(2),
            busy_poll,
        };
        let out = tcp(
            TcpStream::connect(addr).unwrap(),
            Cookie([2; 16]),
            &plan,
            &AtomicBool::new(false),
        );
        server.join().unwrap();
        assert_eq!(out.received, 40);
        let actual = out.rtt.stats();
        let corrected = out.rtt_from_schedule.unwrap().stats();
        // Only one actual RTT saw the stall; from the schedule, the ~19 probes queued behind it did too.
        assert!(actual.p90_us < 50_000.0, "{actual:?}");
        assert!(corrected.p90_us > 50_000.0, "{corrected:?}");
        assert!(corrected.max_us >= 190_000.0);
    }
}
