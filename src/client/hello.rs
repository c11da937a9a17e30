//! Connect and say hello: the version the two ends will speak (the client offers its newest, the server
//! answers the one it speaks; a server that refuses naming an older version we speak is asked again, once),
//! and the key proof in both directions.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::{ClientError, Event, Observer, authenticate, control_error, describe};
use crate::config::Target;
use crate::net;
use crate::protocol::{
    ClientMessage, DEFAULT_MAX_FRAME, FirstReply, FrameError, MIN_PROTOCOL, ServerMessage, decode, read_first,
    server_version_in, write_message,
};

/// A control connection past its hello and key check.
pub(crate) struct Greeted {
    pub server: SocketAddr,
    pub server_software: String,
    /// The protocol version both ends speak on this connection.
    pub protocol: u32,
    pub rd: OwnedReadHalf,
    pub wr: OwnedWriteHalf,
}

/// Connects and greets the server in the newest version both speak. `request` is what comes next: a server
/// whose version is too old for it gets the one line that says so, without sending it.
pub(crate) async fn greet(
    target: &Target,
    request: &ClientMessage,
    obs: &mut dyn Observer,
) -> Result<Greeted, ClientError> {
    let addrs = match target.addr {
        Some(a) => vec![a],
        None => net::resolve(&target.host, target.port, target.family).await?,
    };
    let needs = request.needs_protocol();
    let greeted = match attempt(target, &addrs, target.max_protocol).await {
        Err(ClientError::VersionMismatch { reason, server }) => {
            let older = server_version_in(&reason).filter(|(p, _)| (MIN_PROTOCOL..target.max_protocol).contains(p));
            match older {
                Some((p, software)) if p < needs => return Err(too_old(server, software, p, request)),
                // An older server: say hello again in its version, once.
                Some((p, _)) => attempt(target, &addrs, p).await?,
                None => return Err(ClientError::VersionMismatch { reason, server }),
            }
        }
        other => other?,
    };
    if greeted.protocol < needs {
        return Err(too_old(
            greeted.server,
            greeted.server_software,
            greeted.protocol,
            request,
        ));
    }
    obs.on(Event::Connected { server: greeted.server });
    Ok(greeted)
}

/// The one line for a request the server's protocol does not have.
fn too_old(server: SocketAddr, software: String, protocol: u32, request: &ClientMessage) -> ClientError {
    ClientError::TooOld {
        server,
        software,
        protocol,
        needs: request.needs_protocol(),
        feature: request.feature(),
    }
}

/// One connection and hello offering protocol `offer`.
async fn attempt(target: &Target, addrs: &[SocketAddr], offer: u32) -> Result<Greeted, ClientError> {
    let (sock, server) = net::connect_any(addrs, target.connect_timeout, target.bind).await?;
    // Control messages are small and latency-bound: Nagle would hold each behind a delayed ACK.
    let _ = sock.set_nodelay(true);
    let (mut rd, mut wr) = sock.into_split();
    let client_nonce = match &target.psk {
        Some(_) => Some(crate::auth::nonce().map_err(|e| ClientError::Auth {
            server,
            reason: e.to_string(),
        })?),
        None => None,
    };
    let hello = ClientMessage::Hello {
        protocol: offer,
        software: env!("CARGO_PKG_VERSION").into(),
        nonce: client_nonce.clone(),
    };
    write_message(&mut wr, &hello)
        .await
        .map_err(|cause| control_error(server, "sending hello", cause))?;
    let (protocol, server_software) = match read_welcome(&mut rd, server, target.handshake_timeout).await? {
        ServerMessage::Welcome {
            protocol,
            software,
            challenge,
        } if (MIN_PROTOCOL..=offer).contains(&protocol) => {
            authenticate(target, server, client_nonce.as_deref(), challenge, &mut wr).await?;
            (protocol, software)
        }
        ServerMessage::Welcome { protocol, software, .. } => {
            let reason = format!(
                "protocol version mismatch: this client speaks saf-net protocol {MIN_PROTOCOL} to {offer} (saf-net {}), \
                 the server speaks protocol {protocol} (saf-net {software}); run the same saf-net release on both hosts",
                env!("CARGO_PKG_VERSION")
            );
            return Err(ClientError::VersionMismatch { reason, server });
        }
        ServerMessage::Refused { reason } if reason.starts_with("protocol version mismatch") => {
            return Err(ClientError::VersionMismatch { reason, server });
        }
        ServerMessage::Refused { reason } if reason.contains("pre-shared key") || reason.contains("authentication") => {
            return Err(ClientError::Auth { server, reason });
        }
        ServerMessage::Refused { reason } => return Err(ClientError::Refused { server, reason }),
        other => {
            return Err(ClientError::Unexpected {
                server,
                got: describe(&other),
                context: "waiting for its hello",
            });
        }
    };
    Ok(Greeted {
        server,
        server_software,
        protocol,
        rd,
        wr,
    })
}

/// Reads the server's first reply, naming another program that answered instead.
async fn read_welcome(rd: &mut OwnedReadHalf, server: SocketAddr, hs: Duration) -> Result<ServerMessage, ClientError> {
    let raw = match read_first(rd, DEFAULT_MAX_FRAME, hs).await {
        Ok(raw) => raw,
        Err(FirstReply::Foreign(what)) => return Err(ClientError::Foreign { server, what }),
        Err(FirstReply::Frame(FrameError::Timeout(t))) => {
            return Err(ClientError::Silent {
                server,
                secs: t.as_secs_f64(),
            });
        }
        Err(FirstReply::Frame(cause)) => return Err(control_error(server, "waiting for the server's hello", cause)),
    };
    decode(&raw).map_err(|cause| control_error(server, "reading the server's hello", cause))
}
