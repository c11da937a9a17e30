//! Collective runs in `report` (a busbw-by-size chart per op, one line per label, the ceilings; their report.md
//! section) and in `compare` (busbw after/before per (op, size), the verdict, exit 4 on a worse point). The runs
//! are written as the command writes them: one `kind = collective` row each through the crate's history writer,
//! its per-run JSON the whole `-J` document (the contract in docs/report.md), into a temp SAF_NET_HISTORY.
//!
//! To look at the pictures: `SAF_NET_EXAMPLE_OUT=/tmp/coll cargo test --test collective_report write_example --
//! --ignored`, then open /tmp/coll/report/collective-*.png and /tmp/coll/compare/*.png.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use saf_net::model::BASELINE_MBPS;
use saf_net::output::RunMeta;
use saf_net::output::history::{self, HistoryRow, Kind};
use saf_net::report;
use serde_json::{Value, json};

const SIZES: [u64; 6] = [1 << 10, 1 << 16, 1 << 20, 1 << 24, 1 << 28, 1 << 30];
const OPS: [&str; 2] = ["allreduce", "allgather"];

/// A synthetic run: each op takes `latency_s` plus the size at `peak_bps`, so busbw rises with size towards the
/// peak (half of it where the size takes `latency_s` to move).
struct Spec {
    label: &'static str,
    id: &'static str,
    hour: u64,
    profile: &'static str,
    ceiling_bps: f64,
    peak_bps: f64,
    latency_s: f64,
    /// An (op, size) that did not verify.
    unverified: Option<(&'static str, u64)>,
}

const ONE: Spec = Spec {
    label: "1gbe",
    id: "20261204T200000Z-0ne9be",
    hour: 0,
    profile: "1gbe",
    ceiling_bps: 941.5e6,
    peak_bps: 930.0e6,
    latency_s: 60e-6,
    unverified: Some(("allgather", 1 << 10)),
};

const TEN: Spec = Spec {
    label: "10gbe",
    id: "20261204T220000Z-a1b2c3",
    hour: 2,
    profile: "10gbe-jumbo",
    ceiling_bps: 9.9e9,
    peak_bps: 9.1e9,
    latency_s: 50e-6,
    unverified: None,
};

fn busbw(s: &Spec, size: u64) -> f64 {
    let bits = size as f64 * 8.0;
    bits / (s.latency_s + bits / s.peak_bps)
}

/// The size at which busbw is half the peak.
fn half_peak(s: &Spec) -> u64 {
    (s.latency_s * s.peak_bps / 8.0) as u64
}

/// The `-J` document of a run of `s`, as `saf-net collective` writes it.
fn document(s: &Spec) -> Value {
    let results: Vec<Value> = OPS
        .iter()
        .flat_map(|op| SIZES.iter().map(move |size| (*op, *size)))
        .map(|(op, size)| {
            let b = busbw(s, size);
            json!({"op": op, "size_bytes": size, "time_p50_s": size as f64 * 8.0 / b, "time_p99_s": size as f64 * 9.0 / b,
                   "algbw_bps": b / 1.5, "busbw_bps": b, "verified": s.unverified != Some((op, size)), "complete": true})
        })
        .collect();
    let ops: Vec<Value> = OPS
        .iter()
        .map(|op| {
            json!({"op": op, "peak_busbw_bps": busbw(s, 1 << 30), "peak_size_bytes": 1u64 << 30,
                          "latency_floor_s": s.latency_s, "half_peak_size_bytes": half_peak(s)})
        })
        .collect();
    json!({
        "saf_net": {"version": "0.x", "kind": "collective", "run_id": s.id, "label": s.label, "profile": s.profile,
                    "time": "", "complete": true},
        "nodes": [{"name": "a", "host": "10.0.0.1:5201"}, {"name": "b", "host": "10.0.0.2:5201"},
                  {"name": "c", "host": "10.0.0.3:5201"}, {"name": "d", "host": "10.0.0.4:5201"}],
        "algo": "ring", "dtype": "f32", "iters": 20, "warmup": 5,
        "ceiling_bps": s.ceiling_bps,
        "results": results,
        "ops": ops,
        "bottleneck": null,
        "findings": [],
        "meaning": format!("10 GB of gradients in {:.0} s at the measured busbw", 80e9 / s.peak_bps),
    })
}

/// Appends a run of `s` to the history at `csv` through the crate's writer; returns its per-run JSON path.
fn record(csv: &Path, s: &Spec) -> PathBuf {
    let meta = RunMeta {
        run_id: s.id.into(),
        time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_414_400 + s.hour * 3600),
        label: Some(s.label.into()),
        profile: Some(s.profile.into()),
        host: String::new(),
        port: 5301,
        client_host: "orchestrator".into(),
        profile_link: None,
    };
    let row = HistoryRow {
        receiver_mbps: busbw(s, 1 << 30) / 1e6,
        streams: 4,
        complete: true,
        ..HistoryRow::for_run(Kind::Collective, &meta)
    };
    history::append(csv, &row, &document(s).to_string()).unwrap()
}

/// Both labels in one temp history (the folder SAF_NET_HISTORY would name).
fn both(dir: &Path) -> PathBuf {
    let csv = dir.join("history.csv");
    record(&csv, &ONE);
    record(&csv, &TEN);
    csv
}

/// The PNG's size and RGB pixels, after checking its magic.
fn decode(path: &Path) -> (u32, u32, Vec<u8>) {
    let bytes = fs::read(path).unwrap();
    assert!(bytes.len() > 1000, "{} is {} bytes", path.display(), bytes.len());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// How many pixels are exactly `rgb`.
fn count(img: &(u32, u32, Vec<u8>), rgb: (u8, u8, u8)) -> usize {
    img.2.chunks(3).filter(|p| (p[0], p[1], p[2]) == rgb).count()
}

/// `saf-net compare` with SAF_NET_HISTORY at `csv`: (exit code, stdout, stderr).
fn compare(csv: &Path, out: &Path, args: &[&str]) -> (i32, String, String) {
    let o = common::saf_net()
        .env("SAF_NET_HISTORY", csv)
        .arg("compare")
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (o.status.code().unwrap_or(-1), text(&o.stdout), text(&o.stderr))
}

#[test]
#[ignore = "writes the example collective report and compare to $SAF_NET_EXAMPLE_OUT for a person to look at"]
fn write_example() {
    let root = PathBuf::from(std::env::var("SAF_NET_EXAMPLE_OUT").expect("set SAF_NET_EXAMPLE_OUT"));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root).unwrap();
    let csv = both(&root);
    let out = report::write_report(std::slice::from_ref(&csv), &root.join("report"), BASELINE_MBPS).unwrap();
    println!("{out:#?}");
    let (_, text, _) = compare(&csv, &root.join("compare"), &["--before", "1gbe", "--after", "10gbe"]);
    println!("{text}");
}

#[test]
fn report_of_collective_runs_only_draws_a_chart_per_op() {
    let dir = tempfile::tempdir().unwrap();
    let csv = both(dir.path());
    let out_dir = dir.path().join("out");
    let out = report::write_report(std::slice::from_ref(&csv), &out_dir, BASELINE_MBPS).unwrap();
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert!(
        out.skipped.iter().any(|s| s.contains("no throughput runs")),
        "{:?}",
        out.skipped
    );
    assert!(
        !out_dir.join(report::GOODPUT_PNG).exists(),
        "no throughput, no goodput chart"
    );
    for op in OPS {
        let png = out_dir.join(format!("collective-{op}.png"));
        assert!(out.files.contains(&png), "{:?}", out.files);
        let img = decode(&png);
        assert_eq!((img.0, img.1), (1400, 842), "one legend row for two labels");
        // One line per label, in the palette's first two colours (Okabe–Ito blue and orange).
        assert!(count(&img, (0, 114, 178)) > 300, "{op}: the first label's line");
        assert!(count(&img, (230, 159, 0)) > 300, "{op}: the second label's line");
        assert_eq!(count(&img, (0, 158, 115)), 0, "{op}: two labels, no third line");
    }
    assert!(
        !out_dir.join("collective-broadcast.png").exists(),
        "no broadcast measured"
    );

    let md = fs::read_to_string(out_dir.join(report::SUMMARY_MD)).unwrap();
    assert!(md.contains("2 collective runs (below)."), "{md}");
    assert!(md.contains("## Collective runs"), "{md}");
    assert!(
        md.contains("![allreduce: busbw by message size](collective-allreduce.png)"),
        "{md}"
    );
    let row = md
        .lines()
        .find(|l| l.starts_with(&format!("| 10gbe | {} |", TEN.id)) && l.contains("| allreduce |"))
        .unwrap_or_else(|| panic!("{md}"));
    assert!(row.contains("| 4 | ring | f32 |"), "{row}");
    let peak = report::collective::gbps(busbw(&TEN, 1 << 30));
    assert!(row.contains(&format!("| {peak} | 1G |")), "peak from ops[]: {row}");
    let half = report::collective::size_tick(half_peak(&TEN) as f64);
    assert!(row.contains(&format!("| 50 µs | {half} |")), "{row}");
    assert!(md.contains("- **10gbe**: 10 GB of gradients in 9 s"), "{md}");
}

#[test]
fn compare_1gbe_to_10gbe_prints_the_ratios_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let csv = both(dir.path());
    let cmp = dir.path().join("cmp");
    let (code, out, err) = compare(&csv, &cmp, &["--before", "1gbe", "--after", "10gbe"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("Collective compare: 1gbe → 10gbe\n"), "{out}");
    assert!(
        out.contains(&format!(
            "run {}, 2026-12-04 20:00 UTC, profile 1gbe, 4 nodes, ring f32",
            ONE.id
        )),
        "{out}"
    );
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("allreduce") && l.contains(" 1G "))
        .unwrap_or_else(|| panic!("{out}"));
    let cells: Vec<&str> = line.split_whitespace().collect();
    let (b, a): (f64, f64) = (cells[2].parse().unwrap(), cells[3].parse().unwrap());
    let want = busbw(&TEN, 1 << 30) / busbw(&ONE, 1 << 30);
    assert!((a / b - want).abs() < 0.01, "{line}");
    assert_eq!(cells[4], format!("{want:.2}×"), "{line}");
    let gbps = |s: &Spec| report::collective::gbps(busbw(s, 1 << 30));
    let headline = format!("allreduce at 1 GiB: {} vs {} = {want:.2}×", gbps(&TEN), gbps(&ONE));
    assert!(out.contains(&headline), "{out}");
    assert!(
        out.contains("Not compared (incomplete or not verified in a run): allgather 1K"),
        "{out}"
    );
    assert!(out.contains("Verdict: No point got worse"), "{out}");
    assert!(out.contains("over 11 compared points"), "{out}");
    let png = cmp.join(format!("compare-collective-{}-vs-{}.png", ONE.id, TEN.id));
    assert!(out.contains(&format!("Chart: {}", png.display())), "{out}");
    let img = decode(&png);
    assert_eq!(img.0, 1400);
    assert!(img.1 > 760, "the plot below a legend row and the verdict: {}", img.1);
}

#[test]
fn compare_reversed_is_worse_exits_4_and_its_json_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let csv = both(dir.path());
    let (code, out, err) = compare(
        &csv,
        &dir.path().join("cmp"),
        &["--before", "10gbe", "--after", "1gbe", "-J"],
    );
    assert_eq!(code, 4, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kind"], "collective");
    assert_eq!(
        (v["worse"].clone(), v["worse_ratio"].clone()),
        (json!(true), json!(0.9))
    );
    assert_eq!(v["before"]["run_id"], TEN.id);
    assert_eq!(v["before"]["ceiling_bps"], 9.9e9);
    assert_eq!(v["points"].as_array().unwrap().len(), 11);
    let worse = v["worse_points"].as_array().unwrap();
    assert!(
        !worse.is_empty() && worse.iter().all(|p| p["ratio"].as_f64().unwrap() < 0.9),
        "{v}"
    );
    let first = worse[0]["ratio"].as_f64().unwrap();
    assert!(
        worse.iter().all(|p| p["ratio"].as_f64().unwrap() >= first),
        "worst first: {v}"
    );
    assert!(
        v["verdict"].as_str().unwrap().contains("compared points got worse"),
        "{v}"
    );
    // Worse points are circled red: far more red than the forward compare's threshold line alone.
    let red = |png: &Path| count(&decode(png), (200, 40, 40));
    let worse_png = PathBuf::from(v["png"].as_str().unwrap());
    let (code, out, _) = compare(
        &csv,
        &dir.path().join("fwd"),
        &["--before", "1gbe", "--after", "10gbe", "-J"],
    );
    assert_eq!(code, 0);
    let fwd: Value = serde_json::from_str(&out).unwrap();
    let better_png = PathBuf::from(fwd["png"].as_str().unwrap());
    assert!(
        red(&worse_png) > red(&better_png) + 500,
        "{} vs {}",
        red(&worse_png),
        red(&better_png)
    );
}

#[test]
fn an_unreadable_document_is_a_warning_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let csv = both(dir.path());
    let later = Spec {
        id: "20261205T010000Z-bad0c0",
        hour: 5,
        ..TEN
    };
    let json = record(&csv, &later);
    fs::write(&json, "{\"saf_net\": {\"kind\": \"collective\"}, \"results\": [tru").unwrap();

    let out_dir = dir.path().join("out");
    let out = report::write_report(std::slice::from_ref(&csv), &out_dir, BASELINE_MBPS).unwrap();
    let warning = out
        .warnings
        .iter()
        .find(|w| w.starts_with(&format!("collective run {}", later.id)))
        .unwrap_or_else(|| panic!("{:?}", out.warnings));
    assert!(warning.contains("is not a collective document"), "{warning}");
    assert!(
        out_dir.join("collective-allreduce.png").exists(),
        "the readable runs still draw"
    );

    // The label's latest readable run is compared; the broken one is named on stderr.
    let (code, text, err) = compare(&csv, &dir.path().join("cmp"), &["--before", "1gbe", "--after", "10gbe"]);
    assert_eq!(code, 0, "{text}{err}");
    assert!(text.contains(&format!("run {}", TEN.id)), "{text}");
    assert!(err.contains(later.id) && err.starts_with("warning: "), "{err}");

    let (code, text, err) = compare(
        &csv,
        &dir.path().join("cmp"),
        &["--before", "1gbe", "--after", "nope", "--collective"],
    );
    assert_eq!((code, text.as_str()), (1, ""), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: no collective run labelled or with the id \"nope\""),
        "{err}"
    );
    assert!(err.contains(&format!("{} (label 1gbe)", ONE.id)), "{err}");
}

#[test]
fn runs_without_a_common_verified_point_are_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = both(dir.path());
    let failed = Spec {
        label: "broken",
        id: "20261205T030000Z-f41led",
        hour: 7,
        ..TEN
    };
    let json = record(&csv, &failed);
    let mut doc: Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    for r in doc["results"].as_array_mut().unwrap() {
        r["verified"] = json!(false);
    }
    fs::write(&json, doc.to_string()).unwrap();
    let (code, text, err) = compare(
        &csv,
        &dir.path().join("cmp"),
        &["--before", "1gbe", "--after", "broken"],
    );
    assert_eq!((code, text.as_str()), (1, ""), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "error: collective runs {} and {} have no (op, size) measured completely and verified in both",
            ONE.id, failed.id
        )),
        "{err}"
    );
    let out = report::write_report(std::slice::from_ref(&csv), &dir.path().join("out"), BASELINE_MBPS).unwrap();
    assert!(
        out.warnings.is_empty(),
        "a readable run without figures is no warning: {:?}",
        out.warnings
    );
}
