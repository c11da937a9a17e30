//! The seam between the plan and the OS: which commands read and change an interface, and how their
//! outputs read. One implementation per OS ([`super::macos`], [`super::linux`]); either can run on
//! any machine against fake programs, which is how the macOS one is tested on Linux. Both import this
//! file and it imports neither: [`BackendKind::backend`], which names them, is in `select.rs`.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use super::TuneError;
use super::settings::{Desired, LinkTarget, Port, Reading};
use crate::profile::Profile;
use crate::runner::{Cmd, Runner};

/// Which OS's tools to drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Macos,
    Linux,
}

impl BackendKind {
    /// The running OS's backend (Linux's on anything but macOS).
    pub fn native() -> Self {
        if cfg!(target_os = "macos") {
            BackendKind::Macos
        } else {
            BackendKind::Linux
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Macos => "macos",
            BackendKind::Linux => "linux",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "macos" => Some(BackendKind::Macos),
            "linux" => Some(BackendKind::Linux),
            _ => None,
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a change made the backend's way outlives a reboot, and what to tell the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Persistence {
    pub survives_reboot: bool,
    pub note: String,
}

/// One OS's way of reading and changing an interface.
pub trait Backend: Sync {
    fn kind(&self) -> BackendKind;

    /// What the OS calls the things `--interface` names ("hardware ports", "interfaces").
    fn ports_word(&self) -> &'static str;

    /// Every hardware port or interface the OS lists.
    fn ports(&self, r: &mut Runner) -> Result<Vec<Port>, TuneError>;

    /// The interface's MTU and link settings now.
    fn read(&self, r: &mut Runner, port: &Port) -> Result<Reading, TuneError>;

    /// The profile's targets for this OS.
    fn desired(&self, p: &Profile) -> Result<Desired, TuneError>;

    /// The sysctls this backend knows, in the order `show` lists them.
    fn sysctl_names(&self) -> &'static [&'static str];

    /// The command that sets the MTU.
    fn mtu_command(&self, port: &Port, mtu: u32) -> Cmd;

    /// The command that sets the media (macOS); None where there is no such thing.
    fn media_command(&self, port: &Port, media: &str) -> Option<Cmd>;

    /// The command that puts MTU and media back on automatic (macOS `-setMTUAndMediaAutomatically`);
    /// None where the OS has no such setting.
    fn automatic_command(&self, _port: &Port) -> Option<Cmd> {
        None
    }

    /// The command that sets speed, duplex and autonegotiation (Linux); None where there is none.
    fn link_command(&self, port: &Port, target: &LinkTarget, now: &Reading) -> Option<Cmd>;

    /// Runs a command that changes something; an error if the tool said it failed, by exit status or
    /// (networksetup) by what it printed.
    fn run_change(&self, r: &mut Runner, cmd: &Cmd) -> Result<(), TuneError> {
        r.output(cmd)?;
        Ok(())
    }

    /// The addresses on the interface (to see whether the SSH session runs over it).
    fn addresses(&self, r: &mut Runner, port: &Port) -> Result<Vec<IpAddr>, TuneError>;

    /// Where `--persist` writes the sysctls.
    fn default_sysctl_conf(&self) -> &'static str;

    /// Whether interface changes (MTU, media, link) survive a reboot.
    fn interface_persistence(&self, setting: &str) -> Persistence;
}

/// Whether a `sysctl -w NAME=target` survives a reboot: never by itself. `conf` is where `--persist`
/// would keep it; `at_boot` is the value a boot-time file (`conf`) already sets, if any; `target` is the
/// value being set (None in `show`, where no change is planned).
pub fn sysctl_persistence(conf: &str, at_boot: Option<&str>, target: Option<&str>) -> Persistence {
    match (at_boot, target) {
        (Some(b), Some(t)) if b == t => Persistence {
            survives_reboot: true,
            note: format!("{conf} sets it at boot"),
        },
        (Some(b), _) => Persistence {
            survives_reboot: false,
            note: format!("sysctl -w lasts until reboot, when {conf} sets it to {b}"),
        },
        (None, _) => Persistence {
            survives_reboot: false,
            note: format!("sysctl -w lasts until reboot; --persist writes it to {conf}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sysctl_survives_a_reboot_only_through_the_boot_file() {
        let conf = "/etc/sysctl.d/90-saf-net.conf";
        let p = sysctl_persistence(conf, None, Some("67108864"));
        assert!(!p.survives_reboot);
        assert!(p.note.ends_with("--persist writes it to /etc/sysctl.d/90-saf-net.conf"));
        assert!(sysctl_persistence(conf, Some("67108864"), Some("67108864")).survives_reboot);
        let other = sysctl_persistence(conf, Some("212992"), Some("67108864"));
        assert!(!other.survives_reboot);
        assert!(other.note.ends_with("sets it to 212992"), "{}", other.note);
        assert_eq!(BackendKind::parse("macos"), Some(BackendKind::Macos));
        assert_eq!(BackendKind::Linux.backend().kind(), BackendKind::Linux);
    }
}
