//! Why a service operation failed, and which of those are usage errors.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::format::{Format, Scope};
use crate::auth::AuthError;
use crate::classify::Classify;
use crate::runner::RunError;

/// Why a service operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("key file {path}: {problem}")]
    KeyFile { path: PathBuf, problem: String },
    #[error("{0}")]
    BadArgument(String),
    #[error(
        "cannot write {path}: permission denied. A system-wide service needs root: run it with sudo, or leave out sudo and --system for a per-user service"
    )]
    NotPermitted { path: PathBuf },
    #[error("cannot {action} {path}: {cause}")]
    Io {
        action: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("`{tool}` was not found on PATH: {format} services need {needs} (--print shows the file on any system)")]
    ToolMissing {
        tool: &'static str,
        format: Format,
        needs: &'static str,
    },
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("`{cmd}` failed: {reason}{hint}")]
    Failed { cmd: String, reason: String, hint: String },
    #[error("cannot find the home directory: set HOME")]
    NoHome,
    #[error("cannot tell this process's user id, which a per-user launchd service needs")]
    NoUid,
    #[error("this system has neither launchd nor systemd; pick one with --format (and --print)")]
    NoServiceManager,
    #[error(transparent)]
    Psk(#[from] AuthError),
    #[error("cannot tell where this saf-net program is")]
    NoExe(#[source] std::io::Error),
    #[error("cannot resolve this program's path {}", path.display())]
    ExePath {
        path: PathBuf,
        #[source]
        cause: std::io::Error,
    },
}

/// A mistake in what was asked (exit code 2), rather than a failure to do it.
impl Classify for ServiceError {
    fn is_usage(&self) -> bool {
        matches!(
            self,
            ServiceError::KeyFile { .. }
                | ServiceError::BadArgument(_)
                | ServiceError::NoServiceManager
                | ServiceError::Psk(_)
        )
    }
}

impl ServiceError {
    pub(super) fn io(action: &'static str, path: &Path, scope: Scope, source: std::io::Error) -> ServiceError {
        let denied = matches!(
            source.kind(),
            ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem
        );
        if denied && scope == Scope::System {
            ServiceError::NotPermitted {
                path: path.to_path_buf(),
            }
        } else {
            ServiceError::Io {
                action,
                path: path.to_path_buf(),
                cause: source,
            }
        }
    }
}

/// The service manager's program is not on PATH.
pub(super) fn tool_missing(format: Format) -> ServiceError {
    ServiceError::ToolMissing {
        tool: format.tool(),
        format,
        needs: match format {
            Format::Launchd => "macOS",
            Format::Systemd => "a Linux system run by systemd",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_denied_on_a_system_path_says_to_use_sudo() {
        let denied = || std::io::Error::from(ErrorKind::PermissionDenied);
        let e = ServiceError::io("write", Path::new("/etc/x"), Scope::System, denied());
        assert!(e.to_string().contains("run it with sudo"), "{e}");
        assert!(e.to_string().contains("per-user service"), "{e}");
        let e = ServiceError::io("write", Path::new("/home/a/x"), Scope::User, denied());
        assert!(matches!(e, ServiceError::Io { .. }), "{e}");
    }
}
