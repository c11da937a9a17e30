//! The `kind` column: which saf-net command measured the run.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The measurement kind of a history row, written as today's strings. A kind this saf-net does not know
/// (written by a newer one) is kept as [`Kind::Other`]: read, shown nowhere, rewritten unchanged by an upgrade.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Kind {
    /// `saf-net client` over TCP.
    #[default]
    Throughput,
    /// `saf-net client -u`.
    Udp,
    /// `saf-net latency`.
    Latency,
    /// `saf-net mtu`.
    Mtu,
    /// `saf-net validate`.
    Validate,
    /// `saf-net mesh`: one row per ordered pair.
    Mesh,
    /// `saf-net collective`: one row per run (its peak busbw, its nodes as `streams`).
    Collective,
    /// Any other name, as written.
    Other(String),
}

impl Kind {
    /// Every kind this saf-net writes, in the order the docs list them.
    pub const KNOWN: [Kind; 7] = [
        Kind::Throughput,
        Kind::Udp,
        Kind::Latency,
        Kind::Mtu,
        Kind::Validate,
        Kind::Mesh,
        Kind::Collective,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            Kind::Throughput => "throughput",
            Kind::Udp => "udp",
            Kind::Latency => "latency",
            Kind::Mtu => "mtu",
            Kind::Validate => "validate",
            Kind::Mesh => "mesh",
            Kind::Collective => "collective",
            Kind::Other(name) => name,
        }
    }
}

impl From<&str> for Kind {
    fn from(name: &str) -> Kind {
        Kind::KNOWN
            .into_iter()
            .find(|k| k.as_str() == name)
            .unwrap_or_else(|| Kind::Other(name.to_string()))
    }
}

impl From<String> for Kind {
    fn from(name: String) -> Kind {
        Kind::from(name.as_str())
    }
}

impl From<Kind> for String {
    fn from(kind: Kind) -> String {
        kind.as_str().to_string()
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind reads as its name, like the string column it is (`row.kind.as_deref() == Some("udp")`).
impl std::ops::Deref for Kind {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_kept() {
        for k in Kind::KNOWN {
            assert_eq!(Kind::from(k.as_str()), k);
        }
        assert_eq!(Kind::from("wifi"), Kind::Other("wifi".into()));
        assert_eq!(Kind::from("collective"), Kind::Collective);
        assert_eq!(String::from(Kind::from("wifi")), "wifi");
        let json: Kind = serde_json::from_str("\"latency\"").unwrap();
        assert_eq!(
            (json, serde_json::to_string(&Kind::Udp).unwrap()),
            (Kind::Latency, "\"udp\"".into())
        );
    }
}
