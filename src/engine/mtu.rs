//! Path-MTU search with don't-fragment UDP probes, each direction on its own.
//!
//! Forward (client → server): a big probe, answered by a bare header. Reverse (server → client): a small
//! request, answered by a big datagram. A size passes when an answer comes back.

use std::io::ErrorKind;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::protocol::{Cookie, DatagramKind, HEADER_LEN, Header, MAX_DATAGRAM};

/// Bytes of IP and UDP headers around a payload.
pub fn udp_overhead(ipv6: bool) -> u32 {
    if ipv6 { 48 } else { 28 }
}

/// The smallest packet every path must carry: 576 (IPv4) or 1280 (IPv6).
pub fn minimum_mtu(ipv6: bool) -> u32 {
    if ipv6 { 1280 } else { 576 }
}

/// The search bounds and patience.
#[derive(Debug, Clone, Copy)]
pub struct MtuPlan {
    pub low: u32,
    pub high: u32,
    pub ipv6: bool,
    /// Probes per size before it counts as not passing.
    pub tries: u32,
    /// Wait for an answer before any has arrived; later waits adapt to the measured RTT.
    pub first_wait: Duration,
}

impl MtuPlan {
    /// Bounds for a local interface MTU (unknown: assume 1500).
    pub fn new(local_mtu: Option<u32>, ipv6: bool) -> MtuPlan {
        let cap = MAX_DATAGRAM as u32 + udp_overhead(ipv6);
        let low = minimum_mtu(ipv6);
        MtuPlan {
            low,
            high: local_mtu.unwrap_or(1500).clamp(low, cap),
            ipv6,
            tries: 2,
            first_wait: Duration::from_millis(300),
        }
    }
}

/// The largest IP packet that passed, each way; None when nothing passed.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct MtuResult {
    pub forward_path_mtu: Option<u32>,
    pub reverse_path_mtu: Option<u32>,
    pub forward_udp_payload: Option<u32>,
    pub reverse_udp_payload: Option<u32>,
    /// The search range: the protocol minimum and the local interface MTU.
    pub low: u32,
    pub high: u32,
    pub probes: u32,
    pub seconds: f64,
}

impl MtuResult {
    /// The path MTU both ways: the smaller of the two.
    pub fn path_mtu(&self) -> Option<u32> {
        match (self.forward_path_mtu, self.reverse_path_mtu) {
            (Some(f), Some(r)) => Some(f.min(r)),
            _ => None,
        }
    }

    pub fn nothing_passed(&self) -> bool {
        self.forward_path_mtu.is_none() && self.reverse_path_mtu.is_none()
    }
}

/// The longest single wait for an answer, so a stop request is seen promptly.
const STOP_CHECK: Duration = Duration::from_millis(50);

struct Prober<'a> {
    sock: &'a UdpSocket,
    stop: &'a AtomicBool,
    cookie: Cookie,
    plan: MtuPlan,
    seq: u64,
    rtt: Option<Duration>,
    probes: u32,
    tx: Vec<u8>,
    rx: Vec<u8>,
}

impl Prober<'_> {
    fn wait(&self) -> Duration {
        self.rtt.map_or(self.plan.first_wait, |r| {
            (r * 8).clamp(Duration::from_millis(20), self.plan.first_wait)
        })
    }

    /// Whether an IP packet of `size` bytes passes in the given direction.
    fn passes(&mut self, size: u32, forward: bool) -> bool {
        let payload = (size - udp_overhead(self.plan.ipv6)) as usize;
        for _ in 0..self.plan.tries {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            self.seq += 1;
            self.probes += 1;
            let seq = self.seq;
            let (kind, len) = if forward {
                (DatagramKind::Ack, payload)
            } else {
                (DatagramKind::Fill, HEADER_LEN + 4)
            };
            Header {
                kind,
                cookie: self.cookie,
                seq,
                sent_ns: 0,
            }
            .write(&mut self.tx);
            self.tx[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&(payload as u32).to_be_bytes());
            let sent = Instant::now();
            match self.sock.send(&self.tx[..len.max(HEADER_LEN + 4)]) {
                Ok(_) => {}
                // The kernel already knows the route is narrower (EMSGSIZE): this size does not pass.
                Err(_) => return false,
            }
            let deadline = sent + self.wait();
            while let Some(left) = deadline.checked_duration_since(Instant::now()) {
                if self.stop.load(Ordering::Relaxed) {
                    return false;
                }
                let _ = self
                    .sock
                    .set_read_timeout(Some(left.clamp(Duration::from_millis(1), STOP_CHECK)));
                match self.sock.recv(&mut self.rx) {
                    Ok(n) => {
                        let ok = Header::read(&self.rx[..n]).is_some_and(|h| h.cookie == self.cookie && h.seq == seq)
                            && (forward || n == payload);
                        if ok {
                            let rtt = sent.elapsed();
                            self.rtt = Some(self.rtt.map_or(rtt, |r| r.min(rtt)));
                            return true;
                        }
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                        ) => {}
                    // ICMP errors (port unreachable): treat this try as lost.
                    Err(_) => break,
                }
            }
        }
        false
    }

    /// The largest size that passes one way, by checking the ends, common MTUs, then bisecting.
    fn search(&mut self, forward: bool) -> Option<u32> {
        let (low, high) = (self.plan.low, self.plan.high);
        if !self.passes(low, forward) {
            return None;
        }
        if self.passes(high, forward) {
            return Some(high);
        }
        let (mut lo, mut hi) = (low, high);
        for guess in [1500, 9000, 1492, 4470] {
            if lo < guess && guess < hi {
                if self.passes(guess, forward) {
                    lo = guess
                } else {
                    hi = guess
                }
            }
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.passes(mid, forward) { lo = mid } else { hi = mid }
        }
        Some(lo)
    }
}

/// Finds the path MTU each way through a connected, don't-fragment UDP socket.
pub fn probe(sock: &UdpSocket, cookie: Cookie, plan: MtuPlan) -> MtuResult {
    probe_until(sock, cookie, plan, &AtomicBool::new(false))
}

/// Like [`probe`], but gives up (nothing more passes) soon after `stop` turns true.
pub fn probe_until(sock: &UdpSocket, cookie: Cookie, plan: MtuPlan, stop: &AtomicBool) -> MtuResult {
    let start = Instant::now();
    let mut p = Prober {
        sock,
        stop,
        cookie,
        plan,
        seq: 0,
        rtt: None,
        probes: 0,
        tx: vec![0u8; MAX_DATAGRAM],
        rx: vec![0u8; MAX_DATAGRAM + 64],
    };
    let forward = p.search(true);
    let reverse = if forward.is_some() { p.search(false) } else { None };
    let payload = |m: Option<u32>| m.map(|m| m - udp_overhead(plan.ipv6));
    MtuResult {
        forward_path_mtu: forward,
        reverse_path_mtu: reverse,
        forward_udp_payload: payload(forward),
        reverse_udp_payload: payload(reverse),
        low: plan.low,
        high: plan.high,
        probes: p.probes,
        seconds: start.elapsed().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A responder that drops anything bigger than `limit` bytes of IP packet, either way.
    fn narrow_responder(limit: u32, stop: Arc<AtomicBool>) -> (std::net::SocketAddr, std::thread::JoinHandle<()>) {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = sock.local_addr().unwrap();
        let h = std::thread::spawn(move || {
            sock.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            let mut buf = vec![0u8; 70_000];
            while !stop.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                if n as u32 + 28 > limit {
                    continue;
                }
                let Some(h) = Header::read(&buf[..n]) else { continue };
                let reply = match h.kind {
                    DatagramKind::Ack => HEADER_LEN,
                    DatagramKind::Fill => u32::from_be_bytes(buf[40..44].try_into().unwrap()) as usize,
                    DatagramKind::Echo => n,
                    DatagramKind::Data => continue,
                };
                if reply as u32 + 28 <= limit {
                    sock.send_to(&buf[..reply], from).unwrap();
                }
            }
        });
        (addr, h)
    }

    fn run(limit: u32, local_mtu: u32) -> MtuResult {
        let stop = Arc::new(AtomicBool::new(false));
        let (addr, h) = narrow_responder(limit, stop.clone());
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.connect(addr).unwrap();
        let plan = MtuPlan {
            first_wait: Duration::from_millis(100),
            ..MtuPlan::new(Some(local_mtu), false)
        };
        let r = probe(&sock, Cookie([3; 16]), plan);
        stop.store(true, Ordering::Relaxed);
        h.join().unwrap();
        r
    }

    #[test]
    fn finds_a_1500_path_under_a_9000_interface() {
        let r = run(1500, 9000);
        assert_eq!(r.forward_path_mtu, Some(1500));
        assert_eq!(r.reverse_path_mtu, Some(1500));
        assert_eq!(r.forward_udp_payload, Some(1472));
        assert_eq!(r.path_mtu(), Some(1500));
        assert!(r.seconds < 3.0, "{r:?}");
    }

    #[test]
    fn finds_odd_sizes_exactly() {
        assert_eq!(run(1234, 9000).path_mtu(), Some(1234));
        assert_eq!(run(9000, 9000).path_mtu(), Some(9000));
    }

    #[test]
    fn a_peer_that_never_answers_is_nothing_passed_not_a_hang() {
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.connect(silent.local_addr().unwrap()).unwrap();
        let t = Instant::now();
        let r = probe(&sock, Cookie([3; 16]), MtuPlan::new(Some(9000), false));
        assert!(r.nothing_passed());
        assert_eq!(r.path_mtu(), None);
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }

    #[test]
    fn a_stop_request_ends_the_search() {
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.connect(silent.local_addr().unwrap()).unwrap();
        let stop = AtomicBool::new(true);
        let r = probe_until(&sock, Cookie([3; 16]), MtuPlan::new(Some(9000), false), &stop);
        assert!(r.nothing_passed());
        assert_eq!(r.probes, 0, "no probe is sent once stopped");
    }
}
