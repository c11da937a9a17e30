//! Sending without the sender's copy (Linux): the send pattern's pages are mapped into a pipe (vmsplice(2)) and
//! spliced from it into the socket (splice(2)), so the kernel sends from the pattern itself. Elsewhere, and where
//! the kernel refuses, senders write(2) as before.
//!
//! The pages are referenced by the kernel until the bytes are acknowledged, so the pattern is never freed nor
//! written: it is one leaked, constant allocation (a retransmission can only ever carry the pattern).

use std::io;
use std::net::TcpStream;

/// Bytes per vmsplice: the most an unprivileged pipe holds by default (`/proc/sys/fs/pipe-max-size`).
#[cfg(target_os = "linux")]
const PAGE_SEND_CHUNK: usize = 1 << 20;

#[cfg(target_os = "linux")]
/// How many copies of the pattern senders spread over (by stream id), each made on first use: streams on
/// different CPUs sending the same pages would share those pages' reference counts.
const PAGE_SETS: usize = 4;

#[cfg(target_os = "linux")]
/// The pattern copy the pages of stream `id` come from: built once by `fill`, never freed, never written again.
fn page_send_pattern(id: u32, fill: impl FnOnce(usize) -> Vec<u8>) -> &'static [u8] {
    static SETS: [OnceLock<&'static [u8]>; PAGE_SETS] = [const { OnceLock::new() }; PAGE_SETS];
    use std::sync::OnceLock;
    SETS[id as usize % PAGE_SETS].get_or_init(|| leak_aligned(&fill(PAGE_SEND_CHUNK)))
}

#[cfg(target_os = "linux")]
/// A page-aligned copy of `bytes` that lives for ever, so each page of a chunk is one whole page of the pattern.
fn leak_aligned(bytes: &[u8]) -> &'static [u8] {
    const PAGE: usize = 4096;
    let room = vec![0u8; bytes.len() + PAGE].leak();
    let skip = room.as_ptr().align_offset(PAGE).min(PAGE);
    let room = &mut room[skip..skip + bytes.len()];
    room.copy_from_slice(bytes);
    room
}

/// One stream's pipe, with the bytes mapped into it and not yet spliced into the socket.
pub struct PageSender {
    #[cfg(target_os = "linux")]
    pipe: (std::os::fd::OwnedFd, std::os::fd::OwnedFd),
    #[cfg(target_os = "linux")]
    queued: usize,
    #[cfg(target_os = "linux")]
    capacity: usize,
    #[cfg(target_os = "linux")]
    pattern: &'static [u8],
}

impl PageSender {
    /// Stream `id`'s sender, its pipe grown to [`PAGE_SEND_CHUNK`], sending from a pattern `fill` makes (once per
    /// set, only when a sender gets a pipe); None where the OS or its limits say no.
    #[cfg(target_os = "linux")]
    pub fn new(id: u32, fill: impl FnOnce(usize) -> Vec<u8>) -> Option<PageSender> {
        use nix::fcntl::{FcntlArg, OFlag, fcntl};
        let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).ok()?;
        // An unprivileged user past fs.pipe-user-pages-soft gets EPERM here: such a stream writes instead.
        let capacity = usize::try_from(fcntl(&w, FcntlArg::F_SETPIPE_SZ(PAGE_SEND_CHUNK as i32)).ok()?).ok()?;
        Some(PageSender {
            pipe: (r, w),
            queued: 0,
            capacity: capacity.min(PAGE_SEND_CHUNK),
            pattern: page_send_pattern(id, fill),
        })
    }

    #[cfg(not(target_os = "linux"))]
    pub fn new(_id: u32, _fill: impl FnOnce(usize) -> Vec<u8>) -> Option<PageSender> {
        None
    }

    /// Sends up to `len` bytes of the pattern into `sock`, as one write(2) would: blocking up to the socket's send
    /// timeout, returning the bytes that entered the socket.
    #[cfg(target_os = "linux")]
    pub fn send(&mut self, sock: &TcpStream, len: usize) -> io::Result<usize> {
        use nix::fcntl::{SpliceFFlags, splice, vmsplice};
        use std::io::IoSlice;
        if self.queued == 0 {
            let take = len.min(self.capacity).min(self.pattern.len());
            let iov = [IoSlice::new(&self.pattern[..take])];
            // SAFETY: the pages belong to a leaked allocation that is never written or freed (see the module
            // note), so the kernel's references to them stay valid and their bytes constant for ever.
            self.queued = unsafe { vmsplice(&self.pipe.1, &iov, SpliceFFlags::empty()) }?;
        }
        let n = splice(&self.pipe.0, None, sock, None, self.queued, SpliceFFlags::SPLICE_F_MORE)?;
        self.queued -= n;
        Ok(n)
    }

    #[cfg(not(target_os = "linux"))]
    pub fn send(&mut self, _sock: &TcpStream, _len: usize) -> io::Result<usize> {
        Err(super::unsupported("sending from pages"))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    #[test]
    fn pages_arrive_as_the_pattern_and_exactly_as_many_as_asked() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut s, _) = l.accept().unwrap();
        let fill = |n: usize| (0..n).map(|i| (i % 251) as u8).collect::<Vec<u8>>();
        let pattern = page_send_pattern(7, fill);
        assert_eq!(pattern.as_ptr() as usize % 4096, 0, "page-aligned");
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            s.read_to_end(&mut got).unwrap();
            got
        });
        let mut sender = PageSender::new(7, fill).expect("a pipe of 1 MiB (root or default limits)");
        let total = 3 * PAGE_SEND_CHUNK + 777;
        let mut sent = 0;
        let mut left = total;
        while left > 0 {
            let n = sender.send(&c, left.min(300_000)).unwrap();
            sent += n;
            left -= n;
        }
        drop(c);
        let got = reader.join().unwrap();
        assert_eq!((sent, got.len()), (total, total));
        // The bytes are the pattern's (whichever test made this set first), from its start.
        assert_eq!(&got[..1000], &pattern[..1000]);
    }
}
