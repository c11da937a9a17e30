//! The parameter block a client sends after PARAM_EXCHANGE, with iperf3's key names.
//!
//! iperf3 reads a flag (`tcp`, `reverse`, `nodelay`, …) as set when its key is present, so flags that are off are
//! left out, never sent as `false`. Numbers are read leniently (iperf3's cJSON may write `1e+10`); unknown keys from
//! newer iperf3 versions are ignored.

use serde::{Deserialize, Serialize};

/// What a client asks of an iperf3 server. `None` and `false` fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Params {
    #[serde(default, skip_serializing_if = "is_false", deserialize_with = "de::flag")]
    pub tcp: bool,
    #[serde(default, skip_serializing_if = "is_false", deserialize_with = "de::flag")]
    pub udp: bool,
    #[serde(default, skip_serializing_if = "is_false", deserialize_with = "de::flag")]
    pub sctp: bool,
    /// Seconds omitted at the start (`-O`).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_u64")]
    pub omit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_i64")]
    pub server_affinity: Option<i64>,
    /// Test length in seconds (`-t`); 0 when the test ends by bytes or blocks.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_u64")]
    pub time: Option<u64>,
    /// Bytes to send (`-n`).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_u64")]
    pub num: Option<u64>,
    /// Blocks to send (`-k`).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_u64")]
    pub blockcount: Option<u64>,
    #[serde(
        rename = "MSS",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_u64"
    )]
    pub mss: Option<u64>,
    #[serde(default, skip_serializing_if = "is_false", deserialize_with = "de::flag")]
    pub nodelay: bool,
    /// Streams per direction (`-P`).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_u64")]
    pub parallel: Option<u64>,
    #[serde(default, skip_serializing_if = "is_false", deserialize_with = "de::flag")]
    pub reverse: bool,
    #[serde(default, skip_serializing_if = "is_false", deserialize_with = "de::flag")]
    pub bidirectional: bool,
    /// Socket buffer size in bytes (`-w`).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_u64")]
    pub window: Option<u64>,
    /// Block size in bytes (`-l`).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_u64")]
    pub len: Option<u64>,
    /// Target rate in bit/s per stream (`-b`).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_u64")]
    pub bandwidth: Option<u64>,
    /// Fair-queue pacing rate in bit/s (`--fq-rate`).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_u64")]
    pub fqrate: Option<u64>,
    /// Pacing timer in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_u64")]
    pub pacing_timer: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_u64")]
    pub burst: Option<u64>,
    #[serde(
        rename = "TOS",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_u64"
    )]
    pub tos: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_u64")]
    pub flowlabel: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_data: Option<String>,
    /// Congestion control asked for (`-C`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub congestion: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub congestion_used: Option<String>,
    #[serde(default, skip_serializing_if = "is_false", deserialize_with = "de::flag")]
    pub get_server_output: bool,
    /// UDP headers carry a 64-bit packet counter instead of a 32-bit one.
    #[serde(default, skip_serializing_if = "is_false", deserialize_with = "de::flag")]
    pub udp_counters_64bit: bool,
    #[serde(default, skip_serializing_if = "is_false", deserialize_with = "de::flag")]
    pub repeating_payload: bool,
    #[serde(default, skip_serializing_if = "is_false", deserialize_with = "de::flag")]
    pub zerocopy: bool,
    #[serde(default, skip_serializing_if = "is_false", deserialize_with = "de::flag")]
    pub dont_fragment: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authtoken: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_version: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Lenient readers for iperf3's cJSON numbers and presence flags.
pub(super) mod de {
    use serde::{Deserialize, Deserializer, de::Error};
    use serde_json::Value;

    /// A flag is on when present, unless it is literally `false`, `0` or `null`.
    pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Bool(b) => b,
            Value::Null => false,
            Value::Number(n) => n.as_f64() != Some(0.0),
            _ => true,
        })
    }

    fn number<E: Error>(v: &Value) -> Result<f64, E> {
        v.as_f64()
            .ok_or_else(|| E::custom(format!("expected a number, got {v}")))
    }

    /// A whole non-negative number, written as an integer or a float (`1e+10`).
    pub fn u64_of<E: Error>(v: &Value) -> Result<u64, E> {
        if let Some(n) = v.as_u64() {
            return Ok(n);
        }
        let f = number::<E>(v)?;
        if f >= 0.0 && f.fract() == 0.0 && f < 1.8e19 {
            Ok(f as u64)
        } else {
            Err(E::custom(format!("expected a whole non-negative number, got {v}")))
        }
    }

    /// A whole number that may be negative (`-1` means "none" in iperf3's results).
    pub fn i64_of<E: Error>(v: &Value) -> Result<i64, E> {
        if let Some(n) = v.as_i64() {
            return Ok(n);
        }
        let f = number::<E>(v)?;
        if f.fract() == 0.0 && f.abs() < 9.2e18 {
            Ok(f as i64)
        } else {
            Err(E::custom(format!("expected a whole number, got {v}")))
        }
    }

    pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            v => u64_of(&v).map(Some),
        }
    }

    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            v => i64_of(&v).map(Some),
        }
    }

    pub fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        u64_of(&Value::deserialize(d)?)
    }

    pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        i64_of(&Value::deserialize(d)?)
    }

    pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        number(&Value::deserialize(d)?)
    }

    pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            v => number(&v).map(Some),
        }
    }
}
