//! Telling a saf-net server's first reply from another program's: iperf3, HTTP, SSH, TLS, other text.
//!
//! Every saf-net frame is shorter than 16 MiB, so its first byte (the top byte of the length) is 0. Any
//! other first byte means another program answered; what else it sends within a moment says which.

use std::fmt;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};

use super::framing::{FrameError, read_raw};

/// How long to gather the rest of a foreign reply before naming it.
const GATHER: Duration = Duration::from_millis(200);
/// At most this much of a foreign reply is read.
const GATHER_BYTES: usize = 256;
/// Text quoted from a foreign reply is cut at this many characters.
const QUOTE_CHARS: usize = 60;

/// What answered instead of a saf-net server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Foreign {
    /// One iperf3 state byte: PARAM_EXCHANGE (9) after reading our bytes as its cookie, or ACCESS_DENIED (-1).
    Iperf3 { busy: bool },
    /// A status line such as `HTTP/1.1 400 Bad Request`.
    Http(String),
    /// A banner such as `SSH-2.0-OpenSSH_9.6`.
    Ssh(String),
    /// A TLS alert or handshake record.
    Tls,
    /// Any other printable first line.
    Text(String),
    /// Anything else: its first bytes in hex.
    Binary(String),
}

impl fmt::Display for Foreign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Foreign::Iperf3 { busy: false } => write!(f, "like an iperf3 server"),
            Foreign::Iperf3 { busy: true } => write!(f, "like an iperf3 server (busy with another test)"),
            Foreign::Http(line) => write!(f, "like an HTTP server ({line:?})"),
            Foreign::Ssh(line) => write!(f, "like an SSH server ({line:?})"),
            Foreign::Tls => write!(f, "like a TLS server"),
            Foreign::Text(line) => write!(f, "with text ({line:?})"),
            Foreign::Binary(hex) => write!(f, "with bytes saf-net does not use ({hex})"),
        }
    }
}

/// Why the first reply could not be read: a frame problem, or another program answered.
#[derive(Debug)]
pub enum FirstReply {
    Frame(FrameError),
    Foreign(Foreign),
}

/// Reads a peer's first frame; a reply that cannot start a saf-net frame is named instead.
pub async fn read_first<R: AsyncRead + Unpin>(
    reader: &mut R,
    cap: u32,
    timeout: Duration,
) -> Result<Vec<u8>, FirstReply> {
    let mut first = [0u8; 1];
    match tokio::time::timeout(timeout, reader.read(&mut first)).await {
        Err(_) => return Err(FirstReply::Frame(FrameError::Timeout(timeout))),
        Ok(Ok(0)) => return Err(FirstReply::Frame(FrameError::Closed)),
        Ok(Err(e)) => return Err(FirstReply::Frame(e.into())),
        Ok(Ok(_)) => {}
    }
    if first[0] != 0 {
        let mut seen = first.to_vec();
        gather(reader, &mut seen).await;
        return Err(FirstReply::Foreign(identify(&seen)));
    }
    let mut rest = first.as_slice().chain(reader);
    read_raw(&mut rest, cap, timeout).await.map_err(FirstReply::Frame)
}

/// Adds what else the peer sends within [`GATHER`], up to a line or [`GATHER_BYTES`].
async fn gather<R: AsyncRead + Unpin>(reader: &mut R, seen: &mut Vec<u8>) {
    let deadline = tokio::time::Instant::now() + GATHER;
    let mut buf = [0u8; GATHER_BYTES];
    while seen.len() < GATHER_BYTES && !seen.contains(&b'\n') {
        let room = GATHER_BYTES - seen.len();
        match tokio::time::timeout_at(deadline, reader.read(&mut buf[..room])).await {
            Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&buf[..n]),
            _ => return,
        }
    }
}

/// Names the program behind a reply whose first byte is not 0.
pub fn identify(reply: &[u8]) -> Foreign {
    const PARAM_EXCHANGE: u8 = 9;
    const ACCESS_DENIED: u8 = 0xff;
    match reply {
        [PARAM_EXCHANGE] => Foreign::Iperf3 { busy: false },
        [ACCESS_DENIED] => Foreign::Iperf3 { busy: true },
        r if r.starts_with(b"HTTP/") => Foreign::Http(first_line(r)),
        r if r.starts_with(b"SSH-") => Foreign::Ssh(first_line(r)),
        [0x15 | 0x16, 0x03, ..] => Foreign::Tls,
        r if is_text(r) => Foreign::Text(first_line(r)),
        r => Foreign::Binary(
            r.iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" "),
        ),
    }
}

/// Whether the reply's first line is printable ASCII.
fn is_text(reply: &[u8]) -> bool {
    let line = reply.split(|&b| b == b'\n').next().unwrap_or_default();
    !line.is_empty()
        && line
            .iter()
            .all(|&b| b == b'\r' || b == b'\t' || (0x20..0x7f).contains(&b))
}

/// The first line, trimmed and cut to [`QUOTE_CHARS`].
fn first_line(reply: &[u8]) -> String {
    let line = reply.split(|&b| b == b'\n').next().unwrap_or_default();
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    match text.char_indices().nth(QUOTE_CHARS) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_named_by_their_first_bytes() {
        assert_eq!(identify(&[9]), Foreign::Iperf3 { busy: false });
        assert_eq!(identify(&[0xff]), Foreign::Iperf3 { busy: true });
        assert_eq!(
            identify(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
            Foreign::Http("HTTP/1.1 400 Bad Request".into())
        );
        assert_eq!(
            identify(b"SSH-2.0-OpenSSH_9.6p1 Debian\r\n"),
            Foreign::Ssh("SSH-2.0-OpenSSH_9.6p1 Debian".into())
        );
        assert_eq!(identify(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x32]), Foreign::Tls);
        assert_eq!(
            identify(b"220 mail.example ESMTP\r\n"),
            Foreign::Text("220 mail.example ESMTP".into())
        );
        assert_eq!(identify(&[9, 0x80, 1]), Foreign::Binary("09 80 01".into()));
        let long = "x".repeat(200);
        assert_eq!(identify(long.as_bytes()), Foreign::Text(format!("{}…", "x".repeat(60))));
    }

    #[tokio::test]
    async fn a_saf_net_frame_still_reads_and_others_are_named() {
        let frame = super::super::encode(&super::super::ServerMessage::Start);
        let got = read_first(&mut frame.as_slice(), 1024, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(got, frame[4..]);
        let http = b"HTTP/1.0 501 Not Implemented\r\n\r\n";
        match read_first(&mut http.as_slice(), 1024, Duration::from_secs(1)).await {
            Err(FirstReply::Foreign(Foreign::Http(line))) => assert_eq!(line, "HTTP/1.0 501 Not Implemented"),
            other => panic!("{other:?}"),
        }
        let (mut near, mut far) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut near, &[9]).await.unwrap();
        match read_first(&mut far, 1024, Duration::from_secs(5)).await {
            Err(FirstReply::Foreign(f)) => assert_eq!(f.to_string(), "like an iperf3 server"),
            other => panic!("{other:?}"),
        }
    }
}
