//! PNG charts drawn with plotters into memory, encoded with `png`, and written whole (temp file + rename).
//!
//! Text uses Noto Sans embedded in the binary (crate `ttf-noto-sans`), laid out by `canvas::Canvas`, so charts
//! render the same on machines without any font library. Shared here: fonts, colours, text layout
//! and the reference-line labels, which are placed in a right-hand margin and pushed apart so that two lines a
//! few Mbit/s apart still get two readable labels.

pub mod bars;
pub mod canvas;
pub mod collective;
pub mod collective_compare;
pub mod compare;
pub mod goodput;
pub mod grid;
pub mod heatmap;
pub mod latency;
pub mod timeline;

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use self::canvas::Canvas;
use super::error::ReportError;
use super::files::write_atomic;

pub type Root<'a> = DrawingArea<Canvas<'a>, Shift>;
pub type Chart<'a, 'b> = ChartContext<'a, Canvas<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;
pub type DrawResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

pub const FAMILY: &str = "sans-serif";
pub const INK: RGBColor = RGBColor(33, 37, 41);
pub const MUTED: RGBColor = RGBColor(100, 106, 115);
pub const GRID: RGBColor = RGBColor(226, 229, 233);
pub const BASELINE: RGBColor = RGBColor(200, 40, 40);
pub const MTU1500: RGBColor = RGBColor(80, 80, 80);
pub const MTU9000: RGBColor = RGBColor(20, 110, 180);
pub const TS_OFF: RGBColor = RGBColor(150, 110, 20);

/// Series colours (colour-blind friendly, Okabe–Ito order).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(120, 120, 120),
    RGBColor(240, 228, 66),
];

pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

static FONTS: Once = Once::new();

/// Registers the embedded Noto Sans (regular and bold) as plotters' "sans-serif" too, for any measurement
/// plotters makes without asking the backend.
pub fn ensure_fonts() {
    FONTS.call_once(|| {
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, ttf_noto_sans::REGULAR);
        let _ = plotters::style::register_font(FAMILY, FontStyle::Bold, ttf_noto_sans::BOLD);
    });
}

/// Text `size` pixels high (ascent to descent).
pub fn font(size: f64) -> TextStyle<'static> {
    TextStyle::from((FAMILY, size).into_font()).color(&INK)
}

pub fn bold(size: f64) -> TextStyle<'static> {
    TextStyle::from((FAMILY, size, FontStyle::Bold).into_font()).color(&INK)
}

/// Draws a chart into memory and writes it as a PNG of exactly `size` pixels, whole or not at all.
pub fn render(path: &Path, size: (u32, u32), draw: impl FnOnce(&Root<'_>) -> DrawResult) -> Result<(), ReportError> {
    ensure_fonts();
    let (w, h) = size;
    let mut buf = vec![255u8; w as usize * h as usize * 3];
    let render_err = |message: String| ReportError::Render {
        path: path.to_path_buf(),
        message,
    };
    {
        let root = Canvas::new(BitMapBackend::with_buffer(&mut buf, size)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| render_err(e.to_string()))?;
        draw(&root).map_err(|e| render_err(e.to_string()))?;
        root.present().map_err(|e| render_err(e.to_string()))?;
    }
    let png = encode_png(&buf, w, h).map_err(|e| render_err(e.to_string()))?;
    write_atomic(path, &png)
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Best);
        let mut writer = enc.write_header()?;
        writer.write_image_data(rgb)?;
    }
    Ok(out)
}

/// Draws `s` anchored at `at` (absolute pixels) with the given alignment.
pub fn text(root: &Root<'_>, s: &str, at: (i32, i32), style: &TextStyle<'_>, h: HPos, v: VPos) -> DrawResult {
    let style = style.pos(Pos::new(h, v));
    root.draw(&Text::new(s.to_string(), at, style))?;
    Ok(())
}

pub fn text_width(root: &Root<'_>, s: &str, style: &TextStyle<'_>) -> u32 {
    root.estimate_text_size(s, style).map(|(w, _)| w).unwrap_or(0)
}

/// Splits `s` into lines no wider than `max_w` pixels, at spaces.
pub fn wrap(root: &Root<'_>, s: &str, style: &TextStyle<'_>, max_w: u32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in s.split_whitespace() {
        let candidate = if cur.is_empty() {
            word.to_string()
        } else {
            format!("{cur} {word}")
        };
        if !cur.is_empty() && text_width(root, &candidate, style) > max_w {
            lines.push(std::mem::replace(&mut cur, word.to_string()));
        } else {
            cur = candidate;
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Draws wrapped text from the top-left corner `at`; returns the y below the last line.
pub fn paragraph(
    root: &Root<'_>,
    s: &str,
    at: (i32, i32),
    style: &TextStyle<'_>,
    max_w: u32,
    line_h: i32,
) -> DrawResult<i32> {
    let mut y = at.1;
    for line in wrap(root, s, style, max_w) {
        text(root, &line, (at.0, y), style, HPos::Left, VPos::Top)?;
        y += line_h;
    }
    Ok(y)
}

/// `s`, cut with "…" so that it fits in `max_w` pixels.
pub fn ellipsize(root: &Root<'_>, s: &str, style: &TextStyle<'_>, max_w: u32) -> String {
    if text_width(root, s, style) <= max_w {
        return s.to_string();
    }
    let mut chars: Vec<char> = s.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let cut = format!("{}…", chars.iter().collect::<String>().trim_end());
        if text_width(root, &cut, style) <= max_w {
            return cut;
        }
    }
    "…".into()
}

/// The largest even font size from `size` down to 10 at which `s` fits in `max_w` pixels.
pub fn fit(root: &Root<'_>, s: &str, size: f64, bold_face: bool, max_w: u32) -> TextStyle<'static> {
    let mut sz = size;
    loop {
        let st = if bold_face { bold(sz) } else { font(sz) };
        if sz <= 10.0 || text_width(root, s, &st) <= max_w {
            return st;
        }
        sz -= 2.0;
    }
}

/// A horizontal reference line with a two-line label: the value, then what it is.
#[derive(Debug, Clone)]
pub struct RefLine {
    pub value: f64,
    pub title: String,
    pub note: String,
    pub color: RGBColor,
    pub dashed: bool,
    /// Part of the x range the line spans (chart coordinates); None = the whole width.
    pub span: Option<(f64, f64)>,
}

impl RefLine {
    pub fn new(value: f64, title: impl Into<String>, note: impl Into<String>, color: RGBColor, dashed: bool) -> Self {
        RefLine {
            value,
            title: title.into(),
            note: note.into(),
            color,
            dashed,
            span: None,
        }
    }
}

/// Height in pixels one reference label takes.
pub const REF_LABEL_H: i32 = 38;

/// Draws the lines, then their labels in the margin right of the plot, pushed apart so none overlap;
/// a thin leader joins each label to its line; notes are cut to `max_w` pixels (the margin). Returns the pixel y just below the lowest label.
pub fn draw_ref_lines(root: &Root<'_>, chart: &mut Chart<'_, '_>, refs: &[RefLine], max_w: u32) -> DrawResult<i32> {
    let x = chart.x_range();
    let y = chart.y_range();
    let (px, py) = chart.plotting_area().get_pixel_range();
    let visible: Vec<&RefLine> = refs.iter().filter(|r| r.value >= y.start && r.value <= y.end).collect();
    for r in &visible {
        let (x0, x1) = r.span.unwrap_or((x.start, x.end));
        let pts = vec![(x0, r.value), (x1, r.value)];
        let style = ShapeStyle::from(&r.color).stroke_width(2);
        if r.dashed {
            chart.draw_series(DashedLineSeries::new(pts, 9, 6, style))?;
        } else {
            chart.draw_series(LineSeries::new(pts, style))?;
        }
    }
    // Label positions: wanted at the line, then pushed apart top to bottom and back up from the bottom.
    let mut items: Vec<(i32, i32, &RefLine)> = visible
        .iter()
        .map(|r| {
            let (lx, ly) = chart.backend_coord(&(r.span.map_or(x.end, |s| s.1), r.value));
            (ly, lx, *r)
        })
        .collect();
    items.sort_by_key(|(ly, _, _)| *ly);
    let top = py.start + REF_LABEL_H / 2 - 4;
    let bottom = root.dim_in_pixel().1 as i32 - REF_LABEL_H / 2;
    let mut ys: Vec<i32> = Vec::with_capacity(items.len());
    for (i, (ly, _, _)) in items.iter().enumerate() {
        let want = (*ly).max(top);
        ys.push(if i == 0 {
            want
        } else {
            want.max(ys[i - 1] + REF_LABEL_H)
        });
    }
    for i in (0..ys.len()).rev() {
        let limit = if i + 1 < ys.len() {
            ys[i + 1] - REF_LABEL_H
        } else {
            bottom
        };
        ys[i] = ys[i].min(limit);
    }
    let label_x = px.end + 22;
    let mut lowest = py.start;
    for ((ly, lx, r), cy) in items.iter().zip(&ys) {
        let style = ShapeStyle::from(&r.color).stroke_width(1);
        root.draw(&PathElement::new(
            vec![(*lx, *ly), (px.end + 8, *ly), (label_x - 4, *cy)],
            style,
        ))?;
        text(
            root,
            &r.title,
            (label_x, cy - 9),
            &bold(14.0).color(&r.color),
            HPos::Left,
            VPos::Center,
        )?;
        let note_style = font(12.0).color(&MUTED);
        let note = ellipsize(root, &r.note, &note_style, max_w.saturating_sub(26));
        text(root, &note, (label_x, cy + 9), &note_style, HPos::Left, VPos::Center)?;
        lowest = lowest.max(cy + REF_LABEL_H / 2);
    }
    Ok(lowest)
}

/// "9,900.4" style: thousands separators, `decimals` places.
pub fn thousands(x: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, x.abs());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), format!(".{f}")),
        None => (s.clone(), String::new()),
    };
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}{out}{frac}", if x < 0.0 { "-" } else { "" })
}

/// Axis ticks: thousands separators, no decimals.
pub fn tick(v: &f64) -> String {
    thousands(*v, 0)
}

/// "99.97 %" near 100, "87.3 %" elsewhere, so 941.2 of 941.5 does not read as 100.0 %.
pub fn pct(p: f64) -> String {
    if (99.0..100.0).contains(&p) {
        format!("{p:.2} %")
    } else {
        format!("{p:.1} %")
    }
}

/// Seconds as "85.0 s", "8.08 s", "14 min 10 s".
pub fn seconds(s: f64) -> String {
    if !s.is_finite() {
        "-".into()
    } else if s < 10.0 {
        format!("{s:.2} s")
    } else if s < 600.0 {
        format!("{s:.1} s")
    } else {
        let m = (s / 60.0).floor();
        format!("{m:.0} min {:.0} s", s - m * 60.0)
    }
}

/// The top of a y range from 0: 10 % headroom, rounded up to a tenth of the power of ten below it.
pub fn y_top(max: f64) -> f64 {
    let max = max.max(1.0) * 1.1;
    let step = 10f64.powf(max.log10().floor()) / 10.0;
    (max / step).ceil() * step
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(thousands(9900.43, 1), "9,900.4");
        assert_eq!(thousands(941.48, 1), "941.5");
        assert_eq!(thousands(1_234_567.0, 0), "1,234,567");
        assert_eq!(thousands(-1234.5, 1), "-1,234.5");
        assert_eq!(pct(99.968), "99.97 %");
        assert_eq!(pct(100.4), "100.4 %");
        assert_eq!(pct(87.26), "87.3 %");
        assert_eq!(seconds(84.97), "85.0 s");
        assert_eq!(seconds(8.0804), "8.08 s");
        assert_eq!(seconds(849.7), "14 min 10 s");
        assert_eq!(y_top(9900.43), 11_000.0);
        assert_eq!(y_top(941.5), 1100.0);
    }
}
