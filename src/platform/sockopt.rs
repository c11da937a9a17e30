//! TCP socket options that differ by OS: congestion control and kernel pacing (Linux only).

use std::io;
use std::os::fd::AsFd;

/// Why an option cannot be used on this OS.
pub fn unsupported(option: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{option} is not supported on {}; it needs Linux", std::env::consts::OS),
    )
}

/// Whether this OS lets a socket choose its congestion control algorithm (`-C`).
pub const fn supports_congestion_control() -> bool {
    cfg!(target_os = "linux")
}

/// Whether this OS caps a socket's pacing rate in the kernel (`--fq-rate`).
pub const fn supports_pacing_rate() -> bool {
    cfg!(target_os = "linux")
}

/// Congestion control algorithms this kernel offers to this user; empty where the OS has no choice.
#[cfg(target_os = "linux")]
pub fn available_congestion() -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for file in ["tcp_allowed_congestion_control", "tcp_available_congestion_control"] {
        if let Ok(text) = std::fs::read_to_string(format!("/proc/sys/net/ipv4/{file}")) {
            for name in text.split_whitespace() {
                if !all.iter().any(|n| n == name) {
                    all.push(name.to_string());
                }
            }
        }
    }
    all
}

#[cfg(not(target_os = "linux"))]
pub fn available_congestion() -> Vec<String> {
    Vec::new()
}

#[cfg(target_os = "linux")]
pub fn set_congestion(sock: &impl AsFd, name: &str) -> io::Result<()> {
    socket2::SockRef::from(sock).set_tcp_congestion(name.as_bytes())
}

#[cfg(not(target_os = "linux"))]
pub fn set_congestion(_sock: &impl AsFd, _name: &str) -> io::Result<()> {
    Err(unsupported("-C/--congestion"))
}

/// The congestion control algorithm a socket uses.
#[cfg(target_os = "linux")]
pub fn congestion(sock: &impl AsFd) -> Option<String> {
    let raw = socket2::SockRef::from(sock).tcp_congestion().ok()?;
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    Some(String::from_utf8_lossy(&raw[..end]).into_owned())
}

#[cfg(not(target_os = "linux"))]
pub fn congestion(_sock: &impl AsFd) -> Option<String> {
    None
}

/// SO_MAX_PACING_RATE from asm-generic/socket.h, the value on the architectures saf-net targets.
#[cfg(target_os = "linux")]
const SO_MAX_PACING_RATE: libc::c_int = 47;

/// Caps the kernel's pacing rate for this socket, in bytes per second (--fq-rate).
#[cfg(target_os = "linux")]
pub fn set_max_pacing_rate(sock: &impl AsFd, bytes_per_sec: u64) -> io::Result<()> {
    super::rawopt::set(&sock.as_fd(), libc::SOL_SOCKET, SO_MAX_PACING_RATE, bytes_per_sec)
}

#[cfg(not(target_os = "linux"))]
pub fn set_max_pacing_rate(_sock: &impl AsFd, _bytes_per_sec: u64) -> io::Result<()> {
    Err(unsupported("--fq-rate"))
}

/// The socket's pacing cap in bytes per second, if the OS has one.
#[cfg(target_os = "linux")]
pub fn max_pacing_rate(sock: &impl AsFd) -> Option<u64> {
    let mut v: u64 = 0;
    let len = super::rawopt::get(&sock.as_fd(), libc::SOL_SOCKET, SO_MAX_PACING_RATE, &mut v).ok()?;
    // Older kernels answer with 4 bytes.
    Some(if len == 4 { v & 0xffff_ffff } else { v })
}

#[cfg(not(target_os = "linux"))]
pub fn max_pacing_rate(_sock: &impl AsFd) -> Option<u64> {
    None
}

/// Whether a raised SO_RCVLOWAT makes a bulk reader's reads fewer and larger. Linux: the reader also sleeps
/// through the wake-ups in between (`sock_def_readable` checks the threshold before waking; net/core/sock.c).
/// macOS: XNU's `soreceive` keeps waiting until `sb_cc >= sb_lowat` (bsd/kern/uipc_socket.c), so each read
/// returns a larger chunk and the system calls drop (whether the wake-ups in between are skipped too is not
/// established without a Mac; docs/macos.md).
pub const RECV_LOWAT_BATCHES: bool = cfg!(any(target_os = "linux", target_os = "macos"));

/// Sets SO_RCVLOWAT: a blocked reader is woken only once this many bytes are queued (or at FIN, error
/// or timeout). Every Unix has it; Linux also skips the wakeups in between, which is the point.
pub fn set_recv_lowat(sock: &impl AsFd, bytes: usize) -> io::Result<()> {
    let v = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    super::rawopt::set(&sock.as_fd(), libc::SOL_SOCKET, libc::SO_RCVLOWAT, v)
}

/// The socket's SO_RCVLOWAT.
pub fn recv_lowat(sock: &impl AsFd) -> Option<usize> {
    let mut v: libc::c_int = 0;
    super::rawopt::get(&sock.as_fd(), libc::SOL_SOCKET, libc::SO_RCVLOWAT, &mut v).ok()?;
    Some(usize::try_from(v).unwrap_or(0))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn congestion_round_trips_and_unknown_is_refused() {
        let s = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let avail = available_congestion();
        assert!(avail.iter().any(|a| a == "cubic" || a == "reno"), "{avail:?}");
        set_congestion(&s, "reno").unwrap();
        assert_eq!(congestion(&s).as_deref(), Some("reno"));
        assert!(set_congestion(&s, "no-such-cc").is_err());
    }

    #[test]
    fn pacing_rate_round_trips() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        set_max_pacing_rate(&c, 25_000_000).unwrap();
        assert_eq!(max_pacing_rate(&c), Some(25_000_000));
    }
}
