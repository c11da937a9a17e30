//! What a throughput test measured, on both sides: the outcome every rendering reads.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use crate::client::StreamInfo;
use crate::diagnose::PathReport;
use crate::engine::SideRun;
use crate::engine::probe::ProbeOutcome;
use crate::protocol::{CpuUsage, IntervalReport, SideResults, TestRequest};
use crate::result::{DirectionResult, Sides, directions};

/// Everything measured in one test, on both sides; partial when `error` is set.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub request: TestRequest,
    /// First CPU the client's stream threads were pinned to (-A); the server's is in the request.
    pub client_cpu: Option<u32>,
    pub server: SocketAddr,
    pub server_software: String,
    /// The test's cookie, as hex (`-J`'s start.cookie).
    pub cookie: String,
    /// What answered: a saf-net server, or an iperf3 one (`--iperf3`), which reports less.
    pub peer: Peer,
    pub started_at: SystemTime,
    pub streams: Vec<StreamInfo>,
    pub local: SideRun,
    pub remote_intervals: Vec<IntervalReport>,
    pub remote: Option<SideResults>,
    /// Why the test is incomplete, if it is.
    pub error: Option<String>,
    /// UDP RTT before and during the test (--latency).
    pub latency: Option<UnderLoad>,
    /// Both interfaces, MSS, the MTU probe, and what they mean.
    pub path: PathReport,
}

/// The program on the other end of a throughput test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Peer {
    #[default]
    SafNet,
    /// An unmodified iperf3 server: no intervals, no TCP_INFO and no socket options of its own reach the client.
    Iperf3,
}

impl Peer {
    pub fn as_str(self) -> &'static str {
        match self {
            Peer::SafNet => "saf-net",
            Peer::Iperf3 => "iperf3",
        }
    }
}

/// RTT measured idle, then beside the throughput test.
#[derive(Debug, Clone)]
pub struct UnderLoad {
    pub idle: ProbeOutcome,
    pub loaded: ProbeOutcome,
}

impl UnderLoad {
    /// Both probes run at the same fixed interval.
    pub fn idle_interval(&self) -> Duration {
        Duration::from_millis(10)
    }
}

impl Outcome {
    pub fn complete(&self) -> bool {
        self.error.is_none() && self.local.results.complete && self.remote.as_ref().is_some_and(|r| r.complete)
    }

    /// The test's directions: client→server first (forward, bidir), then server→client (reverse, bidir).
    pub fn directions(&self) -> Vec<DirectionResult> {
        directions(Sides {
            request: &self.request,
            streams: &self.streams,
            local: (&self.local.results, &self.local.intervals),
            remote: (self.remote.as_ref(), &self.remote_intervals),
        })
    }

    /// What the receivers read, all directions together, and the longest receiver's seconds: the relay's,
    /// the monitor's sample's and the doctor's test's figures.
    pub fn received(&self) -> (u64, f64) {
        crate::result::received(&self.directions())
    }

    pub fn local_cpu(&self) -> CpuUsage {
        self.local.results.cpu
    }

    pub fn remote_cpu(&self) -> Option<CpuUsage> {
        self.remote.as_ref().map(|r| r.cpu)
    }
}
