//! How plans, `show` reports and outcomes read as text.

use std::fmt::Write;

use super::apply::{Done, Failed, Restored};
use super::backend::Persistence;
use super::plan::Plan;
use super::show::{InterfaceView, ShowReport};

fn reboot(p: &Persistence) -> String {
    format!(
        "survives reboot: {} ({})",
        if p.survives_reboot { "yes" } else { "no" },
        p.note
    )
}

/// The plan, with the exact command for each change.
pub fn plan(p: &Plan, profile: &str) -> String {
    let mut o = String::new();
    let on = p.port.as_ref().map(|p| format!(" on {p}")).unwrap_or_default();
    let _ = writeln!(o, "Plan: profile {profile}{on} ({} backend)", p.backend);
    for c in &p.changes {
        let _ = writeln!(o, "  {:<28} {} -> {}", c.setting, c.from, c.to);
        let _ = writeln!(o, "      run: {}", c.command);
        let _ = writeln!(o, "      {}", reboot(&c.persistence));
    }
    for (setting, value) in &p.unchanged {
        let _ = writeln!(o, "  {setting:<28} {value} (already so; nothing to run)");
    }
    for n in &p.notes {
        let _ = writeln!(o, "  note: {n}");
    }
    for w in &p.warnings {
        let _ = writeln!(o, "  WARNING: {w}");
    }
    let n = p.changes.len();
    if n > 0 {
        let _ = writeln!(o, "{n} change{}.", if n == 1 { "" } else { "s" });
    }
    o
}

/// A finished apply.
pub fn done(d: &Done) -> String {
    let mut o = String::new();
    if !d.snapshot_added.is_empty() {
        let _ = writeln!(
            o,
            "Snapshot: saved {} as they were, in {} (`saf-net tune revert` returns to it)",
            d.snapshot_added.join(", "),
            d.state_file.display()
        );
    }
    for c in &d.ran {
        let _ = writeln!(o, "Ran: {c}");
    }
    let _ = writeln!(o, "Verified: every setting reads back as planned.");
    if let Some((path, changed)) = &d.persisted {
        let what = if *changed {
            "wrote the sysctls to"
        } else {
            "the sysctls were already in"
        };
        let _ = writeln!(o, "Persisted: {what} {}; they are set again at boot", path.display());
    }
    o
}

/// A restore (rollback, revert, expired trial).
pub fn restored(r: &Restored, verb: &str) -> String {
    let mut o = String::new();
    let what = if r.what.is_empty() {
        "nothing".to_string()
    } else {
        r.what.join(" and ")
    };
    for c in &r.ran {
        let _ = writeln!(o, "  ran: {c}");
    }
    if let Some(p) = &r.persist_removed {
        let _ = writeln!(o, "  removed saf-net's sysctls from {}", p.display());
    }
    for n in &r.notes {
        let _ = writeln!(o, "  note: {n}");
    }
    for f in &r.failures {
        let _ = writeln!(o, "  FAILED: {f}");
    }
    for m in &r.mismatches {
        let _ = writeln!(o, "  NOT RESTORED: {m}");
    }
    let head = if r.ok() {
        let ran = if r.ran.is_empty() {
            "already as in the snapshot".to_string()
        } else {
            format!("{} command{}", r.ran.len(), if r.ran.len() == 1 { "" } else { "s" })
        };
        format!("{verb} {what} to the snapshot ({ran}); verified by reading back.\n")
    } else {
        format!("{verb} {what} only in part; the snapshot is kept, see above.\n")
    };
    head + &o
}

/// A failed apply: what ran, what failed, what the rollback did.
pub fn failed(f: &Failed) -> String {
    let mut o = String::new();
    for c in &f.ran {
        let _ = writeln!(o, "Ran: {c}");
    }
    let _ = writeln!(o, "Failed: {}", f.cause);
    if let Some(rb) = &f.rollback {
        o += &restored(rb, "Rolled back");
    }
    o
}

fn interface(o: &mut String, v: &InterfaceView) {
    let head = if v.name == v.device {
        v.name.clone()
    } else {
        format!("{} ({})", v.name, v.device)
    };
    let _ = writeln!(o, "\n{head}");
    mtu_lines(o, v);
    media_lines(o, v);
    link_lines(o, v);
    linux_lines(o, v);
    for e in &v.errors {
        let _ = writeln!(o, "  (could not read: {e})");
    }
}

/// MTU (active, configured, range) and a bridge's members.
fn mtu_lines(o: &mut String, v: &InterfaceView) {
    if let Some(m) = &v.mtu {
        let range = match (m.min, m.max) {
            (Some(lo), Some(hi)) => format!(", valid {lo}-{hi}"),
            _ => String::new(),
        };
        let not_in_effect = if m.active == m.configured {
            ""
        } else {
            " (NOT IN EFFECT: the interface takes the setting only when its link is re-established)"
        };
        let _ = writeln!(
            o,
            "  MTU           active {}, configured {}{range}{not_in_effect}; change {}",
            m.active,
            m.configured,
            reboot(&v.mtu_persistence)
        );
    }
    if !v.members.is_empty() {
        let members: Vec<String> = v.members.iter().map(|m| m.to_string()).collect();
        let _ = writeln!(
            o,
            "  members       {} (a bridge: MTU set on them first)",
            members.join(", ")
        );
    }
}

/// macOS media: why it is unknown, or current, active and valid.
fn media_lines(o: &mut String, v: &InterfaceView) {
    if let Some(e) = &v.media_error {
        let what = if v.device.starts_with("bridge") {
            "none (a bridge has none)"
        } else {
            "unknown"
        };
        let _ = writeln!(o, "  media         {what}: {e}");
    }
    if let Some(m) = &v.media {
        let p = v.media_persistence.as_ref().map(reboot).unwrap_or_default();
        let _ = writeln!(
            o,
            "  media         current {}, active {}; change {p}",
            m.current, m.active
        );
        let _ = writeln!(o, "  valid media   {}", m.valid.join(" | "));
    }
}

/// Link speed and duplex, the kernel media beside them on a Mac, and Linux's link modes.
fn link_lines(o: &mut String, v: &InterfaceView) {
    let Some(l) = &v.link else { return };
    let detected = match l.detected {
        Some(true) => ", link detected",
        Some(false) => ", NO LINK",
        None => "",
    };
    let change = if v.media.is_some() {
        "set through media".to_string()
    } else {
        format!("change {}", reboot(&v.link_persistence))
    };
    let _ = writeln!(o, "  link          {}{detected}; {change}", l.describe());
    if let Some(k) = &v.kernel_link {
        let _ = writeln!(
            o,
            "  kernel media  {} (SIOCGIFXMEDIA, as client and mtu read it)",
            k.describe()
        );
    }
    if v.media.is_none() {
        let modes = |m: &[String]| {
            if m.is_empty() {
                "not reported".to_string()
            } else {
                m.join(" ")
            }
        };
        let _ = writeln!(o, "  link modes    supported: {}", modes(&l.supported));
        let _ = writeln!(o, "                advertised: {}", modes(&l.advertised));
    }
}

/// Linux: offloads and ring sizes.
fn linux_lines(o: &mut String, v: &InterfaceView) {
    if let Some(f) = &v.offloads {
        let on: Vec<&str> = f.iter().filter(|(_, x)| x.on).map(|(k, _)| k.as_str()).collect();
        let off: Vec<&str> = f
            .iter()
            .filter(|(_, x)| !x.on && !x.fixed)
            .map(|(k, _)| k.as_str())
            .collect();
        let _ = writeln!(
            o,
            "  offloads on   {}",
            if on.is_empty() { "none".into() } else { on.join(", ") }
        );
        if !off.is_empty() {
            let _ = writeln!(o, "  offloads off  {}", off.join(", "));
        }
    }
    if let Some(r) = &v.rings {
        let n = |v: Option<u32>| v.map_or("n/a".to_string(), |x| x.to_string());
        let _ = writeln!(
            o,
            "  rings         rx {} of max {}, tx {} of max {} (ethtool -G raises them; lasts until reboot)",
            n(r.rx),
            n(r.rx_max),
            n(r.tx),
            n(r.tx_max)
        );
    }
}

/// The `show` report.
pub fn show(r: &ShowReport) -> String {
    let mut o = String::new();
    let word = match r.backend {
        super::BackendKind::Macos => "Hardware ports",
        super::BackendKind::Linux => "Interfaces",
    };
    let _ = writeln!(o, "{word} ({} backend):", r.backend);
    let width = r.ports.iter().map(|p| p.name.len()).max().unwrap_or(0);
    for p in &r.ports {
        let dev = if p.name == p.device {
            String::new()
        } else {
            p.device.clone()
        };
        let mac = p.mac.clone().unwrap_or_default();
        let _ = writeln!(o, "  {:<width$}  {dev:<8}  {mac}", p.name);
    }
    for v in &r.interfaces {
        interface(&mut o, v);
    }
    let _ = writeln!(o, "\nSysctls (one set per machine):");
    for s in &r.sysctls {
        let value = match (&s.value, &s.error) {
            (Some(v), _) => v.clone(),
            (None, Some(e)) => format!("unreadable: {e}"),
            _ => "unknown".into(),
        };
        let _ = writeln!(o, "  {:<28} {value:<24} change {}", s.name, reboot(&s.persistence));
    }
    if let Some(s) = &r.snapshot {
        let mut held: Vec<String> = s.interfaces.clone();
        if !s.sysctls.is_empty() {
            held.push(format!("{} sysctls", s.sysctls.len()));
        }
        let _ = writeln!(
            o,
            "\nsaf-net snapshot in {}: {} (`saf-net tune revert` returns to it)",
            s.state_file,
            if held.is_empty() {
                "empty".into()
            } else {
                held.join(", ")
            }
        );
        if let Some(p) = &s.persist_file {
            let _ = writeln!(o, "  --persist wrote to {p}");
        }
        if let Some(t) = &s.trial_until {
            let _ = writeln!(
                o,
                "  a trial is pending: it reverts at {t} unless `saf-net tune confirm` runs"
            );
        }
    }
    o
}
