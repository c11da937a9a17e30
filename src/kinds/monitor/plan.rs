//! What `saf-net monitor` watches: the peers (from `--peer`, `--nodes`, `--from-ray`), the profile, each probe's
//! period, the throughput sample and its budget, the listen address; all checked before anything runs.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use super::budget::Budget;
use super::schedule::Periods;
use crate::auth::Psk;
use crate::config::Target;
use crate::kinds::mesh::nodes::Node;
use crate::net::Family;
use crate::profile::Profile;

/// The default `--listen`: loopback only, so the metrics are not exposed unless the operator says so.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9301";
/// Defaults of the four periods and of the sample.
pub const DEFAULT_RTT_EVERY: &str = "1s";
pub const DEFAULT_FACTS_EVERY: &str = "1m";
pub const DEFAULT_MTU_EVERY: &str = "10m";
pub const DEFAULT_THROUGHPUT_EVERY: &str = "30m";
pub const DEFAULT_THROUGHPUT_SECONDS: f64 = 2.0;
pub const DEFAULT_BUDGET: &str = "20G/day";
/// The shortest period any probe may have.
const MIN_PERIOD: Duration = Duration::from_millis(200);

/// One watched peer.
#[derive(Debug)]
pub struct Peer {
    /// What the metrics' `peer` label says: the name from `--nodes`, else HOST or HOST:PORT as given.
    pub name: String,
    pub target: Target,
    /// This host's egress interface towards the peer, as the last facts probe found it ("" unknown).
    pub interface: Mutex<String>,
}

/// The checked plan.
#[derive(Debug)]
pub struct MonitorPlan {
    pub peers: Vec<Peer>,
    pub profile: Option<Profile>,
    pub periods: Periods,
    pub throughput_seconds: f64,
    pub throughput_streams: u32,
    pub budget: Budget,
    pub listen: SocketAddr,
}

impl MonitorPlan {
    /// The `profile` label: the profile's name, or "" without one.
    pub fn profile_name(&self) -> String {
        self.profile.as_ref().map(|p| p.name.clone()).unwrap_or_default()
    }

    /// The peer called `name`, for `/probe?target=`; a target not configured is None (never dialled).
    pub fn peer(&self, name: &str) -> Option<&Peer> {
        self.peers
            .iter()
            .find(|p| p.name == name || format!("{}:{}", p.target.host, p.target.port) == name || p.target.host == name)
    }
}

/// Raw settings, as typed.
#[derive(Debug, Clone)]
pub struct MonitorInput {
    pub nodes: Vec<Node>,
    pub port: u16,
    pub psk: Option<Psk>,
    pub profile: Option<Profile>,
    pub rtt_every: String,
    pub facts_every: String,
    pub mtu_every: String,
    pub throughput_every: String,
    pub throughput_seconds: f64,
    pub throughput_streams: u32,
    pub budget: String,
    pub listen: String,
    pub connect_timeout: f64,
}

impl MonitorInput {
    /// Checks every setting; each error is one line naming the flag.
    pub fn plan(self) -> Result<MonitorPlan, String> {
        if self.nodes.is_empty() {
            return Err("no peers to watch; give --peer HOST[:PORT] (repeatable), --nodes FILE or --from-ray".into());
        }
        let periods = Periods {
            rtt: period("--rtt-every", &self.rtt_every)?,
            facts: period("--facts-every", &self.facts_every)?,
            mtu: period("--mtu-every", &self.mtu_every)?,
            throughput: period("--throughput-every", &self.throughput_every)?,
        };
        if !(self.throughput_seconds.is_finite() && (0.5..=60.0).contains(&self.throughput_seconds)) {
            return Err(format!(
                "--throughput-seconds {} is outside 0.5 to 60; a sample is short by design",
                self.throughput_seconds
            ));
        }
        if !(1..=128).contains(&self.throughput_streams) {
            return Err(format!(
                "--throughput-streams {} is outside 1 to 128",
                self.throughput_streams
            ));
        }
        let budget = Budget::parse(&self.budget)?;
        let listen: SocketAddr = self.listen.parse().map_err(|_| {
            format!(
                "--listen '{}' is not an address; give IP:PORT, e.g. --listen {DEFAULT_LISTEN}",
                self.listen
            )
        })?;
        let peers = self.peers()?;
        Ok(MonitorPlan {
            peers,
            profile: self.profile,
            periods,
            throughput_seconds: self.throughput_seconds,
            throughput_streams: self.throughput_streams,
            budget,
            listen,
        })
    }

    fn peers(&self) -> Result<Vec<Peer>, String> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for n in &self.nodes {
            if !seen.insert(n.key()) {
                return Err(format!("peer '{}' is given twice; give each peer once", n.name));
            }
            let mut target = Target::new(&n.host, n.port.unwrap_or(self.port), Family::Any, self.connect_timeout)?;
            target.psk = self.psk.clone();
            out.push(Peer {
                name: n.name.clone(),
                target,
                interface: Mutex::new(String::new()),
            });
        }
        Ok(out)
    }
}

/// A period such as `1s`, `500ms`, `10m`, `1h`, at least [`MIN_PERIOD`].
pub fn period(flag: &str, text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|_| format!("{flag} '{text}' is not a duration; give e.g. 1s, 30s, 10m, 1h"))?;
    if d < MIN_PERIOD {
        return Err(format!("{flag} '{text}' is shorter than {} ms", MIN_PERIOD.as_millis()));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> MonitorInput {
        MonitorInput {
            nodes: vec![Node::new("a", "127.0.0.1"), Node::new("b", "127.0.0.2")],
            port: 5301,
            psk: None,
            profile: None,
            rtt_every: DEFAULT_RTT_EVERY.into(),
            facts_every: DEFAULT_FACTS_EVERY.into(),
            mtu_every: DEFAULT_MTU_EVERY.into(),
            throughput_every: DEFAULT_THROUGHPUT_EVERY.into(),
            throughput_seconds: DEFAULT_THROUGHPUT_SECONDS,
            throughput_streams: 1,
            budget: DEFAULT_BUDGET.into(),
            listen: DEFAULT_LISTEN.into(),
            connect_timeout: 3.0,
        }
    }

    #[test]
    fn defaults_plan() {
        let p = input().plan().unwrap();
        assert_eq!(p.periods.rtt, Duration::from_secs(1));
        assert_eq!(p.periods.throughput, Duration::from_secs(1800));
        assert_eq!(p.listen.to_string(), DEFAULT_LISTEN);
        assert!(p.peer("a").is_some() && p.peer("127.0.0.2:5301").is_some() && p.peer("10.0.0.9").is_none());
    }

    #[test]
    fn bad_settings_are_one_line_naming_the_flag() {
        type Spoil = fn(&mut MonitorInput);
        let cases: Vec<(Spoil, &str)> = vec![
            (|i| i.nodes.clear(), "no peers"),
            (|i| i.rtt_every = "often".into(), "--rtt-every"),
            (|i| i.mtu_every = "10ms".into(), "--mtu-every"),
            (|i| i.budget = "20G".into(), "--budget"),
            (|i| i.listen = "localhost".into(), "--listen"),
            (|i| i.throughput_seconds = 600.0, "--throughput-seconds"),
            (|i| i.nodes.push(Node::new("c", "127.0.0.1")), "given twice"),
        ];
        for (spoil, want) in cases {
            let mut i = input();
            spoil(&mut i);
            let e = i.plan().unwrap_err();
            assert!(e.contains(want) && !e.contains('\n'), "{want}: {e}");
        }
    }
}
