//! Lettering: the bundled DejaVu Sans Bold, rasterized with ab_glyph.

use super::draw::Rgb;
use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use std::sync::OnceLock;
use tiny_skia::Pixmap;

static FONT_BYTES: &[u8] = include_bytes!("../../data/fonts/DejaVuSans-Bold.ttf");

fn font() -> &'static FontRef<'static> {
    static F: OnceLock<FontRef<'static>> = OnceLock::new();
    F.get_or_init(|| FontRef::try_from_slice(FONT_BYTES).expect("the bundled font parses (tested)"))
}

/// The width of `text` at `px` pixels high.
fn width(text: &str, px: f32) -> f32 {
    let f = font().as_scaled(PxScale::from(px));
    let mut w = 0.0;
    let mut prev = None;
    for c in text.chars() {
        let id = f.glyph_id(c);
        if let Some(p) = prev {
            w += f.kern(p, id);
        }
        w += f.h_advance(id);
        prev = Some(id);
    }
    w
}

/// Splits `text` into at most `max_lines` lines that fit `max_w` at `px`.
fn wrap(text: &str, px: f32, max_w: f32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(l) if width(&format!("{l} {word}"), px) <= max_w => {
                l.push(' ');
                l.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// Draws `text` as large as fits the box (centered, wrapped on up to three
/// lines), in `color`. Returns the size in pixels it used.
pub fn draw_in_box(
    pm: &mut Pixmap,
    text: &str,
    (x, y, w, h): (f32, f32, f32, f32),
    color: Rgb,
) -> f32 {
    let text = text.trim();
    if text.is_empty() || w < 4.0 || h < 4.0 {
        return 0.0;
    }
    // the largest size at which the wrapped text fits
    let mut px = h.min(w);
    let lines = loop {
        let lines = wrap(text, px, w);
        let fits = lines.len() <= 3
            && lines.len() as f32 * px * 1.15 <= h
            && lines.iter().all(|l| width(l, px) <= w);
        if fits || px < 6.0 {
            break lines;
        }
        px *= 0.9;
    };
    let total = lines.len() as f32 * px * 1.15;
    let mut top = y + (h - total) / 2.0;
    for l in &lines {
        let lw = width(l, px);
        draw_line(pm, l, x + (w - lw) / 2.0, top, px, color);
        top += px * 1.15;
    }
    px
}

/// Draws one line with its top-left at (x, y).
pub fn draw_line(pm: &mut Pixmap, text: &str, x: f32, y: f32, px: f32, color: Rgb) {
    let f = font();
    let scaled = f.as_scaled(PxScale::from(px));
    let baseline = y + scaled.ascent();
    let (pw, ph) = (pm.width() as i32, pm.height() as i32);
    let stride = pm.width() as usize;
    let (cr, cg, cb) = (color.0 * 255.0, color.1 * 255.0, color.2 * 255.0);
    let data = pm.data_mut();
    let mut pen = x;
    let mut prev = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            pen += scaled.kern(p, id);
        }
        let glyph = id.with_scale_and_position(PxScale::from(px), point(pen, baseline));
        pen += scaled.h_advance(id);
        prev = Some(id);
        let Some(outline) = f.outline_glyph(glyph) else {
            continue;
        };
        let b = outline.px_bounds();
        outline.draw(|gx, gy, cov| {
            let (px_, py_) = (b.min.x as i32 + gx as i32, b.min.y as i32 + gy as i32);
            if px_ < 0 || py_ < 0 || px_ >= pw || py_ >= ph || cov <= 0.0 {
                return;
            }
            let i = (py_ as usize * stride + px_ as usize) * 4;
            let a = cov.min(1.0);
            // the canvas is opaque: premultiplied == straight
            data[i] = (data[i] as f32 * (1.0 - a) + cr * a) as u8;
            data[i + 1] = (data[i + 1] as f32 * (1.0 - a) + cg * a) as u8;
            data[i + 2] = (data[i + 2] as f32 * (1.0 - a) + cb * a) as u8;
            data[i + 3] = 255;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_font_parses_and_wraps() {
        assert!(width("OPEN", 40.0) > 40.0);
        assert_eq!(wrap("one two three", 40.0, 10_000.0).len(), 1);
        assert!(wrap("one two three", 40.0, 90.0).len() >= 2);
    }
}
