//! Where a service's files go: the facts of this host ([`Host`]) and the service meant ([`Target`]).
//! Which paths each manager uses is in `manager.rs` ([`Target::new`]), so this file names neither.

use std::path::{Path, PathBuf};

use super::DESTDIR_ENV;
use super::error::ServiceError;
use super::format::{Format, Role, Scope};

/// Facts about this process's surroundings that decide where files go. [`Host::current`] reads
/// them; tests make them up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Host {
    /// Effective user id (None where the OS has none).
    pub uid: Option<u32>,
    pub home: Option<PathBuf>,
    /// `$XDG_CONFIG_HOME` when set to an absolute path (systemd user units live under it).
    pub xdg_config_home: Option<PathBuf>,
    /// `$SAF_NET_SERVICE_DESTDIR`: a directory every file path is placed under.
    pub destdir: Option<PathBuf>,
}

impl Host {
    pub fn current() -> Host {
        let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
        Host {
            uid: crate::platform::effective_uid(),
            home: std::env::var_os("HOME").and_then(absolute).or_else(dirs::home_dir),
            xdg_config_home: std::env::var_os("XDG_CONFIG_HOME").and_then(absolute),
            destdir: std::env::var_os(DESTDIR_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        }
    }

    /// Where a real path is on disk: itself, or under the DESTDIR.
    pub fn on_disk(&self, path: &Path) -> PathBuf {
        match &self.destdir {
            Some(d) => d.join(path.strip_prefix("/").unwrap_or(path)),
            None => path.to_path_buf(),
        }
    }

    pub(super) fn home(&self) -> Result<&Path, ServiceError> {
        self.home.as_deref().ok_or(ServiceError::NoHome)
    }
}

/// One service: its format, its scope and where its files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub format: Format,
    pub scope: Scope,
    /// The server's service or the monitor's.
    pub role: Role,
    /// The plist or unit file (the real path, before any DESTDIR).
    pub file: PathBuf,
    /// Where the server's output goes: a file for launchd, None for systemd (the journal).
    pub log: Option<PathBuf>,
    /// The user id, for launchd's per-user domain `gui/UID`.
    pub uid: u32,
}

impl Target {
    /// What kind of service this is, in the platform's words.
    pub fn kind(&self) -> &'static str {
        match (self.format, self.scope) {
            (Format::Launchd, Scope::System) => "LaunchDaemon",
            (Format::Launchd, Scope::User) => "LaunchAgent",
            (Format::Systemd, Scope::System) => "systemd system service",
            (Format::Systemd, Scope::User) => "systemd user service",
        }
    }

    /// When it starts, and as whom.
    pub fn when(&self) -> &'static str {
        match (self.format, self.scope) {
            (Format::Launchd, Scope::System) => "starts at boot, runs as root",
            (Format::Launchd, Scope::User) => "starts at login, runs as you",
            (Format::Systemd, Scope::System) => "starts at boot",
            (Format::Systemd, Scope::User) => "starts at login, runs as you",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::test_host as host;

    #[test]
    fn destdir_prefixes_paths_on_disk_only() {
        let h = Host {
            destdir: Some("/tmp/stage".into()),
            ..host()
        };
        assert_eq!(
            h.on_disk(Path::new("/etc/systemd/system/saf-net.service")),
            Path::new("/tmp/stage/etc/systemd/system/saf-net.service")
        );
        assert_eq!(host().on_disk(Path::new("/etc/x")), Path::new("/etc/x"));
    }
}
