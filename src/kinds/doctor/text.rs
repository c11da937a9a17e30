//! The doctor's text: the limiting factor in one sentence, both ends' facts, the lesser findings; and `-J`.

use std::fmt::Write;

use super::run::Report;
use crate::findings::Finding;

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or("unknown".into(), |v| v.to_string())
}

fn bytes(v: Option<u64>) -> String {
    v.map_or("unknown".into(), |b| crate::units::Bytes(b).to_string())
}

/// The whole text report.
pub fn text(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", headline(r));
    facts(&mut out, r);
    test(&mut out, r);
    for (port, state) in &r.ports {
        let _ = writeln!(out, "Port {port}: {state}");
    }
    let lesser = &r.findings[r.limiting.min(r.findings.len())..];
    let more = &r.findings[1.min(r.limiting)..r.limiting.min(r.findings.len())];
    section(&mut out, "Also limiting", more);
    section(&mut out, "Lesser findings", lesser);
    out
}

/// Both ends' facts, a row each.
fn facts(out: &mut String, r: &Report) {
    let _ = writeln!(out, "\nFacts                   this host                 {}", r.host);
    let remote = r.remote.as_ref().map(|f| &f.link);
    let row = |out: &mut String, name: &str, here: String, there: String| {
        let _ = writeln!(out, "  {name:<22}{here:<26}{there}");
    };
    row(
        out,
        "interface",
        opt(r.local_link.interface.as_ref()),
        opt(remote.and_then(|l| l.interface.as_ref())),
    );
    row(
        out,
        "route kind",
        opt(r.route.as_ref().map(|x| x.kind.label())),
        opt(r.remote.as_ref().and_then(|f| f.route.as_ref()).map(|x| x.kind.clone())),
    );
    let speed = |s: Option<u32>| s.map_or("unknown".into(), |s| format!("{s} Mbit/s"));
    row(
        out,
        "link speed",
        speed(r.local_link.speed_mbps),
        speed(remote.and_then(|l| l.speed_mbps)),
    );
    row(
        out,
        "duplex",
        opt(r.local_link.duplex.as_ref()),
        opt(remote.and_then(|l| l.duplex.as_ref())),
    );
    row(
        out,
        "interface MTU",
        opt(r.local_link.mtu),
        opt(remote.and_then(|l| l.mtu)),
    );
    row(out, "path MTU", opt(r.path_mtu), String::new());
    let l = &r.local;
    row(
        out,
        "TCP buffers (rx/tx)",
        format!("{} / {}", bytes(l.receive_buffer_max), bytes(l.send_buffer_max)),
        String::new(),
    );
    row(
        out,
        "congestion control",
        opt(l.congestion_control.as_ref()),
        String::new(),
    );
    row(
        out,
        "load (1 min) / CPUs",
        format!("{} / {}", opt(l.load_1m), l.cpus),
        String::new(),
    );
    row(out, "CPU governor", opt(l.governor.as_ref()), String::new());
    let off = l.offloads.map(|o| {
        let w = |v: Option<bool>| v.map_or("?", |b| if b { "on" } else { "off" });
        format!("tso {} gso {} gro {}", w(o.tso), w(o.gso), w(o.gro))
    });
    row(out, "offloads", opt(off), String::new());
    row(
        out,
        "EEE / flow control",
        format!(
            "{} / {}",
            opt(l.eee_active.map(|b| if b { "active" } else { "off" })),
            opt(l.flow_control.map(|(rx, tx)| format!("rx {rx} tx {tx}")))
        ),
        String::new(),
    );
}

/// The short test's line.
fn test(out: &mut String, r: &Report) {
    if let Some(s) = &r.sample {
        let _ = writeln!(
            out,
            "\nTest: {} stream(s) for {} s: {:.1} Mbit/s{}{}",
            s.streams,
            s.seconds,
            s.goodput_bps / 1e6,
            r.ceiling_bps.map_or(String::new(), |c| format!(
                " ({:.1} % of the profile's ceiling)",
                s.goodput_bps / c * 100.0
            )),
            s.rtt_p50_us
                .map_or(String::new(), |u| format!("; idle RTT p50 {u:.0} µs"))
        );
        if let Some(e) = &s.error {
            let _ = writeln!(out, "  the test: {e}");
        }
    }
}

fn section(out: &mut String, title: &str, fs: &[Finding]) {
    if fs.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title}:");
    for f in fs {
        let _ = writeln!(out, "  - [{}] {}", f.kind, f.text);
        if !f.fix.is_empty() {
            let _ = writeln!(out, "    fix: {}", f.fix);
        }
    }
}

/// The first line: what limits the link and its fix, or that nothing does.
fn headline(r: &Report) -> String {
    match r.findings.first().filter(|_| r.limiting > 0) {
        Some(f) => format!(
            "Limiting factor ({}): {}{}",
            f.kind,
            f.text,
            if f.fix.is_empty() {
                String::new()
            } else {
                format!("\n  fix: {}", f.fix)
            }
        ),
        None => match &r.sample {
            Some(s) => format!(
                "Nothing limits the link to {} beyond noise: {:.1} Mbit/s{}",
                r.host,
                s.goodput_bps / 1e6,
                r.ceiling_bps
                    .map_or(" (no --profile: no ceiling to hold it against)".into(), |c| format!(
                        ", {:.1} % of the profile's ceiling",
                        s.goodput_bps / c * 100.0
                    ))
            ),
            None => format!("Nothing named limits the link to {}, but no test ran", r.host),
        },
    }
}

/// `-J`: the facts, the test, and `findings[]` in rank order (`kind`, `subject`, `text`, `fix`).
pub fn json(r: &Report) -> String {
    let doc = serde_json::json!({
        "host": r.host,
        "reached": r.reached,
        "facts": {
            "local": { "link": r.local_link, "route": r.route, "host": r.local },
            "remote": r.remote,
            "path_mtu": r.path_mtu,
        },
        "sample": r.sample,
        "ceiling_bps": r.ceiling_bps,
        "ports": r.ports.iter().map(|(p, s)| serde_json::json!({"port": p, "state": s})).collect::<Vec<_>>(),
        "limiting": r.limiting,
        "findings": r.findings,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
