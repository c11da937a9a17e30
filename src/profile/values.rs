//! The checks of a profile's keys that a type alone does not make: each names the key's allowed range,
//! and serde puts the file's line and column in front.

use serde::Deserialize;
use serde::de::{self, Deserializer};

use super::SCHEMA_VERSION;

pub(super) fn schema_version<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = u32::deserialize(d)?;
    if v != SCHEMA_VERSION {
        return Err(de::Error::custom(format!(
            "schema_version {v} is not supported; this saf-net reads schema_version = {SCHEMA_VERSION}"
        )));
    }
    Ok(v)
}

pub(super) fn line_rate<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !(v.is_finite() && v > 0.0 && v <= 1_000_000.0) {
        return Err(de::Error::custom(format!(
            "line_rate_mbps {v} must be above 0 and at most 1000000 (1 Tbit/s)"
        )));
    }
    Ok(v)
}

const MTU_RANGE: std::ops::RangeInclusive<u32> = 576..=65_535;

fn check_mtu<E: de::Error>(v: u32) -> Result<u32, E> {
    if !MTU_RANGE.contains(&v) {
        return Err(E::custom(format!(
            "MTU {v} is outside {}..={}",
            MTU_RANGE.start(),
            MTU_RANGE.end()
        )));
    }
    Ok(v)
}

pub(super) fn mtu<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    check_mtu(u32::deserialize(d)?)
}

pub(super) fn opt_mtu<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    check_mtu(u32::deserialize(d)?).map(Some)
}

pub(super) fn opt_algorithm<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = String::deserialize(d)?;
    if v.is_empty()
        || v.len() > 15
        || !v
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(de::Error::custom(format!(
            "'{v}' is not a congestion control name (1 to 15 of a-z, 0-9, _; e.g. cubic, reno, bbr)"
        )));
    }
    Ok(Some(v))
}

pub(super) fn opt_tbf_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = u64::deserialize(d)?;
    if !(1_600..=1 << 32).contains(&v) {
        return Err(de::Error::custom(format!(
            "{v} bytes is outside 1600..=4294967296 (more than one frame, at most 4 GiB)"
        )));
    }
    Ok(Some(v))
}

pub(super) fn opt_triple<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u64; 3]>, D::Error> {
    let v = <[u64; 3]>::deserialize(d)?;
    if !(v[0] <= v[1] && v[1] <= v[2]) {
        return Err(de::Error::custom(format!(
            "[{}, {}, {}] must be [min, default, max] in increasing order",
            v[0], v[1], v[2]
        )));
    }
    Ok(Some(v))
}

pub(super) fn fraction<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !(0.0..=1.0).contains(&v) {
        return Err(de::Error::custom(format!("{v} is not a fraction between 0 and 1")));
    }
    Ok(v)
}

/// The range of `[validate] max_rtt_p99_us`: above 0, at most 10 s.
pub(super) fn opt_rtt_us<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = f64::deserialize(d)?;
    if !(v.is_finite() && v > 0.0 && v <= 10_000_000.0) {
        return Err(de::Error::custom(format!(
            "max_rtt_p99_us {v} must be above 0 and at most 10000000 (10 s)"
        )));
    }
    Ok(Some(v))
}
