//! The snapshot: how the machine was before saf-net first changed it, kept on disk until a revert.
//!
//! One file, `tune.json`, in the state folder: `--state-dir`, else `/var/lib/saf-net` as root, else the
//! user's XDG state folder (`$XDG_STATE_HOME/saf-net`). Interface settings are kept per interface,
//! sysctls once per machine, each recorded the first time saf-net is about to change it and never
//! overwritten afterwards, so `revert` always returns to where the machine was before saf-net touched
//! it. The file is written whole (temp file, then rename) and removed when nothing is left in it.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::TuneError;
use super::settings::{Desired, LinkTarget, MemberTarget, Reading};

pub const STATE_FILE: &str = "tune.json";
/// Where a `--try` watcher writes what it did.
pub const WATCH_LOG: &str = "tune-watch.log";
/// The state folder when running as root.
pub const SYSTEM_DIR: &str = "/var/lib/saf-net";
pub const STATE_VERSION: u32 = 1;

/// The state folder: `/var/lib/saf-net` as root, else the user's state folder.
pub fn default_dir(root: bool) -> PathBuf {
    if root {
        return PathBuf::from(SYSTEM_DIR);
    }
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .unwrap_or_else(|| PathBuf::from("."))
        .join("saf-net")
}

/// One interface as it was before saf-net changed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IfaceSnapshot {
    pub device: String,
    /// The configured MTU.
    pub mtu: Option<u32>,
    /// macOS media setting ("autoselect", "1000baseT <full-duplex>").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<String>,
    /// Linux link settings as they would be restored; absent when the device has none to set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkTarget>,
    /// Whether the media was on automatic ("autoselect"); null when unknown (a bridge has no media).
    /// Files written before it existed lack it: then `media` tells.
    #[serde(default)]
    pub media_automatic: Option<bool>,
    /// Whether the MTU was on automatic; null: unknown, as `networksetup -getMTU` prints the same
    /// "Active MTU: 1500 (Current Setting: 1500)" for an automatic and a pinned MTU (docs/tune.md).
    #[serde(default)]
    pub mtu_automatic: Option<bool>,
    /// A bridge's member ports, each with its own snapshot; restored with the bridge.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    pub taken_utc: String,
}

impl IfaceSnapshot {
    /// Whether restoring puts MTU and media back on automatic: the media was on automatic (or, on a
    /// bridge, there is none to lose) and the MTU is not known to be pinned. The restore then checks the
    /// MTU reads back as recorded, and pins it if not.
    pub fn restores_automatic(&self) -> bool {
        let media_auto = self
            .media_automatic
            .or_else(|| self.media.as_deref().map(|m| m == "autoselect"));
        let no_media = self.media.is_none() && self.is_bridge();
        (media_auto == Some(true) || no_media) && self.mtu_automatic != Some(false)
    }

    fn is_bridge(&self) -> bool {
        crate::tune::settings::Port {
            name: String::new(),
            device: self.device.clone(),
            mac: None,
        }
        .is_bridge()
    }
}

/// An apply that went through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub profile: String,
    pub interface: String,
    pub at_utc: String,
}

/// A `--try` apply waiting for `saf-net tune confirm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trial {
    /// Ties the watcher process to this trial.
    pub token: String,
    pub profile: String,
    pub interface: String,
    /// Milliseconds since the Unix epoch.
    pub deadline_unix_ms: u64,
    pub deadline_utc: String,
    pub watcher_pid: Option<u32>,
}

/// Everything saf-net remembers about what it changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TuneState {
    pub state_version: u32,
    /// "macos" or "linux": the backend that took the snapshot.
    pub backend: String,
    pub created_utc: String,
    /// By interface (hardware port) name.
    pub interfaces: BTreeMap<String, IfaceSnapshot>,
    /// Sysctl values before saf-net first set them.
    pub sysctls: BTreeMap<String, String>,
    /// The file `--persist` wrote a saf-net block into.
    #[serde(default)]
    pub persist: Option<PathBuf>,
    #[serde(default)]
    pub applied: Vec<Applied>,
    #[serde(default)]
    pub trial: Option<Trial>,
}

/// Now, as RFC 3339 UTC.
pub fn now_utc() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

impl TuneState {
    pub fn new(backend: &str) -> Self {
        TuneState {
            state_version: STATE_VERSION,
            backend: backend.to_string(),
            created_utc: now_utc(),
            interfaces: BTreeMap::new(),
            sysctls: BTreeMap::new(),
            persist: None,
            applied: Vec::new(),
            trial: None,
        }
    }

    /// Nothing to restore and nothing pending.
    pub fn is_empty(&self) -> bool {
        self.interfaces.is_empty() && self.sysctls.is_empty() && self.persist.is_none() && self.trial.is_none()
    }

    /// Records the interface as read, and a bridge's members, each unless already recorded. Returns
    /// the ports added.
    pub fn record_interface(&mut self, r: &Reading) -> Vec<String> {
        let mut added = Vec::new();
        for m in &r.members {
            added.extend(self.record_interface(m));
        }
        if self.interfaces.contains_key(&r.port.name) {
            return added;
        }
        let link = r.link.as_ref().filter(|l| l.settable()).map(LinkTarget::restoring);
        self.interfaces.insert(
            r.port.name.clone(),
            IfaceSnapshot {
                device: r.port.device.clone(),
                mtu: Some(r.mtu.configured),
                media: r.media.as_ref().map(|m| m.current.clone()),
                link,
                media_automatic: r.media.as_ref().map(|m| m.current == "autoselect"),
                mtu_automatic: None,
                members: r.members.iter().map(|m| m.port.name.clone()).collect(),
                taken_utc: now_utc(),
            },
        );
        added.push(r.port.to_string());
        added
    }

    /// The recorded bridge `name` is a member of, if any.
    pub fn bridge_of(&self, name: &str) -> Option<String> {
        self.interfaces
            .iter()
            .find(|(_, s)| s.members.iter().any(|m| m == name))
            .map(|(n, _)| n.clone())
    }

    /// Records each sysctl not recorded yet. Returns the names added.
    pub fn record_sysctls(&mut self, now: &BTreeMap<String, String>) -> Vec<String> {
        let mut added = Vec::new();
        for (k, v) in now {
            if !self.sysctls.contains_key(k) {
                self.sysctls.insert(k.clone(), v.clone());
                added.push(k.clone());
            }
        }
        added
    }

    /// What restoring `interface` (None: no interface) and the sysctls means.
    pub fn desired(&self, interface: Option<&str>) -> Desired {
        let snap = interface.and_then(|i| self.interfaces.get(i));
        let members = snap
            .map(|s| s.members.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|m| self.interfaces.get(m).map(|ms| (m, ms)))
            .map(|(m, ms)| {
                let target = MemberTarget {
                    mtu: ms.mtu,
                    automatic: ms.restores_automatic(),
                };
                (m.clone(), target)
            })
            .collect();
        Desired {
            mtu: snap.and_then(|s| s.mtu),
            media: snap.and_then(|s| s.media.clone()),
            link: snap.and_then(|s| s.link.clone()),
            automatic: snap.is_some_and(IfaceSnapshot::restores_automatic),
            members,
            sysctls: self.sysctls.clone(),
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TuneError + '_ {
    move |source| TuneError::State {
        path: path.to_path_buf(),
        cause: source,
    }
}

/// The state file's path in `dir`.
pub fn file(dir: &Path) -> PathBuf {
    dir.join(STATE_FILE)
}

/// Reads the state; Ok(None) when there is none.
pub fn load(dir: &Path) -> Result<Option<TuneState>, TuneError> {
    let path = file(dir);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(&path)(e)),
    };
    let st: TuneState = serde_json::from_str(&text).map_err(|e| TuneError::StateFormat {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    if st.state_version != STATE_VERSION {
        return Err(TuneError::StateFormat {
            path,
            detail: format!(
                "state_version {} is not {STATE_VERSION}; it was written by another saf-net",
                st.state_version
            ),
        });
    }
    Ok(Some(st))
}

/// Writes the state whole (temp file, then rename), or removes the file when the state is empty.
pub fn save(dir: &Path, st: &TuneState) -> Result<(), TuneError> {
    let path = file(dir);
    if st.is_empty() {
        return match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(&path)(e)),
            _ => Ok(()),
        };
    }
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let tmp = dir.join(format!(".{STATE_FILE}.tmp"));
    let text = serde_json::to_string_pretty(st).expect("tune state always serializes") + "\n";
    fs::write(&tmp, text).map_err(io_err(&tmp))?;
    fs::rename(&tmp, &path).map_err(io_err(&path))
}

/// An exclusive lock over the tune state; released on drop.
pub struct Lock(#[allow(dead_code)] File);

/// Takes the lock on the state folder itself (no lock file is left behind), waiting for another
/// saf-net tune command to finish.
pub fn lock(dir: &Path) -> Result<Lock, TuneError> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let f = File::open(dir).map_err(io_err(dir))?;
    f.lock().map_err(io_err(dir))?;
    Ok(Lock(f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::settings::{MtuInfo, Port};

    fn reading(mtu: u32) -> Reading {
        Reading {
            port: Port {
                name: "Ethernet".into(),
                device: "en0".into(),
                mac: None,
            },
            mtu: MtuInfo {
                active: mtu,
                configured: mtu,
                min: None,
                max: None,
            },
            media: None,
            link: None,
            link_error: None,
            media_error: None,
            members: Vec::new(),
        }
    }

    #[test]
    fn the_first_snapshot_is_kept() {
        let mut st = TuneState::new("macos");
        assert!(st.is_empty());
        assert_eq!(st.record_interface(&reading(1500)), ["\"Ethernet\" (en0)"]);
        assert!(
            st.record_interface(&reading(9000)).is_empty(),
            "a later reading does not replace it"
        );
        let first: BTreeMap<String, String> = [("kern.ipc.maxsockbuf".to_string(), "8388608".to_string())].into();
        assert_eq!(st.record_sysctls(&first), ["kern.ipc.maxsockbuf"]);
        let later: BTreeMap<String, String> = [
            ("kern.ipc.maxsockbuf".to_string(), "16777216".to_string()),
            ("net.inet.tcp.sendspace".to_string(), "131072".to_string()),
        ]
        .into();
        assert_eq!(st.record_sysctls(&later), ["net.inet.tcp.sendspace"]);
        let d = st.desired(Some("Ethernet"));
        assert_eq!(d.mtu, Some(1500));
        assert_eq!(d.sysctls["kern.ipc.maxsockbuf"], "8388608");
        assert_eq!(st.desired(None).mtu, None);
    }

    #[test]
    fn state_round_trips_and_an_empty_one_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), None);
        let mut st = TuneState::new("linux");
        st.record_interface(&reading(1500));
        save(dir.path(), &st).unwrap();
        assert_eq!(load(dir.path()).unwrap(), Some(st.clone()));
        let _l = lock(dir.path()).unwrap();
        st.interfaces.clear();
        save(dir.path(), &st).unwrap();
        assert_eq!(load(dir.path()).unwrap(), None);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            0,
            "no file left, no lock file"
        );
        fs::write(file(dir.path()), "{").unwrap();
        let e = load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("tune.json") && e.contains("damaged"), "{e}");
    }

    /// A tune.json as saf-net wrote it before the automatic and bridge fields existed.
    const OLD_STATE: &str = r#"{
  "state_version": 1,
  "backend": "macos",
  "created_utc": "2026-11-29T15:31:48Z",
  "interfaces": {
    "Ethernet": {
      "device": "en0",
      "mtu": 1500,
      "media": "autoselect",
      "taken_utc": "2026-11-29T15:31:48Z"
    },
    "Thunderbolt Ethernet Slot 1": {
      "device": "en5",
      "mtu": 1500,
      "media": "1000baseT <full-duplex>",
      "taken_utc": "2026-11-29T15:31:48Z"
    }
  },
  "sysctls": {
    "kern.ipc.maxsockbuf": "8388608"
  },
  "persist": null,
  "applied": [
    {
      "profile": "10gbe-jumbo",
      "interface": "Ethernet",
      "at_utc": "2026-11-29T15:31:49Z"
    }
  ],
  "trial": null
}
"#;

    #[test]
    fn an_old_state_file_is_read_and_its_autoselect_port_goes_back_to_automatic() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(file(dir.path()), OLD_STATE).unwrap();
        let st = load(dir.path()).unwrap().unwrap();
        let eth = &st.interfaces["Ethernet"];
        assert_eq!((eth.media_automatic, eth.mtu_automatic), (None, None));
        assert!(eth.members.is_empty());
        let d = st.desired(Some("Ethernet"));
        assert!(d.automatic, "media was autoselect: back to automatic");
        assert_eq!(d.mtu, Some(1500));
        let forced = st.desired(Some("Thunderbolt Ethernet Slot 1"));
        assert!(!forced.automatic, "a forced media is restored as it was, MTU pinned");
        save(dir.path(), &st).unwrap();
        let text = fs::read_to_string(file(dir.path())).unwrap();
        assert!(
            text.contains("\"mtu_automatic\": null"),
            "unknown is written as unknown: {text}"
        );
    }

    #[test]
    fn a_bridge_is_recorded_with_its_members_and_restored_with_them() {
        let mut bridge = reading(1500);
        bridge.port = Port {
            name: "Thunderbolt-Brücke".into(),
            device: "bridge0".into(),
            mac: None,
        };
        let mut member = reading(1500);
        member.port = Port {
            name: "Thunderbolt 1".into(),
            device: "en2".into(),
            mac: None,
        };
        member.media = Some(crate::tune::settings::MediaInfo {
            current: "autoselect".into(),
            active: "autoselect <full-duplex>".into(),
            valid: vec!["autoselect".into()],
        });
        bridge.members.push(member);
        let mut st = TuneState::new("macos");
        assert_eq!(
            st.record_interface(&bridge),
            ["\"Thunderbolt 1\" (en2)", "\"Thunderbolt-Brücke\" (bridge0)"]
        );
        assert_eq!(st.bridge_of("Thunderbolt 1").as_deref(), Some("Thunderbolt-Brücke"));
        let d = st.desired(Some("Thunderbolt-Brücke"));
        assert!(d.automatic, "a bridge has no media to lose");
        assert_eq!(
            d.members["Thunderbolt 1"],
            MemberTarget {
                mtu: Some(1500),
                automatic: true
            }
        );
    }
}
