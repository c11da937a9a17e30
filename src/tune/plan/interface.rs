//! A plan's interface changes: media, link settings, the MTU (a bridge's members first), and the
//! warnings of an apply about them.

use super::{Change, Options, Plan, Scope, member_target};
use crate::tune::backend::Backend;
use crate::tune::macos::media_speed;
use crate::tune::settings::{Desired, LinkTarget, Reading};

/// The media change, or a note when the media cannot be read (a bridge has none).
fn media_changes(backend: &dyn Backend, reading: &Reading, desired: &Desired, plan: &mut Plan) {
    let port = &reading.port;
    let Some(want) = &desired.media else { return };
    match &reading.media {
        Some(info) if &info.current == want => plan.unchanged.push(("media".into(), want.clone())),
        // Restoring to automatic sets the media too (see `mtu_change`).
        Some(_) if desired.automatic && backend.automatic_command(port).is_some() => {}
        Some(info) => {
            if let Some(cmd) = backend.media_command(port, want) {
                plan.changes.push(Change {
                    scope: Scope::Interface,
                    setting: "media".into(),
                    from: info.current.clone(),
                    to: want.clone(),
                    command: cmd,
                    persistence: backend.interface_persistence("media"),
                });
            }
        }
        None if port.is_bridge() => plan.notes.push(format!(
            "media: {port} is a bridge and has no media of its own (networksetup cannot read it); \
media '{want}' is not set on it"
        )),
        None => plan.notes.push(format!(
            "media: cannot read the media of {port}{}; it stays as it is instead of '{want}'",
            reading
                .media_error
                .as_ref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        )),
    }
}

fn link_changes(backend: &dyn Backend, reading: &Reading, desired: &Desired, opts: &Options, plan: &mut Plan) {
    let port = &reading.port;
    if let (Some(want), Some(link)) = (&desired.link, &reading.link) {
        let mut want: LinkTarget = want.clone();
        if !link.supports_autoneg && want.autoneg.is_some() {
            plan.notes.push(format!(
                "autonegotiation: {} does not support it; left {}",
                port,
                if link.autoneg { "on" } else { "off" }
            ));
            want.autoneg = None;
        }
        if link.satisfies(&want) {
            plan.unchanged.push(("link".into(), link.describe()));
        } else if !link.settable() {
            plan.notes.push(format!(
                "link: {port} reports no link modes to set (a virtual device?); it stays at {} instead of {}",
                link.describe(),
                want.describe()
            ));
        } else if let Some(cmd) = backend.link_command(port, &want, reading) {
            plan.changes.push(Change {
                scope: Scope::Interface,
                setting: "link".into(),
                from: link.describe(),
                to: want.describe(),
                command: cmd,
                persistence: backend.interface_persistence("link"),
            });
        }
        if opts.applying && want.autoneg == Some(false) && want.speed_mbps.is_some_and(|s| s >= 10_000) {
            plan.warnings.push(format!(
                "forcing {} Mbit/s with autonegotiation off can drop the link: 10GBASE-T needs autonegotiation \
and many switches will not bring a forced port up; keep a way back (--try)",
                want.speed_mbps.unwrap_or_default()
            ));
        }
    }
    if let (Some(want), None) = (&desired.link, &reading.link) {
        plan.notes.push(format!(
            "link: cannot read the link settings of {port}{}; it stays as it is instead of {}",
            reading
                .link_error
                .as_ref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default(),
            want.describe()
        ));
    }
}

/// How a port's MTU (and media) stand, for a plan line: "1500", or "1500 in effect, 9000 set".
fn mtu_now(reading: &Reading) -> String {
    let m = &reading.mtu;
    let mtu = if reading.mtu_in_effect() {
        m.configured.to_string()
    } else {
        format!("{} in effect, {} set", m.active, m.configured)
    };
    match &reading.media {
        Some(media) => format!("MTU {mtu}, media {}", media.current),
        None => format!("MTU {mtu}"),
    }
}

/// The change that puts one port's MTU at `want` (None when it is there and in effect): back to
/// automatic when restoring a port that was on it, else pinned.
fn mtu_change(backend: &dyn Backend, reading: &Reading, want: u32, automatic: bool) -> Option<Change> {
    let port = &reading.port;
    let media_auto = reading.media.as_ref().is_none_or(|m| m.current == "autoselect");
    let there = reading.mtu.configured == want && reading.mtu_in_effect();
    if automatic && let Some(command) = backend.automatic_command(port) {
        return (!there || !media_auto).then(|| Change {
            scope: Scope::Interface,
            setting: "mtu, media".into(),
            from: mtu_now(reading),
            to: format!("automatic (it read MTU {want} before)"),
            command,
            persistence: backend.interface_persistence("mtu"),
        });
    }
    (!there).then(|| Change {
        scope: Scope::Interface,
        setting: "mtu".into(),
        from: if reading.mtu_in_effect() {
            reading.mtu.configured.to_string()
        } else {
            format!("{} ({} set, not in effect)", reading.mtu.active, reading.mtu.configured)
        },
        to: want.to_string(),
        command: backend.mtu_command(port, want),
        persistence: backend.interface_persistence("mtu"),
    })
}

/// The MTU changes: a bridge's members first, then the bridge. A bridge's MTU can only be set to the
/// MTU every member already has (xnu bsd/net/if_bridge.c, SIOCSIFMTU, returns EINVAL otherwise), so
/// the members go first both when raising and when lowering it, in apply, rollback and revert alike.
fn mtu_changes(backend: &dyn Backend, reading: &Reading, desired: &Desired, opts: &Options, plan: &mut Plan) {
    for m in &reading.members {
        let target = member_target(desired, &m.port.name);
        if let Some(want) = target.mtu {
            match mtu_change(backend, m, want, target.automatic) {
                Some(mut c) => {
                    c.setting = format!("{} of member {}", c.setting, m.port.name);
                    plan.changes.push(c);
                }
                None => plan
                    .unchanged
                    .push((format!("mtu of member {}", m.port.name), want.to_string())),
            }
        }
    }
    let Some(want) = desired.mtu else { return };
    match mtu_change(backend, reading, want, desired.automatic) {
        Some(c) => plan.changes.push(c),
        None => plan.unchanged.push(("mtu".into(), want.to_string())),
    }
    if opts.applying && want > 1500 && plan.changes.iter().any(|c| c.setting.contains("mtu")) {
        plan.warnings.push(format!(
            "MTU {want}: every host and switch port on the path must allow it, or large frames vanish \
(the jumbo black hole); `saf-net mtu HOST` checks the path afterwards"
        ));
    }
}

/// Warnings of an apply: a forced 10 Gbit/s media, a link below the profile's rate.
fn apply_warnings(reading: &Reading, desired: &Desired, opts: &Options, plan: &mut Plan) {
    let port = &reading.port;
    if let Some(media) = &desired.media
        && media != "autoselect"
        && media_speed(media).is_some_and(|s| s >= 10_000)
    {
        plan.warnings.push(format!(
            "forcing media '{media}' turns autonegotiation off and can drop the link: 10GBASE-T needs \
autonegotiation and many switches will not bring a forced port up; keep a way back (--try)"
        ));
    }
    let speed = match (&reading.link, &reading.media) {
        (Some(l), _) => l.speed_mbps,
        (None, Some(m)) => media_speed(&m.active),
        _ => None,
    };
    if let (Some(have), Some(want)) = (speed, opts.expected_mbps)
        && have < want
    {
        plan.warnings.push(format!(
            "{port} runs at {have} Mbit/s, below the profile's {want} Mbit/s: check the cable (Cat6a for 10GBASE-T), \
the adapter and the switch port"
        ));
    }
}

/// The interface's changes (media, link, MTU), and an apply's warnings about them.
pub(super) fn changes(backend: &dyn Backend, reading: &Reading, desired: &Desired, opts: &Options, plan: &mut Plan) {
    media_changes(backend, reading, desired, plan);
    link_changes(backend, reading, desired, opts, plan);
    mtu_changes(backend, reading, desired, opts, plan);
    if opts.applying {
        apply_warnings(reading, desired, opts, plan);
    }
}
