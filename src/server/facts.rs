//! The `facts` answer (protocol 3): the server's own link facts towards the client that asked, looked up
//! with the same platform and route code the client uses for its own side. Needs no test slot, never queues.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::tcp::OwnedWriteHalf;

use super::Ctx;
use super::session::refuse;
use crate::protocol::{RouteView, ServerFacts, ServerMessage, write_message};
use crate::route::{self, Destination, RouteFacts};

/// Facts lookups that may run at once; more are refused, not queued.
pub(super) const FACTS_AT_ONCE: usize = 4;
/// Longest a route lookup may take before the route is reported unknown.
const ROUTE_TIMEOUT: Duration = Duration::from_secs(5);

/// Answers one `facts` request and ends the session. Returns false: no test ran.
pub(super) async fn answer(ctx: &Ctx, peer: SocketAddr, wr: &mut OwnedWriteHalf, protocol: u32) -> bool {
    let Some(_seat) = ctx.facts_seats.take() else {
        let reason = format!("server busy: {FACTS_AT_ONCE} facts lookups already run; try again in a moment");
        return refuse(ctx, wr, peer, reason).await;
    };
    let facts = gather(peer.ip().to_canonical(), protocol).await;
    ctx.log(format!(
        "{peer}: facts sent (interface {}, no slot)",
        facts.link.interface.as_deref().unwrap_or("unknown")
    ));
    let _ = write_message(wr, &ServerMessage::Facts(Box::new(facts))).await;
    false
}

/// This host's facts towards `client`; what cannot be learned stays None.
pub(crate) async fn gather(client: IpAddr, protocol: u32) -> ServerFacts {
    let lookup = tokio::task::spawn_blocking(move || {
        let link = crate::platform::facts_towards(client);
        (link, route::find_native(&Destination::new(client)))
    });
    let (link, route, route_error) = match tokio::time::timeout(ROUTE_TIMEOUT, lookup).await {
        Ok(Ok((link, Ok(r)))) => (link, Some(view(&r)), None),
        Ok(Ok((link, Err(e)))) => (link, None, Some(e.to_string())),
        Ok(Err(e)) => (Default::default(), None, Some(format!("the lookup failed: {e}"))),
        Err(_) => (
            Default::default(),
            None,
            Some(format!("the lookup took over {} s", ROUTE_TIMEOUT.as_secs())),
        ),
    };
    ServerFacts {
        software: env!("CARGO_PKG_VERSION").into(),
        protocol,
        os: std::env::consts::OS.into(),
        host_name: crate::platform::host_name(),
        link,
        route,
        route_error,
    }
}

/// The route part of a route lookup, as the wire carries it.
fn view(r: &RouteFacts) -> RouteView {
    RouteView {
        interface: r.interface.clone(),
        kind: r.kind.as_str().into(),
        kind_source: r.kind_source.clone(),
        gateway: r.gateway,
        source: r.source,
        route_mtu: r.route_mtu,
    }
}
