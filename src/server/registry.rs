//! Tests waiting for their data connections, keyed by cookie.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::protocol::Cookie;

struct Entry {
    peer: IpAddr,
    tx: mpsc::Sender<(u32, TcpStream)>,
}

/// Cookie → the test that owns it and the control peer's address.
#[derive(Default, Clone)]
pub struct Registry {
    inner: Arc<Mutex<HashMap<Cookie, Entry>>>,
}

/// Why a data connection was turned away.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    #[error("unknown or expired cookie")]
    UnknownCookie,
    #[error("data connection from {got}, but the test's control connection came from {want}")]
    WrongPeer { got: IpAddr, want: IpAddr },
    #[error("the test is not taking more connections")]
    Full,
}

/// Removes the cookie when the test ends.
pub struct Registration {
    registry: Registry,
    cookie: Cookie,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.cookie);
    }
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Cookie, Entry>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` with the map locked (the panic probe poisons the lock this way).
    #[cfg(feature = "panic-probe")]
    pub(crate) fn hold<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.lock();
        f()
    }

    /// Registers a test; data connections for it arrive on the returned receiver.
    pub fn register(
        &self,
        cookie: Cookie,
        peer: IpAddr,
        streams: usize,
    ) -> (Registration, mpsc::Receiver<(u32, TcpStream)>) {
        let (tx, rx) = mpsc::channel(streams.max(1));
        self.lock().insert(cookie, Entry { peer, tx });
        (
            Registration {
                registry: self.clone(),
                cookie,
            },
            rx,
        )
    }

    /// Hands a data connection to its test, if the cookie and the peer match.
    pub fn deliver(&self, cookie: &Cookie, stream: u32, socket: TcpStream, from: IpAddr) -> Result<(), Reject> {
        let map = self.lock();
        let entry = map.get(cookie).ok_or(Reject::UnknownCookie)?;
        if !same_host(entry.peer, from) {
            return Err(Reject::WrongPeer {
                got: from,
                want: entry.peer,
            });
        }
        entry.tx.try_send((stream, socket)).map_err(|_| Reject::Full)
    }
}

/// Compares addresses, treating IPv4-mapped IPv6 as the IPv4 address it carries.
fn same_host(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn socket() -> TcpStream {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = l.local_addr().unwrap();
        let (c, _) = tokio::join!(TcpStream::connect(a), l.accept());
        c.unwrap()
    }

    #[tokio::test]
    async fn data_connections_must_match_cookie_and_peer() {
        let reg = Registry::default();
        let cookie = Cookie([7; 16]);
        let peer: IpAddr = "192.0.2.10".parse().unwrap();
        let (guard, mut rx) = reg.register(cookie, peer, 2);
        let other: IpAddr = "192.0.2.11".parse().unwrap();
        let err = reg.deliver(&cookie, 1, socket().await, other).unwrap_err();
        assert_eq!(err, Reject::WrongPeer { got: other, want: peer });
        assert_eq!(
            reg.deliver(&Cookie([8; 16]), 1, socket().await, peer).unwrap_err(),
            Reject::UnknownCookie
        );
        let mapped: IpAddr = "::ffff:192.0.2.10".parse().unwrap();
        reg.deliver(&cookie, 1, socket().await, mapped).unwrap();
        assert_eq!(rx.recv().await.unwrap().0, 1);
        drop(guard);
        assert_eq!(
            reg.deliver(&cookie, 2, socket().await, peer).unwrap_err(),
            Reject::UnknownCookie
        );
    }
}
