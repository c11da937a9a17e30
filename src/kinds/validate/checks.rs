//! The PASS/FAIL checks of `saf-net validate`: each measured figure against the profile's thresholds (pure).

use serde::Serialize;

/// One PASS/FAIL line: what was measured, against what.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub name: String,
    pub measured: Option<f64>,
    pub threshold: f64,
    pub unit: &'static str,
    /// "at least" or "at most".
    pub rule: &'static str,
    pub pass: bool,
}

impl Check {
    /// Passes when the measurement is at least `threshold`.
    pub fn at_least(name: &str, measured: Option<f64>, threshold: f64, unit: &'static str) -> Check {
        let pass = measured.is_some_and(|m| m >= threshold);
        Check {
            name: name.into(),
            measured,
            threshold,
            unit,
            rule: "at least",
            pass,
        }
    }

    /// Passes when the measurement is at most `threshold`.
    pub fn at_most(name: &str, measured: Option<f64>, threshold: f64, unit: &'static str) -> Check {
        let pass = measured.is_some_and(|m| m <= threshold);
        Check {
            name: name.into(),
            measured,
            threshold,
            unit,
            rule: "at most",
            pass,
        }
    }

    pub fn line(&self) -> String {
        let m = self
            .measured
            .map_or("not measured".to_string(), |m| format!("{m:.1} {}", self.unit));
        let verdict = if self.pass { "PASS" } else { "FAIL" };
        format!(
            "{verdict}  {:<34} {m:>18}   ({} {:.1} {})",
            self.name, self.rule, self.threshold, self.unit
        )
    }
}

/// True when every check passed.
pub fn all_pass(checks: &[Check]) -> bool {
    !checks.is_empty() && checks.iter().all(|c| c.pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_compare_and_unmeasured_fails() {
        assert!(Check::at_least("g", Some(900.0), 894.4, "Mbit/s").pass);
        assert!(!Check::at_least("g", Some(800.0), 894.4, "Mbit/s").pass);
        assert!(!Check::at_least("g", None, 1.0, "x").pass);
        assert!(Check::at_most("rtt", Some(900.0), 1000.0, "µs").pass);
        assert!(!Check::at_most("rtt", Some(1001.0), 1000.0, "µs").pass);
        assert!(all_pass(&[Check::at_least("a", Some(2.0), 1.0, "x")]));
        assert!(!all_pass(&[]));
        assert!(
            Check::at_least("path MTU", Some(1500.0), 9000.0, "bytes")
                .line()
                .starts_with("FAIL")
        );
    }
}
