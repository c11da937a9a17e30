//! Which service: the manager's format (launchd or systemd) and the scope (system-wide or per-user).

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
