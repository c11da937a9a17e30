//! Reports from the run history: PNG charts, summary CSV and Markdown (`saf-net report`), and before/after
//! comparisons (`saf-net compare`).
//!
//! One concern per file: `data` loads history rows and per-run JSON, `groups` computes per-label figures,
//! `charts/` draws PNGs, `summary` writes the CSV and Markdown, `compare` judges two labels, `links` maps profile
//! names to links through the profile loader, `files` writes whole files; `mesh`/`mesh_compare` and
//! `collective`/`collective_compare` read and judge those kinds' runs.

pub mod charts;
pub mod collective;
pub mod collective_compare;
pub mod compare;
pub mod data;
mod doc;
pub mod error;
pub mod files;
pub mod groups;
pub mod links;
pub mod mesh;
pub mod mesh_compare;
pub mod pick;
pub mod summary;

use std::path::{Path, PathBuf};

pub use collective::CollectiveRun;
pub use collective_compare::CollectiveComparison;
pub use compare::{Comparison, compare};
pub use data::History;
pub use error::ReportError;
pub use links::link_for_profile;
pub use mesh::MeshRun;
pub use mesh_compare::MeshComparison;

/// File names inside the report folder.
pub const GOODPUT_PNG: &str = "goodput.png";
pub const TIMELINE_PNG: &str = "goodput-over-time.png";
pub const LATENCY_PNG: &str = "latency.png";
pub const SUMMARY_CSV: &str = "summary.csv";
pub const SUMMARY_MD: &str = "report.md";

/// What a report wrote.
#[derive(Debug, Default)]
pub struct ReportOutput {
    pub files: Vec<PathBuf>,
    /// Runs left out of a chart, and why.
    pub warnings: Vec<String>,
    /// Charts not drawn, and why.
    pub skipped: Vec<String>,
}

/// Reads the histories and writes the charts, summary.csv and report.md into `out`.
pub fn write_report(histories: &[PathBuf], out: &Path, baseline_mbps: f64) -> Result<ReportOutput, ReportError> {
    let history = History::load(histories)?;
    let mut o = ReportOutput {
        warnings: history.warnings.clone(),
        ..ReportOutput::default()
    };
    let meshes = mesh::mesh_runs(&history, &mut o.warnings);
    let collectives = collective::collective_runs(&history, &mut o.warnings);
    if meshes.is_empty() && collectives.is_empty() {
        history.require_throughput()?;
    }
    files::prepare_out_dir(out)?;
    let groups = groups::groups(&history);
    let mut charts = Vec::new();
    if history.throughput().next().is_some() {
        throughput_charts(
            out,
            &groups,
            baseline_mbps,
            &history.source_names(),
            &mut o,
            &mut charts,
        )?;
    } else {
        o.skipped.push(
            "Goodput charts: skipped, the history has no throughput runs (only mesh or collective runs).".to_string(),
        );
    }
    latency_chart(out, &history, &mut o, &mut charts)?;
    let mesh_files = mesh_charts(out, &meshes, &mut o)?;
    let collective_files = collective_charts(out, &collectives, &history.source_names(), &mut o)?;

    let rows = summary::rows(&groups, baseline_mbps);
    let p = out.join(SUMMARY_CSV);
    files::write_atomic(&p, &summary::csv(&rows))?;
    o.files.push(p);
    let md = summary::markdown(&summary::MarkdownInput {
        history: &history,
        rows: &rows,
        baseline: baseline_mbps,
        charts: &charts,
        skipped: &o.skipped,
        meshes: &mesh_files,
        collectives: &collectives,
        collective_charts: &collective_files,
        warnings: &o.warnings,
    });
    let p = out.join(SUMMARY_MD);
    files::write_atomic(&p, md.as_bytes())?;
    o.files.push(p);
    Ok(o)
}

/// goodput.png, and goodput-over-time.png when runs have intervals.
fn throughput_charts(
    out: &Path,
    groups: &[groups::Group<'_>],
    baseline_mbps: f64,
    source: &str,
    o: &mut ReportOutput,
    charts: &mut Vec<(String, String)>,
) -> Result<(), ReportError> {
    let p = out.join(GOODPUT_PNG);
    charts::goodput::draw(&p, groups, baseline_mbps, source)?;
    o.files.push(p);
    charts.push((GOODPUT_PNG.to_string(), "Goodput per label".to_string()));

    if charts::timeline::has_data(groups) {
        let p = out.join(TIMELINE_PNG);
        charts::timeline::draw(&p, groups, source)?;
        o.files.push(p);
        charts.push((TIMELINE_PNG.to_string(), "Goodput over time".to_string()));
    } else {
        o.skipped.push(
            "Goodput over time: skipped, no run has a per-run JSON with intervals (see the warnings).".to_string(),
        );
    }
    Ok(())
}

/// latency.png, when latency histograms exist.
fn latency_chart(
    out: &Path,
    history: &History,
    o: &mut ReportOutput,
    charts: &mut Vec<(String, String)>,
) -> Result<(), ReportError> {
    let latency = groups::latency_series(history);
    if latency.is_empty() {
        o.skipped.push(
            "Latency: skipped, the history has no latency runs (kind = latency) and no throughput runs made with \
             --latency with a histogram yet."
                .to_string(),
        );
    } else {
        let p = out.join(LATENCY_PNG);
        charts::latency::draw(&p, &latency, &history.source_names())?;
        o.files.push(p);
        charts.push((LATENCY_PNG.to_string(), "Latency".to_string()));
    }
    Ok(())
}

/// One heatmap per mesh run (`mesh-ID.png`); returns each run with its file's name.
fn mesh_charts(out: &Path, meshes: &[MeshRun], o: &mut ReportOutput) -> Result<Vec<(MeshRun, String)>, ReportError> {
    let mut written = Vec::new();
    for run in meshes {
        let name = mesh_file_name(&run.id);
        let p = out.join(&name);
        charts::heatmap::draw(&p, run)?;
        o.files.push(p);
        written.push((run.clone(), name));
    }
    Ok(written)
}

/// One chart per op the collective runs measured (`collective-OP.png`), the latest run of each label a line;
/// returns (op, file name) of each chart written.
fn collective_charts(
    out: &Path,
    runs: &[CollectiveRun],
    source: &str,
    o: &mut ReportOutput,
) -> Result<Vec<(String, String)>, ReportError> {
    let latest = collective::latest_per_label(runs);
    let mut written = Vec::new();
    for op in collective::ops_present(runs) {
        let name = collective_file_name(&op);
        if latest.iter().all(|r| r.series(&op).is_empty()) {
            o.skipped.push(format!(
                "{name}: skipped, no label's latest collective run has a complete, verified {op} point."
            ));
            continue;
        }
        let p = out.join(&name);
        charts::collective::draw(&p, &op, &latest, source)?;
        o.files.push(p);
        written.push((op, name));
    }
    Ok(written)
}

/// Letters, digits, '-' and '_' kept, anything else '-'.
fn clean_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// "mesh-20261129T130000Z-a1b2c3.png": a mesh run's heatmap.
pub fn mesh_file_name(id: &str) -> String {
    format!("mesh-{}.png", clean_name(id))
}

/// "collective-allreduce.png": a collective op's busbw chart.
pub fn collective_file_name(op: &str) -> String {
    format!("collective-{}.png", clean_name(op))
}

/// "compare-before-vs-after.png", with anything but letters, digits, '-' and '_' replaced.
pub fn compare_file_name(before: &str, after: &str) -> String {
    format!("compare-{}-vs-{}.png", clean_name(before), clean_name(after))
}

/// Compares two labels and writes the compare PNG into `out`.
pub fn write_compare(
    history: &History,
    before: &str,
    after: &str,
    baseline_mbps: f64,
    out: &Path,
) -> Result<Comparison, ReportError> {
    let mut c = compare(history, before, after, baseline_mbps)?;
    files::prepare_out_dir(out)?;
    let p = out.join(compare_file_name(before, after));
    charts::compare::draw(&p, &c)?;
    c.png = Some(p.display().to_string());
    Ok(c)
}

/// Compares two mesh runs (each a label's latest, or an id) and writes the ratio chart into `out`.
pub fn write_mesh_compare(
    history: &History,
    before: &str,
    after: &str,
    out: &Path,
) -> Result<MeshComparison, ReportError> {
    let mut c = mesh_compare::compare(history, before, after)?;
    files::prepare_out_dir(out)?;
    let p = out.join(format!(
        "compare-mesh-{}-vs-{}.png",
        clean_name(&c.before.run_id),
        clean_name(&c.after.run_id)
    ));
    charts::heatmap::draw_ratios(&p, &c)?;
    c.png = Some(p.display().to_string());
    Ok(c)
}

/// Compares two collective runs (each a label's latest, or an id) and writes the ratio chart into `out`.
pub fn write_collective_compare(
    history: &History,
    before: &str,
    after: &str,
    out: &Path,
) -> Result<CollectiveComparison, ReportError> {
    let mut c = collective_compare::compare(history, before, after)?;
    files::prepare_out_dir(out)?;
    let p = out.join(format!(
        "compare-collective-{}-vs-{}.png",
        clean_name(&c.before.run_id),
        clean_name(&c.after.run_id)
    ));
    charts::collective_compare::draw(&p, &c)?;
    c.png = Some(p.display().to_string());
    Ok(c)
}
