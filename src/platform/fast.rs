//! Optional speed tricks that are OS-specific: discarding received bytes in the kernel, pinning threads to CPUs.

use std::io;
use std::os::fd::AsRawFd;

/// Whether this OS can discard received bytes in the kernel (`--skip-rx-copy`).
pub const fn supports_receive_discard() -> bool {
    cfg!(target_os = "linux")
}

/// Whether this OS can pin a thread to one CPU (`-A`).
pub const fn supports_cpu_pinning() -> bool {
    cfg!(target_os = "linux")
}

/// Receives and discards up to `buf.len()` bytes without copying them to user memory (Linux MSG_TRUNC on TCP).
#[cfg(target_os = "linux")]
pub fn recv_discard(sock: &impl AsRawFd, buf: &mut [u8]) -> io::Result<usize> {
    use nix::sys::socket::{MsgFlags, recv};
    Ok(recv(sock.as_raw_fd(), buf, MsgFlags::MSG_TRUNC)?)
}

#[cfg(not(target_os = "linux"))]
pub fn recv_discard(_sock: &impl AsRawFd, _buf: &mut [u8]) -> io::Result<usize> {
    Err(super::unsupported("--skip-rx-copy"))
}

/// Pins the calling thread to one CPU (Linux sched_setaffinity).
#[cfg(target_os = "linux")]
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    use nix::sched::{CpuSet, sched_setaffinity};
    let mut set = CpuSet::new();
    if set.set(cpu).is_err() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("CPU {cpu} is out of range"),
        ));
    }
    // Pid 0 is the calling thread.
    Ok(sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)?)
}

#[cfg(not(target_os = "linux"))]
pub fn pin_current_thread(_cpu: usize) -> io::Result<()> {
    Err(super::unsupported("-A/--affinity"))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn discard_counts_bytes_without_delivering_them() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        c.write_all(&[7u8; 1000]).unwrap();
        drop(c);
        let mut buf = [0u8; 4096];
        let mut total = 0;
        loop {
            let n = recv_discard(&s, &mut buf).unwrap();
            if n == 0 {
                break;
            }
            total += n;
        }
        assert_eq!(total, 1000);
        assert!(buf.iter().all(|&b| b == 0), "nothing was copied");
    }

    #[test]
    fn pinning_to_cpu_zero_works_and_nonsense_is_refused() {
        std::thread::spawn(|| {
            pin_current_thread(0).unwrap();
            assert!(pin_current_thread(1 << 20).is_err());
        })
        .join()
        .unwrap();
    }
}
