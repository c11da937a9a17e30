//! Connections still in their handshake: per source address, and all together.
//!
//! A legitimate client always gets in: its new connection pushes out the longest-idle one from its address,
//! so 100 idle connections cannot lock it out. Past the global cap (derived from the descriptor limit, so a
//! test always finds descriptors) a new connection pushes out the oldest from any address, so 400 idle ones
//! from 400 addresses cannot exhaust the server either. Connections past the handshake never count.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// Descriptors kept back from handshakes: stdio, the runtime, the listener and UDP socket, a running test.
pub const RESERVED_DESCRIPTORS: u64 = 64;
/// The global cap never goes below this.
const MIN_HANDSHAKES: usize = 4;
/// The global cap when the descriptor limit is unknown or unlimited.
const UNLIMITED_HANDSHAKES: usize = 65_536;

/// Connections allowed in their handshake at once for a descriptor limit: half of what the reserve leaves.
pub fn budget(open_files: Option<u64>) -> usize {
    match open_files {
        Some(n) => usize::try_from(n.saturating_sub(RESERVED_DESCRIPTORS) / 2)
            .unwrap_or(UNLIMITED_HANDSHAKES)
            .clamp(MIN_HANDSHAKES, UNLIMITED_HANDSHAKES),
        None => UNLIMITED_HANDSHAKES,
    }
}

/// Why a handshake was pushed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evicted {
    /// A newer connection from the same address (per-address limit).
    SameAddress,
    /// A newer connection from anywhere (global cap), or the server ran out of descriptors.
    Global,
}

#[derive(Default)]
struct Inner {
    next: u64,
    by_ip: HashMap<IpAddr, VecDeque<(u64, oneshot::Sender<Evicted>)>>,
    /// Every handshake by age: id → address.
    by_age: BTreeMap<u64, IpAddr>,
}

impl Inner {
    /// Pushes out the oldest handshake from `ip`, or from anywhere; false when there is none.
    fn evict_oldest(&mut self, ip: Option<IpAddr>, why: Evicted) -> bool {
        let ip = match ip.or_else(|| self.by_age.values().next().copied()) {
            Some(ip) => ip,
            None => return false,
        };
        let Some(queue) = self.by_ip.get_mut(&ip) else {
            return false;
        };
        let Some((id, tx)) = queue.pop_front() else {
            return false;
        };
        if queue.is_empty() {
            self.by_ip.remove(&ip);
        }
        self.by_age.remove(&id);
        let _ = tx.send(why);
        true
    }
}

/// The handshake table.
#[derive(Clone)]
pub struct Handshakes {
    inner: Arc<Mutex<Inner>>,
    per_ip: usize,
    global: usize,
}

/// One connection's place in the table; dropping it (handshake done) frees the place.
pub struct Pending {
    table: Handshakes,
    ip: IpAddr,
    id: u64,
    evicted: Option<oneshot::Receiver<Evicted>>,
}

impl Handshakes {
    pub fn new(per_ip: usize, global: usize) -> Self {
        Handshakes {
            inner: Arc::default(),
            per_ip: per_ip.max(1),
            global: global.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` with the table locked (the panic probe poisons the lock this way).
    #[cfg(feature = "panic-probe")]
    pub(crate) fn hold<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.lock();
        f()
    }

    /// The global cap.
    pub fn global_cap(&self) -> usize {
        self.global
    }

    /// Registers a new connection from `ip`, evicting the oldest from its address, then from anywhere, if over.
    pub fn enter(&self, ip: IpAddr) -> Pending {
        let (tx, rx) = oneshot::channel();
        let mut inner = self.lock();
        let id = inner.next;
        inner.next += 1;
        inner.by_ip.entry(ip).or_default().push_back((id, tx));
        inner.by_age.insert(id, ip);
        while inner.by_ip.get(&ip).map_or(0, VecDeque::len) > self.per_ip {
            inner.evict_oldest(Some(ip), Evicted::SameAddress);
        }
        while inner.by_age.len() > self.global {
            inner.evict_oldest(None, Evicted::Global);
        }
        Pending {
            table: self.clone(),
            ip,
            id,
            evicted: Some(rx),
        }
    }

    /// Pushes out the oldest handshake from anywhere (out of descriptors); false when there is none.
    pub fn shed_oldest(&self) -> bool {
        self.lock().evict_oldest(None, Evicted::Global)
    }

    /// Handshakes now in progress from `ip`.
    #[cfg(test)]
    pub fn count(&self, ip: IpAddr) -> usize {
        self.lock().by_ip.get(&ip).map_or(0, VecDeque::len)
    }
}

impl Pending {
    /// Resolves when a newer connection pushed this one out, saying why.
    pub async fn evicted(&mut self) -> Evicted {
        match self.evicted.as_mut() {
            Some(rx) => match rx.await {
                Ok(why) => why,
                Err(_) => std::future::pending().await,
            },
            None => std::future::pending().await,
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let mut inner = self.table.lock();
        inner.by_age.remove(&self.id);
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

    async fn evicted_now(p: &mut Pending) -> Option<Evicted> {
        tokio::time::timeout(std::time::Duration::from_secs(1), p.evicted())
            .await
            .ok()
    }

    #[tokio::test]
    async fn oldest_is_evicted_and_done_handshakes_free_their_place() {
        let t = Handshakes::new(2, 100);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let mut a = t.enter(ip);
        let b = t.enter(ip);
        assert_eq!(t.count(ip), 2);
        let _c = t.enter(ip);
        assert_eq!(evicted_now(&mut a).await, Some(Evicted::SameAddress));
        assert_eq!(t.count(ip), 2);
        drop(b);
        assert_eq!(t.count(ip), 1);
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        let _d = t.enter(other);
        assert_eq!(t.count(ip), 1, "addresses are counted apart");
    }

    #[tokio::test]
    async fn past_the_global_cap_the_oldest_from_anywhere_goes() {
        let t = Handshakes::new(16, 3);
        let ips: Vec<IpAddr> = (2..=5).map(|i| format!("127.0.0.{i}").parse().unwrap()).collect();
        let mut first = t.enter(ips[0]);
        let mut second = t.enter(ips[1]);
        let _third = t.enter(ips[2]);
        let _fourth = t.enter(ips[3]);
        assert_eq!(evicted_now(&mut first).await, Some(Evicted::Global));
        assert_eq!(t.count(ips[0]), 0);
        assert!(t.shed_oldest());
        assert_eq!(evicted_now(&mut second).await, Some(Evicted::Global));
        assert_eq!(t.count(ips[2]) + t.count(ips[3]), 2);
    }

    #[test]
    fn the_budget_leaves_descriptors_for_a_test() {
        assert_eq!(budget(Some(128)), 32);
        assert_eq!(budget(Some(1024)), 480);
        assert_eq!(budget(Some(20)), MIN_HANDSHAKES);
        assert_eq!(budget(None), UNLIMITED_HANDSHAKES);
        assert_eq!(budget(Some(u64::MAX)), UNLIMITED_HANDSHAKES);
    }
}
