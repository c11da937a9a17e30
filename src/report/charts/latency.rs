//! Latency: a CDF of round-trip times per label, from the histograms of `kind = latency` runs and of throughput
//! runs made with `client --latency` ("LABEL · idle", "LABEL · under load").

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{DrawResult, GRID, INK, MUTED, RefLine, Root, bold, color, font, paragraph, text, thousands};
use crate::report::data::LatencyHistogram;
use crate::report::error::ReportError;

const WIDTH: u32 = 1400;
const HEIGHT: u32 = 760;
const RIGHT_MARGIN: u32 = 330;

/// "85 µs", "1.2 ms".
pub fn micros(us: f64) -> String {
    if us >= 1000.0 {
        format!("{} ms", thousands(us / 1000.0, if us >= 10_000.0 { 0 } else { 1 }))
    } else {
        format!("{us:.0} µs")
    }
}

/// Draws latency.png from (label, merged histogram, runs).
pub fn draw(path: &Path, series: &[(String, LatencyHistogram, usize)], source: &str) -> Result<(), ReportError> {
    super::render(path, (WIDTH, HEIGHT), |root| {
        heading(root, source)?;
        let body = root.margin(90, 10, 10, 10);
        let (lo, hi) = x_range(series);
        let mut chart = ChartBuilder::on(&body)
            .margin_right(RIGHT_MARGIN)
            .margin_top(10)
            .x_label_area_size(52)
            .y_label_area_size(84)
            .build_cartesian_2d((lo..hi).log_scale(), 0f64..100.0)?;
        chart
            .configure_mesh()
            .x_desc("Round-trip time (µs, log scale)")
            .y_desc("Samples at or below (%)")
            .x_label_formatter(&|v| thousands(*v, 0))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .axis_desc_style(font(16.0))
            .label_style(font(14.0))
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .axis_style(INK)
            .draw()?;
        let refs = [
            RefLine::new(50.0, "p50", "half the samples", RGBColor(140, 140, 140), true),
            RefLine::new(99.0, "p99", "all but 1 in 100", RGBColor(140, 140, 140), true),
        ];
        // The 50 % and 99 % lines, labelled p50/p99 just right of the plot (the CDF's x axis is logarithmic).
        for r in &refs {
            chart.draw_series(DashedLineSeries::new(
                vec![(lo, r.value), (hi, r.value)],
                9,
                6,
                ShapeStyle::from(&r.color).stroke_width(1),
            ))?;
        }
        for (i, (_, h, _)) in series.iter().enumerate() {
            let mut pts = vec![(lo, 0.0)];
            let mut prev = 0.0;
            for (b, f) in h.cdf() {
                pts.push((b, prev));
                pts.push((b, f * 100.0));
                prev = f * 100.0;
            }
            chart.draw_series(LineSeries::new(pts, ShapeStyle::from(&color(i)).stroke_width(3)))?;
        }
        let (px, py) = chart.plotting_area().get_pixel_range();
        for r in &refs {
            let (_, y) = chart.backend_coord(&(hi, r.value));
            text(
                root,
                r.title.as_str(),
                (px.end + 8, y),
                &bold(14.0).color(&MUTED),
                HPos::Left,
                VPos::Center,
            )?;
        }
        legend(root, series, (px.end + 60, py.start + 70))?;
        Ok(())
    })
}

/// The chart's title and what it shows.
fn heading(root: &Root<'_>, source: &str) -> DrawResult {
    text(
        root,
        "Round-trip latency per label",
        (24, 18),
        &bold(28.0),
        HPos::Left,
        VPos::Top,
    )?;
    let sub = format!(
        "Share of samples at or below each round-trip time (CDF), the runs of a label merged, from {source}. \
         \"idle\" and \"under load\": UDP probes of client --latency runs before and during the test."
    );
    paragraph(root, &sub, (24, 56), &font(16.0).color(&MUTED), WIDTH - 48, 20)?;
    Ok(())
}

/// The x axis's range: whole decades around every label's samples.
fn x_range(series: &[(String, LatencyHistogram, usize)]) -> (f64, f64) {
    let lo = series
        .iter()
        .filter_map(|(_, h, _)| h.buckets.first().map(|b| b.0))
        .fold(f64::INFINITY, f64::min);
    let hi = series
        .iter()
        .filter_map(|(_, h, _)| h.buckets.last().map(|b| b.0))
        .fold(0.0, f64::max);
    let lo = 10f64.powf(lo.max(0.1).log10().floor());
    let hi = 10f64.powf(hi.max(lo * 10.0).log10().ceil());
    (lo, hi)
}

/// Each label's line colour, name, p50, p99 and run count, right of the plot from `at` down.
fn legend(root: &Root<'_>, series: &[(String, LatencyHistogram, usize)], at: (i32, i32)) -> DrawResult {
    let (x, mut y) = at;
    for (i, (label, h, n)) in series.iter().enumerate() {
        root.draw(&PathElement::new(
            vec![(x, y), (x + 24, y)],
            ShapeStyle::from(&color(i)).stroke_width(4),
        ))?;
        text(root, label, (x + 32, y), &bold(16.0), HPos::Left, VPos::Center)?;
        let p = |q| h.percentile(q).map_or("-".into(), micros);
        let line = format!(
            "p50 {} · p99 {} · {n} run{}",
            p(0.5),
            p(0.99),
            if *n == 1 { "" } else { "s" }
        );
        text(
            root,
            &line,
            (x + 32, y + 20),
            &font(14.0).color(&MUTED),
            HPos::Left,
            VPos::Center,
        )?;
        y += 50;
    }
    Ok(())
}
