//! The UDP responder: echoes saf-net datagrams whose cookie belongs to a running test and whose source is its client.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::protocol::{Cookie, DatagramKind, HEADER_LEN, Header, MAX_DATAGRAM};

/// Cookies whose datagrams (and connect probes) the server answers, with the client each belongs to.
#[derive(Debug, Default, Clone)]
pub struct Allowed {
    inner: Arc<Mutex<HashMap<Cookie, IpAddr>>>,
}

/// Removes the cookie from the allow-list when the test ends.
pub struct Allowance {
    allowed: Allowed,
    cookie: Cookie,
}

impl Drop for Allowance {
    fn drop(&mut self) {
        self.allowed.lock().remove(&self.cookie);
    }
}

impl Allowed {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Cookie, IpAddr>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn allow(&self, cookie: Cookie, peer: IpAddr) -> Allowance {
        self.lock().insert(cookie, peer.to_canonical());
        Allowance {
            allowed: self.clone(),
            cookie,
        }
    }

    /// Whether this cookie belongs to a running test of the client at `from`.
    pub fn permits(&self, cookie: &Cookie, from: IpAddr) -> bool {
        self.lock().get(cookie).is_some_and(|ip| *ip == from.to_canonical())
    }
}

/// Echoes permitted datagrams until `stop` is set; everything else is dropped unanswered.
pub fn spawn_responder(sock: UdpSocket, allowed: Allowed, stop: Arc<AtomicBool>) -> std::io::Result<JoinHandle<()>> {
    sock.set_read_timeout(Some(Duration::from_millis(200)))?;
    std::thread::Builder::new().name("udp-responder".into()).spawn(move || {
        let mut buf = vec![0u8; 65_536 + HEADER_LEN];
        while !stop.load(Ordering::Relaxed) {
            let (n, from): (usize, SocketAddr) = match sock.recv_from(&mut buf) {
                Ok(x) => x,
                Err(_) => continue,
            };
            let Some(h) = Header::read(&buf[..n]) else { continue };
            if !allowed.permits(&h.cookie, from.ip()) {
                continue;
            }
            // Send errors (EMSGSIZE past the path MTU with don't-fragment) mean no answer: that is the measurement.
            let _ = match h.kind {
                DatagramKind::Echo => sock.send_to(&buf[..n], from),
                DatagramKind::Ack => sock.send_to(&buf[..HEADER_LEN], from),
                DatagramKind::Fill => {
                    let want = buf
                        .get(HEADER_LEN..HEADER_LEN + 4)
                        .map_or(0, |b| u32::from_be_bytes(b.try_into().unwrap_or_default()));
                    let len = (want as usize).clamp(HEADER_LEN, MAX_DATAGRAM);
                    buf[HEADER_LEN..len].fill(0);
                    sock.send_to(&buf[..len], from)
                }
            };
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
