//! Apply a plan, verify it by reading back, and roll back to the snapshot when anything fails;
//! restore the snapshot on `revert` (and when a `--try` runs out).
//!
//! The caller holds the state lock ([`super::state::lock`]) around [`execute`], [`restore`] and
//! [`revert`]; they read and write the snapshot through the [`TuneState`] they are given.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::backend::Backend;
use super::plan::{self, Plan, Scope};
use super::settings::{Desired, Port, Reading};
use super::state::{self, Applied, TuneState};
use super::{TuneError, persist, sysctl};
use crate::profile::Profile;
use crate::runner::Runner;

/// How long a link may take to come back after a media or speed change before verification gives up.
pub const LINK_SETTLE: Duration = Duration::from_secs(6);

/// Finds the interface the user named: a hardware port or device name, exactly, else the one that
/// matches ignoring case.
pub fn find_port(r: &mut Runner, backend: &dyn Backend, name: &str) -> Result<Port, TuneError> {
    let ports = backend.ports(r)?;
    let exact = ports.iter().find(|p| p.name == name || p.device == name);
    let folded: Vec<&Port> = ports
        .iter()
        .filter(|p| p.name.eq_ignore_ascii_case(name) || p.device.eq_ignore_ascii_case(name))
        .collect();
    match (exact, folded.as_slice()) {
        (Some(p), _) | (None, &[p]) => Ok(p.clone()),
        _ => Err(TuneError::UnknownInterface {
            name: name.to_string(),
            what: backend.ports_word(),
            known: ports
                .iter()
                .map(|p| {
                    if p.name == p.device {
                        p.name.clone()
                    } else {
                        format!("\"{}\" ({})", p.name, p.device)
                    }
                })
                .collect(),
        }),
    }
}

/// A checked plan and what it was made from.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub profile: String,
    pub reading: Reading,
    pub sysctls_now: BTreeMap<String, String>,
    pub desired: Desired,
    pub plan: Plan,
}

/// Reads the interface and sysctls, checks the profile's targets against what the interface accepts,
/// and plans. Runs read-only commands only.
pub fn prepare(
    r: &mut Runner,
    backend: &dyn Backend,
    profile: &Profile,
    interface: &str,
    mut opts: plan::Options,
) -> Result<Prepared, TuneError> {
    let mut desired = backend.desired(profile)?;
    let port = find_port(r, backend, interface)?;
    let reading = backend.read(r, &port)?;
    plan::validate(backend, &reading, &desired)?;
    // A sysctl this system does not have (or will not show) is left alone, with a note.
    let mut sysctls_now = BTreeMap::new();
    let mut unreadable = Vec::new();
    for name in desired.sysctls.keys() {
        match sysctl::read(r, name) {
            Ok(v) => {
                sysctls_now.insert(name.clone(), v);
            }
            Err(e) => unreadable.push(format!("{name}: cannot be read here ({e}); left alone")),
        }
    }
    desired.sysctls.retain(|k, _| sysctls_now.contains_key(k));
    opts.applying = true;
    opts.expected_mbps = Some(profile.link.line_rate_mbps.round() as u32);
    let mut plan = plan::build(backend, Some(&reading), &sysctls_now, &desired, &opts);
    plan.notes.extend(unreadable);
    Ok(Prepared {
        profile: profile.name.clone(),
        reading,
        sysctls_now,
        desired,
        plan,
    })
}

/// What a restore (rollback, revert, expired trial) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restored {
    /// What was restored: an interface's name, or "sysctls".
    pub what: Vec<String>,
    pub ran: Vec<String>,
    /// Commands or reads that failed.
    pub failures: Vec<String>,
    /// Settings that did not read back as in the snapshot.
    pub mismatches: Vec<String>,
    /// What the restore had to decide on the way.
    pub notes: Vec<String>,
    /// The sysctl file saf-net's block was removed from.
    pub persist_removed: Option<PathBuf>,
}

impl Restored {
    pub fn ok(&self) -> bool {
        self.failures.is_empty() && self.mismatches.is_empty()
    }
}

/// A finished apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub ran: Vec<String>,
    /// What this apply added to the snapshot ("\"Ethernet\" (en0)", sysctl names).
    pub snapshot_added: Vec<String>,
    /// The sysctl file written, and whether it changed.
    pub persisted: Option<(PathBuf, bool)>,
    pub state_file: PathBuf,
}

/// An apply that failed, and what the rollback did.
#[derive(Debug, thiserror::Error)]
#[error("{cause}")]
pub struct Failed {
    pub cause: TuneError,
    pub ran: Vec<String>,
    /// None when the failure came before anything was changed.
    pub rollback: Option<Restored>,
}

/// Whether the plan touches the interface: some drivers reset the link on any such change (an MTU
/// change included), so reading back waits up to [`LINK_SETTLE`] for it.
fn settle_needed(plan: &Plan) -> bool {
    plan.changes.iter().any(|c| c.scope == Scope::Interface)
}

/// Whether the link is up, where the reading says.
fn link_up(reading: &Reading) -> Option<bool> {
    if let Some(l) = &reading.link {
        return l.detected;
    }
    reading
        .media
        .as_ref()
        .map(|m| !matches!(m.active.as_str(), "" | "none" | "not set" | "inactive"))
}

/// Reads `port` (if any) and `desired`'s sysctls back until they match or `settle` has passed, and
/// says what still differs. With `keep_link`, a link that is down counts as a difference.
fn read_back(
    r: &mut Runner,
    backend: &dyn Backend,
    port: Option<&Port>,
    desired: &Desired,
    settle: Duration,
    keep_link: bool,
) -> Result<Vec<String>, TuneError> {
    let deadline = Instant::now() + settle;
    loop {
        let reading = port.map(|p| backend.read(r, p)).transpose()?;
        let now = sysctl::read_all(r, desired.sysctls.keys())?;
        let mut off = plan::mismatches(reading.as_ref(), &now, desired);
        if keep_link && reading.as_ref().and_then(link_up) == Some(false) {
            off.push("the link is down after the change (it was up before)".into());
        }
        if off.is_empty() || Instant::now() >= deadline {
            return Ok(off);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Applies a prepared plan: snapshot first, then each command, then verification by reading back,
/// then `--persist`. On any failure everything is rolled back to the snapshot.
pub fn execute(
    r: &mut Runner,
    backend: &dyn Backend,
    dir: &Path,
    st: &mut TuneState,
    prep: &Prepared,
    persist_to: Option<&Path>,
) -> Result<Done, Box<Failed>> {
    let early = |cause: TuneError| {
        Box::new(Failed {
            cause,
            ran: Vec::new(),
            rollback: None,
        })
    };
    let port = &prep.reading.port;
    let mut snapshot_added = Vec::new();
    snapshot_added.extend(st.record_interface(&prep.reading));
    snapshot_added.extend(st.record_sysctls(&prep.sysctls_now));
    if let Some(p) = persist_to
        && st.persist.is_none()
    {
        st.persist = Some(p.to_path_buf());
    }
    state::save(dir, st).map_err(early)?;

    let mut ran = Vec::new();
    let result = (|| {
        for change in &prep.plan.changes {
            backend.run_change(r, &change.command)?;
            ran.push(change.command.to_string());
        }
        let settle = if settle_needed(&prep.plan) {
            LINK_SETTLE
        } else {
            Duration::ZERO
        };
        let was_up = link_up(&prep.reading) == Some(true);
        let off = read_back(r, backend, Some(port), &prep.desired, settle, was_up)?;
        if !off.is_empty() {
            return Err(TuneError::Verify(off));
        }
        match persist_to {
            Some(p) => Ok(Some((p.to_path_buf(), persist::write_block(p, &prep.desired.sysctls)?))),
            None => Ok(None),
        }
    })();
    match result {
        Ok(persisted) => {
            st.applied.push(Applied {
                profile: prep.profile.clone(),
                interface: port.name.clone(),
                at_utc: state::now_utc(),
            });
            state::save(dir, st).map_err(early)?;
            Ok(Done {
                ran,
                snapshot_added,
                persisted,
                state_file: state::file(dir),
            })
        }
        Err(cause) => {
            let rollback = restore(r, backend, st, Some(&port.name), true);
            // The snapshot stays on disk for whatever the rollback could not restore.
            let _ = state::save(dir, st);
            Err(Box::new(Failed {
                cause,
                ran,
                rollback: Some(rollback),
            }))
        }
    }
}

/// One restore pass: reads `port` and the sysctls, runs what differs from `desired`, reads back.
/// None when the read-back itself failed (recorded in `done`).
fn restore_pass(
    r: &mut Runner,
    backend: &dyn Backend,
    port: Option<&Port>,
    desired: &Desired,
    done: &mut Restored,
) -> Option<Vec<String>> {
    let reading = match port.map(|p| backend.read(r, p)).transpose() {
        Ok(rd) => rd,
        Err(e) => {
            done.failures.push(e.to_string());
            None
        }
    };
    let mut now = BTreeMap::new();
    for name in desired.sysctls.keys() {
        match sysctl::read(r, name) {
            Ok(v) => {
                now.insert(name.clone(), v);
            }
            Err(e) => done.failures.push(e.to_string()),
        }
    }
    let plan = plan::build(backend, reading.as_ref(), &now, desired, &plan::Options::default());
    for change in &plan.changes {
        match backend.run_change(r, &change.command) {
            Ok(()) => done.ran.push(change.command.to_string()),
            Err(e) => done.failures.push(e.to_string()),
        }
    }
    let settle = if settle_needed(&plan) {
        LINK_SETTLE
    } else {
        Duration::ZERO
    };
    let verify_port = if reading.is_some() { port } else { None };
    match read_back(r, backend, verify_port, desired, settle, false) {
        Ok(off) => Some(off),
        Err(e) => {
            done.failures.push(e.to_string());
            None
        }
    }
}

/// `desired` with every port pinned to its recorded MTU instead of put back on automatic; None when
/// nothing was to go back to automatic.
fn pinned(desired: &Desired) -> Option<Desired> {
    let automatic = desired.automatic || desired.members.values().any(|m| m.automatic);
    automatic.then(|| {
        let mut d = desired.clone();
        d.automatic = false;
        d.members.values_mut().for_each(|m| m.automatic = false);
        d
    })
}

/// Restores `interface`'s snapshot (when given; a bridge with its members) and, with `machine`, the
/// sysctls and the `--persist` file, best effort: every step is tried even when one fails. A port that
/// was on automatic goes back to automatic; if its MTU then does not read back as recorded, it had been
/// pinned, and it is pinned again. What was restored and verified is taken out of the snapshot.
pub fn restore(
    r: &mut Runner,
    backend: &dyn Backend,
    st: &mut TuneState,
    interface: Option<&str>,
    machine: bool,
) -> Restored {
    let mut done = Restored::default();
    let snap = interface.and_then(|i| st.interfaces.get(i).cloned().map(|s| (i.to_string(), s)));
    let port = snap.as_ref().map(|(name, s)| Port {
        name: name.clone(),
        device: s.device.clone(),
        mac: None,
    });
    let mut desired = st.desired(snap.as_ref().map(|(n, _)| n.as_str()));
    if !machine {
        desired.sysctls.clear();
    }
    if let Some(p) = &port {
        done.what.push(p.to_string());
    }
    if machine && !st.sysctls.is_empty() {
        done.what.push("sysctls".into());
    }
    let mut off = restore_pass(r, backend, port.as_ref(), &desired, &mut done);
    if off.as_ref().is_some_and(|o| !o.is_empty())
        && let Some(pin) = pinned(&desired)
    {
        done.notes.push(
            "automatic did not give back the MTU recorded in the snapshot, so it had been set by hand: \
set again by hand"
                .into(),
        );
        off = restore_pass(r, backend, port.as_ref(), &pin, &mut done);
    }
    done.mismatches = off.unwrap_or_default();
    if machine && let Some(path) = st.persist.clone() {
        match persist::remove_block(&path) {
            Ok(removed) => {
                if removed {
                    done.persist_removed = Some(path);
                }
                st.persist = None;
            }
            Err(e) => done.failures.push(e.to_string()),
        }
    }
    if done.ok() {
        if let Some((name, s)) = &snap {
            st.interfaces.remove(name);
            for m in &s.members {
                st.interfaces.remove(m);
            }
        }
        if machine {
            st.sysctls.clear();
        }
        if st
            .trial
            .as_ref()
            .is_some_and(|t| Some(t.interface.as_str()) == interface)
        {
            st.trial = None;
        }
    }
    done
}

/// Restores the whole snapshot, or only `interface` (the sysctls and `--persist` file too when it is
/// the last interface in the snapshot). Any pending trial ends.
pub fn revert(
    r: &mut Runner,
    backend: &dyn Backend,
    st: &mut TuneState,
    interface: Option<&str>,
) -> Result<Vec<Restored>, TuneError> {
    let names: Vec<String> = match interface {
        Some(want) => {
            let name = st
                .interfaces
                .iter()
                .find(|(n, s)| n.as_str() == want || s.device == want)
                .map(|(n, _)| n.clone())
                .ok_or_else(|| TuneError::NotInSnapshot {
                    name: want.to_string(),
                    held: st.interfaces.keys().cloned().collect(),
                })?;
            // A bridge member goes back with its bridge: the bridge's MTU must match its members'.
            vec![st.bridge_of(&name).unwrap_or(name)]
        }
        // Members go back with their bridge.
        None => st
            .interfaces
            .keys()
            .filter(|n| st.bridge_of(n).is_none())
            .cloned()
            .collect(),
    };
    let tops = st.interfaces.keys().filter(|n| st.bridge_of(n).is_none()).count();
    let whole = interface.is_none() || tops == 1;
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let last = i + 1 == names.len();
        out.push(restore(r, backend, st, Some(name), whole && last));
    }
    if names.is_empty() {
        out.push(restore(r, backend, st, None, true));
    }
    if whole && out.iter().all(Restored::ok) {
        st.trial = None;
        st.applied.clear();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Origin, Profile};
    use crate::tune::macos::Macos;

    const PROFILE: &str = "schema_version = 1\n[link]\nline_rate_mbps = 10000\nmtu = 9000\n\
[tune.macos]\nmtu = 9000\nmedia = \"autoselect\"\n[tune.macos.sysctl]\n\"kern.ipc.maxsockbuf\" = 16777216\n";

    fn profile() -> Profile {
        Profile::parse(PROFILE, "t", Origin::Builtin).unwrap()
    }

    fn mac(mtu: u32, maxsockbuf: u32) -> Runner {
        Runner::record()
            .ok(
                "networksetup -listallhardwareports",
                "Hardware Port: Ethernet\nDevice: en0\nEthernet Address: 3c:a6:f6:12:34:56\n",
            )
            .ok(
                "networksetup -getMTU",
                &format!("Active MTU: {mtu} (Current Setting: {mtu})\n"),
            )
            .ok("networksetup -listValidMTURange", "Valid MTU Range: 1280-9000\n")
            .ok(
                "networksetup -getMedia",
                "Current: autoselect\nActive: 10Gbase-T <full-duplex>\n",
            )
            .ok("networksetup -listValidMedia", "autoselect\n10Gbase-T <full-duplex>\n")
            .ok("sysctl -n kern.ipc.maxsockbuf", &format!("{maxsockbuf}\n"))
    }

    #[test]
    fn unknown_interfaces_are_listed() {
        let mut r = mac(1500, 1500);
        let e = find_port(&mut r, &Macos, "Ethernt").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown interface 'Ethernt'; hardware ports: \"Ethernet\" (en0)"
        );
        assert_eq!(find_port(&mut r, &Macos, "en0").unwrap().name, "Ethernet");
        assert_eq!(find_port(&mut r, &Macos, "ethernet").unwrap().name, "Ethernet");
    }

    #[test]
    fn a_change_that_does_not_read_back_is_rolled_back() {
        // The recorder always answers 8388608: the sysctl -w "succeeds" but verification sees the old value.
        let mut r = mac(9000, 8_388_608);
        let p = prepare(&mut r, &Macos, &profile(), "Ethernet", plan::Options::default()).unwrap();
        assert_eq!(p.plan.changes.len(), 1);
        let dir = tempfile::tempdir().unwrap();
        let mut st = TuneState::new("macos");
        let f = execute(&mut r, &Macos, dir.path(), &mut st, &p, None).unwrap_err();
        assert_eq!(
            f.cause.to_string(),
            "verification failed: kern.ipc.maxsockbuf is 8388608, wanted 16777216"
        );
        assert_eq!(f.ran, ["sysctl -w kern.ipc.maxsockbuf=16777216"]);
        let rb = f.rollback.unwrap();
        assert!(rb.ok(), "{rb:?}");
        assert!(rb.ran.is_empty(), "already back at the old value: {rb:?}");
        assert!(st.interfaces.is_empty() && st.sysctls.is_empty());
        assert!(state::load(dir.path()).unwrap().is_none(), "nothing left to revert");
    }

    #[test]
    fn a_sysctl_this_system_lacks_is_left_alone() {
        // The macOS backend run against Linux's own sysctl: the names do not exist.
        let mut r = Runner::record()
            .fail(
                "sysctl -n kern.ipc.maxsockbuf",
                "sysctl: cannot stat /proc/sys/kern/ipc/maxsockbuf: No such file or directory",
            )
            .ok(
                "networksetup -listallhardwareports",
                "Hardware Port: Ethernet\nDevice: en0\nEthernet Address: 3c:a6:f6:12:34:56\n",
            )
            .ok("networksetup -getMTU", "Active MTU: 1500 (Current Setting: 1500)\n")
            .ok("networksetup -listValidMTURange", "Valid MTU Range: 1280-9000\n")
            .ok(
                "networksetup -getMedia",
                "Current: autoselect\nActive: 10Gbase-T <full-duplex>\n",
            )
            .ok("networksetup -listValidMedia", "autoselect\n10Gbase-T <full-duplex>\n");
        let p = prepare(&mut r, &Macos, &profile(), "Ethernet", plan::Options::default()).unwrap();
        assert_eq!(p.plan.changes.len(), 1, "only the MTU: {:?}", p.plan.changes);
        assert!(p.desired.sysctls.is_empty());
        assert!(
            p.plan.notes[0].starts_with("kern.ipc.maxsockbuf: cannot be read here"),
            "{:?}",
            p.plan.notes
        );
    }

    #[test]
    fn applying_what_is_already_there_runs_no_change() {
        let mut r = mac(9000, 16_777_216);
        let p = prepare(&mut r, &Macos, &profile(), "Ethernet", plan::Options::default()).unwrap();
        assert!(p.plan.is_empty());
        assert!(r.changes().is_empty(), "{:?}", r.changes());
    }
}
