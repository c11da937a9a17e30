//! Output files: the output folder is checked before any work, and every file is written whole.

use std::fs::{self, File};
use std::path::Path;

use super::error::ReportError;
use crate::platform::files;

/// Creates `dir` if needed and proves it writable, so a bad `--out` fails before anything is drawn.
pub fn prepare_out_dir(dir: &Path) -> Result<(), ReportError> {
    let err = |source| ReportError::OutputDir {
        path: dir.to_path_buf(),
        source,
    };
    if dir.exists() && !dir.is_dir() {
        return Err(err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "it exists and is not a folder",
        )));
    }
    fs::create_dir_all(dir).map_err(err)?;
    let probe = dir.join(format!(".saf-net-write-probe-{}", std::process::id()));
    File::create(&probe).map_err(err)?;
    let _ = fs::remove_file(&probe);
    Ok(())
}

/// Writes `contents` to `path` whole ([`files::write_atomic`]): never a partial file under the final name.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), ReportError> {
    files::write_atomic(path, contents).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_refuses_a_file_as_folder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/b");
        prepare_out_dir(&out).unwrap();
        write_atomic(&out.join("x.txt"), b"hello").unwrap();
        assert_eq!(fs::read_to_string(out.join("x.txt")).unwrap(), "hello");
        assert_eq!(fs::read_dir(&out).unwrap().count(), 1, "no temp files left");
        let file = dir.path().join("f");
        fs::write(&file, "").unwrap();
        let e = prepare_out_dir(&file).unwrap_err();
        let cause = std::error::Error::source(&e).unwrap().to_string();
        assert!(e.to_string().starts_with("cannot write to output folder"), "{e}");
        assert!(cause.contains("not a folder"), "{cause}");
        let e = write_atomic(&dir.path().join("missing/x.png"), b"x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing/x.png"), "{e}");
    }
}
