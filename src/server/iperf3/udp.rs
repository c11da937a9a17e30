//! iperf3's UDP streams on the server's UDP socket. An iperf3 datagram carries no cookie: each stream's socket
//! first sends a 4-byte setup datagram, which the server answers. Setups are taken only from the IP address of
//! the test's control connection, so a spoofed source cannot make the server send (reflect) anywhere else;
//! after setup, a stream's datagrams are known by their source address and port.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Notify;

use super::wire::udp_connect_reply;
use crate::engine::udp::Meter;
use crate::protocol::iperf3::UdpHeader;
use crate::protocol::{Cookie, DatagramKind, Header, TestRequest};

/// Where one stream's datagrams come from, and the socket its setup arrived on (the one to send from).
#[derive(Debug)]
struct Learned {
    from: SocketAddr,
    socket: Option<UdpSocket>,
}

/// One iperf3 UDP test: its client's address, the meters of the streams the server receives, and the
/// addresses its streams set up from, in setup order.
#[derive(Debug)]
pub struct UdpTest {
    peer: IpAddr,
    cookie: Cookie,
    counters64: bool,
    meters: Vec<Option<Arc<Meter>>>,
    learned: Mutex<Vec<Learned>>,
    changed: Notify,
}

impl UdpTest {
    pub fn new(peer: IpAddr, req: &TestRequest, counters64: bool) -> Arc<UdpTest> {
        let meters = (1..=req.connections())
            .map(|id| req.client_sends(id).then(|| Meter::new(id)))
            .collect();
        Arc::new(UdpTest {
            peer: peer.to_canonical(),
            // Meters account by saf-net's header; this test's datagrams are translated under this cookie.
            cookie: Cookie([0; 16]),
            counters64,
            meters,
            learned: Mutex::new(Vec::new()),
            changed: Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Learned>> {
        self.learned.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Streams whose setup has arrived.
    pub fn set_up(&self) -> usize {
        self.lock().len()
    }

    /// Resolves when a setup arrived.
    pub async fn changed(&self) {
        self.changed.notified().await
    }

    /// The meter of a stream (1-based) the server receives.
    pub fn meter(&self, id: u32) -> Option<Arc<Meter>> {
        self.meters.get((id as usize).wrapping_sub(1))?.clone()
    }

    /// Where stream `id` (1-based) set up from, and a handle on the socket to send to it from.
    pub fn peer(&self, id: u32) -> Option<(SocketAddr, UdpSocket)> {
        let learned = self.lock();
        let l = learned.get((id as usize).wrapping_sub(1))?;
        Some((l.from, l.socket.as_ref()?.try_clone().ok()?))
    }

    /// Takes one datagram from `from`; false when it is none of this test's. The socket it came on is the one
    /// a setup is answered from, and the one the server later sends that stream from.
    fn take(&self, d: &[u8], from: SocketAddr, at: Instant, sock: &UdpSocket) -> bool {
        if from.ip().to_canonical() != self.peer {
            return false;
        }
        let mut learned = self.lock();
        if let Some(i) = learned.iter().position(|l| l.from == from) {
            drop(learned);
            match (self.meters.get(i), udp_connect_reply(d)) {
                // A repeated setup (the answer was lost): answer again.
                (_, Some(reply)) => drop(sock.send_to(&reply, from)),
                (Some(Some(meter)), None) => self.count(meter, d, at),
                _ => {}
            }
            return true;
        }
        let Some(reply) = udp_connect_reply(d) else {
            return false;
        };
        if learned.len() >= self.meters.len() {
            return false;
        }
        // Bursts queue in this socket's receive buffer, as for a saf-net UDP test.
        crate::server::udp_sink::grow_buffers(sock, None);
        learned.push(Learned {
            from,
            socket: sock.try_clone().ok(),
        });
        drop(learned);
        let _ = sock.send_to(&reply, from);
        self.changed.notify_one();
        true
    }

    /// Accounts an iperf3 data datagram in the meter, as the saf-net datagram it amounts to.
    fn count(&self, meter: &Meter, d: &[u8], at: Instant) {
        let Some(u) = UdpHeader::read(d, self.counters64) else {
            return;
        };
        let h = Header {
            kind: DatagramKind::Data,
            cookie: self.cookie,
            // iperf3 counts from 1, saf-net from 0.
            seq: u.count.saturating_sub(1),
            sent_ns: u64::from(u.sec) * 1_000_000_000 + u64::from(u.usec) * 1000,
        };
        meter.receive(&h, 0, d.len(), at);
    }
}

/// The running iperf3 UDP tests the server's UDP sockets feed.
#[derive(Debug, Default, Clone)]
pub struct Flows {
    tests: Arc<Mutex<Vec<Arc<UdpTest>>>>,
    /// How many tests are registered: datagrams skip the lock when none are.
    count: Arc<AtomicUsize>,
}

/// Unregisters a test when dropped.
pub struct FlowRegistration {
    flows: Flows,
    test: Arc<UdpTest>,
}

impl Drop for FlowRegistration {
    fn drop(&mut self) {
        let mut tests = self.flows.lock();
        tests.retain(|t| !Arc::ptr_eq(t, &self.test));
        self.flows.count.store(tests.len(), Ordering::Relaxed);
    }
}

impl Flows {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<UdpTest>>> {
        self.tests.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn register(&self, test: Arc<UdpTest>) -> FlowRegistration {
        let mut tests = self.lock();
        tests.push(test.clone());
        self.count.store(tests.len(), Ordering::Relaxed);
        FlowRegistration {
            flows: self.clone(),
            test,
        }
    }

    /// Offers a datagram that is no saf-net datagram to the iperf3 tests; false when none took it.
    pub fn datagram(&self, d: &[u8], from: SocketAddr, at: Instant, sock: &UdpSocket) -> bool {
        if self.count.load(Ordering::Relaxed) == 0 {
            return false;
        }
        self.lock().iter().any(|t| t.take(d, from, at, sock))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Direction, Protocol, StopAfter};

    fn req(direction: Direction) -> TestRequest {
        TestRequest {
            direction,
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
        }
    }

    fn datagram(count: u32) -> Vec<u8> {
        let mut d = vec![0u8; 100];
        d[4..8].copy_from_slice(&(count * 1000).to_be_bytes());
        d[8..12].copy_from_slice(&count.to_be_bytes());
        d
    }

    #[test]
    fn setup_only_from_the_control_address_then_data_by_source() {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(std::time::Duration::from_secs(1)))
            .unwrap();
        let flows = Flows::default();
        let test = UdpTest::new("127.0.0.1".parse().unwrap(), &req(Direction::Bidir), false);
        let _reg = flows.register(test.clone());
        let now = Instant::now();
        let spoofed: SocketAddr = "127.0.0.2:9".parse().unwrap();
        assert!(
            !flows.datagram(b"9876", spoofed, now, &sock),
            "a setup from another address is ignored"
        );
        assert_eq!(test.set_up(), 0);
        let from = client.local_addr().unwrap();
        assert!(
            !flows.datagram(&datagram(1), from, now, &sock),
            "data before setup is not taken"
        );
        assert!(flows.datagram(b"9876", from, now, &sock));
        let mut b = [0u8; 8];
        assert_eq!(client.recv(&mut b).unwrap(), 4);
        assert_eq!(&b[..4], b"6789");
        for c in [1, 2, 4] {
            assert!(flows.datagram(&datagram(c), from, now, &sock));
        }
        let got = test.meter(1).unwrap().counts(false);
        assert_eq!((got.received, got.lost, got.packets), (3, 1, 4), "{got:?}");
        assert_eq!(test.meter(2).map(|_| ()), None, "the server sends stream 2");
    }
}
