//! Busy polling for the latency probes: receives that never sleep, and waits for data that end at a precise
//! deadline rather than at the next timer tick.

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags};
use nix::sys::socket::{MsgFlags, recv};

/// Takes what is queued without sleeping; `WouldBlock` when nothing is (`MSG_DONTWAIT`: Linux recv(2),
/// macOS recv(2)).
pub fn recv_nowait(sock: &impl AsRawFd, buf: &mut [u8]) -> io::Result<usize> {
    recv(sock.as_raw_fd(), buf, MsgFlags::MSG_DONTWAIT).map_err(io::Error::from)
}

/// Waits until `sock` has data or `timeout` passes; true when it is readable. Linux waits with ppoll(2) to the
/// nanosecond; elsewhere poll(2) rounds the wait up to whole milliseconds.
pub fn wait_readable(sock: &impl AsFd, timeout: Duration) -> io::Result<bool> {
    let mut fds = [PollFd::new(sock.as_fd(), PollFlags::POLLIN)];
    let ready = wait(&mut fds, timeout).map_err(io::Error::from)?;
    Ok(ready > 0)
}

#[cfg(target_os = "linux")]
fn wait(fds: &mut [PollFd], timeout: Duration) -> nix::Result<libc::c_int> {
    nix::poll::ppoll(fds, Some(timeout.into()), None)
}

#[cfg(not(target_os = "linux"))]
fn wait(fds: &mut [PollFd], timeout: Duration) -> nix::Result<libc::c_int> {
    let ms = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32;
    nix::poll::poll(
        fds,
        nix::poll::PollTimeout::try_from(ms).unwrap_or(nix::poll::PollTimeout::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::time::Instant;

    #[test]
    fn nowait_receive_returns_at_once_and_then_takes_the_datagram() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        b.connect(a.local_addr().unwrap()).unwrap();
        let mut buf = [0u8; 16];
        let err = recv_nowait(&a, &mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert!(
            !wait_readable(&a, Duration::from_millis(2)).unwrap(),
            "nothing sent yet"
        );
        b.send(b"ping").unwrap();
        assert!(wait_readable(&a, Duration::from_secs(5)).unwrap());
        assert_eq!(recv_nowait(&a, &mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"ping");
    }

    #[test]
    fn wait_readable_gives_up_at_its_deadline() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let t = Instant::now();
        assert!(!wait_readable(&a, Duration::from_millis(30)).unwrap());
        assert!(
            t.elapsed() >= Duration::from_millis(30),
            "returned early: {:?}",
            t.elapsed()
        );
    }
}
