//! The doctor's phases: both ends' facts, the path MTU, a short test, the ports; then the ranking. A peer that
//! does not answer ends the run after the local facts, named as the first finding.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use super::host::{self, HostFacts};
use super::plan::{PORT_TIMEOUT_MS, Plan};
use super::rank::{Evidence, rank};
use crate::client::Event;
use crate::config::ClientInput;
use crate::findings::{Finding, FindingKind};
use crate::protocol::{InterfaceFacts, PortState, ServerFacts};
use crate::route::{Destination, RouteFacts};
use crate::runner::Runner;
use crate::tune::backend::BackendKind;

/// The short test's figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Sample {
    pub seconds: f64,
    pub streams: u32,
    pub goodput_bps: f64,
    pub rtt_p50_us: Option<f64>,
    pub complete: bool,
    pub error: Option<String>,
}

/// All the doctor learned.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub host: String,
    pub local_link: InterfaceFacts,
    pub route: Option<RouteFacts>,
    pub local: HostFacts,
    pub remote: Option<ServerFacts>,
    pub path_mtu: Option<u32>,
    pub sample: Option<Sample>,
    pub ports: Vec<(u16, String)>,
    /// In rank order: the limiting factor first.
    pub findings: Vec<Finding>,
    /// How many of `findings` (from the first) limit the link; the rest are lesser.
    pub limiting: usize,
    /// Whether the peer answered.
    pub reached: bool,
    /// The profile's TCP ceiling, bits/s.
    pub ceiling_bps: Option<f64>,
}

/// Runs every phase; `progress` gets a line as each starts.
pub async fn run(plan: &Plan, progress: &mut dyn FnMut(&str)) -> Report {
    let mut e = Evidence {
        host: plan.host.clone(),
        window: plan.window,
        ..Evidence::default()
    };
    let mut r = Report {
        host: plan.host.clone(),
        ceiling_bps: plan.profile.as_ref().map(|p| p.ceiling_mbps() * 1e6),
        ..Report::default()
    };
    progress("this host's facts");
    let addr = plan.target.first_addr().await;
    local_facts(plan, addr, &mut r, &mut e);
    progress("the peer's facts");
    match crate::kinds::facts::facts(&plan.target).await {
        Ok(f) => {
            r.reached = true;
            e.remote_speed = f.link.speed_mbps;
            r.remote = Some(f);
        }
        Err(err) => {
            e.unreachable = Some(err.to_string());
            (r.findings, r.limiting) = rank(&e);
            return r;
        }
    }
    progress("the path MTU");
    let blocked = path_mtu(plan, &mut r, &mut e).await;
    if !blocked {
        progress(&format!("a {} s test", plan.seconds));
        sample(plan, &mut r, &mut e).await;
    }
    if !plan.check_ports.is_empty() {
        progress("the ports");
        ports(plan, &mut r, &mut e).await;
    }
    (r.findings, r.limiting) = rank(&e);
    r
}

/// This host's route, interface and system facts (read-only commands only).
fn local_facts(plan: &Plan, addr: Option<SocketAddr>, r: &mut Report, e: &mut Evidence) {
    let os = BackendKind::native();
    if let Some(a) = addr {
        r.local_link = crate::platform::facts_towards(a.ip());
        match crate::route::find_native(&Destination::for_host(&plan.host, a)) {
            Ok(route) => {
                if let Some(p) = &plan.profile
                    && let Some(f) = crate::diagnose::wrong_interface::finding(&route, p.link.medium, os)
                {
                    e.path.push(f);
                }
                r.route = Some(route);
            }
            Err(err) => tracing::debug!("doctor: no route: {err}"),
        }
    }
    let iface = r.local_link.interface.clone();
    r.local = host::gather(&mut Runner::execute(), os, iface.as_deref());
    e.local = r.local.clone();
    e.local_speed = r.local_link.speed_mbps;
    e.interface = iface.clone();
    e.profile = plan.profile.as_ref().map(|p| {
        (
            p.link.line_rate_mbps,
            p.link.mtu,
            p.ceiling_mbps() * 1e6,
            p.validate.min_ceiling_fraction,
        )
    });
    e.tune_hint = match (&plan.profile, &iface) {
        (Some(p), Some(i)) => format!("sudo saf-net tune apply {} --interface {i}", p.name),
        (Some(p), None) => format!("sudo saf-net tune apply {} --interface IF", p.name),
        (None, _) => "sudo saf-net tune apply PROFILE --interface IF (see `saf-net tune show`)".into(),
    };
}

/// The path MTU search; true when the path loses large frames, so a TCP test would only stall.
async fn path_mtu(plan: &Plan, r: &mut Report, e: &mut Evidence) -> bool {
    let p = crate::kinds::mtu::Plan {
        target: plan.target.clone(),
        expected_mbps: plan.profile.as_ref().map(|p| p.link.line_rate_mbps.round() as u32),
        expected_medium: plan.profile.as_ref().map(|p| p.link.medium),
    };
    let mut quiet = |_: Event<'_>| {};
    let Ok(o) = crate::kinds::mtu::run(&p, &mut quiet).await else {
        return false;
    };
    r.path_mtu = o.path.mtu_probe.and_then(|m| m.path_mtu());
    let mut blocked = false;
    for d in &o.path.diagnoses {
        let kind = FindingKind::from(d.kind.as_str());
        blocked |= matches!(
            kind,
            FindingKind::JumboBlackHole | FindingKind::MtuBlackHole | FindingKind::PathDown
        );
        if kind != FindingKind::WrongInterface || e.path.iter().all(|f| f.kind != kind) {
            e.path
                .push(Finding::new(kind, &plan.host, d.message.clone(), d.advice.clone()));
        }
    }
    blocked
}

/// The short test: goodput, the idle RTT before it, the kernel's hints.
async fn sample(plan: &Plan, r: &mut Report, e: &mut Evidence) {
    let mut input = ClientInput::new(plan.host.clone());
    input.port = plan.target.port;
    input.time = Some(plan.seconds);
    input.parallel = plan.streams;
    input.window = plan.window;
    input.interval = 0.0;
    input.mtu_check = false;
    input.latency = true;
    let Ok(mut cp) = input.plan() else { return };
    cp.target = plan.target.clone();
    let mut quiet = |_: Event<'_>| {};
    let o = match crate::kinds::throughput::run(&cp, &mut quiet).await {
        Ok(o) => o,
        Err(err) => {
            r.sample = Some(Sample {
                error: Some(err.to_string()),
                ..Sample::default()
            });
            return;
        }
    };
    let dirs = o.directions();
    let (bytes, secs) = crate::result::received(&dirs);
    let goodput = if secs > 0.0 { bytes as f64 * 8.0 / secs } else { 0.0 };
    let rtt = o
        .latency
        .as_ref()
        .map(|l| l.idle.rtt.stats())
        .filter(|s| s.samples > 0)
        .map(|s| s.p50_us);
    for d in &dirs {
        e.hints.extend(crate::result::hint_findings(d, o.path.is_loopback()));
    }
    e.goodput_bps = Some(goodput);
    e.rtt_us = rtt;
    r.sample = Some(Sample {
        seconds: plan.seconds,
        streams: plan.streams,
        goodput_bps: goodput,
        rtt_p50_us: rtt,
        complete: o.complete(),
        error: o.error.clone(),
    });
}

/// `--check-ports`: a plain connect from this host to each port of HOST.
async fn ports(plan: &Plan, r: &mut Report, e: &mut Evidence) {
    let timeout = Duration::from_millis(PORT_TIMEOUT_MS);
    for &port in &plan.check_ports {
        let state = crate::net::try_port(&plan.host, port, timeout).await;
        let word = match state {
            PortState::Open => "open",
            PortState::Refused => "refused",
            PortState::Timeout => "no answer",
            PortState::Unreachable => "unreachable",
        };
        r.ports.push((port, word.to_string()));
        if state != PortState::Open {
            e.other.push(Finding::new(
                FindingKind::PortUnreachable,
                format!("{}:{port}", plan.host),
                format!(
                    "TCP port {port} on {} is not reachable from this host ({word})",
                    plan.host
                ),
                format!("start the service on port {port} there, or open it in that host's firewall"),
            ));
        }
    }
}
