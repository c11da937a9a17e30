//! `--try SECS`: an apply that reverts by itself unless `saf-net tune confirm` runs within SECS.
//!
//! After the apply, a watcher (`saf-net tune watch`, hidden) starts in its own process group with
//! SIGHUP ignored and its output in the state folder, so it outlives the SSH session that a bad
//! setting may cut. It waits for the deadline; if the trial is still pending then, it restores the
//! snapshot. `confirm` ends the trial by removing it from the state, and the watcher exits.
//!
//! The trial is on by default (60 s) when the interface carries the current SSH session: the local
//! address in `SSH_CONNECTION` ("client port server port") is one of the interface's addresses.

use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::TuneError;
use super::apply::{self, Restored};
use super::backend::{Backend, BackendKind};
use super::settings::Port;
use super::state::{self, Trial, TuneState, WATCH_LOG};
use crate::runner::{Cmd, Runner};

/// The trial length when the interface carries this SSH session and no `--try` was given.
pub const DEFAULT_TRY_SECS: u64 = 60;

/// The server-side (local) address of an SSH session from `SSH_CONNECTION`.
pub fn parse_ssh_connection(v: &str) -> Option<IpAddr> {
    let local = v.split_whitespace().nth(2)?;
    local.split('%').next()?.parse().ok()
}

/// Whether the interface carries the SSH session this command runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ssh {
    /// Not run over SSH.
    None,
    /// The session's local address is on the interface.
    Carried(IpAddr),
    /// The session runs over another interface.
    Elsewhere(IpAddr),
    /// The interface's addresses could not be read (warned about; no default trial).
    Unknown(IpAddr, String),
}

/// Compares `SSH_CONNECTION` (given) with the interface's addresses.
pub fn ssh_check(r: &mut Runner, backend: &dyn Backend, port: &Port, ssh_connection: Option<&str>) -> Ssh {
    let Some(local) = ssh_connection.and_then(parse_ssh_connection) else {
        return Ssh::None;
    };
    match backend.addresses(r, port) {
        Ok(addrs) if addrs.contains(&local) => Ssh::Carried(local),
        Ok(_) => Ssh::Elsewhere(local),
        Err(e) => Ssh::Unknown(local, e.to_string()),
    }
}

/// The trial length: `--try` when given, else the default when the session runs over the interface
/// and the plan changes the interface, else none. When the interface's addresses cannot be read the
/// caller warns instead (on a real Mac or Linux host they always can).
pub fn trial_secs(explicit: Option<u64>, ssh: &Ssh, changes_interface: bool) -> u64 {
    match (explicit, ssh) {
        (Some(s), _) => s,
        (None, Ssh::Carried(_)) if changes_interface => DEFAULT_TRY_SECS,
        _ => 0,
    }
}

fn unix_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Puts a trial of `secs` seconds into the state.
pub fn arm(st: &mut TuneState, profile: &str, interface: &str, secs: u64) -> Trial {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    let token: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let deadline = unix_now_ms() + secs * 1000;
    let trial = Trial {
        token,
        profile: profile.to_string(),
        interface: interface.to_string(),
        deadline_unix_ms: deadline,
        deadline_utc: humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(deadline)).to_string(),
        watcher_pid: None,
    };
    st.trial = Some(trial.clone());
    trial
}

/// The watcher's command line.
pub fn watcher_command(exe: &Path, dir: &Path, backend: BackendKind, token: &str) -> Cmd {
    Cmd::new(exe.display().to_string())
        .args(["tune", "watch", "--state-dir"])
        .arg(dir.display().to_string())
        .args(["--backend", backend.as_str(), "--token", token])
}

/// Starts the watcher, its output appended to the state folder's watch log; its pid.
pub fn spawn_watcher(
    r: &mut Runner,
    exe: &Path,
    dir: &Path,
    backend: BackendKind,
    token: &str,
) -> Result<u32, TuneError> {
    Ok(r.spawn_daemon(&watcher_command(exe, dir, backend, token), &dir.join(WATCH_LOG))?)
}

/// How a watch ended.
#[derive(Debug)]
pub enum WatchEnd {
    /// The trial was confirmed, reverted by hand, or replaced.
    Ended,
    /// The deadline passed and the snapshot was restored.
    Reverted { trial: Trial, restored: Box<Restored> },
}

/// Waits for trial `token` to end or expire, checking every `poll`; on expiry restores the trial's
/// interface and the sysctls from the snapshot.
pub fn watch(
    r: &mut Runner,
    backend: &dyn Backend,
    dir: &Path,
    token: &str,
    poll: Duration,
) -> Result<WatchEnd, TuneError> {
    loop {
        let pending = state::load(dir)?.and_then(|s| s.trial).filter(|t| t.token == token);
        let Some(trial) = pending else {
            return Ok(WatchEnd::Ended);
        };
        if unix_now_ms() >= trial.deadline_unix_ms {
            let _lock = state::lock(dir)?;
            let Some(mut st) = state::load(dir)? else {
                return Ok(WatchEnd::Ended);
            };
            if st.trial.as_ref().is_none_or(|t| t.token != token) {
                return Ok(WatchEnd::Ended);
            }
            let restored = apply::restore(r, backend, &mut st, Some(&trial.interface), true);
            st.trial = None;
            if restored.ok() {
                st.applied.clear();
            }
            state::save(dir, &st)?;
            return Ok(WatchEnd::Reverted {
                trial,
                restored: Box::new(restored),
            });
        }
        std::thread::sleep(poll);
    }
}

/// Ends the pending trial, keeping its settings; the trial that was pending.
pub fn confirm(st: &mut TuneState, dir: &Path) -> Result<Trial, TuneError> {
    match st.trial.take() {
        Some(t) => Ok(t),
        None => {
            let log = dir.join(WATCH_LOG);
            let hint = if log.exists() {
                format!(" (what earlier trials did is in {})", log.display())
            } else {
                String::new()
            };
            Err(TuneError::NoTrial(hint))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::linux::Linux;

    #[test]
    fn ssh_connection_names_the_local_address() {
        assert_eq!(
            parse_ssh_connection("192.168.1.50 52311 192.168.1.172 22"),
            Some("192.168.1.172".parse().unwrap())
        );
        assert_eq!(
            parse_ssh_connection("fe80::1 52311 fe80::2%en0 22"),
            Some("fe80::2".parse().unwrap())
        );
        assert_eq!(parse_ssh_connection("garbage"), None);
    }

    #[test]
    fn the_session_interface_gets_a_default_trial() {
        let port = Port {
            name: "eth0".into(),
            device: "eth0".into(),
            mac: None,
        };
        let addrs =
            r#"[{"ifname":"eth0","mtu":1500,"addr_info":[{"family":"inet","local":"192.168.1.172","prefixlen":24}]}]"#;
        let mut r = Runner::record().ok("ip -j addr show dev eth0", addrs);
        let on = ssh_check(&mut r, &Linux, &port, Some("192.168.1.50 52311 192.168.1.172 22"));
        assert_eq!(on, Ssh::Carried("192.168.1.172".parse().unwrap()));
        assert_eq!(trial_secs(None, &on, true), 60);
        assert_eq!(trial_secs(None, &on, false), 0, "sysctls alone cannot cut the session");
        assert_eq!(trial_secs(Some(0), &on, true), 0, "--try 0 turns it off");
        let off = ssh_check(&mut r, &Linux, &port, Some("10.0.0.9 52311 10.0.0.1 22"));
        assert!(matches!(off, Ssh::Elsewhere(_)));
        assert_eq!(trial_secs(None, &off, true), 0);
        assert_eq!(ssh_check(&mut r, &Linux, &port, None), Ssh::None);
        assert_eq!(trial_secs(Some(5), &Ssh::None, true), 5);
        let unknown = Ssh::Unknown("10.0.0.1".parse().unwrap(), "no ifconfig".into());
        assert_eq!(trial_secs(None, &unknown, true), 0, "warned about, not assumed");
    }

    #[test]
    fn confirm_ends_a_trial_and_the_watcher_sees_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut st = TuneState::new("linux");
        let t = arm(&mut st, "10gbe-jumbo", "eth0", 60);
        state::save(dir.path(), &st).unwrap();
        let c = watcher_command(Path::new("/usr/bin/saf-net"), dir.path(), BackendKind::Linux, &t.token);
        assert!(c.to_string().contains(&format!(
            "tune watch --state-dir {} --backend linux --token",
            dir.path().display()
        )));
        assert_eq!(confirm(&mut st, dir.path()).unwrap().token, t.token);
        state::save(dir.path(), &st).unwrap();
        let mut r = Runner::record();
        let end = watch(&mut r, &Linux, dir.path(), &t.token, Duration::from_millis(10)).unwrap();
        assert!(matches!(end, WatchEnd::Ended));
        assert!(r.log().is_empty());
        let e = confirm(&mut st, dir.path()).unwrap_err().to_string();
        assert_eq!(e, "no trial is pending, so there is nothing to confirm");
    }
}
