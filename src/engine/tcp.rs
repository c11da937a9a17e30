//! One blocking thread per TCP data stream: a blocking receive keeps copying as data arrives and opens the window
//! as it goes, which no poller-driven read matched (bench/README.md). Threads share their memory: senders write
//! one pattern, receivers copy into their CPU's sink, so memory grows with CPUs, not streams.

use std::io::{ErrorKind, Write};
use std::net::{IpAddr, Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::shared::shared_pattern;
use super::stream::{Finished, Flags, Stream, StreamSpec, pin};
use super::wake::WakeThreshold;
use crate::platform::{PageSender, Sink, current_cpu, lower_current_thread_priority, sink_for_this_cpu};

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
    let yields = spec.sender && flags.senders_yield && peer_on_this_host(&socket);
    let counter = Arc::new(AtomicU64::new(0));
    let handle = socket.try_clone()?;
    let c = counter.clone();
    let thread = std::thread::Builder::new()
        .name(format!("stream-{}", spec.id))
        .spawn(move || {
            pin(spec.cpu);
            if yields {
                // Best effort: where the OS has no per-thread priority the sender keeps its own.
                let _ = lower_current_thread_priority(SENDER_NICE);
            }
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

/// The nice value a yielding sender takes ([`Flags::senders_yield`]); 5, 10 and 19 measured alike.
const SENDER_NICE: i32 = 10;

/// Whether the connection's far end is this host (loopback or one of our own addresses), so its receiver
/// shares our CPUs. Unknown counts as not.
fn peer_on_this_host(socket: &TcpStream) -> bool {
    match (socket.peer_addr(), socket.local_addr()) {
        (Ok(peer), Ok(local)) => same_host(peer.ip(), local.ip()),
        _ => false,
    }
}

/// Loopback, or a connection from one of our addresses to itself (IPv4-mapped IPv6 read as IPv4).
fn same_host(peer: IpAddr, local: IpAddr) -> bool {
    let (peer, local) = (peer.to_canonical(), local.to_canonical());
    peer.is_loopback() || peer == local
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
    let buf = shared_pattern(spec.block_size);
    // Paced streams write at most 10 ms worth at a time, so the rate is smooth even at low targets.
    let chunk = match spec.pace_bps {
        Some(bps) if bps > 0 => buf.len().min(((bps / 8 / 100) as usize).max(1024)),
        _ => buf.len(),
    };
    // Unpaced streams send from pages where the OS can and the side leaves CPUs idle (see Flags::page_send).
    let mut pages = if flags.page_send && spec.pace_bps.is_none_or(|b| b == 0) {
        PageSender::new(spec.id, super::stream::pattern)
    } else {
        None
    };
    let start = Instant::now();
    let mut sent: u64 = 0;
    let mut left = spec.quota.unwrap_or(u64::MAX);
    while left > 0 && !flags.stop_send.load(Ordering::Relaxed) && !flags.abort.load(Ordering::Relaxed) {
        let n = chunk.min(usize::try_from(left).unwrap_or(usize::MAX));
        let wrote = match pages.as_mut() {
            Some(p) => p.send(&socket, n),
            None => socket.write(&buf[..n]),
        };
        match wrote {
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
            // A socket the kernel cannot splice into: write instead.
            Err(e) if pages.is_some() && sent == 0 && e.kind() == ErrorKind::InvalidInput => pages = None,
            // The peer said the test was over, or our clock stopped the senders, and the last write was cut short
            // (an iperf3 server closes its streams at TEST_END): a normal end.
            Err(_) if flags.finished.load(Ordering::Relaxed) || flags.stop_send.load(Ordering::Relaxed) => break,
            Err(e) => return Err(e),
        }
    }
    let _ = socket.shutdown(Shutdown::Write);
    Ok(())
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

/// The sink of the CPU this thread runs on, fetched again when the thread moves.
struct CpuSink {
    len: usize,
    cpu: Option<usize>,
    sink: Arc<Sink>,
}

impl CpuSink {
    fn new(len: usize) -> CpuSink {
        CpuSink {
            len,
            cpu: current_cpu(),
            sink: sink_for_this_cpu(len),
        }
    }

    fn get(&mut self) -> &Sink {
        let cpu = current_cpu();
        if cpu != self.cpu {
            self.cpu = cpu;
            self.sink = sink_for_this_cpu(self.len);
        }
        &self.sink
    }
}

/// The most one receive call copies. The wake threshold still batches up to a whole block per wake-up, so a
/// larger block costs a few more calls, not a larger sink. 512K was level with whole 1M blocks at 4 and 16 streams
/// and saved 1 MiB of server memory; 256K cost ~3 % (bench/README.md, #21).
pub(super) const RECEIVE_CHUNK: usize = 512 * 1024;

/// Reads until the peer's end (EOF), an abort, or quiet after the clock stopped; returns when the data ended.
fn receive_loop(socket: TcpStream, spec: &StreamSpec, flags: &Flags, counter: &AtomicU64) -> std::io::Result<Instant> {
    let chunk = spec.block_size.min(RECEIVE_CHUNK);
    let mut sink = CpuSink::new(chunk);
    let mut wake = WakeThreshold::new(spec.block_size, spec.fixed_window);
    let mut last_data = Instant::now();
    let mut stop_seen = None;
    if flags.quiet_end.is_some() {
        socket.set_read_timeout(Some(QUIET_POLL))?;
    }
    loop {
        let got = sink.get().recv(&socket, chunk, spec.discard);
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
    fn only_a_peer_on_this_host_counts_as_sharing_our_cpus() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(same_host(ip("127.0.0.1"), ip("127.0.0.1")));
        assert!(same_host(ip("::1"), ip("::1")));
        assert!(same_host(ip("::ffff:127.0.0.1"), ip("::ffff:127.0.0.1")));
        assert!(same_host(ip("192.168.1.172"), ip("192.168.1.172")));
        assert!(same_host(ip("::ffff:10.0.0.5"), ip("10.0.0.5")));
        assert!(!same_host(ip("192.168.1.172"), ip("192.168.1.5")));
        assert!(!same_host(ip("10.77.0.2"), ip("10.77.0.1")));
    }

    #[cfg(target_os = "linux")]
    use crate::platform::nice_in;

    /// The nice value of the thread named `name` in this process.
    #[cfg(target_os = "linux")]
    fn nice_of(name: &str) -> Option<i32> {
        let mut tasks = std::fs::read_dir("/proc/self/task").ok()?.flatten();
        let task = tasks.find(|t| {
            let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
            comm.trim_end() == name
        })?;
        nice_in(&task.path().join("stat"))
    }

    #[cfg(target_os = "linux")]
    fn sender_nice(yields: bool, id: u32) -> (Option<i32>, u64) {
        use std::io::Read;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let tx = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut rx, _) = l.accept().unwrap();
        let flags = Arc::new(Flags {
            senders_yield: yields,
            ..Flags::default()
        });
        let spec = StreamSpec {
            quota: Some(64 << 20),
            ..StreamSpec::plain(id, true)
        };
        let (done, _done_rx) = tokio::sync::mpsc::unbounded_channel();
        let stream = spawn(tx, spec, flags, done).unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = rx.read(&mut buf).unwrap() as u64;
        // The sender is blocked on a full window now, its thread alive.
        let nice = nice_of(&format!("stream-{id}"));
        loop {
            match rx.read(&mut buf).unwrap() {
                0 => break,
                n => got += n as u64,
            }
        }
        drop(stream);
        (nice, got)
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_yielding_sender_to_this_host_lowers_only_its_own_priority() {
        // Stream threads are spawned from this one and start at its priority.
        let ours = nice_in(std::path::Path::new("/proc/thread-self/stat"));
        let (yielding, got) = sender_nice(true, 4101);
        assert_eq!(got, 64 << 20, "every byte arrives");
        assert_eq!(yielding, Some(SENDER_NICE.max(ours.unwrap_or(0))));
        let (plain, _) = sender_nice(false, 4102);
        assert_eq!(plain, ours, "a sender that does not yield keeps its creator's priority");
    }
}
