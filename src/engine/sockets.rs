//! Applying a test's socket options to data connections, and reading back what the kernel made of them.

use std::io;
use std::os::fd::AsFd;

use socket2::SockRef;

use crate::platform;
use crate::protocol::{SocketReport, TestRequest};

/// Options that must be set before the handshake: buffers (window scaling), MSS, congestion control.
pub fn prepare(sock: &impl AsFd, req: &TestRequest, sending: bool) -> io::Result<()> {
    let r = SockRef::from(sock);
    if let Some(w) = req.window {
        r.set_send_buffer_size(w as usize)?;
        r.set_recv_buffer_size(w as usize)?;
    }
    if let Some(mss) = req.mss {
        r.set_tcp_mss(mss)?;
    }
    if sending && let Some(cc) = &req.congestion {
        platform::set_congestion(sock, cc)?;
    }
    Ok(())
}

/// Options for an established sending connection: the kernel pacing cap.
pub fn finish(sock: &impl AsFd, req: &TestRequest, sending: bool) -> io::Result<()> {
    if sending && let Some(rate) = req.fq_rate {
        platform::set_max_pacing_rate(sock, rate / 8)?;
    }
    Ok(())
}

/// What the kernel actually uses (Linux doubles buffers, clamps the MSS, may refuse an algorithm).
pub fn report(sock: &impl AsFd) -> SocketReport {
    let r = SockRef::from(sock);
    SocketReport {
        sndbuf: r.send_buffer_size().unwrap_or(0) as u64,
        rcvbuf: r.recv_buffer_size().unwrap_or(0) as u64,
        mss: r.tcp_mss().unwrap_or(0),
        congestion: platform::congestion(sock),
        max_pacing_rate: platform::max_pacing_rate(sock),
    }
}
