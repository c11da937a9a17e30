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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

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
