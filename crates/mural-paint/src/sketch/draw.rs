//! Drawing primitives over tiny-skia: colors, a seeded generator, shapes.

use tiny_skia::{
    Color, FillRule, GradientStop, LinearGradient, Paint, PathBuilder, Pixmap, Point,
    RadialGradient, Rect, SpreadMode, Stroke, Transform,
};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rgb(pub f32, pub f32, pub f32);

impl Rgb {
    pub fn hex(s: &str) -> Rgb {
        let v = u32::from_str_radix(s.trim_start_matches('#'), 16).unwrap_or(0x808080);
        Rgb(
            ((v >> 16) & 255) as f32 / 255.0,
            ((v >> 8) & 255) as f32 / 255.0,
            (v & 255) as f32 / 255.0,
        )
    }
    pub fn mix(self, o: Rgb, t: f32) -> Rgb {
        Rgb(
            self.0 + (o.0 - self.0) * t,
            self.1 + (o.1 - self.1) * t,
            self.2 + (o.2 - self.2) * t,
        )
    }
    pub fn scale(self, k: f32) -> Rgb {
        Rgb(self.0 * k, self.1 * k, self.2 * k)
    }
    pub fn color(self, a: f32) -> Color {
        Color::from_rgba(
            self.0.clamp(0.0, 1.0),
            self.1.clamp(0.0, 1.0),
            self.2.clamp(0.0, 1.0),
            a.clamp(0.0, 1.0),
        )
        .unwrap_or(Color::BLACK)
    }
    pub fn luma(self) -> f32 {
        0.299 * self.0 + 0.587 * self.1 + 0.114 * self.2
    }
    /// Hue (0..360), saturation and lightness (0..1).
    pub fn hsl(self) -> (f32, f32, f32) {
        let (r, g, b) = (self.0, self.1, self.2);
        let max = r.max(g).max(b);
        let min = r.min(g).min(b);
        let l = (max + min) / 2.0;
        if max - min < 1e-6 {
            return (0.0, 0.0, l);
        }
        let d = max - min;
        let s = if l > 0.5 {
            d / (2.0 - max - min)
        } else {
            d / (max + min)
        };
        let h = if max == r {
            (g - b) / d + if g < b { 6.0 } else { 0.0 }
        } else if max == g {
            (b - r) / d + 2.0
        } else {
            (r - g) / d + 4.0
        };
        (h * 60.0, s, l)
    }
    pub fn from_hsl(h: f32, s: f32, l: f32) -> Rgb {
        let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
        let hp = (h.rem_euclid(360.0)) / 60.0;
        let x = c * (1.0 - (hp % 2.0 - 1.0).abs());
        let (r, g, b) = match hp as u32 {
            0 => (c, x, 0.0),
            1 => (x, c, 0.0),
            2 => (0.0, c, x),
            3 => (0.0, x, c),
            4 => (x, 0.0, c),
            _ => (c, 0.0, x),
        };
        let m = l - c / 2.0;
        Rgb(r + m, g + m, b + m)
    }
    pub fn to_hex(self) -> String {
        let b = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        format!("#{:02x}{:02x}{:02x}", b(self.0), b(self.1), b(self.2))
    }
}

/// SplitMix64: small, fast, the same everywhere.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    pub fn f(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    pub fn range(&mut self, a: f32, b: f32) -> f32 {
        a + (b - a) * self.f()
    }
}

/// Fills a rectangle, clipped to the canvas.
pub fn rect(pm: &mut Pixmap, x: f32, y: f32, w: f32, h: f32, paint: &Paint) {
    let (x0, y0) = (x.max(0.0), y.max(0.0));
    let (x1, y1) = (
        (x + w.max(1.0)).min(pm.width() as f32),
        (y + h.max(1.0)).min(pm.height() as f32),
    );
    if x1 - x0 < 0.5 || y1 - y0 < 0.5 {
        return;
    }
    if let Some(r) = Rect::from_ltrb(x0, y0, x1, y1) {
        // axis-aligned: no anti-aliasing needed
        let mut p = paint.clone();
        p.anti_alias = false;
        pm.fill_rect(r, &p, Transform::identity(), None);
    }
}

pub fn oval(pm: &mut Pixmap, x: f32, y: f32, w: f32, h: f32, paint: &Paint) {
    if let Some(path) =
        Rect::from_xywh(x, y, w.max(0.5), h.max(0.5)).and_then(PathBuilder::from_oval)
    {
        pm.fill_path(&path, paint, FillRule::Winding, Transform::identity(), None);
    }
}

pub fn solid(c: Rgb, a: f32) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color(c.color(a));
    p.anti_alias = true;
    p
}

pub fn vgradient(top: Rgb, bottom: Rgb, y0: f32, y1: f32) -> Paint<'static> {
    let shader = LinearGradient::new(
        Point::from_xy(0.0, y0),
        Point::from_xy(0.0, y1.max(y0 + 1.0)),
        vec![
            GradientStop::new(0.0, top.color(1.0)),
            GradientStop::new(1.0, bottom.color(1.0)),
        ],
        SpreadMode::Pad,
        Transform::identity(),
    )
    .unwrap_or(tiny_skia::Shader::SolidColor(top.color(1.0)));
    Paint {
        shader,
        anti_alias: true,
        ..Default::default()
    }
}

pub fn circle(pm: &mut Pixmap, cx: f32, cy: f32, r: f32, paint: &Paint) {
    if let Some(path) = PathBuilder::from_circle(cx, cy, r.max(0.5)) {
        pm.fill_path(&path, paint, FillRule::Winding, Transform::identity(), None);
    }
}

pub fn polygon(pm: &mut Pixmap, pts: &[(f32, f32)], paint: &Paint) {
    let mut pb = PathBuilder::new();
    for (i, &(x, y)) in pts.iter().enumerate() {
        if i == 0 {
            pb.move_to(x, y);
        } else {
            pb.line_to(x, y);
        }
    }
    pb.close();
    if let Some(path) = pb.finish() {
        pm.fill_path(&path, paint, FillRule::Winding, Transform::identity(), None);
    }
}

pub fn line(pm: &mut Pixmap, pts: &[(f32, f32)], width: f32, paint: &Paint) {
    let mut pb = PathBuilder::new();
    for (i, &(x, y)) in pts.iter().enumerate() {
        if i == 0 {
            pb.move_to(x, y);
        } else {
            pb.line_to(x, y);
        }
    }
    if let Some(path) = pb.finish() {
        let stroke = Stroke {
            width: width.max(0.5),
            ..Default::default()
        };
        pm.stroke_path(&path, paint, &stroke, Transform::identity(), None);
    }
}

pub fn rounded(pm: &mut Pixmap, x: f32, y: f32, w: f32, h: f32, r: f32, paint: &Paint) {
    let r = r.min(w / 2.0).min(h / 2.0).max(0.0);
    let mut pb = PathBuilder::new();
    pb.move_to(x + r, y);
    pb.line_to(x + w - r, y);
    pb.quad_to(x + w, y, x + w, y + r);
    pb.line_to(x + w, y + h - r);
    pb.quad_to(x + w, y + h, x + w - r, y + h);
    pb.line_to(x + r, y + h);
    pb.quad_to(x, y + h, x, y + h - r);
    pb.line_to(x, y + r);
    pb.quad_to(x, y, x + r, y);
    pb.close();
    if let Some(path) = pb.finish() {
        pm.fill_path(&path, paint, FillRule::Winding, Transform::identity(), None);
    }
}

/// A soft radial glow, transparent at radius `r`.
pub fn glow(pm: &mut Pixmap, cx: f32, cy: f32, r: f32, c: Rgb, a: f32) {
    if let Some(shader) = RadialGradient::new(
        Point::from_xy(cx, cy),
        0.0,
        Point::from_xy(cx, cy),
        r,
        vec![
            GradientStop::new(0.0, c.color(a)),
            GradientStop::new(1.0, c.color(0.0)),
        ],
        SpreadMode::Pad,
        Transform::identity(),
    ) {
        let p = Paint {
            shader,
            anti_alias: true,
            ..Default::default()
        };
        let mut p = p;
        p.anti_alias = false;
        rect(pm, cx - r, cy - r, 2.0 * r, 2.0 * r, &p);
    }
}
