//! The plan: current → target for each setting, with the exact command that makes the change.
//! Settings already at their target get no command, so applying the same profile twice changes
//! nothing the second time.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use super::TuneError;
use super::backend::{Backend, BackendKind, Persistence, sysctl_persistence};
use super::macos::media_speed;
use super::settings::{Desired, LinkTarget, MemberTarget, Port, Reading};
use super::sysctl;
use crate::runner::Cmd;

/// What a change is made to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Interface,
    Sysctl,
}

fn as_text<S: Serializer>(c: &Cmd, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&c.to_string())
}

/// One setting to change, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub scope: Scope,
    /// "mtu", "media", "link", or the sysctl's name.
    pub setting: String,
    pub from: String,
    pub to: String,
    #[serde(serialize_with = "as_text")]
    pub command: Cmd,
    pub persistence: Persistence,
}

/// Everything one apply, rollback or revert does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub backend: BackendKind,
    /// None when only sysctls are planned.
    pub port: Option<Port>,
    pub changes: Vec<Change>,
    /// Settings already at their target: (setting, value).
    pub unchanged: Vec<(String, String)>,
    /// Targets left alone, and why.
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// How to build a plan.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Where `--persist` writes the sysctls, when it was given.
    pub persist_to: Option<String>,
    /// The file `--persist` would write [default: the backend's].
    pub sysctl_conf: Option<String>,
    /// What the boot-time sysctl file already sets: name → value.
    pub at_boot: BTreeMap<String, String>,
    /// The profile's line rate, to warn when the link runs below it.
    pub expected_mbps: Option<u32>,
    /// Applying a profile (warnings and checks) rather than restoring a snapshot.
    pub applying: bool,
}

/// Checks one port's MTU target against its valid range; `why` ends the message.
fn check_mtu(backend: &dyn Backend, reading: &Reading, mtu: u32, why: &str) -> Result<(), TuneError> {
    let port = &reading.port;
    if let (Some(min), Some(max)) = (reading.mtu.min, reading.mtu.max)
        && !(min..=max).contains(&mtu)
    {
        let source_cmd = match backend.kind() {
            BackendKind::Macos => Cmd::new("networksetup").args(["-listValidMTURange", &port.name]),
            BackendKind::Linux => Cmd::new("ip").args(["-d", "link", "show", "dev", &port.device]),
        };
        return Err(TuneError::MtuOutOfRange {
            port: port.to_string(),
            mtu,
            min,
            max,
            source_cmd: source_cmd.to_string(),
            why: why.to_string(),
        });
    }
    Ok(())
}

/// Checks the targets against what the interface accepts: the MTU range (a bridge's members' too:
/// its MTU cannot exceed theirs) and the valid media.
pub fn validate(backend: &dyn Backend, reading: &Reading, desired: &Desired) -> Result<(), TuneError> {
    let port = &reading.port;
    for m in &reading.members {
        if let Some(mtu) = member_target(desired, &m.port.name).mtu {
            let why = format!("; it is a member of {port}, whose MTU cannot exceed its members'");
            check_mtu(backend, m, mtu, &why)?;
        }
    }
    if let Some(mtu) = desired.mtu {
        check_mtu(backend, reading, mtu, "")?;
    }
    if let (Some(media), Some(info)) = (&desired.media, &reading.media)
        && !info.valid.iter().any(|v| v == media)
    {
        return Err(TuneError::MediaNotValid {
            port: port.to_string(),
            media: media.clone(),
            valid: info.valid.clone(),
        });
    }
    Ok(())
}

/// What is wanted of bridge member `name`: its own target when restoring, else the bridge's MTU.
fn member_target(desired: &Desired, name: &str) -> MemberTarget {
    desired.members.get(name).cloned().unwrap_or(MemberTarget {
        mtu: desired.mtu,
        automatic: false,
    })
}

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

fn interface_changes(backend: &dyn Backend, reading: &Reading, desired: &Desired, opts: &Options, plan: &mut Plan) {
    media_changes(backend, reading, desired, plan);
    link_changes(backend, reading, desired, opts, plan);
    mtu_changes(backend, reading, desired, opts, plan);
    if opts.applying {
        apply_warnings(reading, desired, opts, plan);
    }
}

fn sysctl_changes(now: &BTreeMap<String, String>, desired: &Desired, opts: &Options, conf: &str, plan: &mut Plan) {
    let mut raise_caps = Vec::new();
    let mut others = Vec::new();
    let mut lower_caps = Vec::new();
    for (name, want) in &desired.sysctls {
        let have = now.get(name).map(String::as_str).unwrap_or("");
        if have == want {
            plan.unchanged.push((name.clone(), want.clone()));
            continue;
        }
        let persistence = match &opts.persist_to {
            Some(file) => Persistence {
                survives_reboot: true,
                note: format!("--persist writes it to {file}"),
            },
            None => sysctl_persistence(conf, opts.at_boot.get(name).map(String::as_str), Some(want)),
        };
        let change = Change {
            scope: Scope::Sysctl,
            setting: name.clone(),
            from: have.to_string(),
            to: want.clone(),
            command: sysctl::write_command(name, want),
            persistence,
        };
        let lowering = match (have.parse::<u64>(), want.parse::<u64>()) {
            (Ok(h), Ok(w)) => w < h,
            _ => false,
        };
        match (sysctl::is_cap(name), lowering) {
            (true, false) => raise_caps.push(change),
            (true, true) => lower_caps.push(change),
            _ => others.push(change),
        }
    }
    plan.changes.extend(raise_caps);
    plan.changes.extend(others);
    plan.changes.extend(lower_caps);
}

/// The plan from `reading` (None: sysctls only) and the sysctl values `now` to `desired`.
pub fn build(
    backend: &dyn Backend,
    reading: Option<&Reading>,
    now: &BTreeMap<String, String>,
    desired: &Desired,
    opts: &Options,
) -> Plan {
    let mut plan = Plan {
        backend: backend.kind(),
        port: reading.map(|r| r.port.clone()),
        changes: Vec::new(),
        unchanged: Vec::new(),
        notes: Vec::new(),
        warnings: Vec::new(),
    };
    if let Some(reading) = reading {
        interface_changes(backend, reading, desired, opts, &mut plan);
    }
    let conf = opts.sysctl_conf.as_deref().unwrap_or(backend.default_sysctl_conf());
    sysctl_changes(now, desired, opts, conf, &mut plan);
    plan
}

/// What still differs about one port's MTU: the setting, or a setting not in effect.
fn mtu_mismatch(r: &Reading, want: u32, out: &mut Vec<String>) {
    let (m, port) = (&r.mtu, &r.port);
    if m.configured != want {
        out.push(format!("mtu of {port} is {}, wanted {want}", m.configured));
    } else if m.active != want {
        out.push(format!(
            "mtu of {port} is set to {want} but {} is in effect (networksetup saved the setting; the \
interface takes it only when its link is re-established, e.g. the cable replugged, which saf-net cannot check)",
            m.active
        ));
    }
}

/// What still differs from `desired` after a change: one line per setting.
pub fn mismatches(reading: Option<&Reading>, now: &BTreeMap<String, String>, desired: &Desired) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(r) = reading {
        for m in &r.members {
            if let Some(want) = member_target(desired, &m.port.name).mtu {
                mtu_mismatch(m, want, &mut out);
            }
        }
        if let Some(want) = desired.mtu {
            mtu_mismatch(r, want, &mut out);
        }
        if let (Some(want), Some(m)) = (&desired.media, &r.media)
            && &m.current != want
        {
            out.push(format!("media is {}, wanted {want}", m.current));
        }
        if let (Some(want), Some(l)) = (&desired.link, &r.link)
            && l.settable()
        {
            let mut want = want.clone();
            if !l.supports_autoneg {
                want.autoneg = None;
            }
            if !l.satisfies(&want) {
                out.push(format!("link is {}, wanted {}", l.describe(), want.describe()));
            }
        }
    }
    for (name, want) in &desired.sysctls {
        match now.get(name) {
            Some(have) if have == want => {}
            Some(have) => out.push(format!("{name} is {have}, wanted {want}")),
            None => out.push(format!("{name} could not be read back")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::linux::{Linux, parse_ethtool};
    use crate::tune::macos::Macos;
    use crate::tune::settings::{MediaInfo, MtuInfo};

    fn mac_reading(mtu: u32, media: &str) -> Reading {
        Reading {
            port: Port {
                name: "Thunderbolt Ethernet Slot 1".into(),
                device: "en5".into(),
                mac: None,
            },
            mtu: MtuInfo {
                active: mtu,
                configured: mtu,
                min: Some(1280),
                max: Some(9000),
            },
            media: Some(MediaInfo {
                current: media.into(),
                active: "10Gbase-T <full-duplex>".into(),
                valid: vec!["autoselect".into(), "10Gbase-T <full-duplex>".into()],
            }),
            link: None,
            link_error: None,
            media_error: None,
            members: Vec::new(),
        }
    }

    fn sysctls(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_plan_has_exact_commands_and_caps_go_first_when_raised() {
        let desired = Desired {
            mtu: Some(9000),
            media: Some("autoselect".into()),
            link: None,
            sysctls: sysctls(&[
                ("kern.ipc.maxsockbuf", "16777216"),
                ("net.inet.tcp.sendspace", "1048576"),
            ]),
            ..Default::default()
        };
        let now = sysctls(&[("kern.ipc.maxsockbuf", "8388608"), ("net.inet.tcp.sendspace", "131072")]);
        let p = build(
            &Macos,
            Some(&mac_reading(1500, "autoselect")),
            &now,
            &desired,
            &Options::default(),
        );
        let cmds: Vec<String> = p.changes.iter().map(|c| c.command.to_string()).collect();
        assert_eq!(
            cmds,
            [
                "networksetup -setMTU 'Thunderbolt Ethernet Slot 1' 9000",
                "sysctl -w kern.ipc.maxsockbuf=16777216",
                "sysctl -w net.inet.tcp.sendspace=1048576",
            ]
        );
        assert!(p.changes[0].persistence.survives_reboot);
        assert!(!p.changes[1].persistence.survives_reboot);
        assert_eq!(p.unchanged, [("media".to_string(), "autoselect".to_string())]);
        // Restoring lowers the cap last.
        let back = Desired {
            sysctls: now.clone(),
            ..Default::default()
        };
        let p = build(&Macos, None, &desired.sysctls, &back, &Options::default());
        assert_eq!(p.changes[0].setting, "net.inet.tcp.sendspace");
        assert_eq!(p.changes[1].setting, "kern.ipc.maxsockbuf");
    }

    #[test]
    fn nothing_to_do_means_no_command() {
        let desired = Desired {
            mtu: Some(9000),
            media: Some("autoselect".into()),
            link: None,
            sysctls: sysctls(&[("kern.ipc.maxsockbuf", "16777216")]),
            ..Default::default()
        };
        let p = build(
            &Macos,
            Some(&mac_reading(9000, "autoselect")),
            &desired.sysctls,
            &desired,
            &Options::default(),
        );
        assert!(p.is_empty());
        assert_eq!(p.unchanged.len(), 3);
        assert!(mismatches(Some(&mac_reading(9000, "autoselect")), &desired.sysctls, &desired).is_empty());
        let off = mismatches(Some(&mac_reading(1500, "autoselect")), &desired.sysctls, &desired);
        assert_eq!(
            off,
            ["mtu of \"Thunderbolt Ethernet Slot 1\" (en5) is 1500, wanted 9000"]
        );
    }

    #[test]
    fn bad_targets_are_refused_with_the_valid_values() {
        let r = mac_reading(1500, "autoselect");
        let d = Desired {
            mtu: Some(9216),
            ..Default::default()
        };
        assert_eq!(
            validate(&Macos, &r, &d).unwrap_err().to_string(),
            "MTU 9216 is outside the valid range 1280-9000 of \"Thunderbolt Ethernet Slot 1\" (en5) \
(from `networksetup -listValidMTURange 'Thunderbolt Ethernet Slot 1'`)"
        );
        let d = Desired {
            media: Some("10GbaseT <full-duplex>".into()),
            ..Default::default()
        };
        assert_eq!(
            validate(&Macos, &r, &d).unwrap_err().to_string(),
            "media '10GbaseT <full-duplex>' is not valid for \"Thunderbolt Ethernet Slot 1\" (en5); \
valid media: autoselect | 10Gbase-T <full-duplex>"
        );
    }

    #[test]
    fn forced_ten_gig_warns() {
        let d = Desired {
            media: Some("10Gbase-T <full-duplex>".into()),
            ..Default::default()
        };
        let opts = Options {
            applying: true,
            ..Default::default()
        };
        let p = build(
            &Macos,
            Some(&mac_reading(1500, "autoselect")),
            &BTreeMap::new(),
            &d,
            &opts,
        );
        assert_eq!(
            p.changes[0].command.args,
            ["-setMedia", "Thunderbolt Ethernet Slot 1", "10Gbase-T", "full-duplex"]
        );
        assert!(p.warnings[0].contains("turns autonegotiation off"), "{:?}", p.warnings);
    }

    #[test]
    fn a_veth_keeps_its_link_and_says_why() {
        let veth = "Settings for va:\n\tSupported link modes:   Not reported\n\tSupports auto-negotiation: No\n\
\tAdvertised link modes:  Not reported\n\tSpeed: 10000Mb/s\n\tDuplex: Full\n\tAuto-negotiation: off\n";
        let r = Reading {
            port: Port {
                name: "va".into(),
                device: "va".into(),
                mac: None,
            },
            mtu: MtuInfo {
                active: 1500,
                configured: 1500,
                min: Some(68),
                max: Some(65535),
            },
            media: None,
            link: Some(parse_ethtool(veth)),
            link_error: None,
            media_error: None,
            members: Vec::new(),
        };
        let mut d = Desired {
            mtu: Some(9000),
            link: Some(LinkTarget {
                autoneg: Some(true),
                speed_mbps: Some(10_000),
                duplex: Some("full".into()),
                advertise: None,
            }),
            ..Default::default()
        };
        let p = build(&Linux, Some(&r), &BTreeMap::new(), &d, &Options::default());
        assert_eq!(p.changes.len(), 1, "only the MTU");
        assert_eq!(p.changes[0].command.to_string(), "ip link set dev va mtu 9000");
        assert_eq!(p.unchanged[0].0, "link", "10000 full is what the veth runs at");
        d.link.as_mut().unwrap().speed_mbps = Some(1000);
        let p = build(&Linux, Some(&r), &BTreeMap::new(), &d, &Options::default());
        assert!(
            p.notes.iter().any(|n| n.contains("no link modes to set")),
            "{:?}",
            p.notes
        );
        assert_eq!(p.changes.len(), 1);
    }
}
