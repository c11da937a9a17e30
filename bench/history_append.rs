//! How long one history append takes on a 10-row and on a 1,000,000-row history: the same, because an append reads
//! only the header line and the last byte. Run: `cargo bench --bench history_append` (release build; writes
//! ~300 MB under the system temp folder and removes it). Prints medians; record them in bench/results/.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::time::{Duration, Instant};

use saf_net::output::history::{self, HistoryRow, KindColumns, SCHEMA_VERSION};

/// Appends timed per history size, after the warm-up ones.
const APPENDS: usize = 301;
const WARM_UP: usize = 5;

/// A throughput row with the path figures filled (in its JSON since schema 5), about the size of a real one.
fn row(id: &str) -> HistoryRow {
    HistoryRow {
        schema_version: SCHEMA_VERSION,
        kind: "throughput".into(),
        run_id: id.into(),
        time_utc: "2026-11-29T13:00:00Z".into(),
        label: "after tuning".into(),
        profile: "10gbe-jumbo".into(),
        client_host: "beta".into(),
        server_host: "192.168.1.172".into(),
        direction: "forward".into(),
        streams: 4,
        duration_s: 10.0,
        bytes: 11_700_000_000,
        receiver_mbps: 9_360.125,
        sender_mbps: 9_400.5,
        complete: true,
        saf_net_version: "0.1.0".into(),
        details: format!("runs/{id}.json"),
        detail: KindColumns {
            local_interface: Some("enp3s0".into()),
            local_mtu: Some(9000),
            local_speed_mbps: Some(10_000),
            remote_mtu: Some(9000),
            remote_speed_mbps: Some(10_000),
            path_mtu: Some(9000),
            mss_advertised: Some(8960),
            mss_effective: Some(8948),
            ..KindColumns::default()
        },
        ..HistoryRow::default()
    }
}

/// Writes a history of `rows` rows.
fn make_history(path: &Path, rows: usize) {
    let mut w = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, File::create(path).unwrap()));
    w.write_record(history::header()).unwrap();
    for i in 0..rows {
        w.serialize(row(&format!("20261129T130000Z-{i:06x}"))).unwrap();
    }
    let file = w.into_inner().unwrap().into_inner().unwrap();
    // On disk before timing starts, so no append pays for writing back the rows made here.
    file.sync_all().unwrap();
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// One history under test and what was measured on it.
struct Subject {
    rows: usize,
    _dir: tempfile::TempDir,
    csv: std::path::PathBuf,
    appends: Vec<Duration>,
}

impl Subject {
    fn new(rows: usize) -> Subject {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("history.csv");
        make_history(&csv, rows);
        Subject {
            rows,
            _dir: dir,
            csv,
            appends: Vec::with_capacity(APPENDS),
        }
    }

    /// One append (a JSON document, the lock, one fsynced row), timed unless warming up.
    fn append(&mut self, i: usize) {
        let r = row(&format!("bench-{i}"));
        let t = Instant::now();
        history::append(&self.csv, &r, "{\"saf_net\":{\"kind\":\"throughput\"}}").unwrap();
        if i >= WARM_UP {
            self.appends.push(t.elapsed());
        }
    }

    fn report(&self) {
        let size = std::fs::metadata(&self.csv).unwrap().len();
        let checks: Vec<Duration> = (0..APPENDS)
            .map(|_| {
                let t = Instant::now();
                history::check(&self.csv).unwrap();
                t.elapsed()
            })
            .collect();
        let t = Instant::now();
        let whole = std::fs::read_to_string(&self.csv).unwrap();
        let read_all = t.elapsed();
        assert!(whole.ends_with('\n'));
        let (min, max) = (self.appends.iter().min().unwrap(), self.appends.iter().max().unwrap());
        println!(
            "{:>9} rows {:>6.1} MB | append median {:>9} min {:>9} max {:>9} | check median {:>9} | \
whole-file read (what each append did before) {:>10}",
            self.rows,
            size as f64 / 1e6,
            ms(median(self.appends.clone())),
            ms(*min),
            ms(*max),
            ms(median(checks)),
            ms(read_all),
        );
    }
}

fn main() {
    // `cargo test --benches` runs benches without --bench: build only, run nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    println!("history append: {APPENDS} appends per size after {WARM_UP} warm-up ones, the sizes taking turns");
    println!("(each append fsyncs the JSON document and the row, which is most of its time)");
    let mut subjects = [Subject::new(10), Subject::new(1_000_000)];
    for i in 0..WARM_UP + APPENDS {
        // Alternate which size goes first, so neither always follows the other's fsync.
        let order = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        for k in order {
            subjects[k].append(i);
        }
    }
    for s in &subjects {
        s.report();
    }
}
