//! When each probe of each peer is due. Time comes from a [`Clock`], so a test can run a whole day of the
//! schedule in simulated time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The four probe kinds, each on its own period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Probe {
    Rtt,
    Facts,
    Mtu,
    Throughput,
}

impl Probe {
    pub const ALL: [Probe; 4] = [Probe::Rtt, Probe::Facts, Probe::Mtu, Probe::Throughput];

    /// The `probe` label and the `/probe?module=` name.
    pub fn name(self) -> &'static str {
        match self {
            Probe::Rtt => "rtt",
            Probe::Facts => "facts",
            Probe::Mtu => "mtu",
            Probe::Throughput => "throughput",
        }
    }

    pub fn from_module(m: &str) -> Option<Probe> {
        Probe::ALL.into_iter().find(|p| p.name() == m)
    }
}

/// The period of each probe kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Periods {
    pub rtt: Duration,
    pub facts: Duration,
    pub mtu: Duration,
    pub throughput: Duration,
}

impl Periods {
    pub fn of(&self, p: Probe) -> Duration {
        match p {
            Probe::Rtt => self.rtt,
            Probe::Facts => self.facts,
            Probe::Mtu => self.mtu,
            Probe::Throughput => self.throughput,
        }
    }
}

/// Wall-clock time in seconds since the Unix epoch.
pub trait Clock: Send + Sync {
    fn now(&self) -> f64;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> f64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    }
}

/// How long after the start the first throughput sample runs.
pub const FIRST_SAMPLE_DELAY: Duration = Duration::from_secs(5);

/// When each (peer, probe) runs next: all at once at the start, then every period after the last start.
#[derive(Debug, Clone)]
pub struct Schedule {
    periods: Periods,
    /// Next due time per peer, in [`Probe::ALL`]'s order.
    next: Vec<[f64; 4]>,
}

impl Schedule {
    pub fn new(peers: usize, periods: Periods, start: f64) -> Schedule {
        // The sample waits a little, so it does not meet the first MTU probe at the peer's slot.
        let first = [start, start, start, start + FIRST_SAMPLE_DELAY.as_secs_f64()];
        Schedule {
            periods,
            next: vec![first; peers],
        }
    }

    /// Every (peer, probe) due at `now`, each moved to its next period.
    pub fn take_due(&mut self, now: f64) -> Vec<(usize, Probe)> {
        let mut due = Vec::new();
        for (peer, next) in self.next.iter_mut().enumerate() {
            for (i, p) in Probe::ALL.into_iter().enumerate() {
                if next[i] <= now {
                    let period = self.periods.of(p).as_secs_f64();
                    // A late start does not pile up missed runs: the next one is a period after now.
                    next[i] = (next[i] + period).max(now + period * 0.5);
                    due.push((peer, p));
                }
            }
        }
        due
    }

    /// The earliest time anything is due.
    pub fn next_due(&self) -> f64 {
        self.next
            .iter()
            .flat_map(|n| n.iter().copied())
            .fold(f64::INFINITY, f64::min)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::super::budget::{Budget, Ledger};
    use super::*;

    /// A clock the test moves.
    struct TestClock(Mutex<f64>);

    impl Clock for TestClock {
        fn now(&self) -> f64 {
            *self.0.lock().unwrap()
        }
    }

    fn periods() -> Periods {
        Periods {
            rtt: Duration::from_secs(1),
            facts: Duration::from_secs(60),
            mtu: Duration::from_secs(600),
            throughput: Duration::from_secs(1800),
        }
    }

    #[test]
    fn each_probe_runs_on_its_period() {
        let mut s = Schedule::new(2, periods(), 0.0);
        let first = s.take_due(0.0);
        assert_eq!(first.len(), 6, "everything but the samples at the start");
        assert!(s.take_due(0.5).is_empty());
        assert_eq!(s.take_due(1.0), vec![(0, Probe::Rtt), (1, Probe::Rtt)]);
        assert_eq!(s.next_due(), 2.0);
        let at5 = s.take_due(5.0);
        assert_eq!(
            at5.iter().filter(|(_, p)| *p == Probe::Throughput).count(),
            2,
            "{at5:?}"
        );
        assert!(!s.take_due(59.0).iter().any(|(_, p)| *p != Probe::Rtt));
        assert!(s.take_due(61.0).contains(&(1, Probe::Facts)));
    }

    /// A day of the default schedule for 3 peers with a test clock: every throughput sample reserves its worst
    /// case (a 10 GbE ceiling for 2 s, ~2.5 GB) first; the day's total never passes `--budget 20G/day`, and
    /// the budget is what limits the samples (48 × 3 were due).
    #[test]
    fn a_simulated_day_never_exceeds_the_budget() {
        let clock = TestClock(Mutex::new(1_700_006_400.0)); // a day boundary (a multiple of 86,400)
        let budget = Budget::parse("20G/day").unwrap();
        let mut ledger = Ledger::new(budget);
        let mut s = Schedule::new(3, periods(), clock.now());
        let worst = (9_900.0e6 / 8.0 * 2.0) as u64;
        let used = worst * 97 / 100;
        let (mut spent, mut samples, mut due_samples) = (0u64, 0u32, 0u32);
        let end = clock.now() + 86_400.0;
        while clock.now() < end {
            let now = clock.now();
            for (_, p) in s.take_due(now) {
                if p == Probe::Throughput {
                    due_samples += 1;
                    if ledger.reserve(now as u64, worst) {
                        ledger.settle(now as u64, worst, used);
                        spent += used;
                        samples += 1;
                    }
                }
            }
            *clock.0.lock().unwrap() = s.next_due();
        }
        assert_eq!(due_samples, 48 * 3);
        assert!(spent <= budget.bytes, "spent {spent} of {}", budget.bytes);
        assert!(samples >= 8 && samples < due_samples, "{samples} samples ran");
        assert!(
            ledger.remaining(end as u64) == budget.bytes,
            "the next day starts with the whole budget"
        );
    }

    #[test]
    fn a_budget_too_small_for_any_sample_starts_none() {
        let mut ledger = Ledger::new(Budget::parse("1M/day").unwrap());
        let mut s = Schedule::new(1, periods(), 0.0);
        let mut now = 0.0;
        while now < 86_400.0 {
            for (_, p) in s.take_due(now) {
                assert!(p != Probe::Throughput || !ledger.reserve(now as u64, 250_000_000));
            }
            now = s.next_due();
        }
    }
}
