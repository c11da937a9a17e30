//! Defaults in one place, and raw arguments turned into validated plans.

use std::net::SocketAddr;
use std::time::Duration;

use crate::net::Family;
use crate::profile::Medium;
use crate::protocol::{
    DEFAULT_MAX_FRAME, Direction, HEADER_LEN, LatencyMode, LatencyRequest, MAX_DATAGRAM, Protocol, StopAfter,
    TestRequest,
};

/// saf-net's TCP (and later UDP) port: iperf3's 5201 plus 100, so both can run side by side.
pub const DEFAULT_PORT: u16 = 5301;
pub const DEFAULT_DURATION_SECS: f64 = 10.0;
pub const DEFAULT_INTERVAL_SECS: f64 = 1.0;
/// TCP bytes per read/write call (iperf3 uses 128K): with the receiver's wake-up threshold, bigger blocks
/// mean fewer wake-ups per byte; 512K moved about 2x what 128K did on loopback (bench/results/).
pub const DEFAULT_BLOCK: u32 = 512 * 1024;
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

/// Checks that this host can use a congestion control algorithm for sending.
pub fn check_congestion(name: &str) -> Result<(), String> {
    if !crate::platform::supports_congestion_control() {
        return Err(crate::platform::unsupported("-C/--congestion").to_string());
    }
    let available = crate::platform::available_congestion();
    if available.iter().any(|a| a == name) {
        Ok(())
    } else {
        Err(format!(
            "congestion control '{name}' is not available here (available: {}); load its module, e.g. modprobe tcp_{name}",
            available.join(", ")
        ))
    }
}

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
    /// Largest total of stream buffers (connections × block size) one test may need.
    pub max_test_memory: u64,
    /// A receiving data stream with no bytes for this long ends the test.
    pub idle_timeout: Duration,
    /// Clients must prove they hold this key (HMAC-SHA256 challenge-response); None runs open.
    pub psk: Option<crate::auth::Psk>,
    /// Serve iperf3 clients too (off with `--no-iperf3`).
    pub iperf3: bool,
    /// Serve iperf3 clients although the server has a key they cannot prove (`--allow-iperf3-without-key`).
    pub iperf3_without_key: bool,
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
        let memory = u64::from(conns) * u64::from(r.block_size);
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

/// What a UDP request must satisfy on both ends; the TCP-only options are refused by name.
fn check_udp(r: &TestRequest) -> Result<(), String> {
    let (min, max) = (HEADER_LEN as u32, MAX_DATAGRAM as u32);
    if !(min..=max).contains(&r.block_size) {
        return Err(format!(
            "-l {} with -u: a datagram carries the {min}-byte saf-net header and UDP allows at most {max} bytes",
            r.block_size
        ));
    }
    let tcp_only = [
        (r.mss.is_some(), "-M"),
        (r.congestion.is_some(), "-C"),
        (r.fq_rate.is_some(), "--fq-rate"),
        (r.skip_rx_copy, "--skip-rx-copy"),
    ];
    if let Some((_, flag)) = tcp_only.iter().find(|(set, _)| *set) {
        return Err(format!("{flag} applies to TCP tests only; leave it out with -u"));
    }
    Ok(())
}

/// Where a client connects, and how patiently.
#[derive(Debug, Clone)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub family: Family,
    pub connect_timeout: Duration,
    pub handshake_timeout: Duration,
    /// A fixed address, skipping resolution (used by the in-process demo and tests).
    pub addr: Option<SocketAddr>,
    /// The pre-shared key, when the server requires one.
    pub psk: Option<crate::auth::Psk>,
    /// The local address every socket of the run binds to (-B); None lets the route choose.
    pub bind: Option<std::net::IpAddr>,
}

impl Target {
    /// Validates the parts every client command shares.
    pub fn new(host: &str, port: u16, family: Family, connect_timeout: f64) -> Result<Target, String> {
        if host.trim().is_empty() {
            return Err("HOST is empty; give the server's name or address, e.g. saf-net client 192.168.1.172".into());
        }
        if port == 0 {
            return Err("-p 0 is not a port; use 1-65535 (the server's default is 5301)".into());
        }
        if connect_timeout.is_nan() || connect_timeout <= 0.0 || connect_timeout > 3600.0 {
            return Err(format!(
                "--connect-timeout {connect_timeout}: give a number of seconds above 0"
            ));
        }
        Ok(Target {
            host: host.to_string(),
            port,
            family,
            connect_timeout: Duration::from_secs_f64(connect_timeout),
            handshake_timeout: Duration::from_secs_f64(DEFAULT_HANDSHAKE_TIMEOUT_SECS),
            addr: None,
            psk: None,
            bind: None,
        })
    }

    /// Binds the run to a local address (-B); its family decides which of the server's addresses are used.
    pub fn bind_to(&mut self, bind: Option<std::net::IpAddr>) -> Result<(), String> {
        let Some(ip) = bind else { return Ok(()) };
        let family = if ip.is_ipv4() { Family::V4 } else { Family::V6 };
        if self.family != Family::Any && self.family != family {
            return Err(format!(
                "-B {ip} is an {} address but -{} was given; drop one of them",
                if ip.is_ipv4() { "IPv4" } else { "IPv6" },
                if ip.is_ipv4() { 6 } else { 4 }
            ));
        }
        if ip.is_unspecified() || ip.is_multicast() {
            return Err(format!("-B {ip}: give one of this host's own unicast addresses"));
        }
        self.family = family;
        self.bind = Some(ip);
        Ok(())
    }
}

/// A validated client run.
#[derive(Debug, Clone)]
pub struct ClientPlan {
    pub target: Target,
    pub request: TestRequest,
    /// Probe the path MTU before the streams start.
    pub mtu_check: bool,
    /// Measure idle and loaded UDP RTT.
    pub latency: bool,
    /// The profile's line rate, for the slow-link diagnosis.
    pub expected_mbps: Option<u32>,
    /// The profile's medium, for the wrong-interface diagnosis.
    pub expected_medium: Option<Medium>,
    /// First CPU for the client's stream threads (-A).
    pub client_cpu: Option<u32>,
}

/// A validated latency run.
#[derive(Debug, Clone)]
pub struct LatencyPlan {
    pub target: Target,
    pub request: LatencyRequest,
    pub probe: crate::engine::probe::ProbePlan,
}

/// Raw client settings as typed on the command line, before validation.
#[derive(Debug, Clone)]
pub struct ClientInput {
    pub host: String,
    pub port: u16,
    pub time: Option<f64>,
    pub bytes: Option<u64>,
    pub parallel: u32,
    pub reverse: bool,
    pub bidir: bool,
    pub interval: f64,
    pub omit: f64,
    /// -l; None means the protocol's default (128K for TCP; for UDP, what fits the path MTU).
    pub length: Option<u64>,
    pub window: Option<u64>,
    pub family: Family,
    pub connect_timeout: f64,
    pub mss: Option<u32>,
    pub congestion: Option<String>,
    pub fq_rate: Option<u64>,
    pub bitrate: Option<u64>,
    /// Run a UDP latency probe beside the test (--latency).
    pub latency: bool,
    /// TCP, or UDP with -u.
    pub protocol: Protocol,
    /// Probe the path MTU first (off with --no-mtu-check).
    pub mtu_check: bool,
    pub expected_mbps: Option<u32>,
    pub expected_medium: Option<Medium>,
    /// -A N[,M]: first CPU for the client's stream threads, and optionally the server's.
    pub affinity: Option<(u32, Option<u32>)>,
    /// --skip-rx-copy: receivers discard in the kernel (Linux); not counted as goodput into user memory.
    pub skip_rx_copy: bool,
    /// -B: the local address to test from.
    pub bind: Option<std::net::IpAddr>,
}

impl ClientInput {
    /// Defaults for a test against HOST, as `saf-net client HOST` would run it.
    pub fn new(host: impl Into<String>) -> Self {
        ClientInput {
            host: host.into(),
            port: DEFAULT_PORT,
            time: None,
            bytes: None,
            parallel: 1,
            reverse: false,
            bidir: false,
            interval: DEFAULT_INTERVAL_SECS,
            omit: 0.0,
            length: None,
            window: None,
            family: Family::Any,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT_SECS,
            mss: None,
            congestion: None,
            fq_rate: None,
            bitrate: None,
            latency: false,
            protocol: Protocol::Tcp,
            mtu_check: true,
            expected_mbps: None,
            expected_medium: None,
            affinity: None,
            skip_rx_copy: false,
            bind: None,
        }
    }

    /// Validates everything that can be checked before touching the network.
    pub fn plan(&self) -> Result<ClientPlan, String> {
        let mut target = Target::new(&self.host, self.port, self.family, self.connect_timeout)?;
        target.bind_to(self.bind)?;
        self.check_streams_and_direction()?;
        let stop = self.stop()?;
        self.check_timing()?;
        let length = self.block_size()?;
        self.check_tcp_only()?;
        let window = self.window()?;
        self.check_options()?;
        let udp = self.protocol == Protocol::Udp;
        Ok(ClientPlan {
            target,
            request: TestRequest {
                direction: self.direction(),
                streams: self.parallel,
                stop,
                omit_seconds: self.omit,
                interval_seconds: self.interval,
                block_size: length,
                window,
                mss: self.mss,
                congestion: self.congestion.clone(),
                fq_rate: self.fq_rate,
                bitrate: match self.bitrate {
                    None if udp => Some(DEFAULT_UDP_BITRATE),
                    b => b.filter(|&b| b > 0),
                },
                // Always: a stalled test re-probes the path under this cookie, --no-mtu-check or not.
                udp_echo: true,
                protocol: self.protocol,
                server_cpu: self.affinity.and_then(|(_, s)| s),
                skip_rx_copy: self.skip_rx_copy,
            },
            mtu_check: self.mtu_check,
            latency: self.latency,
            expected_mbps: self.expected_mbps,
            expected_medium: self.expected_medium,
            client_cpu: self.affinity.map(|(c, _)| c),
        })
    }

    fn check_streams_and_direction(&self) -> Result<(), String> {
        if self.parallel == 0 || self.parallel > CLIENT_MAX_PARALLEL {
            return Err(format!(
                "-P {} must be between 1 and {CLIENT_MAX_PARALLEL}",
                self.parallel
            ));
        }
        if self.reverse && self.bidir {
            return Err("-R and --bidir exclude each other; --bidir already includes the reverse direction".into());
        }
        Ok(())
    }

    /// -t or -n, never both.
    fn stop(&self) -> Result<StopAfter, String> {
        Ok(match (self.time, self.bytes) {
            (Some(_), Some(_)) => {
                return Err("-t and -n exclude each other; give a duration or a byte count".into());
            }
            (_, Some(0)) => return Err("-n 0: ask for at least one byte, e.g. -n 1G".into()),
            (_, Some(n)) => StopAfter::Bytes(n),
            (Some(t), None) if t.is_nan() || t <= 0.0 => {
                return Err(format!("-t {t}: the test must last more than 0 s"));
            }
            (Some(t), None) => StopAfter::Seconds(t),
            (None, None) => StopAfter::Seconds(DEFAULT_DURATION_SECS),
        })
    }

    /// -O and -i.
    fn check_timing(&self) -> Result<(), String> {
        if self.omit.is_nan() || self.omit < 0.0 {
            return Err(format!("-O {}: give 0 or more seconds", self.omit));
        }
        if self.interval.is_nan() || self.interval < 0.0 || (self.interval > 0.0 && self.interval < 0.01) {
            return Err(format!(
                "-i {}: give 0 (no interval reports) or at least 0.01 s",
                self.interval
            ));
        }
        Ok(())
    }

    /// -l; 0 for UDP without -l (resolved against the path MTU once the server's address is known).
    fn block_size(&self) -> Result<u32, String> {
        let udp = self.protocol == Protocol::Udp;
        Ok(match self.length {
            Some(l) if udp && !(HEADER_LEN as u64..=MAX_DATAGRAM as u64).contains(&l) => {
                return Err(format!(
                    "-l {l}: a UDP datagram carries the {HEADER_LEN}-byte saf-net header and at most {MAX_DATAGRAM} \
                     bytes; leave -l out to fit the path MTU"
                ));
            }
            Some(l) if l == 0 || l > u32::MAX as u64 => {
                return Err(format!("-l {l}: the block size must be between 1 byte and 4G"));
            }
            Some(l) => l as u32,
            None if udp => 0,
            None => DEFAULT_BLOCK,
        })
    }

    /// With -u, the flags that only mean something for TCP are refused.
    fn check_tcp_only(&self) -> Result<(), String> {
        if self.protocol != Protocol::Udp {
            return Ok(());
        }
        let tcp_only = [
            (self.mss.is_some(), "-M"),
            (self.congestion.is_some(), "-C"),
            (self.fq_rate.is_some(), "--fq-rate"),
            (self.latency, "--latency"),
            (self.skip_rx_copy, "--skip-rx-copy"),
        ];
        match tcp_only.iter().find(|(set, _)| *set) {
            Some((_, flag)) => Err(format!("{flag} applies to TCP tests only; leave it out with -u")),
            None => Ok(()),
        }
    }

    /// -w.
    fn window(&self) -> Result<Option<u32>, String> {
        match self.window {
            Some(0) => Err("-w 0: give a socket buffer size such as 4M, or leave -w out".into()),
            Some(w) if w > u32::MAX as u64 => Err(format!("-w {w}: the window must be below 4G")),
            w => Ok(w.map(|w| w as u32)),
        }
    }

    /// -M, -C, -A, --skip-rx-copy and --fq-rate, against their ranges and what this OS supports.
    fn check_options(&self) -> Result<(), String> {
        if let Some(m) = self.mss
            && !MSS_RANGE.contains(&m)
        {
            return Err(format!(
                "-M {m}: the MSS must be between {} and {} bytes",
                MSS_RANGE.start(),
                MSS_RANGE.end()
            ));
        }
        let client_sends = !self.reverse;
        if let Some(cc) = &self.congestion
            && client_sends
        {
            check_congestion(cc).map_err(|e| format!("-C {cc}: {e}"))?;
        }
        let pinning = self.affinity.is_some() && !crate::platform::supports_cpu_pinning();
        if pinning || (self.skip_rx_copy && !crate::platform::supports_receive_discard()) {
            return Err("-A and --skip-rx-copy need Linux".into());
        }
        if self.fq_rate == Some(0) {
            return Err("--fq-rate 0: give a rate such as 900M, or leave --fq-rate out".into());
        }
        if self.fq_rate.is_some() && client_sends && !crate::platform::supports_pacing_rate() {
            return Err(crate::platform::unsupported("--fq-rate").to_string());
        }
        Ok(())
    }

    fn direction(&self) -> Direction {
        match (self.reverse, self.bidir) {
            (true, _) => Direction::Reverse,
            (_, true) => Direction::Bidir,
            _ => Direction::Forward,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_sets_the_family_and_refuses_the_other() {
        let mut i = ClientInput::new("h");
        i.bind = Some("10.0.0.1".parse().unwrap());
        let p = i.plan().unwrap();
        assert_eq!((p.target.family, p.target.bind), (Family::V4, i.bind));
        i.family = Family::V6;
        let e = i.plan().unwrap_err();
        assert!(e.starts_with("-B 10.0.0.1 is an IPv4 address but -6 was given"), "{e}");
        i.family = Family::Any;
        i.bind = Some("0.0.0.0".parse().unwrap());
        assert!(i.plan().unwrap_err().contains("own unicast"));
    }

    #[test]
    fn defaults_plan_a_ten_second_forward_test() {
        let plan = ClientInput::new("127.0.0.1").plan().unwrap();
        assert_eq!(plan.target.port, DEFAULT_PORT);
        assert_eq!(plan.request.stop, StopAfter::Seconds(10.0));
        assert_eq!(plan.request.direction, Direction::Forward);
        assert_eq!(plan.request.block_size, DEFAULT_BLOCK);
        assert!(ServerConfig::default().check(&plan.request).is_ok());
    }

    #[test]
    fn udp_defaults_pace_at_one_gigabit_and_leave_the_size_to_the_path() {
        let udp = ClientInput {
            protocol: Protocol::Udp,
            ..ClientInput::new("127.0.0.1")
        };
        let plan = udp.plan().unwrap();
        assert_eq!(plan.request.protocol, Protocol::Udp);
        assert_eq!(plan.request.bitrate, Some(DEFAULT_UDP_BITRATE));
        assert_eq!(plan.request.block_size, 0, "resolved against the path MTU on connect");
        let flat_out = ClientInput {
            bitrate: Some(0),
            length: Some(1472),
            ..udp.clone()
        }
        .plan()
        .unwrap();
        assert_eq!(flat_out.request.bitrate, None, "-b 0 means as fast as possible");
        assert_eq!(flat_out.request.block_size, 1472);
        let cfg = ServerConfig::default();
        assert!(cfg.check(&flat_out.request).is_ok());
        let too_small = TestRequest {
            block_size: 39,
            ..flat_out.request.clone()
        };
        assert!(cfg.check(&too_small).unwrap_err().contains("40-byte saf-net header"));
        let with_mss = TestRequest {
            mss: Some(1400),
            ..flat_out.request.clone()
        };
        assert!(
            cfg.check(&with_mss)
                .unwrap_err()
                .contains("-M applies to TCP tests only")
        );
        assert_eq!(
            ClientInput::new("h").plan().unwrap().request.bitrate,
            None,
            "TCP stays unpaced by default"
        );
    }

    #[test]
    fn bad_client_input_is_refused_with_the_flag_named() {
        let base = ClientInput::new("h");
        let cases: Vec<(ClientInput, &str)> = vec![
            (
                ClientInput {
                    parallel: 0,
                    ..base.clone()
                },
                "-P 0",
            ),
            (
                ClientInput {
                    time: Some(0.0),
                    ..base.clone()
                },
                "-t 0",
            ),
            (
                ClientInput {
                    length: Some(0),
                    ..base.clone()
                },
                "-l 0",
            ),
            (
                ClientInput {
                    length: Some(20),
                    protocol: Protocol::Udp,
                    ..base.clone()
                },
                "-l 20: a UDP datagram carries",
            ),
            (
                ClientInput {
                    length: Some(70_000),
                    protocol: Protocol::Udp,
                    ..base.clone()
                },
                "at most 65507",
            ),
            (
                ClientInput {
                    mss: Some(1400),
                    protocol: Protocol::Udp,
                    ..base.clone()
                },
                "-M applies to TCP tests only",
            ),
            (
                ClientInput {
                    bytes: Some(0),
                    ..base.clone()
                },
                "-n 0",
            ),
            (
                ClientInput {
                    window: Some(0),
                    ..base.clone()
                },
                "-w 0",
            ),
            (
                ClientInput {
                    reverse: true,
                    bidir: true,
                    ..base.clone()
                },
                "-R and --bidir",
            ),
            (
                ClientInput {
                    time: Some(1.0),
                    bytes: Some(1),
                    ..base.clone()
                },
                "-t and -n",
            ),
            (
                ClientInput {
                    interval: 0.001,
                    ..base.clone()
                },
                "-i 0.001",
            ),
            (
                ClientInput {
                    host: " ".into(),
                    ..base.clone()
                },
                "HOST is empty",
            ),
            (
                ClientInput {
                    port: 0,
                    ..base.clone()
                },
                "-p 0",
            ),
        ];
        for (input, want) in cases {
            let err = input.plan().unwrap_err();
            assert!(err.contains(want), "{err:?} should mention {want:?}");
        }
    }

    #[test]
    fn server_limits_are_enforced() {
        let cfg = ServerConfig {
            max_streams: 8,
            max_duration: Duration::from_secs(60),
            ..ServerConfig::default()
        };
        let ok = ClientInput::new("h").plan().unwrap().request;
        let too_many = TestRequest {
            streams: 9,
            ..ok.clone()
        };
        assert!(cfg.check(&too_many).unwrap_err().contains("--max-streams"));
        let bidir = TestRequest {
            streams: 5,
            direction: Direction::Bidir,
            ..ok.clone()
        };
        assert!(cfg.check(&bidir).unwrap_err().contains("10 connections"));
        let long = TestRequest {
            stop: StopAfter::Seconds(61.0),
            ..ok.clone()
        };
        assert!(cfg.check(&long).unwrap_err().contains("--max-duration"));
        let omit = TestRequest {
            stop: StopAfter::Seconds(50.0),
            omit_seconds: 11.0,
            ..ok.clone()
        };
        assert!(cfg.check(&omit).unwrap_err().contains("--max-duration"));
        let block = TestRequest {
            block_size: 17 << 20,
            ..ok.clone()
        };
        assert!(cfg.check(&block).unwrap_err().contains("--max-block"));
        let window = TestRequest {
            window: Some(u32::MAX),
            ..ok.clone()
        };
        assert!(cfg.check(&window).unwrap_err().contains("--max-window"));
        let nan = TestRequest {
            stop: StopAfter::Seconds(f64::NAN),
            ..ok.clone()
        };
        assert!(cfg.check(&nan).is_err());
        assert!(cfg.check(&ok).is_ok());
    }
}

/// Default latency run: 5 s of probes, 100 per second, 64 bytes, 1 s timeout.
pub const DEFAULT_LATENCY_SECS: f64 = 5.0;
pub const DEFAULT_PROBE_INTERVAL_SECS: f64 = 0.01;
pub const DEFAULT_PROBE_SIZE: u32 = 64;
pub const DEFAULT_PROBE_TIMEOUT_SECS: f64 = 1.0;
/// A back-to-back run given only --count stops after this long at most.
pub const BACK_TO_BACK_CAP_SECS: f64 = 60.0;

/// Raw `saf-net latency` settings, before validation.
#[derive(Debug, Clone)]
pub struct LatencyInput {
    pub host: String,
    pub port: u16,
    pub family: Family,
    pub connect_timeout: f64,
    pub mode: LatencyMode,
    pub count: Option<u64>,
    pub duration: Option<f64>,
    pub interval: Option<f64>,
    pub rate: Option<f64>,
    pub size: u32,
    pub timeout: f64,
}

impl LatencyInput {
    pub fn new(host: impl Into<String>) -> Self {
        LatencyInput {
            host: host.into(),
            port: DEFAULT_PORT,
            family: Family::Any,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT_SECS,
            mode: LatencyMode::Tcp,
            count: None,
            duration: None,
            interval: None,
            rate: None,
            size: DEFAULT_PROBE_SIZE,
            timeout: DEFAULT_PROBE_TIMEOUT_SECS,
        }
    }

    pub fn plan(&self) -> Result<LatencyPlan, String> {
        let target = Target::new(&self.host, self.port, self.family, self.connect_timeout)?;
        let interval = match (self.interval, self.rate) {
            (Some(_), Some(_)) => return Err("--interval and --rate exclude each other; give one".into()),
            (Some(i), None) if i.is_nan() || i < 0.0 => return Err(format!("--interval {i}: give 0 or more seconds")),
            (Some(i), None) => i,
            (None, Some(r)) if r.is_nan() || r <= 0.0 => {
                return Err(format!("--rate {r}: give probes per second above 0"));
            }
            (None, Some(r)) => 1.0 / r,
            (None, None) => DEFAULT_PROBE_INTERVAL_SECS,
        };
        if self.count == Some(0) {
            return Err("--count 0: ask for at least one probe".into());
        }
        let duration = match (self.duration, self.count) {
            (Some(d), _) if d.is_nan() || d <= 0.0 => return Err(format!("--duration {d}: give seconds above 0")),
            (Some(d), _) => d,
            (None, Some(c)) if interval > 0.0 => c as f64 * interval + 2.0 * self.timeout,
            (None, Some(_)) => BACK_TO_BACK_CAP_SECS,
            (None, None) => DEFAULT_LATENCY_SECS,
        };
        if self.timeout.is_nan() || self.timeout <= 0.0 || self.timeout > 60.0 {
            return Err(format!("--timeout {}: give seconds between 0 and 60", self.timeout));
        }
        let min = crate::protocol::HEADER_LEN as u32;
        if self.mode != LatencyMode::Connect && (self.size < min || self.size > MAX_DATAGRAM as u32) {
            return Err(format!(
                "--size {}: probes carry a {min}-byte header and UDP allows at most {MAX_DATAGRAM} bytes",
                self.size
            ));
        }
        Ok(LatencyPlan {
            target,
            request: LatencyRequest {
                mode: self.mode,
                duration_seconds: duration,
                size: self.size,
            },
            probe: crate::engine::probe::ProbePlan {
                count: self.count,
                duration: Some(Duration::from_secs_f64(duration)),
                interval: Duration::from_secs_f64(interval),
                size: self.size as usize,
                timeout: Duration::from_secs_f64(self.timeout),
            },
        })
    }
}
