//! iperf3's JSON messages: a 4-byte big-endian length, then that many bytes of JSON (no NUL).
//!
//! The length is never trusted: zero and anything above the caller's cap are refused before a byte of the body is
//! read or allocated (iperf3 before 3.14 added one to a length of 0xffffffff and wrapped, CVE-2023-38403), and
//! every read has a timeout.

use std::time::Duration;

use serde::{Serialize, de::DeserializeOwned};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::protocol::{FrameError, read_raw};

/// Default cap on one iperf3 JSON message: the parameters are a few hundred bytes and the results of 128 streams
/// some 20 KiB; a server's own output (`--get-server-output`) can be more.
pub const MAX_JSON: u32 = 1024 * 1024;

/// Reads and decodes one JSON message within `timeout`, refusing lengths of 0 or above `cap`.
pub async fn read_json<T: DeserializeOwned, R: AsyncRead + Unpin>(
    reader: &mut R,
    cap: u32,
    timeout: Duration,
) -> Result<T, FrameError> {
    let raw = read_raw(reader, cap, timeout).await?;
    decode_json(&raw)
}

/// Decodes one JSON body (without its length).
pub fn decode_json<T: DeserializeOwned>(raw: &[u8]) -> Result<T, FrameError> {
    serde_json::from_slice(raw).map_err(|e| FrameError::Decode(e.to_string()))
}

/// One JSON message as it goes on the wire, length first.
pub fn encode_json<T: Serialize>(msg: &T) -> Vec<u8> {
    let body = serde_json::to_vec(msg).expect("iperf3 messages always serialize");
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// Writes one JSON message in a single write.
pub async fn write_json<T: Serialize, W: AsyncWrite + Unpin>(writer: &mut W, msg: &T) -> Result<(), FrameError> {
    writer.write_all(&encode_json(msg)).await?;
    writer.flush().await?;
    Ok(())
}
