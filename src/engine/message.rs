//! Message transfers on a blocking TCP connection: whole buffers sent and received exactly, each send timed
//! (bytes, and the time spent blocked on a full socket buffer, i.e. on the link). The collectives' data plane
//! (`collective/ops.rs`) moves every byte through here, so an engine change to how bytes leave or arrive
//! carries over to it, as it does to the timed streams of `tcp.rs`.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// What one connection sent: bytes, and time spent inside its writes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sent {
    pub bytes: u64,
    pub blocked: Duration,
}

/// `s` made ready for messages: blocking, no Nagle delay (a small message goes at once), and `idle` as the
/// longest a read or a write may wait for the peer.
pub fn prepare(s: TcpStream, idle: Duration) -> io::Result<TcpStream> {
    s.set_nonblocking(false)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(idle))?;
    s.set_write_timeout(Some(idle))?;
    Ok(s)
}

/// Sends all of `data`, adding its bytes and the time it took to `sent`.
pub fn send(mut sock: &TcpStream, data: &[u8], sent: &mut Sent) -> io::Result<()> {
    let t = Instant::now();
    sock.write_all(data)?;
    sent.blocked += t.elapsed();
    sent.bytes += data.len() as u64;
    Ok(())
}

/// Fills `buf` from `sock`, exactly.
pub fn recv(mut sock: &TcpStream, buf: &mut [u8]) -> io::Result<()> {
    sock.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    #[test]
    fn a_message_arrives_whole_and_its_send_is_counted() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = prepare(
            TcpStream::connect(l.local_addr().unwrap()).unwrap(),
            Duration::from_secs(5),
        )
        .unwrap();
        let b = prepare(l.accept().unwrap().0, Duration::from_secs(5)).unwrap();
        assert!(a.nodelay().unwrap());
        let data: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
        let mut sent = Sent::default();
        std::thread::scope(|s| {
            s.spawn(|| send(&a, &data, &mut sent).unwrap());
            let mut got = vec![0u8; data.len()];
            recv(&b, &mut got).unwrap();
            assert_eq!(got, data);
        });
        assert_eq!(sent.bytes, 300_000);
        drop(a);
        let err = recv(&b, &mut [0u8; 1]).unwrap_err();
        assert_eq!(
            err.kind(),
            io::ErrorKind::UnexpectedEof,
            "a closed peer is an early end"
        );
    }
}
