//! An N×N grid of named cells (rows = senders, columns = receivers), each coloured by a value on a scale with
//! its figures written in it, the diagonal blank and unknown cells hatched with "?", a legend of the scale at
//! the right and notes below. The mesh heatmap and the mesh compare's ratio matrix are both drawn by it.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::canvas::{line_count, measure};
use super::{DrawResult, GRID, INK, MUTED, Root, bold, ellipsize, font, paragraph, text};
use crate::report::error::ReportError;

const MARGIN: i32 = 24;
const CELL_W: i32 = 124;
const CELL_H: i32 = 64;
const NAME_MAX_W: i32 = 200;
const LEGEND_W: i32 = 250;
const BAR_W: i32 = 26;
const MIN_BAR_H: i32 = 220;
const HATCH_STEP: i32 = 9;
const LINE_H: i32 = 20;

/// What a cell shows.
#[derive(Debug, Clone, PartialEq)]
pub enum GridCell {
    /// A node with itself: left blank.
    Diagonal,
    /// No figure that may be shown (incomplete, not measured, not compared): hatched, with "?".
    Unknown,
    /// A value: its colour comes from the scale, `main` (bold) and `sub` are written in it.
    Value { value: f64, main: String, sub: String },
}

/// A colour scale: stops (value, colour) in increasing order, colours interpolated between them, clamped outside.
#[derive(Debug, Clone)]
pub struct Scale {
    pub stops: Vec<(f64, RGBColor)>,
    /// Values labelled beside the legend's bar.
    pub ticks: Vec<(f64, String)>,
}

impl Scale {
    pub fn color(&self, v: f64) -> RGBColor {
        let (first, last) = (self.stops[0], self.stops[self.stops.len() - 1]);
        if !v.is_finite() || v <= first.0 {
            return first.1;
        }
        if v >= last.0 {
            return last.1;
        }
        let i = self.stops.iter().position(|s| s.0 > v).unwrap_or(self.stops.len() - 1);
        let ((a, ca), (b, cb)) = (self.stops[i - 1], self.stops[i]);
        let t = (v - a) / (b - a);
        let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * t).round() as u8;
        RGBColor(mix(ca.0, cb.0), mix(ca.1, cb.1), mix(ca.2, cb.2))
    }

    fn range(&self) -> (f64, f64) {
        (self.stops[0].0, self.stops[self.stops.len() - 1].0)
    }
}

/// Everything the grid picture shows.
#[derive(Debug, Clone)]
pub struct Grid {
    pub title: String,
    pub subtitle: String,
    /// The nodes, in row and column order.
    pub names: Vec<String>,
    /// `cells[row][column]`.
    pub cells: Vec<Vec<GridCell>>,
    pub scale: Scale,
    pub legend_title: String,
    /// Lines under the grid (findings, nodes left out), each wrapped to the picture's width.
    pub notes: Vec<String>,
}

/// Pixel positions decided before drawing.
struct Layout {
    width: u32,
    height: u32,
    subtitle_y: i32,
    grid_x: i32,
    grid_y: i32,
    bar_h: i32,
    notes_y: i32,
}

fn layout(g: &Grid) -> Layout {
    let n = g.names.len() as i32;
    let names_w = g
        .names
        .iter()
        .map(|s| measure(s, 15.0, true) as i32)
        .chain([measure("sends ↓  receives →", 13.0, false) as i32])
        .max()
        .unwrap_or(0)
        .min(NAME_MAX_W)
        + 16;
    let width = (MARGIN * 2 + names_w + n * CELL_W + 40 + LEGEND_W).max(820);
    let wrap_w = (width - MARGIN * 2) as u32;
    let subtitle_lines = line_count(&g.subtitle, 15.0, false, wrap_w) as i32;
    let grid_y = 52 + subtitle_lines * LINE_H + 20 + 28;
    let bar_h = (n * CELL_H).max(MIN_BAR_H);
    let body_h = (n * CELL_H).max(bar_h + 24 + 2 * 34);
    let notes_y = grid_y + body_h + 24;
    let note_lines: i32 = g.notes.iter().map(|s| line_count(s, 15.0, false, wrap_w) as i32).sum();
    Layout {
        width: width as u32,
        height: (notes_y + note_lines * LINE_H + MARGIN) as u32,
        subtitle_y: 52,
        grid_x: MARGIN + names_w,
        grid_y,
        bar_h,
        notes_y,
    }
}

/// The pixel size of the picture of `g`, and the top-left pixel of its cell (row, column) inside it.
pub fn geometry(g: &Grid, row: usize, col: usize) -> ((u32, u32), (i32, i32)) {
    let l = layout(g);
    let at = (l.grid_x + col as i32 * CELL_W, l.grid_y + row as i32 * CELL_H);
    ((l.width, l.height), at)
}

/// Draws the grid picture to `path` (whole or not at all).
pub fn draw(path: &Path, g: &Grid) -> Result<(), ReportError> {
    let l = layout(g);
    super::render(path, (l.width, l.height), |root| {
        text(root, &g.title, (MARGIN, 16), &bold(22.0), HPos::Left, VPos::Top)?;
        let wrap_w = l.width - 2 * MARGIN as u32;
        paragraph(
            root,
            &g.subtitle,
            (MARGIN, l.subtitle_y),
            &font(15.0).color(&MUTED),
            wrap_w,
            LINE_H,
        )?;
        names(root, g, &l)?;
        for (r, row) in g.cells.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let x0 = l.grid_x + c as i32 * CELL_W;
                let y0 = l.grid_y + r as i32 * CELL_H;
                draw_cell(
                    root,
                    &g.scale,
                    cell,
                    (x0 + 1, y0 + 1),
                    (x0 + CELL_W - 1, y0 + CELL_H - 1),
                )?;
            }
        }
        legend(root, g, &l)?;
        let mut y = l.notes_y;
        for note in &g.notes {
            y = paragraph(root, note, (MARGIN, y), &font(15.0), wrap_w, LINE_H)?;
        }
        Ok(())
    })
}

/// Node names left of the rows and above the columns, and which way the traffic goes.
fn names(root: &Root<'_>, g: &Grid, l: &Layout) -> DrawResult {
    let name_style = bold(15.0);
    let max_w = (l.grid_x - MARGIN - 16) as u32;
    let corner = font(13.0).color(&MUTED);
    text(
        root,
        "sends ↓  receives →",
        (MARGIN, l.grid_y - 26),
        &corner,
        HPos::Left,
        VPos::Center,
    )?;
    for (i, name) in g.names.iter().enumerate() {
        let i = i as i32;
        let row = ellipsize(root, name, &name_style, max_w);
        let y = l.grid_y + i * CELL_H + CELL_H / 2;
        text(root, &row, (l.grid_x - 10, y), &name_style, HPos::Right, VPos::Center)?;
        let col = ellipsize(root, name, &name_style, (CELL_W - 10) as u32);
        let x = l.grid_x + i * CELL_W + CELL_W / 2;
        text(root, &col, (x, l.grid_y - 12), &name_style, HPos::Center, VPos::Bottom)?;
    }
    Ok(())
}

/// Black or white text, whichever reads on `fill`.
fn ink_on(fill: RGBColor) -> RGBColor {
    let lum = 0.299 * f64::from(fill.0) + 0.587 * f64::from(fill.1) + 0.114 * f64::from(fill.2);
    if lum < 140.0 { WHITE } else { INK }
}

fn draw_cell(root: &Root<'_>, scale: &Scale, cell: &GridCell, a: (i32, i32), b: (i32, i32)) -> DrawResult {
    let mid = ((a.0 + b.0) / 2, (a.1 + b.1) / 2);
    match cell {
        GridCell::Diagonal => {
            root.draw(&Rectangle::new([a, b], RGBColor(248, 249, 250).filled()))?;
            root.draw(&Rectangle::new([a, b], GRID.stroke_width(1)))?;
        }
        GridCell::Unknown => hatched(root, a, b)?,
        GridCell::Value { value, main, sub } => {
            let fill = scale.color(*value);
            let ink = ink_on(fill);
            root.draw(&Rectangle::new([a, b], fill.filled()))?;
            text(
                root,
                main,
                (mid.0, mid.1 - 9),
                &bold(17.0).color(&ink),
                HPos::Center,
                VPos::Center,
            )?;
            text(
                root,
                sub,
                (mid.0, mid.1 + 12),
                &font(13.0).color(&ink),
                HPos::Center,
                VPos::Center,
            )?;
        }
    }
    Ok(())
}

/// A light cell with diagonal lines and a "?": never a colour of the scale.
fn hatched(root: &Root<'_>, a: (i32, i32), b: (i32, i32)) -> DrawResult {
    root.draw(&Rectangle::new([a, b], RGBColor(236, 237, 239).filled()))?;
    let line = RGBColor(160, 164, 170).stroke_width(1);
    let mut c = a.0 + a.1 + HATCH_STEP;
    while c < b.0 + b.1 {
        // The part of the line x + y = c inside the cell.
        let lo = a.0.max(c - b.1);
        let hi = b.0.min(c - a.1);
        if lo <= hi {
            root.draw(&PathElement::new(vec![(lo, c - lo), (hi, c - hi)], line))?;
        }
        c += HATCH_STEP;
    }
    let mid = ((a.0 + b.0) / 2, (a.1 + b.1) / 2);
    root.draw(&Rectangle::new(
        [(mid.0 - 14, mid.1 - 14), (mid.0 + 14, mid.1 + 14)],
        RGBColor(236, 237, 239).filled(),
    ))?;
    text(root, "?", mid, &bold(24.0), HPos::Center, VPos::Center)
}

/// The scale as a vertical bar (top = high) with its ticks, then what a hatched and a blank cell mean.
fn legend(root: &Root<'_>, g: &Grid, l: &Layout) -> DrawResult {
    let n = g.names.len() as i32;
    let x = l.grid_x + n * CELL_W + 40;
    let y0 = l.grid_y;
    text(
        root,
        &g.legend_title,
        (x, y0 - 26),
        &bold(14.0),
        HPos::Left,
        VPos::Center,
    )?;
    let (lo, hi) = g.scale.range();
    let at = |v: f64| y0 + ((hi - v) / (hi - lo) * f64::from(l.bar_h)).round() as i32;
    for y in y0..y0 + l.bar_h {
        let v = hi - f64::from(y - y0) / f64::from(l.bar_h) * (hi - lo);
        root.draw(&PathElement::new(vec![(x, y), (x + BAR_W, y)], g.scale.color(v)))?;
    }
    root.draw(&Rectangle::new(
        [(x, y0), (x + BAR_W, y0 + l.bar_h)],
        MUTED.stroke_width(1),
    ))?;
    for (v, label) in &g.scale.ticks {
        let y = at(*v);
        root.draw(&PathElement::new(vec![(x + BAR_W, y), (x + BAR_W + 6, y)], INK))?;
        text(root, label, (x + BAR_W + 10, y), &font(13.0), HPos::Left, VPos::Center)?;
    }
    let mut y = y0 + l.bar_h + 24;
    for (cell, what) in [
        (GridCell::Unknown, "incomplete or not measured"),
        (GridCell::Diagonal, "a node with itself"),
    ] {
        draw_cell(root, &g.scale, &cell, (x, y), (x + 40, y + 28))?;
        text(root, what, (x + 50, y + 14), &font(13.0), HPos::Left, VPos::Center)?;
        y += 34;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_interpolates_and_clamps() {
        let s = Scale {
            stops: vec![(0.0, RGBColor(0, 0, 0)), (100.0, RGBColor(200, 100, 50))],
            ticks: vec![],
        };
        assert_eq!(s.color(50.0), RGBColor(100, 50, 25));
        assert_eq!(s.color(-5.0), RGBColor(0, 0, 0));
        assert_eq!(s.color(150.0), RGBColor(200, 100, 50));
        assert_eq!(s.color(f64::NAN), RGBColor(0, 0, 0));
    }
}
