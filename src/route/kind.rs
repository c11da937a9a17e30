//! What kind of interface a route leaves by, and whether that kind fits a profile's medium.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::profile::Medium;

/// The kind of an interface, as far as the OS's own facts tell; [`InterfaceKind::Unknown`] otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterfaceKind {
    /// Wired Ethernet (a NIC, a Thunderbolt or USB Ethernet adapter).
    Ethernet,
    #[serde(rename = "wifi")]
    WiFi,
    /// macOS's Thunderbolt Bridge (`bridge0` over the Thunderbolt ports).
    ThunderboltBridge,
    /// IP over Thunderbolt on Linux (thunderbolt-net), or a single macOS Thunderbolt port.
    Thunderbolt,
    /// A software bridge that is not the Thunderbolt Bridge.
    Bridge,
    /// A tunnel: macOS `utun`/`ipsec`/`ppp`, Linux tun, WireGuard, VXLAN, GRE, IPIP.
    VpnTunnel,
    Loopback,
    /// Software-only with no hardware behind it (veth, macvlan, VLAN, bond, tap).
    Virtual,
    Unknown,
}

impl InterfaceKind {
    /// The snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            InterfaceKind::Ethernet => "ethernet",
            InterfaceKind::WiFi => "wifi",
            InterfaceKind::ThunderboltBridge => "thunderbolt_bridge",
            InterfaceKind::Thunderbolt => "thunderbolt",
            InterfaceKind::Bridge => "bridge",
            InterfaceKind::VpnTunnel => "vpn_tunnel",
            InterfaceKind::Loopback => "loopback",
            InterfaceKind::Virtual => "virtual",
            InterfaceKind::Unknown => "unknown",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            InterfaceKind::Ethernet => "Ethernet",
            InterfaceKind::WiFi => "Wi-Fi",
            InterfaceKind::ThunderboltBridge => "Thunderbolt Bridge",
            InterfaceKind::Thunderbolt => "Thunderbolt",
            InterfaceKind::Bridge => "bridge",
            InterfaceKind::VpnTunnel => "VPN tunnel",
            InterfaceKind::Loopback => "loopback",
            InterfaceKind::Virtual => "virtual interface",
            InterfaceKind::Unknown => "unknown kind",
        }
    }

    /// Whether traffic leaving by this kind is certainly not on a link of `medium`. Unknown, virtual,
    /// bridge and loopback are never a verdict: only a kind known to be another medium conflicts.
    pub fn conflicts_with(self, medium: Medium) -> bool {
        use InterfaceKind::*;
        match medium {
            Medium::Ethernet => matches!(self, WiFi | VpnTunnel | ThunderboltBridge | Thunderbolt),
            Medium::Thunderbolt => matches!(self, WiFi | VpnTunnel | Ethernet),
        }
    }
}

impl fmt::Display for InterfaceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use InterfaceKind::*;

    const ALL: [InterfaceKind; 9] = [
        Ethernet,
        WiFi,
        ThunderboltBridge,
        Thunderbolt,
        Bridge,
        VpnTunnel,
        Loopback,
        Virtual,
        Unknown,
    ];

    #[test]
    fn names_match_serde_and_read_back() {
        for k in ALL {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(serde_json::from_str::<InterfaceKind>(&json).unwrap(), k);
        }
        assert_eq!(WiFi.to_string(), "Wi-Fi");
    }

    #[test]
    fn an_ethernet_profile_warns_only_for_known_other_media() {
        let warned: Vec<InterfaceKind> = ALL.into_iter().filter(|k| k.conflicts_with(Medium::Ethernet)).collect();
        assert_eq!(warned, [WiFi, ThunderboltBridge, Thunderbolt, VpnTunnel]);
    }

    #[test]
    fn a_thunderbolt_profile_warns_for_wifi_tunnels_and_ethernet() {
        let warned: Vec<InterfaceKind> = ALL
            .into_iter()
            .filter(|k| k.conflicts_with(Medium::Thunderbolt))
            .collect();
        assert_eq!(warned, [Ethernet, WiFi, VpnTunnel]);
    }

    #[test]
    fn loopback_and_unknown_are_never_a_verdict() {
        for m in [Medium::Ethernet, Medium::Thunderbolt] {
            for k in [Loopback, Unknown, Virtual, Bridge] {
                assert!(!k.conflicts_with(m), "{k:?} under {m:?}");
            }
        }
    }
}
