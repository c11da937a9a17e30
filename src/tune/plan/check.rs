//! The targets checked against what an interface accepts before a plan is made, and what still
//! differs from them after a change.

use std::collections::BTreeMap;

use super::member_target;
use crate::runner::Cmd;
use crate::tune::TuneError;
use crate::tune::backend::{Backend, BackendKind};
use crate::tune::settings::{Desired, Reading};

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
