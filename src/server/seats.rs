//! A fixed number of seats for work that needs no test slot (echo sessions, facts lookups): taken at once
//! or not at all, never queued.

use std::sync::atomic::{AtomicUsize, Ordering};

/// At most `max` holders at once.
#[derive(Debug)]
pub(super) struct Seats {
    used: AtomicUsize,
    max: usize,
}

/// One taken seat; given back when dropped.
pub(super) struct Seat<'a>(&'a Seats);

impl Drop for Seat<'_> {
    fn drop(&mut self) {
        self.0.used.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Seats {
    pub fn new(max: usize) -> Self {
        Seats {
            used: AtomicUsize::new(0),
            max,
        }
    }

    /// A seat if one is free now.
    pub fn take(&self) -> Option<Seat<'_>> {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.max).then_some(n + 1))
            .ok()
            .map(|_| Seat(self))
    }

    pub fn max(&self) -> usize {
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seats_are_bounded_and_given_back() {
        let seats = Seats::new(2);
        let a = seats.take().unwrap();
        let _b = seats.take().unwrap();
        assert!(seats.take().is_none(), "a third holder is turned away");
        drop(a);
        assert!(seats.take().is_some(), "a dropped seat is free again");
    }
}
