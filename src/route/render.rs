//! The route to a host as text and JSON: one line in a run's path section, and `saf-net route`'s output.

use std::fmt::Write as _;

use serde::Serialize;

use super::RouteFacts;

fn or_unknown<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "unknown".to_string(), |v| v.to_string())
}

/// `en0 (Ethernet, port "Ethernet"), via 192.168.1.1` or `vpn0 (VPN tunnel), on-link, from 100.77.5.1`.
pub fn line(f: &RouteFacts) -> String {
    let port = f
        .hardware_port
        .as_ref()
        .map(|p| format!(", port \"{p}\""))
        .unwrap_or_default();
    let hop = f.gateway.map_or_else(|| "on-link".to_string(), |g| format!("via {g}"));
    let from = f.source.map(|s| format!(", from {s}")).unwrap_or_default();
    format!("{} ({}{port}), {hop}{from}", f.interface, f.kind)
}

/// `MTU 1500, 10000 Mb/s, full duplex`, each part "unknown" when not known.
pub fn link(f: &RouteFacts) -> String {
    format!(
        "MTU {}, speed {}, duplex {}",
        or_unknown(f.mtu),
        f.speed_mbps
            .map_or_else(|| "unknown".to_string(), |s| format!("{s} Mb/s")),
        or_unknown(f.duplex.as_ref())
    )
}

/// `saf-net route`'s text; the hardware port line only where there are hardware ports (macOS).
pub fn text(host: &str, f: &RouteFacts, ports: bool) -> String {
    let mut out = String::new();
    let to = if host == f.destination.to_string() {
        host.to_string()
    } else {
        format!("{host} ({})", f.destination)
    };
    let _ = writeln!(out, "Route to {to}: {}", line(f));
    let _ = writeln!(out, "  interface:     {}", f.interface);
    let _ = writeln!(out, "  kind:          {}", f.kind);
    let _ = writeln!(out, "  kind from:     {}", f.kind_source);
    if ports || f.hardware_port.is_some() {
        let _ = writeln!(out, "  hardware port: {}", or_unknown(f.hardware_port.as_ref()));
    }
    let gateway = f.gateway.map_or_else(
        || "none (on the interface's own network)".to_string(),
        |g| g.to_string(),
    );
    let _ = writeln!(out, "  gateway:       {gateway}");
    let _ = writeln!(out, "  source:        {}", or_unknown(f.source));
    let _ = writeln!(out, "  link:          {}", link(f));
    out
}

/// `saf-net route -J`: the route's facts flat, plus the warning line (null without one).
#[derive(Debug, Serialize)]
pub struct Document<'a> {
    pub host: &'a str,
    pub backend: &'static str,
    pub profile: Option<&'a str>,
    #[serde(flatten)]
    pub route: &'a RouteFacts,
    pub kind_label: &'static str,
    pub warning: Option<String>,
}

pub fn render(
    host: &str,
    backend: &'static str,
    profile: Option<&str>,
    f: &RouteFacts,
    warning: Option<String>,
) -> String {
    let doc = Document {
        host,
        backend,
        profile,
        route: f,
        kind_label: f.kind.label(),
        warning,
    };
    serde_json::to_string_pretty(&doc).expect("the document always serializes")
}

/// `saf-net route -J` when no route was found.
pub fn render_error(host: &str, backend: &'static str, error: &str) -> String {
    let doc = serde_json::json!({ "host": host, "backend": backend, "error": error, "warning": null });
    serde_json::to_string_pretty(&doc).expect("the document always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::InterfaceKind;

    fn facts() -> RouteFacts {
        RouteFacts {
            destination: "192.168.1.172".parse().unwrap(),
            interface: "en0".into(),
            kind: InterfaceKind::Ethernet,
            kind_source: "hardware port \"Ethernet\"".into(),
            hardware_port: Some("Ethernet".into()),
            gateway: Some("192.168.1.1".parse().unwrap()),
            source: None,
            mtu: Some(1500),
            speed_mbps: None,
            duplex: None,
            route_mtu: Some(1500),
        }
    }

    #[test]
    fn the_path_line_names_interface_kind_port_and_hop() {
        assert_eq!(line(&facts()), "en0 (Ethernet, port \"Ethernet\"), via 192.168.1.1");
        let mut f = facts();
        f.gateway = None;
        f.hardware_port = None;
        f.source = Some("10.0.0.1".parse().unwrap());
        assert_eq!(line(&f), "en0 (Ethernet), on-link, from 10.0.0.1");
        assert_eq!(link(&facts()), "MTU 1500, speed unknown, duplex unknown");
    }

    #[test]
    fn text_says_unknown_for_what_is_not_known() {
        let t = text("alpha.local", &facts(), true);
        assert!(t.starts_with("Route to alpha.local (192.168.1.172): en0"), "{t}");
        assert!(t.contains("  source:        unknown\n"), "{t}");
        assert!(
            t.contains("  kind:          Ethernet\n  kind from:     hardware port \"Ethernet\"\n"),
            "{t}"
        );
        let mut linux = facts();
        linux.hardware_port = None;
        assert!(!text("x", &linux, false).contains("hardware port:"));
        assert!(text("x", &linux, true).contains("  hardware port: unknown\n"));
    }

    #[test]
    fn json_keys_are_the_stable_ones() {
        let doc: serde_json::Value =
            serde_json::from_str(&render("192.168.1.172", "macos", None, &facts(), None)).unwrap();
        for key in [
            "interface",
            "kind",
            "hardware_port",
            "gateway",
            "source",
            "mtu",
            "speed_mbps",
            "duplex",
            "warning",
        ] {
            assert!(doc.get(key).is_some(), "{key} missing: {doc}");
        }
        assert_eq!(doc["kind"], "ethernet");
        assert_eq!(doc["warning"], serde_json::Value::Null);
        assert_eq!(doc["source"], serde_json::Value::Null);
        let e: serde_json::Value = serde_json::from_str(&render_error("x", "linux", "no route to x")).unwrap();
        assert_eq!(e["error"], "no route to x");
    }
}
