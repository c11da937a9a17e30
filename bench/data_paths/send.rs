//! The sending side: one chunk per call of `push`, from a user buffer, a memfd or a pipe.

use std::io::IoSlice;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, SpliceFFlags, fcntl, splice, vmsplice};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::memfd::{MFdFlags, memfd_create};
use nix::sys::sendfile::sendfile;
use nix::sys::socket::{ControlMessageOwned, MsgFlags, SockaddrIn, recvmsg};
use socket2::Socket;

/// Upper bound on chunks one round sends (the clock stops it long before).
const MAX_CHUNKS: u64 = 1 << 28;
/// Upper bound on system calls that move one chunk.
const MAX_CALLS_PER_CHUNK: usize = 1 << 16;
/// MSG_ZEROCOPY sends allowed in flight before the sender waits for completions.
const MAX_IN_FLIGHT: u64 = 64;
/// setsockopt(SOL_SOCKET, SO_ZEROCOPY); the same number on every Linux architecture but alpha/parisc/sparc.
const SO_ZEROCOPY: libc::c_int = 60;
/// sock_extended_err.ee_origin of a MSG_ZEROCOPY completion (linux/errqueue.h).
const SO_EE_ORIGIN_ZEROCOPY: u8 = 5;
/// ee_code bit: the kernel copied the data after all (linux/errqueue.h).
const SO_EE_CODE_ZEROCOPY_COPIED: u8 = 1;

/// How the sender sends, each with its chunk size in bytes.
#[derive(Clone, Copy)]
pub enum Source {
    Write(usize),
    Sendfile(usize),
    Splice(usize),
    Vmsplice(usize),
    Zerocopy(usize),
}

/// What the sender counted: MSG_ZEROCOPY sends completed, and how many of those the kernel copied anyway.
#[derive(Default, Clone, Copy)]
pub struct SourceNotes {
    pub completed: u64,
    pub copied: u64,
    zerocopy: bool,
}

impl SourceNotes {
    pub fn add(self, o: &SourceNotes) -> SourceNotes {
        SourceNotes {
            completed: self.completed + o.completed,
            copied: self.copied + o.copied,
            zerocopy: o.zerocopy,
        }
    }

    pub fn describe(&self) -> String {
        if !self.zerocopy {
            return String::new();
        }
        let pct = 100.0 * self.copied as f64 / self.completed.max(1) as f64;
        format!(
            "zc sends completed {}, COPIED {} ({pct:.1} %); ",
            self.completed, self.copied
        )
    }
}

/// A prepared sender: its buffer or memfd, its pipe, its completion counts.
struct Prepared {
    buf: Vec<u8>,
    file: Option<OwnedFd>,
    pipe: Option<(OwnedFd, OwnedFd)>,
    notes: SourceNotes,
    sent: u64,
}

/// The pattern every sender sends.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A memfd of `len` bytes holding the pattern.
fn filled_memfd(len: usize) -> Result<OwnedFd, String> {
    let fd = memfd_create(c"saf-net-data-paths", MFdFlags::MFD_CLOEXEC).map_err(|e| format!("memfd_create: {e}"))?;
    let buf = pattern(len);
    let mut off = 0;
    for _ in 0..MAX_CALLS_PER_CHUNK {
        if off == len {
            return Ok(fd);
        }
        off += nix::unistd::write(&fd, &buf[off..]).map_err(|e| format!("memfd write: {e}"))?;
    }
    Err("memfd fill did not finish".into())
}

/// A pipe of 1 MiB (F_SETPIPE_SZ): (read end, write end).
fn big_pipe() -> Result<(OwnedFd, OwnedFd), String> {
    let (r, w) = nix::unistd::pipe().map_err(|e| format!("pipe: {e}"))?;
    fcntl(&w, FcntlArg::F_SETPIPE_SZ(1 << 20)).map_err(|e| format!("F_SETPIPE_SZ: {e}"))?;
    Ok((r, w))
}

fn prepare(source: Source, sock: &Socket) -> Result<Prepared, String> {
    let mut p = Prepared {
        buf: Vec::new(),
        file: None,
        pipe: None,
        notes: SourceNotes::default(),
        sent: 0,
    };
    match source {
        Source::Write(len) | Source::Vmsplice(len) | Source::Zerocopy(len) => p.buf = pattern(len),
        Source::Sendfile(len) | Source::Splice(len) => p.file = Some(filled_memfd(len)?),
    }
    if matches!(source, Source::Splice(_) | Source::Vmsplice(_)) {
        p.pipe = Some(big_pipe()?);
    }
    if matches!(source, Source::Zerocopy(_)) {
        set_zerocopy(sock)?;
        p.notes.zerocopy = true;
    }
    Ok(p)
}

fn set_zerocopy(sock: &Socket) -> Result<(), String> {
    let on: libc::c_int = 1;
    let size = std::mem::size_of_val(&on) as libc::socklen_t;
    // SAFETY: passes a pointer to a live c_int and its exact size; the kernel only reads it.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_ZEROCOPY,
            (&raw const on).cast(),
            size,
        )
    };
    if rc != 0 {
        return Err(format!("SO_ZEROCOPY: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// The sender thread: prepares, meets the receiver at the barrier, sends chunks until told to stop.
pub fn run(sock: Socket, source: Source, stop: &AtomicBool, barrier: &Barrier) -> Result<SourceNotes, String> {
    let prepared = prepare(source, &sock);
    barrier.wait();
    let mut p = prepared?;
    for _ in 0..MAX_CHUNKS {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        push(source, &mut p, &sock)?;
    }
    if matches!(source, Source::Zerocopy(_)) {
        finish_completions(&mut p, &sock)?;
    }
    let _ = sock.shutdown(Shutdown::Write);
    Ok(p.notes)
}

/// Sends one chunk the variant's way.
fn push(source: Source, p: &mut Prepared, sock: &Socket) -> Result<(), String> {
    match source {
        Source::Write(len) => repeat(len, |off| nix::unistd::write(sock, &p.buf[off..]), "write"),
        Source::Sendfile(len) => {
            let file = p.file.as_ref().ok_or("no memfd")?;
            repeat(
                len,
                |off| sendfile(sock, file, Some(&mut (off as libc::off_t)), len - off),
                "sendfile",
            )
        }
        Source::Splice(len) => {
            let (file, (r, w)) = (p.file.as_ref().ok_or("no memfd")?, p.pipe.as_ref().ok_or("no pipe")?);
            repeat(
                len,
                |off| {
                    let n = splice(
                        file,
                        Some(&mut (off as libc::loff_t)),
                        w,
                        None,
                        len - off,
                        SpliceFFlags::empty(),
                    )?;
                    pipe_to_socket(r, sock, n)
                },
                "splice",
            )
        }
        Source::Vmsplice(len) => {
            let (r, w) = p.pipe.as_ref().ok_or("no pipe")?;
            let buf = &p.buf;
            repeat(
                len,
                |off| {
                    let iov = [IoSlice::new(&buf[off..])];
                    // SAFETY: `buf` is never written after `pattern` filled it; a page still queued after it is
                    // freed stays alive through the kernel's own reference.
                    let n = unsafe { vmsplice(w, &iov, SpliceFFlags::empty()) }?;
                    pipe_to_socket(r, sock, n)
                },
                "vmsplice",
            )
        }
        Source::Zerocopy(len) => push_zerocopy(len, p, sock),
    }
}

/// Calls `step(offset)` until `len` bytes have moved; `step` returns how many it moved.
fn repeat(len: usize, mut step: impl FnMut(usize) -> nix::Result<usize>, what: &str) -> Result<(), String> {
    let mut off = 0;
    for _ in 0..MAX_CALLS_PER_CHUNK {
        if off >= len {
            return Ok(());
        }
        match step(off) {
            Ok(0) => return Err(format!("{what}: moved 0 bytes")),
            Ok(n) => off += n,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(format!("{what}: {e}")),
        }
    }
    Err(format!("{what}: chunk did not finish"))
}

/// Splices exactly `n` bytes from the pipe's read end to the socket.
fn pipe_to_socket(r: &OwnedFd, sock: &Socket, n: usize) -> nix::Result<usize> {
    let mut left = n;
    for _ in 0..MAX_CALLS_PER_CHUNK {
        if left == 0 {
            return Ok(n);
        }
        match splice(r, None, sock, None, left, SpliceFFlags::SPLICE_F_MOVE) {
            Ok(0) => return Err(Errno::EPIPE),
            Ok(m) => left -= m,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Err(Errno::EAGAIN)
}

/// One chunk with MSG_ZEROCOPY, keeping at most MAX_IN_FLIGHT sends uncompleted.
fn push_zerocopy(len: usize, p: &mut Prepared, sock: &Socket) -> Result<(), String> {
    let flags = MsgFlags::from_bits_retain(libc::MSG_ZEROCOPY);
    let mut off = 0;
    for _ in 0..MAX_CALLS_PER_CHUNK {
        if off >= len {
            return Ok(());
        }
        match nix::sys::socket::send(sock.as_raw_fd(), &p.buf[off..], flags) {
            Ok(n) => {
                off += n;
                p.sent += 1;
            }
            Err(Errno::ENOBUFS) => wait_completions(p, sock)?,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(format!("send MSG_ZEROCOPY: {e}")),
        }
        drain_completions(p, sock)?;
        for _ in 0..100 {
            if p.sent - p.notes.completed <= MAX_IN_FLIGHT {
                break;
            }
            wait_completions(p, sock)?;
        }
    }
    Err("MSG_ZEROCOPY: chunk did not finish".into())
}

/// Waits up to 100 ms for the error queue (POLLERR), then drains it.
fn wait_completions(p: &mut Prepared, sock: &Socket) -> Result<(), String> {
    let mut fds = [PollFd::new(sock.as_fd(), PollFlags::empty())];
    poll(&mut fds, PollTimeout::from(100u8)).map_err(|e| format!("poll: {e}"))?;
    drain_completions(p, sock)
}

/// Reads every queued MSG_ZEROCOPY completion: each covers sends ee_info..=ee_data.
fn drain_completions(p: &mut Prepared, sock: &Socket) -> Result<(), String> {
    let mut cmsg = nix::cmsg_space!(libc::sock_extended_err, libc::sockaddr_in);
    let flags = MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT;
    for _ in 0..1024 {
        let mut byte = [0u8; 1];
        let mut iov = [std::io::IoSliceMut::new(&mut byte)];
        let msg = match recvmsg::<SockaddrIn>(sock.as_raw_fd(), &mut iov, Some(&mut cmsg), flags) {
            Ok(m) => m,
            Err(Errno::EAGAIN) => return Ok(()),
            Err(e) => return Err(format!("recvmsg MSG_ERRQUEUE: {e}")),
        };
        for c in msg.cmsgs().map_err(|e| format!("errqueue cmsg: {e}"))? {
            let ControlMessageOwned::Ipv4RecvErr(ee, _) = c else {
                continue;
            };
            if ee.ee_origin != SO_EE_ORIGIN_ZEROCOPY || ee.ee_errno != 0 {
                return Err(format!("errqueue: origin {} errno {}", ee.ee_origin, ee.ee_errno));
            }
            let n = u64::from(ee.ee_data.wrapping_sub(ee.ee_info)) + 1;
            p.notes.completed += n;
            if ee.ee_code & SO_EE_CODE_ZEROCOPY_COPIED != 0 {
                p.notes.copied += n;
            }
        }
    }
    Ok(())
}

/// After the last send: collects the outstanding completions, for at most 2 s.
fn finish_completions(p: &mut Prepared, sock: &Socket) -> Result<(), String> {
    let until = Instant::now() + Duration::from_secs(2);
    for _ in 0..100 {
        if p.notes.completed >= p.sent || Instant::now() >= until {
            break;
        }
        wait_completions(p, sock)?;
    }
    Ok(())
}
