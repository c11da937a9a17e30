//! What every kind shares on the client: connect, hello, key proof and queue (`open`), the events a run
//! reports to an [`Observer`], the errors that mean nothing was measured, and the route lookup before a test.
//! The runs themselves are in [`crate::kinds`].

mod ask;
pub mod group;
mod hello;
mod route;

pub(crate) use ask::{ask_once, unexpected};
pub(crate) use hello::{Greeted, greet};

pub(crate) use route::egress;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::config::Target;
use crate::net::NetError;
use crate::protocol::{
    ClientMessage, Cookie, DEFAULT_MAX_FRAME, FrameError, InterfaceFacts, IntervalReport, ServerMessage, SocketReport,
    read_message, write_message,
};

/// Why a test could not start. Nothing was measured.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("server {server} refused the test: {reason}")]
    Refused { server: SocketAddr, reason: String },
    #[error("{reason}")]
    VersionMismatch { reason: String, server: SocketAddr },
    /// The server speaks an older protocol that lacks what was asked (facts, the slot-free echo).
    #[error("{server} runs saf-net {software} (protocol {protocol}); {feature} protocol {needs}: upgrade it")]
    TooOld {
        server: SocketAddr,
        software: String,
        protocol: u32,
        needs: u32,
        feature: &'static str,
    },
    #[error("server {server}: {context}: {cause}")]
    Control {
        server: SocketAddr,
        context: &'static str,
        cause: FrameError,
    },
    #[error("server {server} sent {got} while {context}; is this a saf-net server of the same release?")]
    Unexpected {
        server: SocketAddr,
        got: String,
        context: &'static str,
    },
    #[error("authentication with {server} failed: {reason}")]
    Auth { server: SocketAddr, reason: String },
    #[error("data connection {stream} to {server} failed: {cause}")]
    Data {
        server: SocketAddr,
        stream: u32,
        cause: std::io::Error,
    },
    /// Another program listens on the port.
    #[error("{server} answered {what}, not saf-net")]
    Foreign {
        server: SocketAddr,
        what: crate::protocol::Foreign,
    },
    /// The port accepted the connection but nothing answered the hello.
    #[error(
        "{server} accepted the connection but sent no answer to saf-net's hello within {secs:.0} s; is a saf-net server listening on port {}?",
        server.port()
    )]
    Silent { server: SocketAddr, secs: f64 },
    /// A signal stopped the client before the server accepted the test: nothing was measured.
    #[error("{reason} before the test started; nothing was measured")]
    Interrupted { reason: String },
    /// A UDP test that cannot run as asked (e.g. a datagram the path MTU cannot carry).
    #[error("{0}")]
    Udp(String),
}

impl ClientError {
    /// The server answered and said no (a refusal or a key that does not match), as opposed to no answer.
    pub fn is_refusal(&self) -> bool {
        matches!(self, ClientError::Refused { .. } | ClientError::Auth { .. })
    }
}

/// Control messages from the server, read by a task of their own.
pub(crate) type ControlRx = tokio::sync::mpsc::UnboundedReceiver<Result<ServerMessage, FrameError>>;

/// One data connection, as opened by the client.
#[derive(Debug, Clone)]
pub struct StreamInfo {
    pub id: u32,
    /// True when the client sends on this stream.
    pub client_sends: bool,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// Socket options as the kernel applied them.
    pub socket: SocketReport,
    /// Kernel TCP figures right after the handshake (MSS advertised and in use).
    pub tcp_now: Option<crate::platform::TcpInfo>,
}

/// What the client sees while a test runs.
#[derive(Debug)]
pub enum Event<'a> {
    Connected {
        server: SocketAddr,
    },
    Queued {
        position: u32,
    },
    Started {
        streams: &'a [StreamInfo],
    },
    /// A closed interval; `local` says whether the client measured it or the server sent it.
    Interval {
        local: bool,
        report: &'a IntervalReport,
    },
    /// A clock tick for progress displays.
    Tick {
        elapsed: Duration,
    },
    /// A problem found before the test starts (a route that leaves by the wrong interface).
    Warning {
        diagnosis: &'a crate::diagnose::Diagnosis,
    },
}

/// Receives events as they happen.
pub trait Observer: Send {
    fn on(&mut self, event: Event<'_>);
}

impl<F: FnMut(Event<'_>) + Send> Observer for F {
    fn on(&mut self, event: Event<'_>) {
        self(event)
    }
}

/// Checks the server's proof of the key and sends ours; with no key on either side, nothing happens.
async fn authenticate(
    target: &Target,
    server: SocketAddr,
    client_nonce: Option<&str>,
    challenge: Option<crate::protocol::Challenge>,
    wr: &mut OwnedWriteHalf,
) -> Result<(), ClientError> {
    use crate::auth::{CLIENT_ROLE, SERVER_ROLE};
    let fail = |reason: &str| ClientError::Auth {
        server,
        reason: reason.to_string(),
    };
    match (&target.psk, client_nonce, challenge) {
        (None, _, None) => Ok(()),
        (None, _, Some(_)) => Err(fail(
            "the server requires a pre-shared key; give this client --psk-file FILE or set SAF_NET_PSK",
        )),
        (Some(_), _, None) => Err(fail(
            "this client has a pre-shared key but the server runs without one, so it cannot prove who it is; \
             start the server with the same --psk-file, or drop the key here to test an open server",
        )),
        (Some(psk), Some(mine), Some(c)) => {
            if !psk.verify(SERVER_ROLE, mine, &c.nonce, &c.proof) {
                return Err(fail(
                    "the server's proof does not match this key: the two hosts hold different keys",
                ));
            }
            let proof = psk.proof(CLIENT_ROLE, &c.nonce, mine);
            write_message(wr, &ClientMessage::Auth { proof })
                .await
                .map_err(|source| ClientError::Control {
                    server,
                    context: "sending the key proof",
                    cause: source,
                })
        }
        (Some(_), None, Some(_)) => Err(fail("internal error: no client nonce")),
    }
}

/// A control connection that holds a test slot.
pub(crate) struct Session {
    pub server: SocketAddr,
    pub server_software: String,
    pub cookie: Cookie,
    /// The server's interface towards us, as it reported it.
    pub server_facts: Option<InterfaceFacts>,
    pub rd: OwnedReadHalf,
    pub wr: OwnedWriteHalf,
}

/// Connects, says hello, sends the request and waits in line until the server accepts it.
pub(crate) async fn open(
    target: &Target,
    request: ClientMessage,
    obs: &mut dyn Observer,
) -> Result<Session, ClientError> {
    let Greeted {
        server,
        server_software,
        mut rd,
        protocol: _,
        mut wr,
    } = greet(target, &request, obs).await?;
    let control = |context: &'static str| move |cause| control_error(server, context, cause);
    write_message(&mut wr, &request)
        .await
        .map_err(control("sending the test request"))?;
    let (cookie, server_facts) = loop {
        match read_message::<ServerMessage, _>(&mut rd, DEFAULT_MAX_FRAME, target.handshake_timeout)
            .await
            .map_err(control("waiting for a test slot"))?
        {
            ServerMessage::Queued { position } => obs.on(Event::Queued { position }),
            ServerMessage::Accepted { cookie, facts } => break (cookie, facts),
            ServerMessage::Refused { reason } | ServerMessage::Failed { reason } => {
                return Err(ClientError::Refused { server, reason });
            }
            other => {
                return Err(ClientError::Unexpected {
                    server,
                    got: describe(&other),
                    context: "waiting for a test slot",
                });
            }
        }
    };
    Ok(Session {
        server,
        server_software,
        cookie,
        server_facts,
        rd,
        wr,
    })
}

/// Waits for the server's start of a probe run (latency, MTU); a refusal or failure is the server's reason.
pub(crate) async fn wait_for_start(
    rd: &mut OwnedReadHalf,
    server: SocketAddr,
    hs: Duration,
) -> Result<(), ClientError> {
    let fail = |reason: String| ClientError::Refused { server, reason };
    match read_message::<ServerMessage, _>(rd, DEFAULT_MAX_FRAME, hs).await {
        Ok(ServerMessage::Start) => Ok(()),
        Ok(ServerMessage::Failed { reason } | ServerMessage::Refused { reason }) => Err(fail(reason)),
        Ok(other) => Err(fail(format!("unexpected {} before the start", describe(&other)))),
        Err(source) => Err(ClientError::Control {
            server,
            context: "waiting for the start",
            cause: source,
        }),
    }
}

pub(crate) fn control_error(server: SocketAddr, context: &'static str, cause: FrameError) -> ClientError {
    ClientError::Control { server, context, cause }
}

pub(crate) fn describe(msg: &ServerMessage) -> String {
    let kind = match msg {
        ServerMessage::Welcome { .. } => "a hello",
        ServerMessage::Refused { .. } => "a refusal",
        ServerMessage::Queued { .. } => "a queue position",
        ServerMessage::Accepted { .. } => "an acceptance",
        ServerMessage::Start => "a start",
        ServerMessage::Interval(_) => "an interval report",
        ServerMessage::Results(_) => "results",
        ServerMessage::Failed { .. } => "a failure",
        ServerMessage::Facts(_) => "facts",
        ServerMessage::Relayed(_) => "relayed figures",
        ServerMessage::PortsChecked { .. } => "port check results",
        ServerMessage::Group(_) => "a group-session answer",
    };
    kind.to_string()
}
