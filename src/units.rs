//! Byte sizes, bit rates and durations: parsing ("128K", "1.5G") and human formatting.

use std::fmt;
use std::time::Duration;

/// Why a size or duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("'{0}' is not a size: use a number with an optional K, M, G or T suffix, e.g. 128K or 1G")]
    Size(String),
    #[error("'{0}' is not a duration in seconds: use a number such as 10 or 0.5")]
    Seconds(String),
    #[error(
        "'{0}' is not a bit rate: use bits per second with an optional K, M or G suffix (1000-based), e.g. 200M or 9.4G"
    )]
    Rate(String),
}

/// Parses a rate in bits per second with a decimal suffix (K = 1000, as iperf3's -b): "200M", "9.4G".
pub fn parse_rate(text: &str) -> Result<u64, ParseError> {
    let err = || ParseError::Rate(text.to_string());
    let t = text.trim();
    let (num, mult) = match t.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => {
            let mult = match c.to_ascii_uppercase() {
                'K' => 1e3,
                'M' => 1e6,
                'G' => 1e9,
                'T' => 1e12,
                _ => return Err(err()),
            };
            (&t[..t.len() - 1], mult)
        }
        _ => (t, 1.0),
    };
    let f: f64 = num.parse().map_err(|_| err())?;
    let v = f * mult;
    if num.starts_with(['-', '+']) || !v.is_finite() || !(0.0..1e15).contains(&v) {
        return Err(err());
    }
    Ok(v.round() as u64)
}

/// Parses a byte size with an optional binary suffix (K = 1024, as iperf3 does): "128K", "1.5M", "2G".
pub fn parse_size(text: &str) -> Result<u64, ParseError> {
    let err = || ParseError::Size(text.to_string());
    let t = text.trim();
    let t = t.strip_suffix(['B', 'b']).unwrap_or(t);
    let (num, mult) = match t.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => {
            let mult: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(err()),
            };
            (&t[..t.len() - 1], mult)
        }
        _ => (t, 1),
    };
    if num.is_empty() || num.starts_with(['-', '+']) {
        return Err(err());
    }
    if let Ok(n) = num.parse::<u64>() {
        return n.checked_mul(mult).ok_or_else(err);
    }
    let f: f64 = num.parse().map_err(|_| err())?;
    let v = f * mult as f64;
    if !v.is_finite() || v < 0.0 || v >= u64::MAX as f64 {
        return Err(err());
    }
    Ok(v.round() as u64)
}

/// Parses a non-negative number of seconds ("10", "0.5").
pub fn parse_seconds(text: &str) -> Result<Duration, ParseError> {
    let err = || ParseError::Seconds(text.to_string());
    let f: f64 = text.trim().parse().map_err(|_| err())?;
    if !f.is_finite() || !(0.0..=1.0e9).contains(&f) {
        return Err(err());
    }
    Ok(Duration::from_secs_f64(f))
}

/// A message size as nccl-tests-style sweeps name it: "1K", "256M", "1G" when it is a whole number of those, else
/// bytes ("1000003").
pub fn short_size(bytes: u64) -> String {
    for (shift, unit) in [(30, "G"), (20, "M"), (10, "K")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// A count of bytes, displayed iperf3-style with binary prefixes ("1.10 GBytes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0 as f64;
        let (v, unit) = if b >= (1u64 << 30) as f64 {
            (b / (1u64 << 30) as f64, "GBytes")
        } else if b >= (1u64 << 20) as f64 {
            (b / (1u64 << 20) as f64, "MBytes")
        } else if b >= 1024.0 {
            (b / 1024.0, "KBytes")
        } else {
            (b, "Bytes")
        };
        if v >= 100.0 || unit == "Bytes" {
            write!(f, "{v:.0} {unit}")
        } else {
            write!(f, "{v:.2} {unit}")
        }
    }
}

/// A bit rate in bits per second, displayed in Mbit/s below 1 Gbit/s and Gbit/s above.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct BitsPerSec(pub f64);

impl BitsPerSec {
    /// Rate of `bytes` moved over `seconds`; zero when no time passed.
    pub fn from_bytes(bytes: u64, seconds: f64) -> Self {
        if seconds > 0.0 {
            BitsPerSec(bytes as f64 * 8.0 / seconds)
        } else {
            BitsPerSec(0.0)
        }
    }

    pub fn mbps(self) -> f64 {
        self.0 / 1e6
    }
}

impl fmt::Display for BitsPerSec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.mbps();
        if m >= 1000.0 {
            write!(f, "{:.2} Gbit/s", m / 1000.0)
        } else if m >= 100.0 {
            write!(f, "{m:.1} Mbit/s")
        } else {
            write!(f, "{m:.2} Mbit/s")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        let cases = [
            ("0", 0),
            ("128", 128),
            ("128K", 128 * 1024),
            ("128k", 128 * 1024),
            ("1M", 1 << 20),
            ("1.5M", 3 << 19),
            ("2G", 2 << 30),
            ("1T", 1 << 40),
            ("64KB", 64 << 10),
        ];
        for (text, want) in cases {
            assert_eq!(parse_size(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn bad_sizes_are_refused() {
        for text in ["", "K", "abc", "12X", "-5", "1.2.3", "99999999999999999999", "nan"] {
            assert!(parse_size(text).is_err(), "{text} should not parse");
        }
    }

    #[test]
    fn rates_parse_with_decimal_suffixes() {
        assert_eq!(parse_rate("200M"), Ok(200_000_000));
        assert_eq!(parse_rate("9.4G"), Ok(9_400_000_000));
        assert_eq!(parse_rate("1000"), Ok(1000));
        assert_eq!(parse_rate("0"), Ok(0));
        for bad in ["", "fast", "-1M", "12Q", "inf"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn seconds_parse() {
        assert_eq!(parse_seconds("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("ten").is_err());
        assert!(parse_seconds("inf").is_err());
    }

    #[test]
    fn rates_and_bytes_format() {
        assert_eq!(BitsPerSec(945.11e6).to_string(), "945.1 Mbit/s");
        assert_eq!(BitsPerSec(9.9004e9).to_string(), "9.90 Gbit/s");
        assert_eq!(BitsPerSec(12.5e6).to_string(), "12.50 Mbit/s");
        assert_eq!(Bytes(1 << 30).to_string(), "1.00 GBytes");
        assert_eq!(Bytes(512).to_string(), "512 Bytes");
        assert_eq!(BitsPerSec::from_bytes(125_000_000, 1.0).mbps(), 1000.0);
        assert_eq!(BitsPerSec::from_bytes(1, 0.0).0, 0.0);
        assert_eq!(
            [1024, 256 << 20, 1 << 30, 1536, 1_000_003].map(short_size),
            ["1K", "256M", "1G", "1536", "1000003"].map(String::from)
        );
    }
}
