//! The mesh as text: N×N matrices (rows send, columns receive) of goodput (as % of the profile's ceiling, or
//! Mbit/s without a profile), RTT and path MTU; `—` on the diagonal, `?` where a pair is incomplete or was not
//! measured; then the findings.

use std::fmt::Write as _;

use super::MeshOutcome;
use super::matrix::{Matrix, PairResult};

/// The diagonal's cell.
pub const DIAGONAL: &str = "—";
/// The cell of a pair that is incomplete or was not measured.
pub const UNKNOWN: &str = "?";

/// One matrix: a title line, a header of the receivers, a row per sender.
fn table(m: &Matrix, title: &str, cell: impl Fn(&PairResult) -> Option<String>) -> String {
    let n = m.len();
    let cells: Vec<Vec<String>> = (0..n)
        .map(|a| {
            (0..n)
                .map(|b| match m.pair(a, b) {
                    _ if a == b => DIAGONAL.to_string(),
                    Some(p) if p.complete => cell(p).unwrap_or_else(|| UNKNOWN.into()),
                    _ => UNKNOWN.to_string(),
                })
                .collect()
        })
        .collect();
    let corner = "from \\ to";
    let first = m
        .nodes
        .iter()
        .map(|x| x.name.chars().count())
        .chain([corner.len()])
        .max()
        .unwrap_or(0);
    let width = |b: usize| {
        let name = m.nodes[b].name.chars().count();
        cells
            .iter()
            .map(|row| row[b].chars().count())
            .chain([name])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..n).map(width).collect();
    let mut out = format!("{title}\n  {corner:<first$}");
    for (b, w) in widths.iter().enumerate() {
        let _ = write!(out, "  {:>w$}", m.nodes[b].name);
    }
    out.push('\n');
    for (a, row) in cells.iter().enumerate() {
        let _ = write!(out, "  {:<first$}", m.nodes[a].name);
        for (c, w) in row.iter().zip(&widths) {
            let _ = write!(out, "  {c:>w$}");
        }
        out.push('\n');
    }
    out
}

/// A goodput cell: % of the ceiling with a profile, else Mbit/s.
fn goodput(m: &Matrix, bps: Option<f64>) -> Option<String> {
    let bps = bps?;
    Some(match m.ceiling_bps {
        Some(c) if c > 0.0 => format!("{:.1}", 100.0 * bps / c),
        _ => format!("{:.1}", bps / 1e6),
    })
}

/// The first line: how many nodes, the mode, the runs' settings and what goodput is judged against.
fn heading(o: &MeshOutcome) -> String {
    let against = match (&o.profile, o.matrix.ceiling_bps) {
        (Some(p), Some(c)) => format!(", profile {p} (TCP ceiling {:.1} Mbit/s)", c / 1e6),
        _ => String::new(),
    };
    format!(
        "Mesh of {} nodes, {}, -t {} -P {}{against}; rows send, columns receive\n",
        o.matrix.len(),
        o.mode,
        o.duration_secs,
        o.parallel
    )
}

/// The whole text: heading, four matrices, the findings.
pub fn render(o: &MeshOutcome) -> String {
    let m = &o.matrix;
    let unit = if m.ceiling_bps.is_some() {
        "% of the ceiling"
    } else {
        "Mbit/s"
    };
    let mut out = heading(o);
    let sections = [
        table(m, &format!("\nGoodput, {} streams ({unit}):", o.parallel), |p| {
            goodput(m, p.goodput_parallel_bps)
        }),
        table(m, &format!("\nGoodput, 1 stream ({unit}):"), |p| {
            goodput(m, p.goodput_bps)
        }),
        table(m, "\nRTT p50/p99 (µs):", |p| {
            Some(format!("{:.0}/{:.0}", p.rtt_p50_us?, p.rtt_p99_us?))
        }),
        table(m, "\nPath MTU (bytes):", |p| p.path_mtu.map(|v| v.to_string())),
    ];
    for s in sections {
        out.push_str(&s);
    }
    if let Some(p) = &o.ports {
        out.push('\n');
        out.push_str(&p.text());
    }
    out.push('\n');
    if o.findings.is_empty() {
        out.push_str("Findings: none\n");
    }
    for f in &o.findings {
        let _ = writeln!(out, "Finding [{}] {}: {}", f.kind, f.subject, f.text);
        let _ = writeln!(out, "  what to do: {}", f.fix);
    }
    out
}
