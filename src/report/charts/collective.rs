//! A collective op's chart: bus bandwidth (Gbit/s) by message size on a log x axis (ticks 1K, 1M, 1G), one line
//! per label (its latest run), each distinct profile ceiling as a labelled dashed line; and the log-2 axes the
//! collective compare chart shares.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    Chart, DrawResult, GRID, INK, MTU1500, MTU9000, MUTED, RefLine, Root, bold, color, draw_ref_lines, font, paragraph,
    pct, text,
};
use crate::report::collective::{CollectiveRun, gbps, size_tick};
use crate::report::error::ReportError;

const WIDTH: u32 = 1400;
const HEIGHT: u32 = 780;
const TITLE_H: u32 = 96;
const RIGHT_MARGIN: u32 = 300;
/// Tick steps, in powers of two, tried in turn; multiples of 10 keep 1K, 1M and 1G among the ticks.
const STEPS: [i32; 5] = [1, 2, 5, 10, 20];
/// At most this many ticks on a log-2 axis.
pub const MAX_TICKS: usize = 11;

/// The ticks of a log-2 axis over `lo..=hi` (exponents): every multiple of the first step in [`STEPS`] that
/// gives at most `max` of them, each with `name(2^e)`.
pub fn log2_ticks(lo: f64, hi: f64, max: usize, name: impl Fn(f64) -> String) -> Vec<(f64, String)> {
    let (first, last) = (lo.ceil() as i32, hi.floor() as i32);
    let step = STEPS
        .into_iter()
        .find(|s| ((first..=last).filter(|e| e % s == 0).count()) <= max)
        .unwrap_or(STEPS[STEPS.len() - 1]);
    (first..=last)
        .filter(|e| e % step == 0)
        .map(|e| (f64::from(e), name(2f64.powi(e))))
        .collect()
}

/// The x range (log2 of bytes) around the sizes, half a power of two beyond each end.
pub fn size_range(sizes: impl Iterator<Item = u64>) -> (f64, f64) {
    let (lo, hi) = sizes
        .filter(|s| *s > 0)
        .map(|s| (s as f64).log2())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
    if !lo.is_finite() {
        return (10.0, 30.0);
    }
    (lo - 0.5, hi.max(lo + 1.0) + 0.5)
}

/// Where a size sits on the x axis.
pub fn x_of(bytes: u64) -> f64 {
    (bytes.max(1) as f64).log2()
}

/// Grid lines at the x ticks (and the y ticks, when given), then their labels below (left of) the plot.
pub fn draw_ticks(
    root: &Root<'_>,
    chart: &mut Chart<'_, '_>,
    xs: &[(f64, String)],
    ys: Option<&[(f64, String)]>,
) -> DrawResult {
    let (x, y) = (chart.x_range(), chart.y_range());
    let grid = ShapeStyle::from(&GRID).stroke_width(1);
    for (v, _) in xs {
        chart.draw_series(LineSeries::new(vec![(*v, y.start), (*v, y.end)], grid))?;
    }
    for (v, _) in ys.unwrap_or(&[]) {
        chart.draw_series(LineSeries::new(vec![(x.start, *v), (x.end, *v)], grid))?;
    }
    for (v, name) in xs {
        let (px, py) = chart.backend_coord(&(*v, y.start));
        root.draw(&PathElement::new(vec![(px, py), (px, py + 5)], INK))?;
        text(root, name, (px, py + 9), &font(14.0), HPos::Center, VPos::Top)?;
    }
    for (v, name) in ys.unwrap_or(&[]) {
        let (px, py) = chart.backend_coord(&(x.start, *v));
        root.draw(&PathElement::new(vec![(px - 5, py), (px, py)], INK))?;
        text(root, name, (px - 9, py), &font(14.0), HPos::Right, VPos::Center)?;
    }
    Ok(())
}

/// A y axis top from 0: 10 % headroom, rounded up to a tenth of the power of ten below it.
fn top(max: f64) -> f64 {
    if max.is_nan() || max <= 0.0 {
        return 1.0;
    }
    let max = max * 1.1;
    let step = 10f64.powf(max.log10().floor()) / 10.0;
    (max / step).ceil() * step
}

/// Legend entries side by side in a row; more labels take more rows.
const LEGEND_PER_ROW: usize = 3;
const LEGEND_ROW_H: u32 = 62;
const LEGEND_W: i32 = 440;

/// Draws `collective-OP.png`: busbw by size for each run of `runs` (one per label) that has a figure for `op`.
pub fn draw(path: &Path, op: &str, runs: &[&CollectiveRun], source: &str) -> Result<(), ReportError> {
    let shown: Vec<(&CollectiveRun, Vec<(u64, f64)>)> = runs
        .iter()
        .map(|r| (*r, r.series(op)))
        .filter(|(_, s)| !s.is_empty())
        .collect();
    let legend_h = LEGEND_ROW_H * shown.len().div_ceil(LEGEND_PER_ROW).max(1) as u32;
    super::render(path, (WIDTH, HEIGHT + legend_h), |root| {
        heading(root, op, &shown, source)?;
        legend(root, op, &shown, (24, TITLE_H as i32))?;
        let body = root.margin(TITLE_H + legend_h, 10, 10, 10);
        let (x0, x1) = size_range(shown.iter().flat_map(|(_, s)| s.iter().map(|p| p.0)));
        let refs = ceilings(&shown);
        let data_max = shown
            .iter()
            .flat_map(|(_, s)| s.iter().map(|p| p.1))
            .fold(0.0, f64::max);
        let y_hi = top(refs.iter().map(|r| r.value * 1e9).fold(data_max, f64::max) / 1e9);
        let mut chart = ChartBuilder::on(&body)
            .margin_right(RIGHT_MARGIN)
            .margin_top(10)
            .x_label_area_size(56)
            .y_label_area_size(84)
            .build_cartesian_2d(x0..x1, 0f64..y_hi)?;
        let decimals = if y_hi <= 2.0 { 2 } else { 1 };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .x_desc("Message size per rank (bytes, log scale)")
            .y_desc("Bus bandwidth, busbw (Gbit/s)")
            .y_label_formatter(&|v| format!("{v:.decimals$}"))
            .axis_desc_style(font(16.0))
            .label_style(font(14.0))
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .axis_style(INK)
            .draw()?;
        let ticks = log2_ticks(x0, x1, MAX_TICKS, size_tick);
        draw_ticks(root, &mut chart, &ticks, None)?;
        draw_ref_lines(root, &mut chart, &refs, RIGHT_MARGIN)?;
        for (i, (_, pts)) in shown.iter().enumerate() {
            let xy: Vec<(f64, f64)> = pts.iter().map(|(s, b)| (x_of(*s), b / 1e9)).collect();
            let style = ShapeStyle::from(&color(i)).stroke_width(3);
            chart.draw_series(LineSeries::new(xy.clone(), style))?;
            chart.draw_series(xy.into_iter().map(|p| Circle::new(p, 4, color(i).filled())))?;
        }
        Ok(())
    })
}

/// The title (op, dtype, nodes) and what the chart shows.
fn heading(root: &Root<'_>, op: &str, shown: &[(&CollectiveRun, Vec<(u64, f64)>)], source: &str) -> DrawResult {
    let dtypes = distinct(shown.iter().map(|(r, _)| r.dtype.clone()));
    let nodes = distinct(shown.iter().map(|(r, _)| r.nodes.len().to_string()));
    text(
        root,
        &format!("{op}: bus bandwidth by message size · {dtypes} · {nodes} nodes"),
        (24, 18),
        &bold(28.0),
        HPos::Left,
        VPos::Top,
    )?;
    let sub = format!(
        "busbw as nccl-tests defines it, of the latest collective run of each label, from {source}; points that did \
         not complete or verify are left out. Dashed: each profile's TCP goodput ceiling, the most busbw can reach."
    );
    paragraph(root, &sub, (24, 58), &font(16.0).color(&MUTED), WIDTH - 48, 20)?;
    Ok(())
}

/// "f32" or "f32/bf16"; "?" when no run says.
fn distinct(values: impl Iterator<Item = String>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for v in values.filter(|v| !v.is_empty() && v != "0") {
        if !seen.contains(&v) {
            seen.push(v);
        }
    }
    if seen.is_empty() { "?".into() } else { seen.join("/") }
}

/// One dashed line per distinct ceiling (to the Mbit/s), named by its profile and the labels judged against it,
/// in its label's colour (grey when labels share it; blue for jumbo frames when the chart has no such label).
fn ceilings(shown: &[(&CollectiveRun, Vec<(u64, f64)>)]) -> Vec<RefLine> {
    let mut lines: Vec<(f64, String, Vec<usize>, bool)> = Vec::new();
    for (i, (r, _)) in shown.iter().enumerate() {
        let Some(c) = r.ceiling_bps else { continue };
        match lines.iter_mut().find(|l| (l.0 - c).abs() < 1e6) {
            Some(l) => l.2.push(i),
            None => lines.push((c, r.profile.clone(), vec![i], r.jumbo == Some(true))),
        }
    }
    lines
        .into_iter()
        .map(|(c, profile, series, jumbo)| {
            let profile = if profile.is_empty() {
                "no profile".into()
            } else {
                profile
            };
            let labels: Vec<&str> = series.iter().map(|&i| shown[i].0.label_text()).collect();
            let colour = match series[..] {
                [i] => color(i),
                _ if jumbo => MTU9000,
                _ => MTU1500,
            };
            RefLine::new(
                c / 1e9,
                gbps(c),
                format!("{profile} ceiling ({})", labels.join(", ")),
                colour,
                true,
            )
        })
        .collect()
}

/// Each label's colour, name, run and peak, in rows from `at`.
fn legend(root: &Root<'_>, op: &str, shown: &[(&CollectiveRun, Vec<(u64, f64)>)], at: (i32, i32)) -> DrawResult {
    let muted = font(13.0).color(&MUTED);
    for (i, (r, _)) in shown.iter().enumerate() {
        let x = at.0 + (i % LEGEND_PER_ROW) as i32 * LEGEND_W;
        let y = at.1 + 10 + (i / LEGEND_PER_ROW) as i32 * LEGEND_ROW_H as i32;
        root.draw(&PathElement::new(
            vec![(x, y), (x + 24, y)],
            ShapeStyle::from(&color(i)).stroke_width(4),
        ))?;
        text(root, r.label_text(), (x + 32, y), &bold(16.0), HPos::Left, VPos::Center)?;
        let profile = if r.profile.is_empty() { "no profile" } else { &r.profile };
        let run = format!("{} · {profile} · {} {}", r.when(), r.algo, r.dtype);
        text(root, &run, (x + 32, y + 19), &muted, HPos::Left, VPos::Center)?;
        if let Some((b, s)) = r.peak(op) {
            let share = r
                .ceiling_bps
                .map_or(String::new(), |c| format!(" ({} of ceiling)", pct(b / c * 100.0)));
            let peak = format!("peak {} at {}{share}", gbps(b), size_tick(s as f64));
            text(root, &peak, (x + 32, y + 36), &muted, HPos::Left, VPos::Center)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_x_ticks_keep_1k_1m_1g_and_stay_few() {
        let names = |t: Vec<(f64, String)>| t.into_iter().map(|(_, n)| n).collect::<Vec<_>>();
        let (lo, hi) = size_range([1u64 << 10, 1 << 20, 1 << 30].into_iter());
        assert_eq!((lo, hi), (9.5, 30.5));
        assert_eq!(
            names(log2_ticks(lo, hi, MAX_TICKS, size_tick)),
            ["1K", "4K", "16K", "64K", "256K", "1M", "4M", "16M", "64M", "256M", "1G"]
        );
        let (lo, hi) = size_range([1u64 << 20, 1 << 24, 1 << 28].into_iter());
        assert_eq!(
            names(log2_ticks(lo, hi, MAX_TICKS, size_tick)),
            ["1M", "2M", "4M", "8M", "16M", "32M", "64M", "128M", "256M"]
        );
        let wide = log2_ticks(0.0, 40.0, MAX_TICKS, size_tick);
        assert!(wide.len() <= MAX_TICKS, "{wide:?}");
        assert_eq!(names(wide), ["1", "32", "1K", "32K", "1M", "32M", "1G", "32G", "1T"]);
        assert_eq!(size_range(std::iter::once(1u64 << 20)), (19.5, 21.5));
    }

    #[test]
    fn y_tops_leave_headroom_at_any_scale() {
        assert_eq!(top(9.9), 11.0);
        assert!((top(0.94) - 1.1).abs() < 1e-9);
        assert!((top(0.05) - 0.056).abs() < 1e-9, "{}", top(0.05));
        assert_eq!(top(0.0), 1.0);
    }
}
