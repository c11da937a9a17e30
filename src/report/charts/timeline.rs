//! Goodput over time: one panel per (label, profile), one step line per run from its per-run JSON intervals.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    DrawResult, GRID, INK, MTU1500, MTU9000, MUTED, RefLine, Root, bold, color, draw_ref_lines, font, paragraph, text,
    thousands, tick, y_top,
};
use crate::report::error::ReportError;
use crate::report::groups::Group;

const TITLE_H: u32 = 86;
const PANEL_H: u32 = 330;
const WIDTH: u32 = 1500;
const RIGHT_MARGIN: u32 = 300;
/// Runs listed in one panel's legend; the rest are counted.
const LEGEND_MAX: usize = 8;

/// Whether any run of these groups has intervals to draw.
pub fn has_data(groups: &[Group<'_>]) -> bool {
    groups.iter().any(|g| {
        g.runs
            .iter()
            .any(|r| r.intervals.as_ref().is_some_and(|i| !i.is_empty()))
    })
}

/// Draws goodput-over-time.png; groups without intervals are left out.
pub fn draw(path: &Path, groups: &[Group<'_>], source: &str) -> Result<(), ReportError> {
    let shown: Vec<&Group<'_>> = groups
        .iter()
        .filter(|g| {
            g.runs
                .iter()
                .any(|r| r.intervals.as_ref().is_some_and(|i| !i.is_empty()))
        })
        .collect();
    let height = TITLE_H + PANEL_H * shown.len().max(1) as u32 + 20;
    super::render(path, (WIDTH, height), |root| {
        text(
            root,
            "Receiver goodput over time, per run",
            (24, 18),
            &bold(28.0),
            HPos::Left,
            VPos::Top,
        )?;
        let sub = format!(
            "Per-interval receiver goodput from each run's JSON (omitted intervals left out), from {source}. \
             The dashed line is the profile's TCP ceiling (IPv4, timestamps on)."
        );
        paragraph(root, &sub, (24, 56), &font(16.0).color(&MUTED), WIDTH - 48, 20)?;
        let body = root.margin(TITLE_H, 10, 10, 10);
        let areas = body.split_evenly((shown.len().max(1), 1));
        for (g, area) in shown.iter().zip(areas.iter()) {
            draw_panel(root, area, g)?;
        }
        Ok(())
    })
}

/// The y window of a panel: the data and the ceiling with a margin, at least 5 % of the top high, so steady runs
/// show their small wobble without turning noise into cliffs; from 0 when the data reaches down there.
fn y_window(v_min: f64, v_max: f64, ceiling: Option<f64>) -> (f64, f64) {
    let top = v_max.max(ceiling.unwrap_or(0.0));
    let span = (top - v_min).max(top * 0.05).max(1.0);
    let lo = v_min - span * 0.3;
    let step = 10f64.powf(span.log10().floor()) / 2.0;
    let lo = (lo / step).floor() * step;
    let hi = ((top + span * 0.15) / step).ceil() * step;
    if lo < top * 0.3 { (0.0, y_top(top)) } else { (lo, hi) }
}

fn draw_panel(root: &Root<'_>, area: &Root<'_>, g: &Group<'_>) -> DrawResult {
    let runs: Vec<_> = g
        .runs
        .iter()
        .filter(|r| r.intervals.as_ref().is_some_and(|i| !i.is_empty()))
        .collect();
    let t_max = runs
        .iter()
        .flat_map(|r| r.intervals.iter().flatten())
        .map(|p| p.end)
        .fold(1.0, f64::max);
    let v_max = runs
        .iter()
        .flat_map(|r| r.intervals.iter().flatten())
        .map(|p| p.mbps)
        .fold(0.0, f64::max);
    let v_min = runs
        .iter()
        .flat_map(|r| r.intervals.iter().flatten())
        .map(|p| p.mbps)
        .fold(f64::INFINITY, f64::min);
    let ceiling = g.ceiling_mbps();
    let (lo, hi) = y_window(v_min, v_max, ceiling);
    let mut caption = match (g.link, ceiling) {
        (Some(l), Some(c)) => format!("{} — {l}, ceiling {} Mbit/s", g.title(), thousands(c, 1)),
        _ => format!("{} — no ceiling: profile unknown", g.title()),
    };
    if lo > 0.0 {
        caption.push_str(&format!(" (y axis from {} Mbit/s)", thousands(lo, 0)));
    }
    let mut chart = ChartBuilder::on(area)
        .margin_top(4)
        .margin_left(8)
        .margin_right(RIGHT_MARGIN)
        .margin_bottom(6)
        .caption(caption, bold(18.0))
        .x_label_area_size(46)
        .y_label_area_size(84)
        .build_cartesian_2d(0f64..t_max, lo..hi)?;
    chart
        .configure_mesh()
        .x_desc("Time since the measured period began (s)")
        .y_desc("Goodput (Mbit/s)")
        .y_label_formatter(&tick)
        .x_label_formatter(&|v| {
            if (v - v.round()).abs() < 1e-9 {
                format!("{v:.0}")
            } else {
                format!("{v:.1}")
            }
        })
        .axis_desc_style(font(16.0))
        .label_style(font(14.0))
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .axis_style(INK)
        .y_labels(6)
        .draw()?;
    let mut refs = Vec::new();
    if let (Some(l), Some(c)) = (g.link, ceiling) {
        let col = if l.mtu >= 9000 { MTU9000 } else { MTU1500 };
        refs.push(RefLine::new(
            c,
            format!("{} Mbit/s", thousands(c, 1)),
            format!("{} ceiling, MTU {}", l.rate_name(), l.mtu),
            col,
            true,
        ));
    }
    let below = draw_ref_lines(root, &mut chart, &refs, RIGHT_MARGIN)?;
    for (i, r) in runs.iter().enumerate() {
        let mut pts = Vec::new();
        for p in r.intervals.iter().flatten() {
            pts.push((p.start, p.mbps));
            pts.push((p.end, p.mbps));
        }
        chart.draw_series(LineSeries::new(pts, ShapeStyle::from(&color(i)).stroke_width(2)))?;
    }
    // Legend in the right margin, below the ceiling label.
    let (px, py) = chart.plotting_area().get_pixel_range();
    draw_legend(root, px.end + 22, (below.max(py.start) + 14, py.end - 8), &runs)?;
    Ok(())
}

/// One line per run (colour, UTC start, goodput) from `x`, between `ys.0` and `ys.1`; "… and N more" past that.
fn draw_legend(root: &Root<'_>, x: i32, ys: (i32, i32), runs: &[&&crate::report::data::Run]) -> DrawResult {
    let mut y = ys.0;
    text(
        root,
        "Runs (UTC start · goodput)",
        (x, y),
        &bold(14.0),
        HPos::Left,
        VPos::Center,
    )?;
    y += 20;
    for (i, r) in runs.iter().enumerate() {
        if i == LEGEND_MAX || y > ys.1 {
            let rest = runs.len() - i;
            text(
                root,
                &format!("… and {rest} more"),
                (x, y),
                &font(14.0).color(&MUTED),
                HPos::Left,
                VPos::Center,
            )?;
            break;
        }
        root.draw(&PathElement::new(
            vec![(x, y), (x + 22, y)],
            ShapeStyle::from(&color(i)).stroke_width(3),
        ))?;
        let fig = r.receiver_mbps.map_or("-".into(), |v| thousands(v, 1));
        text(
            root,
            &format!("{} · {fig} Mbit/s", r.short_name()),
            (x + 30, y),
            &font(14.0),
            HPos::Left,
            VPos::Center,
        )?;
        y += 19;
    }
    Ok(())
}
