//! The run history: a versioned CSV, one whole line per run, plus one JSON file per run beside it.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::platform::files;

/// Bumped whenever the columns change; readers accept every earlier version.
pub const SCHEMA_VERSION: u32 = 5;

/// Environment variable that overrides the default history file.
pub const HISTORY_ENV: &str = "SAF_NET_HISTORY";

pub mod details;
mod kind;
mod row;
mod schema;
mod target;
mod upgrade;

pub use kind::Kind;
pub use row::{HistoryRecord, HistoryRow, KindColumns};
pub use schema::{Layout, V4_COLUMNS, header};
pub use target::check;

/// Why the history could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("no data directory on this system; pass --csv FILE or set {HISTORY_ENV}")]
    NoDataDir,
    #[error(
        "history {path} is not a saf-net history (its first line is no saf-net header), so it was left unchanged; \
pass --csv with another file, or --no-history"
    )]
    NotAHistory { path: PathBuf },
    #[error("history {path} is {kind}, not a regular file; pass --csv with a file's path, or --no-history")]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("history {path}: {blocker} is not a folder; pass --csv with a path in a folder, or --no-history")]
    NotInFolder { path: PathBuf, blocker: PathBuf },
    // The causes are part of each message (one line), not a source chain that would print them twice.
    #[error("cannot write the history {path} ({cause}); fix its permissions, or pass --csv FILE or --no-history")]
    Unwritable { path: PathBuf, cause: std::io::Error },
    #[error("history {path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    #[error("history {path}: {cause}")]
    Csv { path: PathBuf, cause: csv::Error },
    #[error(
        "cannot upgrade the history {path} to schema {SCHEMA_VERSION}: line {line}: {why}; the history was left as it \
was (a copy is beside it); fix that, or pass --csv with another file, or --no-history"
    )]
    Upgrade { path: PathBuf, line: u64, why: String },
}

impl HistoryError {
    /// The path names something that can never hold a history: a bad argument rather than a failure.
    pub fn is_wrong_target(&self) -> bool {
        matches!(
            self,
            HistoryError::NotAHistory { .. } | HistoryError::NotRegular { .. } | HistoryError::NotInFolder { .. }
        )
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> HistoryError + '_ {
    move |cause| HistoryError::Io {
        path: path.to_path_buf(),
        cause,
    }
}

/// Where the history goes when no --csv is given: $SAF_NET_HISTORY, else the user's data directory
/// (XDG on Linux, ~/Library/Application Support on macOS).
pub fn default_path() -> Result<PathBuf, HistoryError> {
    if let Some(p) = std::env::var_os(HISTORY_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    dirs::data_dir()
        .map(|d| d.join("saf-net").join("history.csv"))
        .ok_or(HistoryError::NoDataDir)
}

pub(crate) fn encode_row(row: &HistoryRow) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    w.serialize(row).expect("history rows always serialize");
    w.into_inner().expect("writing to memory cannot fail")
}

fn header_line() -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header()).expect("in memory");
    w.into_inner().expect("in memory")
}

/// A row as the file's layout wants it: `extra` empty fields for a newer saf-net's columns.
fn encode_row_for(row: &HistoryRow, layout: Layout) -> Vec<u8> {
    let mut line = encode_row(row);
    if let Layout::Newer { extra } = layout {
        line.pop();
        line.extend(std::iter::repeat_n(b',', extra));
        line.push(b'\n');
    }
    line
}

/// Holds the history's lock file (beside the CSV) exclusively until dropped.
fn lock(csv_path: &Path) -> Result<File, HistoryError> {
    let path = target::lock_path(csv_path);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io(&path))?;
    lock.lock().map_err(io(&path))?;
    Ok(lock)
}

/// Appends one run under an exclusive lock: its JSON document under `runs/` (with the row's `detail` added as
/// `history_columns`), then one whole CSV line at the end.
/// Only the header line and the last byte are read, so an append costs the same at any size. Nothing is created
/// unless the target is a writable regular file holding a saf-net history (or missing, in a writable folder).
/// A file of an older schema is first upgraded with a backup (`history/upgrade.rs`); one of a newer schema gets
/// the row with its extra columns empty. A failed row leaves the CSV as it was and removes the run's JSON.
pub fn append(csv_path: &Path, row: &HistoryRow, document: &str) -> Result<PathBuf, HistoryError> {
    target::check(csv_path)?;
    let dir = target::folder(csv_path);
    fs::create_dir_all(dir).map_err(io(dir))?;
    let _lock = lock(csv_path)?;
    let file = target::open(csv_path, true)?.ok_or_else(|| io(csv_path)(std::io::ErrorKind::NotFound.into()))?;
    let head = target::head(&file, csv_path)?;
    let details = PathBuf::from("runs").join(format!("{}.json", row.run_id));
    let json_path = dir.join(&details);
    let runs = target::folder(&json_path);
    fs::create_dir_all(runs).map_err(io(runs))?;
    let document = details::with_columns(document, &row.detail);
    files::write_atomic(&json_path, document.as_bytes()).map_err(io(&json_path))?;
    let row = HistoryRow {
        details: details.to_string_lossy().into_owned(),
        ..row.clone()
    };
    let written = write_row(csv_path, file, head, &row);
    if written.is_err() {
        let _ = fs::remove_file(&json_path);
    }
    written.map(|()| json_path)
}

/// Writes the row (after the header, an upgrade or a missing newline, as `head` says); on failure the file is
/// cut back to its length before, so no partial line stays.
fn write_row(csv_path: &Path, mut file: File, head: target::Head, row: &HistoryRow) -> Result<(), HistoryError> {
    let mut out = Vec::new();
    let mut len = head.len;
    match head.layout {
        Layout::Empty => out.extend(header_line()),
        Layout::Older { version } => {
            upgrade::upgrade(csv_path, version)?;
            file = target::open(csv_path, false)?.ok_or_else(|| io(csv_path)(std::io::ErrorKind::NotFound.into()))?;
            len = file.metadata().map_err(io(csv_path))?.len();
        }
        Layout::Current | Layout::Newer { .. } if head.needs_newline => out.push(b'\n'),
        Layout::Current | Layout::Newer { .. } => {}
    }
    out.extend(encode_row_for(row, head.layout));
    let written = file.write_all(&out).and_then(|()| file.sync_data());
    if written.is_err() {
        let _ = file.set_len(len);
    }
    written.map_err(io(csv_path))
}

/// Reads every row of a history file of any schema version. A row's `detail` comes from its CSV columns
/// (schemas 2–4), or else from its per-run JSON's `history_columns` when that file can be read.
pub fn read(csv_path: &Path) -> Result<Vec<HistoryRecord>, HistoryError> {
    let csv_err = |cause| HistoryError::Csv {
        path: csv_path.to_path_buf(),
        cause,
    };
    let mut rd = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(csv_path)
        .map_err(csv_err)?;
    let headers = rd.headers().map_err(csv_err)?.clone();
    let dir = target::folder(csv_path);
    let mut rows = Vec::new();
    for record in rd.records() {
        let mut row = HistoryRecord::from_csv(&record.map_err(csv_err)?, &headers).map_err(csv_err)?;
        if row.detail.is_empty() {
            row.detail = json_detail(dir, row.details.as_deref()).unwrap_or_default();
        }
        rows.push(row);
    }
    Ok(rows)
}

/// The `history_columns` of the per-run JSON at `details` (relative to `dir`), if it can be read.
fn json_detail(dir: &Path, details: Option<&str>) -> Option<KindColumns> {
    let text = fs::read_to_string(dir.join(details.filter(|d| !d.is_empty())?)).ok()?;
    details::from_document(&serde_json::from_str(&text).ok()?).ok()?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str) -> HistoryRow {
        HistoryRow {
            schema_version: SCHEMA_VERSION,
            kind: "throughput".into(),
            run_id: id.into(),
            time_utc: "2026-11-29T13:00:00Z".into(),
            label: "has, comma \"and quotes\"".into(),
            profile: "1gbe".into(),
            client_host: "beta".into(),
            server_host: "192.168.1.172".into(),
            direction: "forward".into(),
            streams: 1,
            duration_s: 10.0,
            bytes: 1_181_000_000,
            receiver_mbps: 941.2,
            sender_mbps: 945.11,
            reverse_receiver_mbps: None,
            reverse_sender_mbps: None,
            complete: true,
            saf_net_version: "0.1.0".into(),
            ..HistoryRow::default()
        }
    }

    /// The schema-4 header line, byte for byte, as saf-net 0.2 wrote it.
    const HEADER_V4: &str = "schema_version,kind,run_id,time_utc,label,profile,client_host,server_host,\
        direction,streams,duration_s,bytes,receiver_mbps,sender_mbps,reverse_receiver_mbps,reverse_sender_mbps,\
        complete,saf_net_version,details,latency_mode,rtt_min_us,rtt_p50_us,rtt_p90_us,rtt_p99_us,rtt_p99_9_us,\
        rtt_max_us,jitter_us,lost_percent,idle_rtt_p50_us,idle_rtt_p99_us,loaded_rtt_p50_us,loaded_rtt_p99_us,\
        local_interface,local_mtu,local_speed_mbps,remote_mtu,remote_speed_mbps,path_mtu,mss_advertised,\
        mss_effective,diagnoses,udp_datagram_bytes,udp_target_mbps,udp_packets,udp_lost,udp_lost_percent,\
        udp_out_of_order,udp_duplicates,udp_jitter_ms,reverse_udp_lost_percent,reverse_udp_jitter_ms\n";

    /// A row with every column set, as the schema-4 writer encoded it.
    const FULL_ROW_V4: &str = "4,throughput,full,2026-11-29T13:00:00Z,\"has, comma \"\"and quotes\"\"\",\
        1gbe,beta,192.168.1.172,forward,1,10.0,1181000000,941.2,945.11,930.5,931.25,true,0.1.0,runs/full.json,\
        udp,10.5,20.0,30.125,40.0,50.0,60.0,1.5,0.0,70.0,80.0,90.0,100.0,eth0,9000,10000,1500,1000,1500,1460,1448,\
        mtu_mismatch;slow_link,1472,100.0,85000,7,0.0082,2,1,0.012,0.5,0.25\n";

    /// The schema-5 header line, byte for byte: the public contract.
    const HEADER_V5: &str = "schema_version,kind,run_id,time_utc,label,profile,client_host,server_host,\
        direction,streams,duration_s,bytes,receiver_mbps,sender_mbps,reverse_receiver_mbps,reverse_sender_mbps,\
        complete,saf_net_version,details,diagnoses\n";

    /// The same run as schema 5 writes it: the shared columns in the CSV ...
    const FULL_ROW_V5: &str = "5,throughput,full,2026-11-29T13:00:00Z,\"has, comma \"\"and quotes\"\"\",\
        1gbe,beta,192.168.1.172,forward,1,10.0,1181000000,941.2,945.11,930.5,931.25,true,0.1.0,runs/full.json,\
        mtu_mismatch;slow_link\n";

    /// ... and the kind's own in its per-run JSON.
    const FULL_DETAIL_V5: &str = "{\"history_columns\":{\"idle_rtt_p50_us\":70.0,\"idle_rtt_p99_us\":80.0,\
        \"jitter_us\":1.5,\"latency_mode\":\"udp\",\"loaded_rtt_p50_us\":90.0,\"loaded_rtt_p99_us\":100.0,\
        \"local_interface\":\"eth0\",\"local_mtu\":9000,\"local_speed_mbps\":10000,\"lost_percent\":0.0,\
        \"mss_advertised\":1460,\"mss_effective\":1448,\"path_mtu\":1500,\"remote_mtu\":1500,\
        \"remote_speed_mbps\":1000,\"reverse_udp_jitter_ms\":0.25,\"reverse_udp_lost_percent\":0.5,\
        \"rtt_max_us\":60.0,\"rtt_min_us\":10.5,\"rtt_p50_us\":20.0,\"rtt_p90_us\":30.125,\"rtt_p99_9_us\":50.0,\
        \"rtt_p99_us\":40.0,\"udp_datagram_bytes\":1472,\"udp_duplicates\":1,\"udp_jitter_ms\":0.012,\
        \"udp_lost\":7,\"udp_lost_percent\":0.0082,\"udp_out_of_order\":2,\"udp_packets\":85000,\
        \"udp_target_mbps\":100.0}}";

    fn full_detail() -> KindColumns {
        KindColumns {
            latency_mode: Some("udp".into()),
            rtt_min_us: Some(10.5),
            rtt_p50_us: Some(20.0),
            rtt_p90_us: Some(30.125),
            rtt_p99_us: Some(40.0),
            rtt_p99_9_us: Some(50.0),
            rtt_max_us: Some(60.0),
            jitter_us: Some(1.5),
            lost_percent: Some(0.0),
            idle_rtt_p50_us: Some(70.0),
            idle_rtt_p99_us: Some(80.0),
            loaded_rtt_p50_us: Some(90.0),
            loaded_rtt_p99_us: Some(100.0),
            local_interface: Some("eth0".into()),
            local_mtu: Some(9000),
            local_speed_mbps: Some(10000),
            remote_mtu: Some(1500),
            remote_speed_mbps: Some(1000),
            path_mtu: Some(1500),
            mss_advertised: Some(1460),
            mss_effective: Some(1448),
            udp_datagram_bytes: Some(1472),
            udp_target_mbps: Some(100.0),
            udp_packets: Some(85000),
            udp_lost: Some(7),
            udp_lost_percent: Some(0.0082),
            udp_out_of_order: Some(2),
            udp_duplicates: Some(1),
            udp_jitter_ms: Some(0.012),
            reverse_udp_lost_percent: Some(0.5),
            reverse_udp_jitter_ms: Some(0.25),
            // Not a column of schemas 2–4: the mesh's, only ever in history_columns.
            goodput_1_stream_mbps: None,
        }
    }

    fn full_row() -> HistoryRow {
        HistoryRow {
            reverse_receiver_mbps: Some(930.5),
            reverse_sender_mbps: Some(931.25),
            details: "runs/full.json".into(),
            diagnoses: "mtu_mismatch;slow_link".into(),
            detail: full_detail(),
            ..row("full")
        }
    }

    #[test]
    fn header_rows_and_details_are_byte_identical_to_schema_5() {
        assert_eq!(String::from_utf8(header_line()).unwrap(), HEADER_V5);
        assert_eq!(String::from_utf8(encode_row(&full_row())).unwrap(), FULL_ROW_V5);
        assert_eq!(details::with_columns("{}", &full_row().detail), FULL_DETAIL_V5);
    }

    /// What was the schema-4 byte-layout test: a v4 file's row is read with every column's value.
    #[test]
    fn a_schema_4_row_is_read_column_for_column() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("v4.csv");
        fs::write(&csv, format!("{HEADER_V4}{FULL_ROW_V4}")).unwrap();
        let want = full_row();
        let rows = read(&csv).unwrap();
        let r = &rows[0];
        assert_eq!(r.schema_version, Some(4));
        assert_eq!(
            (r.kind.clone(), r.run_id.as_deref()),
            (Some(Kind::Throughput), Some("full"))
        );
        assert_eq!(r.label.as_deref(), Some(want.label.as_str()));
        assert_eq!(
            (r.streams, r.duration_s, r.bytes),
            (Some(1), Some(10.0), Some(want.bytes))
        );
        assert_eq!((r.receiver_mbps, r.sender_mbps), (Some(941.2), Some(945.11)));
        assert_eq!(
            (r.reverse_receiver_mbps, r.reverse_sender_mbps),
            (Some(930.5), Some(931.25))
        );
        assert_eq!((r.complete, r.details.as_deref()), (Some(true), Some("runs/full.json")));
        assert_eq!(r.diagnoses.as_deref(), Some("mtu_mismatch;slow_link"));
        assert_eq!(r.detail, want.detail, "every per-kind column, from the CSV");
    }

    #[test]
    fn header_matches_the_row_fields() {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.serialize(row("x")).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(text.lines().next().unwrap(), header().join(","));
    }

    #[test]
    fn the_reader_knows_every_column() {
        let mut read: Vec<&str> = schema::serde_field_names::<HistoryRecord>().to_vec();
        let mut written: Vec<&str> = header().to_vec();
        read.sort_unstable();
        written.sort_unstable();
        assert_eq!(
            read, written,
            "HistoryRecord must have a field for each HistoryRow column"
        );
    }

    #[test]
    fn append_writes_header_once_and_json_beside() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("h.csv");
        let json = append(&csv, &row("a"), "{\"x\":1}").unwrap();
        append(&csv, &row("b"), "{}").unwrap();
        assert_eq!(fs::read_to_string(json).unwrap(), "{\"x\":1}");
        let rows = read(&csv).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].label.as_deref(), Some("has, comma \"and quotes\""));
        assert_eq!(rows[1].details.as_deref(), Some("runs/b.json"));
        assert_eq!(rows[0].reverse_receiver_mbps, None);
        let text = fs::read_to_string(&csv).unwrap();
        assert_eq!(text.matches("schema_version").count(), 1);
    }

    #[test]
    fn older_files_are_read_and_upgraded_with_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("old.csv");
        let v1 = format!("{}\n1,throughput,old1{}\n", header()[..19].join(","), ",".repeat(16));
        fs::write(&csv, &v1).unwrap();
        let rows = read(&csv).unwrap();
        assert_eq!(rows[0].run_id.as_deref(), Some("old1"));
        assert_eq!(rows[0].streams, None);
        append(&csv, &row("new"), "{}").unwrap();
        let rows = read(&csv).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].schema_version, rows[0].run_id.as_deref()),
            (Some(1), Some("old1"))
        );
        assert_eq!(rows[1].run_id.as_deref(), Some("new"));
        assert!(fs::read_to_string(&csv).unwrap().starts_with(&header().join(",")));
        assert_eq!(fs::read_to_string(dir.path().join("old.csv.v1.bak")).unwrap(), v1);
    }

    #[test]
    fn a_file_that_is_no_history_is_refused_unchanged_and_nothing_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("other.csv");
        fs::write(&csv, "name,value\nfoo,1\n").unwrap();
        let err = append(&csv, &row("x"), "{}").unwrap_err();
        assert!(matches!(err, HistoryError::NotAHistory { .. }), "{err}");
        assert!(err.is_wrong_target());
        assert_eq!(fs::read_to_string(&csv).unwrap(), "name,value\nfoo,1\n");
        let left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["other.csv"]);
    }

    #[test]
    fn a_newer_history_gets_the_row_with_its_extra_columns_empty() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("v5.csv");
        let newer = format!("{},wifi_rssi_dbm\n", header().join(","));
        let old_row = format!("5,wifi,w1{},-61\n", ",".repeat(header().len() - 3));
        fs::write(&csv, format!("{newer}{old_row}")).unwrap();
        append(&csv, &row("mine"), "{}").unwrap();
        let text = fs::read_to_string(&csv).unwrap();
        let mut want = format!("{newer}{old_row}").into_bytes();
        let details = HistoryRow {
            details: "runs/mine.json".into(),
            ..row("mine")
        };
        want.extend(encode_row_for(&details, Layout::Newer { extra: 1 }));
        assert_eq!(text, String::from_utf8(want).unwrap());
        let mut rd = csv::Reader::from_path(&csv).unwrap();
        let records: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
        assert!(records.iter().all(|r| r.len() == header().len() + 1), "{text}");
        let extra = header().len();
        assert_eq!(
            (&records[0][extra], &records[1][2], &records[1][extra]),
            ("-61", "mine", "")
        );
    }

    #[test]
    fn a_cut_off_last_line_is_ended_before_the_row() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("h.csv");
        fs::write(&csv, format!("{}\n{SCHEMA_VERSION},throughput,cut", header().join(","))).unwrap();
        append(&csv, &row("next"), "{}").unwrap();
        let text = fs::read_to_string(&csv).unwrap();
        assert!(
            text.contains(&format!(
                "\n{SCHEMA_VERSION},throughput,cut\n{SCHEMA_VERSION},throughput,next,"
            )),
            "{text}"
        );
    }

    #[test]
    fn schema_3_files_keep_their_rows_and_move_their_kind_columns_into_the_json() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("v3.csv");
        let v3 = &V4_COLUMNS[..41];
        assert_eq!(v3.last(), Some(&"diagnoses"), "schema 3 ends with the diagnoses");
        let mut old = vec![""; v3.len()];
        old[0] = "3";
        old[1] = "latency";
        old[2] = "lat1";
        old[v3.iter().position(|c| *c == "rtt_p50_us").unwrap()] = "123.5";
        fs::write(&csv, format!("{}\n{}\n", v3.join(","), old.join(","))).unwrap();
        let rows = read(&csv).unwrap();
        assert_eq!(rows[0].detail.rtt_p50_us, Some(123.5));
        assert_eq!(rows[0].detail.udp_lost, None);
        let udp = HistoryRow {
            kind: Kind::Udp,
            detail: KindColumns {
                udp_datagram_bytes: Some(1472),
                udp_lost: Some(7),
                udp_lost_percent: Some(0.07),
                udp_jitter_ms: Some(0.012),
                ..KindColumns::default()
            },
            ..row("u1")
        };
        append(&csv, &udp, "{}").unwrap();
        let rows = read(&csv).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].schema_version, rows[0].detail.rtt_p50_us),
            (Some(3), Some(123.5))
        );
        assert_eq!(
            rows[0].details.as_deref(),
            Some("runs/lat1.json"),
            "a JSON made for the moved value"
        );
        assert_eq!(rows[1].kind, Some(Kind::Udp));
        assert_eq!(rows[1].detail.udp_lost, Some(7));
        assert_eq!(rows[1].detail.udp_datagram_bytes, Some(1472));
        assert_eq!(rows[1].detail.udp_jitter_ms, Some(0.012));
        assert_eq!(rows[1].schema_version, Some(SCHEMA_VERSION));
        let text = fs::read_to_string(&csv).unwrap();
        assert!(!text.contains("123.5") && !text.contains("1472"), "{text}");
    }
}
