//! Optional speed tricks that are OS-specific: whether received bytes can be discarded in the kernel (done in
//! `sink.rs`), pinning threads to CPUs.

use std::io;

/// Whether this OS can discard received bytes in the kernel (`--skip-rx-copy`).
pub const fn supports_receive_discard() -> bool {
    cfg!(target_os = "linux")
}

/// Whether this OS can pin a thread to one CPU (`-A`).
pub const fn supports_cpu_pinning() -> bool {
    cfg!(target_os = "linux")
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

/// Lowers the calling thread's scheduling priority to at least nice `level`; a thread already lower keeps its
/// own (Linux: the nice value is per thread, setpriority(2) NOTES). Raising a nice value needs no privilege and
/// cannot be undone without one, so only threads that end with their stream call it.
#[cfg(target_os = "linux")]
pub fn lower_current_thread_priority(level: i32) -> io::Result<()> {
    // getpriority(2) may return -1 as a value: errno tells an error apart.
    nix::errno::Errno::clear();
    // SAFETY: getpriority only reads its two integer arguments; `who` 0 is the calling thread.
    let current = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    if current == -1 && nix::errno::Errno::last_raw() != 0 {
        return Err(io::Error::last_os_error());
    }
    if current >= level {
        return Ok(());
    }
    // SAFETY: setpriority only reads its three integer arguments; `who` 0 is the calling thread.
    match unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, level) } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

#[cfg(not(target_os = "linux"))]
pub fn lower_current_thread_priority(_level: i32) -> io::Result<()> {
    Err(super::unsupported("a per-thread priority"))
}

/// The nice value in a thread's stat file, for tests (proc(5): field 19, 17 fields after the command's ')').
#[cfg(all(test, target_os = "linux"))]
pub fn nice_in(stat: &std::path::Path) -> Option<i32> {
    let stat = std::fs::read_to_string(stat).ok()?;
    stat[stat.rfind(')')? + 2..].split(' ').nth(16)?.parse().ok()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_thread_lowers_its_own_priority_and_no_other() {
        let nice = || nice_in(std::path::Path::new("/proc/thread-self/stat")).unwrap();
        let ours = nice();
        let want = (ours + 3).min(19);
        let theirs = std::thread::spawn(move || {
            lower_current_thread_priority(want).unwrap();
            // Asking for a higher priority than the thread has is not a lowering: nothing changes.
            lower_current_thread_priority(ours).unwrap();
            nice()
        })
        .join()
        .unwrap();
        assert_eq!((theirs, nice()), (want, ours));
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
