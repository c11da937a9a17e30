//! `saf-net mtu HOST` on the client: take a slot, probe the path MTU both ways, diagnose.

use std::sync::Arc;

use crate::client::{ClientError, Event, Observer, Session, egress, open, wait_for_start};
use crate::config::Target;
use crate::diagnose::{PathReport, diagnose};
use crate::engine::mtu::{self, MtuPlan};
use crate::engine::probe;
use crate::platform;
use crate::profile::Medium;
use crate::protocol::{ClientMessage, LatencyMode, LatencyRequest, MAX_DATAGRAM, write_message};

/// Longest an MTU probe may hold the server's slot.
const MTU_PROBE_SECONDS: f64 = 30.0;

/// What `saf-net mtu` found.
#[derive(Debug, Clone)]
pub struct MtuOutcome {
    pub server: std::net::SocketAddr,
    pub server_software: String,
    pub path: PathReport,
}

/// What `saf-net mtu` probes, and what the profile (if any) says the link should be.
#[derive(Debug, Clone)]
pub struct Plan {
    pub target: Target,
    /// The profile's line rate, for the slow-link diagnosis.
    pub expected_mbps: Option<u32>,
    /// The profile's medium, for the wrong-interface diagnosis.
    pub expected_medium: Option<Medium>,
}

/// Probes the path MTU as planned, reporting progress to `obs`. Errors mean nothing was measured.
pub async fn run(plan: &Plan, obs: &mut dyn Observer) -> Result<MtuOutcome, ClientError> {
    let target = &plan.target;
    let request = LatencyRequest {
        mode: LatencyMode::Mtu,
        duration_seconds: MTU_PROBE_SECONDS,
        size: MAX_DATAGRAM as u32,
    };
    let Session {
        server,
        server_software,
        cookie,
        server_facts,
        mut rd,
        mut wr,
    } = open(target, ClientMessage::Latency(request), obs).await?;
    let fail = |reason: String| ClientError::Refused { server, reason };
    wait_for_start(&mut rd, server, target.handshake_timeout).await?;
    obs.on(Event::Started { streams: &[] });
    let mut path = PathReport {
        local: platform::facts_towards(server.ip()),
        remote: server_facts,
        ..Default::default()
    };
    let wrong_interface = egress(server, plan.expected_medium, &mut path, obs).await;
    let sock =
        Arc::new(probe::socket(server, target.bind).map_err(|e| fail(format!("cannot open a UDP socket: {e}")))?);
    let search = MtuPlan::new(path.local.mtu, server.is_ipv6());
    let result = tokio::task::spawn_blocking(move || mtu::probe(&sock, cookie, search))
        .await
        .map_err(|e| fail(format!("probe thread failed: {e}")))?;
    path.mtu_probe = Some(result);
    path.diagnoses = diagnose(&path, &target.host, server.port(), plan.expected_mbps);
    if let Some(w) = wrong_interface {
        path.diagnoses.insert(0, w);
    }
    let _ = write_message(&mut wr, &ClientMessage::Done).await;
    Ok(MtuOutcome {
        server,
        server_software,
        path,
    })
}
