//! What `status` found out about a service.

/// What `status` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// The file exists.
    pub installed: bool,
    /// The service manager knows the service (launchd: loaded; systemd: enabled).
    pub loaded: bool,
    /// The server process is up.
    pub running: bool,
    /// The service manager's word for its state ("running", "active", "failed", ...).
    pub state: Option<String>,
    pub pid: Option<u32>,
    /// launchd's "last exit code", when it has one.
    pub last_exit: Option<String>,
}
