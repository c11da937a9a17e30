//! The drawing backend of every chart: plotters' bitmap backend, with text laid out and rasterised here.
//!
//! plotters' own `ab_glyph` text path drops each glyph's left side bearing and rounds half-pixel vertical
//! offsets inconsistently, so "10 GbE" reads "1 0 GbE" and letters hop up and down. This backend places glyphs
//! by their real outlines (with kerning) and sends everything else to `BitMapBackend` unchanged. Fonts are Noto
//! Sans Regular and Bold embedded through `ttf-noto-sans`: no system font library is needed.

use std::sync::LazyLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use plotters::prelude::BitMapBackend;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind, FontStyle,
};

type Error = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

static REGULAR: LazyLock<FontRef<'static>> =
    LazyLock::new(|| FontRef::try_from_slice(ttf_noto_sans::REGULAR).expect("the embedded Noto Sans Regular parses"));
static BOLD: LazyLock<FontRef<'static>> =
    LazyLock::new(|| FontRef::try_from_slice(ttf_noto_sans::BOLD).expect("the embedded Noto Sans Bold parses"));

fn face(style: FontStyle) -> &'static FontRef<'static> {
    match style {
        FontStyle::Bold => &BOLD,
        _ => &REGULAR,
    }
}

/// Glyph positions of a line of text at `size` pixels (ascent to descent), and the box it fills.
struct Layout {
    glyphs: Vec<ab_glyph::Glyph>,
    width: f32,
    height: f32,
}

fn layout(font: &FontRef<'static>, size: f64, text: &str) -> Layout {
    let scaled = font.as_scaled(PxScale::from(size as f32));
    let ascent = scaled.ascent();
    let mut caret = 0.0f32;
    let mut prev = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        glyphs.push(id.with_scale_and_position(PxScale::from(size as f32), point(caret, ascent)));
        caret += scaled.h_advance(id);
        prev = Some(id);
    }
    Layout {
        glyphs,
        width: caret,
        height: scaled.ascent() - scaled.descent(),
    }
}

/// Width in pixels of `text` at `size`, as `Canvas` will draw it; for layouts decided before drawing.
pub fn measure(text: &str, size: f64, bold: bool) -> u32 {
    let font = if bold { &*BOLD } else { &*REGULAR };
    layout(font, size, text).width.ceil() as u32
}

/// How many lines `text` wraps to at `max_w` pixels (same rule as `charts::wrap`).
pub fn line_count(text: &str, size: f64, bold: bool, max_w: u32) -> u32 {
    let mut lines = 0;
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let candidate = if cur.is_empty() {
            word.to_string()
        } else {
            format!("{cur} {word}")
        };
        if !cur.is_empty() && measure(&candidate, size, bold) > max_w {
            lines += 1;
            cur = word.to_string();
        } else {
            cur = candidate;
        }
    }
    lines + u32::from(!cur.is_empty())
}

/// `BitMapBackend` with correct text.
pub struct Canvas<'a> {
    inner: BitMapBackend<'a>,
}

impl<'a> Canvas<'a> {
    pub fn new(inner: BitMapBackend<'a>) -> Self {
        Canvas { inner }
    }
}

impl DrawingBackend for Canvas<'_> {
    type ErrorType = Error;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), DrawingErrorKind<Error>> {
        let l = layout(face(style.style()), style.size(), text);
        Ok((l.width.ceil() as u32, l.height.ceil() as u32))
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Error>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let font = face(style.style());
        let l = layout(font, style.size(), text);
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -l.width / 2.0,
            HPos::Right => -l.width,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0.0,
            VPos::Center => -l.height / 2.0,
            VPos::Bottom => -l.height,
        };
        let (dx, dy) = (dx.round() as i32, dy.round() as i32);
        let trans = style.transform();
        let (w, h) = self.get_size();
        let mut pixels = Vec::new();
        for g in l.glyphs {
            let Some(outline) = font.outline_glyph(g) else { continue };
            let b = outline.px_bounds();
            let (bx, by) = (b.min.x as i32, b.min.y as i32);
            outline.draw(|x, y, cov| {
                if cov > 0.0 {
                    pixels.push((bx + x as i32, by + y as i32, cov));
                }
            });
        }
        for (x, y, cov) in pixels {
            let (x, y) = trans.transform(x + dx, y + dy);
            let (x, y) = (pos.0 + x, pos.1 + y);
            if x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
                self.inner.draw_pixel(
                    (x, y),
                    BackendColor {
                        alpha: color.alpha * f64::from(cov.min(1.0)),
                        rgb: color.rgb,
                    },
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_measured_with_kerning_and_bearings() {
        let one = layout(&REGULAR, 16.0, "1");
        let ten = layout(&REGULAR, 16.0, "10 GbE");
        assert!(ten.width > one.width * 4.0);
        assert!((one.height - 16.0).abs() < 0.5, "{}", one.height);
        assert!(layout(&BOLD, 16.0, "Mbit/s").width > layout(&REGULAR, 16.0, "Mbit/s").width);
    }
}
