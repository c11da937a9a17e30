//! Connections still in their handshake, per source address; past the limit the oldest is evicted.
//!
//! A legitimate client always gets in: its new connection pushes out the longest-idle one from its address,
//! so 100 idle connections cannot lock it out. Connections past the handshake never count.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

#[derive(Default)]
struct Inner {
    next: u64,
    by_ip: HashMap<IpAddr, VecDeque<(u64, oneshot::Sender<()>)>>,
}

/// The per-address table.
#[derive(Clone, Default)]
pub struct Handshakes {
    inner: Arc<Mutex<Inner>>,
    limit: usize,
}

/// One connection's place in the table; dropping it (handshake done) frees the place.
pub struct Pending {
    table: Handshakes,
    ip: IpAddr,
    id: u64,
    evicted: Option<oneshot::Receiver<()>>,
}

impl Handshakes {
    pub fn new(limit: usize) -> Self {
        Handshakes {
            inner: Arc::default(),
            limit: limit.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a new connection from `ip`, evicting that address's oldest handshake if over the limit.
    pub fn enter(&self, ip: IpAddr) -> Pending {
        let (tx, rx) = oneshot::channel();
        let mut inner = self.lock();
        let id = inner.next;
        inner.next += 1;
        let queue = inner.by_ip.entry(ip).or_default();
        queue.push_back((id, tx));
        while queue.len() > self.limit {
            if let Some((_, oldest)) = queue.pop_front() {
                let _ = oldest.send(());
            }
        }
        Pending {
            table: self.clone(),
            ip,
            id,
            evicted: Some(rx),
        }
    }

    /// Handshakes now in progress from `ip`.
    #[cfg(test)]
    pub fn count(&self, ip: IpAddr) -> usize {
        self.lock().by_ip.get(&ip).map_or(0, VecDeque::len)
    }
}

impl Pending {
    /// Resolves when a newer connection from the same address pushed this one out.
    pub async fn evicted(&mut self) {
        match self.evicted.as_mut() {
            Some(rx) => {
                if rx.await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending::<()>().await,
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let mut inner = self.table.lock();
        if let Some(q) = inner.by_ip.get_mut(&self.ip) {
            q.retain(|(id, _)| *id != self.id);
            if q.is_empty() {
                inner.by_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn oldest_is_evicted_and_done_handshakes_free_their_place() {
        let t = Handshakes::new(2);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let mut a = t.enter(ip);
        let b = t.enter(ip);
        assert_eq!(t.count(ip), 2);
        let _c = t.enter(ip);
        tokio::time::timeout(std::time::Duration::from_secs(1), a.evicted())
            .await
            .expect("a was evicted");
        assert_eq!(t.count(ip), 2);
        drop(b);
        assert_eq!(t.count(ip), 1);
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        let _d = t.enter(other);
        assert_eq!(t.count(ip), 1, "addresses are counted apart");
    }
}
