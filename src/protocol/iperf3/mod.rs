//! iperf3's wire protocol (≥ 3.1), spoken by `saf-net client --iperf3` and by a server answering iperf3 clients.
//!
//! ```text
//! control connection (TCP, port 5201 by default)
//!   client → server   cookie: 36 characters of COOKIE_ALPHABET and a NUL (37 bytes)
//!   server → client   state byte PARAM_EXCHANGE (9)
//!   client → server   parameters: 4-byte big-endian length, then JSON (params.rs)
//!   server → client   CREATE_STREAMS (10); the client opens its data streams:
//!                       TCP: connect, send the cookie
//!                       UDP: send a 4-byte connect message, wait for the 4-byte reply (udp.rs)
//!   server → client   TEST_START (1), TEST_RUNNING (2); data flows
//!   client → server   TEST_END (4) when the client's clock or byte count says so
//!   server → client   EXCHANGE_RESULTS (13); client sends its results JSON, then reads the server's (results.rs)
//!   server → client   DISPLAY_RESULTS (14)
//!   client → server   IPERF_DONE (16)
//! errors: ACCESS_DENIED (-1, "busy" or a bad cookie), SERVER_ERROR (-2, then i_errno and errno, 4 bytes each,
//! big-endian), SERVER_TERMINATE (11), CLIENT_TERMINATE (12)
//! ```
//!
//! Stream ids are iperf3's: 1 for the first stream, then 3, 4, 5, … ([`stream_id`]); both ends number their
//! streams in creation order (in `--bidir` the client's sending streams first), and the results are matched by id.

mod json;
mod params;
mod results;
mod udp;

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub use json::{MAX_JSON, decode_json, encode_json, read_json, write_json};
pub use params::Params;
pub use results::{Results, StreamResult};
pub use udp::{
    LEGACY_CONNECT_MSG, LEGACY_CONNECT_REPLY, TEXT_CONNECT_MSG, TEXT_CONNECT_REPLY, UdpHeader, connect_msg,
    connect_reply, is_connect_msg, is_connect_reply,
};

/// iperf3's default port, for the control connection, TCP data streams and UDP data streams alike.
pub const DEFAULT_PORT: u16 = 5201;
/// Length of the cookie on the wire: 36 characters and a NUL.
pub const COOKIE_SIZE: usize = 37;
/// The characters iperf3 draws its cookies from.
pub const COOKIE_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// iperf3's default TCP block (`-l`).
pub const DEFAULT_TCP_LEN: usize = 128 * 1024;
/// iperf3's UDP block when the control connection's MSS is unknown.
pub const DEFAULT_UDP_LEN: usize = 1460;
/// iperf3's default test length in seconds.
pub const DEFAULT_TIME: u64 = 10;
/// iperf3's limit on parallel streams (`-P`).
pub const MAX_STREAMS: u32 = 128;

/// A control state: one signed byte on the control connection, with iperf3's numeric values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i8)]
pub enum State {
    TestStart = 1,
    TestRunning = 2,
    ResultRequest = 3,
    TestEnd = 4,
    StreamBegin = 5,
    StreamRunning = 6,
    StreamEnd = 7,
    AllStreamsEnd = 8,
    ParamExchange = 9,
    CreateStreams = 10,
    ServerTerminate = 11,
    ClientTerminate = 12,
    ExchangeResults = 13,
    DisplayResults = 14,
    IperfStart = 15,
    IperfDone = 16,
    AccessDenied = -1,
    ServerError = -2,
}

impl State {
    const ALL: [State; 18] = [
        State::TestStart,
        State::TestRunning,
        State::ResultRequest,
        State::TestEnd,
        State::StreamBegin,
        State::StreamRunning,
        State::StreamEnd,
        State::AllStreamsEnd,
        State::ParamExchange,
        State::CreateStreams,
        State::ServerTerminate,
        State::ClientTerminate,
        State::ExchangeResults,
        State::DisplayResults,
        State::IperfStart,
        State::IperfDone,
        State::AccessDenied,
        State::ServerError,
    ];

    /// The state a byte on the wire stands for, or `None` for a byte iperf3 never sends.
    pub fn from_byte(b: u8) -> Option<State> {
        let v = b as i8;
        State::ALL.into_iter().find(|s| *s as i8 == v)
    }

    /// The byte this state is sent as.
    pub fn to_byte(self) -> u8 {
        self as i8 as u8
    }

    /// iperf3's name for the state, as in its source and debug output.
    pub fn name(self) -> &'static str {
        match self {
            State::TestStart => "TEST_START",
            State::TestRunning => "TEST_RUNNING",
            State::ResultRequest => "RESULT_REQUEST",
            State::TestEnd => "TEST_END",
            State::StreamBegin => "STREAM_BEGIN",
            State::StreamRunning => "STREAM_RUNNING",
            State::StreamEnd => "STREAM_END",
            State::AllStreamsEnd => "ALL_STREAMS_END",
            State::ParamExchange => "PARAM_EXCHANGE",
            State::CreateStreams => "CREATE_STREAMS",
            State::ServerTerminate => "SERVER_TERMINATE",
            State::ClientTerminate => "CLIENT_TERMINATE",
            State::ExchangeResults => "EXCHANGE_RESULTS",
            State::DisplayResults => "DISPLAY_RESULTS",
            State::IperfStart => "IPERF_START",
            State::IperfDone => "IPERF_DONE",
            State::AccessDenied => "ACCESS_DENIED",
            State::ServerError => "SERVER_ERROR",
        }
    }
}

/// The 37-byte cookie that names a test: on the control connection first, then on every TCP data stream.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cookie([u8; COOKIE_SIZE]);

impl Cookie {
    /// A fresh cookie: 36 random characters of [`COOKIE_ALPHABET`] and a NUL.
    pub fn random() -> std::io::Result<Cookie> {
        let mut raw = [0u8; COOKIE_SIZE - 1];
        getrandom::fill(&mut raw).map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut out = [0u8; COOKIE_SIZE];
        for (o, r) in out.iter_mut().zip(raw) {
            *o = COOKIE_ALPHABET[usize::from(r) % COOKIE_ALPHABET.len()];
        }
        Ok(Cookie(out))
    }

    /// A cookie read off the wire: 36 characters of iperf3's alphabet, then a NUL; anything else is refused.
    pub fn parse(bytes: &[u8]) -> Option<Cookie> {
        let bytes: [u8; COOKIE_SIZE] = bytes.try_into().ok()?;
        let (text, nul) = bytes.split_at(COOKIE_SIZE - 1);
        (nul == [0] && text.iter().all(|b| COOKIE_ALPHABET.contains(b))).then_some(Cookie(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; COOKIE_SIZE] {
        &self.0
    }

    /// The 36 characters, without the NUL.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0[..COOKIE_SIZE - 1]).expect("cookies are ASCII")
    }
}

impl std::fmt::Debug for Cookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cookie({})", self.as_str())
    }
}

/// Reads a cookie: exactly 37 bytes within `timeout`. `Ok(None)` if they are not a valid cookie.
pub async fn read_cookie<R: AsyncRead + Unpin>(reader: &mut R, timeout: Duration) -> std::io::Result<Option<Cookie>> {
    let mut buf = [0u8; COOKIE_SIZE];
    tokio::time::timeout(timeout, reader.read_exact(&mut buf))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no cookie in time"))??;
    Ok(Cookie::parse(&buf))
}

/// iperf3's id of the stream created `index`-th (from 0): 1, 3, 4, 5, …
pub fn stream_id(index: usize) -> u32 {
    if index == 0 { 1 } else { index as u32 + 2 }
}

/// Why a control state could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("the iperf3 peer closed the control connection")]
    Closed,
    #[error("no control message from the iperf3 peer within {0:?}")]
    Timeout(Duration),
    #[error("the iperf3 peer sent an unknown control state {0}")]
    Unknown(i8),
    #[error("control connection error: {0}")]
    Io(std::io::Error),
}

/// Reads one state byte within `timeout`.
pub async fn read_state<R: AsyncRead + Unpin>(reader: &mut R, timeout: Duration) -> Result<State, StateError> {
    let mut b = [0u8; 1];
    match tokio::time::timeout(timeout, reader.read_exact(&mut b)).await {
        Err(_) => Err(StateError::Timeout(timeout)),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(StateError::Closed),
        Ok(Err(e)) => Err(StateError::Io(e)),
        Ok(Ok(_)) => State::from_byte(b[0]).ok_or(StateError::Unknown(b[0] as i8)),
    }
}

/// Sends one state byte.
pub async fn write_state<W: AsyncWrite + Unpin>(writer: &mut W, state: State) -> std::io::Result<()> {
    writer.write_all(&[state.to_byte()]).await?;
    writer.flush().await
}

/// What follows a SERVER_ERROR state: iperf3's error number (`i_errno`) and the system's `errno`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerError {
    pub code: i32,
    pub errno: i32,
}

impl ServerError {
    /// The 8 bytes after the state byte: both numbers big-endian.
    pub fn to_bytes(self) -> [u8; 8] {
        let mut out = [0u8; 8];
        out[..4].copy_from_slice(&self.code.to_be_bytes());
        out[4..].copy_from_slice(&self.errno.to_be_bytes());
        out
    }

    pub fn from_bytes(b: [u8; 8]) -> ServerError {
        ServerError {
            code: i32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            errno: i32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// Reads the two numbers; a server that closes after the first still tells its code (errno 0).
    pub async fn read<R: AsyncRead + Unpin>(reader: &mut R, timeout: Duration) -> std::io::Result<ServerError> {
        let mut b = [0u8; 8];
        let mut got = 0;
        let fut = async {
            while got < b.len() {
                match reader.read(&mut b[got..]).await? {
                    0 => break,
                    n => got += n,
                }
            }
            std::io::Result::Ok(())
        };
        tokio::time::timeout(timeout, fut)
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no error number in time"))??;
        if got < 4 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(ServerError::from_bytes(b))
    }

    /// One line for the user: iperf3's meaning of the code, and the system error if there is one.
    pub fn message(self) -> String {
        let what = describe_error(self.code).map_or_else(|| format!("iperf3 error {}", self.code), str::to_string);
        if self.errno == 0 {
            what
        } else {
            format!(
                "{what}: errno {} ({})",
                self.errno,
                std::io::Error::from_raw_os_error(self.errno)
            )
        }
    }
}

/// iperf3's text for the error numbers a server sends after SERVER_ERROR (from `iperf_api.h`).
pub fn describe_error(code: i32) -> Option<&'static str> {
    Some(match code {
        100 => "unable to create a new test",
        101 => "test initialization failed",
        102 => "unable to start listener for connections",
        104 => "unable to accept connection from client",
        108 => "unable to read from the control socket",
        109 => "the control socket has closed unexpectedly",
        114 => "unable to receive parameters from client",
        117 => "unable to receive results from client",
        119 => "the client has terminated",
        120 => "the server has terminated",
        121 => "the server is busy running a test",
        123 => "unable to set TCP MSS",
        124 => "unable to set socket buffer size",
        130 => "unable to set socket window size",
        134 => "unable to set TCP congestion control",
        140 => "unable to set socket pacing",
        141 => "socket buffer size not set correctly",
        142 => "test authorization failed",
        200 => "unable to create a new stream",
        202 => "unable to start stream listener",
        204 => "unable to accept stream connection",
        205 => "unable to write to stream socket",
        206 => "unable to read from stream socket",
        207 => "stream socket has closed unexpectedly",
        208 => "stream has an invalid id",
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
