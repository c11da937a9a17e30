//! Running iperf3 tests by cookie: an iperf3 client's data connections start with its control connection's
//! cookie, and are handed to that test only from the control connection's address, in the order they were
//! accepted (iperf3 numbers its streams, and in `--bidir` gives them roles, by connection order).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::protocol::iperf3::Cookie;
use crate::server::Reject;

/// An accepted data connection, with its place in the accept order.
pub type Arrival = (u64, TcpStream);

struct Entry {
    peer: IpAddr,
    tx: mpsc::Sender<Arrival>,
}

/// Cookie → the iperf3 test that owns it.
#[derive(Default, Clone)]
pub struct Tests {
    inner: Arc<Mutex<HashMap<Cookie, Entry>>>,
}

/// Where a connection with an iperf3 cookie goes.
pub enum Route {
    /// Handed to its running test.
    Delivered,
    /// The cookie is a running test's, but the connection may not join it.
    Refused(Reject),
    /// No test has this cookie: a new iperf3 client on its control connection.
    NewTest(TcpStream),
}

/// Removes the cookie when the test ends.
pub struct Registration {
    tests: Tests,
    cookie: Cookie,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.tests.lock().remove(&self.cookie);
    }
}

impl Tests {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Cookie, Entry>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a test that takes `streams` data connections from `peer`.
    pub fn register(&self, cookie: Cookie, peer: IpAddr, streams: usize) -> (Registration, mpsc::Receiver<Arrival>) {
        let (tx, rx) = mpsc::channel(streams.max(1));
        self.lock().insert(cookie, Entry { peer, tx });
        (
            Registration {
                tests: self.clone(),
                cookie,
            },
            rx,
        )
    }

    /// Hands a connection to the test with its cookie, or gives it back when there is none.
    pub fn route(&self, cookie: &Cookie, order: u64, sock: TcpStream, from: IpAddr) -> Route {
        let map = self.lock();
        let Some(entry) = map.get(cookie) else {
            return Route::NewTest(sock);
        };
        if entry.peer.to_canonical() != from.to_canonical() {
            return Route::Refused(Reject::WrongPeer {
                got: from,
                want: entry.peer,
            });
        }
        match entry.tx.try_send((order, sock)) {
            Ok(()) => Route::Delivered,
            Err(_) => Route::Refused(Reject::Full),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn socket() -> TcpStream {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (c, _) = tokio::join!(TcpStream::connect(l.local_addr().unwrap()), l.accept());
        c.unwrap()
    }

    #[tokio::test]
    async fn connections_join_their_test_from_its_address_only() {
        let tests = Tests::default();
        let cookie = Cookie::random().unwrap();
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(matches!(
            tests.route(&cookie, 1, socket().await, peer),
            Route::NewTest(_)
        ));
        let (reg, mut rx) = tests.register(cookie, peer, 1);
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(matches!(
            tests.route(&cookie, 2, socket().await, other),
            Route::Refused(Reject::WrongPeer { .. })
        ));
        assert!(matches!(
            tests.route(&cookie, 3, socket().await, peer),
            Route::Delivered
        ));
        assert!(matches!(
            tests.route(&cookie, 4, socket().await, peer),
            Route::Refused(Reject::Full)
        ));
        assert_eq!(rx.recv().await.unwrap().0, 3);
        drop(reg);
        assert!(matches!(
            tests.route(&cookie, 5, socket().await, peer),
            Route::NewTest(_)
        ));
    }
}
