//! History schema 5: the shared columns in the CSV, each kind's own figures in the per-run JSON. Old histories
//! (the fixtures of every schema) are read by `report` as they always were, and an upgrade moves the columns
//! that leave the CSV into each row's JSON without losing or changing anything.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use saf_net::output::history::{self, HistoryError, HistoryRow, Kind, SCHEMA_VERSION};
use saf_net::report::History;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/history")
        .join(name)
}

/// `saf-net ARGS` run to the end: (exit code, stdout, stderr).
fn saf(args: &[&str]) -> (i32, String, String) {
    let out = common::saf_net().args(args).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// `saf-net report CSV --out OUT`'s report.md (exit 0 asserted).
fn report_md(csv: &Path, out: &Path) -> String {
    let (code, _, err) = saf(&["report", csv.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    fs::read_to_string(out.join("report.md")).unwrap()
}

/// A row that makes saf-net upgrade an older history when it is appended.
fn mtu_row() -> HistoryRow {
    HistoryRow {
        schema_version: SCHEMA_VERSION,
        kind: Kind::Mtu,
        run_id: "upgrading".into(),
        ..HistoryRow::default()
    }
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn old_history_fixtures_are_read_by_report() {
    let dir = tempfile::tempdir().unwrap();
    let want: [(&str, &[&str]); 5] = [
        (
            "v1.csv",
            &[
                "| before, \"tuned\" | 1gbe | 1 GbE, MTU 1500 | 1 | 941.2 |",
                "| bidir | 1gbe |",
            ],
        ),
        ("v2.csv", &["| loaded | 1gbe | 1 GbE, MTU 1500 | 1 | 941.0 |"]),
        ("v3.csv", &["| 10g | 1gbe | 1 GbE, MTU 1500 | 1 | 9,360.0 |"]),
        (
            "v4.csv",
            &[
                "| after | 1gbe | 1 GbE, MTU 1500 | 1 | 941.3 |",
                "| udp | 1gbe | 20261004T090000Z-v4aaaa | 1 | 100.0 | 100.0 | 100.0 | 0.01 % | 0.0120 ms | 2 | 1 | 1472 B |",
            ],
        ),
        (
            "v5.csv",
            &[
                "| after | 1gbe | 1 GbE, MTU 1500 | 1 | 11,417.1 |",
                "| udp | 1gbe | 20261204T084241Z-ea5682 | 1 | 100.0 | 100.0 | 99.5 | 0.00 % | 0.0674 ms | 0 | 0 | 1472 B |",
                "![Latency](latency.png)",
                "![Goodput over time](goodput-over-time.png)",
            ],
        ),
    ];
    for (name, lines) in want {
        let md = report_md(&fixture(name), &dir.path().join(name));
        for line in lines {
            assert!(md.contains(line), "{name}: no {line:?} in\n{md}");
        }
    }
}

#[test]
fn the_v5_fixture_keeps_each_kinds_figures_in_its_json() {
    let header = fs::read_to_string(fixture("v5.csv")).unwrap();
    assert_eq!(header.lines().next().unwrap(), history::header().join(","));
    let rows = history::read(&fixture("v5.csv")).unwrap();
    let kinds: Vec<Kind> = rows.iter().map(|r| r.kind.clone().unwrap()).collect();
    assert_eq!(
        kinds,
        [Kind::Udp, Kind::Latency, Kind::Mtu, Kind::Throughput, Kind::Validate]
    );
    assert_eq!(
        (rows[0].detail.udp_packets, rows[0].detail.udp_jitter_ms),
        (Some(8490), Some(0.067412))
    );
    assert_eq!(
        (rows[1].detail.latency_mode.as_deref(), rows[1].detail.rtt_p50_us),
        (Some("tcp"), Some(38.975))
    );
    assert_eq!(
        (rows[2].detail.path_mtu, rows[2].detail.local_interface.as_deref()),
        (Some(65535), Some("lo"))
    );
    assert_eq!(rows[3].detail.loaded_rtt_p99_us, Some(6844.415));
    assert!(rows[4].detail.rtt_p99_us.is_some());
    assert!(
        rows[4]
            .diagnoses
            .as_deref()
            .unwrap()
            .contains("goodput, 4 streams, within the wire")
    );
    let h = History::load(&[fixture("v5.csv")]).unwrap();
    let lat = h.runs.iter().find(|r| r.kind == Kind::Latency).unwrap();
    assert_eq!(lat.latency_mode, "tcp", "report reads the mode from the JSON");
    assert!(h.warnings.is_empty(), "{:?}", h.warnings);
}

/// A v4 history with two labels, so `compare` has something to judge: the fixture plus a `before` row.
fn v4_with_before(dir: &Path) -> PathBuf {
    let text = fs::read_to_string(fixture("v4.csv")).unwrap();
    let after = text.lines().last().unwrap();
    let before = after
        .replace("v4bbbb", "v4cccc")
        .replace(",after,", ",before,")
        .replace("941.3", "700.5");
    let csv = dir.join("history.csv");
    fs::write(&csv, format!("{text}{before}\n")).unwrap();
    csv
}

#[test]
fn an_upgraded_v4_history_reports_and_compares_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let csv = v4_with_before(dir.path());
    let original = fs::read(&csv).unwrap();
    let compare = |out: &str| {
        let (code, stdout, err) = saf(&[
            "compare",
            "--before",
            "before",
            "--after",
            "after",
            "-J",
            "--csv",
            csv.to_str().unwrap(),
            "--out",
            dir.path().join(out).to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        let mut v: Value = serde_json::from_str(&stdout).unwrap();
        assert!(
            v["png"]
                .as_str()
                .unwrap()
                .ends_with(&format!("{out}/compare-before-vs-after.png")),
            "{v}"
        );
        v["png"] = Value::Null; // in the folder given, the one thing allowed to differ
        v
    };
    let (md, cmp) = (report_md(&csv, &dir.path().join("r4")), compare("c4"));
    let runs4 = History::load(std::slice::from_ref(&csv)).unwrap().runs;

    history::append(&csv, &mtu_row(), "{}").unwrap();
    assert_eq!(fs::read(dir.path().join("history.csv.v4.bak")).unwrap(), original);
    let text = fs::read_to_string(&csv).unwrap();
    assert!(
        text.starts_with(&format!("{}\n4,udp,", history::header().join(","))),
        "{text}"
    );
    // The same, but for one warning fewer: the udp run's JSON, which the upgrade made, is no longer missing.
    let md5 = report_md(&csv, &dir.path().join("r5"));
    let (shown4, warned4) = md.split_once("\n## Warnings").unwrap();
    let (shown5, warned5) = md5.split_once("\n## Warnings").unwrap();
    assert_eq!(shown5, shown4, "report shows the same");
    let gone: Vec<&str> = warned4.lines().filter(|l| !warned5.contains(l)).collect();
    assert!(
        gone.len() == 1 && gone[0].contains("v4aaaa.json is missing"),
        "{gone:?}"
    );
    assert_eq!(compare("c5"), cmp, "compare judges the same");
    let runs5 = History::load(std::slice::from_ref(&csv)).unwrap().runs;
    for (a, b) in runs4.iter().zip(&runs5) {
        let shown = |r: &saf_net::report::data::Run| {
            (
                r.kind.clone(),
                r.label.clone(),
                r.receiver_mbps,
                r.streams,
                r.complete,
                r.latency_mode.clone(),
                r.udp.clone(),
            )
        };
        assert_eq!(shown(a), shown(b), "{}", a.run_id);
    }
    let moved = json(&dir.path().join("runs/20261004T090000Z-v4aaaa.json"));
    assert_eq!(moved["history_columns"]["udp_lost_percent"], 0.0082);
    assert_eq!(moved["history_columns"]["local_interface"], "lo");
    assert!(
        !dir.path().join("runs/20261004T090100Z-v4bbbb.json").exists(),
        "no figures to move, no file made"
    );
}

#[test]
fn an_existing_per_run_json_keeps_its_bytes_and_gains_the_moved_columns() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("history.csv");
    fs::copy(fixture("v2.csv"), &csv).unwrap();
    let doc_path = dir.path().join("runs/20261002T090000Z-v2aaaa.json");
    fs::create_dir_all(doc_path.parent().unwrap()).unwrap();
    let doc = "{\n  \"end\": {\n    \"sent\": 500\n  },\n  \"saf_net\": {\n    \"kind\": \"latency\"\n  }\n}\n";
    fs::write(&doc_path, doc).unwrap();
    history::append(&csv, &mtu_row(), "{}").unwrap();
    let after = fs::read_to_string(&doc_path).unwrap();
    assert!(
        after.starts_with(doc.trim_end().strip_suffix('}').unwrap().trim_end()),
        "{after}"
    );
    let v = json(&doc_path);
    assert_eq!(
        (v["end"]["sent"].clone(), v["saf_net"]["kind"].clone()),
        (500.into(), "latency".into())
    );
    let moved = &v["history_columns"];
    assert_eq!(
        (moved["latency_mode"].clone(), moved["rtt_p50_us"].clone()),
        ("udp".into(), 63.25.into())
    );
    assert_eq!(moved["rtt_max_us"], 410.0);
    let rows = history::read(&csv).unwrap();
    assert_eq!(
        (rows[0].detail.jitter_us, rows[1].detail.loaded_rtt_p99_us),
        (Some(4.5), Some(2100.0))
    );
}

#[test]
fn a_json_that_disagrees_stops_the_upgrade_and_leaves_the_history_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("history.csv");
    fs::copy(fixture("v4.csv"), &csv).unwrap();
    let doc_path = dir.path().join("runs/20261004T090000Z-v4aaaa.json");
    fs::create_dir_all(doc_path.parent().unwrap()).unwrap();
    fs::write(&doc_path, "{\"history_columns\":{\"udp_lost\":9}}").unwrap();
    let err = history::append(&csv, &mtu_row(), "{}").unwrap_err();
    assert!(matches!(err, HistoryError::Upgrade { line: 2, .. }), "{err}");
    assert!(!err.is_wrong_target(), "a failure (exit 1), not a bad argument");
    let line = err.to_string();
    assert!(!line.contains('\n'), "{line}");
    assert!(
        line.contains("history_columns.udp_lost = 9 where the CSV says 7") && line.contains("left as it was"),
        "{line}"
    );
    assert_eq!(fs::read(&csv).unwrap(), fs::read(fixture("v4.csv")).unwrap());
    assert_eq!(
        fs::read_to_string(&doc_path).unwrap(),
        "{\"history_columns\":{\"udp_lost\":9}}"
    );
    assert!(
        !dir.path().join("runs/upgrading.json").exists(),
        "the run's own JSON is removed with its row"
    );
}

#[test]
fn a_kind_from_a_newer_saf_net_is_read_and_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("history.csv");
    let v5 = fs::read_to_string(fixture("v5.csv")).unwrap();
    let wifi = "6,wifi,w1,2026-12-05T00:00:00Z,air,1gbe,vm,ap,,1,1.0,0,0.0,0.0,,,true,0.3.0,,\n";
    fs::write(&csv, format!("{v5}{wifi}")).unwrap();
    let rows = history::read(&csv).unwrap();
    assert_eq!(rows.last().unwrap().kind, Some(Kind::Other("wifi".into())));
    let md = report_md(&csv, &dir.path().join("out"));
    assert!(!md.contains("| air |"), "{md}");
    history::append(&csv, &mtu_row(), "{}").unwrap();
    assert!(fs::read_to_string(&csv).unwrap().contains(wifi), "kept as written");
}
