//! Facts about the path (both interfaces, MSS, probed MTU) and the diagnoses drawn from them.

use serde::{Deserialize, Serialize};

pub mod wrong_interface;

use crate::engine::mtu::MtuResult;
use crate::findings::{Finding, FindingKind, pair_subject};
use crate::protocol::InterfaceFacts;

/// Everything known about the path of one test.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PathReport {
    pub local: InterfaceFacts,
    pub remote: Option<InterfaceFacts>,
    /// MSS this host advertised (MTU − 40 on IPv4), and the payload per segment after options (e.g. timestamps).
    pub mss_advertised: Option<u32>,
    pub mss_effective: Option<u32>,
    pub mtu_probe: Option<MtuResult>,
    pub diagnoses: Vec<Diagnosis>,
    /// The route to the peer: egress interface, its kind and link facts (absent in runs recorded before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<crate::route::RouteFacts>,
    /// Why the route is unknown, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_error: Option<String>,
}

/// One named problem, what it means, and what to do: a [`Finding`] as a path's `diagnoses` have always been
/// written (`kind`, `message` = its text, `advice` = its fix; the subject is not part of this layout).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// jumbo_black_hole, mtu_black_hole, path_down, mtu_mismatch, slow_link, stall, wrong_interface.
    pub kind: String,
    pub message: String,
    pub advice: String,
}

impl From<Finding> for Diagnosis {
    fn from(f: Finding) -> Diagnosis {
        Diagnosis {
            kind: f.kind.into(),
            message: f.text,
            advice: f.fix,
        }
    }
}

impl PathReport {
    /// A one-word summary: clean, or the first problem's kind.
    pub fn verdict(&self) -> String {
        match (self.diagnoses.first(), self.mtu_probe.and_then(|m| m.path_mtu())) {
            (Some(d), _) => format!("problem: {}", d.kind.replace('_', " ")),
            (None, Some(m)) => format!("clean: the path carries {m}-byte packets both ways"),
            (None, None) => "not probed".into(),
        }
    }

    /// The test ran over loopback (no wire, no cable, no link speed).
    pub fn is_loopback(&self) -> bool {
        self.local.address.is_some_and(|a| a.to_canonical().is_loopback())
            || matches!(self.local.interface.as_deref(), Some("lo" | "lo0"))
    }
}

/// The subject of a finding about the path between this host and `peer`.
fn path_subject(peer: &str) -> String {
    pair_subject("this host", peer)
}

/// "this host's eth0 is at MTU 9000, alpha's eth1 at 9000" (an end not reported is left out).
fn both_ends(path: &PathReport, peer: &str, local_high: u32) -> String {
    let lif = path.local.interface.as_deref().unwrap_or("interface");
    let mut s = format!("this host's {lif} is at MTU {}", path.local.mtu.unwrap_or(local_high));
    if let Some(r) = &path.remote
        && let Some(m) = r.mtu
    {
        s.push_str(&format!(
            ", {peer}'s {} at {m}",
            r.interface.as_deref().unwrap_or("interface")
        ));
    }
    s
}

/// Frames above `pmtu` vanish between two hosts whose interfaces allow more. Above 1500 that is the jumbo-frame
/// black hole (a switch port or host not set for jumbo frames); at or below it, something on the path with a
/// smaller MTU (a tunnel, PPPoE) that drops instead of answering.
fn black_hole(path: &PathReport, peer: &str, pmtu: u32, high: u32) -> Finding {
    let lif = path.local.interface.as_deref().unwrap_or("the interface");
    let ends = both_ends(path, peer, high);
    let back = format!(
        "or return this host to MTU {pmtu} (macOS: sudo networksetup -setMTU <service> {pmtu}; Linux: sudo ip link set \
         {lif} mtu {pmtu})"
    );
    if high > 1500 {
        Finding::new(
            FindingKind::JumboBlackHole,
            path_subject(peer),
            format!(
                "frames larger than {pmtu} bytes are dropped between this host and {peer}; a switch or the peer is not \
                 set for jumbo frames ({ends})"
            ),
            format!("set every switch port on the path, and {peer}, to MTU {high} or more; {back}"),
        )
    } else {
        Finding::new(
            FindingKind::MtuBlackHole,
            path_subject(peer),
            format!(
                "frames larger than {pmtu} bytes are dropped between this host and {peer} without an ICMP answer; \
                 something on the path has a smaller MTU ({ends})"
            ),
            format!("find the hop with MTU {pmtu} (a tunnel, VPN or PPPoE link) and let it pass ICMP, {back}"),
        )
    }
}

/// Draws the diagnoses from the facts, as a path's `diagnoses` are written (see [`findings`]).
pub fn diagnose(path: &PathReport, peer: &str, port: u16, expected_mbps: Option<u32>) -> Vec<Diagnosis> {
    findings(path, peer, port, expected_mbps)
        .into_iter()
        .map(Diagnosis::from)
        .collect()
}

/// Draws the findings from the facts. `peer` names the other host; `expected_mbps` comes from --profile.
pub fn findings(path: &PathReport, peer: &str, port: u16, expected_mbps: Option<u32>) -> Vec<Finding> {
    let mut out = Vec::new();
    let lif = path.local.interface.as_deref().unwrap_or("the interface");
    if let Some(m) = &path.mtu_probe {
        if m.nothing_passed() {
            out.push(Finding::new(
                FindingKind::PathDown,
                path_subject(peer),
                format!("no probe of any size reached {peer} and came back: the path is down, not an MTU problem"),
                format!(
                    "check the cable and link lights, that {peer} is up, and that UDP port {port} is open on its firewall"
                ),
            ));
        } else if let Some(pmtu) = m.path_mtu() {
            // The search tops out at the local interface MTU (or the largest IP packet); below that is a hole,
            // unless the peer's own smaller MTU explains it (then it is an mtu_mismatch, below).
            let remote_mtu = path.remote.as_ref().and_then(|r| r.mtu);
            if pmtu < m.high && remote_mtu.is_none_or(|r| r > pmtu) {
                out.push(black_hole(path, peer, pmtu, m.high));
            }
        }
    }
    if let (Some(a), Some(b)) = (path.local.mtu, path.remote.as_ref().and_then(|r| r.mtu))
        && a != b
    {
        let rif = path
            .remote
            .as_ref()
            .and_then(|r| r.interface.as_deref())
            .unwrap_or("its interface");
        out.push(Finding::new(
            FindingKind::MtuMismatch,
            path_subject(peer),
            format!("this host's {lif} has MTU {a} but {peer}'s {rif} has MTU {b}"),
            if a.max(b) > 1500 {
                format!(
                    "set both ends to the same MTU ({} for jumbo frames, 1500 otherwise)",
                    a.max(b)
                )
            } else {
                "set both ends to the same MTU (1500, the Ethernet standard, unless a tunnel needs less)".to_string()
            },
        ));
    }
    if let Some(want) = expected_mbps {
        let sides = [
            ("this host", "this host's", Some(&path.local)),
            (peer, &*format!("{peer}'s"), path.remote.as_ref()),
        ];
        for (host, who, facts) in sides {
            let Some(f) = facts else { continue };
            if let Some(speed) = f.speed_mbps.filter(|&s| s < want) {
                let ifname = f.interface.as_deref().unwrap_or("interface");
                out.push(Finding::new(
                    FindingKind::SlowLink,
                    host,
                    format!("{who} {ifname} negotiated {speed} Mb/s, below the {want} Mb/s the profile expects"),
                    "check the cable (Cat6a or better for 10GBASE-T), the switch port, and the media setting \
                     (macOS: networksetup -getMedia / -setMedia; Linux: ethtool IF / ethtool -s)"
                        .to_string(),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(mtu: u32, speed: Option<u32>) -> InterfaceFacts {
        InterfaceFacts {
            interface: Some("en0".into()),
            mtu: Some(mtu),
            speed_mbps: speed,
            ..Default::default()
        }
    }

    fn probe(f: Option<u32>, r: Option<u32>) -> MtuResult {
        MtuResult {
            forward_path_mtu: f,
            reverse_path_mtu: r,
            low: 576,
            high: 9000,
            ..Default::default()
        }
    }

    fn kinds(p: &PathReport, expected: Option<u32>) -> Vec<String> {
        diagnose(p, "alpha", 5301, expected)
            .into_iter()
            .map(|d| d.kind)
            .collect()
    }

    #[test]
    fn table_of_cases() {
        let clean9000 = PathReport {
            local: facts(9000, Some(10_000)),
            remote: Some(facts(9000, Some(10_000))),
            mtu_probe: Some(probe(Some(9000), Some(9000))),
            ..Default::default()
        };
        assert!(kinds(&clean9000, Some(10_000)).is_empty());
        let hole = PathReport {
            mtu_probe: Some(probe(Some(1500), Some(1500))),
            ..clean9000.clone()
        };
        let loopback = PathReport {
            local: facts(65_536, None),
            remote: Some(facts(65_536, None)),
            mtu_probe: Some(MtuResult {
                high: 65_535,
                ..probe(Some(65_535), Some(65_535))
            }),
            ..Default::default()
        };
        assert!(kinds(&loopback, None).is_empty(), "the largest IP packet is not a hole");
        assert_eq!(kinds(&hole, None), vec!["jumbo_black_hole"]);
        let msg = &diagnose(&hole, "alpha", 5301, None)[0].message;
        assert!(
            msg.starts_with("frames larger than 1500 bytes are dropped between this host and alpha"),
            "{msg}"
        );
        let down = PathReport {
            mtu_probe: Some(probe(None, None)),
            ..clean9000.clone()
        };
        assert_eq!(kinds(&down, None), vec!["path_down"]);
        let mismatch = PathReport {
            remote: Some(facts(1500, Some(10_000))),
            mtu_probe: Some(probe(Some(1500), Some(1500))),
            ..clean9000.clone()
        };
        // The peer's own 1500 explains the 1500 path: a mismatch, not a hole between them.
        assert_eq!(kinds(&mismatch, None), vec!["mtu_mismatch"]);
        let slow = PathReport {
            local: facts(9000, Some(1000)),
            ..clean9000.clone()
        };
        assert_eq!(kinds(&slow, Some(10_000)), vec!["slow_link"]);
        assert!(kinds(&slow, Some(1000)).is_empty());
        let clean1500 = PathReport {
            local: facts(1500, None),
            remote: Some(facts(1500, None)),
            mtu_probe: Some(MtuResult {
                high: 1500,
                ..probe(Some(1500), Some(1500))
            }),
            ..Default::default()
        };
        assert!(
            kinds(&clean1500, Some(10_000)).is_empty(),
            "unknown speed is not a diagnosis"
        );
    }

    #[test]
    fn an_unknown_link_speed_is_never_a_slow_link() {
        // A 10 GbE Mac whose media could not be read (Thunderbolt Bridge, a driver without media) on either
        // side, or both: the 10gbe profile's 10,000 Mb/s is compared with nothing.
        let unknown_both = PathReport {
            local: facts(9000, None),
            remote: Some(facts(9000, None)),
            ..Default::default()
        };
        let unknown_remote = PathReport {
            local: facts(9000, Some(10_000)),
            remote: Some(facts(9000, None)),
            ..Default::default()
        };
        let no_remote = PathReport {
            local: facts(9000, None),
            ..Default::default()
        };
        for p in [&unknown_both, &unknown_remote, &no_remote] {
            assert!(kinds(p, Some(10_000)).is_empty(), "{p:?}");
        }
        // 10 GbE read right (not the 32-bit baud rate's 4,294) is not slow under 10gbe.
        let ten = PathReport {
            local: facts(9000, Some(10_000)),
            remote: Some(facts(9000, Some(10_000))),
            ..Default::default()
        };
        assert!(kinds(&ten, Some(10_000)).is_empty());
        let capped = PathReport {
            local: facts(9000, Some(4294)),
            ..ten.clone()
        };
        assert_eq!(
            kinds(&capped, Some(10_000)),
            vec!["slow_link"],
            "the check itself still works"
        );
    }

    #[test]
    fn a_1500_1400_mismatch_is_not_a_jumbo_black_hole_and_names_both_ends() {
        let ends = |a: u32, b: u32, probe: u32| PathReport {
            local: facts(a, None),
            remote: Some(InterfaceFacts {
                interface: Some("eth1".into()),
                ..facts(b, None)
            }),
            mtu_probe: Some(MtuResult {
                high: a,
                ..probe_pair(probe)
            }),
            ..Default::default()
        };
        let d = diagnose(&ends(1500, 1400, 1400), "alpha", 5301, None);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].kind, "mtu_mismatch");
        assert_eq!(
            d[0].message,
            "this host's en0 has MTU 1500 but alpha's eth1 has MTU 1400"
        );
        assert!(!d[0].advice.contains("jumbo"), "{}", d[0].advice);
        // Both ends at 1500 and a 1400 path: a hole, but not a jumbo one.
        let d = diagnose(&ends(1500, 1500, 1400), "alpha", 5301, None);
        assert_eq!(d[0].kind, "mtu_black_hole", "{d:?}");
        assert!(
            d[0].message
                .contains("this host's en0 is at MTU 1500, alpha's eth1 at 1500"),
            "{}",
            d[0].message
        );
        assert!(!d[0].message.contains("jumbo"), "{}", d[0].message);
        // Both at 9000, 1500 passes: the jumbo black hole, both ends named.
        let d = diagnose(&ends(9000, 9000, 1500), "alpha", 5301, None);
        assert_eq!(d[0].kind, "jumbo_black_hole", "{d:?}");
        assert!(
            d[0].message
                .contains("(this host's en0 is at MTU 9000, alpha's eth1 at 9000)"),
            "{}",
            d[0].message
        );
    }

    fn probe_pair(both: u32) -> MtuResult {
        probe(Some(both), Some(both))
    }
}
