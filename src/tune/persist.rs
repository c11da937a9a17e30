//! `--persist`: the sysctls as a marked block in a file read at boot — `/etc/sysctl.d/90-saf-net.conf`
//! on Linux, `/etc/sysctl.conf` on macOS — and its removal on revert. Other lines in the file are left
//! as they are; a file that only held the block is removed with it. Files are written whole.
//!
//! [`CONF_ENV`] moves the file (tests, and systems that read another one).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::TuneError;

/// Environment variable naming the file `--persist` writes instead of the OS's default.
pub const CONF_ENV: &str = "SAF_NET_SYSCTL_CONF";

pub const BEGIN: &str =
    "# BEGIN saf-net tune: written by `saf-net tune apply --persist`, removed by `saf-net tune revert`";
pub const END: &str = "# END saf-net tune";

/// The file `--persist` writes: `$SAF_NET_SYSCTL_CONF`, else `default`.
pub fn conf_path(default: &str) -> PathBuf {
    std::env::var_os(CONF_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TuneError + '_ {
    move |source| TuneError::Persist {
        path: path.to_path_buf(),
        cause: source,
    }
}

fn read(path: &Path) -> Result<String, TuneError> {
    match fs::read_to_string(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// The text with saf-net's block taken out.
fn without_block(text: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        if line.trim() == BEGIN {
            inside = true;
        } else if inside && line.trim() == END {
            inside = false;
        } else if !inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The block for these sysctls ("name=value" lines).
pub fn block(sysctls: &BTreeMap<String, String>) -> String {
    let mut b = format!("{BEGIN}\n");
    for (k, v) in sysctls {
        b += &format!("{k}={v}\n");
    }
    b + END + "\n"
}

fn write_whole(path: &Path, text: &str) -> Result<(), TuneError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.saf-net.tmp"));
    fs::write(&tmp, text).map_err(io_err(&tmp))?;
    if let Ok(meta) = fs::metadata(path) {
        let _ = fs::set_permissions(&tmp, meta.permissions());
    }
    fs::rename(&tmp, path).map_err(io_err(path))
}

/// Puts the block for `sysctls` into `path`, replacing an earlier one. False when the file already
/// says exactly that (nothing written).
pub fn write_block(path: &Path, sysctls: &BTreeMap<String, String>) -> Result<bool, TuneError> {
    let old = read(path)?;
    let mut new = without_block(&old);
    if !new.is_empty() && !new.ends_with("\n\n") {
        new.push('\n');
    }
    new += &block(sysctls);
    if new == old {
        return Ok(false);
    }
    write_whole(path, &new)?;
    Ok(true)
}

/// Takes saf-net's block out of `path`; removes the file when nothing else is left. False when there
/// was no block.
pub fn remove_block(path: &Path) -> Result<bool, TuneError> {
    let old = read(path)?;
    if !old.lines().any(|l| l.trim() == BEGIN) {
        return Ok(false);
    }
    let rest = without_block(&old);
    if rest.trim().is_empty() {
        fs::remove_file(path).map_err(io_err(path))?;
    } else {
        let rest = rest.trim_end().to_string() + "\n";
        write_whole(path, &rest)?;
    }
    Ok(true)
}

/// The sysctls a file sets at boot ("name=value" or "name = value" lines; comments skipped).
pub fn values(path: &Path) -> BTreeMap<String, String> {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            let k = k.trim().trim_start_matches('-');
            Some((k.to_string(), super::settings::normalize_value(v)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sysctls() -> BTreeMap<String, String> {
        [
            ("net.core.rmem_max".to_string(), "67108864".to_string()),
            ("net.ipv4.tcp_rmem".to_string(), "4096 131072 67108864".to_string()),
        ]
        .into()
    }

    #[test]
    fn a_file_of_our_own_is_written_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sysctl.d/90-saf-net.conf");
        assert!(write_block(&path, &sysctls()).unwrap());
        assert!(
            !write_block(&path, &sysctls()).unwrap(),
            "the same block twice writes nothing"
        );
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("net.ipv4.tcp_rmem=4096 131072 67108864\n"), "{text}");
        assert_eq!(values(&path)["net.core.rmem_max"], "67108864");
        assert!(remove_block(&path).unwrap());
        assert!(!path.exists());
        assert!(!remove_block(&path).unwrap());
    }

    #[test]
    fn other_lines_of_a_shared_file_stay() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sysctl.conf");
        fs::write(&path, "# mine\nkern.maxfiles=65536\n").unwrap();
        write_block(&path, &sysctls()).unwrap();
        let mut other = sysctls();
        other.insert("net.core.rmem_max".into(), "1".into());
        write_block(&path, &other).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches(BEGIN).count(), 1, "{text}");
        assert!(text.starts_with("# mine\nkern.maxfiles=65536\n\n# BEGIN"), "{text}");
        assert_eq!(values(&path)["net.core.rmem_max"], "1");
        assert!(remove_block(&path).unwrap());
        assert_eq!(fs::read_to_string(&path).unwrap(), "# mine\nkern.maxfiles=65536\n");
    }
}
