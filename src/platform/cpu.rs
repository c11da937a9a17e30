//! Process CPU time (user and system) for CPU-per-gigabyte accounting, and how many CPUs the process may use.

use std::time::Instant;

use crate::protocol::CpuUsage;

/// The CPUs this process may run on (its affinity and cgroup quota on Linux); 1 when the OS does not say.
pub fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// User and system CPU seconds this process has used so far.
#[cfg(unix)]
pub fn process_cpu_seconds() -> (f64, f64) {
    use nix::sys::resource::{UsageWho, getrusage};
    let Ok(usage) = getrusage(UsageWho::RUSAGE_SELF) else {
        return (0.0, 0.0);
    };
    let secs = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
    (secs(usage.user_time()), secs(usage.system_time()))
}

/// Portable fallback: CPU time unknown.
#[cfg(not(unix))]
pub fn process_cpu_seconds() -> (f64, f64) {
    (0.0, 0.0)
}

/// Measures CPU used between `start` and `stop`.
#[derive(Debug, Clone, Copy)]
pub struct CpuClock {
    user: f64,
    system: f64,
    wall: Instant,
}

impl CpuClock {
    pub fn start() -> Self {
        let (user, system) = process_cpu_seconds();
        CpuClock {
            user,
            system,
            wall: Instant::now(),
        }
    }

    pub fn stop(&self) -> CpuUsage {
        let (user, system) = process_cpu_seconds();
        CpuUsage {
            user_seconds: (user - self.user).max(0.0),
            system_seconds: (system - self.system).max(0.0),
            wall_seconds: self.wall.elapsed().as_secs_f64(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_loop_shows_user_time() {
        // Spin until 20 ms of CPU show up, or give up after 5 s of wall time (a busy machine may starve us).
        let clock = CpuClock::start();
        let mut x = 0u64;
        let t = Instant::now();
        let mut used = clock.stop();
        while used.user_seconds + used.system_seconds < 0.02 && t.elapsed().as_secs() < 5 {
            for _ in 0..100_000 {
                x = x.wrapping_mul(31).wrapping_add(std::hint::black_box(7));
            }
            used = clock.stop();
        }
        std::hint::black_box(x);
        assert!(used.user_seconds + used.system_seconds >= 0.02, "{used:?}");
        assert!(used.wall_seconds > 0.0);
    }
}
