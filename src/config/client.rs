//! A throughput run: the client's raw input and its validated plan.

use super::checks::check_congestion;
use super::defaults::*;
use super::target::Target;
use crate::net::Family;
use crate::profile::Medium;
use crate::protocol::{Direction, HEADER_LEN, MAX_DATAGRAM, Protocol, StopAfter, TestRequest};

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
            None => default_block(self.parallel),
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
