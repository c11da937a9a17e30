//! Facts about the path (both interfaces, MSS, probed MTU) and the diagnoses drawn from them.

use serde::{Deserialize, Serialize};

use crate::engine::mtu::MtuResult;
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

/// One named problem, what it means, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// jumbo_black_hole, path_down, mtu_mismatch, slow_link, stall, wrong_interface.
    pub kind: String,
    pub message: String,
    pub advice: String,
}

fn diag(kind: &str, message: String, advice: String) -> Diagnosis {
    Diagnosis {
        kind: kind.into(),
        message,
        advice,
    }
}

/// Draws the diagnoses from the facts. `peer` names the other host; `expected_mbps` comes from --profile.
pub fn diagnose(path: &PathReport, peer: &str, port: u16, expected_mbps: Option<u32>) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    let lif = path.local.interface.as_deref().unwrap_or("the interface");
    if let Some(m) = &path.mtu_probe {
        if m.nothing_passed() {
            out.push(diag(
                "path_down",
                format!("no probe of any size reached {peer} and came back: the path is down, not an MTU problem"),
                format!(
                    "check the cable and link lights, that {peer} is up, and that UDP port {port} is open on its firewall"
                ),
            ));
        } else if let Some(pmtu) = m.path_mtu() {
            // The search tops out at the local interface MTU (or the largest IP packet); below that is a hole.
            if pmtu < m.high {
                let w = m.high;
                out.push(diag(
                    "jumbo_black_hole",
                    format!(
                        "frames larger than {pmtu} bytes are dropped between this host and {peer}; a switch or the peer \
                         is not set for jumbo frames (interfaces are at MTU {w})"
                    ),
                    format!(
                        "set every switch port on the path, and {peer}, to MTU {w} or more; or return this host to MTU \
                         {pmtu} (macOS: sudo networksetup -setMTU <service> {pmtu}; Linux: sudo ip link set {lif} mtu {pmtu})"
                    ),
                ));
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
        out.push(diag(
            "mtu_mismatch",
            format!("this host's {lif} has MTU {a} but {peer}'s {rif} has MTU {b}"),
            format!(
                "set both ends to the same MTU ({} for jumbo frames, 1500 otherwise)",
                a.max(b)
            ),
        ));
    }
    if let Some(want) = expected_mbps {
        let sides = [
            ("this host's", Some(&path.local)),
            (&*format!("{peer}'s"), path.remote.as_ref()),
        ];
        for (who, facts) in sides {
            let Some(f) = facts else { continue };
            if let Some(speed) = f.speed_mbps.filter(|&s| s < want) {
                let ifname = f.interface.as_deref().unwrap_or("interface");
                out.push(diag(
                    "slow_link",
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
        assert_eq!(kinds(&mismatch, None), vec!["jumbo_black_hole", "mtu_mismatch"]);
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
}
