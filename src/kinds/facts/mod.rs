//! `saf-net facts HOST` (protocol 3): the server's own link facts towards this client (its interface, link
//! speed, duplex, MTU, interface kind, route, release, OS, host name), asked after the hello and key proof
//! like any test but without a test slot: the answer comes at once, even while a test runs.

mod text;

pub use text::{json, text};

use crate::client::{ClientError, ask_once, unexpected};
use crate::config::Target;
use crate::protocol::{ClientMessage, ServerFacts, ServerMessage};

/// Asks the server at `target` for its facts. A server that speaks protocol 2 gets no request: the error says
/// it runs an older saf-net that has no facts.
pub async fn facts(target: &Target) -> Result<ServerFacts, ClientError> {
    let what = "waiting for the facts";
    match ask_once(target, &ClientMessage::Facts, what, target.handshake_timeout).await? {
        (_, ServerMessage::Facts(f)) => Ok(*f),
        (server, other) => Err(unexpected(server, &other, what)),
    }
}
