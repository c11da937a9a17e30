//! What `saf-net validate` runs: the plans of its four phases, all checked before the first one starts.

use crate::auth::Psk;
use crate::config::{ClientInput, ClientPlan, LatencyInput, LatencyPlan};
use crate::kinds::mtu;
use crate::net::Family;
use crate::profile::Profile;
use crate::protocol::LatencyMode;

/// UDP round trips of the latency phase.
pub const RTT_PROBES: u64 = 200;
/// The RTT p99 limit when neither `--max-rtt-p99-us` nor the profile's `[validate] max_rtt_p99_us` gives one.
pub const DEFAULT_MAX_RTT_P99_US: f64 = 2000.0;

/// Raw `saf-net validate` settings, before validation.
#[derive(Clone)]
pub struct Input {
    pub host: String,
    pub port: u16,
    /// Seconds per throughput test.
    pub time: f64,
    /// Streams of the multi-stream test.
    pub streams: u32,
    /// `--max-rtt-p99-us`; `None` takes the profile's, else [`DEFAULT_MAX_RTT_P99_US`].
    pub max_rtt_p99_us: Option<f64>,
    pub connect_timeout: f64,
    pub psk: Option<Psk>,
}

/// The validated plans of the four phases, and the profile they are checked against.
#[derive(Debug, Clone)]
pub struct Plan {
    pub profile: Profile,
    pub mtu: mtu::Plan,
    /// Goodput with one stream, then with `streams`.
    pub one: ClientPlan,
    pub many: ClientPlan,
    pub latency: LatencyPlan,
    pub time: f64,
    pub streams: u32,
    pub max_rtt_p99_us: f64,
    /// Where the RTT limit came from: the flag, the profile or the default.
    pub max_rtt_from: &'static str,
}

/// The RTT p99 limit: the flag, else the profile's, else the default; and which one it was.
pub fn rtt_limit(flag: Option<f64>, profile: &Profile) -> (f64, &'static str) {
    match (flag, profile.validate.max_rtt_p99_us) {
        (Some(v), _) => (v, "--max-rtt-p99-us"),
        (None, Some(v)) => (v, "the profile"),
        (None, None) => (DEFAULT_MAX_RTT_P99_US, "the default"),
    }
}

impl Input {
    pub fn plan(&self, profile: Profile) -> Result<Plan, String> {
        let mut lat = LatencyInput::new(self.host.clone());
        lat.port = self.port;
        lat.family = Family::from_flags(false, false);
        lat.connect_timeout = self.connect_timeout;
        lat.mode = LatencyMode::Udp;
        lat.count = Some(RTT_PROBES);
        let mut latency = lat.plan()?;
        latency.target.psk = self.psk.clone();
        let one = self.throughput(&profile, 1)?;
        let many = self.throughput(&profile, self.streams)?;
        let (max_rtt_p99_us, max_rtt_from) = rtt_limit(self.max_rtt_p99_us, &profile);
        if !(max_rtt_p99_us.is_finite() && max_rtt_p99_us > 0.0) {
            return Err(format!(
                "--max-rtt-p99-us {max_rtt_p99_us} must be a number of microseconds above 0"
            ));
        }
        Ok(Plan {
            mtu: mtu::Plan {
                target: one.target.clone(),
                expected_mbps: one.expected_mbps,
                expected_medium: one.expected_medium,
            },
            one,
            many,
            latency,
            profile,
            time: self.time,
            streams: self.streams,
            max_rtt_p99_us,
            max_rtt_from,
        })
    }

    /// A goodput test with `streams` streams, without interval lines, expecting the profile's link.
    fn throughput(&self, profile: &Profile, streams: u32) -> Result<ClientPlan, String> {
        let mut i = ClientInput::new(self.host.clone());
        i.port = self.port;
        i.time = Some(self.time);
        i.parallel = streams;
        i.interval = 0.0;
        i.connect_timeout = self.connect_timeout;
        i.expected_mbps = Some(profile.link.line_rate_mbps.round() as u32);
        i.expected_medium = Some(profile.link.medium);
        let mut plan = i.plan()?;
        plan.target.psk = self.psk.clone();
        Ok(plan)
    }
}

impl Plan {
    /// The line that opens the run: what is validated against which link.
    pub fn heading(&self) -> String {
        let p = &self.profile;
        format!(
            "Validating {} against profile {} ({} Mbit/s, MTU {}; TCP ceiling {:.1} Mbit/s; RTT p99 limit {} µs from {})",
            self.mtu.target.host,
            p.name,
            p.link.line_rate_mbps,
            p.link.mtu,
            p.ceiling_mbps(),
            self.max_rtt_p99_us,
            self.max_rtt_from
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rtt_limit_is_the_flag_then_the_profile_then_the_default() {
        let mut p = Profile::resolve("1gbe").unwrap();
        p.validate.max_rtt_p99_us = None;
        assert_eq!(rtt_limit(None, &p), (DEFAULT_MAX_RTT_P99_US, "the default"));
        p.validate.max_rtt_p99_us = Some(900.0);
        assert_eq!(rtt_limit(None, &p), (900.0, "the profile"));
        assert_eq!(rtt_limit(Some(300.0), &p), (300.0, "--max-rtt-p99-us"));
    }
}
