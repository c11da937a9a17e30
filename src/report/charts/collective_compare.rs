//! The collective compare chart: busbw after / before of every compared (op, size), one line per op, on log-2
//! axes (size, ratio), with the 1× line, the worse threshold, each op's headline and the verdict beside them.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::collective::{MAX_TICKS, draw_ticks, log2_ticks, size_range, x_of};
use super::{
    BASELINE, DrawResult, INK, MUTED, RefLine, Root, bold, color, draw_ref_lines, ellipsize, font, paragraph, text,
    wrap,
};
use crate::report::collective::size_tick;
use crate::report::collective_compare::{CollectiveComparison, PointRatio, WORSE_RATIO};
use crate::report::error::ReportError;

const WIDTH: u32 = 1400;
const HEIGHT: u32 = 760;
const TITLE_H: u32 = 104;
const RIGHT_MARGIN: u32 = 220;
/// Ops side by side in a legend row; more ops take more rows.
const LEGEND_PER_ROW: usize = 3;
const LEGEND_ROW_H: u32 = 46;
const LEGEND_W: i32 = 440;
/// The verdict: at most this many lines, the last cut with "…".
const VERDICT_LINES: usize = 2;
const VERDICT_H: u32 = 56;

/// "8×", "1×", "0.5×", "0.125×".
fn ratio_name(v: f64) -> String {
    let s = format!("{v:.3}");
    format!("{}×", s.trim_end_matches('0').trim_end_matches('.'))
}

/// The y range (log2 of the ratio): every point, 1× and the worse threshold, with a margin.
fn ratio_range(points: &[PointRatio]) -> (f64, f64) {
    let (lo, hi) = points
        .iter()
        .map(|p| p.ratio.max(1e-6).log2())
        .fold((WORSE_RATIO.log2(), 0.0f64), |(a, b), y| (a.min(y), b.max(y)));
    (lo - 0.3, hi + 0.3)
}

/// The ops in the order first compared.
fn ops(c: &CollectiveComparison) -> Vec<&str> {
    let mut ops: Vec<&str> = Vec::new();
    for p in &c.points {
        if !ops.contains(&p.op.as_str()) {
            ops.push(&p.op);
        }
    }
    ops
}

/// Draws the ratio chart of `c` to `path`.
pub fn draw(path: &Path, c: &CollectiveComparison) -> Result<(), ReportError> {
    let legend_h = LEGEND_ROW_H * ops(c).len().div_ceil(LEGEND_PER_ROW).max(1) as u32;
    let top = TITLE_H + legend_h + VERDICT_H;
    super::render(path, (WIDTH, HEIGHT + legend_h + VERDICT_H), |root| {
        heading(root, c)?;
        legend(root, c, (24, TITLE_H as i32))?;
        verdict(root, c, (24, (TITLE_H + legend_h) as i32))?;
        let body = root.margin(top, 10, 10, 10);
        let (x0, x1) = size_range(c.points.iter().map(|p| p.size_bytes));
        let (y0, y1) = ratio_range(&c.points);
        let mut chart = ChartBuilder::on(&body)
            .margin_right(RIGHT_MARGIN)
            .margin_top(10)
            .x_label_area_size(56)
            .y_label_area_size(84)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(0)
            .y_labels(0)
            .x_desc("Message size per rank (bytes, log scale)")
            .y_desc("busbw after / before (log scale)")
            .axis_desc_style(font(16.0))
            .axis_style(INK)
            .draw()?;
        let xs = log2_ticks(x0, x1, MAX_TICKS, size_tick);
        let ys = log2_ticks(y0, y1, 9, ratio_name);
        draw_ticks(root, &mut chart, &xs, Some(&ys))?;
        let refs = [
            RefLine::new(0.0, "1×", "the same busbw", MUTED, false),
            RefLine::new(
                WORSE_RATIO.log2(),
                format!("{WORSE_RATIO:.2}×"),
                "below: worse (exit 4)",
                BASELINE,
                true,
            ),
        ];
        draw_ref_lines(root, &mut chart, &refs, RIGHT_MARGIN)?;
        for (i, op) in ops(c).into_iter().enumerate() {
            let xy: Vec<(f64, f64)> = c
                .points
                .iter()
                .filter(|p| p.op == op)
                .map(|p| (x_of(p.size_bytes), p.ratio.max(1e-6).log2()))
                .collect();
            chart.draw_series(LineSeries::new(xy.clone(), ShapeStyle::from(&color(i)).stroke_width(3)))?;
            chart.draw_series(xy.into_iter().map(|p| Circle::new(p, 4, color(i).filled())))?;
        }
        let worse = ShapeStyle::from(&BASELINE).stroke_width(2);
        chart.draw_series(
            c.worse_points
                .iter()
                .map(|p| Circle::new((x_of(p.size_bytes), p.ratio.max(1e-6).log2()), 9, worse)),
        )?;
        Ok(())
    })
}

/// The title and which runs are compared.
fn heading(root: &Root<'_>, c: &CollectiveComparison) -> DrawResult {
    let (b, a) = (&c.before, &c.after);
    text(
        root,
        &format!("Collective compare: {} → {} (busbw after / before)", b.label, a.label),
        (24, 18),
        &bold(28.0),
        HPos::Left,
        VPos::Top,
    )?;
    let sub = format!(
        "{} (run {}, {}, {} nodes, {} {}) over {} (run {}, {}, {} nodes, {} {}), for every op and size both \
         measured completely and verified. Circled red: below {WORSE_RATIO:.2}×, worse.",
        a.label,
        a.run_id,
        a.time,
        a.nodes.len(),
        a.algo,
        a.dtype,
        b.label,
        b.run_id,
        b.time,
        b.nodes.len(),
        b.algo,
        b.dtype
    );
    paragraph(root, &sub, (24, 58), &font(16.0).color(&MUTED), WIDTH - 48, 20)?;
    Ok(())
}

/// Each op's colour and headline, in rows from `at`.
fn legend(root: &Root<'_>, c: &CollectiveComparison, at: (i32, i32)) -> DrawResult {
    let muted = font(13.0).color(&MUTED);
    for (i, op) in ops(c).into_iter().enumerate() {
        let x = at.0 + (i % LEGEND_PER_ROW) as i32 * LEGEND_W;
        let y = at.1 + 10 + (i / LEGEND_PER_ROW) as i32 * LEGEND_ROW_H as i32;
        root.draw(&PathElement::new(
            vec![(x, y), (x + 24, y)],
            ShapeStyle::from(&color(i)).stroke_width(4),
        ))?;
        text(root, op, (x + 32, y), &bold(16.0), HPos::Left, VPos::Center)?;
        let headline = c.headlines.iter().find(|h| h.starts_with(&format!("{op} at ")));
        let line = headline.map_or(String::new(), |h| h[op.len() + 1..].to_string());
        let line = ellipsize(root, &line, &muted, (LEGEND_W - 48) as u32);
        text(root, &line, (x + 32, y + 19), &muted, HPos::Left, VPos::Center)?;
    }
    Ok(())
}

/// "Verdict: …" in at most [`VERDICT_LINES`] lines from `at`.
fn verdict(root: &Root<'_>, c: &CollectiveComparison, at: (i32, i32)) -> DrawResult {
    let style = font(16.0);
    let all = wrap(root, &format!("Verdict: {}", c.verdict), &style, WIDTH - 48);
    let mut lines: Vec<String> = all.iter().take(VERDICT_LINES).cloned().collect();
    if all.len() > VERDICT_LINES
        && let Some(last) = lines.last_mut()
    {
        *last = ellipsize(root, &format!("{last} …"), &style, WIDTH - 48);
    }
    for (i, line) in lines.iter().enumerate() {
        text(
            root,
            line,
            (at.0, at.1 + 4 + 22 * i as i32),
            &style,
            HPos::Left,
            VPos::Top,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_ticks_read_as_factors() {
        let names: Vec<String> = log2_ticks(-1.5, 3.5, 9, ratio_name).into_iter().map(|t| t.1).collect();
        assert_eq!(names, ["0.5×", "1×", "2×", "4×", "8×"]);
        assert_eq!(ratio_name(0.125), "0.125×");
    }
}
