//! File facts the standard library keeps behind OS extensions: access checks, kinds, modes, owners; and the one
//! way saf-net writes a file whole.

use std::fs::{File, FileType, Metadata, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Writes `contents` to `path` whole: a temp file in the same folder (which must exist), synced, then renamed
/// over `path`. On failure the temp file is removed, so no partial file is ever left under the final name.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Whether this process may create files in `dir` (write and search permission), asked without creating any.
#[cfg(unix)]
pub fn may_create_in(dir: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call; access() only reads it.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Portable fallback: the folder's read-only flag.
#[cfg(not(unix))]
pub fn may_create_in(dir: &Path) -> io::Result<()> {
    if std::fs::metadata(dir)?.permissions().readonly() {
        return Err(io::Error::from(io::ErrorKind::PermissionDenied));
    }
    Ok(())
}

/// Makes `open` return at once on a FIFO without a reader and never adopt a terminal.
#[cfg(unix)]
pub fn open_without_blocking(o: &mut OpenOptions) -> &mut OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    o.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
}

/// Portable fallback: opening never blocks there.
#[cfg(not(unix))]
pub fn open_without_blocking(o: &mut OpenOptions) -> &mut OpenOptions {
    o
}

/// Whether an open failed because it was a FIFO without a reader (opened without blocking).
#[cfg(unix)]
pub fn is_fifo_without_reader(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENXIO)
}

/// Portable fallback: no such failure.
#[cfg(not(unix))]
pub fn is_fifo_without_reader(_: &io::Error) -> bool {
    false
}

/// What a file that is not a regular file is, as "a …" for messages.
pub fn kind(t: &FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() { "a folder" } else { "not a regular file" }
}

/// The permission bits (e.g. 0o644).
#[cfg(unix)]
pub fn mode(m: &Metadata) -> Option<u32> {
    Some(std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777)
}

/// Portable fallback: no permission bits.
#[cfg(not(unix))]
pub fn mode(_: &Metadata) -> Option<u32> {
    None
}

/// Gives `file` the owner and group of `like`, where it differs (only root may give a file away).
#[cfg(unix)]
pub fn copy_owner(like: &Metadata, file: &File) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let have = file.metadata()?;
    if (have.uid(), have.gid()) != (like.uid(), like.gid()) {
        std::os::unix::fs::fchown(file, Some(like.uid()), Some(like.gid()))?;
    }
    Ok(())
}

/// Portable fallback: files have no owner to copy.
#[cfg(not(unix))]
pub fn copy_owner(_: &Metadata, _: &File) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temp_folder_takes_files_and_a_missing_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        may_create_in(dir.path()).unwrap();
        let err = may_create_in(&dir.path().join("missing")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[cfg(unix)]
    #[test]
    fn kinds_name_devices_folders_and_fifos() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            kind(&std::fs::metadata("/dev/null").unwrap().file_type()),
            "a character device"
        );
        assert_eq!(kind(&std::fs::metadata(dir.path()).unwrap().file_type()), "a folder");
        let f = dir.path().join("f");
        std::fs::write(&f, "x").unwrap();
        assert_eq!(mode(&std::fs::metadata(&f).unwrap()).map(|m| m & 0o600), Some(0o600));
    }
}
