//! The accounting of one UDP stream: the [`Meter`] its thread and the interval sampler share, and the
//! receiver's [`Ledger`] of loss, reordering, duplicates and RFC 3550 jitter.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::protocol::{FLAG_END, Header, UdpCounts};

/// One UDP stream's counts, shared between the thread that moves its datagrams and the interval sampler.
#[derive(Debug)]
pub struct Meter {
    pub id: u32,
    bytes: Arc<AtomicU64>,
    /// Data datagrams sent (sender streams).
    sent: AtomicU64,
    ended: AtomicBool,
    inner: Mutex<Receiving>,
    origin: Instant,
}

#[derive(Debug, Default)]
struct Receiving {
    ledger: Ledger,
    last_arrival: Option<Instant>,
}

impl Meter {
    pub fn new(id: u32) -> Arc<Meter> {
        Arc::new(Meter {
            id,
            bytes: Arc::new(AtomicU64::new(0)),
            sent: AtomicU64::new(0),
            ended: AtomicBool::new(false),
            inner: Mutex::new(Receiving::default()),
            origin: Instant::now(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Receiving> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The byte counter the interval sampler reads (distinct payload bytes received, or bytes sent).
    pub fn bytes_counter(&self) -> Arc<AtomicU64> {
        self.bytes.clone()
    }

    /// Accounts one received datagram of this stream that arrived at `at`.
    pub fn receive(&self, h: &Header, flags: u8, len: usize, at: Instant) {
        let mut r = self.lock();
        if flags & FLAG_END != 0 {
            r.ledger.on_end(h.seq);
            self.ended.store(true, Ordering::Relaxed);
            return;
        }
        let arrival_ns = at.saturating_duration_since(self.origin).as_nanos() as u64;
        if r.ledger.on_data(h.seq, h.sent_ns, arrival_ns) != Arrival::Duplicate {
            self.bytes.fetch_add(len as u64, Ordering::Relaxed);
            r.last_arrival = Some(at);
        }
    }

    /// Accounts `datagrams` data datagrams of `bytes` in all that a sender stream sent.
    pub(super) fn count_sent(&self, datagrams: u64, bytes: u64) {
        self.sent.fetch_add(datagrams, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Whether the sender's end marker arrived.
    pub fn ended(&self) -> bool {
        self.ended.load(Ordering::Relaxed)
    }

    /// When the last datagram that was not a duplicate arrived.
    pub(super) fn last_arrival(&self) -> Option<Instant> {
        self.lock().last_arrival
    }

    /// Cumulative counts: datagrams sent for a sender, the ledger's view for a receiver.
    pub fn counts(&self, sender: bool) -> UdpCounts {
        if sender {
            UdpCounts {
                packets: self.sent.load(Ordering::Relaxed),
                ..UdpCounts::default()
            }
        } else {
            self.lock().ledger.counts()
        }
    }
}

/// Sequence numbers remembered behind the highest one, for telling a late datagram from a duplicate.
const WINDOW: u64 = 1 << 16;

/// Everything a receiver knows about one stream's datagrams so far (cumulative).
#[derive(Debug, Clone)]
pub struct Ledger {
    /// One past the highest sequence number seen: what the sender has sent at least.
    next: u64,
    /// Bit ring of the last WINDOW sequence numbers below `next`: set when received.
    seen: Vec<u64>,
    received: u64,
    lost: u64,
    out_of_order: u64,
    duplicates: u64,
    jitter_ns: f64,
    last_transit: Option<i128>,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger {
            next: 0,
            seen: vec![0; (WINDOW / 64) as usize],
            received: 0,
            lost: 0,
            out_of_order: 0,
            duplicates: 0,
            jitter_ns: 0.0,
            last_transit: None,
        }
    }
}

/// What one datagram turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// New, in order (possibly after a gap, now counted lost).
    InOrder,
    /// New, but a higher sequence number came first; it is no longer lost.
    Late,
    /// Seen before; not counted again.
    Duplicate,
}

impl Ledger {
    fn bit(&mut self, seq: u64) -> (&mut u64, u64) {
        let i = seq % WINDOW;
        (&mut self.seen[(i / 64) as usize], 1u64 << (i % 64))
    }

    /// Accounts one data datagram: its sequence number, and the sender's timestamp and our arrival time, both
    /// in ns on their own clocks.
    pub fn on_data(&mut self, seq: u64, sent_ns: u64, arrival_ns: u64) -> Arrival {
        let arrival = if seq >= self.next {
            let gap = seq - self.next;
            if gap >= WINDOW {
                self.seen.fill(0);
            } else {
                for s in self.next..seq {
                    let (word, mask) = self.bit(s);
                    *word &= !mask;
                }
            }
            self.lost += gap;
            self.next = seq + 1;
            let (word, mask) = self.bit(seq);
            *word |= mask;
            Arrival::InOrder
        } else if self.next - seq > WINDOW {
            // Too old to tell: assume a late arrival, as a duplicate this old is rarer still.
            self.lost = self.lost.saturating_sub(1);
            self.out_of_order += 1;
            Arrival::Late
        } else {
            let (word, mask) = self.bit(seq);
            if *word & mask != 0 {
                self.duplicates += 1;
                return Arrival::Duplicate;
            }
            *word |= mask;
            self.lost = self.lost.saturating_sub(1);
            self.out_of_order += 1;
            Arrival::Late
        };
        self.received += 1;
        // RFC 3550 §6.4.1 and A.8: D = (Rj - Ri) - (Sj - Si) = transit_j - transit_i; J += (|D| - J) / 16.
        let transit = i128::from(arrival_ns) - i128::from(sent_ns);
        if let Some(last) = self.last_transit {
            let d = (transit - last).unsigned_abs() as f64;
            self.jitter_ns += (d - self.jitter_ns) / 16.0;
        }
        self.last_transit = Some(transit);
        arrival
    }

    /// The sender's last word: it sent `total` data datagrams, so any after the highest seen are lost too.
    pub fn on_end(&mut self, total: u64) {
        if total > self.next {
            self.lost += total - self.next;
            self.next = total;
        }
    }

    /// The cumulative counts so far.
    pub fn counts(&self) -> UdpCounts {
        UdpCounts {
            packets: self.next,
            received: self.received,
            lost: self.lost,
            out_of_order: self.out_of_order,
            duplicates: self.duplicates,
            jitter_ms: self.jitter_ns / 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds sequence numbers as a naughty sender would order them, 1 ms apart on both clocks.
    fn feed(seqs: &[u64]) -> Ledger {
        let mut l = Ledger::default();
        for (i, &s) in seqs.iter().enumerate() {
            let t = i as u64 * 1_000_000;
            l.on_data(s, s * 1_000_000, t + 50_000);
        }
        l
    }

    #[test]
    fn clean_stream_counts_everything_and_nothing_lost() {
        let l = feed(&(0..1000).collect::<Vec<_>>());
        let c = l.counts();
        assert_eq!(
            (c.packets, c.received, c.lost, c.out_of_order, c.duplicates),
            (1000, 1000, 0, 0, 0)
        );
        assert_eq!(c.jitter_ms, 0.0, "constant transit time means no jitter");
    }

    #[test]
    fn skips_swaps_and_repeats_are_told_apart() {
        // 3 and 7 skipped (lost), 5/6 swapped (one out of order, nothing lost), 8 repeated (duplicate).
        let l = feed(&[0, 1, 2, 4, 6, 5, 8, 8, 9]);
        let c = l.counts();
        assert_eq!(c.packets, 10);
        assert_eq!(c.lost, 2, "{c:?}");
        assert_eq!(c.out_of_order, 1, "{c:?}");
        assert_eq!(c.duplicates, 1, "{c:?}");
        assert_eq!(c.received, 8);
        assert_eq!(c.received + c.lost, c.packets);
    }

    #[test]
    fn late_arrival_long_after_a_gap_is_not_lost() {
        let mut seqs: Vec<u64> = (0..100).filter(|&s| s != 10).collect();
        seqs.push(10);
        let c = feed(&seqs).counts();
        assert_eq!((c.lost, c.out_of_order, c.received, c.packets), (0, 1, 100, 100));
    }

    #[test]
    fn end_marker_counts_the_lost_tail() {
        let mut l = feed(&[0, 1, 2]);
        l.on_end(10);
        let c = l.counts();
        assert_eq!((c.packets, c.lost, c.received), (10, 7, 3));
        l.on_end(5);
        assert_eq!(l.counts().lost, 7, "a stale end marker changes nothing");
    }

    #[test]
    fn huge_gap_and_window_wrap_keep_counting() {
        let c = feed(&[0, 1, WINDOW * 3, WINDOW * 3 + 1, WINDOW * 3 - 5]).counts();
        assert_eq!(c.packets, WINDOW * 3 + 2);
        assert_eq!(c.received, 5);
        assert_eq!(c.lost, WINDOW * 3 + 2 - 5);
        assert_eq!(c.out_of_order, 1);
        assert_eq!(c.duplicates, 0);
    }

    #[test]
    fn jitter_follows_rfc3550_for_alternating_transit() {
        // Transit alternates 1 ms and 2 ms: |D| = 1 ms each time after the first.
        let mut l = Ledger::default();
        for i in 0..4u64 {
            let extra = if i % 2 == 0 { 1_000_000 } else { 2_000_000 };
            l.on_data(i, i * 10_000_000, i * 10_000_000 + extra);
        }
        let want = 1.0 * (1.0 - (15.0f64 / 16.0).powi(3));
        assert!((l.counts().jitter_ms - want).abs() < 1e-9, "{}", l.counts().jitter_ms);
    }
}
