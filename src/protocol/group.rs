//! Protocol 3's group sessions: one session per member server, all joined by one cookie, in which every member
//! sends its flows and counts what it receives (a mesh `--concurrent` round; the collective to come).
//!
//! The orchestrator's control connection to each member carries `join` → `joined`, `start` → `results`; a
//! member's data connection to another carries `data` → `ready`, then bytes. Rules and threat model:
//! docs/protocol.md#group-sessions.

use serde::{Deserialize, Serialize};

use super::Cookie;
use super::collective::{CollectiveSpec, PointResult};

/// Most members one group may have.
pub const MAX_MEMBERS: usize = 16;

/// One flow of a group: member `from` sends to member `to` (indexes into the members list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    pub from: u32,
    pub to: u32,
}

/// What the orchestrator asks one member to join: the whole group, and which member it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupJoin {
    /// Random, 128-bit; every data connection of the group presents it.
    pub cookie: Cookie,
    /// Every member's saf-net server as `HOST:PORT`: the only places a member dials.
    pub members: Vec<String>,
    /// This member's index in `members`.
    pub index: u32,
    /// Every flow of the group (who sends to whom); this member sends its own and receives those to it.
    pub flows: Vec<Flow>,
    /// TCP streams per flow.
    pub streams: u32,
    /// Seconds each member sends.
    pub duration_seconds: f64,
    /// A collective instead of timed flows (issue #20); absent for a mesh round. An older member refuses a
    /// join carrying it (unknown field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collective: Option<CollectiveSpec>,
}

/// A group message from a client (the orchestrator, or a member dialing another member).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum GroupAsk {
    /// Join the group: the server takes its test slot for it and answers `joined`.
    Join(GroupJoin),
    /// Every member has joined: dial the flows, send for the duration, answer `results`.
    Start,
    /// First frame after the key check of a member's data connection: stream `stream` of the flow from
    /// member `from` to this server.
    Data { cookie: Cookie, from: u32, stream: u32 },
}

/// A group message from a server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum GroupReply {
    /// The member holds its slot for the group and waits for `start`.
    Joined,
    /// A data connection was taken into its group; its bytes follow.
    Ready,
    /// What the member measured; the session ends after it.
    Results(GroupResults),
    /// A collective's point, as this member measured it (before `results`).
    Point(PointResult),
    /// A collective is running: point and iteration this member is at (at least every few seconds).
    Progress { point: u32, iter: u32 },
}

/// One member's results: what it received, per sender (receiver-side goodput is `bytes` over `seconds`),
/// and whether its own flows ran.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupResults {
    pub incoming: Vec<FlowIn>,
    pub outgoing: Vec<FlowOut>,
    /// Why the member's run did not happen or ended early, when it did not run whole.
    pub error: Option<String>,
}

/// A flow as its receiver counted it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowIn {
    pub from: u32,
    /// Bytes the receiving application read from the flow's streams.
    pub bytes: u64,
    /// The receiver's measured period, on its own clock.
    pub seconds: f64,
    pub error: Option<String>,
}

/// A flow as its sender saw it: only whether it ran.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowOut {
    pub to: u32,
    pub error: Option<String>,
}

impl GroupJoin {
    /// The flows this member sends.
    pub fn outgoing(&self) -> impl Iterator<Item = &Flow> {
        self.flows.iter().filter(|f| f.from == self.index)
    }

    /// The flows this member receives.
    pub fn incoming(&self) -> impl Iterator<Item = &Flow> {
        self.flows.iter().filter(|f| f.to == self.index)
    }

    /// The join's own rules (the server's limits are checked apart): members, index, flows.
    pub fn check(&self) -> Result<(), String> {
        let n = self.members.len();
        if !(2..=MAX_MEMBERS).contains(&n) {
            return Err(format!("a group has 2 to {MAX_MEMBERS} members; this join lists {n}"));
        }
        if self.index as usize >= n {
            return Err(format!("member index {} is not among the {n} members", self.index));
        }
        if self.flows.is_empty() || self.flows.len() > n * (n - 1) {
            return Err(format!("a group of {n} members has 1 to {} flows", n * (n - 1)));
        }
        let mut seen = std::collections::HashSet::new();
        for f in &self.flows {
            if f.from == f.to || f.from as usize >= n || f.to as usize >= n || !seen.insert(*f) {
                return Err(format!(
                    "flow {}->{} is not a flow between two distinct members, once",
                    f.from, f.to
                ));
            }
        }
        if !self.flows.iter().any(|f| f.from == self.index || f.to == self.index) {
            return Err(format!("member {} has no flow in this group", self.index));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(flows: &[(u32, u32)]) -> GroupJoin {
        GroupJoin {
            cookie: Cookie([7; 16]),
            members: vec!["a:1".into(), "b:1".into(), "c:1".into()],
            index: 0,
            flows: flows.iter().map(|&(from, to)| Flow { from, to }).collect(),
            streams: 2,
            duration_seconds: 1.0,
            collective: None,
        }
    }

    #[test]
    fn a_join_round_trips_and_decodes_strictly() {
        let j = join(&[(0, 1), (1, 2), (2, 0)]);
        let msg = super::super::ClientMessage::Group(Box::new(GroupAsk::Join(j.clone())));
        let text = serde_json::to_string(&msg).unwrap();
        assert!(text.starts_with(r#"{"group":{"join":{"cookie":"0707"#), "{text}");
        assert_eq!(serde_json::from_str::<super::super::ClientMessage>(&text).unwrap(), msg);
        let extra = text.replacen(r#""streams":2"#, r#""streams":2,"x":1"#, 1);
        assert!(serde_json::from_str::<super::super::ClientMessage>(&extra).is_err());
        assert_eq!(j.outgoing().count(), 1);
        assert_eq!(j.incoming().next(), Some(&Flow { from: 2, to: 0 }));
    }

    #[test]
    fn bad_joins_are_named() {
        assert!(join(&[(0, 1)]).check().is_ok());
        assert!(join(&[(0, 0)]).check().unwrap_err().contains("0->0"));
        assert!(join(&[(0, 3)]).check().unwrap_err().contains("0->3"));
        assert!(join(&[(0, 1), (0, 1)]).check().unwrap_err().contains("once"));
        assert!(join(&[(1, 2)]).check().unwrap_err().contains("no flow"));
        assert!(join(&[]).check().is_err());
        let mut far = join(&[(0, 1)]);
        far.index = 5;
        assert!(far.check().unwrap_err().contains("index 5"));
        let mut big = join(&[(0, 1)]);
        big.members = vec!["a:1".into(); MAX_MEMBERS + 1];
        assert!(big.check().unwrap_err().contains("2 to 16"));
    }
}
