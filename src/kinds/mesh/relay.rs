//! The client side of protocol 3's relay: asks node A's server to run a throughput test toward node B and
//! returns the receiver's figures.

use std::time::Duration;

use crate::client::{ClientError, Greeted, control_error, describe, greet};
use crate::config::Target;
use crate::protocol::{
    ClientMessage, DEFAULT_MAX_FRAME, RelayRequest, RelayResult, ServerMessage, StopAfter, TestRequest, read_message,
    write_message,
};

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
    let mut quiet = |_: crate::client::Event<'_>| {};
    let Greeted {
        server, mut rd, mut wr, ..
    } = greet(via, &ask, &mut quiet).await?;
    write_message(&mut wr, &ask)
        .await
        .map_err(|cause| control_error(server, "sending the relay request", cause))?;
    let reply = read_message::<ServerMessage, _>(&mut rd, DEFAULT_MAX_FRAME, wait)
        .await
        .map_err(|cause| control_error(server, "waiting for the relayed test", cause))?;
    match reply {
        ServerMessage::Relayed(r) => Ok(r),
        ServerMessage::Refused { reason } | ServerMessage::Failed { reason } => {
            Err(ClientError::Refused { server, reason })
        }
        other => Err(ClientError::Unexpected {
            server,
            got: describe(&other),
            context: "waiting for the relayed test",
        }),
    }
}
