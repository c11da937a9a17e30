//! The compare chart: before and after bars, each with its own ceiling, the baseline, and the verdict beside them.

use std::path::Path;

use plotters::style::text_anchor::{HPos, VPos};

use super::bars::{self, Bar, BarPanel};
use super::{
    BASELINE, DrawResult, MTU1500, MTU9000, MUTED, RefLine, Root, TS_OFF, bold, color, font, paragraph, seconds, text,
    thousands, y_top,
};
use crate::model::tcp_goodput_ceiling_mbps;
use crate::report::compare::{Comparison, Side};
use crate::report::error::ReportError;

const HEIGHT: u32 = 860;
const MAIN_W: u32 = 800;
const INSET_W: u32 = 560;
const TEXT_W: u32 = 520;

fn baseline_ref(c: &Comparison) -> RefLine {
    RefLine::new(
        c.baseline_mbps,
        format!("{} Mbit/s", thousands(c.baseline_mbps, 2)),
        "old-script baseline",
        BASELINE,
        true,
    )
}

/// A side's own ceiling as a dashed line over its bar's slot.
fn ceiling_ref(side: &Side, slot: f64) -> Option<RefLine> {
    let s = &side.stats;
    let (c, l) = (s.ceiling_mbps?, s.link?);
    let mut r = RefLine::new(
        c,
        format!("{} Mbit/s", thousands(c, 1)),
        format!("{} ceiling: {l}", s.label),
        if l.mtu >= 9000 { MTU9000 } else { MTU1500 },
        true,
    );
    r.span = Some((slot + 0.08, slot + 0.92));
    Some(r)
}

/// Draws the compare PNG: both bars on one linear axis; the smaller side again up close (so its ceiling and the
/// baseline, a few Mbit/s apart, do not merge) when it would be a sliver; the verdict to the right.
pub fn draw(path: &Path, c: &Comparison) -> Result<(), ReportError> {
    let sides = [&c.before, &c.after];
    let top = sides
        .iter()
        .map(|s| s.stats.max_mbps.max(s.stats.ceiling_mbps.unwrap_or(0.0)))
        .fold(c.baseline_mbps, f64::max);
    let y_hi = y_top(top);
    // The side that gets a close-up: the smaller one, when its bar is under a fifth of the axis.
    let small = (0..2)
        .min_by(|&a, &b| sides[a].stats.median_mbps.total_cmp(&sides[b].stats.median_mbps))
        .filter(|&i| sides[i].stats.max_mbps < y_hi * 0.2);
    let width = MAIN_W + if small.is_some() { INSET_W } else { 0 } + TEXT_W + 40;
    super::render(path, (width, HEIGHT), |root| {
        heading_block(root, c, width)?;
        let body = root.margin(100, 16, 16, 10);
        let (main, rest) = body.split_horizontally(MAIN_W);
        let (inset, right) = rest.split_horizontally(if small.is_some() { INSET_W } else { 0 });
        let bars: Vec<Bar> = sides
            .iter()
            .enumerate()
            .map(|(i, s)| Bar::new(&s.stats, s.runs_mbps.clone(), color(i)))
            .collect();
        main_panel(root, &main, c, &bars, small, y_hi)?;
        if let Some(i) = small {
            close_up(root, &inset, c, sides[i], &bars[i..=i])?;
        }
        verdict_column(root, &right, c)
    })
}

fn heading_block(root: &Root<'_>, c: &Comparison, width: u32) -> DrawResult {
    let (b, a) = (&c.before.stats, &c.after.stats);
    text(
        root,
        &format!("{} vs {}: {:.2}× the goodput", a.label, b.label, c.speedup),
        (24, 18),
        &bold(28.0),
        HPos::Left,
        VPos::Top,
    )?;
    paragraph(
        root,
        "Median receiver goodput per label; whisker: lowest to highest run; dots: single runs. Dashed lines: \
         the TCP ceiling of each bar's own profile (IPv4, timestamps on) and the old baseline.",
        (24, 56),
        &font(16.0).color(&MUTED),
        width - 48,
        20,
    )?;
    Ok(())
}

/// Both bars from 0, each with its own ceiling unless it gets the close-up, and the baseline.
fn main_panel(
    root: &Root<'_>,
    area: &Root<'_>,
    c: &Comparison,
    bars: &[Bar],
    small: Option<usize>,
    y_hi: f64,
) -> DrawResult {
    let mut refs = vec![baseline_ref(c)];
    for (i, s) in [&c.before, &c.after].iter().enumerate() {
        if Some(i) != small {
            refs.extend(ceiling_ref(s, i as f64));
        }
    }
    bars::draw(
        root,
        area,
        &BarPanel {
            caption: "Both labels, y axis from 0".into(),
            bars,
            refs: &refs,
            y: (0.0, y_hi),
        },
    )
}

/// The smaller side up close: its ceiling with timestamps on and off, and the baseline.
fn close_up(root: &Root<'_>, area: &Root<'_>, c: &Comparison, s: &Side, bar: &[Bar]) -> DrawResult {
    let mut refs = vec![baseline_ref(c)];
    if let (Some(l), Some(_)) = (s.stats.link, s.stats.ceiling_mbps) {
        refs.extend(ceiling_ref(s, 0.0).map(|mut r| {
            r.span = None;
            r
        }));
        let off = tcp_goodput_ceiling_mbps(l.line_rate_mbps, l.mtu, false);
        refs.push(RefLine::new(
            off,
            format!("{} Mbit/s", thousands(off, 1)),
            "same link, timestamps off",
            TS_OFF,
            true,
        ));
    }
    let (lo, hi, zoomed) = bars::zoom_range(s.stats.min_mbps, s.stats.max_mbps, &refs);
    let caption = if zoomed {
        format!("{} up close (y axis from {} Mbit/s)", s.stats.label, thousands(lo, 0))
    } else {
        format!("{} up close", s.stats.label)
    };
    bars::draw(
        root,
        area,
        &BarPanel {
            caption,
            bars: bar,
            refs: &refs,
            y: (lo, hi),
        },
    )
}

/// The text column: verdict, speedup, 10 GB times, latency, the baseline note and what still limits.
fn verdict_column(root: &Root<'_>, area: &Root<'_>, c: &Comparison) -> DrawResult {
    let (b, a) = (&c.before.stats, &c.after.stats);
    let (rx, ry) = area.get_base_pixel();
    let (rw, _) = area.dim_in_pixel();
    let x = rx + 20;
    let w = rw.saturating_sub(40);
    let heading = |y: i32, s: &str| text(root, s, (x, y), &bold(18.0), HPos::Left, VPos::Top);
    let section = |y: i32, title: &str, body: &str| -> DrawResult<i32> {
        heading(y, title)?;
        Ok(paragraph(root, body, (x, y + 28), &font(16.0), w, 22)? + 14)
    };
    let mut y = section(ry + 14, "Verdict", &c.verdict)?;
    let sp = format!(
        "{:.2}× {} ({} → {} Mbit/s); {:.2}× the {} Mbit/s baseline.",
        c.speedup,
        b.label,
        thousands(b.median_mbps, 1),
        thousands(a.median_mbps, 1),
        a.speedup_vs_baseline,
        thousands(c.baseline_mbps, 2)
    );
    y = section(y, "Speedup", &sp)?;
    heading(y, "Moving 10 GB")?;
    y += 28;
    for side in [&c.before, &c.after] {
        y = paragraph(root, &transfer_line(side), (x, y), &font(16.0), w, 22)? + 4;
    }
    let lines = c.latency_lines();
    let lat = if lines.is_empty() {
        "Not measured for both labels.".into()
    } else {
        lines.join("; ") + "."
    };
    y = section(y + 10, "Latency", &lat)?;
    if let Some(ceil) = b.ceiling_mbps.filter(|ceil| c.baseline_mbps > *ceil) {
        let why = format!(
            "The old {} Mbit/s exceeds {}'s {} Mbit/s ceiling, which no receiver can beat: it was most likely a \
             sender-side count, or TCP timestamps were off.",
            thousands(c.baseline_mbps, 2),
            b.label,
            thousands(ceil, 1)
        );
        y = section(y, "Why the baseline is above the ceiling", &why)?;
    }
    heading(y, &format!("What still limits {}", a.label))?;
    y += 28;
    for l in &c.limits {
        text(root, "•", (x, y), &font(16.0), HPos::Left, VPos::Top)?;
        y = paragraph(root, l, (x + 16, y), &font(16.0), w - 16, 22)? + 6;
    }
    Ok(())
}

/// "before: 85.0 s at its median; 8.08 s at its ceiling, 8.00 s at line rate".
fn transfer_line(side: &Side) -> String {
    let s = &side.stats;
    let mut line = format!("{}: {} at its median", s.label, seconds(s.time_10gb_s));
    if let Some(p) = side.projection_10gb {
        line.push_str(&format!(
            "; {} at its ceiling, {} at line rate",
            seconds(p.at_ceiling_s),
            seconds(p.at_line_rate_s)
        ));
    }
    line
}
