//! saf-net's defaults and bounds, in one place.

/// saf-net's TCP (and later UDP) port: iperf3's 5201 plus 100, so both can run side by side.
pub const DEFAULT_PORT: u16 = 5301;
pub const DEFAULT_DURATION_SECS: f64 = 10.0;
pub const DEFAULT_INTERVAL_SECS: f64 = 1.0;
/// TCP bytes per write call, and the batch a receiver waits for per wake-up (iperf3 uses 128K): bigger blocks
/// mean fewer wake-ups per byte; 512K moved about 2x what 128K did on loopback (bench/results/).
pub const DEFAULT_BLOCK: u32 = 512 * 1024;
/// The block of a test of several streams: 1M beat 512K by ~15 % at 4 streams on loopback, while one stream,
/// sent from pages, is fastest at 512K (bench/README.md, #21).
pub const DEFAULT_BLOCK_STREAMS: u32 = 1024 * 1024;

/// The block of a test of many streams, each a small share of the rate: 256K was level with 1M at `-P 128` on
/// loopback with a quarter of the receive sinks (bench/README.md), and still holds 5 ms of each stream.
pub const DEFAULT_BLOCK_MANY: u32 = 256 * 1024;

/// The TCP block when `-l` is not given, for a test of `streams` streams each way.
pub const fn default_block(streams: u32) -> u32 {
    match streams {
        0..=1 => DEFAULT_BLOCK,
        2..=16 => DEFAULT_BLOCK_STREAMS,
        _ => DEFAULT_BLOCK_MANY,
    }
}
pub const DEFAULT_CONNECT_TIMEOUT_SECS: f64 = 5.0;
pub const DEFAULT_HANDSHAKE_TIMEOUT_SECS: f64 = 10.0;
pub const DEFAULT_MAX_DURATION_SECS: f64 = 3600.0;
pub const DEFAULT_MAX_STREAMS: u32 = 128;
pub const DEFAULT_MAX_CONCURRENT: usize = 1;
pub const DEFAULT_MAX_QUEUE: usize = 16;
pub const DEFAULT_MAX_BLOCK: u32 = 16 << 20;
pub const DEFAULT_MAX_WINDOW: u32 = 256 << 20;
pub const DEFAULT_MAX_HANDSHAKES_PER_IP: usize = 16;
pub const DEFAULT_MAX_TEST_MEMORY: u64 = 256 << 20;
pub const DEFAULT_IDLE_TIMEOUT_SECS: f64 = 10.0;
/// Slot-free echo sessions (protocol 3) a server runs at once.
pub const DEFAULT_MAX_ECHO_SESSIONS: usize = 16;
/// Relayed tests and port checks (protocol 3, `--allow-relay`) a server starts in any 60 s, together.
pub const DEFAULT_MAX_RELAYS_PER_MINUTE: u32 = 20;
/// Echo probes per second one session may send: `latency`'s default rate.
pub const DEFAULT_MAX_ECHO_RATE: f64 = 100.0;
/// Longest echo session; a monitor opens the next one when it ends.
pub const DEFAULT_MAX_ECHO_DURATION_SECS: f64 = 3600.0;
/// Extra time a stream may run past its planned end (the engine owns the clock).
pub use crate::engine::GRACE;
/// Client-side sanity bound on -P; the server's own limit usually bites first.
pub const CLIENT_MAX_PARALLEL: u32 = 1024;
/// UDP `-b` per stream when none is given: 1 Gbit/s, the line rate of the commonest link. iperf3's 1 Mbit/s
/// default measures almost nothing on a LAN; "as fast as possible" (`-b 0`) floods the receiver and mostly
/// measures its socket buffer. 1 Gbit/s shows a 1 GbE link's limit and stays well inside a 10 GbE one.
pub const DEFAULT_UDP_BITRATE: u64 = 1_000_000_000;
/// UDP payload when the path MTU is unknown, or on loopback (whose 64 KiB MTU no real link has): what a
/// 1500-byte Ethernet MTU carries over IPv4 (1500 - 20 IP - 8 UDP), so figures compare with a real LAN.
pub const DEFAULT_UDP_DATAGRAM: u32 = 1472;

/// TCP_MAXSEG values worth asking for; Linux refuses below 88 and caps at 65535.
pub const MSS_RANGE: std::ops::RangeInclusive<u32> = 88..=65_535;
