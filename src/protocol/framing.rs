//! Length-prefixed frames with a hard size cap and a timeout on every read.

use std::time::Duration;

use serde::{Serialize, de::DeserializeOwned};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Default cap on one control frame; far above any real message.
pub const DEFAULT_MAX_FRAME: u32 = 64 * 1024;

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("peer closed the connection")]
    Closed,
    #[error("no message from peer within {0:?}")]
    Timeout(Duration),
    #[error("frame of {got} bytes exceeds the {cap}-byte cap")]
    TooLarge { got: u32, cap: u32 },
    #[error("empty frame")]
    Empty,
    #[error("malformed message: {0}")]
    Decode(String),
    /// The I/O error is part of the message, so it is not also returned as the source.
    #[error("connection error: {0}")]
    Io(std::io::Error),
}

impl From<std::io::Error> for FrameError {
    fn from(e: std::io::Error) -> Self {
        FrameError::Io(e)
    }
}

/// Reads one frame's payload: a 4-byte big-endian length, then that many bytes.
pub async fn read_raw<R: AsyncRead + Unpin>(
    reader: &mut R,
    cap: u32,
    timeout: Duration,
) -> Result<Vec<u8>, FrameError> {
    let fut = async {
        let mut len = [0u8; 4];
        match reader.read_exact(&mut len).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(FrameError::Closed);
            }
            Err(e) => return Err(e.into()),
        }
        let n = u32::from_be_bytes(len);
        if n == 0 {
            return Err(FrameError::Empty);
        }
        if n > cap {
            return Err(FrameError::TooLarge { got: n, cap });
        }
        let mut buf = vec![0u8; n as usize];
        reader.read_exact(&mut buf).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                FrameError::Closed
            } else {
                e.into()
            }
        })?;
        Ok(buf)
    };
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| FrameError::Timeout(timeout))?
}

/// Reads and strictly decodes one message.
pub async fn read_message<T: DeserializeOwned, R: AsyncRead + Unpin>(
    reader: &mut R,
    cap: u32,
    timeout: Duration,
) -> Result<T, FrameError> {
    let raw = read_raw(reader, cap, timeout).await?;
    decode(&raw)
}

/// Messages read from `reader` by a task of their own, so no read is ever cancelled halfway through a frame. The
/// task ends after the first error (sent on as the last item) or when the receiver is dropped.
pub fn spawn_reader<T, R>(
    mut reader: R,
    cap: u32,
    idle: Duration,
) -> (
    tokio::task::JoinHandle<()>,
    tokio::sync::mpsc::UnboundedReceiver<Result<T, FrameError>>,
)
where
    T: DeserializeOwned + Send + 'static,
    R: AsyncRead + Unpin + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        loop {
            let msg = read_message::<T, _>(&mut reader, cap, idle).await;
            let last = msg.is_err();
            if tx.send(msg).is_err() || last {
                break;
            }
        }
    });
    (task, rx)
}

pub fn decode<T: DeserializeOwned>(raw: &[u8]) -> Result<T, FrameError> {
    serde_json::from_slice(raw).map_err(|e| FrameError::Decode(e.to_string()))
}

/// Encodes one message as a frame.
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    let body = serde_json::to_vec(msg).expect("protocol messages always serialize");
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// Writes one message as a single frame.
pub async fn write_message<T: Serialize, W: AsyncWrite + Unpin>(writer: &mut W, msg: &T) -> Result<(), FrameError> {
    writer.write_all(&encode(msg)).await?;
    writer.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ServerMessage;

    const T: Duration = Duration::from_secs(1);

    #[tokio::test]
    async fn round_trip() {
        let msg = ServerMessage::Queued { position: 3 };
        let frame = encode(&msg);
        let got: ServerMessage = read_message(&mut frame.as_slice(), 1024, T).await.unwrap();
        assert_eq!(got, msg);
    }

    #[tokio::test]
    async fn oversized_and_empty_frames_are_refused() {
        let huge = [0xffu8, 0xff, 0xff, 0xff];
        let err = read_raw(&mut huge.as_slice(), 1024, T).await.unwrap_err();
        assert!(
            matches!(
                err,
                FrameError::TooLarge {
                    got: u32::MAX,
                    cap: 1024
                }
            ),
            "{err}"
        );
        let empty = [0u8; 4];
        assert!(matches!(
            read_raw(&mut empty.as_slice(), 1024, T).await,
            Err(FrameError::Empty)
        ));
    }

    #[tokio::test]
    async fn truncated_frames_read_as_closed() {
        let mut frame = encode(&ServerMessage::Start);
        frame.truncate(frame.len() - 1);
        assert!(matches!(
            read_raw(&mut frame.as_slice(), 1024, T).await,
            Err(FrameError::Closed)
        ));
        assert!(matches!(
            read_raw(&mut [0u8, 0].as_slice(), 1024, T).await,
            Err(FrameError::Closed)
        ));
    }

    #[tokio::test]
    async fn silence_times_out() {
        let (_a, mut b) = tokio::io::duplex(64);
        let err = read_raw(&mut b, 1024, Duration::from_millis(50)).await.unwrap_err();
        assert!(matches!(err, FrameError::Timeout(_)));
    }
}
