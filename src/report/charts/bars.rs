//! A bar panel shared by the goodput and compare charts: one bar per group (median), a min–max whisker, a dot
//! per run, labelled reference lines, the median on the bar and a four-line caption under it.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    Chart, DrawResult, GRID, INK, MUTED, RefLine, Root, bold, draw_ref_lines, fit, font, pct, text, thousands, tick,
};
use crate::report::groups::GroupStats;

/// Pixels under the plot for the four caption lines.
pub const CAPTION_H: u32 = 104;
/// Pixels right of the plot for the reference-line labels.
pub const REF_MARGIN: u32 = 240;

/// One bar.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    /// "1gbe · 5 runs".
    pub detail: String,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// Every run's goodput, for the dots.
    pub values: Vec<f64>,
    pub pct_of_ceiling: Option<f64>,
    pub ceiling: Option<f64>,
    pub color: RGBColor,
}

impl Bar {
    /// A bar from a group's figures and its runs' goodputs.
    pub fn new(s: &GroupStats, values: Vec<f64>, color: RGBColor) -> Bar {
        let profile = if s.profile.is_empty() { "no profile" } else { &s.profile };
        Bar {
            label: s.label.clone(),
            detail: format!("{profile} · {} run{}", s.runs, if s.runs == 1 { "" } else { "s" }),
            median: s.median_mbps,
            min: s.min_mbps,
            max: s.max_mbps,
            values,
            pct_of_ceiling: s.pct_of_ceiling,
            ceiling: s.ceiling_mbps,
            color,
        }
    }
}

/// What a panel shows.
pub struct BarPanel<'a> {
    pub caption: String,
    pub bars: &'a [Bar],
    pub refs: &'a [RefLine],
    /// y axis range; a range not starting at 0 must say so in the caption.
    pub y: (f64, f64),
}

/// A y range that starts above 0 so that lines a few Mbit/s apart stay apart, when the bars still get at least
/// half the plot's height; else (0, tidy top). Returns (low, high, zoomed).
pub fn zoom_range(data_min: f64, data_max: f64, refs: &[RefLine]) -> (f64, f64, bool) {
    let lo = refs.iter().map(|r| r.value).fold(data_min, f64::min);
    let hi = refs.iter().map(|r| r.value).fold(data_max, f64::max);
    let span = (hi - lo).max(20.0);
    let floor = ((lo - span) / 10.0).floor() * 10.0;
    let top = ((hi + span * 0.12) / 5.0).ceil() * 5.0;
    if floor > top / 2.0 {
        (floor, top, true)
    } else {
        (0.0, super::y_top(hi), false)
    }
}

/// Draws the panel into `area`; text outside the plot goes on `root` in absolute pixels.
pub fn draw(root: &Root<'_>, area: &Root<'_>, p: &BarPanel<'_>) -> DrawResult {
    let (lo, hi) = p.y;
    let n = p.bars.len().max(1) as f64;
    let mut chart = axes(area, p, n)?;
    for (slot, b) in p.bars.iter().enumerate() {
        draw_bar(&mut chart, slot as f64, b, p.y)?;
    }
    draw_ref_lines(root, &mut chart, p.refs, REF_MARGIN)?;
    let (px, _) = chart.plotting_area().get_pixel_range();
    let slot_w = ((px.end - px.start) as f64 / n) as u32;
    let ref_ys: Vec<i32> = p
        .refs
        .iter()
        .filter(|r| r.value >= lo && r.value <= hi)
        .map(|r| chart.backend_coord(&(0.0, r.value)).1)
        .collect();
    for (slot, b) in p.bars.iter().enumerate() {
        label_bar(root, &chart, slot as f64, b, p.y, slot_w, &ref_ys)?;
    }
    Ok(())
}

/// The chart with its y axis and grid; one slot per bar on the x axis.
fn axes<'a, 'b>(area: &'a Root<'b>, p: &BarPanel<'_>, n: f64) -> DrawResult<Chart<'a, 'b>> {
    let (lo, hi) = p.y;
    let mut chart = ChartBuilder::on(area)
        .margin_top(6)
        .margin_left(8)
        .margin_right(REF_MARGIN)
        .caption(&p.caption, bold(20.0))
        .x_label_area_size(CAPTION_H)
        .y_label_area_size(84)
        .build_cartesian_2d(0f64..n, lo..hi)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(2)
        .x_label_formatter(&|_| String::new())
        .y_labels(10)
        .y_label_formatter(&tick)
        .y_desc("Receiver goodput (Mbit/s)")
        .axis_desc_style(font(16.0))
        .label_style(font(14.0))
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .axis_style(INK)
        .draw()?;
    Ok(chart)
}

/// One bar in slot `x`: the median, the min–max whisker and a dot per run, clamped to the y window.
fn draw_bar(chart: &mut Chart<'_, '_>, x: f64, b: &Bar, (lo, hi): (f64, f64)) -> DrawResult {
    let clamp = |v: f64| v.clamp(lo, hi);
    chart.draw_series(std::iter::once(Rectangle::new(
        [(x + 0.2, lo), (x + 0.8, clamp(b.median))],
        b.color.mix(0.85).filled(),
    )))?;
    let whisker = ShapeStyle::from(&INK).stroke_width(2);
    let (wmin, wmax) = (clamp(b.min), clamp(b.max));
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(x + 0.5, wmin), (x + 0.5, wmax)],
        whisker,
    )))?;
    for v in [wmin, wmax] {
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(x + 0.45, v), (x + 0.55, v)],
            whisker,
        )))?;
    }
    let k = b.values.len() as f64;
    let dot_x = |j: usize| if k > 1.0 { 0.3 + 0.4 * j as f64 / (k - 1.0) } else { 0.5 };
    chart.draw_series(
        b.values
            .iter()
            .enumerate()
            .map(|(j, v)| Circle::new((x + dot_x(j), clamp(*v)), 3, WHITE.filled())),
    )?;
    chart.draw_series(
        b.values
            .iter()
            .enumerate()
            .map(|(j, v)| Circle::new((x + dot_x(j), clamp(*v)), 3, ShapeStyle::from(&INK).stroke_width(1))),
    )?;
    Ok(())
}

/// The median's value on the bar (or above it when the bar is short) and the four caption lines under its slot.
fn label_bar(
    root: &Root<'_>,
    chart: &Chart<'_, '_>,
    x: f64,
    b: &Bar,
    (lo, hi): (f64, f64),
    slot_w: u32,
    ref_ys: &[i32],
) -> DrawResult {
    let clamp = |v: f64| v.clamp(lo, hi);
    let (_, py) = chart.plotting_area().get_pixel_range();
    let (cx, top) = chart.backend_coord(&(x + 0.5, clamp(b.median)));
    let value = format!("{} Mbit/s", thousands(b.median, 1));
    // Inside the bar near its top, moved down past any reference line crossing the bar.
    let clear = |y: i32| ref_ys.iter().all(|ry| (y - ry).abs() > 13);
    let inside = (top + 20..py.end - 20).step_by(2).find(|&y| clear(y));
    if let Some(y) = inside.filter(|_| py.end - top > 64) {
        // White on dark bars, ink on light ones (relative luminance).
        let RGBColor(r, g, bl) = b.color;
        let light = 0.2126 * f64::from(r) + 0.7152 * f64::from(g) + 0.0722 * f64::from(bl) > 170.0;
        let st =
            fit(root, &value, 16.0, true, (slot_w as f64 * 0.6) as u32 - 8).color(if light { &INK } else { &WHITE });
        text(root, &value, (cx, y), &st, HPos::Center, VPos::Center)?;
    } else {
        let (_, wy) = chart.backend_coord(&(x + 0.5, clamp(b.max)));
        let st = fit(root, &value, 16.0, true, slot_w - 8);
        text(root, &value, (cx, wy.min(top) - 16), &st, HPos::Center, VPos::Center)?;
    }
    let lines = [
        b.label.clone(),
        b.detail.clone(),
        format!("median {} Mbit/s", thousands(b.median, 1)),
        match (b.pct_of_ceiling, b.ceiling) {
            (Some(p), Some(c)) => format!("{} of its {} ceiling", pct(p), thousands(c, 1)),
            _ => "no ceiling: profile unknown".into(),
        },
    ];
    let mut y = py.end + 14;
    for (k, line) in lines.iter().enumerate() {
        let st = fit(
            root,
            line,
            if k == 0 { 18.0 } else { 14.0 },
            k == 0,
            slot_w.saturating_sub(6),
        );
        let st = if k == 0 { st } else { st.color(&MUTED) };
        text(root, line, (cx, y), &st, HPos::Center, VPos::Top)?;
        y += if k == 0 { 26 } else { 20 };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zooms_only_when_the_bars_keep_half_the_height() {
        let refs = [
            RefLine::new(941.5, "", "", INK, false),
            RefLine::new(990.0, "", "", INK, false),
        ];
        let (lo, hi, z) = zoom_range(940.0, 941.3, &refs);
        assert!(z);
        assert!(lo <= 890.0 && lo > 850.0, "{lo}");
        assert!(hi > 990.0 && hi <= 1000.0, "{hi}");
        let (lo, _, z) = zoom_range(400.0, 941.3, &refs);
        assert!(!z);
        assert_eq!(lo, 0.0);
    }
}
