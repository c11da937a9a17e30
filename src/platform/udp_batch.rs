//! Batched UDP I/O: many datagrams per system call (Linux sendmmsg/recvmmsg and UDP GSO), with a portable
//! fallback of one send/recv per datagram elsewhere.

use std::io;
use std::net::{SocketAddr, UdpSocket};

/// Most datagrams one call moves.
pub const MAX_BATCH: usize = 64;

/// Largest total a UDP GSO send may carry (the kernel's 64 KiB limit less IP and UDP headers).
#[cfg(target_os = "linux")]
const GSO_MAX_BYTES: usize = 65_507 - 48;

/// How many `seg`-byte datagrams one batched send can carry.
pub fn batch_limit(seg: usize, gso: bool) -> usize {
    #[cfg(target_os = "linux")]
    if gso {
        return (GSO_MAX_BYTES / seg.max(1)).clamp(1, MAX_BATCH);
    }
    let _ = (seg, gso);
    MAX_BATCH
}

/// Sends `buf` as consecutive datagrams of `seg` bytes (the last may be shorter), to the connected peer or to
/// `to`. Returns how many datagrams went out. With `gso`, one UDP GSO send carries them all (Linux); an error
/// of kind Unsupported then means the path cannot do GSO and the caller should retry without it.
pub fn send_segments(sock: &UdpSocket, buf: &[u8], seg: usize, to: Option<SocketAddr>, gso: bool) -> io::Result<usize> {
    let count = buf.len().div_ceil(seg.max(1));
    if count <= 1 {
        match to {
            Some(a) => sock.send_to(buf, a)?,
            None => sock.send(buf)?,
        };
        return Ok(count);
    }
    imp::send_segments(sock, buf, seg, to, gso, count)
}

/// Datagrams received by one call, each in its own slot. With GRO on (Linux), one slot may hold several
/// datagrams of one sender, coalesced; [`RecvBatch::segments`] splits them again.
pub struct RecvBatch {
    slot: usize,
    buf: Vec<u8>,
    lens: Vec<usize>,
    /// Segment size of a coalesced slot (UDP_GRO), 0 for a single datagram.
    seg: Vec<usize>,
    from: Vec<Option<SocketAddr>>,
    count: usize,
    #[cfg(target_os = "linux")]
    addrs: Vec<socket2::SockAddrStorage>,
    /// Room for each slot's control messages; u64 keeps it aligned for cmsghdr.
    #[cfg(target_os = "linux")]
    control: Vec<[u64; 8]>,
}

impl RecvBatch {
    /// Room for `slots` datagrams of up to `slot` bytes each (longer ones are truncated).
    pub fn new(slots: usize, slot: usize) -> RecvBatch {
        let slots = slots.clamp(1, MAX_BATCH);
        RecvBatch {
            slot,
            buf: vec![0u8; slots * slot],
            lens: vec![0; slots],
            seg: vec![0; slots],
            from: vec![None; slots],
            count: 0,
            #[cfg(target_os = "linux")]
            addrs: (0..slots).map(|_| socket2::SockAddrStorage::zeroed()).collect(),
            #[cfg(target_os = "linux")]
            control: vec![[0; 8]; slots],
        }
    }

    /// Datagrams held after the last `recv`.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The i-th datagram of the last `recv`.
    pub fn datagram(&self, i: usize) -> &[u8] {
        &self.buf[i * self.slot..i * self.slot + self.lens[i].min(self.slot)]
    }

    /// The datagrams in the i-th slot: one, or several of equal size (the last may be shorter) when GRO
    /// coalesced them.
    pub fn segments(&self, i: usize) -> std::slice::Chunks<'_, u8> {
        let d = self.datagram(i);
        let seg = if self.seg[i] > 0 { self.seg[i] } else { d.len() };
        d.chunks(seg.max(1))
    }

    /// Where the i-th datagram came from.
    pub fn source(&self, i: usize) -> Option<SocketAddr> {
        self.from[i]
    }

    /// Waits for at least one datagram (up to the socket's read timeout), then takes whatever else is queued.
    pub fn recv(&mut self, sock: &UdpSocket) -> io::Result<usize> {
        self.count = 0;
        self.count = imp::recv(self, sock)?;
        Ok(self.count)
    }
}

// recvmmsg, sendmmsg and the GSO sendmsg stay raw calls: nix's versions do not fit the zero-allocation hot
// path. Its sendmsg allocates the control buffer on every call; its recvmmsg/sendmmsg need a MultiHeaders,
// which is not Send (so RecvBatch could not hold it) and whose reuse loses control messages (it does not
// restore msg_controllen/msg_namelen between calls, so UDP_GRO sizes stop arriving), while a fresh one per call
// allocates. socket2 has no batched calls. So: stack arrays of mmsghdr, socket2's SockAddr for the addresses.
#[cfg(target_os = "linux")]
mod imp {
    use super::super::rawopt;
    use super::*;
    use socket2::{SockAddr, SockAddrStorage};
    use std::mem::size_of;
    use std::os::fd::AsRawFd;

    /// msg_name and msg_namelen for an optional destination (null and 0: the connected peer).
    fn name_of(dest: Option<&SockAddr>) -> (*mut libc::c_void, libc::socklen_t) {
        match dest {
            Some(a) => (a.as_ptr().cast_mut().cast(), a.len()),
            None => (std::ptr::null_mut(), 0),
        }
    }

    /// The sender the kernel wrote into `storage` (`len` bytes); resets the storage for the next call.
    fn decode(storage: &mut SockAddrStorage, len: libc::socklen_t) -> Option<SocketAddr> {
        let filled = std::mem::replace(storage, SockAddrStorage::zeroed());
        // SAFETY: recvmmsg wrote a socket address of family `ss_family` and length `len` (or left it zero,
        // AF_UNSPEC, which as_socket refuses).
        unsafe { SockAddr::new(filled, len) }.as_socket()
    }

    /// One sendmsg carrying all of `buf` with a UDP_SEGMENT control message: the kernel splits it (UDP GSO).
    fn send_gso(sock: &UdpSocket, buf: &[u8], seg: usize, dest: Option<&SockAddr>) -> io::Result<()> {
        let (name, namelen) = name_of(dest);
        let mut iov = libc::iovec {
            iov_base: buf.as_ptr().cast_mut().cast(),
            iov_len: buf.len(),
        };
        // A u64 array keeps the control buffer aligned for cmsghdr.
        let mut control = [0u64; 8];
        let mut msg: libc::msghdr = rawopt::zeroed();
        msg.msg_name = name;
        msg.msg_namelen = namelen;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        // SAFETY: the control buffer (64 bytes) holds one cmsghdr with a u16 payload (CMSG_SPACE(2) is 24);
        // CMSG_FIRSTHDR and CMSG_DATA point inside it, and the pointers in msg (iov into `buf`, the address,
        // control) outlive the sendmsg call, which only reads them.
        let rc = unsafe {
            msg.msg_controllen = libc::CMSG_SPACE(size_of::<u16>() as u32) as _;
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_UDP;
            (*cmsg).cmsg_type = libc::UDP_SEGMENT;
            (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<u16>() as u32) as _;
            std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<u16>(), seg as u16);
            libc::sendmsg(sock.as_raw_fd(), &msg, 0)
        };
        if rc < 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                // No GSO on this kernel or device: the caller falls back to sendmmsg.
                Some(libc::EINVAL | libc::ENOPROTOOPT | libc::EIO | libc::EOPNOTSUPP) => {
                    io::Error::new(io::ErrorKind::Unsupported, format!("UDP GSO: {e}"))
                }
                _ => e,
            });
        }
        Ok(())
    }

    pub(super) fn send_segments(
        sock: &UdpSocket,
        buf: &[u8],
        seg: usize,
        to: Option<SocketAddr>,
        gso: bool,
        count: usize,
    ) -> io::Result<usize> {
        let dest = to.map(SockAddr::from);
        if gso {
            send_gso(sock, buf, seg, dest.as_ref())?;
            return Ok(count);
        }
        let (name, namelen) = name_of(dest.as_ref());
        let count = count.min(MAX_BATCH);
        let mut iovs: [libc::iovec; MAX_BATCH] = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; MAX_BATCH];
        let mut msgs: [libc::mmsghdr; MAX_BATCH] = rawopt::zeroed();
        for i in 0..count {
            let start = i * seg;
            let end = (start + seg).min(buf.len());
            iovs[i] = libc::iovec {
                iov_base: buf[start..].as_ptr().cast_mut().cast(),
                iov_len: end - start,
            };
            msgs[i].msg_hdr.msg_iov = &mut iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = name;
            msgs[i].msg_hdr.msg_namelen = namelen;
        }
        // SAFETY: `count` headers are initialised, each pointing at a live iovec into `buf` and at the live
        // destination address (or none); all of them outlive the call, which only reads them.
        let rc = unsafe { libc::sendmmsg(sock.as_raw_fd(), msgs.as_mut_ptr(), count as libc::c_uint, 0) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(rc as usize)
    }

    /// The UDP_GRO segment size among a received message's control messages; 0 if none.
    fn gro_segment(hdr: &libc::msghdr) -> usize {
        // SAFETY: the kernel filled msg_control up to msg_controllen with well-formed cmsghdrs; CMSG_FIRSTHDR and
        // CMSG_NXTHDR stay within that length, and the UDP_GRO payload is one c_int, read unaligned.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(hdr);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_UDP && (*c).cmsg_type == libc::UDP_GRO {
                    let v = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>());
                    return v.max(0) as usize;
                }
                c = libc::CMSG_NXTHDR(hdr, c);
            }
        }
        0
    }

    /// Asks the kernel to hand over a sender's GSO batches whole instead of splitting them (UDP_GRO).
    pub(super) fn enable_gro(sock: &UdpSocket) -> bool {
        nix::sys::socket::setsockopt(sock, nix::sys::socket::sockopt::UdpGroSegment, &true).is_ok()
    }

    pub(super) fn recv(b: &mut RecvBatch, sock: &UdpSocket) -> io::Result<usize> {
        let slots = b.lens.len().min(MAX_BATCH);
        let mut iovs: [libc::iovec; MAX_BATCH] = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; MAX_BATCH];
        let mut msgs: [libc::mmsghdr; MAX_BATCH] = rawopt::zeroed();
        for i in 0..slots {
            iovs[i] = libc::iovec {
                iov_base: b.buf[i * b.slot..].as_mut_ptr().cast(),
                iov_len: b.slot,
            };
            msgs[i].msg_hdr.msg_iov = &mut iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = (&mut b.addrs[i] as *mut SockAddrStorage).cast();
            msgs[i].msg_hdr.msg_namelen = b.addrs[i].size_of();
            msgs[i].msg_hdr.msg_control = b.control[i].as_mut_ptr().cast();
            msgs[i].msg_hdr.msg_controllen = size_of::<[u64; 8]>() as _;
        }
        // SAFETY: every header points at its own live slot of `b.buf` (slot bytes long), its own address storage
        // and its own control buffer; the kernel writes at most those lengths. MSG_WAITFORONE blocks for the
        // first datagram only (bounded by the socket's read timeout).
        let rc = unsafe {
            libc::recvmmsg(
                sock.as_raw_fd(),
                msgs.as_mut_ptr(),
                slots as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = rc as usize;
        for (i, m) in msgs.iter().take(n).enumerate() {
            b.lens[i] = m.msg_len as usize;
            b.from[i] = decode(&mut b.addrs[i], m.msg_hdr.msg_namelen);
            b.seg[i] = gro_segment(&m.msg_hdr);
        }
        Ok(n)
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::*;

    pub(super) fn send_segments(
        sock: &UdpSocket,
        buf: &[u8],
        seg: usize,
        to: Option<SocketAddr>,
        _gso: bool,
        _count: usize,
    ) -> io::Result<usize> {
        let mut sent = 0;
        for chunk in buf.chunks(seg.max(1)) {
            let r = match to {
                Some(a) => sock.send_to(chunk, a),
                None => sock.send(chunk),
            };
            match r {
                Ok(_) => sent += 1,
                Err(e) if sent == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(sent)
    }

    pub(super) fn enable_gro(_sock: &UdpSocket) -> bool {
        false
    }

    pub(super) fn recv(b: &mut RecvBatch, sock: &UdpSocket) -> io::Result<usize> {
        let slot = b.slot;
        let (n, from) = sock.recv_from(&mut b.buf[..slot])?;
        b.lens[0] = n;
        b.from[0] = Some(from);
        Ok(1)
    }
}

/// Lets this thread's sleeps end within about a microsecond of their deadline instead of the default 50 µs
/// (Linux PR_SET_TIMERSLACK), so a paced sender keeps its schedule without spinning. A no-op elsewhere.
#[cfg(target_os = "linux")]
pub fn tighten_timer_slack() {
    let _ = nix::sys::prctl::set_timerslack(1000);
}

#[cfg(not(target_os = "linux"))]
pub fn tighten_timer_slack() {}

/// Lets the kernel deliver a sender's GSO batch as one coalesced slot (Linux UDP_GRO); the receiver must then
/// split slots with [`RecvBatch::segments`] and give them room for 64 KiB. Returns whether it is on.
pub fn enable_gro(sock: &UdpSocket) -> bool {
    imp::enable_gro(sock)
}

/// Whether this OS has UDP GSO at all (the path may still refuse it).
pub fn gso_available() -> bool {
    cfg!(target_os = "linux")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pair() -> (UdpSocket, UdpSocket) {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.connect(rx.local_addr().unwrap()).unwrap();
        rx.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        (tx, rx)
    }

    fn payload(n: usize, seg: usize) -> Vec<u8> {
        (0..n * seg).map(|i| (i / seg) as u8).collect()
    }

    fn receive_all(rx: &UdpSocket, want: usize) -> Vec<Vec<u8>> {
        let mut batch = RecvBatch::new(16, 65_536);
        let mut got = Vec::new();
        while got.len() < want {
            batch.recv(rx).unwrap();
            for i in 0..batch.len() {
                got.extend(batch.segments(i).map(|d| d.to_vec()));
                assert_eq!(batch.source(i).map(|a| a.ip().is_loopback()), Some(true));
            }
        }
        got
    }

    #[test]
    fn batched_sends_arrive_as_separate_datagrams() {
        for (gso, gro) in [(false, false), (true, false), (true, true)] {
            let (tx, rx) = pair();
            if gro && !enable_gro(&rx) {
                continue;
            }
            let buf = payload(10, 1000);
            let sent = match send_segments(&tx, &buf[..9500], 1000, None, gso) {
                Err(e) if gso && e.kind() == io::ErrorKind::Unsupported => continue,
                r => r.unwrap(),
            };
            assert_eq!(sent, 10, "gso {gso}");
            let got = receive_all(&rx, 10);
            assert_eq!(got.len(), 10);
            for (i, d) in got.iter().enumerate() {
                assert_eq!(d[0], i as u8);
                assert_eq!(d.len(), if i == 9 { 500 } else { 1000 });
            }
        }
    }

    #[test]
    fn unconnected_sends_reach_the_given_address() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let buf = payload(3, 100);
        assert_eq!(
            send_segments(&tx, &buf, 100, Some(rx.local_addr().unwrap()), false).unwrap(),
            3
        );
        assert_eq!(receive_all(&rx, 3).len(), 3);
        assert!(batch_limit(1472, true) >= 1 && batch_limit(1472, true) <= MAX_BATCH);
        assert_eq!(batch_limit(60_000, true), 1);
    }
}
