//! The little of iperf3's control protocol the server needs until the shared codec (`protocol::iperf3`) is in:
//! state bytes, the cookie, length-prefixed JSON with a cap and a timeout on every read, and error answers.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The cookie an iperf3 client sends first on every connection: 36 characters and a NUL.
pub const COOKIE_LEN: usize = 37;
/// Characters of an iperf3 cookie (base32, lower case).
const COOKIE_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";

/// iperf3's control states, one signed byte each on the wire.
pub mod state {
    pub const TEST_START: i8 = 1;
    pub const TEST_RUNNING: i8 = 2;
    pub const TEST_END: i8 = 4;
    pub const PARAM_EXCHANGE: i8 = 9;
    pub const CREATE_STREAMS: i8 = 10;
    pub const SERVER_TERMINATE: i8 = 11;
    pub const CLIENT_TERMINATE: i8 = 12;
    pub const EXCHANGE_RESULTS: i8 = 13;
    pub const DISPLAY_RESULTS: i8 = 14;
    pub const IPERF_DONE: i8 = 16;
    pub const ACCESS_DENIED: i8 = -1;
    pub const SERVER_ERROR: i8 = -2;
}

/// iperf3's error numbers (`i_errno`) the server sends after `SERVER_ERROR`; the client prints its own text.
pub mod errno {
    /// "test duration too long".
    pub const DURATION: u32 = 5;
    /// "number of parallel streams too large".
    pub const NUM_STREAMS: u32 = 6;
    /// "block size too large".
    pub const BLOCK_SIZE: u32 = 7;
    /// "socket buffer size too large".
    pub const BUF_SIZE: u32 = 8;
    /// "unable to receive parameters from client".
    pub const RECV_PARAMS: u32 = 114;
    /// "the server has terminated".
    pub const SERVER_TERM: u32 = 120;
    /// "unable to accept stream connection".
    pub const STREAM_ACCEPT: u32 = 204;
    /// "test authorization failed".
    pub const AUTH_TEST: u32 = 142;
    /// "protocol does not exist".
    pub const PROTOCOL: u32 = 131;
}

/// Whether a connection's first bytes can begin an iperf3 cookie (and so are no saf-net frame length).
pub fn starts_like_cookie(first: &[u8]) -> bool {
    !first.is_empty() && first.iter().all(|b| COOKIE_ALPHABET.contains(b))
}

/// Whether all 37 bytes are an iperf3 cookie.
pub fn is_cookie(c: &[u8; COOKIE_LEN]) -> bool {
    starts_like_cookie(&c[..COOKIE_LEN - 1]) && c[COOKIE_LEN - 1] == 0
}

/// Why a JSON block could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("client closed the connection")]
    Closed,
    #[error("no data from the client within {0:?}")]
    Timeout(Duration),
    #[error("JSON block of {got} bytes exceeds the {cap}-byte cap")]
    TooLarge { got: u32, cap: u32 },
    #[error("empty JSON block")]
    Empty,
    #[error("malformed JSON: {0}")]
    Json(String),
    #[error("connection error: {0}")]
    Io(std::io::Error),
}

fn io(e: std::io::Error) -> WireError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        WireError::Closed
    } else {
        WireError::Io(e)
    }
}

/// Reads one state byte within `timeout`.
pub async fn read_state<R: AsyncRead + Unpin>(rd: &mut R, timeout: Duration) -> Result<i8, WireError> {
    let mut b = [0u8; 1];
    match tokio::time::timeout(timeout, rd.read_exact(&mut b)).await {
        Err(_) => Err(WireError::Timeout(timeout)),
        Ok(r) => r.map(|_| b[0] as i8).map_err(io),
    }
}

/// Reads a 4-byte big-endian length and that much JSON, the whole within `timeout`.
pub async fn read_json<R: AsyncRead + Unpin>(
    rd: &mut R,
    cap: u32,
    timeout: Duration,
) -> Result<serde_json::Value, WireError> {
    let fut = async {
        let mut len = [0u8; 4];
        rd.read_exact(&mut len).await.map_err(io)?;
        let n = u32::from_be_bytes(len);
        if n == 0 {
            return Err(WireError::Empty);
        }
        if n > cap {
            return Err(WireError::TooLarge { got: n, cap });
        }
        let mut buf = vec![0u8; n as usize];
        rd.read_exact(&mut buf).await.map_err(io)?;
        serde_json::from_slice(&buf).map_err(|e| WireError::Json(e.to_string()))
    };
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| WireError::Timeout(timeout))?
}

/// Writes one state byte.
pub async fn write_state<W: AsyncWrite + Unpin>(wr: &mut W, s: i8) -> std::io::Result<()> {
    wr.write_all(&[s as u8]).await
}

/// Writes a JSON block with its length.
pub async fn write_json<W: AsyncWrite + Unpin>(wr: &mut W, v: &serde_json::Value) -> std::io::Result<()> {
    let body = serde_json::to_vec(v).map_err(std::io::Error::other)?;
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    wr.write_all(&out).await
}

/// `SERVER_ERROR`, iperf3's error number and no system error: the client prints the error's text and exits.
pub async fn write_error<W: AsyncWrite + Unpin>(wr: &mut W, i_errno: u32) -> std::io::Result<()> {
    let mut out = vec![state::SERVER_ERROR as u8];
    out.extend_from_slice(&i_errno.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
    wr.write_all(&out).await
}

/// The 4-byte datagram an iperf3 client sends from each UDP stream's socket first, in either byte order.
pub fn udp_connect_reply(d: &[u8]) -> Option<[u8; 4]> {
    match d {
        b"9876" => Some(*b"6789"),
        b"6789" => Some(*b"9876"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_shape() {
        let mut c = [b'a'; COOKIE_LEN];
        c[COOKIE_LEN - 1] = 0;
        assert!(is_cookie(&c));
        c[3] = b'8';
        assert!(!is_cookie(&c), "8 is not base32");
        assert!(starts_like_cookie(b"l7eb"));
        // A saf-net frame starts with a small big-endian length.
        assert!(!starts_like_cookie(&[0, 0, 0, 64]));
    }

    #[tokio::test]
    async fn json_blocks_are_capped_and_timed() {
        let mut huge: &[u8] = &[0xff, 0xff, 0xff, 0xff, b'{'];
        let e = read_json(&mut huge, 8192, Duration::from_secs(1)).await.unwrap_err();
        assert!(
            matches!(
                e,
                WireError::TooLarge {
                    got: u32::MAX,
                    cap: 8192
                }
            ),
            "{e}"
        );
        let (mut a, mut b) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut a, &[0, 0, 0, 10, b'{'])
            .await
            .unwrap();
        let e = read_json(&mut b, 8192, Duration::from_millis(100)).await.unwrap_err();
        assert!(
            matches!(e, WireError::Timeout(_)),
            "a partial block then silence times out: {e}"
        );
        let mut ok: &[u8] = &[0, 0, 0, 2, b'{', b'}'];
        assert!(
            read_json(&mut ok, 8192, Duration::from_secs(1))
                .await
                .unwrap()
                .is_object()
        );
    }
}
