//! The mesh's text, `-J` and history rows for a synthetic outcome, against `tests/snapshots/mesh/`.
//! Refresh after an intended change: `SAF_NET_BLESS=1 cargo test --lib mesh::snapshot`, then read the diff.

use std::path::PathBuf;

use super::*;
use crate::output::RunMeta;
use crate::output::history::{Kind, details, encode_row};
use crate::profile::resolve_in;

/// Four nodes on 1gbe, the third (named gpu3) at 100 Mb/s, the pair 10.0.0.4->10.0.0.1 incomplete.
fn outcome() -> MeshOutcome {
    let given = ["10.0.0.1", "10.0.0.2", "gpu3=10.0.0.3", "10.0.0.4"].map(String::from);
    let list = nodes::check(nodes::from_args(&given).unwrap(), "").unwrap();
    let mut plan = Plan::new(list.clone(), 3.0, 4, None).unwrap();
    plan.profile = Some(resolve_in("1gbe", &[]).unwrap());
    let profile = plan.profile.as_ref().unwrap();
    let mesh_nodes = list
        .iter()
        .enumerate()
        .map(|(i, n)| MeshNode {
            name: n.name.clone(),
            host: n.host.clone(),
            link: (i != 1).then(|| NodeLink {
                interface: Some("eth0".into()),
                speed_mbps: Some(if i == 2 { 100 } else { 1000 }),
                mtu: Some(1500),
            }),
        })
        .collect();
    let mut m = Matrix::new(mesh_nodes);
    m.ceiling_bps = Some(profile.ceiling_mbps() * 1e6);
    m.line_rate_mbps = Some(profile.link.line_rate_mbps);
    m.profile_mtu = Some(profile.link.mtu);
    for (a, b) in m.ordered_pairs().collect::<Vec<_>>() {
        let slow = a == 2 || b == 2;
        let step = (a * 4 + b) as f64;
        let result = PairResult {
            goodput_bps: Some(if slow { 93.1e6 } else { 921.0e6 } + step * 1e5),
            goodput_parallel_bps: Some(if slow { 94.2e6 } else { 931.5e6 } + step * 1e5),
            rtt_p50_us: Some(if slow { 310.0 } else { 61.0 }),
            rtt_p99_us: Some(if slow { 940.0 } else { 118.0 }),
            path_mtu: Some(1500),
            complete: true,
        };
        m.set(a, b, result);
    }
    m.set(3, 0, PairResult::default());
    MeshOutcome::new(m, &plan)
}

/// Compares (or with SAF_NET_BLESS writes) a snapshot; the crate's version reads `VERSION` there.
fn check(name: &str, got: &str) {
    let got = got.replace(env!("CARGO_PKG_VERSION"), "VERSION");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots/mesh")
        .join(name);
    if std::env::var_os("SAF_NET_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        got == want,
        "{} differs; refresh with SAF_NET_BLESS=1 cargo test --lib mesh::snapshot\n--- got\n{got}",
        path.display()
    );
}

#[test]
fn the_text_names_host_3_and_marks_the_incomplete_pair() {
    let text = outcome().text();
    assert!(
        text.contains("Finding [slow_node] gpu3: every pair with gpu3 is slow both ways"),
        "{text}"
    );
    check("text.txt", &text);
}

#[test]
fn the_json_has_nodes_pairs_and_findings() {
    let o = outcome();
    let json = o.json(&RunMeta::fixed());
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["nodes"].as_array().unwrap().len(), 4);
    assert_eq!(v["pairs"].as_array().unwrap().len(), 12);
    assert_eq!(v["pairs"][9]["from"], "10.0.0.4");
    assert_eq!(v["pairs"][9]["complete"], false);
    assert_eq!(v["findings"][0]["subject"], "gpu3");
    check("mesh.json", &(json + "\n"));
}

#[test]
fn the_history_has_one_mesh_row_per_pair() {
    let o = outcome();
    let rows = o.history_rows(&RunMeta::fixed());
    assert_eq!(rows.len(), 12);
    assert!(rows.iter().all(|r| r.kind == Kind::Mesh));
    let mut csv = String::new();
    for r in &rows {
        csv.push_str(&String::from_utf8(encode_row(r)).unwrap());
    }
    let with_gpu3 = rows.iter().filter(|r| r.diagnoses == "slow_node").count();
    assert_eq!(with_gpu3, 6, "{csv}");
    check("rows.csv", &csv);
    check("history_columns.json", &details::with_columns("{}", &rows[0].detail));
}
