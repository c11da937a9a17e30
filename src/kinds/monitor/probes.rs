//! One probe of one peer, its figures written into [`Metrics`]. RTT and facts are slot-free (protocol 3's echo
//! and facts); MTU and throughput need the peer's test slot and give up instead of waiting in line, so the
//! monitor never delays another test.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::metrics::{Labels, Metrics, ProbeLabels, SideLabels};
use super::plan::{MonitorPlan, Peer};
use super::schedule::Probe;
use crate::client::{ClientError, Event};
use crate::config::{ClientInput, Target};
use crate::engine::probe::ProbePlan;
use crate::kinds::{facts, latency, mtu, throughput};

/// Echo probes in one RTT probe, their spacing and their timeout.
const RTT_PROBES: u64 = 5;
const RTT_SPACING: Duration = Duration::from_millis(40);
const RTT_TIMEOUT: Duration = Duration::from_millis(500);
/// The rate a throughput sample reserves from the budget when neither the profile nor a link says one.
pub const UNKNOWN_RATE_BPS: f64 = 100e9;

/// What one probe came to: `Ok(note)` measured (the note is for the log), `Err(why)` it failed.
pub type Probed = Result<String, String>;

/// Runs `probe` against `peer`, records it in `m`, and says how it went.
pub async fn run(plan: &MonitorPlan, m: &Metrics, peer: &Peer, probe: Probe, budget: &super::run::Spend) -> Probed {
    let now = budget.clock_now();
    let out = match probe {
        Probe::Rtt => rtt(plan, m, peer).await,
        Probe::Facts => link(plan, m, peer).await,
        Probe::Mtu => path_mtu(plan, m, peer).await,
        Probe::Throughput => sample(plan, m, peer, budget).await,
    };
    // A sample skipped for the budget or a busy peer says nothing about the peer being up.
    if !matches!(&out, Err(e) if e.starts_with(SKIPPED)) {
        m.probed(&probe_labels(plan, peer, probe), out.is_ok(), now);
    }
    out
}

/// The start of a reason that is a skip, not a failure.
pub const SKIPPED: &str = "skipped: ";

fn labels(plan: &MonitorPlan, peer: &Peer) -> Labels {
    Labels {
        peer: peer.name.clone(),
        profile: plan.profile_name(),
        interface: peer.interface.lock().map(|i| i.clone()).unwrap_or_default(),
    }
}

fn probe_labels(plan: &MonitorPlan, peer: &Peer, probe: Probe) -> ProbeLabels {
    ProbeLabels {
        peer: peer.name.clone(),
        profile: plan.profile_name(),
        probe: probe.name().to_string(),
    }
}

async fn rtt(plan: &MonitorPlan, m: &Metrics, peer: &Peer) -> Probed {
    let probe = ProbePlan {
        count: Some(RTT_PROBES),
        duration: None,
        interval: RTT_SPACING,
        size: 64,
        timeout: RTT_TIMEOUT,
        busy_poll: Duration::ZERO,
    };
    let mut quiet = |_: Event<'_>| {};
    let o = latency::echo_session(&peer.target, &probe, &mut quiet)
        .await
        .map_err(|e| e.to_string())?;
    let p = &o.probe;
    if p.received == 0 {
        return Err(format!("none of {} echo probes came back", p.sent));
    }
    m.rtt(&labels(plan, peer), &p.rtt, p.sent, p.lost);
    Ok(format!("{} of {} echoes", p.received, p.sent))
}

/// Both ends' egress interfaces: ours from this host's tables, the peer's from its facts answer.
async fn link(plan: &MonitorPlan, m: &Metrics, peer: &Peer) -> Probed {
    let f = facts::facts(&peer.target).await.map_err(|e| e.to_string())?;
    let local = match resolve(&peer.target).await {
        Some(ip) => crate::platform::facts_towards(ip),
        None => Default::default(),
    };
    if let (Some(name), Ok(mut slot)) = (&local.interface, peer.interface.lock()) {
        *slot = name.clone();
    }
    let side = |interface: &Option<String>, side: &str| SideLabels {
        peer: peer.name.clone(),
        profile: plan.profile_name(),
        interface: interface.clone().unwrap_or_default(),
        side: side.to_string(),
    };
    m.link(
        &side(&local.interface, "local"),
        local.speed_mbps,
        local.mtu,
        local.duplex.as_deref(),
    );
    m.link(
        &side(&f.link.interface, "peer"),
        f.link.speed_mbps,
        f.link.mtu,
        f.link.duplex.as_deref(),
    );
    Ok(format!(
        "local {} {} Mbit/s, peer {} {} Mbit/s",
        local.interface.as_deref().unwrap_or("?"),
        local.speed_mbps.map_or("unknown".into(), |s| s.to_string()),
        f.link.interface.as_deref().unwrap_or("?"),
        f.link.speed_mbps.map_or("unknown".into(), |s| s.to_string())
    ))
}

/// This host's egress interface towards `peer` (from its own tables; no packet is sent), for the labels.
pub async fn learn_interface(peer: &Peer) {
    let Some(ip) = resolve(&peer.target).await else { return };
    if let (Some(name), Ok(mut slot)) = (crate::platform::facts_towards(ip).interface, peer.interface.lock()) {
        *slot = name;
    }
}

async fn resolve(t: &Target) -> Option<IpAddr> {
    t.first_addr().await.map(|a| a.ip())
}

async fn path_mtu(plan: &MonitorPlan, m: &Metrics, peer: &Peer) -> Probed {
    let p = mtu::Plan {
        target: peer.target.clone(),
        expected_mbps: None,
        expected_medium: None,
    };
    let o = without_waiting(|obs| Box::pin(async move { mtu::run(&p, obs).await })).await?;
    let found = o.path.mtu_probe.and_then(|r| r.path_mtu());
    let Some(v) = found else {
        return Err("no MTU probe came back both ways".into());
    };
    m.path_mtu(&labels(plan, peer), v);
    Ok(format!("path MTU {v}"))
}

/// A short throughput sample, only within the budget and only when the peer's slot is free.
async fn sample(plan: &MonitorPlan, m: &Metrics, peer: &Peer, budget: &super::run::Spend) -> Probed {
    let secs = plan.throughput_seconds;
    let worst = (rate_bound(plan, peer) / 8.0 * (secs + 1.0)) as u64;
    let Some(reservation) = budget.reserve(worst) else {
        return Err(format!(
            "{SKIPPED}the --budget has {} left, a sample may move {}",
            budget.remaining_text(),
            crate::units::Bytes(worst)
        ));
    };
    let mut input = ClientInput::new(peer.target.host.clone());
    input.port = peer.target.port;
    input.time = Some(secs);
    input.parallel = plan.throughput_streams;
    input.interval = 0.0;
    input.mtu_check = false;
    let mut cp = input.plan().map_err(|e| format!("cannot plan the sample: {e}"))?;
    cp.target = peer.target.clone();
    let out = without_waiting(|obs| Box::pin(async move { throughput::run(&cp, obs).await })).await;
    let o = match out {
        Ok(o) => o,
        Err(e) => {
            budget.settle(reservation, 0);
            return Err(e);
        }
    };
    let (bytes, seconds) = o.received();
    budget.settle(reservation, bytes);
    if seconds <= 0.0 || bytes == 0 {
        return Err(o.error.unwrap_or_else(|| "the sample moved no byte".into()));
    }
    let bps = bytes as f64 * 8.0 / seconds;
    m.goodput(
        &labels(plan, peer),
        bps,
        plan.profile.as_ref().map(|p| p.ceiling_mbps() * 1e6),
    );
    Ok(format!("goodput {:.1} Mbit/s", bps / 1e6))
}

/// The fastest a sample could run: the profile's line rate, else the local link's speed, else a fixed bound.
fn rate_bound(plan: &MonitorPlan, peer: &Peer) -> f64 {
    if let Some(p) = &plan.profile {
        return p.link.line_rate_mbps * 1e6;
    }
    let known = peer
        .interface
        .lock()
        .ok()
        .and_then(|i| crate::platform::interface_details(&i).1);
    known.map_or(UNKNOWN_RATE_BPS, |mbps| mbps as f64 * 1e6)
}

/// Runs a slot-taking probe, but gives up (a skip) as soon as the server puts it in line behind another test.
async fn without_waiting<T>(
    start: impl for<'a> FnOnce(
        &'a mut (dyn crate::client::Observer + 'a),
    )
        -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, ClientError>> + Send + 'a>>,
) -> Result<T, String> {
    let queued = Arc::new(Notify::new());
    let q = queued.clone();
    let mut obs = move |e: Event<'_>| {
        if let Event::Queued { .. } = e {
            q.notify_one();
        }
    };
    let fut = start(&mut obs);
    tokio::select! {
        r = fut => r.map_err(|e| e.to_string()),
        _ = queued.notified() => Err(format!("{SKIPPED}another test holds the peer's slot")),
    }
}
