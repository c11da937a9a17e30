//! Exporters: human text, iperf3-layout JSON, and the run history (CSV row + per-run JSON).

pub mod history;
pub mod json;
pub mod latency;
pub mod path;
pub mod route;
pub mod text;
pub mod udp;

use std::time::SystemTime;

/// Facts about one run that are not measurements.
#[derive(Debug, Clone)]
pub struct RunMeta {
    pub run_id: String,
    pub time: SystemTime,
    pub label: Option<String>,
    pub profile: Option<String>,
    /// The server as the user named it.
    pub host: String,
    pub port: u16,
    /// This machine's name.
    pub client_host: String,
}

impl RunMeta {
    pub fn new(host: &str, port: u16, label: Option<String>, profile: Option<String>) -> Self {
        let time = SystemTime::now();
        let stamp = humantime::format_rfc3339_seconds(time)
            .to_string()
            .replace([':', '-'], "");
        let mut r = [0u8; 3];
        let _ = getrandom::fill(&mut r);
        let run_id = format!("{stamp}-{:02x}{:02x}{:02x}", r[0], r[1], r[2]);
        RunMeta {
            run_id,
            time,
            label,
            profile,
            host: host.to_string(),
            port,
            client_host: crate::platform::hostname(),
        }
    }
}

#[cfg(test)]
impl RunMeta {
    /// A run with fixed facts, for byte-exact history tests.
    pub(crate) fn fixed() -> RunMeta {
        RunMeta {
            run_id: "20261129T130000Z-a1b2c3".into(),
            time: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_796_043_600),
            label: Some("has, comma".into()),
            profile: Some("1gbe".into()),
            host: "192.168.1.172".into(),
            port: 5201,
            client_host: "beta".into(),
        }
    }
}
