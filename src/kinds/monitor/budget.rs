//! `--budget 20G/day`: how many bytes the monitor's throughput samples may move per day (or hour). A sample
//! starts only when its worst case fits what remains of the window, so the budget is never exceeded.

use crate::units::parse_size;

/// How long a budget window lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Hour,
    Day,
}

impl Window {
    pub fn seconds(self) -> u64 {
        match self {
            Window::Hour => 3600,
            Window::Day => 86_400,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Window::Hour => "h",
            Window::Day => "day",
        }
    }
}

/// Bytes allowed per window; `off` allows no throughput samples at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub bytes: u64,
    pub window: Window,
}

impl Budget {
    /// Parses `SIZE/day` or `SIZE/h` (`20G/day`, `500M/h`; K, M, G, T binary, as `-n` reads them), or `off`
    /// (no throughput samples).
    pub fn parse(text: &str) -> Result<Budget, String> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("off") || t == "0" {
            return Ok(Budget {
                bytes: 0,
                window: Window::Day,
            });
        }
        let bad =
            |why: &str| format!("--budget '{text}' {why}; give SIZE/day or SIZE/h, e.g. --budget 20G/day, or off");
        let (size, per) = t.split_once('/').ok_or_else(|| bad("has no window"))?;
        let window = match per.trim().to_ascii_lowercase().as_str() {
            "day" | "d" => Window::Day,
            "h" | "hour" => Window::Hour,
            _ => return Err(bad("has an unknown window")),
        };
        let bytes = parse_size(size.trim()).map_err(|e| bad(&format!("has a bad size ({e})")))?;
        Ok(Budget { bytes, window })
    }

    pub fn describe(&self) -> String {
        if self.bytes == 0 {
            return "off (no throughput samples)".into();
        }
        format!("{}/{}", crate::units::Bytes(self.bytes), self.window.name())
    }
}

/// What the current window has spent; reset when a new window starts.
#[derive(Debug, Clone)]
pub struct Ledger {
    budget: Budget,
    window_start: u64,
    spent: u64,
}

impl Ledger {
    pub fn new(budget: Budget) -> Ledger {
        Ledger {
            budget,
            window_start: 0,
            spent: 0,
        }
    }

    /// Takes `worst_case` bytes at unix time `now` if they fit the window's remainder; false leaves it unspent.
    pub fn reserve(&mut self, now: u64, worst_case: u64) -> bool {
        self.roll(now);
        if worst_case == 0 || self.spent.saturating_add(worst_case) > self.budget.bytes {
            return false;
        }
        self.spent += worst_case;
        true
    }

    /// Gives back what a reserved sample did not use (it moved `used` of its `reserved` bytes).
    pub fn settle(&mut self, now: u64, reserved: u64, used: u64) {
        self.roll(now);
        if used < reserved {
            self.spent = self.spent.saturating_sub(reserved - used);
        }
    }

    /// Bytes left in the window that holds `now`.
    pub fn remaining(&mut self, now: u64) -> u64 {
        self.roll(now);
        self.budget.bytes.saturating_sub(self.spent)
    }

    fn roll(&mut self, now: u64) {
        let w = self.budget.window.seconds();
        let start = now - now % w;
        if start != self.window_start {
            self.window_start = start;
            self.spent = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_parse() {
        let b = Budget::parse("20G/day").unwrap();
        assert_eq!((b.bytes, b.window), (parse_size("20G").unwrap(), Window::Day));
        assert_eq!(Budget::parse("500M/h").unwrap().window, Window::Hour);
        assert_eq!(Budget::parse("off").unwrap().bytes, 0);
        for bad in ["20G", "20G/week", "lots/day", "/day", ""] {
            let e = Budget::parse(bad).unwrap_err();
            assert!(
                e.starts_with("--budget") && e.contains("SIZE/day") && !e.contains('\n'),
                "{e}"
            );
        }
    }

    #[test]
    fn a_window_never_spends_more_than_its_budget() {
        let mut l = Ledger::new(Budget::parse("10M/h").unwrap());
        let t0 = 7200;
        assert!(l.reserve(t0, 6_000_000));
        assert!(!l.reserve(t0 + 1, 6_000_000), "the second would exceed 10M");
        l.settle(t0 + 2, 6_000_000, 2_000_000);
        assert_eq!(l.remaining(t0 + 3), 10 * (1 << 20) - 2_000_000);
        assert!(l.reserve(t0 + 4, 6_000_000));
        assert!(l.reserve(t0 + 3600, 10_000_000), "a new hour starts empty");
        assert!(!Ledger::new(Budget::parse("off").unwrap()).reserve(t0, 1));
    }
}
