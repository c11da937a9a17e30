//! Per-stream UDP figures at each interval tick: deltas of a stream's cumulative datagram counts.

use crate::protocol::UdpCounts;

/// Turns one stream's cumulative counts into per-interval and measured-period figures.
#[derive(Debug, Default, Clone)]
pub struct UdpTracker {
    at_interval: UdpCounts,
    at_measure: Option<UdpCounts>,
    last: Option<UdpCounts>,
}

/// Counts in `now` since `base`; the jitter is the running estimate at `now`.
///
/// A datagram counted lost in one interval and arriving in the next lowers the cumulative loss; the later
/// interval then shows no loss rather than a negative one.
fn since(now: &UdpCounts, base: &UdpCounts) -> UdpCounts {
    UdpCounts {
        packets: now.packets.saturating_sub(base.packets),
        received: now.received.saturating_sub(base.received),
        lost: now.lost.saturating_sub(base.lost),
        out_of_order: now.out_of_order.saturating_sub(base.out_of_order),
        duplicates: now.duplicates.saturating_sub(base.duplicates),
        jitter_ms: now.jitter_ms,
    }
}

impl UdpTracker {
    /// The interval that ends now; `measuring` is false inside the omitted period.
    pub fn sample(&mut self, now: UdpCounts, measuring: bool) -> UdpCounts {
        let start = self.at_interval;
        self.at_interval = now;
        if !measuring {
            self.at_measure = Some(now);
        } else if self.at_measure.is_none() {
            self.at_measure = Some(start);
        }
        self.last = Some(now);
        since(&now, &start)
    }

    /// Counts over the measured period, up to the last sample.
    pub fn totals(&self) -> Option<UdpCounts> {
        let last = self.last?;
        Some(since(&last, &self.at_measure.unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(packets: u64, received: u64, lost: u64) -> UdpCounts {
        UdpCounts {
            packets,
            received,
            lost,
            jitter_ms: packets as f64,
            ..UdpCounts::default()
        }
    }

    #[test]
    fn intervals_are_deltas_and_totals_skip_the_omitted_part() {
        let mut t = UdpTracker::default();
        let omitted = t.sample(at(100, 90, 10), false);
        assert_eq!((omitted.packets, omitted.lost), (100, 10));
        let first = t.sample(at(250, 238, 12), true);
        assert_eq!((first.packets, first.received, first.lost), (150, 148, 2));
        // A datagram counted lost before arrives late: the loss goes down, the interval shows none.
        let second = t.sample(at(300, 289, 11), true);
        assert_eq!((second.packets, second.received, second.lost), (50, 51, 0));
        assert_eq!(second.jitter_ms, 300.0);
        let total = t.totals().unwrap();
        assert_eq!((total.packets, total.received, total.lost), (200, 199, 1));
        assert_eq!(UdpTracker::default().totals(), None);
    }

    #[test]
    fn without_omit_totals_start_at_zero() {
        let mut t = UdpTracker::default();
        t.sample(at(10, 10, 0), true);
        t.sample(at(20, 19, 1), true);
        assert_eq!(t.totals().unwrap().packets, 20);
    }
}
