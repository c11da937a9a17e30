//! What every data stream shares, TCP or UDP: what it does ([`StreamSpec`]), the flags of its side, its last
//! word ([`Finished`]), the handle of a running one ([`Stream`]), what a UDP stream's thread does
//! ([`UdpPlan`]), and one side's streams waiting for the clock ([`LocalStreams`]).

use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::udp_ledger::Meter;
use crate::protocol::Cookie;

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
    /// The socket buffers were fixed with -w, so the kernel will not grow them.
    pub fixed_window: bool,
}

#[cfg(test)]
impl StreamSpec {
    /// A plain stream for tests: 64 KiB blocks, no quota, pacing, pinning or fixed window.
    pub(super) fn plain(id: u32, sender: bool) -> StreamSpec {
        StreamSpec {
            id,
            sender,
            quota: None,
            block_size: 64 * 1024,
            pace_bps: None,
            idle_timeout: None,
            cpu: None,
            discard: false,
            fixed_window: false,
        }
    }
}

/// Flags shared by all streams of one side of a test.
#[derive(Debug, Default)]
pub struct Flags {
    /// Senders stop after their current write (the timed end of a test).
    pub stop_send: AtomicBool,
    /// Everyone stops now (abort, fault, limit).
    pub abort: AtomicBool,
    /// Receivers of a peer that never closes its streams (iperf3) end once the senders' clock stopped and nothing
    /// arrived for this long; their period closes at their last byte. None: they wait for the peer's end.
    pub quiet_end: Option<Duration>,
    /// Senders send from pages, saving their copy (platform::page_send). Worth it only while the side's senders
    /// leave CPUs idle: on a 2-CPU loopback one stream went 41 -> 72 Gbit/s, but two went 72 -> 38 (bench/README.md).
    pub page_send: bool,
    /// TCP senders whose receivers run on the same host lower their priority, so a receiver woken by data runs
    /// before more is queued: with many streams the queued bytes otherwise outgrow the CPU cache and every copy
    /// reads memory (128 streams on a 2-CPU loopback: 363 MiB queued, 36.7 → 53.3 Gbit/s; bench/README.md).
    pub senders_yield: bool,
    /// Set with `abort` when the peer ended the test cleanly (see [`super::drive_until`]): not an abort.
    pub finished: AtomicBool,
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
    /// A TCP stream whose thread is already running; `handle` is a second handle to its connection.
    pub(super) fn tcp(spec: StreamSpec, counter: Arc<AtomicU64>, handle: TcpStream, thread: JoinHandle<()>) -> Stream {
        Stream {
            spec,
            counter,
            socket: Some(handle),
            udp: None,
            thread: Some(thread),
        }
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

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.socket.as_ref()?.local_addr().ok()
    }

    pub fn peer_addr(&self) -> Option<SocketAddr> {
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

/// Pins the calling stream thread to `cpu` (-A). Best effort: a CPU that does not exist leaves the thread
/// where the scheduler put it.
pub(super) fn pin(cpu: Option<usize>) {
    if let Some(cpu) = cpu {
        let cpus = crate::platform::cpu_count();
        let _ = crate::platform::pin_current_thread(cpu % cpus);
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

/// What a UDP stream's thread does.
pub enum UdpPlan {
    /// Send paced datagrams on `socket`, to its connected peer or to `to`.
    Send {
        socket: UdpSocket,
        to: Option<SocketAddr>,
        cookie: Cookie,
    },
    /// Receive on our own socket (the client's), keeping this test's datagrams only.
    Receive {
        socket: UdpSocket,
        cookie: Cookie,
        meter: Arc<Meter>,
    },
    /// Datagrams arrive through a [`super::udp::Sink`]; only watch for the stream's end.
    Fed { meter: Arc<Meter> },
    /// Send paced datagrams with iperf3's header (seconds, microseconds, a count from 1; 12 or 16 bytes) to the
    /// socket's connected peer or to `to`; no end markers (iperf3 learns the end on its control connection).
    Iperf3Send {
        socket: UdpSocket,
        to: Option<SocketAddr>,
        counters_64bit: bool,
    },
    /// Receive iperf3 datagrams on a socket connected to an iperf3 peer.
    Iperf3Receive {
        socket: UdpSocket,
        counters_64bit: bool,
        meter: Arc<Meter>,
    },
}

/// A stream waiting for the clock: a connected TCP socket, or a UDP stream's plan.
pub(super) enum Pending {
    Tcp(TcpStream),
    Udp(UdpPlan),
}

/// One side's connected data sockets, waiting for the clock to start.
#[derive(Default)]
pub struct LocalStreams {
    pub(super) pending: Vec<(Pending, StreamSpec)>,
}

impl LocalStreams {
    pub fn add(&mut self, socket: TcpStream, spec: StreamSpec) {
        self.pending.push((Pending::Tcp(socket), spec));
    }

    /// Adds a UDP stream (`-u`).
    pub fn add_udp(&mut self, plan: UdpPlan, spec: StreamSpec) {
        self.pending.push((Pending::Udp(plan), spec));
    }

    /// The TCP sockets among the streams.
    pub fn sockets(&self) -> impl Iterator<Item = (&TcpStream, &StreamSpec)> {
        self.pending.iter().filter_map(|(p, spec)| match p {
            Pending::Tcp(s) => Some((s, spec)),
            Pending::Udp(_) => None,
        })
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}
