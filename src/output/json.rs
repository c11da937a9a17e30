//! The `-J` exporter: a kind's document as pretty JSON, and the pieces every document shares (when, to whom,
//! which server; the header of a probe run's document).

use serde::Serialize;

use super::{Report, RunMeta};

/// The document of `outcome` as pretty JSON text.
pub fn render<R: Report>(outcome: &R, meta: &RunMeta) -> String {
    serde_json::to_string_pretty(&outcome.document(meta)).expect("the document always serializes")
}

/// `saf-net VERSION`, as every document's `start.version` says it.
pub fn version() -> String {
    format!("saf-net {}", env!("CARGO_PKG_VERSION"))
}

#[derive(Debug, Serialize)]
pub struct Timestamp {
    pub time: String,
    pub timesecs: u64,
}

impl Timestamp {
    pub fn of(t: std::time::SystemTime) -> Timestamp {
        Timestamp {
            time: humantime::format_rfc3339_seconds(t).to_string(),
            timesecs: t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ConnectingTo {
    pub host: String,
    pub port: u16,
}

impl ConnectingTo {
    pub fn of(meta: &RunMeta) -> ConnectingTo {
        ConnectingTo {
            host: meta.host.clone(),
            port: meta.port,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ServerInfo {
    pub address: String,
    pub version: String,
}

/// The `start` of a probe run's document (latency, MTU).
#[derive(Debug, Serialize)]
pub struct ProbeStart {
    pub version: String,
    pub timestamp: Timestamp,
    pub connecting_to: ConnectingTo,
    pub test_start: ProbeTestStart,
}

#[derive(Debug, Serialize)]
pub struct ProbeTestStart {
    pub protocol: &'static str,
    pub mode: &'static str,
    pub size_bytes: usize,
    pub interval_seconds: f64,
    pub count: Option<u64>,
    pub duration_seconds: Option<f64>,
    pub timeout_seconds: f64,
}

impl ProbeStart {
    pub fn new(meta: &RunMeta, test_start: ProbeTestStart) -> ProbeStart {
        ProbeStart {
            version: version(),
            timestamp: Timestamp::of(meta.time),
            connecting_to: ConnectingTo::of(meta),
            test_start,
        }
    }
}

/// saf-net's own fields of a probe run's document (latency, MTU).
#[derive(Debug, Serialize)]
pub struct ProbeSafNet {
    pub version: &'static str,
    pub kind: &'static str,
    pub run_id: String,
    pub label: Option<String>,
    pub profile: Option<String>,
    pub complete: bool,
    pub server: ServerInfo,
    pub warnings: Vec<String>,
}
