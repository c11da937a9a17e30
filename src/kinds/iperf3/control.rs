//! The control connection to an iperf3 server: connect and send the cookie, then states and JSON, each read with a
//! timeout; iperf3's error states become one clear line.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::client::{ClientError, Event, Observer};
use crate::config::Target;
use crate::net;
use crate::protocol::FrameError;
use crate::protocol::iperf3::{Cookie, MAX_JSON, ServerError, State, StateError, read_json, read_state, write_json};

/// An open control connection.
pub(super) struct Control {
    pub server: SocketAddr,
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
    /// How long the server may take to answer a step before the test.
    pub patience: Duration,
}

/// Why a step on the control connection failed, in words.
fn failed(server: SocketAddr, context: &str, reason: impl std::fmt::Display) -> ClientError {
    ClientError::Refused {
        server,
        reason: format!("iperf3: {context}: {reason}"),
    }
}

impl Control {
    /// Connects and sends the cookie.
    pub async fn connect(target: &Target, cookie: &Cookie, obs: &mut dyn Observer) -> Result<Control, ClientError> {
        let addrs = match target.addr {
            Some(a) => vec![a],
            None => net::resolve(&target.host, target.port, target.family).await?,
        };
        let (sock, server) = net::connect_any(&addrs, target.connect_timeout, target.bind).await?;
        obs.on(Event::Connected { server });
        let _ = sock.set_nodelay(true);
        let (rd, mut wr) = sock.into_split();
        wr.write_all(cookie.as_bytes())
            .await
            .map_err(|e| failed(server, "sending the cookie", e))?;
        Ok(Control {
            server,
            rd,
            wr,
            patience: target.handshake_timeout,
        })
    }

    /// The next state, within `timeout`; iperf3's error states and anything unexpected are errors.
    pub async fn next(&mut self, timeout: Duration, context: &str) -> Result<State, ClientError> {
        let state = read_state(&mut self.rd, timeout)
            .await
            .map_err(|e| self.state_error(e, context, timeout))?;
        match state {
            State::AccessDenied => Err(failed(
                self.server,
                context,
                "ACCESS_DENIED: the server is busy running a test (or refused this client); try again later",
            )),
            State::ServerError => Err(failed(self.server, context, self.server_error().await)),
            State::ServerTerminate => Err(failed(
                self.server,
                context,
                "SERVER_TERMINATE: the server ended the test",
            )),
            s => Ok(s),
        }
    }

    /// Reads the next state and requires it to be `want`.
    pub async fn expect(&mut self, want: State, context: &str) -> Result<(), ClientError> {
        match self.next(self.patience, context).await? {
            s if s == want => Ok(()),
            s => Err(failed(
                self.server,
                context,
                format!("sent {} where {} was due", s.name(), want.name()),
            )),
        }
    }

    /// What followed SERVER_ERROR: iperf3's error and the system's.
    async fn server_error(&mut self) -> String {
        server_error(&mut self.rd).await
    }

    fn state_error(&self, e: StateError, context: &str, timeout: Duration) -> ClientError {
        let port = self.server.port();
        match e {
            StateError::Unknown(b) => failed(
                self.server,
                context,
                format!(
                    "sent byte {b}, which is no iperf3 state; is an iperf3 server (3.1 or later) listening on port \
                     {port}? (a saf-net server is tested without --iperf3)"
                ),
            ),
            StateError::Timeout(_) => failed(
                self.server,
                context,
                format!(
                    "no answer within {:.0} s; is an iperf3 server listening on port {port}?",
                    timeout.as_secs_f64()
                ),
            ),
            other => failed(self.server, context, other),
        }
    }

    /// The two halves, for reading states while the streams run and writing TEST_END beside them.
    pub fn halves(&mut self) -> (&mut OwnedReadHalf, &mut OwnedWriteHalf) {
        (&mut self.rd, &mut self.wr)
    }

    /// Sends one state.
    pub async fn send(&mut self, state: State) -> Result<(), ClientError> {
        crate::protocol::iperf3::write_state(&mut self.wr, state)
            .await
            .map_err(|e| failed(self.server, "sending a state", e))
    }

    /// Sends one JSON message.
    pub async fn send_json<T: Serialize>(&mut self, msg: &T, context: &str) -> Result<(), ClientError> {
        write_json(&mut self.wr, msg)
            .await
            .map_err(|e| failed(self.server, context, e))
    }

    /// Reads one JSON message within `timeout`, never trusting its length.
    pub async fn read_json<T: DeserializeOwned>(&mut self, timeout: Duration, context: &str) -> Result<T, ClientError> {
        read_json(&mut self.rd, MAX_JSON, timeout).await.map_err(|e| match e {
            FrameError::Closed => failed(self.server, context, "closed the connection"),
            e => failed(self.server, context, e),
        })
    }
}

/// What a state (or a failed read) in the middle of a test means: None for EXCHANGE_RESULTS, the server's
/// answer to TEST_END; otherwise why the test ended early.
pub(super) async fn mid_test(
    read: Result<State, StateError>,
    rd: &mut OwnedReadHalf,
    server: SocketAddr,
) -> Option<String> {
    let what = match read {
        Ok(State::ExchangeResults) => return None,
        Ok(State::ServerError) => server_error(rd).await,
        Ok(State::ServerTerminate) => "SERVER_TERMINATE: the server ended the test".into(),
        Ok(s) => format!("sent {} mid-test", s.name()),
        Err(StateError::Closed) => "closed the control connection mid-test (killed or restarted?)".into(),
        Err(e) => e.to_string(),
    };
    Some(format!("iperf3 server {server}: {what}"))
}

async fn server_error(rd: &mut OwnedReadHalf) -> String {
    match ServerError::read(rd, Duration::from_secs(2)).await {
        Ok(e) => format!("SERVER_ERROR: {}", e.message()),
        Err(_) => "SERVER_ERROR (no error number followed)".into(),
    }
}
