//! `saf-net report` and `saf-net compare`: synthetic histories in, PNGs, summaries and verdicts out, plus the
//! bad-input cases through the real binary.
//!
//! To look at a realistic example report: `SAF_NET_EXAMPLE_OUT=/tmp/example cargo test --test report
//! write_example -- --ignored`, then open /tmp/example/report/*.png.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use saf_net::model::BASELINE_MBPS;
use saf_net::output::history::{self, HistoryRow, KindColumns, SCHEMA_VERSION};
use saf_net::report::{self, History, ReportError};
use serde_json::{Value, json};

/// A tiny deterministic generator: no dependency, same numbers every run.
struct Lcg(u64);

impl Lcg {
    /// Uniform in [-1, 1).
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
}

/// One synthetic run: a label, a profile, a target goodput and its spread.
struct Spec {
    label: &'static str,
    profile: &'static str,
    mbps: f64,
    spread: f64,
    streams: u32,
    day: u32,
    /// Mbit/s of the first measured second (slow start / ramp).
    first: f64,
}

fn interval(start: f64, end: f64, mbps: f64, omitted: bool) -> Value {
    let bytes = (mbps * 1e6 / 8.0 * (end - start)).round() as u64;
    json!({
        "streams": [],
        "sum": {"start": start, "end": end, "seconds": end - start, "bytes": bytes,
                "bits_per_second": mbps * 1e6, "omitted": omitted, "sender": false}
    })
}

/// Appends `n` runs of `spec` to the history at `csv` with realistic per-run JSON: 10 one-second intervals,
/// two omitted ones first for multi-stream runs, noise, an occasional dip.
fn add_runs(csv: &Path, spec: &Spec, n: usize, rng: &mut Lcg) -> Vec<String> {
    let mut ids = Vec::new();
    for k in 0..n {
        let run_id = format!(
            "202611{:02}T1{}{:02}00Z-{:06x}",
            spec.day,
            k / 6,
            (k % 6) * 7,
            0xab0000 + k * 17
        );
        let omit = if spec.streams > 1 { 2 } else { 0 };
        let mut intervals = Vec::new();
        for s in 0..omit {
            intervals.push(interval(s as f64, s as f64 + 1.0, spec.first * 0.8, true));
        }
        let mut sum = 0.0;
        for s in 0..10 {
            let mut v = if s == 0 && omit == 0 {
                spec.first
            } else {
                spec.mbps + rng.next() * spec.spread
            };
            if k == 2 && s == 6 {
                v = spec.mbps - spec.spread * 12.0; // one short dip in one run
            }
            sum += v;
            intervals.push(interval(s as f64, s as f64 + 1.0, v, false));
        }
        let receiver = sum / 10.0;
        let row = HistoryRow {
            schema_version: SCHEMA_VERSION,
            kind: "throughput".into(),
            run_id: run_id.clone(),
            time_utc: format!("2026-11-{:02}T1{}:{:02}:00Z", spec.day, k / 6, (k % 6) * 7),
            label: spec.label.into(),
            profile: spec.profile.into(),
            client_host: "beta".into(),
            server_host: "alpha.local".into(),
            direction: "forward".into(),
            streams: spec.streams,
            duration_s: 10.0,
            bytes: (receiver * 1e6 / 8.0 * 10.0) as u64,
            receiver_mbps: (receiver * 1000.0).round() / 1000.0,
            sender_mbps: ((receiver + spec.spread * 0.4) * 1000.0).round() / 1000.0,
            reverse_receiver_mbps: None,
            reverse_sender_mbps: None,
            complete: true,
            saf_net_version: "0.1.0".into(),
            ..HistoryRow::default()
        };
        let doc = json!({
            "start": {"connected": [{"socket": 1, "local_host": "192.168.1.20", "local_port": 50412,
                                     "remote_host": "192.168.1.172", "remote_port": 5301}]},
            "intervals": intervals,
            "end": {},
            "saf_net": {"run_id": run_id, "label": spec.label, "profile": spec.profile, "hints": []}
        });
        history::append(csv, &row, &doc.to_string()).unwrap();
        ids.push(run_id);
    }
    ids
}

const BEFORE: Spec = Spec {
    label: "before",
    profile: "1gbe",
    mbps: 941.1,
    spread: 0.25,
    streams: 1,
    day: 20,
    first: 936.0,
};

const AFTER: Spec = Spec {
    label: "after",
    profile: "10gbe-jumbo",
    mbps: 9852.0,
    spread: 22.0,
    streams: 4,
    day: 28,
    first: 9100.0,
};

/// The realistic example: `before` on 1gbe at about 941 Mbit/s, `after` on 10gbe-jumbo at about 9,850 Mbit/s.
fn synth(dir: &Path) -> PathBuf {
    let csv = dir.join("history.csv");
    let mut rng = Lcg(8);
    add_runs(&csv, &BEFORE, 5, &mut rng);
    add_runs(&csv, &AFTER, 5, &mut rng);
    csv
}

fn png_size(path: &Path) -> (u32, u32) {
    let decoder = png::Decoder::new(fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert!(
        buf.iter().any(|&b| b < 128),
        "{} has dark pixels (text, bars)",
        path.display()
    );
    (info.width, info.height)
}

fn bin() -> Command {
    common::saf_net()
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
#[ignore = "writes the example report to $SAF_NET_EXAMPLE_OUT for a person to look at"]
fn write_example() {
    let root = PathBuf::from(std::env::var("SAF_NET_EXAMPLE_OUT").expect("set SAF_NET_EXAMPLE_OUT"));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root).unwrap();
    let csv = synth(&root);
    let out = report::write_report(std::slice::from_ref(&csv), &root.join("report"), BASELINE_MBPS).unwrap();
    let h = History::load(&[csv]).unwrap();
    let c = report::write_compare(&h, "before", "after", BASELINE_MBPS, &root.join("report")).unwrap();
    println!("{:#?}\n{}", out, c.text());
}

#[test]
fn report_writes_decodable_pngs_and_summaries() {
    let dir = tempfile::tempdir().unwrap();
    let csv = synth(dir.path());
    let out_dir = dir.path().join("out");
    let out = report::write_report(&[csv], &out_dir, BASELINE_MBPS).unwrap();
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert_eq!(out.skipped.len(), 1, "only latency is skipped: {:?}", out.skipped);
    assert!(out.skipped[0].contains("kind = latency"));
    let (w, h) = png_size(&out_dir.join(report::GOODPUT_PNG));
    assert_eq!(w, 40 + 860 * 2, "two panels: 1 GbE class and 10 GbE class");
    assert!(h > 700 && h < 1100, "{h}");
    assert_eq!(png_size(&out_dir.join(report::TIMELINE_PNG)), (1500, 86 + 330 * 2 + 20));
    assert!(!out_dir.join(report::LATENCY_PNG).exists());
    let names: Vec<String> = fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with('.')),
        "no temp files left: {names:?}"
    );

    let summary = fs::read_to_string(out_dir.join(report::SUMMARY_CSV)).unwrap();
    let mut rd = csv::Reader::from_reader(summary.as_bytes());
    let headers = rd.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        [
            "label",
            "profile",
            "line_rate_mbps",
            "mtu",
            "runs",
            "median_mbps",
            "min_mbps",
            "max_mbps",
            "ceiling_mbps",
            "pct_of_ceiling",
            "speedup_vs_baseline",
            "time_10gb_s",
            "time_100gb_s",
            "time_10gb_at_ceiling_s",
            "time_10gb_at_line_rate_s",
            "time_100gb_at_ceiling_s",
            "time_100gb_at_line_rate_s"
        ]
    );
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    let get = |r: &csv::StringRecord, col: &str| r[headers.iter().position(|h| h == col).unwrap()].to_string();
    assert_eq!(rows.len(), 2);
    assert_eq!(get(&rows[0], "label"), "before");
    assert_eq!(get(&rows[0], "ceiling_mbps"), "941.5");
    assert_eq!(get(&rows[0], "time_10gb_at_line_rate_s"), "80.0");
    assert_eq!(get(&rows[0], "time_10gb_at_ceiling_s"), "84.97");
    assert_eq!(get(&rows[1], "ceiling_mbps"), "9900.4");
    assert_eq!(get(&rows[1], "time_10gb_at_line_rate_s"), "8.0");
    assert_eq!(get(&rows[1], "time_10gb_at_ceiling_s"), "8.08");
    let median: f64 = get(&rows[1], "median_mbps").parse().unwrap();
    assert!((9800.0..9900.0).contains(&median), "{median}");
    let pct: f64 = get(&rows[1], "pct_of_ceiling").parse().unwrap();
    assert!((pct - median / 9900.43 * 100.0).abs() < 0.01, "{pct}");
    let speedup: f64 = get(&rows[1], "speedup_vs_baseline").parse().unwrap();
    assert!((speedup - median / 945.11).abs() < 0.001);

    let md = fs::read_to_string(out_dir.join(report::SUMMARY_MD)).unwrap();
    assert!(md.contains("![Goodput per label](goodput.png)"));
    assert!(md.contains("![Goodput over time](goodput-over-time.png)"));
    assert!(md.contains("| 1 GbE, MTU 1500 | 80.0 s | 85.0 s |"), "{md}");
    assert!(md.contains("| 10 GbE, MTU 9000 | 8.00 s | 8.08 s |"), "{md}");
    assert!(md.contains("941.5 Mbit/s"));
    assert!(md.contains("sender-side count"));
}

#[test]
fn compare_gives_a_verdict_and_what_still_limits() {
    let dir = tempfile::tempdir().unwrap();
    let csv = synth(dir.path());
    let h = History::load(&[csv]).unwrap();
    let c = report::write_compare(&h, "before", "after", BASELINE_MBPS, &dir.path().join("cmp")).unwrap();
    assert!((c.speedup - c.after.stats.median_mbps / c.before.stats.median_mbps).abs() < 1e-9);
    assert!((10.3..10.6).contains(&c.speedup), "{}", c.speedup);
    assert_eq!(c.delivers, Some(true));
    assert!(
        c.verdict.starts_with("after delivers what the wire allows"),
        "{}",
        c.verdict
    );
    assert!(c.limits.iter().any(|l| l.contains("the wire itself")), "{:?}", c.limits);
    assert!(c.before.stats.pct_of_ceiling.unwrap() > 99.0);
    assert!(c.latency.is_none());
    let png = PathBuf::from(c.png.clone().unwrap());
    assert_eq!(png.file_name().unwrap(), "compare-before-vs-after.png");
    assert_eq!(png_size(&png), (800 + 560 + 520 + 40, 860), "main, close-up, verdict");
    let text = c.text();
    assert!(text.contains("Verdict:"), "{text}");
    assert!(text.contains("at line rate 80.0 s → 8.00 s"), "{text}");

    // An `after` on 10 GbE at MTU 1500: jumbo frames would add about 5 %.
    let csv2 = dir.path().join("mtu1500/history.csv");
    let mut rng = Lcg(3);
    add_runs(&csv2, &BEFORE, 3, &mut rng);
    add_runs(
        &csv2,
        &Spec {
            profile: "10gbe",
            mbps: 9380.0,
            ..AFTER
        },
        3,
        &mut rng,
    );
    let h2 = History::load(&[csv2]).unwrap();
    let c2 = report::compare(&h2, "before", "after", BASELINE_MBPS).unwrap();
    let jumbo = c2
        .limits
        .iter()
        .find(|l| l.starts_with("MTU 1500 on the path"))
        .unwrap();
    assert!(jumbo.contains("jumbo frames (MTU 9000) would add about 5 %"), "{jumbo}");
    assert!(jumbo.contains("9,414.8 → 9,900.4"), "{jumbo}");
}

/// The README's two labelled runs made on an unshaped veth (~20 Gbit/s both): `after` (10gbe-jumbo) is above its
/// ceiling and slower than `before`. Never "what the wire allows"; the mismatch is named; exit 4; columns line up.
#[test]
fn impossible_figures_and_a_slowdown_are_never_success() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("veth/history.csv");
    let mut rng = Lcg(11);
    let before = Spec {
        label: "1GbE",
        profile: "1gbe",
        mbps: 24_800.0,
        spread: 60.0,
        streams: 4,
        day: 3,
        first: 20_000.0,
    };
    let after = Spec {
        label: "after 10GbE switch",
        profile: "10gbe-jumbo",
        mbps: 22_340.0,
        day: 4,
        ..before
    };
    add_runs(&csv, &before, 3, &mut rng);
    add_runs(&csv, &after, 3, &mut rng);
    let h = History::load(std::slice::from_ref(&csv)).unwrap();
    let c = report::compare(&h, "1GbE", "after 10GbE switch", BASELINE_MBPS).unwrap();
    assert!(c.worse, "{:?} vs {:?}", c.before.stats, c.after.stats);
    assert_eq!(c.delivers, None, "{}", c.verdict);
    assert!(!c.verdict.contains("delivers what the wire allows"), "{}", c.verdict);
    assert!(c.verdict.contains("more than that link can carry"), "{}", c.verdict);
    assert!(c.verdict.contains("profile 10gbe-jumbo"), "{}", c.verdict);
    assert!(c.verdict.contains("slower than 1GbE (0.9"), "{}", c.verdict);
    assert_eq!(
        c.limits.len(),
        1,
        "only the figures, no wire or host verdict: {:?}",
        c.limits
    );
    assert!(c.limits[0].starts_with("the figures:"), "{:?}", c.limits);

    let out = bin()
        .args(["compare", "--before", "1GbE", "--after", "after 10GbE switch", "--csv"])
        .arg(&csv)
        .arg("--out")
        .arg(dir.path().join("c"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr_of(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let rows: Vec<&str> = text.lines().take(2).collect();
    let col = |row: &str, word: &str| row.find(word).unwrap_or_else(|| panic!("{word} in {row}"));
    assert_eq!(col(rows[0], "1gbe"), col(rows[1], "10gbe-jumbo"), "{text}");
    assert_eq!(col(rows[0], "median"), col(rows[1], "median"), "{text}");

    // Faster after, within its ceiling: exit 0. A slowdown within the spread is not "worse".
    let close = Spec {
        mbps: 24_790.0,
        label: "close",
        ..before
    };
    add_runs(&csv, &close, 3, &mut rng);
    let h = History::load(std::slice::from_ref(&csv)).unwrap();
    assert!(!report::compare(&h, "1GbE", "close", BASELINE_MBPS).unwrap().worse);
}

#[test]
fn compare_json_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let csv = synth(dir.path());
    let out = bin()
        .args(["compare", "--before", "before", "--after", "after", "-J", "--csv"])
        .arg(&csv)
        .arg("--out")
        .arg(dir.path().join("c"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["before"]["label"], "before");
    assert_eq!(v["after"]["profile"], "10gbe-jumbo");
    assert_eq!(
        v["after"]["ceiling_mbps"].as_f64().map(|c| (c * 10.0).round() / 10.0),
        Some(9900.4)
    );
    assert_eq!(v["delivers"], true);
    assert!(v["speedup"].as_f64().unwrap() > 10.0);
    assert!(Path::new(v["png"].as_str().unwrap()).exists());
}

#[test]
fn report_through_the_binary_and_a_missing_json_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let csv = synth(dir.path());
    let victim = fs::read_dir(dir.path().join("runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    fs::remove_file(&victim).unwrap();
    let out_dir = dir.path().join("r");
    let out = bin()
        .arg("report")
        .arg(&csv)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("warning: run "), "{err}");
    assert!(err.contains("is missing; left out of the charts that need it"), "{err}");
    for f in [
        report::GOODPUT_PNG,
        report::TIMELINE_PNG,
        report::SUMMARY_CSV,
        report::SUMMARY_MD,
    ] {
        assert!(out_dir.join(f).exists(), "{f}");
    }
    let md = fs::read_to_string(out_dir.join(report::SUMMARY_MD)).unwrap();
    assert!(md.contains("## Warnings"));
}

#[test]
fn bad_input_gives_one_clear_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let good = synth(dir.path());
    let header = history::header().join(",");

    // Malformed: a word where a rate belongs, on line 3.
    let bad = dir.path().join("bad.csv");
    let text = fs::read_to_string(&good).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let col = history::header().iter().position(|h| *h == "receiver_mbps").unwrap();
    let mut fields: Vec<&str> = lines[2].split(',').collect();
    fields[col] = "fast";
    lines[2] = fields.join(",");
    fs::write(&bad, lines.join("\n") + "\n").unwrap();
    // Empty: a header and nothing else.
    let empty = dir.path().join("empty.csv");
    fs::write(&empty, format!("{header}\n")).unwrap();
    // Not a history at all.
    let alien = dir.path().join("alien.csv");
    fs::write(&alien, "a,b\n1,2\n").unwrap();
    // An output "folder" that is a file.
    let file_out = dir.path().join("not-a-dir");
    fs::write(&file_out, "").unwrap();

    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["report".into(), bad.display().to_string(), "--out".into(), "x".into()],
            "line 3: column receiver_mbps:",
        ),
        (
            vec!["report".into(), empty.display().to_string(), "--out".into(), "x".into()],
            "no throughput runs in",
        ),
        (
            vec!["report".into(), alien.display().to_string(), "--out".into(), "x".into()],
            "line 1: not a saf-net history",
        ),
        (
            vec![
                "report".into(),
                dir.path().join("nope.csv").display().to_string(),
                "--out".into(),
                "x".into(),
            ],
            "nope.csv not found",
        ),
        (
            vec![
                "report".into(),
                good.display().to_string(),
                "--out".into(),
                file_out.display().to_string(),
            ],
            "cannot write to output folder",
        ),
        (
            vec![
                "compare".into(),
                "--before".into(),
                "before".into(),
                "--after".into(),
                "aftr".into(),
                "--csv".into(),
                good.display().to_string(),
            ],
            "no throughput runs labelled \"aftr\"",
        ),
    ];
    for (args, want) in cases {
        let out = bin().args(&args).current_dir(dir.path()).output().unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.contains(want), "{args:?}: want {want:?} in {err}");
    }
    // The file and labels are named.
    let out = bin()
        .args(["compare", "--before", "before", "--after", "aftr", "--csv"])
        .arg(&good)
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert!(err.contains("labels present: before (5 runs), after (5 runs)"), "{err}");
    let out = bin().arg("report").arg(&bad).args(["--out", "x"]).output().unwrap();
    assert!(stderr_of(&out).contains(&bad.display().to_string()));
    let out = bin()
        .args(["report", "--out", "x", "--baseline-mbps", "-3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn history_round_trip_and_older_schema_rows() {
    let dir = tempfile::tempdir().unwrap();
    let csv = synth(dir.path());
    let rows = history::read(&csv).unwrap();
    let h = History::load(std::slice::from_ref(&csv)).unwrap();
    assert_eq!(h.runs.len(), rows.len());
    for (run, row) in h.runs.iter().zip(&rows) {
        assert_eq!(Some(&run.run_id), row.run_id.as_ref());
        assert_eq!(run.receiver_mbps, row.receiver_mbps);
        assert_eq!(Some(&run.label), row.label.as_ref());
        assert_eq!(
            run.intervals.as_ref().map(Vec::len),
            Some(10),
            "omitted intervals are left out"
        );
        assert!(run.link.is_some());
    }
    assert_eq!(h.runs[0].line, 2);
    assert_eq!(h.labels_text(), "before (5 runs), after (5 runs)");

    // A schema-0 file: fewer columns, no details, no profile.
    let old = dir.path().join("old.csv");
    fs::write(
        &old,
        "schema_version,kind,run_id,time_utc,label,receiver_mbps,sender_mbps\n\
         0,throughput,old1,2026-10-01T09:00:00Z,old script,941.0,945.11\n\
         0,,old2,2026-10-01T09:05:00Z,old script,940.8,945.0\n",
    )
    .unwrap();
    let h = History::load(std::slice::from_ref(&old)).unwrap();
    assert_eq!(h.runs.len(), 2);
    assert!(
        h.runs
            .iter()
            .all(|r| r.is_throughput() && r.link.is_none() && r.intervals.is_none())
    );
    assert_eq!(h.warnings.len(), 2, "{:?}", h.warnings);
    assert!(h.warnings[0].contains("empty details column"));
    let out = report::write_report(&[old, csv], &dir.path().join("mixed"), BASELINE_MBPS).unwrap();
    let md = fs::read_to_string(dir.path().join("mixed").join(report::SUMMARY_MD)).unwrap();
    assert!(md.contains("| old script | (none) | unknown | 2 |"), "{md}");
    assert!(out.files.iter().any(|f| f.ends_with(report::GOODPUT_PNG)));
}

/// Two `kind = latency` runs, `before` (p50 120 µs, p99 900 µs) and `after` (0.6 times those).
fn add_latency_runs(csv: &Path) {
    for (label, scale) in [("before", 1.0), ("after", 0.6)] {
        let buckets = [(50.0, 10), (80.0, 300), (120.0, 500), (200.0, 150), (900.0, 40)].map(|(b, c)| (b * scale, c));
        add_latency_run(csv, label, "", &buckets);
    }
}

#[test]
fn latency_runs_get_a_cdf_chart() {
    let dir = tempfile::tempdir().unwrap();
    let csv = synth(dir.path());
    add_latency_runs(&csv);
    let out_dir = dir.path().join("out");
    let out = report::write_report(std::slice::from_ref(&csv), &out_dir, BASELINE_MBPS).unwrap();
    assert!(out.skipped.is_empty(), "{:?}", out.skipped);
    assert_eq!(png_size(&out_dir.join(report::LATENCY_PNG)), (1400, 760));
    let h = History::load(&[csv]).unwrap();
    let c = report::compare(&h, "before", "after", BASELINE_MBPS).unwrap();
    let l = c.latency.as_ref().unwrap();
    assert_eq!((l.before_p50_us, l.after_p50_us), (120.0, 72.0));
    assert_eq!((l.before_p99_us, l.after_p99_us), (900.0, 540.0));
    assert!(c.latency_idle.is_none() && c.latency_loaded.is_none());
    assert_eq!(c.latency_lines(), ["p50 120 µs → 72 µs, p99 900 µs → 540 µs"]);
}

/// One latency run of `mode` for `label` with a histogram of (bucket upper bound µs, count).
fn add_latency_run(csv: &Path, label: &str, mode: &str, buckets: &[(f64, u64)]) {
    let run_id = format!("lat-{label}{}{mode}", if mode.is_empty() { "" } else { "-" });
    let row = HistoryRow {
        schema_version: SCHEMA_VERSION,
        kind: "latency".into(),
        run_id: run_id.clone(),
        time_utc: "2026-11-28T12:00:00Z".into(),
        label: label.into(),
        client_host: "beta".into(),
        server_host: "alpha".into(),
        direction: "forward".into(),
        streams: 1,
        duration_s: 10.0,
        detail: KindColumns {
            latency_mode: Some(mode.into()),
            ..KindColumns::default()
        },
        complete: true,
        saf_net_version: "0.1.0".into(),
        ..HistoryRow::default()
    };
    let buckets: Vec<Value> = buckets
        .iter()
        .map(|(b, c)| json!({"upper_us": b, "count": c}))
        .collect();
    let doc = json!({"saf_net": {"latency": {"histogram": buckets}}});
    history::append(csv, &row, &doc.to_string()).unwrap();
}

/// TCP ping-pong, UDP echo and connect times are different measurements: never merged into one series, and
/// compare only sets a mode against the same mode.
#[test]
fn latency_modes_are_kept_apart() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("history.csv");
    let around = |p50: f64| [(0.5 * p50, 100), (p50, 800), (2.0 * p50, 100)];
    add_latency_run(&csv, "before", "tcp", &around(100.0));
    add_latency_run(&csv, "before", "connect", &around(5000.0));
    add_latency_run(&csv, "after", "tcp", &around(60.0));
    add_latency_run(&csv, "after", "udp", &around(40.0));
    let h = History::load(std::slice::from_ref(&csv)).unwrap();
    let names: Vec<String> = report::groups::latency_series(&h)
        .into_iter()
        .map(|(n, _, _)| n)
        .collect();
    assert_eq!(
        names,
        ["before · tcp", "before · connect", "after · tcp", "after · udp"]
    );
    let by: Vec<(String, String)> = report::groups::latency_by_label(&h)
        .into_iter()
        .map(|(l, m, _, _)| (l, m))
        .collect();
    assert_eq!(by.len(), 4, "{by:?}");
    // compare sets tcp against tcp: the only mode both have (not before's connect times).
    let mut rng = Lcg(9);
    add_runs(&csv, &BEFORE, 2, &mut rng);
    add_runs(&csv, &AFTER, 2, &mut rng);
    let h = History::load(std::slice::from_ref(&csv)).unwrap();
    let c = report::compare(&h, "before", "after", BASELINE_MBPS).unwrap();
    let l = c.latency.as_ref().expect("tcp on both sides");
    assert!(
        (l.before_p50_us - 100.0).abs() < 1.0 && (l.after_p50_us - 60.0).abs() < 1.0,
        "{l:?}"
    );
}

#[test]
fn errors_are_typed() {
    let dir = tempfile::tempdir().unwrap();
    let e = History::load(&[dir.path().join("x.csv")]).unwrap_err();
    assert!(matches!(e, ReportError::NotFound { .. }));
}

#[test]
fn custom_profiles_come_from_the_profile_loader_and_an_unknown_one_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("my-profiles");
    fs::create_dir_all(&profiles).unwrap();
    fs::write(
        profiles.join("lab25g.toml"),
        "schema_version = 1\ndescription = \"25 GbE, jumbo\"\n[link]\nline_rate_mbps = 25000\nmtu = 9000\n",
    )
    .unwrap();
    let csv = dir.path().join("history.csv");
    let mut rng = Lcg(5);
    add_runs(
        &csv,
        &Spec {
            label: "old",
            profile: "nosuch",
            ..BEFORE
        },
        3,
        &mut rng,
    );
    add_runs(
        &csv,
        &Spec {
            label: "new",
            profile: "lab25g",
            mbps: 24_000.0,
            spread: 30.0,
            ..AFTER
        },
        3,
        &mut rng,
    );
    let want = saf_net::model::tcp_goodput_ceiling_mbps(25_000.0, 9000, true);

    // The library, with the folder given.
    let mut links = report::links::Links::with_dirs(vec![profiles.clone()]);
    let h = History::load_with(std::slice::from_ref(&csv), &mut links).unwrap();
    let new = h.runs.iter().find(|r| r.label == "new").unwrap();
    assert_eq!(new.link, Some(saf_net::model::Link::new(25_000.0, 9000)));
    assert!(h.runs.iter().filter(|r| r.label == "old").all(|r| r.link.is_none()));
    let unknown: Vec<&String> = h.warnings.iter().filter(|w| w.contains("nosuch")).collect();
    assert_eq!(unknown.len(), 1, "once per profile: {:?}", h.warnings);
    assert!(
        unknown[0].contains("unknown profile 'nosuch'; known profiles: "),
        "{}",
        unknown[0]
    );
    assert!(unknown[0].contains("lab25g"), "{}", unknown[0]);
    assert!(
        unknown[0].ends_with("runs with profile \"nosuch\" get no ceiling"),
        "{}",
        unknown[0]
    );

    // The binary, with $SAF_NET_PROFILES: compare gets the custom ceiling and the unknown profile is a warning.
    let out = bin()
        .env("SAF_NET_PROFILES", &profiles)
        .args(["compare", "--before", "old", "--after", "new", "-J", "--csv"])
        .arg(&csv)
        .arg("--out")
        .arg(dir.path().join("c"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("warning: run ") && err.contains("unknown profile 'nosuch'"),
        "{err}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        (v["after"]["ceiling_mbps"].as_f64().unwrap() - want).abs() < 1e-6,
        "{v}"
    );
    assert_eq!(v["after"]["link"]["mtu"], 9000);
    assert!(v["before"]["ceiling_mbps"].is_null(), "{v}");
    assert_eq!(v["delivers"], true);

    let out_dir = dir.path().join("r");
    let out = bin()
        .env("SAF_NET_PROFILES", &profiles)
        .arg("report")
        .arg(&csv)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("unknown profile 'nosuch'"));
    let summary = fs::read_to_string(out_dir.join(report::SUMMARY_CSV)).unwrap();
    let row = summary
        .lines()
        .find(|l| l.starts_with("new,lab25g,25000.0,9000,"))
        .unwrap();
    assert!(row.contains(&format!(",{:.1},", want)), "{row}");
    assert!(summary.lines().any(|l| l.starts_with("old,nosuch,,,3,")), "{summary}");

    // Without the folder the custom profile is unknown too: no ceiling, still a report.
    let out = bin()
        .env_remove("SAF_NET_PROFILES")
        .current_dir(dir.path())
        .arg("report")
        .arg(&csv)
        .arg("--out")
        .arg(dir.path().join("r2"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("unknown profile 'lab25g'"),
        "{}",
        stderr_of(&out)
    );
}

/// `client --latency`'s block in a throughput run's JSON: idle and loaded probes, buckets as `saf-net` writes them.
fn probe_block(buckets: &[(f64, u64)]) -> Value {
    let total: u64 = buckets.iter().map(|b| b.1).sum();
    let mut seen = 0;
    let histogram: Vec<Value> = buckets
        .iter()
        .map(|&(rtt_us, count)| {
            seen += count;
            json!({"rtt_us": rtt_us, "count": count, "cumulative": seen as f64 / total as f64})
        })
        .collect();
    json!({"sent": total, "received": total, "lost": 0, "lost_percent": 0.0, "duplicates": 0, "out_of_order": 0,
           "requested_rate_per_second": 100.0, "achieved_rate_per_second": 100.0,
           "rtt": {"samples": total}, "rtt_from_schedule": null, "histogram": histogram})
}

/// Adds `saf_net.latency.idle` / `.loaded` to the per-run JSON of every throughput run of `label`, loaded RTTs
/// `load` times the idle ones.
fn add_latency_under_load(csv: &Path, label: &str, idle_scale: f64, load: f64) {
    let dir = csv.parent().unwrap();
    for row in history::read(csv).unwrap() {
        if row.label.as_deref() != Some(label) {
            continue;
        }
        let path = dir.join(row.details.unwrap());
        let mut doc: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        let idle: Vec<(f64, u64)> = [(40.0, 20), (60.0, 60), (100.0, 19), (400.0, 1)]
            .iter()
            .map(|&(b, c)| (b * idle_scale, c))
            .collect();
        let loaded: Vec<(f64, u64)> = idle.iter().map(|&(b, c)| (b * load, c)).collect();
        doc["saf_net"]["latency"] = json!({"idle": probe_block(&idle), "loaded": probe_block(&loaded)});
        fs::write(&path, doc.to_string()).unwrap();
    }
}

#[test]
fn latency_under_load_of_throughput_runs_is_charted_and_compared() {
    let dir = tempfile::tempdir().unwrap();
    let csv = synth(dir.path());
    add_latency_under_load(&csv, "before", 1.0, 20.0);
    add_latency_under_load(&csv, "after", 0.5, 4.0);

    let h = History::load(std::slice::from_ref(&csv)).unwrap();
    assert!(h.warnings.is_empty(), "{:?}", h.warnings);
    let series = report::groups::latency_series(&h);
    let names: Vec<(&str, usize)> = series.iter().map(|(n, _, k)| (n.as_str(), *k)).collect();
    assert_eq!(
        names,
        [
            ("before · idle", 5),
            ("before · under load", 5),
            ("after · idle", 5),
            ("after · under load", 5)
        ]
    );
    assert!(
        h.runs.iter().all(|r| r.latency.is_none()),
        "kept apart from latency runs"
    );

    let out_dir = dir.path().join("out");
    let out = report::write_report(std::slice::from_ref(&csv), &out_dir, BASELINE_MBPS).unwrap();
    assert!(out.skipped.is_empty(), "{:?}", out.skipped);
    assert_eq!(png_size(&out_dir.join(report::LATENCY_PNG)), (1400, 760));

    let c = report::write_compare(&h, "before", "after", BASELINE_MBPS, &dir.path().join("cmp")).unwrap();
    assert!(c.latency.is_none(), "no latency runs");
    let idle = c.latency_idle.as_ref().unwrap();
    assert_eq!((idle.before_p50_us, idle.after_p50_us), (60.0, 30.0));
    assert_eq!((idle.before_p99_us, idle.after_p99_us), (100.0, 50.0));
    let loaded = c.latency_loaded.as_ref().unwrap();
    assert_eq!((loaded.before_p50_us, loaded.after_p50_us), (1200.0, 120.0));
    assert_eq!((loaded.before_p99_us, loaded.after_p99_us), (2000.0, 200.0));
    assert_eq!(c.after.latency_loaded_p50_us, Some(120.0));
    let text = c.text();
    assert!(
        text.contains("Latency:   idle p50 60 µs → 30 µs, p99 100 µs → 50 µs\n"),
        "{text}"
    );
    assert!(
        text.contains("Latency:   under load p50 1.2 ms → 120 µs, p99 2.0 ms → 200 µs\n"),
        "{text}"
    );
    assert!(!text.contains("not measured"), "{text}");

    // Only one side measured under load: no change to show, but that side's figures are in the JSON.
    let csv2 = dir.path().join("one/history.csv");
    let mut rng = Lcg(4);
    add_runs(&csv2, &BEFORE, 2, &mut rng);
    add_runs(&csv2, &AFTER, 2, &mut rng);
    add_latency_under_load(&csv2, "after", 1.0, 2.0);
    let out = bin()
        .args(["compare", "--before", "before", "--after", "after", "-J", "--csv"])
        .arg(&csv2)
        .arg("--out")
        .arg(dir.path().join("c2"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["latency_idle"].is_null() && v["latency_loaded"].is_null(), "{v}");
    assert_eq!(v["after"]["latency_idle_p50_us"], 60.0);
    assert_eq!(v["after"]["latency_loaded_p99_us"], 200.0);
    assert!(v["before"]["latency_loaded_p99_us"].is_null());

    // Latency runs and --latency runs together: the latency runs keep their own line and series.
    add_latency_runs(&csv);
    let h = History::load(std::slice::from_ref(&csv)).unwrap();
    assert_eq!(report::groups::latency_series(&h).len(), 6);
    let c = report::compare(&h, "before", "after", BASELINE_MBPS).unwrap();
    let l = c.latency.as_ref().unwrap();
    assert_eq!((l.before_p50_us, l.after_p50_us), (120.0, 72.0));
    assert_eq!(c.latency_lines().len(), 3, "{:?}", c.latency_lines());
}

#[test]
fn udp_runs_are_listed_in_the_markdown_not_charted() {
    let dir = tempfile::tempdir().unwrap();
    let csv = synth(dir.path());
    let row = HistoryRow {
        schema_version: SCHEMA_VERSION,
        kind: "udp".into(),
        run_id: "udp-after".into(),
        time_utc: "2026-11-28T12:00:00Z".into(),
        label: "after".into(),
        profile: "1gbe".into(),
        receiver_mbps: 956.62,
        sender_mbps: 1199.84,
        complete: true,
        streams: 2,
        detail: KindColumns {
            udp_target_mbps: Some(600.0),
            udp_datagram_bytes: Some(1472),
            udp_lost_percent: Some(19.88),
            udp_jitter_ms: Some(0.0057),
            udp_out_of_order: Some(0),
            udp_duplicates: Some(0),
            ..KindColumns::default()
        },
        ..HistoryRow::default()
    };
    history::append(&csv, &row, "{}").unwrap();
    let out_dir = dir.path().join("out");
    report::write_report(std::slice::from_ref(&csv), &out_dir, BASELINE_MBPS).unwrap();
    let md = std::fs::read_to_string(out_dir.join(report::SUMMARY_MD)).unwrap();
    assert!(md.contains("## UDP runs"), "{md}");
    assert!(
        md.contains(
            "| after | 1gbe | udp-after | 2 | 600.0 | 1,200.0 | 956.6 | 19.88 % | 0.0057 ms | 0 | 0 | 1472 B |"
        ),
        "{md}"
    );
    // The per-label table counts the throughput runs only.
    let h = History::load(&[csv]).unwrap();
    assert!(h.throughput().all(|r| r.udp.is_none()));
}
