//! One blocking thread per TCP data stream, moving bytes through one reused buffer.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::udp::Meter;

/// How often a blocked thread wakes to look at the abort flag.
const POLL: Duration = Duration::from_millis(500);

/// What one stream does.
#[derive(Debug, Clone, Copy)]
pub struct StreamSpec {
    pub id: u32,
    pub sender: bool,
    /// Bytes to send before stopping (`-n`); None sends until told to stop.
    pub quota: Option<u64>,
    pub block_size: usize,
    /// Application pacing target in bits per second (-b); None sends as fast as possible.
    pub pace_bps: Option<u64>,
    /// A receiver that reads nothing for this long gives up (a client that went silent).
    pub idle_timeout: Option<Duration>,
    /// Pin the stream's thread to this CPU (-A).
    pub cpu: Option<usize>,
    /// Receive by discarding in the kernel instead of copying to user memory (--skip-rx-copy).
    pub discard: bool,
}

/// Flags shared by all streams of one side of a test.
#[derive(Debug, Default)]
pub struct Flags {
    /// Senders stop after their current write (the timed end of a test).
    pub stop_send: AtomicBool,
    /// Everyone stops now (abort, fault, limit).
    pub abort: AtomicBool,
}

/// A stream thread's last word.
#[derive(Debug)]
pub struct Finished {
    pub id: u32,
    pub at: Instant,
    pub error: Option<String>,
}

/// A running stream: its counter, a handle to unblock it, and its thread.
pub struct Stream {
    pub spec: StreamSpec,
    pub counter: Arc<AtomicU64>,
    /// The TCP connection; None for UDP streams, whose threads watch the flags instead.
    socket: Option<TcpStream>,
    /// Datagram counts of a UDP stream.
    udp: Option<Arc<Meter>>,
    thread: Option<JoinHandle<()>>,
}

impl Stream {
    /// Starts the stream's thread; it reports on `done` when it ends.
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
                if let Some(cpu) = spec.cpu {
                    // Best effort: a CPU that does not exist leaves the thread where the scheduler put it.
                    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
                    let _ = crate::platform::pin_current_thread(cpu % cpus);
                }
                let result = if spec.sender {
                    send_loop(socket, &spec, &flags, &c)
                } else {
                    receive_loop(socket, &spec, &flags, &c)
                };
                let _ = done.send(Finished {
                    id: spec.id,
                    at: Instant::now(),
                    error: result.err().map(|e| e.to_string()),
                });
            })?;
        Ok(Stream {
            spec,
            counter,
            socket: Some(handle),
            udp: None,
            thread: Some(thread),
        })
    }

    /// A UDP stream whose thread is already running.
    pub(super) fn udp(spec: StreamSpec, meter: Arc<Meter>, thread: JoinHandle<()>) -> Stream {
        Stream {
            spec,
            counter: meter.bytes_counter(),
            socket: None,
            udp: Some(meter),
            thread: Some(thread),
        }
    }

    /// The datagram counts of a UDP stream.
    pub fn udp_meter(&self) -> Option<&Meter> {
        self.udp.as_deref()
    }

    pub fn bytes(&self) -> u64 {
        self.counter.load(Ordering::Relaxed)
    }

    /// Unblocks the thread's pending read or write.
    pub fn shutdown(&self) {
        if let Some(s) = &self.socket {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.socket.as_ref()?.local_addr().ok()
    }

    pub fn peer_addr(&self) -> Option<std::net::SocketAddr> {
        self.socket.as_ref()?.peer_addr().ok()
    }

    /// The stream's TCP socket, for reading its options; None for UDP streams.
    pub fn socket(&self) -> Option<&TcpStream> {
        self.socket.as_ref()
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            if !t.is_finished() {
                self.shutdown();
            }
            let _ = t.join();
        }
    }
}

/// A non-compressible fill pattern, so nothing on the path can shrink the data.
pub(super) fn pattern(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
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
            Err(e) => return Err(e),
        }
    }
    let _ = socket.shutdown(Shutdown::Write);
    Ok(())
}

fn receive_loop(mut socket: TcpStream, spec: &StreamSpec, flags: &Flags, counter: &AtomicU64) -> std::io::Result<()> {
    let mut buf = vec![0u8; spec.block_size];
    let mut last_data = Instant::now();
    loop {
        let got = if spec.discard {
            crate::platform::recv_discard(&socket, &mut buf)
        } else {
            socket.read(&mut buf)
        };
        match got {
            Ok(0) => return Ok(()),
            Ok(k) => {
                counter.fetch_add(k as u64, Ordering::Relaxed);
                last_data = Instant::now();
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if flags.abort.load(Ordering::Relaxed) {
                    return Ok(());
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
            Err(e) => return Err(e),
        }
    }
}
