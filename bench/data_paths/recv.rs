//! The receiving side: `read()`, MSG_TRUNC discard, or TCP_ZEROCOPY_RECEIVE into an mmap of the socket.

use std::num::NonZeroUsize;
use std::os::fd::{AsFd, AsRawFd};
use std::ptr::NonNull;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags, madvise, mmap, munmap};
use socket2::Socket;

/// The receive buffer, and the window TCP_ZEROCOPY_RECEIVE maps into.
const CHUNK: usize = 1 << 20;
/// The part of the receive buffer TCP_ZEROCOPY_RECEIVE may copy small remainders into (copybuf).
const COPYBUF: usize = 64 << 10;
/// Upper bound on receive calls in one round (the clock stops it long before).
const MAX_CALLS: u64 = 1 << 30;

/// How the receiver receives.
#[derive(Clone, Copy)]
pub enum Sink {
    Read,
    Trunc,
    ZcMap,
}

/// TCP_ZEROCOPY_RECEIVE's bytes by path: mapped pages, the kernel's copy into copybuf, read() of the skip hint.
#[derive(Default, Clone, Copy)]
pub struct SinkNotes {
    pub mapped: u64,
    pub copybuf: u64,
    pub read: u64,
    zc: bool,
}

impl SinkNotes {
    pub fn add(self, o: &SinkNotes) -> SinkNotes {
        let (mapped, copybuf, read) = (self.mapped + o.mapped, self.copybuf + o.copybuf, self.read + o.read);
        SinkNotes {
            mapped,
            copybuf,
            read,
            zc: o.zc,
        }
    }

    pub fn describe(&self) -> String {
        if !self.zc {
            return String::new();
        }
        let all = (self.mapped + self.copybuf + self.read).max(1) as f64;
        let pct = |b: u64| 100.0 * b as f64 / all;
        format!(
            "mapped {:.1} %, copybuf {:.1} %, read(skip hint) {:.1} %",
            pct(self.mapped),
            pct(self.copybuf),
            pct(self.read)
        )
    }
}

/// What the receiver measured in its window: bytes, seconds, process CPU-seconds, and its notes.
pub struct Received {
    pub bytes: u64,
    pub secs: f64,
    pub cpu: f64,
    pub notes: SinkNotes,
}

/// struct tcp_zerocopy_receive of include/uapi/linux/tcp.h (64 bytes since Linux 5.11).
#[repr(C)]
#[derive(Default)]
struct ZcReceive {
    address: u64,
    length: u32,
    recv_skip_hint: u32,
    inq: u32,
    err: i32,
    copybuf_address: u64,
    copybuf_len: i32,
    flags: u32,
    msg_control: u64,
    msg_controllen: u64,
    msg_flags: u32,
    reserved: u32,
}
const _: () = assert!(std::mem::size_of::<ZcReceive>() == 64);

/// A read-only shared mapping of the socket, the window TCP_ZEROCOPY_RECEIVE inserts pages into.
struct Window {
    addr: NonNull<libc::c_void>,
    len: usize,
}

impl Window {
    fn new(sock: &Socket) -> Result<Window, String> {
        let len = NonZeroUsize::new(CHUNK).ok_or("zero window")?;
        // SAFETY: a fresh mapping of the socket at an address the kernel picks; nothing else refers to it.
        let addr = unsafe { mmap(None, len, ProtFlags::PROT_READ, MapFlags::MAP_SHARED, sock, 0) }
            .map_err(|e| format!("mmap of the socket: {e}"))?;
        Ok(Window { addr, len: CHUNK })
    }

    /// Drops the pages mapped last, as tcp_mmap.c does right after using them.
    fn release(&self, len: usize) {
        // SAFETY: the range lies in this mapping, which only this receiver reads, and nothing holds a reference.
        let _ = unsafe { madvise(self.addr, len.min(self.len), MmapAdvise::MADV_DONTNEED) };
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `new` made; no reference into it outlives this.
        let _ = unsafe { munmap(self.addr, self.len) };
    }
}

/// One TCP_ZEROCOPY_RECEIVE call: maps into `window`, lets the kernel copy small remainders into `copybuf`.
fn zc_receive(sock: &Socket, window: &Window, copybuf: &mut [u8]) -> Result<ZcReceive, Errno> {
    let mut zc = ZcReceive {
        address: window.addr.as_ptr() as u64,
        length: window.len as u32,
        copybuf_address: copybuf.as_mut_ptr() as u64,
        copybuf_len: copybuf.len() as i32,
        ..ZcReceive::default()
    };
    let mut len = std::mem::size_of::<ZcReceive>() as libc::socklen_t;
    let (level, name) = (libc::IPPROTO_TCP, libc::TCP_ZEROCOPY_RECEIVE);
    // SAFETY: passes a live, exactly sized ZcReceive; its addresses name this socket's mapping and a live buffer.
    let rc = unsafe { libc::getsockopt(sock.as_raw_fd(), level, name, (&raw mut zc).cast(), &mut len) };
    if rc != 0 {
        return Err(Errno::last());
    }
    Ok(zc)
}

/// Bytes one TCP_ZEROCOPY_RECEIVE step made available (0 at end of stream is reported as None).
fn pull_zc(sock: &Socket, window: &Window, buf: &mut [u8], notes: &mut SinkNotes) -> Result<Option<u64>, String> {
    let mut fds = [PollFd::new(sock.as_fd(), PollFlags::POLLIN)];
    if poll(&mut fds, PollTimeout::from(100u8)).map_err(|e| format!("poll: {e}"))? == 0 {
        return Ok(Some(0));
    }
    let zc = match zc_receive(sock, window, &mut buf[..COPYBUF]) {
        Ok(zc) => zc,
        Err(Errno::EIO) => return Ok(None),
        Err(e) => return Err(format!("TCP_ZEROCOPY_RECEIVE: {e} ({})", e as i32)),
    };
    if zc.err != 0 || zc.copybuf_len < 0 {
        return Err(format!(
            "TCP_ZEROCOPY_RECEIVE: err {} copybuf_len {}",
            zc.err, zc.copybuf_len
        ));
    }
    let (mapped, copied) = (u64::from(zc.length), zc.copybuf_len as u64);
    if mapped > 0 {
        window.release(zc.length as usize);
    }
    let hint = zc.recv_skip_hint as usize;
    let read = if hint > 0 || mapped + copied == 0 {
        let n = nix::unistd::read(sock, &mut buf[..hint.clamp(1, CHUNK)]).map_err(|e| format!("read: {e}"))?;
        if n == 0 && mapped + copied == 0 {
            return Ok(None);
        }
        n as u64
    } else {
        0
    };
    notes.mapped += mapped;
    notes.copybuf += copied;
    notes.read += read;
    Ok(Some(mapped + copied + read))
}

/// One receive step the sink's way: Some(bytes), or None at end of stream.
fn pull(
    sink: Sink,
    sock: &Socket,
    window: Option<&Window>,
    buf: &mut [u8],
    notes: &mut SinkNotes,
) -> Result<Option<u64>, String> {
    let n = match (sink, window) {
        (Sink::Read, _) => nix::unistd::read(sock, buf).map_err(|e| format!("read: {e}"))?,
        (Sink::Trunc, _) => {
            use nix::sys::socket::{MsgFlags, recv};
            recv(sock.as_raw_fd(), buf, MsgFlags::MSG_TRUNC).map_err(|e| format!("recv MSG_TRUNC: {e}"))?
        }
        (Sink::ZcMap, Some(w)) => return pull_zc(sock, w, buf, notes),
        (Sink::ZcMap, None) => return Err("no mapping".into()),
    };
    Ok((n > 0).then_some(n as u64))
}

/// The receiver: prepares, meets the sender, counts bytes for `time`, then stops the sender and drains.
pub fn run(sock: Socket, sink: Sink, time: Duration, stop: &AtomicBool, barrier: &Barrier) -> Result<Received, String> {
    let window = match sink {
        Sink::ZcMap => saf_net::platform::set_recv_lowat(&sock, CHUNK)
            .map_err(|e| format!("SO_RCVLOWAT: {e}"))
            .and_then(|()| Window::new(&sock))
            .map(Some),
        _ => Ok(None),
    };
    let mut buf = vec![0u8; CHUNK];
    barrier.wait();
    let result = window.and_then(|w| measure(sink, &sock, w.as_ref(), &mut buf, time));
    stop.store(true, Ordering::Relaxed);
    drain(&sock, &mut buf);
    result
}

/// Counts what arrives until `time` has passed (or the stream ends).
fn measure(
    sink: Sink,
    sock: &Socket,
    window: Option<&Window>,
    buf: &mut [u8],
    time: Duration,
) -> Result<Received, String> {
    let mut notes = SinkNotes {
        zc: matches!(sink, Sink::ZcMap),
        ..SinkNotes::default()
    };
    let (user0, sys0) = saf_net::platform::process_cpu_seconds();
    let t0 = Instant::now();
    let mut bytes = 0u64;
    for _ in 0..MAX_CALLS {
        if t0.elapsed() >= time {
            break;
        }
        match pull(sink, sock, window, buf, &mut notes)? {
            Some(n) => bytes += n,
            None => break,
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let (user1, sys1) = saf_net::platform::process_cpu_seconds();
    Ok(Received {
        bytes,
        secs,
        cpu: (user1 - user0) + (sys1 - sys0),
        notes,
    })
}

/// Reads and drops everything until the sender closes (so a blocked sender sees the stop flag).
fn drain(sock: &Socket, buf: &mut [u8]) {
    for _ in 0..MAX_CALLS {
        match nix::unistd::read(sock, buf) {
            Ok(0) => return,
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}
