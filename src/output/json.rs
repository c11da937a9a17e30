//! The `-J` exporter: a kind's document as pretty JSON, and the pieces every document shares (when, to whom,
//! which server; the header of a probe run's document).

use serde::{Serialize, Serializer};

use super::{Report, RunMeta};

/// The document of `outcome` as pretty JSON text.
pub fn render<R: Report>(outcome: &R, meta: &RunMeta) -> String {
    serde_json::to_string_pretty(&outcome.document(meta)).expect("the document always serializes")
}

/// An `f64` as cJSON (iperf3's JSON writer) writes it: a whole number without a fraction (`2`, not `2.0`).
pub fn number<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

/// [`number`] for an optional field.
pub fn opt_number<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) => number(x, s),
        None => s.serialize_none(),
    }
}

/// `saf-net VERSION`, as every document's `start.version` says it.
pub fn version() -> String {
    format!("saf-net {}", env!("CARGO_PKG_VERSION"))
}

/// When a run started, as iperf3 writes it: `time` in its format (`Fri, 04 Dec 2026 08:30:50 GMT`), seconds
/// since the epoch. The RFC 3339 time is each document's `saf_net.time`.
#[derive(Debug, Serialize)]
pub struct Timestamp {
    pub time: String,
    pub timesecs: u64,
}

impl Timestamp {
    pub fn of(t: std::time::SystemTime) -> Timestamp {
        let secs = t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Timestamp {
            time: iperf3_time(secs),
            timesecs: secs,
        }
    }
}

/// The `saf_net` header of a cluster kind's `-J` document (mesh, collective): which saf-net, which kind and run.
#[derive(Debug, Serialize)]
pub struct RunHeader {
    pub version: &'static str,
    pub kind: &'static str,
    pub run_id: String,
    pub label: Option<String>,
    pub profile: Option<String>,
    pub time: String,
    pub complete: bool,
}

impl RunHeader {
    pub fn new(kind: &'static str, meta: &RunMeta, complete: bool) -> RunHeader {
        RunHeader {
            version: env!("CARGO_PKG_VERSION"),
            kind,
            run_id: meta.run_id.clone(),
            label: meta.label.clone(),
            profile: meta.profile.clone(),
            time: rfc3339(meta.time),
            complete,
        }
    }
}
/// `t` in RFC 3339 (UTC, whole seconds), as `saf_net.time` keeps it.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Seconds since the epoch in iperf3's `"%a, %d %b %Y %H:%M:%S GMT"` (the HTTP date format).
pub fn iperf3_time(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let rfc = humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs));
    // `YYYY-MM-DDTHH:MM:SSZ`: the calendar arithmetic is humantime's.
    let text = rfc.to_string();
    let month: usize = text[5..7].parse().unwrap_or(1);
    let weekday = DAYS[((secs / 86_400) % 7) as usize];
    format!(
        "{weekday}, {} {} {} {} GMT",
        &text[8..10],
        MONTHS[month.clamp(1, 12) - 1],
        &text[0..4],
        &text[11..19]
    )
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
    /// `latency --busy-poll`: how long the prober spun for each answer; absent when it slept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub busy_poll_microseconds: Option<u64>,
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
    /// When the run started, RFC 3339 (`start.timestamp.time` is in iperf3's format).
    pub time: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iperf3_time_is_the_http_date() {
        assert_eq!(iperf3_time(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(iperf3_time(1_796_373_050), "Fri, 04 Dec 2026 08:30:50 GMT");
        assert_eq!(iperf3_time(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
    }
}
