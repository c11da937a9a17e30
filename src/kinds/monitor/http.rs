//! The monitor's endpoint: `/metrics` (every probe's series), `/probe?target=PEER&module=rtt|mtu|throughput`
//! (blackbox-exporter style: that probe now, its own registry), `/` (an index). A target that is not a
//! configured peer gets 400 and is never dialled.

use std::sync::Arc;

use super::metrics::Metrics;
use super::probes::{self, SKIPPED};
use super::run::State;
use super::schedule::Probe;
use crate::exporter::{Reply, Routes, query_value};

/// The [`Routes`] over the monitor's state.
pub struct Endpoint(pub Arc<State>);

impl Routes for Endpoint {
    async fn respond(&self, path: &str, query: &str) -> Reply {
        match path {
            "/metrics" => Reply::metrics(&self.0.metrics.registry),
            "/probe" => self.probe(query).await,
            "/" => Reply::text(
                200,
                "saf-net monitor: /metrics (every peer's probes), /probe?target=PEER&module=rtt|mtu|throughput\n",
            ),
            _ => Reply::not_found("/metrics, /probe and /"),
        }
    }
}

impl Endpoint {
    async fn probe(&self, query: &str) -> Reply {
        let (peer, probe) = match request(&self.0, query) {
            Ok(r) => r,
            Err(why) => return Reply::text(400, format!("{why}\n")),
        };
        let mut m = Metrics::new();
        m.thresholds(&peer.name, self.0.plan.profile.as_ref());
        let out = probes::run(&self.0.plan, &m, peer, probe, &self.0.spend).await;
        m.success(out.is_ok());
        m.budget_remaining(self.0.spend.remaining());
        let mut reply = Reply::metrics(&m.registry);
        if let Err(e) = out {
            let kind = if e.starts_with(SKIPPED) { "skipped" } else { "failed" };
            let clean: String = e.chars().filter(|c| !c.is_control()).collect();
            reply.body = format!("# saf-net probe {kind}: {clean}\n{}", reply.body);
        }
        reply
    }
}

/// The configured peer and the probe a `/probe` query asks for, or why it is refused.
fn request<'a>(state: &'a State, query: &str) -> Result<(&'a super::plan::Peer, Probe), String> {
    let target = query_value(query, "target").ok_or("missing target=PEER (one of the monitor's peers)")?;
    let module = query_value(query, "module").ok_or("missing module=rtt|mtu|throughput")?;
    let probe = Probe::from_module(&module)
        .filter(|p| *p != Probe::Facts)
        .ok_or_else(|| format!("unknown module '{module}'; give rtt, mtu or throughput"))?;
    let peer = state.plan.peer(&target).ok_or_else(|| {
        format!("target '{target}' is not one of this monitor's peers; it probes only those it was started with")
    })?;
    Ok((peer, probe))
}
