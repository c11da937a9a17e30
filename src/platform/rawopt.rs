//! setsockopt/getsockopt for plain values, for the options no crate wraps: the one home of their pointer casts,
//! and of zero-initialising plain C structs.

use std::io;
use std::os::fd::AsRawFd;

/// Plain C data: every bit pattern (all zeros included) is a valid value, so the kernel may write any bytes
/// into it.
///
/// # Safety
/// Implement only for integers and C structs (or arrays of them) made of integers and raw pointers.
pub(super) unsafe trait Plain: Copy {}
// SAFETY: integers.
unsafe impl Plain for libc::c_int {}
// SAFETY: integers.
unsafe impl Plain for u64 {}
// SAFETY: a C struct of integers.
#[cfg(target_os = "linux")]
unsafe impl Plain for libc::tcp_info {}
// SAFETY: a C struct of integers.
#[cfg(target_os = "macos")]
unsafe impl Plain for libc::tcp_connection_info {}
// SAFETY: a C struct of integers and raw pointers (null when zero).
#[cfg(target_os = "linux")]
unsafe impl Plain for libc::msghdr {}
// SAFETY: arrays of a C struct of integers and raw pointers (null when zero).
#[cfg(target_os = "linux")]
unsafe impl<const N: usize> Plain for [libc::mmsghdr; N] {}

/// An all-zero `T`.
pub(super) fn zeroed<T: Plain>() -> T {
    // SAFETY: every bit pattern, all zeros included, is a valid T (Plain).
    unsafe { std::mem::zeroed() }
}

/// Sets option `name` at `level` to `value`, passing its exact size.
pub(super) fn set<T: Plain>(sock: &impl AsRawFd, level: libc::c_int, name: libc::c_int, value: T) -> io::Result<()> {
    // SAFETY: passes a pointer to a live T and its exact size; the kernel reads at most that many bytes.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reads option `name` at `level` into `value` (which starts as given); returns the bytes the kernel wrote.
pub(super) fn get<T: Plain>(
    sock: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &mut T,
) -> io::Result<usize> {
    let mut len = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: passes a pointer to a live, initialised T and its size; the kernel writes at most `len` bytes,
    // and any bytes it writes form a valid T (Plain).
    let rc = unsafe { libc::getsockopt(sock.as_raw_fd(), level, name, (value as *mut T).cast(), &mut len) };
    if rc == 0 {
        Ok(len as usize)
    } else {
        Err(io::Error::last_os_error())
    }
}
