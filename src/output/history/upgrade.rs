//! Rewrites a history of an older schema under the current header: a byte-for-byte backup named after the
//! old version first, then the new file whole beside it and a rename, so the history is never half-written.
//! A kind's own columns (schemas 2–4) leave the CSV: each row's values go into its per-run JSON's
//! `history_columns` first (created when the row has none), so nothing is dropped.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, ErrorKind};
use std::path::{Path, PathBuf};

use super::target::folder;
use super::{HistoryError, KindColumns, details, header};
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
    let result = rewrite(&real, &tmp, &original, folder(csv_path))
        .and_then(|()| fs::rename(&tmp, &real).map_err(super::io(&real)));
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

/// Streams every row of `real` into `tmp` under the current header, columns matched by name (those a row
/// lacks left empty); the values of the columns that leave go into the row's per-run JSON under `dir`.
fn rewrite(real: &Path, tmp: &Path, original: &fs::Metadata, dir: &Path) -> Result<(), HistoryError> {
    let csv_err = |cause| HistoryError::Csv {
        path: real.to_path_buf(),
        cause,
    };
    let source = File::open(real).map_err(super::io(real))?;
    let mut rd = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(BufReader::new(source));
    let old = rd.byte_headers().map_err(csv_err)?.clone();
    let out = File::create(tmp).map_err(super::io(tmp))?;
    keep_access(&out, original).map_err(super::io(tmp))?;
    let mut w = csv::Writer::from_writer(BufWriter::new(out));
    let columns = header();
    let from: Vec<Option<usize>> = columns
        .iter()
        .map(|c| old.iter().position(|h| h == c.as_bytes()))
        .collect();
    w.write_record(columns).map_err(csv_err)?;
    let mut rec = csv::ByteRecord::new();
    while rd.read_byte_record(&mut rec).map_err(csv_err)? {
        let line = rec.position().map_or(0, |p| p.line());
        let stop = |why: String| HistoryError::Upgrade {
            path: real.to_path_buf(),
            line,
            why,
        };
        if rec.len() > old.len() {
            return Err(stop(format!("{} fields where the header has {}", rec.len(), old.len())));
        }
        let mut row: Vec<Vec<u8>> = from
            .iter()
            .map(|i| i.and_then(|i| rec.get(i)).unwrap_or_default().to_vec())
            .collect();
        move_detail(&rec, &old, &mut row, dir, line).map_err(stop)?;
        w.write_record(&row).map_err(csv_err)?;
    }
    let file = w
        .into_inner()
        .map_err(|e| super::io(tmp)(e.into_error()))?
        .into_inner()
        .map_err(|e| super::io(tmp)(e.into_error()))?;
    file.sync_all().map_err(super::io(tmp))?;
    Ok(())
}

/// Puts the kind's own values of an old row into its per-run JSON (named in `row`'s details column, which gets
/// `runs/<run_id>.json` when it was empty).
fn move_detail(
    rec: &csv::ByteRecord,
    old: &csv::ByteRecord,
    row: &mut [Vec<u8>],
    dir: &Path,
    line: u64,
) -> Result<(), String> {
    let mut full = rec.clone();
    while full.len() < old.len() {
        full.push_field(b"");
    }
    let detail: KindColumns = full.deserialize(Some(old)).map_err(|e| match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => {
            let column = err
                .field()
                .and_then(|i| old.get(i as usize))
                .map(String::from_utf8_lossy);
            format!("column {}: {}", column.unwrap_or_default(), err.kind())
        }
        _ => e.to_string(),
    })?;
    if detail.is_empty() {
        return Ok(());
    }
    let at = |name: &str| header().iter().position(|c| *c == name).expect("a current column");
    let (details, run_id) = (at("details"), at("run_id"));
    if row[details].is_empty() {
        row[details] = new_details(&row[run_id], line).into_bytes();
    }
    let rel = String::from_utf8(row[details].clone()).map_err(|_| "its details column is not UTF-8".to_string())?;
    let json = dir.join(&rel);
    details::merge_into(&json, &detail)
        .map(drop)
        .map_err(|why| format!("its per-run JSON {} {why}", json.display()))
}

/// `runs/<run_id>.json` for a row that had no per-run JSON (`runs/line-N.json` if the id is no plain file name).
fn new_details(run_id: &[u8], line: u64) -> String {
    let plain = |id: &str| {
        !id.is_empty() && !id.starts_with('.') && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    };
    match std::str::from_utf8(run_id) {
        Ok(id) if plain(id) => format!("runs/{id}.json"),
        _ => format!("runs/line-{line}.json"),
    }
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

    #[test]
    fn rows_without_a_json_get_one_named_after_them() {
        assert_eq!(
            new_details(b"20261004T090000Z-v4aaaa", 2),
            "runs/20261004T090000Z-v4aaaa.json"
        );
        for odd in [&b""[..], b"../x", b".hidden", b"a/b", b"\xff"] {
            assert_eq!(new_details(odd, 7), "runs/line-7.json", "{odd:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_private_history_stays_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("h.csv");
        fs::write(&csv, format!("{}\n", super::super::schema::V4_COLUMNS[..32].join(","))).unwrap();
        fs::set_permissions(&csv, fs::Permissions::from_mode(0o600)).unwrap();
        let backup = upgrade(&csv, 2).unwrap();
        for p in [&csv, &backup] {
            assert_eq!(fs::metadata(p).unwrap().permissions().mode() & 0o777, 0o600, "{p:?}");
        }
    }
}
