//! Everything that depends on which service manager a target has: where its files go, how to read its
//! logs, its file, its install and uninstall steps, its status. The one file that names both
//! `launchd.rs` and `systemd.rs`, so that they import the shared types and nothing imports them back.

use super::apply::is_installed;
use super::error::{ServiceError, tool_missing};
use super::format::{Format, Role, Scope};
use super::runner::{self, RunError, Runner};
use super::spec::Spec;
use super::status::Status;
use super::step::Step;
use super::target::{Host, Target};
use super::{launchd, systemd};

impl Target {
    /// The server's service of `format` and `scope` on `host`.
    pub fn new(format: Format, scope: Scope, host: &Host) -> Result<Target, ServiceError> {
        Target::with_role(format, scope, Role::Server, host)
    }

    /// The service of `role`, `format` and `scope` on `host`, with its file (and launchd's log) where that
    /// manager looks.
    pub fn with_role(format: Format, scope: Scope, role: Role, host: &Host) -> Result<Target, ServiceError> {
        let uid = match (format, scope, host.uid) {
            (_, Scope::System, _) => 0,
            (_, Scope::User, Some(uid)) => uid,
            (Format::Systemd, Scope::User, None) => 0,
            (Format::Launchd, Scope::User, None) => return Err(ServiceError::NoUid),
        };
        let (file, log) = match (format, scope) {
            (Format::Launchd, Scope::System) => (launchd::system_file(role), Some(launchd::system_log(role))),
            (Format::Launchd, Scope::User) => {
                let home = host.home()?;
                (launchd::user_file(home, role), Some(launchd::user_log(home, role)))
            }
            (Format::Systemd, Scope::System) => (systemd::system_file(role), None),
            (Format::Systemd, Scope::User) => {
                let config = match &host.xdg_config_home {
                    Some(c) => c.clone(),
                    None => host.home()?.join(".config"),
                };
                (systemd::user_file(&config, role), None)
            }
        };
        Ok(Target {
            format,
            scope,
            role,
            file,
            log,
            uid,
        })
    }

    /// How to read the server's output.
    pub fn logs_hint(&self) -> String {
        match (&self.log, self.scope) {
            (Some(log), _) => format!("tail -f {}", runner::shell_quote(&log.display().to_string())),
            (None, Scope::System) => format!("journalctl -u {} -f", self.role.unit()),
            (None, Scope::User) => format!("journalctl --user -u {} -f", self.role.unit()),
        }
    }
}

/// The plist or unit file for `spec`.
pub fn render(target: &Target, spec: &Spec) -> Result<String, ServiceError> {
    let argv = spec.argv()?;
    Ok(match target.format {
        Format::Launchd => launchd::render(target, &argv),
        Format::Systemd => systemd::render(target, spec, &argv),
    })
}

/// Writes the file (`contents`, from [`render`]), then loads and starts the service, replacing one
/// already running.
pub fn install_steps(target: &Target, contents: &str) -> Vec<Step> {
    match target.format {
        Format::Launchd => launchd::install_steps(target, contents),
        Format::Systemd => systemd::install_steps(target, contents),
    }
}

/// Stops the service and removes its file (`installed`: whether the file exists).
pub fn uninstall_steps(target: &Target, installed: bool) -> Vec<Step> {
    match target.format {
        Format::Launchd => launchd::uninstall_steps(target, installed),
        Format::Systemd => systemd::uninstall_steps(target, installed),
    }
}

/// Asks the service manager about the target.
pub fn status(target: &Target, host: &Host, runner: &mut Runner) -> Result<Status, ServiceError> {
    runner.check_available(target.format.tool()).map_err(|e| match e {
        RunError::NotFound { .. } => tool_missing(target.format),
        e => e.into(),
    })?;
    let mut st = match target.format {
        Format::Launchd => launchd::query(target, runner),
        Format::Systemd => systemd::query(target, runner),
    }
    .map_err(|e| match e {
        RunError::NotFound { .. } => tool_missing(target.format),
        e => e.into(),
    })?;
    st.installed = is_installed(target, host);
    Ok(st)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::service::test_host as host;

    #[test]
    fn targets_land_where_each_manager_looks() {
        let h = host();
        let t = |f, s| Target::new(f, s, &h).unwrap();
        let d = t(Format::Launchd, Scope::System);
        assert_eq!(d.file, Path::new("/Library/LaunchDaemons/net.saf-net.server.plist"));
        assert_eq!(d.log.as_deref(), Some(Path::new("/var/log/saf-net.log")));
        assert_eq!((d.kind(), d.uid), ("LaunchDaemon", 0));
        let a = t(Format::Launchd, Scope::User);
        assert_eq!(
            a.file,
            Path::new("/Users/ann/Library/LaunchAgents/net.saf-net.server.plist")
        );
        assert_eq!(a.log.as_deref(), Some(Path::new("/Users/ann/Library/Logs/saf-net.log")));
        assert_eq!((a.kind(), a.uid), ("LaunchAgent", 501));
        assert_eq!(
            t(Format::Systemd, Scope::System).file,
            Path::new("/etc/systemd/system/saf-net.service")
        );
        assert_eq!(
            t(Format::Systemd, Scope::User).file,
            Path::new("/Users/ann/.config/systemd/user/saf-net.service")
        );
        let xdg = Host {
            xdg_config_home: Some("/cfg".into()),
            ..host()
        };
        assert_eq!(
            Target::new(Format::Systemd, Scope::User, &xdg).unwrap().file,
            Path::new("/cfg/systemd/user/saf-net.service")
        );
        let homeless = Host { home: None, ..host() };
        assert!(matches!(
            Target::new(Format::Launchd, Scope::User, &homeless),
            Err(ServiceError::NoHome)
        ));
        assert!(Target::new(Format::Launchd, Scope::System, &homeless).is_ok());
    }
}
