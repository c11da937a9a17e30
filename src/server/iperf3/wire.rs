//! What the server adds to the iperf3 codec (`protocol::iperf3`): telling an iperf3 cookie from a saf-net frame
//! by its first bytes, the error numbers it answers with, and the answer to a UDP setup.

use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::protocol::iperf3::{
    COOKIE_ALPHABET, LEGACY_CONNECT_MSG, LEGACY_CONNECT_REPLY, ServerError, State, TEXT_CONNECT_MSG, TEXT_CONNECT_REPLY,
};

/// iperf3's error numbers (`i_errno`, from its `iperf_api.h`) the server sends after `SERVER_ERROR`; the client
/// prints its own text for each.
pub mod errno {
    /// "test duration too long".
    pub const DURATION: i32 = 5;
    /// "number of parallel streams too large".
    pub const NUM_STREAMS: i32 = 6;
    /// "block size too large".
    pub const BLOCK_SIZE: i32 = 7;
    /// "socket buffer size too large".
    pub const BUF_SIZE: i32 = 8;
    /// "unable to receive parameters from client".
    pub const RECV_PARAMS: i32 = 114;
    /// "the server has terminated".
    pub const SERVER_TERM: i32 = 120;
    /// "protocol does not exist".
    pub const PROTOCOL: i32 = 131;
    /// "test authorization failed".
    pub const AUTH_TEST: i32 = 142;
    /// "unable to accept stream connection".
    pub const STREAM_ACCEPT: i32 = 204;
}

/// Whether a connection's first bytes can begin an iperf3 cookie. A saf-net frame starts with its length, which
/// would have to be over 800 MB to look like one.
pub fn starts_like_cookie(first: &[u8]) -> bool {
    !first.is_empty() && first.iter().all(|b| COOKIE_ALPHABET.contains(b))
}

/// `SERVER_ERROR`, iperf3's error number and no system error, in one write.
pub async fn write_error<W: AsyncWrite + Unpin>(wr: &mut W, code: i32) -> std::io::Result<()> {
    let mut out = vec![State::ServerError.to_byte()];
    out.extend_from_slice(&ServerError { code, errno: 0 }.to_bytes());
    wr.write_all(&out).await
}

/// The answer to an iperf3 UDP setup datagram: the reply of the same release (legacy or text value) in the
/// same byte order; None when the datagram is no setup.
pub fn udp_connect_reply(d: &[u8]) -> Option<[u8; 4]> {
    let d: [u8; 4] = d.try_into().ok()?;
    [
        (LEGACY_CONNECT_MSG, LEGACY_CONNECT_REPLY),
        (TEXT_CONNECT_MSG, TEXT_CONNECT_REPLY),
    ]
    .into_iter()
    .find_map(|(msg, reply)| {
        if d == msg.to_le_bytes() {
            Some(reply.to_le_bytes())
        } else if d == msg.to_be_bytes() {
            Some(reply.to_be_bytes())
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_start_and_setup_replies() {
        assert!(starts_like_cookie(b"l7eb"));
        // A saf-net frame starts with a small big-endian length.
        assert!(!starts_like_cookie(&[0, 0, 0, 64]));
        assert!(!starts_like_cookie(b"ab8c"), "8 is not base32");
        // iperf3 3.12 on a little-endian host sends "9876" and wants "6789".
        assert_eq!(udp_connect_reply(b"9876"), Some(*b"6789"));
        assert_eq!(udp_connect_reply(b"6789"), Some(*b"9876"));
        assert_eq!(
            udp_connect_reply(&123_456_789u32.to_le_bytes()),
            Some(987_654_321u32.to_le_bytes())
        );
        assert_eq!(udp_connect_reply(b"abcd"), None);
        assert_eq!(udp_connect_reply(b"98765"), None);
    }
}
