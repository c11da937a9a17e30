//! The client side of protocol 3's relay: asks node A's server to run a throughput test toward node B and
//! returns the receiver's figures.

use std::time::Duration;

use crate::client::{ClientError, ask_once, unexpected};
use crate::config::Target;
use crate::protocol::{ClientMessage, RelayRequest, RelayResult, ServerMessage, StopAfter, TestRequest};

/// Longest the relayed test may take past its own duration (connecting, queueing, the results).
const SLACK: Duration = Duration::from_secs(30);

/// Asks the server at `via` to measure toward `target` (one of `nodes`, `HOST:PORT` each) with `request`;
/// `probes`: the path MTU and the idle RTT first.
pub async fn run(
    via: &Target,
    target: &str,
    nodes: &[String],
    request: TestRequest,
    probes: bool,
) -> Result<RelayResult, ClientError> {
    let wait = match request.stop {
        StopAfter::Seconds(t) => Duration::from_secs_f64(t + request.omit_seconds.max(0.0)) + SLACK,
        StopAfter::Bytes(_) => SLACK * 4,
    };
    let ask = ClientMessage::Relay(Box::new(RelayRequest {
        target: target.to_string(),
        nodes: nodes.to_vec(),
        request,
        probes,
    }));
    let what = "waiting for the relayed test";
    match ask_once(via, &ask, what, wait).await? {
        (_, ServerMessage::Relayed(r)) => Ok(r),
        (server, other) => Err(unexpected(server, &other, what)),
    }
}
