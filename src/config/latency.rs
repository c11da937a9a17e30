//! A latency run: its defaults, raw input and validated plan.

use std::time::Duration;

use super::defaults::*;
use super::target::Target;
use crate::net::Family;
use crate::protocol::{LatencyMode, LatencyRequest, MAX_DATAGRAM};

/// A validated latency run.
#[derive(Debug, Clone)]
pub struct LatencyPlan {
    pub target: Target,
    pub request: LatencyRequest,
    pub probe: crate::engine::probe::ProbePlan,
    /// UDP probes through the slot-free echo (protocol 3) instead of a latency run that takes a test slot.
    pub no_slot: bool,
}

impl LatencyPlan {
    /// A slot-free echo session's plan: UDP probes as `probe` says (at a fixed rate), to `target`.
    pub fn echo(target: Target, probe: crate::engine::probe::ProbePlan) -> Result<LatencyPlan, String> {
        let duration = probe.duration.map_or(DEFAULT_LATENCY_SECS, |d| d.as_secs_f64());
        if probe.interval.is_zero() {
            return Err("the slot-free echo probes at a fixed rate: give --interval above 0 or --rate".into());
        }
        Ok(LatencyPlan {
            target,
            request: LatencyRequest {
                mode: LatencyMode::Udp,
                duration_seconds: duration,
                size: probe.size as u32,
            },
            probe,
            no_slot: true,
        })
    }

    /// What the client asks the server for: a latency run, or (`no_slot`) an echo session.
    pub fn message(&self) -> crate::protocol::ClientMessage {
        use crate::protocol::{ClientMessage, EchoRequest};
        if !self.no_slot {
            return ClientMessage::Latency(self.request.clone());
        }
        ClientMessage::Echo(EchoRequest {
            duration_seconds: self.request.duration_seconds,
            rate: 1.0 / self.probe.interval.as_secs_f64().max(f64::MIN_POSITIVE),
            size: self.request.size,
        })
    }
}

/// Default latency run: 5 s of probes, 100 per second, 64 bytes, 1 s timeout.
pub const DEFAULT_LATENCY_SECS: f64 = 5.0;
pub const DEFAULT_PROBE_INTERVAL_SECS: f64 = 0.01;
pub const DEFAULT_PROBE_SIZE: u32 = 64;
pub const DEFAULT_PROBE_TIMEOUT_SECS: f64 = 1.0;
/// A back-to-back run given only --count stops after this long at most.
pub const BACK_TO_BACK_CAP_SECS: f64 = 60.0;

/// The longest `--busy-poll` window: a second of spinning per probe is already a busy CPU.
pub const MAX_BUSY_POLL_US: u64 = 1_000_000;

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
    /// `--no-slot`: UDP probes through the slot-free echo (protocol 3).
    pub no_slot: bool,
    /// `--busy-poll`: microseconds to spin for each answer (0: sleep until woken).
    pub busy_poll_us: u64,
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
            no_slot: false,
            busy_poll_us: 0,
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
        if self.no_slot && self.mode != LatencyMode::Udp {
            return Err(format!(
                "--no-slot uses the slot-free UDP echo (protocol 3), not --mode {}: add --mode udp",
                self.mode.as_str()
            ));
        }
        if self.no_slot && interval <= 0.0 {
            return Err("--no-slot probes at a fixed rate: give --interval above 0 or --rate".into());
        }
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
        let busy_poll = self.busy_poll()?;
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
                busy_poll,
            },
            no_slot: self.no_slot,
        })
    }

    /// The busy-poll window, checked: probes that wait for an answer on a connection, at most a second.
    fn busy_poll(&self) -> Result<Duration, String> {
        let us = self.busy_poll_us;
        if us == 0 {
            return Ok(Duration::ZERO);
        }
        if self.mode == LatencyMode::Connect {
            return Err(
                "--busy-poll spins for probe answers; --mode connect times handshakes: use --mode tcp or udp".into(),
            );
        }
        if us > MAX_BUSY_POLL_US {
            return Err(format!(
                "--busy-poll {us}: give at most {MAX_BUSY_POLL_US} microseconds (1 s)"
            ));
        }
        Ok(Duration::from_micros(us))
    }
}
