//! What every kind's run shares on the server once a test holds its slot: the admitted test, its control
//! connection (read by a task of its own, so no frame is cut in half), its data connections, telling the client
//! of a failure or a shutdown, and [`Ended`]: why a test ended early, for its one log line.

use std::convert::Infallible;
use std::net::SocketAddr;

use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use super::Ctx;
use crate::config::GRACE;
use crate::engine::Abort;
use crate::protocol::{ClientMessage, Cookie, FrameError, SHUTTING_DOWN, ServerMessage, write_message};

/// Control messages read by a background task.
pub(super) type ControlRx = mpsc::UnboundedReceiver<Result<ClientMessage, FrameError>>;

/// A test that holds a slot: its number (for the log), cookie and peer, and its control connection.
pub(super) struct Admitted {
    pub n: u64,
    pub cookie: Cookie,
    pub peer: SocketAddr,
    pub rd: OwnedReadHalf,
    pub wr: OwnedWriteHalf,
}

/// Why a test ended early on the server.
#[derive(Debug, thiserror::Error)]
pub(super) enum Ended {
    #[error("client aborted: {0}")]
    ClientAborted(String),
    #[error("client sent {0} mid-test")]
    ClientSent(&'static str),
    #[error("client disconnected mid-test")]
    Disconnected,
    #[error("control connection: {0}")]
    Control(FrameError),
    #[error("client left before {0}")]
    ClientLeft(&'static str),
    #[error("client sent no end-of-test within {} s", GRACE.as_secs())]
    NoEndOfTest,
    #[error("{}", SHUTTING_DOWN)]
    ShuttingDown,
    #[error(
        "only {have} of {wanted} data connections arrived within {secs:.0} s; a firewall may block new connections \
         to this port"
    )]
    MissingData { have: usize, wanted: usize, secs: f64 },
    #[error("only {have} of {wanted} UDP streams said hello within {secs:.0} s; a firewall may block UDP to this port")]
    MissingHellos { have: usize, wanted: usize, secs: f64 },
    #[error("this server has no UDP socket on port {0}, so it cannot run UDP tests")]
    NoUdpTests(u16),
    #[error("this server has no UDP socket on its port, so it cannot answer UDP probes")]
    NoUdpProbes,
    #[error("UDP socket of the test port: {0}")]
    UdpSocket(std::io::Error),
    #[error("could not apply socket options on the server: {0}")]
    SocketOptions(std::io::Error),
    /// A data connection could not be taken over from the runtime.
    #[error("{0}")]
    Data(std::io::Error),
    /// The control connection could not be written to.
    #[error("{0}")]
    Write(FrameError),
    /// The engine cut the run short (a time limit, a stream that could not start).
    #[error("{0}")]
    Engine(Abort<Infallible>),
    #[error("a data stream failed: {0}")]
    StreamFailed(String),
    /// An echo session ran past its duration.
    #[error("{0}")]
    EchoCutOff(String),
    #[error("latency run exceeded {0:.0} s; cut off")]
    LatencyCutOff(f64),
    /// An iperf3 client broke its protocol (a state out of turn, malformed results).
    #[error("{0}")]
    Iperf3(String),
    /// The server's own bookkeeping went away (the registry, the UDP responder).
    #[error("{0}")]
    Internal(&'static str),
}

impl From<Abort<Ended>> for Ended {
    fn from(a: Abort<Ended>) -> Ended {
        a.split().map_or_else(|ended| ended, Ended::Engine)
    }
}

/// Tells the client its test has a slot, with this server's interface towards it.
pub(super) async fn accept(test: &mut Admitted) -> Result<(), Ended> {
    let accepted = ServerMessage::Accepted {
        cookie: test.cookie,
        facts: Some(crate::platform::facts_towards(test.peer.ip())),
    };
    write_message(&mut test.wr, &accepted).await.map_err(Ended::Write)
}

/// Why the control channel stopped before the end of a test.
pub(super) fn control_ended(msg: Option<Result<ClientMessage, FrameError>>) -> Ended {
    match msg {
        Some(Ok(ClientMessage::Abort { reason })) => Ended::ClientAborted(reason),
        Some(Ok(other)) => Ended::ClientSent(kind(&other)),
        None | Some(Err(FrameError::Closed)) => Ended::Disconnected,
        Some(Err(e)) => Ended::Control(e),
    }
}

/// Tells the client the test failed, and why; returns the reason for the log.
pub(super) async fn fail(wr: &mut OwnedWriteHalf, why: Ended) -> Ended {
    let _ = write_message(
        wr,
        &ServerMessage::Failed {
            reason: why.to_string(),
        },
    )
    .await;
    why
}

/// Tells the client of a test that the server is shutting down; returns the reason for the log.
pub(super) async fn tell_shutdown(wr: &mut OwnedWriteHalf) -> Ended {
    fail(wr, Ended::ShuttingDown).await
}

/// Waits for `conns` data connections with this test's cookie, each once, within the handshake timeout.
pub(super) async fn collect_data(
    ctx: &Ctx,
    test: &mut Admitted,
    data_rx: &mut mpsc::Receiver<(u32, TcpStream)>,
    conns: usize,
) -> Result<Vec<TcpStream>, Ended> {
    let hs = ctx.config.handshake_timeout;
    let deadline = tokio::time::Instant::now() + hs;
    let mut socks: Vec<Option<TcpStream>> = (0..conns).map(|_| None).collect();
    let mut have = 0;
    while have < conns {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {
                let missing = Ended::MissingData { have, wanted: conns, secs: hs.as_secs_f64() };
                return Err(fail(&mut test.wr, missing).await);
            }
            got = data_rx.recv() => {
                let Some((id, sock)) = got else { return Err(Ended::Internal("registry closed")) };
                match socks.get_mut((id as usize).wrapping_sub(1)) {
                    Some(slot @ None) => { *slot = Some(sock); have += 1; }
                    _ => ctx.log(format!("test {}: ignored a data connection claiming stream {id}", test.n)),
                }
            }
            _ = client_spoke(&mut test.rd) => return Err(Ended::ClientLeft("its data connections were in")),
            _ = ctx.shutting_down() => return Err(tell_shutdown(&mut test.wr).await),
        }
    }
    Ok(socks.into_iter().flatten().collect())
}

/// Resolves when the client sends anything or closes; does not consume what it sent.
pub(super) async fn client_spoke(rd: &mut OwnedReadHalf) {
    let mut b = [0u8; 1];
    let _ = rd.peek(&mut b).await;
}

/// A client message, named for a log line or a refusal.
pub(super) fn kind(msg: &ClientMessage) -> &'static str {
    match msg {
        ClientMessage::Hello { .. } => "a second hello",
        ClientMessage::Auth { .. } => "an unexpected key proof",
        ClientMessage::Data { .. } => "a data-connection hello",
        ClientMessage::Test(_) => "a test request",
        ClientMessage::Abort { .. } => "an abort",
        ClientMessage::Done => "an end-of-test",
        ClientMessage::Latency(_) => "a latency request",
        ClientMessage::Probe { .. } => "a connect probe",
        ClientMessage::Facts => "a facts request",
        ClientMessage::Echo(_) => "an echo request",
        ClientMessage::Relay(_) => "a relay request",
        ClientMessage::PortCheck(_) => "a port check",
        ClientMessage::Group(_) => "a group-session message",
    }
}
