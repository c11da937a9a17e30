//! What a lab that is up looks like on disk: `/run/saf-net/labs/NAME/state.json`, the server's log
//! beside it. `/run` is emptied at boot, as are the namespaces, so state never outlives its lab.

use std::fs::{self, File};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::LabError;
use super::shaping::Tbf;
use super::tunnel::SecondRoute;

/// Where lab state lives unless `SAF_NET_LAB_STATE` says otherwise.
pub const DEFAULT_STATE_DIR: &str = "/run/saf-net/labs";
/// Environment variable that moves the state folder.
pub const STATE_ENV: &str = "SAF_NET_LAB_STATE";
pub const STATE_FILE: &str = "state.json";
pub const SERVER_LOG: &str = "server.log";
/// Version of the state file's layout.
pub const STATE_VERSION: u32 = 1;

/// The state folder in use.
pub fn base_dir() -> PathBuf {
    std::env::var_os(STATE_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR))
}

/// The saf-net server a lab started in its far namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerProcess {
    pub pid: u32,
    /// From /proc/PID/stat, so a reused pid is never mistaken for the server.
    pub start_ticks: u64,
    pub port: u16,
    pub log: PathBuf,
}

/// One host of a lab as built: what `lab status --json` lists and `lab exec --host` finds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Host {
    /// 1..=N; near is 1, far is 2.
    pub index: u8,
    /// near, far, or hI; also the name of its switch port.
    pub name: String,
    pub namespace: String,
    pub address: Ipv4Addr,
    /// Its port's line rate: the profile's, or `--host-rate`.
    pub rate_mbps: f64,
    /// Its eth0's MTU: the profile's, or `--host-mtu`.
    pub mtu: u32,
    /// The shaping of its port (the switch side always; its own eth0 too in a lab built with `--hosts`).
    pub tbf: Tbf,
    pub server: Option<ServerProcess>,
}

/// Everything a lab created, as recorded when it came up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabState {
    pub state_version: u32,
    pub name: String,
    /// The profile's name, as runs record it.
    pub profile: String,
    /// What `lab exec` puts in SAF_NET_PROFILE: the name, or the profile file's absolute path.
    pub profile_ref: String,
    pub line_rate_mbps: f64,
    pub mtu: u32,
    pub switch_mtu: u32,
    pub ceiling_mbps: f64,
    pub subnet: u8,
    pub near_addr: Ipv4Addr,
    pub far_addr: Ipv4Addr,
    pub prefix_len: u8,
    pub near_ns: String,
    pub far_ns: String,
    pub switch_ns: String,
    pub tbf: Tbf,
    /// The hosts' TCP congestion control (absent in state files written before it was set).
    #[serde(default)]
    pub congestion_control: Option<String>,
    pub server: Option<ServerProcess>,
    /// `--second-route`: the tunnel beside the link (absent in state files written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_route: Option<SecondRoute>,
    /// `--hosts N`: every host with its server (absent for a lab built without it: near and far).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<Vec<Host>>,
    /// The lab key its servers require (`--hosts` labs only); `lab exec` hands it on as SAF_NET_PSK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psk_file: Option<PathBuf>,
    pub created_utc: String,
    pub saf_net_version: String,
}

impl LabState {
    /// The hosts: as recorded by a `--hosts` lab, else near and far from the fields every lab has.
    pub fn host_list(&self) -> Vec<Host> {
        if let Some(hosts) = &self.hosts {
            return hosts.clone();
        }
        let host = |index: u8, name: &str, namespace: &str, address: Ipv4Addr, server: Option<ServerProcess>| Host {
            index,
            name: name.into(),
            namespace: namespace.into(),
            address,
            rate_mbps: self.line_rate_mbps,
            mtu: self.mtu,
            tbf: self.tbf,
            server,
        };
        vec![
            host(1, "near", &self.near_ns, self.near_addr, None),
            host(2, "far", &self.far_ns, self.far_addr, self.server.clone()),
        ]
    }

    /// Every server the lab started.
    pub fn servers(&self) -> Vec<ServerProcess> {
        self.host_list().into_iter().filter_map(|h| h.server).collect()
    }

    /// Whether it was built with `--hosts` (a server in every host, a lab key, every port shaped both ways).
    pub fn switched(&self) -> bool {
        self.hosts.is_some()
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LabError + '_ {
    move |source| LabError::State {
        path: path.to_path_buf(),
        cause: source,
    }
}

/// The folder of lab `name`.
pub fn lab_dir(base: &Path, name: &str) -> PathBuf {
    base.join(name)
}

/// Reads a lab's state; Ok(None) if there is none.
pub fn read(base: &Path, name: &str) -> Result<Option<LabState>, LabError> {
    let path = lab_dir(base, name).join(STATE_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(&path)(e)),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| LabError::StateFormat {
            path,
            detail: e.to_string(),
        })
}

/// Writes a lab's state whole (temp file, then rename).
pub fn write(base: &Path, st: &LabState) -> Result<PathBuf, LabError> {
    let dir = lab_dir(base, &st.name);
    fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let path = dir.join(STATE_FILE);
    let tmp = dir.join(format!(".{STATE_FILE}.tmp"));
    let text = serde_json::to_string_pretty(st).expect("lab state always serializes") + "\n";
    fs::write(&tmp, text).map_err(io_err(&tmp))?;
    fs::rename(&tmp, &path).map_err(io_err(&path))?;
    Ok(path)
}

/// Names of labs with a state folder.
pub fn names(base: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(base) else {
        return Vec::new();
    };
    let mut v: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .filter(|n| super::names::check_name(n).is_ok())
        .collect();
    v.sort();
    v
}

/// Removes a lab's state folder (and the server log in it); absent is fine.
pub fn remove(base: &Path, name: &str) -> Result<(), LabError> {
    let dir = lab_dir(base, name);
    match fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(&dir)(e)),
        _ => Ok(()),
    }
}

/// An exclusive lock over all labs while one is built or removed; released on drop.
pub struct Lock(#[allow(dead_code)] File);

/// Takes the lab lock, waiting for another `lab up` / `lab down` to finish. The lock is on the state
/// folder itself, so `lab down` leaves no lock file behind.
pub fn lock(base: &Path) -> Result<Lock, LabError> {
    fs::create_dir_all(base).map_err(io_err(base))?;
    let f = File::open(base).map_err(io_err(base))?;
    f.lock().map_err(io_err(base))?;
    Ok(Lock(f))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn sample(name: &str) -> LabState {
        LabState {
            state_version: STATE_VERSION,
            name: name.into(),
            profile: "1gbe".into(),
            profile_ref: "1gbe".into(),
            line_rate_mbps: 1000.0,
            mtu: 1500,
            switch_mtu: 1500,
            ceiling_mbps: 941.47,
            subnet: 9,
            near_addr: Ipv4Addr::new(10, 77, 9, 1),
            far_addr: Ipv4Addr::new(10, 77, 9, 2),
            prefix_len: 24,
            near_ns: format!("safnet-{name}-near"),
            far_ns: format!("safnet-{name}-far"),
            switch_ns: format!("safnet-{name}-switch"),
            tbf: Tbf::for_link(1000.0, 1500, None, None),
            congestion_control: Some("reno".into()),
            server: None,
            second_route: None,
            hosts: None,
            psk_file: None,
            created_utc: "2026-11-29T14:00:00Z".into(),
            saf_net_version: "0.1.0".into(),
        }
    }

    #[test]
    fn state_round_trips_and_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path(), "a").unwrap(), None);
        write(dir.path(), &sample("a")).unwrap();
        write(dir.path(), &sample("b")).unwrap();
        assert_eq!(read(dir.path(), "a").unwrap(), Some(sample("a")));
        assert_eq!(names(dir.path()), ["a", "b"]);
        remove(dir.path(), "a").unwrap();
        remove(dir.path(), "a").unwrap();
        assert_eq!(names(dir.path()), ["b"]);
        let _l = lock(dir.path()).unwrap();
        assert_eq!(names(dir.path()), ["b"]);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no lock file");
    }

    #[test]
    fn state_files_without_a_second_route_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut with = sample("t");
        with.second_route = Some(SecondRoute::for_subnet(9));
        write(dir.path(), &with).unwrap();
        assert_eq!(read(dir.path(), "t").unwrap(), Some(with));
        // A state file as an earlier saf-net wrote it: no second_route key at all.
        let mut old: serde_json::Value = serde_json::to_value(sample("old")).unwrap();
        old.as_object_mut().unwrap().remove("second_route");
        fs::create_dir_all(dir.path().join("old")).unwrap();
        fs::write(dir.path().join("old").join(STATE_FILE), old.to_string()).unwrap();
        assert_eq!(read(dir.path(), "old").unwrap(), Some(sample("old")));
        let text = serde_json::to_string(&sample("x")).unwrap();
        assert!(
            !text.contains("second_route"),
            "a lab without one writes the old layout"
        );
    }

    #[test]
    fn a_state_file_of_the_two_host_lab_reads_with_near_and_far_as_hosts_1_and_2() {
        // Written by `lab up 1gbe` at commit 9c97ede, before `--hosts` existed.
        let text = include_str!("../../tests/fixtures/lab/state-2host-v1.json");
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("default")).unwrap();
        fs::write(dir.path().join("default").join(STATE_FILE), text).unwrap();
        let st = read(dir.path(), "default").unwrap().unwrap();
        assert!(!st.switched() && st.psk_file.is_none());
        let hosts = st.host_list();
        let brief: Vec<(u8, &str, &str, String)> = hosts
            .iter()
            .map(|h| (h.index, h.name.as_str(), h.namespace.as_str(), h.address.to_string()))
            .collect();
        assert_eq!(
            brief,
            [
                (1, "near", "safnet-default-near", "10.77.39.1".into()),
                (2, "far", "safnet-default-far", "10.77.39.2".into())
            ]
        );
        assert_eq!((hosts[0].rate_mbps, hosts[1].mtu), (1000.0, 1500));
        assert_eq!(hosts[0].server, None);
        assert_eq!(hosts[1].server.as_ref().unwrap().port, 5301);
        assert_eq!(st.servers().len(), 1);
        // Written back, it keeps its layout: no key of the N-host lab appears.
        let again = serde_json::to_string(&st).unwrap();
        assert!(!again.contains("\"hosts\"") && !again.contains("psk_file"), "{again}");
    }

    #[test]
    fn a_damaged_state_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("x")).unwrap();
        fs::write(dir.path().join("x").join(STATE_FILE), "{").unwrap();
        let e = read(dir.path(), "x").unwrap_err().to_string();
        assert!(e.contains("state.json"), "{e}");
    }
}
