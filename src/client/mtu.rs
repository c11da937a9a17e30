//! `saf-net mtu HOST` on the client: take a slot, probe the path MTU both ways, diagnose.

use std::sync::Arc;

use super::latency::probe_socket;
use super::{ClientError, Event, Observer, Session, describe, open};
use crate::config::Target;
use crate::diagnose::{PathReport, diagnose};
use crate::engine::mtu::{self, MtuPlan};
use crate::platform;
use crate::profile::Medium;
use crate::protocol::{
    ClientMessage, DEFAULT_MAX_FRAME, LatencyMode, LatencyRequest, MAX_DATAGRAM, ServerMessage, read_message,
    write_message,
};

/// Longest an MTU probe may hold the server's slot.
const MTU_PROBE_SECONDS: f64 = 30.0;

/// What `saf-net mtu` found.
#[derive(Debug, Clone)]
pub struct MtuOutcome {
    pub server: std::net::SocketAddr,
    pub server_software: String,
    pub path: PathReport,
}

pub async fn run_mtu(
    target: &Target,
    expected_mbps: Option<u32>,
    expected_medium: Option<Medium>,
    obs: &mut dyn Observer,
) -> Result<MtuOutcome, ClientError> {
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
    match read_message::<ServerMessage, _>(&mut rd, DEFAULT_MAX_FRAME, target.handshake_timeout).await {
        Ok(ServerMessage::Start) => {}
        Ok(ServerMessage::Failed { reason } | ServerMessage::Refused { reason }) => return Err(fail(reason)),
        Ok(other) => return Err(fail(format!("unexpected {} before the start", describe(&other)))),
        Err(source) => {
            return Err(ClientError::Control {
                server,
                context: "waiting for the start",
                cause: source,
            });
        }
    }
    obs.on(Event::Started { streams: &[] });
    let mut path = PathReport {
        local: platform::facts_towards(server.ip()),
        remote: server_facts,
        ..Default::default()
    };
    let wrong_interface = super::route::egress(server, expected_medium, &mut path, obs).await;
    let sock = Arc::new(probe_socket(server).map_err(|e| fail(format!("cannot open a UDP socket: {e}")))?);
    let plan = MtuPlan::new(path.local.mtu, server.is_ipv6());
    let result = tokio::task::spawn_blocking(move || mtu::probe(&sock, cookie, plan))
        .await
        .map_err(|e| fail(format!("probe thread failed: {e}")))?;
    path.mtu_probe = Some(result);
    path.diagnoses = diagnose(&path, &target.host, server.port(), expected_mbps);
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
