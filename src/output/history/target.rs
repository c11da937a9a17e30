//! The history file as a target: checked before a test without creating anything, then opened and read
//! under the lock (the header line and the last byte only, so an append costs the same at any size).

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::HistoryError;
use super::schema::{self, Layout};
use crate::platform::files;

/// Most bytes read looking for the header line; saf-net's own is under 1 KiB.
const MAX_HEADER: usize = 64 * 1024;

/// What an append needs to know of an open history file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub layout: Layout,
    /// Bytes in the file when it was read.
    pub len: u64,
    /// Whether a newline must go before the next row (a file cut off mid-line).
    pub needs_newline: bool,
}

/// The folder a history file lives in ("." for a bare file name).
pub fn folder(csv_path: &Path) -> &Path {
    csv_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// The lock file beside the history.
pub fn lock_path(csv_path: &Path) -> PathBuf {
    let name = csv_path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    folder(csv_path).join(format!(".{name}.lock"))
}

/// Checks that a row could be appended to `csv_path` now, creating nothing: the folder (or the nearest one
/// that exists) takes new files, and an existing file is a writable regular file with a saf-net header.
pub fn check(csv_path: &Path) -> Result<(), HistoryError> {
    let dir = folder(csv_path);
    check_folder(csv_path, dir)?;
    for beside in [dir.join("runs"), lock_path(csv_path)] {
        check_beside(csv_path, &beside)?;
    }
    if let Some(file) = open(csv_path, false)? {
        head(&file, csv_path)?;
    }
    Ok(())
}

/// The nearest existing folder of `dir` must be a folder this process may create files in.
fn check_folder(csv_path: &Path, dir: &Path) -> Result<(), HistoryError> {
    let mut at = dir;
    loop {
        match fs::metadata(at) {
            Ok(m) if m.is_dir() => break,
            Ok(_) => {
                return Err(HistoryError::NotInFolder {
                    path: csv_path.into(),
                    blocker: at.into(),
                });
            }
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => match at.parent() {
                Some(p) if p.as_os_str().is_empty() => at = Path::new("."),
                Some(p) => at = p,
                None => break,
            },
            Err(source) => return Err(unwritable(csv_path, source)),
        }
    }
    files::may_create_in(at).map_err(|source| unwritable(csv_path, source))
}

/// `runs/` and the lock file, if they exist, must be a writable folder and a writable file.
fn check_beside(csv_path: &Path, beside: &Path) -> Result<(), HistoryError> {
    let Ok(m) = fs::metadata(beside) else {
        return Ok(());
    };
    let is_runs = beside.file_name().is_some_and(|n| n == "runs");
    if is_runs && !m.is_dir() {
        return Err(HistoryError::NotInFolder {
            path: csv_path.into(),
            blocker: beside.into(),
        });
    }
    if !is_runs && !m.is_file() {
        return Err(not_regular(beside, &m));
    }
    let writable = if is_runs {
        files::may_create_in(beside)
    } else {
        OpenOptions::new().append(true).open(beside).map(drop)
    };
    writable.map_err(|source| unwritable(csv_path, source))
}

/// Opens the history for reading and appending (`create`: making it if missing), refusing anything but a
/// regular file before it is opened and again once it is. None when it does not exist and `create` is false.
pub fn open(csv_path: &Path, create: bool) -> Result<Option<File>, HistoryError> {
    match fs::metadata(csv_path) {
        Ok(m) if !m.is_file() => return Err(not_regular(csv_path, &m)),
        Err(e) if e.kind() == ErrorKind::NotFound && !create => return Ok(None),
        _ => {}
    }
    let mut o = OpenOptions::new();
    o.read(true).append(true).create(create);
    let file = match files::open_without_blocking(&mut o).open(csv_path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound && !create => return Ok(None),
        Err(e) if files::is_fifo_without_reader(&e) => {
            return Err(HistoryError::NotRegular {
                path: csv_path.into(),
                kind: "a FIFO",
            });
        }
        Err(source) => return Err(unwritable(csv_path, source)),
    };
    let m = file.metadata().map_err(super::io(csv_path))?;
    if !m.is_file() {
        return Err(not_regular(csv_path, &m));
    }
    Ok(Some(file))
}

/// Reads what an append needs: the header line (at most [`MAX_HEADER`] bytes) and the last byte.
pub fn head(file: &File, csv_path: &Path) -> Result<Head, HistoryError> {
    let err = |cause| HistoryError::Io {
        path: csv_path.into(),
        cause,
    };
    let len = file.metadata().map_err(err)?.len();
    if len == 0 {
        return Ok(Head {
            layout: Layout::Empty,
            len,
            needs_newline: false,
        });
    }
    let mut f = file;
    let mut start = Vec::with_capacity(MAX_HEADER.min(len as usize));
    f.seek(SeekFrom::Start(0)).map_err(err)?;
    f.take(MAX_HEADER as u64).read_to_end(&mut start).map_err(err)?;
    let layout = header_line(&start, len)
        .and_then(parse_header)
        .ok_or_else(|| HistoryError::NotAHistory { path: csv_path.into() })?;
    let mut last = [0u8];
    f.seek(SeekFrom::End(-1)).map_err(err)?;
    f.read_exact(&mut last).map_err(err)?;
    Ok(Head {
        layout,
        len,
        needs_newline: last[0] != b'\n',
    })
}

/// The first line of `start` (the file's first bytes); None if it is longer than [`MAX_HEADER`].
fn header_line(start: &[u8], len: u64) -> Option<&[u8]> {
    match start.iter().position(|&b| b == b'\n') {
        Some(end) => Some(&start[..end]),
        None if len as usize <= MAX_HEADER => Some(start),
        None => None,
    }
}

/// The layout a header line names (csv quoting and a trailing CR allowed).
fn parse_header(line: &[u8]) -> Option<Layout> {
    let mut rd = csv::ReaderBuilder::new().has_headers(false).from_reader(line);
    let mut rec = csv::ByteRecord::new();
    match rd.read_byte_record(&mut rec) {
        Ok(true) => schema::classify(rec.iter()),
        _ => None,
    }
}

fn not_regular(csv_path: &Path, m: &fs::Metadata) -> HistoryError {
    HistoryError::NotRegular {
        path: csv_path.into(),
        kind: files::kind(&m.file_type()),
    }
}

fn unwritable(csv_path: &Path, cause: io::Error) -> HistoryError {
    HistoryError::Unwritable {
        path: csv_path.into(),
        cause,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::history::header;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, text).unwrap();
        p
    }

    fn head_of(p: &Path) -> Result<Head, HistoryError> {
        head(&open(p, false)?.expect("exists"), p)
    }

    #[test]
    fn heads_tell_the_layout_and_a_missing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let h = header().join(",");
        let cut = write(dir.path(), "cut.csv", &format!("{h}\n4,throughput"));
        assert_eq!(head_of(&cut).unwrap().layout, Layout::Current);
        assert!(head_of(&cut).unwrap().needs_newline);
        let crlf = write(dir.path(), "crlf.csv", &format!("{h}\r\n"));
        assert!(!head_of(&crlf).unwrap().needs_newline);
        let bare = write(dir.path(), "bare.csv", &h);
        assert!(head_of(&bare).unwrap().needs_newline);
        let empty = write(dir.path(), "empty.csv", "");
        assert_eq!(head_of(&empty).unwrap().layout, Layout::Empty);
    }

    #[test]
    fn a_header_longer_than_the_bound_is_not_a_history() {
        let dir = tempfile::tempdir().unwrap();
        let long = write(dir.path(), "long.csv", &"x".repeat(MAX_HEADER + 1));
        assert!(matches!(head_of(&long), Err(HistoryError::NotAHistory { .. })));
    }

    #[test]
    fn checks_create_nothing() {
        let dir = tempfile::tempdir().unwrap();
        check(&dir.path().join("a/b/h.csv")).unwrap();
        check(&dir.path().join("h.csv")).unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        let file = write(dir.path(), "file", "x");
        assert!(matches!(
            check(&file.join("h.csv")),
            Err(HistoryError::NotInFolder { blocker, .. }) if blocker == file
        ));
        assert!(matches!(
            check(dir.path()),
            Err(HistoryError::NotRegular { kind: "a folder", .. })
        ));
    }
}
