//! At most one log line per second for events that can come in floods (accept failures, evictions).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The shortest time between two lines about the same kind of event.
pub const LINE_EVERY: Duration = Duration::from_secs(1);

/// Counts events; says when the next line may be printed and how many events it covers.
#[derive(Debug, Default)]
pub struct Throttle {
    state: Mutex<(Option<Instant>, u64)>,
}

impl Throttle {
    /// Counts one event at `now`; Some(events since the last line, this one included) when a line is due.
    pub fn hit(&self, now: Instant) -> Option<u64> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (last, count) = &mut *st;
        *count += 1;
        if last.is_some_and(|t| now.duration_since(t) < LINE_EVERY) {
            return None;
        }
        *last = Some(now);
        Some(std::mem::take(count))
    }
}

/// " (and N more since the last line)" when a line covers more than one event.
pub fn more(n: u64) -> String {
    if n > 1 {
        format!(" (and {} more since the last line)", n - 1)
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_second_counting_the_rest() {
        let t = Throttle::default();
        let t0 = Instant::now();
        assert_eq!(t.hit(t0), Some(1));
        for i in 1..10 {
            assert_eq!(t.hit(t0 + Duration::from_millis(100 * i)), None);
        }
        assert_eq!(t.hit(t0 + Duration::from_millis(1000)), Some(10));
        assert_eq!(t.hit(t0 + Duration::from_millis(1500)), None);
        assert_eq!(more(1), "");
        assert_eq!(more(10), " (and 9 more since the last line)");
    }
}
