//! The server's settings and the limits every request is checked against.

use std::time::Duration;

use super::checks::{check_congestion, check_udp};
use super::defaults::*;
use crate::protocol::{
    DEFAULT_MAX_FRAME, Direction, EchoRequest, HEADER_LEN, LatencyMode, LatencyRequest, MAX_DATAGRAM, PROTOCOL_VERSION,
    Protocol, StopAfter, TestRequest,
};

/// Server settings and the limits every request is checked against.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub one_off: bool,
    pub max_duration: Duration,
    pub max_streams: u32,
    pub max_concurrent: usize,
    pub max_queue: usize,
    pub max_block: u32,
    pub max_window: u32,
    pub max_frame: u32,
    pub handshake_timeout: Duration,
    /// Print a log line per event to stderr.
    pub log: bool,
    /// Handshakes in progress allowed per source address; a newer one evicts the oldest.
    pub max_handshakes_per_ip: usize,
    /// Largest total of stream buffers one test may need (see [`crate::engine::stream_memory`]).
    pub max_test_memory: u64,
    /// A receiving data stream with no bytes for this long ends the test.
    pub idle_timeout: Duration,
    /// Clients must prove they hold this key (HMAC-SHA256 challenge-response); None runs open.
    pub psk: Option<crate::auth::Psk>,
    /// Serve iperf3 clients too (off with `--no-iperf3`).
    pub iperf3: bool,
    /// Serve iperf3 clients although the server has a key they cannot prove (`--allow-iperf3-without-key`).
    pub iperf3_without_key: bool,
    /// The newest protocol version to speak; 2 makes the server behave as a v2 server (tests, `--max-protocol`).
    pub max_protocol: u32,
    /// Slot-free echo sessions at once.
    pub max_echo_sessions: usize,
    /// Echo probes per second one session may ask for; the responder drops what comes faster.
    pub max_echo_rate: f64,
    /// Longest echo session.
    pub max_echo_duration: Duration,
    /// Run relayed tests and port checks toward other nodes for authenticated clients (`--allow-relay`; needs a key).
    pub allow_relay: bool,
    /// Relayed tests and port checks started in any 60 s, together.
    pub max_relays_per_minute: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            one_off: false,
            max_duration: Duration::from_secs_f64(DEFAULT_MAX_DURATION_SECS),
            max_streams: DEFAULT_MAX_STREAMS,
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            max_queue: DEFAULT_MAX_QUEUE,
            max_block: DEFAULT_MAX_BLOCK,
            max_window: DEFAULT_MAX_WINDOW,
            max_frame: DEFAULT_MAX_FRAME,
            handshake_timeout: Duration::from_secs_f64(DEFAULT_HANDSHAKE_TIMEOUT_SECS),
            log: true,
            max_handshakes_per_ip: DEFAULT_MAX_HANDSHAKES_PER_IP,
            max_test_memory: DEFAULT_MAX_TEST_MEMORY,
            idle_timeout: Duration::from_secs_f64(DEFAULT_IDLE_TIMEOUT_SECS),
            psk: None,
            iperf3: true,
            iperf3_without_key: false,
            max_protocol: PROTOCOL_VERSION,
            max_echo_sessions: DEFAULT_MAX_ECHO_SESSIONS,
            max_echo_rate: DEFAULT_MAX_ECHO_RATE,
            max_echo_duration: Duration::from_secs_f64(DEFAULT_MAX_ECHO_DURATION_SECS),
            allow_relay: false,
            max_relays_per_minute: DEFAULT_MAX_RELAYS_PER_MINUTE,
        }
    }
}

impl ServerConfig {
    /// Checks a latency request against this server's limits.
    pub fn check_latency(&self, r: &LatencyRequest) -> Result<(), String> {
        let max = self.max_duration.as_secs_f64();
        if !r.duration_seconds.is_finite() || r.duration_seconds <= 0.0 || r.duration_seconds > max {
            return Err(format!(
                "a latency run of {} s exceeds this server's limit of {max} s (server option --max-duration)",
                r.duration_seconds
            ));
        }
        let cap = match r.mode {
            LatencyMode::Udp | LatencyMode::Mtu => MAX_DATAGRAM as u32,
            LatencyMode::Tcp => self.max_block,
            LatencyMode::Connect => u32::MAX,
        };
        if r.size == 0 || r.size > cap {
            return Err(format!(
                "--size {} must be between 1 and {cap} bytes for {} probes",
                r.size,
                r.mode.as_str()
            ));
        }
        Ok(())
    }

    /// Checks an echo session request against this server's echo limits.
    pub fn check_echo(&self, r: &EchoRequest) -> Result<(), String> {
        let max = self.max_echo_duration.as_secs_f64();
        if !r.duration_seconds.is_finite() || r.duration_seconds <= 0.0 || r.duration_seconds > max {
            return Err(format!(
                "an echo session of {} s exceeds this server's limit of {max} s (server option --max-echo-duration)",
                r.duration_seconds
            ));
        }
        if !r.rate.is_finite() || r.rate <= 0.0 || r.rate > self.max_echo_rate {
            return Err(format!(
                "an echo rate of {} probes/s exceeds this server's limit of {} probes/s (server option --max-echo-rate)",
                r.rate, self.max_echo_rate
            ));
        }
        if r.size < HEADER_LEN as u32 || r.size > MAX_DATAGRAM as u32 {
            return Err(format!(
                "--size {} must be between {HEADER_LEN} and {MAX_DATAGRAM} bytes for echo probes",
                r.size
            ));
        }
        Ok(())
    }

    /// Checks a request against this server's limits; the error names the flag on each side.
    pub fn check(&self, r: &TestRequest) -> Result<(), String> {
        let conns = r.connections();
        if r.streams == 0 {
            return Err("the client asked for 0 streams; use -P 1 or more".into());
        }
        if conns > self.max_streams {
            let bidir = if r.direction == Direction::Bidir {
                format!(" ({conns} connections with --bidir)")
            } else {
                String::new()
            };
            return Err(format!(
                "-P {}{bidir} exceeds this server's limit of {} streams (server option --max-streams)",
                r.streams, self.max_streams
            ));
        }
        let max = self.max_duration.as_secs_f64();
        if !r.omit_seconds.is_finite() || r.omit_seconds < 0.0 {
            return Err(format!("-O {} is not a valid number of seconds", r.omit_seconds));
        }
        match r.stop {
            StopAfter::Seconds(t) if !t.is_finite() || t <= 0.0 => {
                return Err(format!("-t {t} is not a positive number of seconds"));
            }
            StopAfter::Seconds(t) if t + r.omit_seconds > max => {
                return Err(format!(
                    "-t {t} (plus -O {}) exceeds this server's limit of {max} s (server option --max-duration)",
                    r.omit_seconds
                ));
            }
            StopAfter::Bytes(0) => return Err("-n 0: ask for at least one byte".into()),
            _ => {}
        }
        if r.omit_seconds > max {
            return Err(format!(
                "-O {} exceeds this server's limit of {max} s (server option --max-duration)",
                r.omit_seconds
            ));
        }
        if !r.interval_seconds.is_finite() || r.interval_seconds < 0.0 || r.interval_seconds > max {
            return Err(format!(
                "-i {} must be 0 (off) or between 0.01 and {max} s",
                r.interval_seconds
            ));
        }
        if r.interval_seconds > 0.0 && r.interval_seconds < 0.01 {
            return Err(format!("-i {} is below the 0.01 s minimum", r.interval_seconds));
        }
        if r.block_size == 0 || r.block_size > self.max_block {
            return Err(format!(
                "-l {} must be between 1 and this server's limit of {} bytes (server option --max-block)",
                r.block_size, self.max_block
            ));
        }
        if r.protocol == Protocol::Udp {
            check_udp(r)?;
        }
        let server_sends = r.direction != Direction::Forward;
        if let Some(cc) = &r.congestion
            && server_sends
        {
            check_congestion(cc).map_err(|e| format!("-C {cc} on the server: {e}"))?;
        }
        if r.fq_rate.is_some() && server_sends && !crate::platform::supports_pacing_rate() {
            return Err(format!("{} on the server", crate::platform::unsupported("--fq-rate")));
        }
        if let Some(m) = r.mss
            && !MSS_RANGE.contains(&m)
        {
            return Err(format!("-M {m} is outside {}..={}", MSS_RANGE.start(), MSS_RANGE.end()));
        }
        let memory = crate::engine::stream_memory(r.protocol != Protocol::Udp, conns, r.block_size);
        if memory > self.max_test_memory {
            return Err(format!(
                "-P {} with -l {} needs {} MiB of stream buffers, above this server's limit of {} MiB (server option --max-test-memory)",
                r.streams,
                r.block_size,
                memory >> 20,
                self.max_test_memory >> 20
            ));
        }
        if let Some(w) = r.window
            && (w == 0 || w > self.max_window)
        {
            return Err(format!(
                "-w {w} must be between 1 and this server's limit of {} bytes (server option --max-window)",
                self.max_window
            ));
        }
        Ok(())
    }
}
