//! `saf-net facts HOST` (protocol 3): the server's own link facts towards this client (its interface, link
//! speed, duplex, MTU, interface kind, route, release, OS, host name), asked after the hello and key proof
//! like any test but without a test slot: the answer comes at once, even while a test runs.

mod text;

pub use text::{json, text};

use crate::client::{ClientError, Greeted, control_error, describe, greet};
use crate::config::Target;
use crate::protocol::{ClientMessage, DEFAULT_MAX_FRAME, ServerFacts, ServerMessage, read_message, write_message};

/// Asks the server at `target` for its facts. A server that speaks protocol 2 gets no request: the error says
/// it runs an older saf-net that has no facts.
pub async fn facts(target: &Target) -> Result<ServerFacts, ClientError> {
    let request = ClientMessage::Facts;
    let mut quiet = |_: crate::client::Event<'_>| {};
    let Greeted {
        server, mut rd, mut wr, ..
    } = greet(target, &request, &mut quiet).await?;
    write_message(&mut wr, &request)
        .await
        .map_err(|cause| control_error(server, "sending the facts request", cause))?;
    let reply = read_message::<ServerMessage, _>(&mut rd, DEFAULT_MAX_FRAME, target.handshake_timeout)
        .await
        .map_err(|cause| control_error(server, "waiting for the facts", cause))?;
    match reply {
        ServerMessage::Facts(f) => Ok(*f),
        ServerMessage::Refused { reason } | ServerMessage::Failed { reason } => {
            Err(ClientError::Refused { server, reason })
        }
        other => Err(ClientError::Unexpected {
            server,
            got: describe(&other),
            context: "waiting for the facts",
        }),
    }
}
