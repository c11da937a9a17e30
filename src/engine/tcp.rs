//! One blocking thread per TCP data stream, moving bytes through one reused buffer.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::stream::{Finished, Flags, Stream, StreamSpec, pattern, pin};

/// How often a blocked thread wakes to look at the abort flag.
const POLL: Duration = Duration::from_millis(500);

/// Starts a TCP stream's thread; it reports on `done` when it ends.
pub fn spawn(
    socket: TcpStream,
    spec: StreamSpec,
    flags: Arc<Flags>,
    done: UnboundedSender<Finished>,
) -> std::io::Result<Stream> {
    socket.set_nonblocking(false)?;
    socket.set_read_timeout(Some(POLL))?;
    socket.set_write_timeout(Some(POLL))?;
    let counter = Arc::new(AtomicU64::new(0));
    let handle = socket.try_clone()?;
    let c = counter.clone();
    let thread = std::thread::Builder::new()
        .name(format!("stream-{}", spec.id))
        .spawn(move || {
            pin(spec.cpu);
            let result = if spec.sender {
                send_loop(socket, &spec, &flags, &c).map(|()| Instant::now())
            } else {
                receive_loop(socket, &spec, &flags, &c)
            };
            let (at, error) = match result {
                Ok(at) => (at, None),
                Err(e) => (Instant::now(), Some(e.to_string())),
            };
            let _ = done.send(Finished { id: spec.id, at, error });
        })?;
    Ok(Stream::tcp(spec, counter, handle, thread))
}

/// Sleeps until `due` or until told to stop, in short naps so a stop is seen promptly.
fn wait_until(due: Instant, flags: &Flags) {
    loop {
        let now = Instant::now();
        if now >= due || flags.stop_send.load(Ordering::Relaxed) || flags.abort.load(Ordering::Relaxed) {
            return;
        }
        std::thread::sleep((due - now).min(Duration::from_millis(50)));
    }
}

fn send_loop(mut socket: TcpStream, spec: &StreamSpec, flags: &Flags, counter: &AtomicU64) -> std::io::Result<()> {
    let buf = pattern(spec.block_size);
    // Paced streams write at most 10 ms worth at a time, so the rate is smooth even at low targets.
    let chunk = match spec.pace_bps {
        Some(bps) if bps > 0 => buf.len().min(((bps / 8 / 100) as usize).max(1024)),
        _ => buf.len(),
    };
    let start = Instant::now();
    let mut sent: u64 = 0;
    let mut left = spec.quota.unwrap_or(u64::MAX);
    while left > 0 && !flags.stop_send.load(Ordering::Relaxed) && !flags.abort.load(Ordering::Relaxed) {
        let n = chunk.min(usize::try_from(left).unwrap_or(usize::MAX));
        match socket.write(&buf[..n]) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(k) => {
                counter.fetch_add(k as u64, Ordering::Relaxed);
                left -= k as u64;
                sent += k as u64;
                if let Some(bps) = spec.pace_bps.filter(|&b| b > 0) {
                    wait_until(start + Duration::from_secs_f64(sent as f64 * 8.0 / bps as f64), flags);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Interrupted | ErrorKind::WouldBlock | ErrorKind::TimedOut
                ) => {}
            // The peer said the test was over, or our clock stopped the senders, and the last write was cut short
            // (an iperf3 server closes its streams at TEST_END): a normal end.
            Err(_) if flags.finished.load(Ordering::Relaxed) || flags.stop_send.load(Ordering::Relaxed) => break,
            Err(e) => return Err(e),
        }
    }
    let _ = socket.shutdown(Shutdown::Write);
    Ok(())
}

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
struct WakeThreshold {
    cap: usize,
    current: usize,
    since: Instant,
    bytes: usize,
    enabled: bool,
}

impl WakeThreshold {
    fn new(buffer: usize, fixed_window: bool) -> WakeThreshold {
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

    fn update(&mut self, socket: &TcpStream, got: usize, now: Instant) {
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

/// How often a receiver that ends on quiet ([`Flags::quiet_end`]) wakes: a tail held back by the wake threshold
/// is read, and timed, at most this late.
const QUIET_POLL: Duration = Duration::from_millis(10);

/// Whether a receiver that ends on quiet has heard nothing for long enough since the senders' clock stopped.
fn quiet_for(flags: &Flags, last_data: Instant, stop_seen: &mut Option<Instant>) -> bool {
    let Some(quiet) = flags.quiet_end else {
        return false;
    };
    if !flags.stop_send.load(Ordering::Relaxed) {
        return false;
    }
    let since = *stop_seen.get_or_insert_with(Instant::now);
    since.max(last_data).elapsed() >= quiet
}

/// Reads until the peer's end (EOF), an abort, or quiet after the clock stopped; returns when the data ended.
fn receive_loop(
    mut socket: TcpStream,
    spec: &StreamSpec,
    flags: &Flags,
    counter: &AtomicU64,
) -> std::io::Result<Instant> {
    let mut buf = vec![0u8; spec.block_size];
    let mut wake = WakeThreshold::new(buf.len(), spec.fixed_window);
    let mut last_data = Instant::now();
    let mut stop_seen = None;
    if flags.quiet_end.is_some() {
        socket.set_read_timeout(Some(QUIET_POLL))?;
    }
    loop {
        let got = if spec.discard {
            crate::platform::recv_discard(&socket, &mut buf)
        } else {
            socket.read(&mut buf)
        };
        match got {
            Ok(0) => return Ok(Instant::now()),
            Ok(k) => {
                counter.fetch_add(k as u64, Ordering::Relaxed);
                last_data = Instant::now();
                wake.update(&socket, k, last_data);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if flags.abort.load(Ordering::Relaxed) {
                    return Ok(Instant::now());
                }
                if quiet_for(flags, last_data, &mut stop_seen) {
                    return Ok(last_data);
                }
                if let Some(limit) = spec.idle_timeout.filter(|&l| last_data.elapsed() >= l) {
                    return Err(std::io::Error::new(
                        ErrorKind::TimedOut,
                        format!(
                            "no data for {:.0} s (server option --idle-timeout)",
                            limit.as_secs_f64()
                        ),
                    ));
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // The peer said the test was over and we cut the read short (data still arriving resets it).
            Err(_) if flags.finished.load(Ordering::Relaxed) => return Ok(last_data),
            Err(e) => return Err(e),
        }
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
