//! What an interface looks like now ([`Reading`]), and what is wanted of it and of the sysctls
//! ([`Desired`]): from a profile, or from the snapshot when restoring.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// An interface as the user names it: a macOS hardware port ("Thunderbolt Ethernet Slot 1") with its
/// device (en5), or a Linux interface (name and device are the same).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Port {
    pub name: String,
    pub device: String,
    /// MAC address, when the OS lists one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

impl Port {
    /// Whether the device is a bridge (macOS `bridge0`, the Thunderbolt Bridge): known by its device,
    /// never by its name, which the OS translates ("Thunderbolt-Brücke").
    pub fn is_bridge(&self) -> bool {
        self.device
            .strip_prefix("bridge")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name == self.device {
            write!(f, "{}", self.name)
        } else {
            write!(f, "\"{}\" ({})", self.name, self.device)
        }
    }
}

/// The MTU: what is in effect, what is configured, and what the device accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MtuInfo {
    pub active: u32,
    /// The setting (macOS keeps it apart from the active value; on Linux they are the same).
    pub configured: u32,
    pub min: Option<u32>,
    pub max: Option<u32>,
}

/// macOS media: the setting, what the link runs at, and every subtype the port accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaInfo {
    pub current: String,
    pub active: String,
    pub valid: Vec<String>,
}

/// Linux link settings as `ethtool IF` reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkInfo {
    /// None when ethtool says "Unknown!" (link down).
    pub speed_mbps: Option<u32>,
    /// "full" or "half"; None when unknown.
    pub duplex: Option<String>,
    pub autoneg: bool,
    /// "Supports auto-negotiation: Yes".
    pub supports_autoneg: bool,
    /// "Supported link modes", e.g. "1000baseT/Full"; empty when "Not reported".
    pub supported: Vec<String>,
    pub advertised: Vec<String>,
    /// "Link detected: yes".
    pub detected: Option<bool>,
}

impl LinkInfo {
    /// Whether the device's speed, duplex or autonegotiation can be set at all: a device that
    /// reports no link modes and no autonegotiation (veth, most virtual NICs) has none to set.
    pub fn settable(&self) -> bool {
        self.supports_autoneg || !self.supported.is_empty()
    }

    /// Whether the link satisfies `t`. With the link down and autonegotiation on, a wanted speed
    /// counts as met when a mode of that speed is advertised.
    pub fn satisfies(&self, t: &LinkTarget) -> bool {
        if t.autoneg.is_some_and(|a| a != self.autoneg) {
            return false;
        }
        if let Some(adv) = &t.advertise {
            let mut want = adv.clone();
            let mut have = self.advertised.clone();
            want.sort();
            have.sort();
            if want != have {
                return false;
            }
        }
        let negotiating_down = self.autoneg && self.speed_mbps.is_none();
        if let Some(s) = t.speed_mbps {
            let met = match self.speed_mbps {
                Some(have) => have == s,
                None => negotiating_down && self.advertised.iter().any(|m| mode_speed(m) == Some(s)),
            };
            if !met {
                return false;
            }
        }
        if let Some(d) = &t.duplex {
            let met = match &self.duplex {
                Some(have) => have == d,
                None => negotiating_down,
            };
            if !met {
                return false;
            }
        }
        true
    }

    /// How the link stands, in one phrase.
    pub fn describe(&self) -> String {
        let speed = self
            .speed_mbps
            .map_or("speed unknown".to_string(), |s| format!("{s} Mbit/s"));
        let duplex = self
            .duplex
            .as_deref()
            .map_or("duplex unknown".to_string(), |d| format!("{d} duplex"));
        let an = if self.autoneg { "on" } else { "off" };
        format!("{speed}, {duplex}, autonegotiation {an}")
    }
}

/// The speed in Mbit/s of a link mode name such as "10000baseT/Full" or "2500baseX/Full".
pub fn mode_speed(mode: &str) -> Option<u32> {
    let digits: String = mode.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|_| mode[digits.len()..].starts_with("base"))
}

/// Wanted Linux link settings; a field left None is not looked at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoneg: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_mbps: Option<u32>,
    /// "full" or "half".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplex: Option<String>,
    /// The exact set of advertised modes (only when restoring a snapshot taken with autonegotiation on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advertise: Option<Vec<String>>,
}

impl LinkTarget {
    /// The settings as ethtool words: "speed 10000 duplex full autoneg on".
    pub fn describe(&self) -> String {
        let mut w = Vec::new();
        if let Some(s) = self.speed_mbps {
            w.push(format!("speed {s}"));
        }
        if let Some(d) = &self.duplex {
            w.push(format!("duplex {d}"));
        }
        if let Some(a) = self.autoneg {
            w.push(format!("autoneg {}", if a { "on" } else { "off" }));
        }
        if let Some(adv) = &self.advertise {
            w.push(format!("advertising {}", adv.join(" ")));
        }
        w.join(" ")
    }

    /// What to restore to put a link back as it was: forced speed and duplex, or autonegotiation
    /// with the same advertised modes.
    pub fn restoring(was: &LinkInfo) -> LinkTarget {
        if was.autoneg {
            LinkTarget {
                autoneg: Some(true),
                advertise: (!was.advertised.is_empty()).then(|| was.advertised.clone()),
                ..Default::default()
            }
        } else {
            LinkTarget {
                autoneg: Some(false),
                speed_mbps: was.speed_mbps,
                duplex: was.duplex.clone(),
                advertise: None,
            }
        }
    }
}

/// An interface as read now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    pub port: Port,
    pub mtu: MtuInfo,
    /// macOS only.
    pub media: Option<MediaInfo>,
    /// Linux only.
    pub link: Option<LinkInfo>,
    /// Why the link settings could not be read (Linux), if they could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_error: Option<String>,
    /// Why the media could not be read (macOS; a bridge has none), if they could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_error: Option<String>,
    /// A bridge's member ports, each read like the bridge; empty for anything else.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Reading>,
}

impl Reading {
    /// Whether the MTU setting is in effect: macOS keeps the setting apart from the active MTU.
    pub fn mtu_in_effect(&self) -> bool {
        self.mtu.active == self.mtu.configured
    }
}

/// What is wanted of one bridge member when restoring it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberTarget {
    pub mtu: Option<u32>,
    /// Put MTU and media back on automatic (macOS) rather than pin the MTU.
    #[serde(default)]
    pub automatic: bool,
}

/// What is wanted: of one interface, and of the machine's sysctls. None / absent means "leave as is".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Desired {
    pub mtu: Option<u32>,
    pub media: Option<String>,
    pub link: Option<LinkTarget>,
    /// Restoring a port that was on automatic: MTU and media go back to automatic (macOS
    /// `-setMTUAndMediaAutomatically`) rather than being pinned to the values read.
    #[serde(default)]
    pub automatic: bool,
    /// A bridge's members by port name; a member not listed takes `mtu` (applying a profile).
    #[serde(default)]
    pub members: BTreeMap<String, MemberTarget>,
    /// Sysctl name → value, values normalized by [`normalize_value`].
    pub sysctls: BTreeMap<String, String>,
}

/// A sysctl value with runs of whitespace made single spaces ("4096\t131072\t6291456" → "4096 131072 6291456").
pub fn normalize_value(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(speed: Option<u32>, autoneg: bool, adv: &[&str]) -> LinkInfo {
        LinkInfo {
            speed_mbps: speed,
            duplex: speed.map(|_| "full".into()),
            autoneg,
            supports_autoneg: true,
            supported: vec!["1000baseT/Full".into(), "10000baseT/Full".into()],
            advertised: adv.iter().map(|s| s.to_string()).collect(),
            detected: Some(speed.is_some()),
        }
    }

    #[test]
    fn link_targets_are_met_or_not() {
        let t = LinkTarget {
            autoneg: Some(true),
            speed_mbps: Some(10_000),
            duplex: Some("full".into()),
            advertise: None,
        };
        assert!(link(Some(10_000), true, &["10000baseT/Full"]).satisfies(&t));
        assert!(!link(Some(1000), true, &["1000baseT/Full"]).satisfies(&t));
        assert!(!link(Some(10_000), false, &[]).satisfies(&t));
        // Link down while negotiating: the advertisement decides.
        assert!(link(None, true, &["10000baseT/Full"]).satisfies(&t));
        assert!(!link(None, true, &["1000baseT/Full"]).satisfies(&t));
        let restore = LinkTarget::restoring(&link(Some(1000), true, &["1000baseT/Full", "10000baseT/Full"]));
        assert_eq!(
            restore.describe(),
            "autoneg on advertising 1000baseT/Full 10000baseT/Full"
        );
        assert!(link(Some(10_000), true, &["10000baseT/Full", "1000baseT/Full"]).satisfies(&restore));
        assert!(!link(Some(10_000), true, &["10000baseT/Full"]).satisfies(&restore));
        let forced = LinkTarget::restoring(&link(Some(1000), false, &[]));
        assert_eq!(forced.describe(), "speed 1000 duplex full autoneg off");
    }

    #[test]
    fn mode_speeds_and_values() {
        assert_eq!(mode_speed("10000baseT/Full"), Some(10_000));
        assert_eq!(mode_speed("2500baseX/Full"), Some(2500));
        assert_eq!(mode_speed("Not"), None);
        assert_eq!(normalize_value(" 4096\t131072  6291456\n"), "4096 131072 6291456");
        let p = Port {
            name: "Thunderbolt Ethernet Slot 1".into(),
            device: "en5".into(),
            mac: None,
        };
        assert_eq!(p.to_string(), "\"Thunderbolt Ethernet Slot 1\" (en5)");
    }
}
