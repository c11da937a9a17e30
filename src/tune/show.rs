//! `saf-net tune show`: hardware ports and devices, MTUs and their ranges, media and link, Linux
//! offloads and rings, the socket-buffer sysctls, and for each whether a change survives a reboot.
//! Read-only commands only.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::apply::find_port;
use super::backend::{Backend, BackendKind, Persistence, sysctl_persistence};
use super::linux::{self, Feature, Rings};
use super::macos::link_from_media;
use super::settings::{LinkInfo, MediaInfo, MtuInfo, Port};
use super::state::TuneState;
use super::{TuneError, persist, sysctl};
use crate::runner::Runner;

/// One interface in detail.
#[derive(Debug, Clone, Serialize)]
pub struct InterfaceView {
    pub name: String,
    pub device: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    pub mtu: Option<MtuInfo>,
    pub mtu_persistence: Persistence,
    /// macOS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_persistence: Option<Persistence>,
    /// Why the media is unknown (macOS; a Thunderbolt Bridge has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_error: Option<String>,
    /// A bridge's member ports, with their hardware port names ("Thunderbolt 1" (en2)).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Port>,
    pub link: Option<LinkInfo>,
    pub link_persistence: Persistence,
    /// On a Mac, the speed and duplex the kernel's interface media says (`SIOCGIFXMEDIA`): what `client`, `mtu`
    /// and `validate` judge a link by, shown beside networksetup's for a cross-check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_link: Option<KernelLink>,
    /// Linux: top-level `ethtool -k` features.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offloads: Option<BTreeMap<String, Feature>>,
    /// Linux: `ethtool -g`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rings: Option<Rings>,
    /// What could not be read, and why.
    pub errors: Vec<String>,
}

/// Speed and duplex as the platform layer reads them; None where unknown.
#[derive(Debug, Clone, Serialize)]
pub struct KernelLink {
    pub speed_mbps: Option<u32>,
    pub duplex: Option<String>,
}

impl KernelLink {
    /// Only for the OS saf-net runs on, and only on macOS (elsewhere `link` already is the kernel's view).
    fn read(backend: &dyn Backend, device: &str) -> Option<KernelLink> {
        if !cfg!(target_os = "macos") || backend.kind() != BackendKind::native() {
            return None;
        }
        let (_, speed_mbps, duplex) = crate::platform::interface_details(device);
        Some(KernelLink { speed_mbps, duplex })
    }

    pub fn describe(&self) -> String {
        let speed = self
            .speed_mbps
            .map_or("speed unknown".into(), |s| format!("{s} Mbit/s"));
        let duplex = self
            .duplex
            .as_deref()
            .map_or("duplex unknown".into(), |d| format!("{d} duplex"));
        format!("{speed}, {duplex}")
    }
}

/// One sysctl.
#[derive(Debug, Clone, Serialize)]
pub struct SysctlView {
    pub name: String,
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub persistence: Persistence,
}

/// What saf-net itself has changed, from the state folder.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotView {
    pub state_file: String,
    pub interfaces: Vec<String>,
    pub sysctls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persist_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial_until: Option<String>,
}

/// Everything `tune show` reports.
#[derive(Debug, Clone, Serialize)]
pub struct ShowReport {
    pub backend: BackendKind,
    /// Every hardware port (macOS) or interface (Linux).
    pub ports: Vec<Port>,
    pub interfaces: Vec<InterfaceView>,
    pub sysctls: Vec<SysctlView>,
    pub snapshot: Option<SnapshotView>,
}

fn interface(r: &mut Runner, backend: &dyn Backend, port: &Port) -> InterfaceView {
    let mut v = InterfaceView {
        name: port.name.clone(),
        device: port.device.clone(),
        mac: port.mac.clone(),
        mtu: None,
        mtu_persistence: backend.interface_persistence("mtu"),
        media: None,
        media_persistence: None,
        media_error: None,
        members: Vec::new(),
        link: None,
        link_persistence: backend.interface_persistence("link"),
        kernel_link: KernelLink::read(backend, &port.device),
        offloads: None,
        rings: None,
        errors: Vec::new(),
    };
    match backend.read(r, port) {
        Ok(reading) => {
            v.mtu = Some(reading.mtu);
            v.media_error = reading.media_error.clone();
            v.members = reading.members.iter().map(|m| m.port.clone()).collect();
            if let Some(m) = &reading.media {
                v.link = Some(link_from_media(m));
                v.media_persistence = Some(backend.interface_persistence("media"));
            }
            v.media = reading.media;
            if reading.link.is_some() {
                v.link = reading.link;
            }
            if let Some(e) = reading.link_error {
                v.errors.push(format!("link: {e}"));
            }
        }
        Err(e) => v.errors.push(e.to_string()),
    }
    if backend.kind() == BackendKind::Linux {
        match r.output(&linux::features_command(&port.device)) {
            Ok(t) => v.offloads = Some(linux::parse_features(&t)),
            Err(e) => v.errors.push(format!("offloads: {e}")),
        }
        match r.output(&linux::rings_command(&port.device)) {
            Ok(t) => v.rings = Some(linux::parse_rings(&t)),
            Err(e) => v.errors.push(format!("rings: {e}")),
        }
    }
    v
}

/// Reads everything `show` reports: one interface, or all but loopback.
pub fn collect(
    r: &mut Runner,
    backend: &dyn Backend,
    only: Option<&str>,
    sysctl_conf: &Path,
    state: Option<(&Path, &TuneState)>,
) -> Result<ShowReport, TuneError> {
    let ports = backend.ports(r)?;
    let selected: Vec<Port> = match only {
        Some(name) => vec![find_port(r, backend, name)?],
        None => ports.iter().filter(|p| p.device != "lo").cloned().collect(),
    };
    let interfaces = selected.iter().map(|p| interface(r, backend, p)).collect();
    let at_boot = persist::values(sysctl_conf);
    let conf = sysctl_conf.display().to_string();
    let sysctls = backend
        .sysctl_names()
        .iter()
        .map(|name| {
            let (value, error) = match sysctl::read(r, name) {
                Ok(v) => (Some(v), None),
                Err(e) => (None, Some(e.to_string())),
            };
            let persisted = at_boot.get(*name).map(String::as_str);
            SysctlView {
                name: name.to_string(),
                value,
                error,
                persistence: sysctl_persistence(&conf, persisted, None),
            }
        })
        .collect();
    let snapshot = state.map(|(file, st)| SnapshotView {
        state_file: file.display().to_string(),
        interfaces: st.interfaces.keys().cloned().collect(),
        sysctls: st.sysctls.keys().cloned().collect(),
        persist_file: st.persist.as_ref().map(|p| p.display().to_string()),
        trial_until: st.trial.as_ref().map(|t| t.deadline_utc.clone()),
    });
    Ok(ShowReport {
        backend: backend.kind(),
        ports,
        interfaces,
        sysctls,
        snapshot,
    })
}
