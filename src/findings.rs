//! The one shape of everything saf-net finds wrong: a [`Finding`] is `{kind, subject, text, fix}`, with `kind`
//! from a fixed, documented set ([`FindingKind`], listed in docs/formats.md). The client's diagnoses and hints,
//! the mesh's matrix findings and the doctor all produce it; renderings that predate it (a path's `diagnoses`,
//! the `Hint:` lines) are mapped from it unchanged.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What kind of problem a finding names. Written as snake_case strings; a name this saf-net does not know
/// (from a newer one) is kept as [`FindingKind::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum FindingKind {
    /// Frames above 1500 bytes vanish on a path whose interfaces allow jumbo frames.
    JumboBlackHole,
    /// Frames above some size ≤ 1500 vanish without an ICMP answer.
    MtuBlackHole,
    /// No probe of any size came back.
    PathDown,
    /// The two ends' interfaces have different MTUs.
    MtuMismatch,
    /// An interface negotiated less than the profile's rate.
    SlowLink,
    /// A test moved no byte for 3 s.
    Stall,
    /// The route leaves by another kind of interface than the profile's.
    WrongInterface,
    /// Hint: the receiver's window held the sender back.
    ReceiveWindowLimited,
    /// Hint: the sender's socket buffer was full.
    SendBufferLimited,
    /// Hint: many segments were retransmitted.
    Retransmits,
    /// Mesh: every pair of one node is slow, both ways, while the others run at the profile's rate.
    SlowNode,
    /// Mesh: one node's path MTU is below the cluster's.
    NodeMtuMismatch,
    /// Mesh: one direction of a pair is much slower than its reverse.
    AsymmetricDirection,
    /// Mesh: one pair is slow while both its nodes are fine with others (cable or switch port).
    BadPair,
    /// Mesh: a node did not resolve or answer; its pairs are incomplete.
    NodeUnreachable,
    /// Mesh: a node refused to relay (no `--allow-relay`, or another key).
    RelayRefused,
    /// Mesh `--check-ports`: a node's TCP port is not reachable from another node (or from any).
    PortUnreachable,
    /// Doctor: goodput sits at a slower link's ceiling while both interfaces report more (a switch port, a cable or a link in between).
    PathRateLimited,
    /// Doctor: a socket buffer (`-w`, or the system's cap) is smaller than the link's bandwidth-delay product.
    SocketBufferSmall,
    /// Doctor: the host's CPUs were busy with other work before the test.
    CpuBusy,
    /// Doctor: the CPU frequency governor saves power (Linux `powersave`).
    CpuGovernor,
    /// Doctor: segmentation or receive offloads are off on the egress interface.
    OffloadOff,
    /// Doctor: Energy-Efficient Ethernet is active on the egress interface.
    EeeOn,
    /// Doctor: goodput is below the profile's floor and no fact names why.
    BelowCeiling,
    /// Collective: one node (or one link) holds the whole collective back.
    CollectiveBottleneck,
    /// A kind written by a newer saf-net, kept as written.
    Other(String),
}

impl FindingKind {
    /// Every kind this saf-net produces, in the order docs/formats.md lists them.
    pub const KNOWN: [FindingKind; 25] = [
        FindingKind::JumboBlackHole,
        FindingKind::MtuBlackHole,
        FindingKind::PathDown,
        FindingKind::MtuMismatch,
        FindingKind::SlowLink,
        FindingKind::Stall,
        FindingKind::WrongInterface,
        FindingKind::ReceiveWindowLimited,
        FindingKind::SendBufferLimited,
        FindingKind::Retransmits,
        FindingKind::SlowNode,
        FindingKind::NodeMtuMismatch,
        FindingKind::AsymmetricDirection,
        FindingKind::BadPair,
        FindingKind::NodeUnreachable,
        FindingKind::RelayRefused,
        FindingKind::PortUnreachable,
        FindingKind::PathRateLimited,
        FindingKind::SocketBufferSmall,
        FindingKind::CpuBusy,
        FindingKind::CpuGovernor,
        FindingKind::OffloadOff,
        FindingKind::EeeOn,
        FindingKind::BelowCeiling,
        FindingKind::CollectiveBottleneck,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            FindingKind::JumboBlackHole => "jumbo_black_hole",
            FindingKind::MtuBlackHole => "mtu_black_hole",
            FindingKind::PathDown => "path_down",
            FindingKind::MtuMismatch => "mtu_mismatch",
            FindingKind::SlowLink => "slow_link",
            FindingKind::Stall => "stall",
            FindingKind::WrongInterface => "wrong_interface",
            FindingKind::ReceiveWindowLimited => "receive_window_limited",
            FindingKind::SendBufferLimited => "send_buffer_limited",
            FindingKind::Retransmits => "retransmits",
            FindingKind::SlowNode => "slow_node",
            FindingKind::NodeMtuMismatch => "node_mtu_mismatch",
            FindingKind::AsymmetricDirection => "asymmetric_direction",
            FindingKind::BadPair => "bad_pair",
            FindingKind::NodeUnreachable => "node_unreachable",
            FindingKind::RelayRefused => "relay_refused",
            FindingKind::PortUnreachable => "port_unreachable",
            FindingKind::PathRateLimited => "path_rate_limited",
            FindingKind::SocketBufferSmall => "socket_buffer_small",
            FindingKind::CpuBusy => "cpu_busy",
            FindingKind::CpuGovernor => "cpu_governor",
            FindingKind::OffloadOff => "offload_off",
            FindingKind::EeeOn => "eee_on",
            FindingKind::BelowCeiling => "below_ceiling",
            FindingKind::CollectiveBottleneck => "collective_bottleneck",
            FindingKind::Other(name) => name,
        }
    }
}

impl From<&str> for FindingKind {
    fn from(name: &str) -> FindingKind {
        FindingKind::KNOWN
            .into_iter()
            .find(|k| k.as_str() == name)
            .unwrap_or_else(|| FindingKind::Other(name.to_string()))
    }
}

impl From<String> for FindingKind {
    fn from(name: String) -> FindingKind {
        FindingKind::from(name.as_str())
    }
}

impl From<FindingKind> for String {
    fn from(kind: FindingKind) -> String {
        kind.as_str().to_string()
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for FindingKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One named problem: what kind, about what (a node `"10.0.0.3"`, a pair `"10.0.0.1->10.0.0.3"`, an
/// interface's host, a direction), what was seen, and what to do (empty when the text already says it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub subject: String,
    pub text: String,
    pub fix: String,
}

impl Finding {
    pub fn new(kind: FindingKind, subject: impl Into<String>, text: String, fix: String) -> Finding {
        Finding {
            kind,
            subject: subject.into(),
            text,
            fix,
        }
    }

    /// The `Hint:` line's text: `SUBJECT: TEXT; FIX` (without `; FIX` when there is no fix).
    pub fn hint_line(&self) -> String {
        if self.fix.is_empty() {
            format!("{}: {}", self.subject, self.text)
        } else {
            format!("{}: {}; {}", self.subject, self.text, self.fix)
        }
    }
}

/// The subject naming the ordered pair `from` → `to`.
pub fn pair_subject(from: &str, to: &str) -> String {
    format!("{from}->{to}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_by_name_and_unknown_ones_are_kept() {
        for k in FindingKind::KNOWN {
            assert_eq!(FindingKind::from(k.as_str()), k);
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
        let newer: FindingKind = serde_json::from_str("\"switch_loop\"").unwrap();
        assert_eq!(newer, FindingKind::Other("switch_loop".into()));
        assert_eq!(String::from(newer), "switch_loop");
    }

    #[test]
    fn a_finding_serializes_as_kind_subject_text_fix() {
        let f = Finding::new(FindingKind::SlowNode, "10.0.0.3", "slow".into(), "check".into());
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"kind":"slow_node","subject":"10.0.0.3","text":"slow","fix":"check"}"#
        );
    }

    #[test]
    fn a_hint_line_leaves_out_an_empty_fix() {
        let mut f = Finding::new(FindingKind::Retransmits, "a → b", "7 lost".into(), String::new());
        assert_eq!(f.hint_line(), "a → b: 7 lost");
        f.fix = "check it".into();
        assert_eq!(f.hint_line(), "a → b: 7 lost; check it");
    }

    #[test]
    fn the_documented_kinds_are_the_known_ones() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/formats.md")).unwrap();
        for k in FindingKind::KNOWN {
            assert!(
                doc.contains(&format!("| `{}` |", k.as_str())),
                "docs/formats.md lacks {k}"
            );
        }
    }
}
