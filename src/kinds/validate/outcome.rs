//! What `saf-net validate` found: the figures of its four phases, and each against the profile.

use super::Plan;
use super::checks::{Check, all_pass};
use crate::diagnose::PathReport;

/// What the four phases measured; None where a phase measured nothing.
#[derive(Debug, Clone)]
pub struct Measured {
    pub path: PathReport,
    pub path_mtu: Option<u32>,
    pub goodput_1: Option<f64>,
    pub goodput_n: Option<f64>,
    pub rtt_p99_us: Option<f64>,
}

impl Measured {
    /// Every phase produced its figure: the run is complete, whatever the verdict.
    pub fn complete(&self) -> bool {
        self.path_mtu.is_some() && self.goodput_1.is_some() && self.goodput_n.is_some() && self.rtt_p99_us.is_some()
    }
}

/// What a validate run found: the figures, and each against the profile.
#[derive(Debug, Clone)]
pub struct ValidateOutcome {
    /// The profile's name.
    pub profile: String,
    pub measured: Measured,
    pub checks: Vec<Check>,
}

impl ValidateOutcome {
    /// Every check passed.
    pub fn pass(&self) -> bool {
        all_pass(&self.checks)
    }

    /// The outcome of `measured`, checked against the plan's profile and limits.
    pub fn judged(plan: &Plan, measured: Measured) -> ValidateOutcome {
        ValidateOutcome {
            profile: plan.profile.name.clone(),
            checks: checks(plan, &measured),
            measured,
        }
    }
}

/// Each figure against the profile: at least the floor, and, for both goodputs, no more than the wire carries.
pub fn checks(plan: &Plan, m: &Measured) -> Vec<Check> {
    let profile = &plan.profile;
    let ceiling = profile.ceiling_mbps();
    let floor = profile.validate.min_ceiling_fraction * ceiling;
    let roof = (1.0 + profile.validate.max_above_ceiling_fraction) * ceiling;
    let n = plan.streams;
    vec![
        Check::at_least(
            "path MTU (both ways)",
            m.path_mtu.map(f64::from),
            f64::from(profile.link.mtu),
            "bytes",
        ),
        Check::at_least("goodput, 1 stream", m.goodput_1, floor, "Mbit/s"),
        Check::at_most("goodput, 1 stream, within the wire", m.goodput_1, roof, "Mbit/s"),
        Check::at_least(&format!("goodput, {n} streams"), m.goodput_n, floor, "Mbit/s"),
        Check::at_most(
            &format!("goodput, {n} streams, within the wire"),
            m.goodput_n,
            roof,
            "Mbit/s",
        ),
        Check::at_most("UDP RTT p99", m.rtt_p99_us, plan.max_rtt_p99_us, "µs"),
    ]
}
