//! Pre-shared-key authentication: an HMAC-SHA256 challenge-response in both directions.
//!
//! The client sends a nonce in its hello; the server answers with its own nonce and a proof over both;
//! the client checks that proof (the server holds the key), then proves itself the same way. Proofs are
//! compared in constant time.

use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Keys shorter than this are refused.
pub const MIN_KEY_BYTES: usize = 16;
/// Environment variable holding the key itself.
pub const PSK_ENV: &str = "SAF_NET_PSK";

/// Why a key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot read the key file {path}: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error(
        "the key in {origin} is {len} bytes; use at least {MIN_KEY_BYTES} (e.g. `openssl rand -hex 32 > saf-net.key`)"
    )]
    TooShort { origin: String, len: usize },
}

/// A pre-shared key.
#[derive(Clone)]
pub struct Psk(Vec<u8>);

impl std::fmt::Debug for Psk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Psk(..)")
    }
}

impl Psk {
    fn new(bytes: &[u8], origin: String) -> Result<Psk, AuthError> {
        let key = bytes.trim_ascii();
        if key.len() < MIN_KEY_BYTES {
            return Err(AuthError::TooShort { origin, len: key.len() });
        }
        Ok(Psk(key.to_vec()))
    }

    /// The key from `--psk-file` if given, else from $SAF_NET_PSK, else none (an open server or client).
    pub fn resolve(file: Option<&Path>) -> Result<Option<Psk>, AuthError> {
        if let Some(path) = file {
            let bytes = std::fs::read(path).map_err(|source| AuthError::Read {
                path: path.into(),
                cause: source,
            })?;
            return Psk::new(&bytes, path.display().to_string()).map(Some);
        }
        match std::env::var(PSK_ENV) {
            Ok(v) if !v.is_empty() => Psk::new(v.as_bytes(), format!("${PSK_ENV}")).map(Some),
            _ => Ok(None),
        }
    }

    fn mac(&self, role: &str, first: &str, second: &str) -> Hmac<Sha256> {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        for part in [role, first, second] {
            m.update(&(part.len() as u32).to_be_bytes());
            m.update(part.as_bytes());
        }
        m
    }

    /// The proof that the `role` side holds the key, over both nonces in that side's order.
    pub fn proof(&self, role: &str, first: &str, second: &str) -> String {
        hex(&self.mac(role, first, second).finalize().into_bytes())
    }

    /// Checks a proof in constant time.
    pub fn verify(&self, role: &str, first: &str, second: &str, proof: &str) -> bool {
        match unhex(proof) {
            Some(bytes) => self.mac(role, first, second).verify_slice(&bytes).is_ok(),
            None => false,
        }
    }
}

/// A key file that group or others may read: worth a warning before it is used, as ssh gives one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExposedKeyFile {
    pub path: PathBuf,
    /// Permission bits, e.g. 0o644.
    pub mode: u32,
}

impl ExposedKeyFile {
    /// The file at `path` if group or others may read it; None if it is private or cannot be looked at.
    pub fn check(path: &Path) -> Option<ExposedKeyFile> {
        let mode = std::fs::metadata(path)
            .ok()
            .and_then(|m| crate::platform::files::mode(&m))?;
        (mode & 0o044 != 0).then(|| ExposedKeyFile {
            path: path.into(),
            mode,
        })
    }
}

impl std::fmt::Display for ExposedKeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let who = match (self.mode & 0o040 != 0, self.mode & 0o004 != 0) {
            (true, true) => "group and others",
            (true, false) => "its group",
            _ => "others",
        };
        let shown = self.path.display().to_string();
        write!(
            f,
            "WARNING: UNPROTECTED KEY FILE! {shown} has mode {:04o}, readable by {who}, and whoever reads the key \
can pass as you; run: chmod 600 {}",
            self.mode,
            crate::shell::shell_quote(&shown)
        )
    }
}

/// A fresh random nonce, hex-encoded.
pub fn nonce() -> std::io::Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(hex(&b))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 128 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Roles bound into the proofs, so one side's proof can never be replayed as the other's.
pub const SERVER_ROLE: &str = "saf-net server v1";
pub const CLIENT_ROLE: &str = "saf-net client v1";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_verify_only_with_the_same_key_role_and_nonces() {
        let k = Psk::new(b"0123456789abcdef-secret\n", "t".into()).unwrap();
        let other = Psk::new(b"another key of 16+ bytes", "t".into()).unwrap();
        let p = k.proof(SERVER_ROLE, "aa", "bb");
        assert!(k.verify(SERVER_ROLE, "aa", "bb", &p));
        assert!(!other.verify(SERVER_ROLE, "aa", "bb", &p));
        assert!(!k.verify(CLIENT_ROLE, "aa", "bb", &p), "roles differ");
        assert!(!k.verify(SERVER_ROLE, "bb", "aa", &p), "order matters");
        assert!(!k.verify(SERVER_ROLE, "aa", "bb", "zz"));
        assert!(!k.verify(SERVER_ROLE, "aa", "bb", ""));
    }

    #[test]
    fn short_keys_are_refused_and_files_are_trimmed() {
        assert!(matches!(
            Psk::new(b"  short \n", "x".into()),
            Err(AuthError::TooShort { len: 5, .. })
        ));
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("k");
        std::fs::write(&f, "  0123456789abcdef  \n").unwrap();
        let k = Psk::resolve(Some(&f)).unwrap().unwrap();
        assert_eq!(k.0, b"0123456789abcdef");
        let err = Psk::resolve(Some(&dir.path().join("missing"))).unwrap_err();
        assert!(err.to_string().contains("cannot read the key file"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn key_files_others_may_read_are_named_with_their_mode_and_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("my key");
        std::fs::write(&f, "0123456789abcdef").unwrap();
        for (mode, who) in [(0o644, "group and others"), (0o640, "its group"), (0o604, "others")] {
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
            let w = ExposedKeyFile::check(&f).expect("exposed").to_string();
            assert!(w.starts_with("WARNING: UNPROTECTED KEY FILE! "), "{w}");
            assert!(w.contains(&format!("has mode {mode:04o}, readable by {who},")), "{w}");
            assert!(w.ends_with(&format!("chmod 600 '{}'", f.display())), "{w}");
            assert_eq!(w.lines().count(), 1);
        }
        for mode in [0o600, 0o400, 0o620] {
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(ExposedKeyFile::check(&f), None, "{mode:o}");
        }
    }
}
