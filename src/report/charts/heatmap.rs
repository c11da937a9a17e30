//! The mesh heatmap: one cell per ordered pair, coloured by its goodput as % of the profile's ceiling (else of
//! the best pair), its Mbit/s and % written in it; incomplete pairs hatched; the run's findings below.

use std::path::Path;

use plotters::style::RGBColor;

use super::grid::{self, Grid, GridCell, Scale};
use super::{pct, thousands};
use crate::report::error::ReportError;
use crate::report::mesh::MeshRun;
use crate::report::mesh_compare::{MeshComparison, WORSE_RATIO};

/// % of the reference, red (slow) through yellow to blue (at the reference); the findings' 80 % (slow) and 90 %
/// (fine) thresholds sit where the colours turn.
pub fn pct_scale() -> Scale {
    Scale {
        stops: vec![
            (0.0, RGBColor(165, 0, 38)),
            (50.0, RGBColor(244, 109, 67)),
            (80.0, RGBColor(254, 224, 144)),
            (90.0, RGBColor(171, 217, 233)),
            (100.0, RGBColor(49, 54, 149)),
        ],
        ticks: [0, 50, 80, 90, 100]
            .into_iter()
            .map(|p| (f64::from(p), format!("{p} %")))
            .collect(),
    }
}

/// The heatmap's picture of `run`.
pub fn grid(run: &MeshRun) -> Grid {
    let reference = run.reference();
    let n = run.nodes.len();
    let cells = (0..n)
        .map(|a| {
            (0..n)
                .map(|b| {
                    if a == b {
                        return GridCell::Diagonal;
                    }
                    match (run.cell(a, b).and_then(|c| c.judged_mbps()), &reference) {
                        (Some(mbps), Some(r)) => {
                            let p = mbps / r.mbps * 100.0;
                            GridCell::Value {
                                value: p,
                                main: thousands(mbps, 1),
                                sub: pct(p),
                            }
                        }
                        _ => GridCell::Unknown,
                    }
                })
                .collect()
        })
        .collect();
    let what = reference
        .as_ref()
        .map_or("no pair has a figure".to_string(), |r| r.what.clone());
    let profile = if run.profile.is_empty() {
        "no profile".to_string()
    } else {
        format!("profile {}", run.profile)
    };
    Grid {
        title: format!("Mesh {} · {} · {} · {profile}", run.id, run.label_text(), run.when()),
        subtitle: format!(
            "Receiver goodput of each ordered pair with -P {} (Mbit/s), colour and % against {what}. Rows send, \
             columns receive; {} mode. Hatched \"?\": the pair did not complete or was not measured.",
            run.parallel, run.mode
        ),
        names: run.nodes.clone(),
        cells,
        scale: pct_scale(),
        legend_title: if run.ceiling_mbps.is_some() {
            "% of the ceiling".into()
        } else {
            "% of the best pair".into()
        },
        notes: notes(run),
    }
}

/// The findings, one line each, or "Findings: none".
fn notes(run: &MeshRun) -> Vec<String> {
    if run.findings.is_empty() {
        return vec!["Findings: none.".into()];
    }
    run.findings
        .iter()
        .map(|f| format!("Finding [{}] {}: {}", f.kind, f.subject, f.text))
        .collect()
}

/// Draws the heatmap of `run` to `path`.
pub fn draw(path: &Path, run: &MeshRun) -> Result<(), ReportError> {
    grid::draw(path, &grid(run))
}

/// after / before: red below the worse threshold, pale near 1, blue for a gain.
pub fn ratio_scale() -> Scale {
    Scale {
        stops: vec![
            (0.5, RGBColor(165, 0, 38)),
            (WORSE_RATIO, RGBColor(253, 174, 97)),
            (1.0, RGBColor(255, 255, 210)),
            (1.1, RGBColor(171, 217, 233)),
            (1.5, RGBColor(49, 54, 149)),
        ],
        ticks: [0.5, WORSE_RATIO, 1.0]
            .into_iter()
            .map(|r| (r, format!("{r:.2}×")))
            .chain([(1.5, "1.50× or more".to_string())])
            .collect(),
    }
}

/// The compare picture: one cell per pair of the nodes both runs have, its after/before ratio.
pub fn ratio_grid(c: &MeshComparison) -> Grid {
    let n = c.nodes.len();
    let cells = (0..n)
        .map(|x| {
            (0..n)
                .map(|y| {
                    if x == y {
                        return GridCell::Diagonal;
                    }
                    let pair = c.pairs.iter().find(|p| p.from == c.nodes[x] && p.to == c.nodes[y]);
                    match (c.ratios[x][y], pair) {
                        (Some(r), Some(p)) => GridCell::Value {
                            value: r,
                            main: format!("{r:.2}×"),
                            sub: format!("{} → {}", thousands(p.before_mbps, 0), thousands(p.after_mbps, 0)),
                        },
                        _ => GridCell::Unknown,
                    }
                })
                .collect()
        })
        .collect();
    let mut notes = vec![format!("Verdict: {}", c.verdict)];
    for (which, nodes) in [("before", &c.only_before), ("after", &c.only_after)] {
        if !nodes.is_empty() {
            notes.push(format!(
                "Only in {which} (their pairs not compared): {}.",
                nodes.join(", ")
            ));
        }
    }
    Grid {
        title: format!(
            "Mesh compare: {} → {} (ratio after / before)",
            c.before.label, c.after.label
        ),
        subtitle: format!(
            "Receiver goodput of each ordered pair, {} (run {}, {}) over {} (run {}, {}), Mbit/s before → after \
             below. Rows send, columns receive. Below {WORSE_RATIO:.2}× a pair got worse. Hatched \"?\": incomplete or \
             not measured in a run.",
            c.after.label, c.after.run_id, c.after.time, c.before.label, c.before.run_id, c.before.time
        ),
        names: c.nodes.clone(),
        cells,
        scale: ratio_scale(),
        legend_title: "after / before".into(),
        notes,
    }
}

/// Draws the ratio matrix of `c` to `path`.
pub fn draw_ratios(path: &Path, c: &MeshComparison) -> Result<(), ReportError> {
    grid::draw(path, &ratio_grid(c))
}
