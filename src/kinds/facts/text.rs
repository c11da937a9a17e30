//! A server's facts as text and as `-J`'s document; every fact it did not know reads "unknown" (null in JSON).

use std::fmt::Write as _;

use serde::Serialize;

use crate::protocol::ServerFacts;

fn or_unknown<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "unknown".to_string(), |v| v.to_string())
}

/// The text `saf-net facts HOST` prints.
pub fn text(host: &str, f: &ServerFacts) -> String {
    let mut out = String::new();
    let l = &f.link;
    let _ = writeln!(
        out,
        "Facts of {host}: saf-net {} (protocol {}) on {}, host name {}",
        f.software,
        f.protocol,
        f.os,
        or_unknown(f.host_name.as_ref())
    );
    let kind = f.route.as_ref().map(|r| r.kind.as_str());
    let _ = writeln!(
        out,
        "  interface:  {} (kind {}), address {}",
        or_unknown(l.interface.as_ref()),
        or_unknown(kind),
        or_unknown(l.address)
    );
    let _ = writeln!(
        out,
        "  link:       MTU {}, speed {}, duplex {}",
        or_unknown(l.mtu),
        l.speed_mbps
            .map_or_else(|| "unknown".to_string(), |s| format!("{s} Mb/s")),
        or_unknown(l.duplex.as_ref())
    );
    match (&f.route, &f.route_error) {
        (Some(r), _) => {
            let hop = r.gateway.map_or_else(|| "on-link".to_string(), |g| format!("via {g}"));
            let from = r.source.map(|s| format!(", from {s}")).unwrap_or_default();
            let _ = writeln!(out, "  route:      by {} ({}), {hop}{from}", r.interface, r.kind);
            let _ = writeln!(out, "  kind from:  {}", r.kind_source);
        }
        (None, e) => {
            let _ = writeln!(out, "  route:      unknown ({})", or_unknown(e.as_ref()));
        }
    }
    out
}

/// `saf-net facts -J`: the host asked, then the server's facts as the wire carried them.
#[derive(Serialize)]
struct Document<'a> {
    host: &'a str,
    #[serde(flatten)]
    facts: &'a ServerFacts,
}

pub fn json(host: &str, f: &ServerFacts) -> String {
    serde_json::to_string_pretty(&Document { host, facts: f }).expect("the document always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::InterfaceFacts;

    fn bare() -> ServerFacts {
        ServerFacts {
            software: "0.3.0".into(),
            protocol: 3,
            os: "linux".into(),
            host_name: None,
            link: InterfaceFacts::default(),
            route: None,
            route_error: Some("no route to 10.0.0.2: unreachable".into()),
        }
    }

    #[test]
    fn unknown_facts_read_unknown_and_null() {
        let f = bare();
        let t = text("alpha", &f);
        assert!(t.contains("host name unknown"), "{t}");
        assert!(t.contains("MTU unknown, speed unknown, duplex unknown"), "{t}");
        assert!(t.contains("route:      unknown (no route to 10.0.0.2"), "{t}");
        let doc: serde_json::Value = serde_json::from_str(&json("alpha", &f)).unwrap();
        assert_eq!(doc["host"], "alpha");
        assert!(doc["link"]["speed_mbps"].is_null());
        assert!(doc["route"].is_null());
    }

    #[test]
    fn known_facts_are_shown_as_reported() {
        let mut f = bare();
        f.link.speed_mbps = Some(10_000);
        f.link.interface = Some("eth1".into());
        let t = text("alpha", &f);
        assert!(t.contains("speed 10000 Mb/s"), "{t}");
        assert!(t.contains("eth1 (kind unknown)"), "{t}");
    }
}
