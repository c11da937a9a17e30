//! The exporters, one per format: human text (`text.rs`: the progress line, the path section), the `-J`
//! document (`json.rs`) and the run history (`history.rs`: CSV row + per-run JSON). Each measurement kind's
//! outcome (in [`crate::kinds`]) says what it shows in each format through [`Report`]; the exporters do the rest.

pub mod history;
pub mod json;
pub mod text;

use std::time::SystemTime;

use serde::Serialize;

use crate::profile::Profile;
use history::HistoryRow;

/// How a run ended, as far as the exit code is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Measured, complete, nothing to report.
    Ok,
    /// The run did not complete; the figures are partial.
    Incomplete,
    /// The run measured a problem (a diagnosis, a failed check).
    Diagnosed,
}

/// What a kind's outcome shows in each format.
pub trait Report {
    /// The `-J` document, also the run's JSON file beside the history.
    type Document: Serialize;

    fn document(&self, meta: &RunMeta) -> Self::Document;

    /// The text printed when the run is over.
    fn text(&self, meta: &RunMeta) -> String;

    /// The run's row in the history.
    fn history_row(&self, meta: &RunMeta) -> HistoryRow;

    fn verdict(&self) -> Verdict;
}

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
    /// The profile named by `profile`, when the text judges the run against it (the client's ceiling lines).
    pub profile_link: Option<Profile>,
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
            profile_link: None,
        }
    }

    /// The same run, judged against `profile` (its name goes in `profile`).
    pub fn judged_by(mut self, profile: &Profile) -> Self {
        self.profile = Some(profile.name.clone());
        self.profile_link = Some(profile.clone());
        self
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
            profile_link: None,
        }
    }
}
