//! The receiver's wake-up threshold (SO_RCVLOWAT), following the measured rate.

use std::net::TcpStream;
use std::time::{Duration, Instant};

/// How long, at the measured rate, a reader may sleep before it is woken: short enough that
/// intervals and stall checks see data promptly, long enough to batch many segments per wake-up.
const WAKE_AFTER: Duration = Duration::from_millis(5);
/// Below this the threshold is left off: so little data per wake-up saves nothing.
const MIN_WAKE_BYTES: usize = 32 * 1024;
/// How often the receive rate is measured to move the threshold.
const WAKE_RETUNE: Duration = Duration::from_millis(50);

/// The receiver's SO_RCVLOWAT, following the rate. Waking a reader for every few segments costs
/// more than copying them on a small or virtualised host (each wake-up is an inter-processor
/// interrupt, a VM exit under a hypervisor); asking the kernel to wake it only once ~5 ms of data is
/// queued (at most one buffer) lets each read move a whole buffer. On loopback that roughly doubled
/// one stream's goodput on a 2-vCPU VM (bench/results/). Linux and macOS (see
/// [`crate::platform::RECV_LOWAT_BATCHES`]); if the call is refused the reader is woken as data arrives.
pub(super) struct WakeThreshold {
    cap: usize,
    current: usize,
    since: Instant,
    bytes: usize,
    enabled: bool,
}

impl WakeThreshold {
    pub(super) fn new(buffer: usize, fixed_window: bool) -> WakeThreshold {
        // A fixed buffer is not grown by the kernel to fit the threshold; a quarter of it always
        // fits in the advertised window, so the sender can always fill it.
        let cap = if fixed_window { buffer / 4 } else { buffer };
        WakeThreshold {
            cap,
            current: 1,
            since: Instant::now(),
            bytes: 0,
            enabled: crate::platform::RECV_LOWAT_BATCHES && cap >= MIN_WAKE_BYTES,
        }
    }

    /// The bytes to wait for, for a measured rate in bytes per second: a power of two, or 1 (off).
    fn target(&self, bytes_per_sec: f64) -> usize {
        let want = (bytes_per_sec * WAKE_AFTER.as_secs_f64()) as usize;
        let want = want.min(self.cap);
        if want < MIN_WAKE_BYTES {
            1
        } else if want == self.cap {
            want
        } else {
            1 << want.ilog2()
        }
    }

    pub(super) fn update(&mut self, socket: &TcpStream, got: usize, now: Instant) {
        if !self.enabled {
            return;
        }
        self.bytes += got;
        let elapsed = now.duration_since(self.since);
        if elapsed < WAKE_RETUNE {
            return;
        }
        let want = self.target(self.bytes as f64 / elapsed.as_secs_f64());
        if want != self.current {
            match crate::platform::set_recv_lowat(socket, want) {
                Ok(()) => self.current = want,
                Err(_) => self.enabled = false,
            }
        }
        self.since = now;
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wake_threshold_follows_the_rate_within_the_buffer() {
        let w = WakeThreshold::new(512 * 1024, false);
        // 5 ms of data, rounded down to a power of two, at most the buffer; off when tiny.
        assert_eq!(w.target(10e9 / 8.0), 512 * 1024);
        assert_eq!(w.target(100e6), 256 * 1024); // 500,000 B in 5 ms
        assert_eq!(w.target(1e6), 1); // 5,000 B: not worth it
        assert_eq!(w.target(0.0), 1);
    }

    #[test]
    fn fixed_window_keeps_the_threshold_to_a_quarter_of_the_buffer() {
        let w = WakeThreshold::new(512 * 1024, true);
        assert_eq!(w.target(10e9), 128 * 1024);
        // A small fixed buffer turns it off entirely.
        assert!(!WakeThreshold::new(64 * 1024, true).enabled);
    }

    #[cfg(any(target_os = "linux", target_os = "macos"))]
    #[test]
    fn threshold_is_applied_to_the_socket_and_moves_with_the_rate() {
        use std::net::TcpListener;
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let _c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        let lowat = |s: &TcpStream| crate::platform::recv_lowat(s);
        let mut w = WakeThreshold::new(512 * 1024, false);
        let t0 = w.since;
        // 1 MB in 60 ms = ~16.7 MB/s: 83 KB per 5 ms, so 64 KiB.
        w.update(&s, 1_000_000, t0 + Duration::from_millis(60));
        assert_eq!(w.current, 64 * 1024);
        assert_eq!(lowat(&s).unwrap(), 64 * 1024);
        // Then almost nothing: back off.
        w.update(&s, 10, t0 + Duration::from_millis(200));
        assert_eq!(w.current, 1);
        assert_eq!(lowat(&s).unwrap(), 1);
    }
}
