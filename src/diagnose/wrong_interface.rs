//! Whether a route leaves by the kind of interface a profile is about; if it certainly does not, the
//! `wrong_interface` diagnosis, with how to pin the route on that OS.

use std::net::IpAddr;

use super::Diagnosis;
use crate::findings::{Finding, FindingKind};
use crate::profile::Medium;
use crate::route::RouteFacts;
use crate::tune::BackendKind;

/// The diagnosis kind of a route that leaves by another kind of interface than the profile's.
pub const WRONG_INTERFACE: &str = "wrong_interface";

fn medium_label(m: Medium) -> &'static str {
    match m {
        Medium::Ethernet => "Ethernet",
        Medium::Thunderbolt => "Thunderbolt",
    }
}

fn a_link(m: Medium) -> &'static str {
    match m {
        Medium::Ethernet => "an Ethernet link",
        Medium::Thunderbolt => "a Thunderbolt link",
    }
}

/// The command that sends `dest` out of a chosen interface.
pub fn pin_command(dest: IpAddr, os: BackendKind) -> String {
    match (os, dest) {
        (BackendKind::Linux, IpAddr::V4(a)) => format!("sudo ip route add {a}/32 dev IF"),
        (BackendKind::Linux, IpAddr::V6(a)) => format!("sudo ip route add {a}/128 dev IF"),
        (BackendKind::Macos, IpAddr::V4(a)) => format!("sudo route -n add -host {a} -interface DEV"),
        (BackendKind::Macos, IpAddr::V6(a)) => format!("sudo route -n add -inet6 -host {a} -interface DEV"),
    }
}

/// The `wrong_interface` diagnosis when `route` certainly leaves by another medium than `medium`;
/// None when it fits or its kind is not known well enough to say.
pub fn check(route: &RouteFacts, medium: Medium, os: BackendKind) -> Option<Diagnosis> {
    finding(route, medium, os).map(Diagnosis::from)
}

/// [`check`] as a [`Finding`] whose subject is the destination.
pub fn finding(route: &RouteFacts, medium: Medium, os: BackendKind) -> Option<Finding> {
    if !route.kind.conflicts_with(medium) {
        return None;
    }
    let want = medium_label(medium);
    let placeholder = match os {
        BackendKind::Linux => format!("IF: the {want} interface"),
        BackendKind::Macos => format!("DEV: the {want} device, see networksetup -listallhardwareports"),
    };
    Some(Finding {
        kind: FindingKind::WrongInterface,
        subject: route.destination.to_string(),
        text: format!(
            "traffic to {} leaves by {} ({}), not the profile's interface ({})",
            route.destination,
            route.interface,
            route.kind,
            a_link(medium)
        ),
        fix: format!(
            "test the server's address on the {want} network, or pin the route: {} ({placeholder})",
            pin_command(route.destination, os)
        ),
    })
}

/// The one line a command prints on stderr for a diagnosis found before the test.
pub fn warning_line(d: &Diagnosis) -> String {
    format!("warning [{}]: {}; {}", d.kind, d.message, d.advice)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::InterfaceKind;

    fn route(interface: &str, kind: InterfaceKind, dest: &str) -> RouteFacts {
        RouteFacts {
            destination: dest.parse().unwrap(),
            interface: interface.into(),
            kind,
            kind_source: String::new(),
            hardware_port: None,
            gateway: None,
            source: None,
            mtu: None,
            speed_mbps: None,
            duplex: None,
            route_mtu: None,
        }
    }

    #[test]
    fn wifi_under_an_ethernet_profile_is_named_with_the_macos_pin() {
        let d = check(
            &route("en1", InterfaceKind::WiFi, "192.168.1.172"),
            Medium::Ethernet,
            BackendKind::Macos,
        )
        .unwrap();
        assert_eq!(d.kind, "wrong_interface");
        assert_eq!(
            d.message,
            "traffic to 192.168.1.172 leaves by en1 (Wi-Fi), not the profile's interface (an Ethernet link)"
        );
        assert!(
            d.advice
                .contains("sudo route -n add -host 192.168.1.172 -interface DEV"),
            "{}",
            d.advice
        );
        let line = warning_line(&d);
        assert_eq!(line.lines().count(), 1);
        assert!(
            line.starts_with("warning [wrong_interface]: traffic to 192.168.1.172 leaves by en1"),
            "{line}"
        );
    }

    #[test]
    fn a_tunnel_on_linux_gets_the_ip_route_pin() {
        let d = check(
            &route("vpn0", InterfaceKind::VpnTunnel, "100.77.5.2"),
            Medium::Ethernet,
            BackendKind::Linux,
        )
        .unwrap();
        assert!(
            d.message.contains("vpn0 (VPN tunnel), not the profile's interface"),
            "{}",
            d.message
        );
        assert!(
            d.advice.contains("sudo ip route add 100.77.5.2/32 dev IF"),
            "{}",
            d.advice
        );
        assert_eq!(
            pin_command("fd00::2".parse().unwrap(), BackendKind::Linux),
            "sudo ip route add fd00::2/128 dev IF"
        );
        assert_eq!(
            pin_command("fd00::2".parse().unwrap(), BackendKind::Macos),
            "sudo route -n add -inet6 -host fd00::2 -interface DEV"
        );
    }

    #[test]
    fn fitting_unknown_and_loopback_routes_draw_nothing() {
        for (kind, medium) in [
            (InterfaceKind::Ethernet, Medium::Ethernet),
            (InterfaceKind::Unknown, Medium::Ethernet),
            (InterfaceKind::Virtual, Medium::Ethernet),
            (InterfaceKind::Loopback, Medium::Ethernet),
            (InterfaceKind::Loopback, Medium::Thunderbolt),
            (InterfaceKind::ThunderboltBridge, Medium::Thunderbolt),
        ] {
            assert_eq!(
                check(&route("x", kind, "10.0.0.1"), medium, BackendKind::Linux),
                None,
                "{kind:?}"
            );
        }
        let d = check(
            &route("en0", InterfaceKind::Ethernet, "10.0.0.1"),
            Medium::Thunderbolt,
            BackendKind::Macos,
        );
        assert!(d.unwrap().message.ends_with("(a Thunderbolt link)"));
    }
}
