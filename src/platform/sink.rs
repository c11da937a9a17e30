//! Receive sinks: memory that received bytes are copied into and never read back, shared by every stream thread
//! of the process, one per CPU, so the receive buffers cost CPUs × block instead of streams × block and stay in
//! cache.

use std::cell::UnsafeCell;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};

/// One CPU's sink: bytes written by the kernel, by any number of threads at once, and read by nobody.
pub struct Sink {
    bytes: Box<[UnsafeCell<u8>]>,
}

// SAFETY: no Rust code ever reads or writes the bytes (no reference to them is made); only the kernel writes
// them, inside recv(2), so concurrent receives into one sink race on nothing the program observes.
unsafe impl Sync for Sink {}

impl Sink {
    fn new(len: usize) -> Sink {
        Sink {
            bytes: (0..len).map(|_| UnsafeCell::new(0)).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Receives up to `len` bytes (at most the sink's size) from a stream socket into the sink, copying them
    /// to user memory as a read(2) would; with `discard`, drops them in the kernel instead (Linux MSG_TRUNC,
    /// `--skip-rx-copy`).
    pub fn recv(&self, sock: &impl AsRawFd, len: usize, discard: bool) -> io::Result<usize> {
        let len = len.min(self.bytes.len());
        let flags = if discard { discard_flag()? } else { 0 };
        // SAFETY: the pointer and length lie within `self.bytes`, which lives for the call; the memory is only
        // written by the kernel (see `unsafe impl Sync`), and UnsafeCell makes writes through a shared borrow sound.
        let n = unsafe { libc::recv(sock.as_raw_fd(), self.bytes.as_ptr() as *mut libc::c_void, len, flags) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

#[cfg(target_os = "linux")]
fn discard_flag() -> io::Result<libc::c_int> {
    Ok(libc::MSG_TRUNC)
}

#[cfg(not(target_os = "linux"))]
fn discard_flag() -> io::Result<libc::c_int> {
    Err(super::unsupported("--skip-rx-copy"))
}

/// The process's sinks, one per CPU, each at least as long as the longest block asked for so far.
static SINKS: Mutex<Vec<Arc<Sink>>> = Mutex::new(Vec::new());

/// The sink of the CPU the caller runs on, at least `len` bytes long.
pub fn sink_for_this_cpu(len: usize) -> Arc<Sink> {
    let cpus = super::cpu_count();
    let cpu = current_cpu().unwrap_or(0) % cpus;
    let mut sinks = SINKS.lock().unwrap_or_else(|e| e.into_inner());
    if sinks.len() != cpus {
        sinks.clear();
        sinks.extend((0..cpus).map(|_| Arc::new(Sink::new(0))));
    }
    if sinks[cpu].len() < len {
        // A stream still holding the shorter one keeps it until its next look; it is freed after.
        sinks[cpu] = Arc::new(Sink::new(len));
    }
    sinks[cpu].clone()
}

/// The CPU the calling thread runs on now (Linux getcpu through the vDSO); None where the OS does not say.
#[cfg(target_os = "linux")]
pub fn current_cpu() -> Option<usize> {
    nix::sched::sched_getcpu().ok()
}

#[cfg(not(target_os = "linux"))]
pub fn current_cpu() -> Option<usize> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn a_sink_receives_every_byte_up_to_its_length() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        c.write_all(&[5u8; 3000]).unwrap();
        drop(c);
        let sink = sink_for_this_cpu(1024);
        assert!(sink.len() >= 1024);
        let mut total = 0;
        loop {
            match sink.recv(&s, 1024, false).unwrap() {
                0 => break,
                n => {
                    assert!(n <= 1024);
                    total += n;
                }
            }
        }
        assert_eq!(total, 3000);
    }

    /// What the kernel wrote into a sink no other code can reach (one made here, not a shared one).
    fn contents(sink: &Sink) -> Vec<u8> {
        // SAFETY: this sink is the test's own and no recv into it is running, so nothing writes it meanwhile.
        sink.bytes.iter().map(|b| unsafe { *b.get() }).collect()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn discard_counts_bytes_without_delivering_them() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        c.write_all(&[7u8; 1000]).unwrap();
        drop(c);
        let sink = Sink::new(4096);
        let mut total = 0;
        loop {
            let n = sink.recv(&s, 4096, true).unwrap();
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, 1000);
        assert!(contents(&sink).iter().all(|&b| b == 0), "nothing was copied");
    }

    #[test]
    fn a_copying_receive_delivers_the_bytes() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        c.write_all(&[7u8; 100]).unwrap();
        drop(c);
        let sink = Sink::new(4096);
        let mut total = 0;
        while let n @ 1.. = sink.recv(&s, 4096, false).unwrap() {
            total += n;
        }
        assert_eq!(total, 100);
        assert!(contents(&sink)[..100].iter().all(|&b| b == 7));
    }

    #[test]
    fn sinks_grow_to_the_longest_block() {
        let a = sink_for_this_cpu(10);
        let b = sink_for_this_cpu(1 << 20);
        assert!(b.len() >= 1 << 20);
        assert!(a.len() >= 10);
    }
}
