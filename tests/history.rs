//! The run history is user data: what `--csv FILE` / `SAF_NET_HISTORY` may and may not do to a file, checked
//! through the real binary (traffic to loopback only) and the library.
//!
//! "Before the test" is proven without timing: those runs aim at a [`Trap`], a listener that never accepts,
//! and a client that got as far as its test would have connected to it.

mod common;

use std::fs;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{KillOnDrop, free_port, is_root, saf_net};
use saf_net::output::history::{self, HistoryRow, SCHEMA_VERSION};

/// How long any run here may take before it counts as hung.
const HUNG: Duration = Duration::from_secs(20);

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The only line on stderr.
    fn one_line(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line on stderr: {:?}", self.stderr);
        lines[0]
    }
}

/// Runs `c` to the end (killed and failed after [`HUNG`]), its output through files so no pipe fills.
fn run(mut c: Command) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    c.stdin(Stdio::null())
        .stdout(fs::File::create(&out).unwrap())
        .stderr(fs::File::create(&err).unwrap());
    let mut child = KillOnDrop(c.spawn().expect("saf-net starts"));
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        assert!(start.elapsed() < HUNG, "still running after {HUNG:?}: {c:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code,
        stdout: fs::read_to_string(out).unwrap(),
        stderr: fs::read_to_string(err).unwrap(),
    }
}

fn saf(args: &[&str]) -> Run {
    let mut c = saf_net();
    c.args(args);
    run(c)
}

/// A listener that never accepts: a client that connected to it had started its test.
struct Trap(TcpListener);

impl Trap {
    fn new() -> Trap {
        Trap(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    fn port(&self) -> String {
        self.0.local_addr().unwrap().port().to_string()
    }

    fn assert_untouched(&self, what: &str) {
        self.0.set_nonblocking(true).unwrap();
        let e = self.0.accept().map(drop).expect_err(what);
        assert_eq!(e.kind(), ErrorKind::WouldBlock, "{what}: {e}");
    }
}

/// A `saf-net server` process on 127.0.0.1, once it accepts connections.
fn server() -> (KillOnDrop, String) {
    let port = free_port().to_string();
    let mut c = saf_net();
    c.args(["server", "-p", &port, "-B", "127.0.0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let p = KillOnDrop(c.spawn().unwrap());
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).is_err() {
        assert!(start.elapsed() < HUNG, "server did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    (p, port)
}

fn fixture(version: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/history/v{version}.csv"))
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn records(path: &Path) -> Vec<csv::StringRecord> {
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .unwrap();
    rd.records().map(Result::unwrap).collect()
}

/// A row as one CSV line.
fn line(row: &HistoryRow) -> String {
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    w.serialize(row).unwrap();
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

fn row(id: &str) -> HistoryRow {
    HistoryRow {
        schema_version: SCHEMA_VERSION,
        kind: "throughput".into(),
        run_id: id.into(),
        receiver_mbps: 941.0,
        ..HistoryRow::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Item 1: a file that is not a saf-net history, or a newer or older one
// ---------------------------------------------------------------------------------------------

#[test]
fn a_file_that_is_no_history_is_refused_unchanged_before_the_test() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.csv");
    fs::write(&other, "name,value\nfoo,1\n").unwrap();
    let trap = Trap::new();
    for cmd in ["mtu", "latency", "client"] {
        let r = saf(&[cmd, "127.0.0.1", "-p", &trap.port(), "--csv", other.to_str().unwrap()]);
        assert_eq!(r.code, 2, "{cmd}: {}", r.stderr);
        let line = r.one_line();
        assert!(
            line.contains("is not a saf-net history") && line.contains("left unchanged"),
            "{line}"
        );
        assert!(line.contains(other.to_str().unwrap()), "{line}");
    }
    trap.assert_untouched("a refused history stops the run before it connects");
    assert_eq!(fs::read_to_string(&other).unwrap(), "name,value\nfoo,1\n");
    assert_eq!(names(dir.path()), ["other.csv"], "no lock, no runs/, no backup");
}

#[test]
fn a_newer_saf_net_history_is_appended_to_and_keeps_every_column() {
    let (_server, port) = server();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("h.csv");
    let before = format!(
        "{},wifi_rssi_dbm,wifi_channel\n5,wifi,w1{},-61,36\n",
        history::header().join(","),
        ",".repeat(history::header().len() - 3)
    );
    fs::write(&csv, &before).unwrap();
    let r = saf(&[
        "latency",
        "127.0.0.1",
        "-p",
        &port,
        "--count",
        "3",
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let after = fs::read_to_string(&csv).unwrap();
    assert!(
        after.starts_with(&before),
        "the newer saf-net's lines stay byte for byte:\n{after}"
    );
    let rows = records(&csv);
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.len() == history::header().len() + 2), "{after}");
    let ours = history::header().len();
    assert_eq!((&rows[2][1], &rows[2][ours], &rows[2][ours + 1]), ("latency", "", ""));
    assert!(
        !names(dir.path()).iter().any(|n| n.contains(".bak")),
        "nothing to back up"
    );
}

#[test]
fn every_older_schema_is_upgraded_with_a_backup_named_after_it() {
    for version in 1..SCHEMA_VERSION {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("history.csv");
        let original = fs::read(fixture(version)).unwrap();
        fs::write(&csv, &original).unwrap();
        history::append(&csv, &row("new"), "{}").unwrap();
        let backup = dir.path().join(format!("history.csv.v{version}.bak"));
        assert_eq!(
            fs::read(&backup).unwrap(),
            original,
            "v{version}: the backup holds the old bytes"
        );
        let (old, new) = (records(&backup), records(&csv));
        assert_eq!(new.len(), old.len() + 1, "v{version}");
        assert_eq!(new[0].iter().collect::<Vec<_>>(), history::header(), "v{version}");
        for (o, n) in old.iter().zip(&new).skip(1) {
            assert_eq!(n.len(), history::header().len(), "v{version}");
            kept_by_name(&old[0], o, n, dir.path(), version);
        }
        assert_eq!(&new.last().unwrap()[2], "new");
        let left: Vec<String> = names(dir.path()).into_iter().filter(|n| n.starts_with('.')).collect();
        assert_eq!(left, [".history.csv.lock"], "v{version}: no temp file left");
    }
}

/// Every value of the old row `o` (under `old_header`) is in the upgraded row `n`: in the column of the same
/// name, or (a kind's own column, which left the CSV) in the row's per-run JSON under `history_columns`.
/// Columns the old schema lacked are empty.
fn kept_by_name(old_header: &csv::StringRecord, o: &csv::StringRecord, n: &csv::StringRecord, dir: &Path, v: u32) {
    let at = |name: &str| history::header().iter().position(|c| *c == name);
    let json: serde_json::Value = fs::read_to_string(dir.join(&n[at("details").unwrap()]))
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or_default();
    for (name, value) in old_header.iter().zip(o.iter()) {
        match (at(name), &json["history_columns"][name]) {
            (Some(i), _) => assert_eq!(&n[i], value, "v{v}: column {name}"),
            (None, _) if value.is_empty() => {}
            (None, serde_json::Value::String(s)) => assert_eq!(s, value, "v{v}: {name} in the JSON"),
            (None, j) => assert_eq!(j.as_f64(), value.parse().ok(), "v{v}: {name} in the JSON: {json}"),
        }
    }
    for (i, c) in history::header().iter().enumerate() {
        if !old_header.iter().any(|h| h == *c) {
            assert_eq!(&n[i], "", "v{v}: new column {c} empty");
        }
    }
}

#[test]
fn the_current_schema_is_appended_to_in_place_without_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("history.csv");
    let original = fs::read(fixture(SCHEMA_VERSION)).unwrap();
    fs::write(&csv, &original).unwrap();
    history::append(&csv, &row("new"), "{}").unwrap();
    let after = fs::read(&csv).unwrap();
    assert_eq!(&after[..original.len()], &original[..]);
    assert_eq!(names(dir.path()), [".history.csv.lock", "history.csv", "runs"]);
}

#[test]
fn every_schema_fixture_stays_readable() {
    let rows = |v| history::read(&fixture(v)).unwrap();
    let v1 = rows(1);
    assert_eq!(v1[0].label.as_deref(), Some("before, \"tuned\""));
    assert_eq!(
        (v1[1].reverse_receiver_mbps, v1[1].complete),
        (Some(939.8), Some(false))
    );
    assert_eq!(v1[0].detail.latency_mode, None);
    let v2 = rows(2);
    assert_eq!(
        (v2[0].detail.rtt_p50_us, v2[1].detail.loaded_rtt_p99_us),
        (Some(63.25), Some(2100.0))
    );
    assert_eq!(v2[0].detail.path_mtu, None);
    let v3 = rows(3);
    assert_eq!(
        (v3[0].detail.path_mtu, v3[0].diagnoses.as_deref()),
        (Some(1500), Some("mtu_mismatch"))
    );
    assert_eq!(v3[1].detail.mss_effective, Some(8948));
    let v4 = rows(4);
    assert_eq!(
        (v4[0].detail.udp_lost, v4[0].detail.udp_jitter_ms),
        (Some(7), Some(0.012))
    );
    for (v, rows) in [(1, v1), (2, v2), (3, v3), (4, v4)] {
        assert!(rows.iter().all(|r| r.schema_version == Some(v)), "v{v}");
    }
}

// ---------------------------------------------------------------------------------------------
// Item 2: appends touch only the end; devices, FIFOs and folders are refused; write errors end at once
// ---------------------------------------------------------------------------------------------

#[test]
fn devices_fifos_and_folders_are_refused_before_the_test_creating_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let folder = dir.path().join("folder");
    fs::create_dir(&folder).unwrap();
    let mut cases = vec![(fifo.clone(), "a FIFO"), (folder.clone(), "a folder")];
    for dev in ["/dev/full", "/dev/null"] {
        if Path::new(dev).exists() {
            cases.push((PathBuf::from(dev), "a character device"));
        }
    }
    let beside_dev = ["/dev/.full.lock", "/dev/.null.lock", "/dev/runs"].map(|p| (p, Path::new(p).exists()));
    let trap = Trap::new();
    for (path, kind) in &cases {
        let r = saf(&[
            "client",
            "127.0.0.1",
            "-p",
            &trap.port(),
            "-t",
            "1",
            "--csv",
            path.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 2, "{path:?}: {}", r.stderr);
        let line = r.one_line();
        assert!(line.contains(&format!("is {kind}, not a regular file")), "{line}");
    }
    trap.assert_untouched("a refused history stops the run before it connects");
    assert_eq!(names(dir.path()), ["fifo", "folder"]);
    assert!(names(&folder).is_empty());
    for (p, existed) in beside_dev {
        assert!(existed || !Path::new(p).exists(), "{p} was created");
    }
}

#[test]
fn the_middle_of_the_history_is_never_read() {
    // 64 MiB of holes (not UTF-8, not CSV rows) between a valid header and a last newline: an append that read
    // the whole file would fail to decode it; one that reads only the header line and the last byte cannot.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("h.csv");
    let header = format!("{}\n", history::header().join(","));
    let f = fs::File::create(&csv).unwrap();
    f.set_len(64 << 20).unwrap();
    drop(f);
    let mut bytes = fs::OpenOptions::new().write(true).open(&csv).unwrap();
    use std::io::{Seek, SeekFrom, Write};
    bytes.write_all(header.as_bytes()).unwrap();
    bytes.write_all(&[0xff, 0xfe]).unwrap();
    bytes.seek(SeekFrom::End(-1)).unwrap();
    bytes.write_all(b"\n").unwrap();
    drop(bytes);
    history::append(&csv, &row("after-the-holes"), "{}").unwrap();
    let len = fs::metadata(&csv).unwrap().len();
    let tail_len = (len - (64 << 20)) as usize;
    let mut tail = vec![0; tail_len];
    let mut f = fs::File::open(&csv).unwrap();
    use std::io::Read;
    f.seek(SeekFrom::Start(64 << 20)).unwrap();
    f.read_exact(&mut tail).unwrap();
    let tail = String::from_utf8(tail).unwrap();
    assert!(
        tail.starts_with(&format!("{SCHEMA_VERSION},throughput,after-the-holes,")) && tail.ends_with('\n'),
        "{tail}"
    );
}

#[cfg(unix)]
#[test]
fn a_write_error_is_one_line_and_exit_1_leaving_the_history_as_it_was() {
    use std::os::unix::process::CommandExt;
    let (_server, port) = server();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("h.csv");
    let mut text = format!("{}\n", history::header().join(","));
    while text.len() < 300_000 {
        text.push_str(&line(&row("old")));
    }
    fs::write(&csv, &text).unwrap();
    let mut c = saf_net();
    c.args([
        "latency",
        "127.0.0.1",
        "-p",
        &port,
        "--count",
        "1",
        "--csv",
        csv.to_str().unwrap(),
    ]);
    // SAFETY: between fork and exec the child only calls setrlimit and signal, both async-signal-safe. Files
    // may not grow past 200 kB, and SIGXFSZ is ignored (which exec keeps), so the append fails with EFBIG.
    unsafe {
        c.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 200_000,
                rlim_max: 200_000,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &lim);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let r = run(c);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let line = r.one_line();
    assert!(line.starts_with("error: could not record the run: history "), "{line}");
    assert!(line.contains(csv.to_str().unwrap()), "{line}");
    assert_eq!(fs::read_to_string(&csv).unwrap(), text, "no partial line");
    assert!(
        names(&dir.path().join("runs")).is_empty(),
        "the run's JSON is removed with its row"
    );
}

// ---------------------------------------------------------------------------------------------
// Item 3: an unwritable history is found before the test
// ---------------------------------------------------------------------------------------------

/// Each recording subcommand aimed at `trap` with `--csv csv` (demo: `--out` the csv's folder).
fn recording_runs(trap: &Trap, csv: &Path) -> Vec<Vec<String>> {
    let port = trap.port();
    let csv = csv.to_str().unwrap().to_string();
    let out = Path::new(&csv).parent().unwrap().to_str().unwrap().to_string();
    let target = |cmd: &str| vec![cmd.to_string(), "127.0.0.1".into(), "-p".into(), port.clone()];
    let with = |mut v: Vec<String>, more: &[&str]| {
        v.extend(more.iter().map(|s| s.to_string()));
        v.extend(["--csv".to_string(), csv.clone()]);
        v
    };
    vec![
        with(target("client"), &["-t", "1"]),
        with(target("latency"), &["--count", "1"]),
        with(target("mtu"), &[]),
        with(target("validate"), &["--profile", "1gbe", "-t", "1"]),
        vec!["demo".into(), "-t".into(), "1".into(), "--out".into(), out],
    ]
}

#[test]
fn a_history_in_a_file_instead_of_a_folder_is_refused_before_the_test() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    fs::write(&file, "x").unwrap();
    let trap = Trap::new();
    for args in recording_runs(&trap, &file.join("h.csv")) {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = saf(&argv);
        assert_eq!(r.code, 2, "{argv:?}: {}{}", r.stdout, r.stderr);
        assert!(r.one_line().contains("is not a folder"), "{argv:?}: {}", r.stderr);
        assert!(
            !r.stdout.contains("saf-net demo: server"),
            "{argv:?}: the demo did not start"
        );
    }
    trap.assert_untouched("an unusable history stops every run before it connects");
}

#[test]
fn a_read_only_folder_is_found_before_the_test() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let ro = dir.path().join("readonly");
    fs::create_dir(&ro).unwrap();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
    // Root writes anywhere: drop to nobody for this test, or skip loudly.
    let as_user = |args: &[&str]| -> Command {
        if is_root() {
            let mut c = Command::new("setpriv");
            common::isolate(&mut c)
                .args(["--reuid=65534", "--regid=65534", "--clear-groups", common::BIN])
                .args(args);
            c
        } else {
            let mut c = saf_net();
            c.args(args);
            c
        }
    };
    if is_root() && Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("\n*** SKIPPED read-only history test: running as root and setpriv (util-linux) is missing ***\n");
        return;
    }
    let trap = Trap::new();
    for args in recording_runs(&trap, &ro.join("h.csv")) {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run(as_user(&argv));
        assert_eq!(r.code, 1, "{argv:?}: {}{}", r.stdout, r.stderr);
        let line = r.one_line();
        assert!(
            line.contains("cannot write the history") && line.contains("--no-history"),
            "{line}"
        );
        assert!(
            !r.stdout.contains("saf-net demo: server"),
            "{argv:?}: the demo did not start"
        );
    }
    trap.assert_untouched("an unwritable history stops every run before it connects");
    assert!(names(&ro).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Item 4: the suite never writes the user's history
// ---------------------------------------------------------------------------------------------

/// Runs that record (no `--csv`, no `--no-history`) through the suite's own constructor land in the sandbox,
/// and none reaches the real default history, `SAF_NET_HISTORY` or the data folder as this test process sees
/// them, i.e. where a spawned saf-net would write without the sandbox.
///
/// The check is by run id, not by the real file's size or mtime: the user (or another checkout's suite) may
/// write to the real history while this runs, which must not fail the test, but no one else can write our
/// run ids. A leak would put them in the real file (or its `runs/`) and not in the sandbox.
#[test]
fn spawned_runs_record_in_the_sandbox_and_never_in_the_users_history() {
    let real = history::default_path().expect("a default history path");
    let sandbox = common::sandbox().join("history.csv");
    assert_ne!(real, sandbox, "the suite's sandbox is not the user's history");
    let (_server, port) = server();
    let mut ids = Vec::new();
    for args in [
        &["latency", "127.0.0.1", "-p", &port, "--count", "2", "-J"][..],
        &["mtu", "127.0.0.1", "-p", &port, "-J"],
        &["client", "127.0.0.1", "-p", &port, "-t", "0.3", "-J"],
    ] {
        let r = saf(args);
        assert!(r.code == 0 || r.code == 4, "{args:?}: {}", r.stderr);
        let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        ids.push(doc["saf_net"]["run_id"].as_str().expect("a run id").to_string());
    }
    let real_text = fs::read_to_string(&real).unwrap_or_default();
    let real_runs = real.parent().map(|d| d.join("runs"));
    let recorded = fs::read_to_string(&sandbox).unwrap_or_default();
    for id in &ids {
        assert!(!real_text.contains(id.as_str()), "{id} leaked into {}", real.display());
        if let Some(runs) = &real_runs {
            assert!(
                !runs.join(format!("{id}.json")).exists(),
                "{id}.json leaked into {}",
                runs.display()
            );
        }
        assert!(
            recorded.contains(id.as_str()),
            "{id} is not in the sandbox's history {}",
            sandbox.display()
        );
    }
}
