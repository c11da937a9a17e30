//! One question, one answer: the slot-free asks of protocol 3 (`facts`, `relay`, `port_check`) share this shape.

use std::net::SocketAddr;
use std::time::Duration;

use super::{ClientError, Event, Greeted, control_error, describe, greet};
use crate::config::Target;
use crate::protocol::{ClientMessage, DEFAULT_MAX_FRAME, ServerMessage, read_message, write_message};

/// Says hello to `target`, sends `ask`, and waits up to `wait` for the one answer. A refusal or failure comes
/// back as [`ClientError::Refused`]; `what` names the ask in errors ("the facts", "the port check").
pub(crate) async fn ask_once(
    target: &Target,
    ask: &ClientMessage,
    what: &'static str,
    wait: Duration,
) -> Result<(SocketAddr, ServerMessage), ClientError> {
    let mut quiet = |_: Event<'_>| {};
    let Greeted {
        server, mut rd, mut wr, ..
    } = greet(target, ask, &mut quiet).await?;
    write_message(&mut wr, ask)
        .await
        .map_err(|cause| control_error(server, what, cause))?;
    let reply = read_message::<ServerMessage, _>(&mut rd, DEFAULT_MAX_FRAME, wait)
        .await
        .map_err(|cause| control_error(server, what, cause))?;
    match reply {
        ServerMessage::Refused { reason } | ServerMessage::Failed { reason } => {
            Err(ClientError::Refused { server, reason })
        }
        other => Ok((server, other)),
    }
}

/// The error for an answer that is not the one the ask expects.
pub(crate) fn unexpected(server: SocketAddr, got: &ServerMessage, what: &'static str) -> ClientError {
    ClientError::Unexpected {
        server,
        got: describe(got),
        context: what,
    }
}
