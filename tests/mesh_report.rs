//! The mesh in `report` (a heatmap PNG per mesh run, its report.md section) and in `compare` (the matrix of
//! after/before ratios, the pairs that got worse, exit 4). Mesh runs are made as the command will make them: a
//! `MeshOutcome` of a synthetic 4-node matrix, recorded through `MeshOutcome::record` into a temp history.
//!
//! To look at the pictures: `SAF_NET_EXAMPLE_OUT=/tmp/mesh cargo test --test mesh_report write_example --
//! --ignored`, then open /tmp/mesh/report/mesh-*.png and /tmp/mesh/compare/*.png.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use saf_net::kinds::mesh::matrix::Matrix;
use saf_net::kinds::mesh::{MeshNode, MeshOutcome, NodeLink, PairResult, Plan, nodes};
use saf_net::model::BASELINE_MBPS;
use saf_net::output::RunMeta;
use saf_net::profile::resolve_in;
use saf_net::report;

const NODES: [&str; 4] = ["10.0.0.1", "10.0.0.2", "gpu3=10.0.0.3", "10.0.0.4"];

/// What a synthetic mesh looks like.
struct Spec {
    label: &'static str,
    id: &'static str,
    /// Hours after the fixed start, so "latest" can be told apart.
    hour: u64,
    /// The node (0-based) whose pairs all run at a tenth of the rate.
    slow: Option<usize>,
    /// A pair that did not complete.
    incomplete: Option<(usize, usize)>,
}

/// A 1gbe mesh of NODES: fine pairs near 930 Mbit/s (a little spread), the slow node's near 94.
fn outcome(spec: &Spec) -> MeshOutcome {
    let given: Vec<String> = NODES.iter().map(|s| s.to_string()).collect();
    let list = nodes::check(nodes::from_args(&given).unwrap(), "").unwrap();
    let mut plan = Plan::new(list.clone(), 3.0, 4, None).unwrap();
    plan.profile = Some(resolve_in("1gbe", &[]).unwrap());
    let profile = plan.profile.clone().unwrap();
    let mesh_nodes = list
        .iter()
        .map(|n| MeshNode {
            name: n.name.clone(),
            host: n.host.clone(),
            link: Some(NodeLink {
                interface: Some("eth0".into()),
                speed_mbps: Some(1000),
                mtu: Some(1500),
            }),
        })
        .collect();
    let mut m = Matrix::new(mesh_nodes);
    m.ceiling_bps = Some(profile.ceiling_mbps() * 1e6);
    m.line_rate_mbps = Some(profile.link.line_rate_mbps);
    m.profile_mtu = Some(profile.link.mtu);
    for (a, b) in m.ordered_pairs().collect::<Vec<_>>() {
        let slow = spec.slow.is_some_and(|s| a == s || b == s);
        let step = (a * 4 + b) as f64 * 0.4e6;
        let bps = if slow { 94.0e6 } else { 928.0e6 } + step;
        m.set(
            a,
            b,
            PairResult {
                goodput_bps: Some(bps * 0.99),
                goodput_parallel_bps: Some(bps),
                rtt_p50_us: Some(60.0),
                rtt_p99_us: Some(120.0),
                path_mtu: Some(1500),
                complete: spec.incomplete != Some((a, b)),
            },
        );
    }
    MeshOutcome::new(m, &plan)
}

fn meta(spec: &Spec) -> RunMeta {
    RunMeta {
        run_id: spec.id.into(),
        time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_043_600 + spec.hour * 3600),
        label: Some(spec.label.into()),
        profile: Some("1gbe".into()),
        host: String::new(),
        port: 5301,
        client_host: "orchestrator".into(),
        profile_link: None,
    }
}

fn record(csv: &Path, spec: &Spec) -> MeshOutcome {
    let o = outcome(spec);
    let written = o.record(csv, &meta(spec)).unwrap();
    assert_eq!(written.len(), 12, "one per-run JSON per ordered pair");
    o
}

const BEFORE: Spec = Spec {
    label: "before",
    id: "20261130T130000Z-b4f0re",
    hour: 0,
    slow: Some(2),
    incomplete: Some((3, 0)),
};

const AFTER: Spec = Spec {
    label: "after",
    id: "20261130T150000Z-aft3r0",
    hour: 2,
    slow: None,
    incomplete: None,
};

/// Both runs in one temp history.
fn history(dir: &Path) -> PathBuf {
    let csv = dir.join("history.csv");
    record(&csv, &BEFORE);
    record(&csv, &AFTER);
    csv
}

/// The PNG's size and RGB pixels.
fn decode(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
#[ignore = "writes the example mesh report and compare to $SAF_NET_EXAMPLE_OUT for a person to look at"]
fn write_example() {
    let root = PathBuf::from(std::env::var("SAF_NET_EXAMPLE_OUT").expect("set SAF_NET_EXAMPLE_OUT"));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root).unwrap();
    let csv = history(&root);
    let out = report::write_report(std::slice::from_ref(&csv), &root.join("report"), BASELINE_MBPS).unwrap();
    println!("{out:#?}");
    let out = common::saf_net()
        .args(["compare", "--before", "before", "--after", "after", "--csv"])
        .arg(&csv)
        .arg("--out")
        .arg(root.join("compare"))
        .output()
        .unwrap();
    println!("{}", String::from_utf8_lossy(&out.stdout));
}

/// The RGB pixel at (x, y).
fn pixel(img: &(u32, u32, Vec<u8>), at: (i32, i32)) -> (u8, u8, u8) {
    let i = (at.1 as usize * img.0 as usize + at.0 as usize) * 3;
    (img.2[i], img.2[i + 1], img.2[i + 2])
}

#[test]
fn report_draws_a_heatmap_per_mesh_run_and_lists_its_findings() {
    let dir = tempfile::tempdir().unwrap();
    let csv = history(dir.path());
    let out_dir = dir.path().join("out");
    let out = report::write_report(std::slice::from_ref(&csv), &out_dir, BASELINE_MBPS).unwrap();
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    assert!(
        out.skipped.iter().any(|s| s.contains("no throughput runs")),
        "{:?}",
        out.skipped
    );
    let png = out_dir.join(format!("mesh-{}.png", BEFORE.id));
    assert!(out.files.contains(&png), "{:?}", out.files);
    assert!(out_dir.join(format!("mesh-{}.png", AFTER.id)).exists());
    assert!(
        !out_dir.join(report::GOODPUT_PNG).exists(),
        "no throughput, no goodput chart"
    );

    let h = report::History::load(std::slice::from_ref(&csv)).unwrap();
    let runs = report::mesh::mesh_runs(&h, &mut Vec::new());
    assert_eq!(runs.len(), 2);
    let before = &runs[0];
    assert_eq!(before.nodes, ["10.0.0.1", "10.0.0.2", "gpu3", "10.0.0.4"]);
    let grid = report::charts::heatmap::grid(before);
    let img = decode(&png);
    let corner = |r, c| {
        let ((w, h), (x, y)) = report::charts::grid::geometry(&grid, r, c);
        assert_eq!((w, h), (img.0, img.1), "the layout the test reads is the one drawn");
        (x + 5, y + 5)
    };
    let fast = pixel(&img, corner(0, 1));
    let slow = pixel(&img, corner(0, 2));
    let diagonal = pixel(&img, corner(1, 1));
    let unknown = pixel(&img, corner(3, 0));
    assert!(
        fast.2 > 100 && fast.0 < 120,
        "a pair at ~99 % of the ceiling is blue: {fast:?}"
    );
    assert!(slow.0 > 120 && slow.2 < 80, "a pair at ~10 % is red: {slow:?}");
    assert!(
        diagonal.0 > 240 && diagonal.1 > 240 && diagonal.2 > 240,
        "blank: {diagonal:?}"
    );
    let grey = |p: (u8, u8, u8)| p.0.abs_diff(p.1) < 12 && p.1.abs_diff(p.2) < 12;
    assert!(
        grey(unknown),
        "the incomplete pair is hatched grey, not a value's colour: {unknown:?}"
    );
    assert_ne!(
        pixel(&img, corner(1, 0)),
        unknown,
        "the same pair the other way was measured"
    );

    let md = fs::read_to_string(out_dir.join(report::SUMMARY_MD)).unwrap();
    assert!(md.contains(&format!("## Mesh {}", BEFORE.id)), "{md}");
    assert!(
        md.contains(&format!("![Mesh {} heatmap](mesh-{}.png)", BEFORE.id, BEFORE.id)),
        "{md}"
    );
    assert!(
        md.contains("| slow_node | gpu3 | every pair with gpu3 is slow both ways"),
        "{md}"
    );
    assert!(md.contains("11 of 12 pairs measured completely"), "{md}");
    assert!(md.contains("`gpu3` (10.0.0.3)"), "{md}");
    let after_section = &md[md.find(&format!("## Mesh {}", AFTER.id)).unwrap()..];
    assert!(after_section.contains("Findings: none."), "{after_section}");
    assert!(!md.contains("## Per label"), "no throughput runs, no per-label table");
    let summary = fs::read_to_string(out_dir.join(report::SUMMARY_CSV)).unwrap();
    assert_eq!(
        summary.lines().count(),
        1,
        "mesh rows are no throughput groups: {summary}"
    );
}

/// `saf-net compare` on `csv`: (exit code, stdout, stderr).
fn compare(csv: &Path, out: &Path, args: &[&str]) -> (i32, String, String) {
    let o = common::saf_net()
        .arg("compare")
        .args(args)
        .arg("--csv")
        .arg(csv)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (o.status.code().unwrap_or(-1), text(&o.stdout), text(&o.stderr))
}

#[test]
fn compare_of_a_fixed_slow_node_names_no_pair_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let csv = history(dir.path());
    let (code, out, err) = compare(
        &csv,
        &dir.path().join("cmp"),
        &["--before", "before", "--after", "after"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("Mesh compare: before (run {}", BEFORE.id)),
        "{out}"
    );
    assert!(out.contains("rows send, columns receive"), "{out}");
    let row = out.lines().find(|l| l.trim_start().starts_with("gpu3")).unwrap();
    let cells: Vec<&str> = row.split_whitespace().skip(1).collect();
    assert_eq!(cells.len(), 4, "{row}");
    assert_eq!(cells[2], "—", "the diagonal: {row}");
    for c in [cells[0], cells[1], cells[3]] {
        let r: f64 = c.trim_end_matches('×').parse().unwrap();
        assert!(r > 9.0 && r < 10.5, "gpu3 got ~10× faster: {row}");
    }
    let last = out.lines().find(|l| l.trim_start().starts_with("10.0.0.4")).unwrap();
    assert_eq!(last.split_whitespace().nth(1), Some("?"), "incomplete before: {last}");
    assert!(
        out.contains("Not compared (incomplete or not measured in a run): 10.0.0.4->10.0.0.1"),
        "{out}"
    );
    assert!(out.contains("Worse (below 0.90×): none"), "{out}");
    assert!(out.contains("over 11 compared pairs"), "{out}");
    let png = dir
        .path()
        .join("cmp")
        .join(format!("compare-mesh-{}-vs-{}.png", BEFORE.id, AFTER.id));
    let (w, h, _) = decode(&png);
    assert!(w > 800 && h > 400, "{w}×{h}");
}

#[test]
fn compare_reversed_names_the_pairs_that_got_worse_and_exits_4() {
    let dir = tempfile::tempdir().unwrap();
    let csv = history(dir.path());
    let args = ["--before", "after", "--after", "before", "-J"];
    let (code, out, err) = compare(&csv, &dir.path().join("cmp"), &args);
    assert_eq!(code, 4, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kind"], "mesh");
    assert_eq!(v["worse"], true);
    assert_eq!(v["worse_ratio"], 0.9);
    assert_eq!(
        v["nodes"],
        serde_json::json!(NODES.map(|n| n.split('=').next().unwrap()))
    );
    let worse: Vec<String> = v["worse_pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{}->{}", p["from"].as_str().unwrap(), p["to"].as_str().unwrap()))
        .collect();
    assert_eq!(worse.len(), 6, "every pair with gpu3, both ways: {worse:?}");
    assert!(worse.iter().all(|p| p.contains("gpu3")), "{worse:?}");
    assert!(
        v["ratios"][0][0].is_null() && v["ratios"][3][0].is_null(),
        "diagonal and uncompared: {v}"
    );
    let r = v["ratios"][0][2].as_f64().unwrap();
    assert!(r < 0.2, "{r}");
    assert!(
        v["verdict"]
            .as_str()
            .unwrap()
            .starts_with("6 of 11 compared pairs got worse"),
        "{v}"
    );

    let (code, out, _) = compare(&csv, &dir.path().join("cmp"), &args[..4]);
    assert_eq!(code, 4);
    assert!(out.contains("  10.0.0.1->gpu3: 928.8 → 94.8 Mbit/s (0.10×)"), "{out}");
}

#[test]
fn nodes_in_one_run_only_are_named_and_ids_pick_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let csv = history(dir.path());
    // A later "after" run: 10.0.0.4 is gone, a fifth node is new, gpu3 is named by its address this time.
    let mut o = outcome(&AFTER);
    o.matrix.nodes[2].name = "10.0.0.3".into();
    o.matrix.nodes[3].name = "10.0.0.5".into();
    o.matrix.nodes[3].host = "10.0.0.5".into();
    let later = Spec {
        id: "20261130T170000Z-l4t3r0",
        hour: 4,
        ..AFTER
    };
    o.record(&csv, &meta(&later)).unwrap();
    let (code, out, err) = compare(
        &csv,
        &dir.path().join("cmp"),
        &["--before", "before", "--after", "after"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("(run {}", later.id)),
        "the label's latest run: {out}"
    );
    assert!(
        out.contains("Only in before (their pairs not compared): 10.0.0.4"),
        "{out}"
    );
    assert!(
        out.contains("Only in after (their pairs not compared): 10.0.0.5"),
        "{out}"
    );
    assert!(
        out.contains("over 6 compared pairs"),
        "3 nodes in common, gpu3 matched by host: {out}"
    );

    let (code, out, _) = compare(
        &csv,
        &dir.path().join("cmp"),
        &["--before", BEFORE.id, "--after", AFTER.id],
    );
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("(run {}", AFTER.id)) && out.contains("over 11 compared pairs"),
        "{out}"
    );

    let (code, out, err) = compare(
        &csv,
        &dir.path().join("cmp"),
        &["--before", "before", "--after", "nope", "--mesh"],
    );
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: no mesh run labelled or with the id \"nope\""),
        "{err}"
    );
    assert!(err.contains(&format!("{} (label before)", BEFORE.id)), "{err}");
}

/// Throughput figures out of a throughput history, byte for byte.
fn throughput_outputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    [
        report::GOODPUT_PNG,
        report::TIMELINE_PNG,
        report::LATENCY_PNG,
        report::SUMMARY_CSV,
    ]
    .iter()
    .filter_map(|f| Some((f.to_string(), fs::read(dir.join(f)).ok()?)))
    .collect()
}

#[test]
fn mesh_rows_leave_the_throughput_report_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/history");
    let csv = dir.path().join("v5.csv");
    fs::copy(fixtures.join("v5.csv"), &csv).unwrap();
    fs::create_dir(dir.path().join("runs")).unwrap();
    for e in fs::read_dir(fixtures.join("runs")).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), dir.path().join("runs").join(e.file_name())).unwrap();
    }
    let alone = report::write_report(std::slice::from_ref(&csv), &dir.path().join("a"), BASELINE_MBPS).unwrap();
    record(&csv, &BEFORE);
    let with = report::write_report(std::slice::from_ref(&csv), &dir.path().join("b"), BASELINE_MBPS).unwrap();
    let before = throughput_outputs(&dir.path().join("a"));
    assert!(before.len() >= 2, "{:?}", alone.files);
    assert_eq!(
        before,
        throughput_outputs(&dir.path().join("b")),
        "the same charts and summary.csv"
    );
    assert_eq!(alone.warnings, with.warnings);
    assert_eq!(
        with.files.len(),
        alone.files.len() + 1,
        "one more file: {:?}",
        with.files
    );
    let (a, b) = (
        fs::read_to_string(dir.path().join("a").join(report::SUMMARY_MD)).unwrap(),
        fs::read_to_string(dir.path().join("b").join(report::SUMMARY_MD)).unwrap(),
    );
    let intro_end = |md: &str| md.find("## ").unwrap();
    assert_eq!(
        a[intro_end(&a)..],
        b[intro_end(&b)..].replacen(&mesh_section(&b), "", 1),
        "only the mesh section is new"
    );
    assert!(b[..intro_end(&b)].contains("1 mesh run (its heatmap below)"), "{b}");
}

/// The `## Mesh …` section of a report.md, up to the next section.
fn mesh_section(md: &str) -> String {
    let start = md.find("## Mesh ").unwrap();
    let end = md[start + 3..].find("\n## ").map_or(md.len(), |e| start + 3 + e + 1);
    md[start..end].to_string()
}
