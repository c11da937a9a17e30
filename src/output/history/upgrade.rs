//! Rewrites a history of an older schema under the current header: a byte-for-byte backup named after the
//! old version first, then the new file whole beside it and a rename, so the history is never half-written.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, ErrorKind};
use std::path::{Path, PathBuf};

use super::target::folder;
use super::{HistoryError, header};
use crate::platform::files;

/// Backups tried per version (`h.csv.v3.bak`, `h.csv.v3.2.bak`, …) before giving up.
const MAX_BACKUPS: u32 = 100;

/// Upgrades `csv_path` (written with schema `version`) in place; returns the backup's path.
/// The caller holds the history's lock. A symlinked history is upgraded where it points.
pub fn upgrade(csv_path: &Path, version: u32) -> Result<PathBuf, HistoryError> {
    let real = fs::canonicalize(csv_path).map_err(super::io(csv_path))?;
    let original = fs::metadata(&real).map_err(super::io(&real))?;
    let backup = backup(&real, version, &original)?;
    let tmp = temp_path(&real);
    let result = rewrite(&real, &tmp, &original).and_then(|()| fs::rename(&tmp, &real).map_err(super::io(&real)));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    // The rename is durable once the folder is synced; not every file system can, which costs nothing else.
    let _ = File::open(folder(&real)).and_then(|d| d.sync_all());
    Ok(backup)
}

/// Copies the file to the first free backup name, with its permissions and owner.
fn backup(real: &Path, version: u32, original: &fs::Metadata) -> Result<PathBuf, HistoryError> {
    let name = real.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    for n in 1..=MAX_BACKUPS {
        let suffix = if n == 1 { String::new() } else { format!(".{n}") };
        let path = folder(real).join(format!("{name}.v{version}{suffix}.bak"));
        let mut out = match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(super::io(&path)(e)),
        };
        let copied = copy_into(real, &mut out, original);
        if copied.is_err() {
            let _ = fs::remove_file(&path);
        }
        return copied.map(|()| path.clone()).map_err(super::io(&path));
    }
    Err(super::io(real)(io::Error::new(
        ErrorKind::AlreadyExists,
        format!("{MAX_BACKUPS} backups of schema {version} exist already; move some away"),
    )))
}

fn copy_into(real: &Path, out: &mut File, original: &fs::Metadata) -> io::Result<()> {
    io::copy(&mut File::open(real)?, out)?;
    keep_access(out, original)?;
    out.sync_all()
}

/// The new file gets the old one's permission bits (a private history stays private) and, where allowed, owner.
fn keep_access(file: &File, original: &fs::Metadata) -> io::Result<()> {
    file.set_permissions(original.permissions())?;
    match files::copy_owner(original, file) {
        Err(e) if e.kind() == ErrorKind::PermissionDenied => Ok(()),
        other => other,
    }
}

fn temp_path(real: &Path) -> PathBuf {
    let name = real.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    folder(real).join(format!(".{name}.upgrade-{}", std::process::id()))
}

/// Streams every row of `real` into `tmp` under the current header; columns a row lacks are left empty.
fn rewrite(real: &Path, tmp: &Path, original: &fs::Metadata) -> Result<(), HistoryError> {
    let csv_err = |cause| HistoryError::Csv {
        path: real.to_path_buf(),
        cause,
    };
    let source = File::open(real).map_err(super::io(real))?;
    let mut rd = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(BufReader::new(source));
    let out = File::create(tmp).map_err(super::io(tmp))?;
    keep_access(&out, original).map_err(super::io(tmp))?;
    let mut w = csv::Writer::from_writer(BufWriter::new(out));
    let columns = header();
    w.write_record(columns).map_err(csv_err)?;
    let mut rec = csv::ByteRecord::new();
    while rd.read_byte_record(&mut rec).map_err(csv_err)? {
        let pad = columns.len().saturating_sub(rec.len());
        w.write_record(rec.iter().chain(std::iter::repeat_n(&b""[..], pad)))
            .map_err(csv_err)?;
    }
    let file = w
        .into_inner()
        .map_err(|e| super::io(tmp)(e.into_error()))?
        .into_inner()
        .map_err(|e| super::io(tmp)(e.into_error()))?;
    file.sync_all().map_err(super::io(tmp))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_their_fields_and_a_backup_keeps_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("h.csv");
        let v1 = format!("{}\n1,throughput,r1,,\"a, b\"\n", header()[..19].join(","));
        fs::write(&csv, &v1).unwrap();
        let backup = upgrade(&csv, 1).unwrap();
        assert_eq!(backup, dir.path().join("h.csv.v1.bak"));
        assert_eq!(fs::read_to_string(&backup).unwrap(), v1);
        let text = fs::read_to_string(&csv).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(header().join(",").as_str()));
        let row = lines.next().unwrap();
        assert!(row.starts_with("1,throughput,r1,,\"a, b\","), "{row}");
        let fields = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(row.as_bytes())
            .records()
            .next();
        assert_eq!(fields.unwrap().unwrap().len(), header().len(), "{row}");
        fs::write(&csv, &v1).unwrap();
        assert_eq!(upgrade(&csv, 1).unwrap(), dir.path().join("h.csv.v1.2.bak"));
        assert_eq!(fs::read_to_string(dir.path().join("h.csv.v1.bak")).unwrap(), v1);
    }

    #[cfg(unix)]
    #[test]
    fn a_private_history_stays_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("h.csv");
        fs::write(&csv, format!("{}\n", header()[..32].join(","))).unwrap();
        fs::set_permissions(&csv, fs::Permissions::from_mode(0o600)).unwrap();
        let backup = upgrade(&csv, 2).unwrap();
        for p in [&csv, &backup] {
            assert_eq!(fs::metadata(p).unwrap().permissions().mode() & 0o777, 0o600, "{p:?}");
        }
    }
}
