//! `saf-net server --metrics ADDR`: the server's own counters in the Prometheus text format (docs/server.md).
//! One struct held in `Ctx`, so each place that decides an outcome counts it in one line.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use std::sync::Arc;

use super::Ctx;
use super::control::Ended;
use crate::exporter::{Reply, Routes};
use crate::protocol::SideResults;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabel {
    direction: String,
}

/// The server's counters and gauges.
pub struct ServerMetrics {
    pub registry: Registry,
    served: Family<KindLabel, Counter>,
    refused: Family<ReasonLabel, Counter>,
    queued: Counter,
    waiting: Gauge,
    running: Gauge,
    bytes: Family<DirectionLabel, Counter>,
    errors: Family<KindLabel, Counter>,
}

impl Default for ServerMetrics {
    fn default() -> Self {
        let mut m = ServerMetrics {
            registry: Registry::default(),
            served: Family::default(),
            refused: Family::default(),
            queued: Counter::default(),
            waiting: Gauge::default(),
            running: Gauge::default(),
            bytes: Family::default(),
            errors: Family::default(),
        };
        let r = &mut m.registry;
        r.register(
            "saf_net_server_served",
            "Requests served, by kind (tests, echo sessions, facts, relays, ...)",
            m.served.clone(),
        );
        r.register(
            "saf_net_server_refused",
            "Requests refused, by reason",
            m.refused.clone(),
        );
        r.register(
            "saf_net_server_queued",
            "Tests that waited in line for a slot",
            m.queued.clone(),
        );
        r.register(
            "saf_net_server_queue_length",
            "Tests waiting in line now",
            m.waiting.clone(),
        );
        r.register(
            "saf_net_server_tests_running",
            "Tests holding a slot now",
            m.running.clone(),
        );
        r.register(
            "saf_net_server_test_bytes",
            "Bytes tests moved through this server, by direction",
            m.bytes.clone(),
        );
        r.register(
            "saf_net_server_errors",
            "Tests that ended early, by kind",
            m.errors.clone(),
        );
        m
    }
}

/// Held while a test runs or waits; the gauge goes back down when it is dropped.
pub struct Held<'a>(&'a Gauge);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl ServerMetrics {
    /// One request of `kind` (throughput, udp, latency, iperf3, echo, facts, relay, port_check, group) served.
    pub fn served(&self, kind: &str) {
        self.served.get_or_create(&KindLabel { kind: kind.into() }).inc();
    }

    /// One refusal; its reason text sorted into a few classes.
    pub fn refused(&self, reason: &str) {
        let class = refusal_class(reason);
        self.refused.get_or_create(&ReasonLabel { reason: class.into() }).inc();
    }

    /// A test that had to wait in line; the queue-length gauge counts it until the guard goes.
    pub fn waiting(&self) -> Held<'_> {
        self.queued.inc();
        self.waiting.inc();
        Held(&self.waiting)
    }

    /// A test holding a slot, until the guard goes.
    pub fn running(&self) -> Held<'_> {
        self.running.inc();
        Held(&self.running)
    }

    /// What a test's streams moved on this server.
    pub fn moved(&self, results: &SideResults) {
        for s in &results.streams {
            let direction = if s.sender { "sent" } else { "received" };
            self.bytes
                .get_or_create(&DirectionLabel {
                    direction: direction.into(),
                })
                .inc_by(s.bytes);
        }
    }

    /// A test that ended early, by why.
    pub fn ended(&self, e: &Ended) {
        self.errors
            .get_or_create(&KindLabel {
                kind: error_kind(e).into(),
            })
            .inc();
    }
}

/// The `--metrics` endpoint: `/metrics` only; it never makes the server do anything else.
pub(crate) struct Endpoint(pub Arc<Ctx>);

impl Routes for Endpoint {
    async fn respond(&self, path: &str, _query: &str) -> Reply {
        match path {
            "/metrics" => Reply::metrics(&self.0.metrics.registry),
            _ => Reply::not_found("/metrics"),
        }
    }
}

/// The class of a refusal, from the reasons this server writes.
fn refusal_class(reason: &str) -> &'static str {
    let r = reason.to_ascii_lowercase();
    if r.contains("key") || r.contains("authentication") {
        "key"
    } else if r.contains("busy") || r.contains("wait in line") {
        "busy"
    } else if r.contains("shuts down") || r.contains("shutting down") {
        "shutdown"
    } else if r.contains("protocol") {
        "version"
    } else if r.contains("malformed") || r.contains("expected") || r.contains("comes after") {
        "bad_request"
    } else {
        "limits"
    }
}

fn error_kind(e: &Ended) -> &'static str {
    match e {
        Ended::ClientAborted(_) | Ended::ClientSent(_) | Ended::ClientLeft(_) | Ended::Disconnected => "client_left",
        Ended::Control(_) | Ended::Write(_) | Ended::NoEndOfTest => "control",
        Ended::ShuttingDown => "shutdown",
        Ended::MissingData { .. } | Ended::MissingHellos { .. } => "missing_streams",
        Ended::NoUdpTests(_) | Ended::NoUdpProbes | Ended::UdpSocket(_) => "udp",
        Ended::SocketOptions(_) | Ended::Data(_) => "socket",
        Ended::Engine(_) | Ended::StreamFailed(_) => "stream",
        Ended::EchoCutOff(_) | Ended::LatencyCutOff(_) => "cut_off",
        Ended::Iperf3(_) => "iperf3_protocol",
        Ended::Internal(_) => "internal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_sort_into_classes() {
        assert_eq!(
            refusal_class("authentication failed: the client's key does not match this server's"),
            "key"
        );
        assert_eq!(
            refusal_class("server busy: 16 clients already wait in line; try again later"),
            "busy"
        );
        assert_eq!(
            refusal_class("facts needs protocol 3; this session speaks protocol 2"),
            "version"
        );
        assert_eq!(
            refusal_class("-P 200 is more than this server's --max-streams 128"),
            "limits"
        );
    }
}
