//! Value parsers shared by the argument structs: sizes, rates, seconds, CPU lists, Mbit/s.

use crate::units;

pub(super) fn size(text: &str) -> Result<u64, String> {
    units::parse_size(text).map_err(|e| e.to_string())
}

pub(super) fn rate(text: &str) -> Result<u64, String> {
    units::parse_rate(text).map_err(|e| e.to_string())
}

pub(super) fn affinity(text: &str) -> Result<(u32, Option<u32>), String> {
    let bad = || format!("'{text}' is not N or N,M (CPU numbers)");
    match text.split_once(',') {
        Some((a, b)) => Ok((
            a.trim().parse().map_err(|_| bad())?,
            Some(b.trim().parse().map_err(|_| bad())?),
        )),
        None => Ok((text.trim().parse().map_err(|_| bad())?, None)),
    }
}

pub(super) fn seconds(text: &str) -> Result<f64, String> {
    units::parse_seconds(text)
        .map(|d| d.as_secs_f64())
        .map_err(|e| e.to_string())
}

pub(super) fn mbps(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("\"{text}\" is not a positive rate in Mbit/s (e.g. 945)")),
    }
}
