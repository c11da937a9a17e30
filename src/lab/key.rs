//! The lab key of a lab built with `--hosts`: 32 random bytes, hex, made at `lab up` and kept in the
//! lab's state folder (mode 0600, root's). Its servers read it with `--psk-file`; `lab exec` hands it
//! to the command it runs as SAF_NET_PSK, so a client or mesh inside the lab needs no flag for it.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::LabError;

/// The key file's name in the lab's state folder.
pub const KEY_FILE: &str = "psk";
/// Random bytes in a lab key (written as twice as many hex digits).
pub const KEY_BYTES: usize = 32;

fn state_err(path: &Path) -> impl FnOnce(std::io::Error) -> LabError + '_ {
    move |cause| LabError::State {
        path: path.to_path_buf(),
        cause,
    }
}

/// A fresh lab key, hex.
pub fn generate() -> Result<String, LabError> {
    let mut b = [0u8; KEY_BYTES];
    getrandom::fill(&mut b).map_err(|e| LabError::State {
        path: PathBuf::from("(the system's random source)"),
        cause: std::io::Error::other(e.to_string()),
    })?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Writes a new key to `dir/psk`, readable by its owner only from the start; returns its path.
pub fn create(dir: &Path) -> Result<PathBuf, LabError> {
    let path = dir.join(KEY_FILE);
    let key = generate()?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(state_err(&path))?;
    f.write_all(format!("{key}\n").as_bytes()).map_err(state_err(&path))?;
    Ok(path)
}

/// The key in `path`, trimmed.
pub fn read(path: &Path) -> Result<String, LabError> {
    let text = std::fs::read_to_string(path).map_err(state_err(path))?;
    Ok(text.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_key_is_64_hex_digits_private_to_its_owner_and_new_each_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = create(dir.path()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let key = read(&path).unwrap();
        assert_eq!(key.len(), 2 * KEY_BYTES);
        assert!(key.chars().all(|c| c.is_ascii_hexdigit()), "{key}");
        assert_ne!(key, generate().unwrap());
        let psk = crate::auth::Psk::resolve(Some(&path)).unwrap();
        assert!(psk.is_some(), "the server accepts it as its --psk-file");
        assert!(create(dir.path()).is_err(), "an existing key is never overwritten");
    }
}
