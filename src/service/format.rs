//! Which service: the manager's format (launchd or systemd), the scope (system-wide or per-user) and the role
//! (the server, or the monitor beside it).

use std::fmt;

/// Which service manager's file to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A launchd property list (macOS).
    Launchd,
    /// A systemd unit (Linux).
    Systemd,
}

impl Format {
    /// This OS's service manager, if saf-net knows it.
    pub fn native() -> Option<Format> {
        if cfg!(target_os = "macos") {
            Some(Format::Launchd)
        } else if cfg!(target_os = "linux") {
            Some(Format::Systemd)
        } else {
            None
        }
    }

    /// The program that controls this service manager.
    pub fn tool(self) -> &'static str {
        match self {
            Format::Launchd => "launchctl",
            Format::Systemd => "systemctl",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Launchd => "launchd",
            Format::Systemd => "systemd",
        })
    }
}

/// System-wide (starts at boot, needs root) or per-user (starts at login).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    System,
    User,
}

impl Scope {
    /// The scope asked for, else system-wide for root and per-user for everyone else.
    pub fn resolve(asked: Option<Scope>, uid: Option<u32>) -> Scope {
        asked.unwrap_or(if uid == Some(0) { Scope::System } else { Scope::User })
    }

    pub fn other(self) -> Scope {
        match self {
            Scope::System => Scope::User,
            Scope::User => Scope::System,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_follows_root_unless_asked() {
        assert_eq!(Scope::resolve(None, Some(0)), Scope::System);
        assert_eq!(Scope::resolve(None, Some(501)), Scope::User);
        assert_eq!(Scope::resolve(None, None), Scope::User);
        assert_eq!(Scope::resolve(Some(Scope::User), Some(0)), Scope::User);
        assert_eq!(Scope::resolve(Some(Scope::System), Some(501)), Scope::System);
    }
}

/// What the service runs: `saf-net server` or `saf-net monitor`; each has its own label, unit and log, so both
/// can be installed side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    #[default]
    Server,
    Monitor,
}

impl Role {
    /// The saf-net subcommand the service runs.
    pub fn subcommand(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Monitor => "monitor",
        }
    }

    /// launchd's job label, also the plist's file name.
    pub fn label(self) -> &'static str {
        match self {
            Role::Server => "net.saf-net.server",
            Role::Monitor => "net.saf-net.monitor",
        }
    }

    /// systemd's unit name, also its file name.
    pub fn unit(self) -> &'static str {
        match self {
            Role::Server => "saf-net.service",
            Role::Monitor => "saf-net-monitor.service",
        }
    }

    /// The log file's name (launchd).
    pub fn log_name(self) -> &'static str {
        match self {
            Role::Server => "saf-net.log",
            Role::Monitor => "saf-net-monitor.log",
        }
    }

    /// The unit's Description=.
    pub fn description(self) -> &'static str {
        match self {
            Role::Server => "saf-net server (network throughput and latency tests)",
            Role::Monitor => "saf-net monitor (link probes for Prometheus)",
        }
    }
}
