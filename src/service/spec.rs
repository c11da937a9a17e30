//! What the service runs: the command line, checked, and the key file it reads.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::error::ServiceError;
use crate::runner;

/// What the service runs: `EXE server|monitor [--psk-file KEY] SERVER_ARGS...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// `server` or `monitor`.
    pub role: super::Role,
    /// Absolute path of the saf-net program.
    pub exe: PathBuf,
    /// Absolute path of the pre-shared key file, passed to the server as `--psk-file`.
    pub psk_file: Option<PathBuf>,
    /// Further flags of `saf-net server` (or `monitor`).
    pub server_args: Vec<String>,
}

impl Spec {
    /// The command line, checked: UTF-8 paths, absolute, no control characters (a plist cannot hold
    /// them and a unit file would need them escaped).
    pub fn argv(&self) -> Result<Vec<String>, ServiceError> {
        let path = |p: &Path, what: &str| -> Result<String, ServiceError> {
            if !p.is_absolute() {
                return Err(ServiceError::BadArgument(format!(
                    "{what} {} is not an absolute path",
                    p.display()
                )));
            }
            p.to_str()
                .map(String::from)
                .ok_or_else(|| ServiceError::BadArgument(format!("{what} {} is not valid UTF-8", p.display())))
        };
        let mut argv = vec![path(&self.exe, "the program")?, self.role.subcommand().to_string()];
        if let Some(key) = &self.psk_file {
            argv.push("--psk-file".into());
            argv.push(path(key, "the key file")?);
        }
        argv.extend(self.server_args.iter().cloned());
        if let Some(bad) = argv.iter().find(|a| a.chars().any(char::is_control)) {
            return Err(ServiceError::BadArgument(format!(
                "{bad:?} contains a control character, which a service file cannot hold"
            )));
        }
        Ok(argv)
    }
}

/// Checks a pre-shared key file the service will read: it must exist, be a regular file and not be
/// readable by everyone. Returns its absolute path.
pub fn check_key_file(path: &Path) -> Result<PathBuf, ServiceError> {
    let problem = |problem: String| ServiceError::KeyFile {
        path: path.to_path_buf(),
        problem,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Err(problem("does not exist".into())),
        Err(e) => return Err(problem(format!("cannot be read: {e}"))),
    };
    if !meta.is_file() {
        return Err(problem("is not a regular file".into()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o004 != 0 {
            return Err(problem(format!(
                "is readable by everyone (mode {mode:03o}); make it private first: chmod 600 {}",
                runner::shell_quote(&path.display().to_string())
            )));
        }
    }
    std::fs::canonicalize(path).map_err(|e| problem(format!("cannot be resolved: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Classify;

    #[test]
    fn argv_puts_the_key_first_and_refuses_what_a_file_cannot_hold() {
        let mut spec = Spec {
            role: crate::service::Role::Server,
            exe: "/usr/local/bin/saf-net".into(),
            psk_file: Some("/etc/saf-net/psk".into()),
            server_args: vec!["-p".into(), "5301".into()],
        };
        assert_eq!(
            spec.argv().unwrap(),
            [
                "/usr/local/bin/saf-net",
                "server",
                "--psk-file",
                "/etc/saf-net/psk",
                "-p",
                "5301"
            ]
        );
        spec.server_args.push("a\nb".into());
        assert!(matches!(spec.argv(), Err(ServiceError::BadArgument(_))));
        spec.server_args.pop();
        spec.exe = "saf-net".into();
        assert!(spec.argv().unwrap_err().to_string().contains("not an absolute path"));
    }

    #[cfg(unix)]
    #[test]
    fn key_files_must_exist_and_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("psk");
        let err = check_key_file(&key).unwrap_err();
        assert!(err.is_usage());
        assert!(err.to_string().ends_with("psk: does not exist"), "{err}");
        std::fs::write(&key, "0123456789abcdef0123").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = check_key_file(&key).unwrap_err().to_string();
        assert!(
            err.contains("readable by everyone (mode 644)") && err.contains("chmod 600"),
            "{err}"
        );
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(check_key_file(&key).unwrap(), std::fs::canonicalize(&key).unwrap());
        assert!(
            check_key_file(dir.path())
                .unwrap_err()
                .to_string()
                .contains("not a regular file")
        );
    }
}
