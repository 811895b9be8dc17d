//! The sketch painter: a procedural storyboard sketch of a prompt.
//!
//! It reads the prompt with the writer's own analyzer (setting, time of
//! day, weather, colors, subjects) and draws: a sky gradient with sun, moon
//! or stars; the horizon; setting layers (sea, beach, lake, mountains,
//! forest, desert, city skyline, village, snowfield, meadow, space,
//! underwater, interior); rain, snow, fog or storm; and the subject as a
//! silhouette on a rule-of-thirds point. Deterministic by seed.

use crate::{BoxFuture, Limits, PaintError, PaintRequest, Painted, Painter, Sizes, SourceType};
use mural_knowledge::{knowledge, Category};
use mural_prompt::Analysis;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use tiny_skia::{
    Color, FillRule, GradientStop, LinearGradient, Paint, PathBuilder, Pixmap, Point,
    RadialGradient, Rect, SpreadMode, Stroke, Transform,
};

/// The model name the sketch records.
pub const SKETCH_MODEL: &str = "mural-sketch-1";

#[derive(Deserialize)]
struct SketchData {
    sky: BTreeMap<String, [String; 2]>,
    ground: BTreeMap<String, [String; 2]>,
    night_dim: f32,
    colors: BTreeMap<String, String>,
    moods: BTreeMap<String, [f32; 2]>,
}

fn data() -> &'static SketchData {
    static D: OnceLock<SketchData> = OnceLock::new();
    D.get_or_init(|| {
        toml::from_str(include_str!("../data/sketch.toml"))
            .expect("data/sketch.toml is valid (tested)")
    })
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Rgb(f32, f32, f32);

impl Rgb {
    fn hex(s: &str) -> Rgb {
        let v = u32::from_str_radix(s.trim_start_matches('#'), 16).unwrap_or(0x808080);
        Rgb(
            ((v >> 16) & 255) as f32 / 255.0,
            ((v >> 8) & 255) as f32 / 255.0,
            (v & 255) as f32 / 255.0,
        )
    }
    fn mix(self, o: Rgb, t: f32) -> Rgb {
        Rgb(
            self.0 + (o.0 - self.0) * t,
            self.1 + (o.1 - self.1) * t,
            self.2 + (o.2 - self.2) * t,
        )
    }
    fn scale(self, k: f32) -> Rgb {
        Rgb(self.0 * k, self.1 * k, self.2 * k)
    }
    fn color(self, a: f32) -> Color {
        Color::from_rgba(
            self.0.clamp(0.0, 1.0),
            self.1.clamp(0.0, 1.0),
            self.2.clamp(0.0, 1.0),
            a.clamp(0.0, 1.0),
        )
        .unwrap_or(Color::BLACK)
    }
}

/// SplitMix64: small, fast, the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    fn f(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn range(&mut self, a: f32, b: f32) -> f32 {
        a + (b - a) * self.f()
    }
}

/// The built-in painter. See the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct SketchPainter;

impl Painter for SketchPainter {
    fn name(&self) -> &str {
        "sketch"
    }
    fn model(&self) -> &str {
        SKETCH_MODEL
    }
    fn limits(&self) -> Limits {
        Limits {
            max_n: 100,
            sizes: Sizes::Range {
                min: 64,
                max: 4096,
                step: 1,
            },
            max_prompt_chars: None,
        }
    }
    fn source_type(&self) -> SourceType {
        SourceType::AlgorithmicMedia
    }
    fn paint<'a>(
        &'a self,
        req: &'a PaintRequest,
    ) -> BoxFuture<'a, Result<Vec<Painted>, PaintError>> {
        Box::pin(async move {
            self.limits().check_size(req.width, req.height)?;
            (0..req.n)
                .map(|i| {
                    let seed = req.seed.wrapping_add(i as u64);
                    let png = render_png(&req.prompt, req.width, req.height, seed)?;
                    let mut params = serde_json::Map::new();
                    params.insert("sampler".into(), "sketch".into());
                    params.insert("steps".into(), 1.into());
                    params.insert("cfg_scale".into(), 0.into());
                    params.insert(
                        "note".into(),
                        "procedural storyboard sketch, not a neural image".into(),
                    );
                    Ok(Painted {
                        png,
                        width: req.width,
                        height: req.height,
                        seed,
                        revised_prompt: None,
                        params,
                    })
                })
                .collect()
        })
    }
}

/// Draws and encodes one sketch.
pub fn render_png(prompt: &str, width: u32, height: u32, seed: u64) -> Result<Vec<u8>, PaintError> {
    let pixmap = render(prompt, width, height, seed)?;
    encode_png(&pixmap)
}

/// Encodes an opaque pixmap as an 8-bit RGB PNG (fast compression).
pub fn encode_png(pixmap: &Pixmap) -> Result<Vec<u8>, PaintError> {
    let rgba = pixmap.data();
    let mut rgb = Vec::with_capacity(rgba.len() / 4 * 3);
    for px in rgba.chunks_exact(4) {
        rgb.extend_from_slice(&px[..3]); // opaque: premultiplied == straight
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, pixmap.width(), pixmap.height());
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let mut w = enc.write_header().map_err(|e| PaintError::Failed {
            message: format!("PNG encoding failed: {e}"),
        })?;
        w.write_image_data(&rgb).map_err(|e| PaintError::Failed {
            message: format!("PNG encoding failed: {e}"),
        })?;
    }
    Ok(out)
}

/// Fills a rectangle, clipped to the canvas (tiny-skia's anti-aliased rect
/// filler expects on-canvas coordinates).
fn fill_rect(pm: &mut Pixmap, x: f32, y: f32, w: f32, h: f32, paint: &Paint) {
    let (x0, y0) = (x.max(0.0), y.max(0.0));
    let (x1, y1) = (
        (x + w.max(1.0)).min(pm.width() as f32),
        (y + h.max(1.0)).min(pm.height() as f32),
    );
    if x1 - x0 < 0.5 || y1 - y0 < 0.5 {
        return;
    }
    if let Some(r) = Rect::from_ltrb(x0, y0, x1, y1) {
        // axis-aligned: no anti-aliasing needed (and tiny-skia's AA rect path
        // asserts on sub-pixel rects at the canvas edge)
        let mut p = paint.clone();
        p.anti_alias = false;
        pm.fill_rect(r, &p, Transform::identity(), None);
    }
}

fn oval(pm: &mut Pixmap, x: f32, y: f32, w: f32, h: f32, paint: &Paint) {
    if let Some(path) =
        Rect::from_xywh(x, y, w.max(0.5), h.max(0.5)).and_then(PathBuilder::from_oval)
    {
        pm.fill_path(&path, paint, FillRule::Winding, Transform::identity(), None);
    }
}

fn solid(c: Rgb, a: f32) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color(c.color(a));
    p.anti_alias = true;
    p
}

fn vgradient(top: Rgb, bottom: Rgb, y0: f32, y1: f32) -> Paint<'static> {
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
    .unwrap_or_else(|| tiny_skia::Shader::SolidColor(top.color(1.0)));
    Paint {
        shader,
        anti_alias: true,
        ..Default::default()
    }
}

fn circle(pm: &mut Pixmap, cx: f32, cy: f32, r: f32, paint: &Paint) {
    if let Some(path) = PathBuilder::from_circle(cx, cy, r.max(0.5)) {
        pm.fill_path(&path, paint, FillRule::Winding, Transform::identity(), None);
    }
}

fn polygon(pm: &mut Pixmap, pts: &[(f32, f32)], paint: &Paint) {
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

fn glow(pm: &mut Pixmap, cx: f32, cy: f32, r: f32, c: Rgb, a: f32) {
    if let Some(shader) = RadialGradient::new(
        Point::from_xy(cx, cy),
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
        fill_rect(pm, cx - r, cy - r, 2.0 * r, 2.0 * r, &p);
    }
}

/// Everything the sketch needs from the prompt.
struct Plan {
    time: String,
    night: bool,
    weather: Option<String>,
    layers: Vec<String>,
    horizon: f32,
    tint: Option<Rgb>,
    category: Option<Category>,
    count: usize,
    /// Brightness and warmth from the mood: (light, warm).
    mood: (f32, f32),
}

fn plan(prompt: &str, rng: &mut Rng) -> Plan {
    let a: Analysis = mural_prompt::analyze(prompt);
    let k = knowledge();
    let time = a.time.clone().unwrap_or_else(|| "day".into());
    let night = a.is_night();
    let layers = a
        .scene
        .as_ref()
        .and_then(|s| k.scenes.iter().find(|x| &x.id == s))
        .map(|s| s.layers.clone())
        .unwrap_or_default();
    let lower = prompt.to_lowercase();
    let horizon =
        if lower.contains("bird's-eye") || lower.contains("aerial") || lower.contains("top-down") {
            rng.range(0.18, 0.26)
        } else if lower.contains("low vantage") || lower.contains("low angle") {
            rng.range(0.72, 0.8)
        } else {
            rng.range(0.56, 0.68)
        };
    let colors = &data().colors;
    let tint = a
        .colors
        .iter()
        .find_map(|c| colors.get(c))
        .map(|h| Rgb::hex(h));
    let count = a
        .subjects
        .first()
        .map(|s| s.count.unwrap_or(if s.plural { 3 } else { 1 }) as usize)
        .unwrap_or(1)
        .clamp(1, 5);
    let moods = &data().moods;
    let mood = a
        .mood
        .as_ref()
        .and_then(|m| moods.get(m))
        .map(|v| (v[0], v[1]))
        .unwrap_or((1.0, 0.0));
    Plan {
        mood,
        time,
        night,
        weather: a.weather.clone(),
        layers,
        horizon,
        tint,
        category: a.category,
        count,
    }
}

fn pair(map: &BTreeMap<String, [String; 2]>, key: &str, fallback: &str) -> (Rgb, Rgb) {
    let v = map
        .get(key)
        .or_else(|| map.get(fallback))
        .expect("sketch.toml has the fallback keys");
    (Rgb::hex(&v[0]), Rgb::hex(&v[1]))
}

/// Draws the sketch.
pub fn render(prompt: &str, width: u32, height: u32, seed: u64) -> Result<Pixmap, PaintError> {
    if !(64..=4096).contains(&width) || !(64..=4096).contains(&height) {
        return Err(PaintError::InvalidRequest {
            message: format!(
                "size {width}x{height} is not supported; each side must be 64 to 4096"
            ),
        });
    }
    let mut pm = Pixmap::new(width, height).ok_or_else(|| PaintError::Failed {
        message: "could not allocate the image".into(),
    })?;
    let mut rng = Rng(seed ^ 0x6d75_7261_6c00_0000);
    let p = plan(prompt, &mut rng);
    let (w, h) = (width as f32, height as f32);
    let s = w.min(h);
    let d = data();
    let space = p.layers.iter().any(|l| l == "space");
    let under = p.layers.iter().any(|l| l == "underwater");
    let interior = p.layers.iter().any(|l| l == "interior");

    // Sky.
    let sky_key = if space {
        "space"
    } else if under {
        "underwater"
    } else if interior {
        "interior"
    } else {
        match p.weather.as_deref() {
            Some(wx @ ("rain" | "storm" | "fog" | "snow")) if !p.night => wx,
            Some("cloudy") if !p.night => "cloudy",
            _ => match p.time.as_str() {
                "noon" | "afternoon" | "day" => "day",
                t => t,
            },
        }
    };
    let (mut top, mut bottom) = pair(&d.sky, sky_key, "day");
    if let Some(t) = p.tint {
        bottom = bottom.mix(t, 0.2);
        top = top.mix(t, 0.08);
    }
    // the mood lightens or darkens, warms or cools the sky
    let (light, warm) = p.mood;
    let warmth = if warm >= 0.0 {
        Rgb(1.0, 0.7, 0.4)
    } else {
        Rgb(0.35, 0.5, 0.9)
    };
    top = top.scale(light).mix(warmth, warm.abs() * 0.5);
    bottom = bottom.scale(light).mix(warmth, warm.abs());
    let hy = h * p.horizon;
    fill_rect(&mut pm, 0.0, 0.0, w, h, &vgradient(top, bottom, 0.0, hy));

    // Sun, moon, stars.
    let sun_x = w * rng.range(0.3, 0.7);
    if space || p.night {
        let stars = ((w * h) / 2500.0) as usize;
        for _ in 0..stars.min(4000) {
            let (x, y) = (
                rng.range(0.0, w),
                rng.range(0.0, if space { h } else { hy }),
            );
            circle(
                &mut pm,
                x,
                y,
                rng.range(0.3, 1.3) * s / 800.0 + 0.3,
                &solid(Rgb(1.0, 1.0, 0.95), rng.range(0.4, 1.0)),
            );
        }
        if !space && !matches!(p.weather.as_deref(), Some("storm" | "rain" | "fog")) {
            let (mx, my, mr) = (w * rng.range(0.6, 0.85), hy * rng.range(0.2, 0.4), s * 0.05);
            glow(&mut pm, mx, my, mr * 4.0, Rgb(0.8, 0.85, 1.0), 0.25);
            circle(&mut pm, mx, my, mr, &solid(Rgb(0.95, 0.95, 0.88), 1.0));
        }
        if space {
            let (px, py, pr) = (
                w * rng.range(0.55, 0.8),
                h * rng.range(0.5, 0.75),
                s * rng.range(0.12, 0.22),
            );
            circle(
                &mut pm,
                px,
                py,
                pr,
                &vgradient(Rgb(0.55, 0.45, 0.8), Rgb(0.1, 0.05, 0.2), py - pr, py + pr),
            );
        }
    } else if !under
        && !interior
        && !matches!(
            p.weather.as_deref(),
            Some("storm" | "rain" | "fog" | "cloudy")
        )
    {
        let (sy, sr, col) = match p.time.as_str() {
            "sunset" | "sunrise" => (hy, s * 0.07, Rgb(1.0, 0.62, 0.3)),
            "dawn" | "dusk" | "golden_hour" | "evening" => {
                (hy - s * 0.08, s * 0.06, Rgb(1.0, 0.75, 0.4))
            }
            _ => (hy * 0.3, s * 0.05, Rgb(1.0, 0.97, 0.85)),
        };
        glow(&mut pm, sun_x, sy, sr * 5.0, col, 0.45);
        circle(
            &mut pm,
            sun_x,
            sy,
            sr,
            &solid(col.mix(Rgb(1.0, 1.0, 0.9), 0.4), 1.0),
        );
    }

    // Setting layers, far to near.
    let dim = if p.night { d.night_dim } else { 1.0 };
    let ground_key =
        if p.weather.as_deref() == Some("snow") || p.layers.iter().any(|l| l == "snowfield") {
            "snowfield"
        } else {
            p.layers.last().map(String::as_str).unwrap_or("default")
        };
    let (g0, g1) = pair(&d.ground, ground_key, "default");
    if !space && !under {
        let base = if interior { h * 0.72 } else { hy };
        fill_rect(
            &mut pm,
            0.0,
            base,
            w,
            h - base,
            &vgradient(g0.scale(dim), g1.scale(dim), base, h),
        );
    }
    for layer in &p.layers {
        draw_layer(&mut pm, layer, &p, &mut rng, (w, h, hy, sun_x, dim));
    }

    // Subject silhouettes on rule-of-thirds points.
    draw_subjects(&mut pm, &p, &mut rng, (w, h, hy));

    // Weather.
    match p.weather.as_deref() {
        Some("rain") | Some("storm") => {
            let mut paint = solid(Rgb(0.8, 0.85, 0.95), 0.35);
            paint.anti_alias = true;
            let stroke = Stroke {
                width: (s / 700.0).max(1.0),
                ..Default::default()
            };
            for _ in 0..((w * h) / 3000.0).min(3000.0) as usize {
                let (x, y) = (rng.range(-0.1 * w, w), rng.range(0.0, h));
                let len = s * rng.range(0.02, 0.05);
                let mut pb = PathBuilder::new();
                pb.move_to(x, y);
                pb.line_to(x + len * 0.3, y + len);
                if let Some(path) = pb.finish() {
                    pm.stroke_path(&path, &paint, &stroke, Transform::identity(), None);
                }
            }
            if p.weather.as_deref() == Some("storm") {
                let mut x = w * rng.range(0.2, 0.8);
                let mut y = 0.0;
                let mut pb = PathBuilder::new();
                pb.move_to(x, y);
                while y < hy {
                    x += s * rng.range(-0.04, 0.04);
                    y += s * rng.range(0.03, 0.07);
                    pb.line_to(x, y);
                }
                if let Some(path) = pb.finish() {
                    let stroke = Stroke {
                        width: (s / 250.0).max(1.0),
                        ..Default::default()
                    };
                    pm.stroke_path(
                        &path,
                        &solid(Rgb(1.0, 1.0, 0.9), 0.9),
                        &stroke,
                        Transform::identity(),
                        None,
                    );
                }
            }
        }
        Some("snow") => {
            for _ in 0..((w * h) / 1500.0).min(5000.0) as usize {
                let (x, y) = (rng.range(0.0, w), rng.range(0.0, h));
                circle(
                    &mut pm,
                    x,
                    y,
                    s * rng.range(0.002, 0.006),
                    &solid(Rgb(1.0, 1.0, 1.0), rng.range(0.6, 0.95)),
                );
            }
        }
        Some("fog") => {
            for i in 0..4 {
                let y = hy - h * 0.15 + i as f32 * h * 0.08;
                let paint = vgradient(Rgb(0.9, 0.92, 0.94), Rgb(0.9, 0.92, 0.94), y, y + h * 0.2);
                let mut paint = paint;
                paint.shader = LinearGradient::new(
                    Point::from_xy(0.0, y),
                    Point::from_xy(0.0, y + h * 0.2),
                    vec![
                        GradientStop::new(0.0, Rgb(0.9, 0.92, 0.94).color(0.0)),
                        GradientStop::new(0.5, Rgb(0.9, 0.92, 0.94).color(0.45)),
                        GradientStop::new(1.0, Rgb(0.9, 0.92, 0.94).color(0.0)),
                    ],
                    SpreadMode::Pad,
                    Transform::identity(),
                )
                .unwrap_or(paint.shader);
                fill_rect(&mut pm, 0.0, y, w, h * 0.2, &paint);
            }
        }
        _ => {}
    }
    Ok(pm)
}

fn draw_layer(
    pm: &mut Pixmap,
    layer: &str,
    p: &Plan,
    rng: &mut Rng,
    (w, h, hy, sun_x, dim): (f32, f32, f32, f32, f32),
) {
    let d = data();
    let s = w.min(h);
    let (g0, g1) = pair(&d.ground, layer, "default");
    let (g0, g1) = (g0.scale(dim), g1.scale(dim));
    match layer {
        "sea" | "lake" => {
            let bottom = if p.layers.iter().any(|l| l == "beach") {
                hy + (h - hy) * 0.55
            } else {
                h
            };
            let (sky_top, sky_bottom) = pair(
                &d.sky,
                if p.night { "night" } else { p.time.as_str() },
                "day",
            );
            let water_top = sky_bottom
                .mix(g0, 0.55)
                .scale(if p.night { 0.6 } else { 1.0 });
            let _ = sky_top;
            fill_rect(
                pm,
                0.0,
                hy,
                w,
                bottom - hy,
                &vgradient(water_top, g1, hy, bottom),
            );
            // the sun's (or moon's) path on the water
            let path_col = if p.night {
                Rgb(0.85, 0.88, 1.0)
            } else {
                Rgb(1.0, 0.78, 0.45)
            };
            if !matches!(
                p.weather.as_deref(),
                Some("storm" | "rain" | "fog" | "cloudy")
            ) {
                for i in 0..24 {
                    let y = hy + (bottom - hy) * (i as f32 / 24.0);
                    let half = s * (0.01 + 0.05 * i as f32 / 24.0) * rng.range(0.5, 1.2);
                    fill_rect(
                        pm,
                        sun_x - half,
                        y,
                        half * 2.0,
                        (bottom - hy) / 60.0,
                        &solid(path_col, 0.35),
                    );
                }
            }
            // gentle waves
            for _ in 0..(40.0 * w / 1024.0) as usize {
                let y = rng.range(hy, bottom);
                let len = s * rng.range(0.02, 0.08);
                fill_rect(
                    pm,
                    rng.range(0.0, w),
                    y,
                    len,
                    (s / 900.0).max(0.7),
                    &solid(Rgb(1.0, 1.0, 1.0), 0.18),
                );
            }
        }
        "beach" => {
            let top = hy + (h - hy) * 0.5;
            let mut pts = vec![(0.0, h), (0.0, top + s * 0.03)];
            for i in 0..=10 {
                let x = w * i as f32 / 10.0;
                pts.push((x, top + (x / w * 3.0).sin() * s * 0.02));
            }
            pts.push((w, h));
            polygon(pm, &pts, &vgradient(g0, g1, top, h));
            // palm trees in silhouette
            let dark = Rgb(0.08, 0.06, 0.08);
            for i in 0..2 {
                let x = if i == 0 {
                    w * rng.range(0.05, 0.18)
                } else {
                    w * rng.range(0.82, 0.95)
                };
                let base = top + s * 0.05;
                let tall = s * rng.range(0.3, 0.45);
                let lean = s * rng.range(-0.06, 0.06);
                let mut pb = PathBuilder::new();
                pb.move_to(x, base);
                pb.quad_to(x + lean * 0.3, base - tall * 0.5, x + lean, base - tall);
                if let Some(path) = pb.finish() {
                    let stroke = Stroke {
                        width: s * 0.012,
                        ..Default::default()
                    };
                    pm.stroke_path(
                        &path,
                        &solid(dark, 1.0),
                        &stroke,
                        Transform::identity(),
                        None,
                    );
                }
                let (cx, cy) = (x + lean, base - tall);
                for k in 0..7 {
                    let ang = -2.8 + k as f32 * 0.43;
                    let (dx, dy) = (ang.cos() * s * 0.12, ang.sin() * s * 0.06 + s * 0.03);
                    polygon(
                        pm,
                        &[
                            (cx, cy),
                            (cx + dx, cy + dy),
                            (cx + dx * 0.6, cy + dy * 0.4 - s * 0.01),
                        ],
                        &solid(dark, 1.0),
                    );
                }
            }
        }
        "mountains" => {
            for band in 0..3 {
                let fade = 0.55 - band as f32 * 0.18;
                let col = g0.mix(Rgb(0.75, 0.8, 0.88).scale(dim), fade);
                let peak_h = s * (0.32 - band as f32 * 0.07);
                let mut pts = vec![(0.0, hy)];
                let n = 5 + band * 2;
                for i in 0..=n {
                    let x = w * i as f32 / n as f32;
                    let y = hy - peak_h * rng.range(0.35, 1.0);
                    pts.push((x, y));
                    if i < n {
                        pts.push((x + w / n as f32 / 2.0, hy - peak_h * rng.range(0.1, 0.45)));
                    }
                }
                pts.push((w, hy));
                polygon(pm, &pts, &solid(col, 1.0));
            }
        }
        "forest" => {
            for row in 0..3 {
                let y0 = hy + (h - hy) * row as f32 * 0.12;
                let col = g0.scale(1.0 - row as f32 * 0.2);
                let n = (14.0 * w / 1024.0) as usize + 6;
                for _ in 0..n {
                    let x = rng.range(0.0, w);
                    let tall = s * rng.range(0.12, 0.26) * (1.0 + row as f32 * 0.3);
                    let half = tall * 0.28;
                    polygon(
                        pm,
                        &[
                            (x, y0 - tall),
                            (x - half, y0 + s * 0.01),
                            (x + half, y0 + s * 0.01),
                        ],
                        &solid(col, 1.0),
                    );
                }
            }
        }
        "desert" => {
            for band in 0..3 {
                let y = hy + (h - hy) * band as f32 * 0.3;
                let col = g0.mix(g1, band as f32 * 0.35);
                let mut pts = vec![(0.0, h)];
                for i in 0..=16 {
                    let x = w * i as f32 / 16.0;
                    pts.push((x, y + ((x / w) * 6.0 + band as f32 * 1.7).sin() * s * 0.03));
                }
                pts.push((w, h));
                polygon(pm, &pts, &solid(col, 1.0));
            }
        }
        "meadow" | "snowfield" => {
            let mut pts = vec![(0.0, h)];
            for i in 0..=12 {
                let x = w * i as f32 / 12.0;
                pts.push((x, hy + ((x / w) * 4.0).sin() * s * 0.02 + s * 0.01));
            }
            pts.push((w, h));
            polygon(pm, &pts, &vgradient(g0, g1, hy, h));
            if layer == "meadow" {
                for _ in 0..(120.0 * w / 1024.0) as usize {
                    let (x, y) = (rng.range(0.0, w), rng.range(hy + s * 0.03, h));
                    fill_rect(
                        pm,
                        x,
                        y - s * 0.02,
                        (s / 600.0).max(0.7),
                        s * 0.02,
                        &solid(g1.scale(0.8), 0.7),
                    );
                }
            }
        }
        "city" | "village" => {
            let lit = p.night || matches!(p.time.as_str(), "dusk" | "evening");
            let mut x = 0.0;
            while x < w {
                let bw = s * rng.range(0.05, if layer == "city" { 0.12 } else { 0.1 });
                let bh = if layer == "city" {
                    s * rng.range(0.12, 0.45)
                } else {
                    s * rng.range(0.06, 0.12)
                };
                let col = g0.scale(rng.range(0.7, 1.0));
                fill_rect(
                    pm,
                    x,
                    hy - bh,
                    bw - s * 0.004,
                    bh + s * 0.01,
                    &solid(col, 1.0),
                );
                if layer == "village" {
                    polygon(
                        pm,
                        &[
                            (x - s * 0.006, hy - bh),
                            (x + bw / 2.0, hy - bh - s * 0.05),
                            (x + bw + s * 0.002, hy - bh),
                        ],
                        &solid(col.scale(0.7), 1.0),
                    );
                }
                let win = Rgb(1.0, 0.82, 0.45);
                let step = s * 0.025;
                let mut wy = hy - bh + step * 0.6;
                while wy < hy - step * 0.5 {
                    let mut wx = x + step * 0.4;
                    while wx < x + bw - step * 0.6 {
                        if lit && rng.f() < 0.55 {
                            fill_rect(pm, wx, wy, step * 0.4, step * 0.5, &solid(win, 0.9));
                        } else if !lit {
                            fill_rect(
                                pm,
                                wx,
                                wy,
                                step * 0.4,
                                step * 0.5,
                                &solid(col.scale(0.6), 0.8),
                            );
                        }
                        wx += step;
                    }
                    wy += step;
                }
                x += bw;
            }
        }
        "underwater" => {
            for i in 0..6 {
                let x = w * (0.1 + i as f32 * 0.16) + rng.range(-0.03, 0.03) * w;
                polygon(
                    pm,
                    &[
                        (x, 0.0),
                        (x + w * 0.05, 0.0),
                        (x + w * 0.14, h),
                        (x + w * 0.02, h),
                    ],
                    &solid(Rgb(0.7, 0.9, 1.0), 0.07),
                );
            }
            for _ in 0..(60.0 * w / 1024.0) as usize {
                let (x, y) = (rng.range(0.0, w), rng.range(0.0, h));
                circle(
                    pm,
                    x,
                    y,
                    s * rng.range(0.003, 0.012),
                    &solid(Rgb(0.85, 0.95, 1.0), 0.35),
                );
            }
            fill_rect(
                pm,
                0.0,
                h * 0.85,
                w,
                h * 0.15,
                &vgradient(Rgb(0.6, 0.55, 0.4), Rgb(0.35, 0.3, 0.22), h * 0.85, h),
            );
        }
        "interior" => {
            // a window on the back wall
            let (ww, wh) = (w * 0.26, h * 0.34);
            let (wx, wy) = (w * rng.range(0.15, 0.55), h * 0.18);
            let (out_top, out_bottom) = pair(&d.sky, if p.night { "night" } else { "day" }, "day");
            fill_rect(
                pm,
                wx,
                wy,
                ww,
                wh,
                &vgradient(out_top, out_bottom, wy, wy + wh),
            );
            let frame = solid(Rgb(0.25, 0.2, 0.16), 1.0);
            fill_rect(pm, wx + ww / 2.0 - s * 0.005, wy, s * 0.01, wh, &frame);
            fill_rect(pm, wx, wy + wh / 2.0 - s * 0.005, ww, s * 0.01, &frame);
            if !p.night {
                polygon(
                    pm,
                    &[
                        (wx, wy + wh),
                        (wx + ww, wy + wh),
                        (wx + ww * 1.4, h),
                        (wx - ww * 0.1, h),
                    ],
                    &solid(Rgb(1.0, 0.95, 0.8), 0.12),
                );
            }
        }
        _ => {}
    }
}

fn draw_subjects(pm: &mut Pixmap, p: &Plan, rng: &mut Rng, (w, h, hy): (f32, f32, f32)) {
    let Some(cat) = p.category else { return };
    if cat == Category::Landscape {
        return; // the setting is the subject
    }
    let s = w.min(h);
    let dark = if p.night {
        Rgb(0.02, 0.02, 0.04)
    } else {
        Rgb(0.09, 0.08, 0.1)
    };
    let fill = match p.tint {
        Some(t) if !p.night => t.scale(0.6),
        _ => dark,
    };
    // rule of thirds: left or right third, standing on the ground
    let third = if rng.f() < 0.5 {
        w / 3.0
    } else {
        w * 2.0 / 3.0
    };
    let ground = (hy + (h - hy) * 0.45).min(h * 0.92);
    let size = s * match cat {
        Category::Building => 0.34,
        Category::Person => 0.3,
        Category::Plant => 0.32,
        _ => 0.22,
    } / (p.count as f32).sqrt();
    for i in 0..p.count {
        let offset = (i as f32 - (p.count as f32 - 1.0) / 2.0) * size * 0.9;
        let x = third + offset;
        let base = ground + (i % 2) as f32 * size * 0.08;
        let paint = solid(fill, 1.0);
        match cat {
            Category::Person => {
                circle(pm, x, base - size * 0.88, size * 0.1, &paint);
                polygon(
                    pm,
                    &[
                        (x - size * 0.14, base - size * 0.75),
                        (x + size * 0.14, base - size * 0.75),
                        (x + size * 0.18, base - size * 0.3),
                        (x - size * 0.18, base - size * 0.3),
                    ],
                    &paint,
                );
                fill_rect(
                    pm,
                    x - size * 0.12,
                    base - size * 0.32,
                    size * 0.09,
                    size * 0.32,
                    &paint,
                );
                fill_rect(
                    pm,
                    x + size * 0.03,
                    base - size * 0.32,
                    size * 0.09,
                    size * 0.32,
                    &paint,
                );
            }
            Category::Animal => {
                oval(
                    pm,
                    x - size * 0.35,
                    base - size * 0.45,
                    size * 0.7,
                    size * 0.32,
                    &paint,
                );
                circle(pm, x + size * 0.38, base - size * 0.5, size * 0.13, &paint);
                polygon(
                    pm,
                    &[
                        (x + size * 0.3, base - size * 0.58),
                        (x + size * 0.34, base - size * 0.72),
                        (x + size * 0.4, base - size * 0.6),
                    ],
                    &paint,
                );
                for lx in [-0.25, -0.1, 0.1, 0.25] {
                    fill_rect(
                        pm,
                        x + size * lx,
                        base - size * 0.2,
                        size * 0.06,
                        size * 0.2,
                        &paint,
                    );
                }
            }
            Category::Plant => {
                fill_rect(
                    pm,
                    x - size * 0.04,
                    base - size * 0.5,
                    size * 0.08,
                    size * 0.5,
                    &solid(
                        Rgb(0.25, 0.17, 0.1).scale(if p.night { 0.3 } else { 1.0 }),
                        1.0,
                    ),
                );
                let leaf = if p.night {
                    dark
                } else {
                    p.tint.unwrap_or(Rgb(0.22, 0.45, 0.2))
                };
                circle(pm, x, base - size * 0.7, size * 0.3, &solid(leaf, 1.0));
                circle(
                    pm,
                    x - size * 0.2,
                    base - size * 0.55,
                    size * 0.2,
                    &solid(leaf, 1.0),
                );
                circle(
                    pm,
                    x + size * 0.2,
                    base - size * 0.55,
                    size * 0.2,
                    &solid(leaf, 1.0),
                );
            }
            Category::Vehicle => {
                fill_rect(
                    pm,
                    x - size * 0.5,
                    base - size * 0.3,
                    size,
                    size * 0.2,
                    &paint,
                );
                polygon(
                    pm,
                    &[
                        (x - size * 0.3, base - size * 0.3),
                        (x - size * 0.15, base - size * 0.45),
                        (x + size * 0.2, base - size * 0.45),
                        (x + size * 0.32, base - size * 0.3),
                    ],
                    &paint,
                );
                circle(
                    pm,
                    x - size * 0.3,
                    base - size * 0.1,
                    size * 0.1,
                    &solid(dark, 1.0),
                );
                circle(
                    pm,
                    x + size * 0.3,
                    base - size * 0.1,
                    size * 0.1,
                    &solid(dark, 1.0),
                );
            }
            Category::Building => {
                fill_rect(
                    pm,
                    x - size * 0.25,
                    base - size * 0.6,
                    size * 0.5,
                    size * 0.6,
                    &paint,
                );
                polygon(
                    pm,
                    &[
                        (x - size * 0.3, base - size * 0.6),
                        (x, base - size * 0.85),
                        (x + size * 0.3, base - size * 0.6),
                    ],
                    &paint,
                );
                let win = if p.night {
                    solid(Rgb(1.0, 0.82, 0.45), 0.95)
                } else {
                    solid(Rgb(0.85, 0.85, 0.8), 0.6)
                };
                fill_rect(
                    pm,
                    x - size * 0.15,
                    base - size * 0.45,
                    size * 0.1,
                    size * 0.12,
                    &win,
                );
                fill_rect(
                    pm,
                    x + size * 0.05,
                    base - size * 0.45,
                    size * 0.1,
                    size * 0.12,
                    &win,
                );
            }
            Category::Food => {
                oval(
                    pm,
                    x - size * 0.4,
                    base - size * 0.2,
                    size * 0.8,
                    size * 0.12,
                    &solid(Rgb(0.92, 0.9, 0.86), 1.0),
                );
                let mut pb = PathBuilder::new();
                pb.move_to(x - size * 0.35, base - size * 0.15);
                pb.quad_to(x, base + size * 0.15, x + size * 0.35, base - size * 0.15);
                pb.close();
                if let Some(path) = pb.finish() {
                    pm.fill_path(
                        &path,
                        &solid(p.tint.unwrap_or(Rgb(0.85, 0.55, 0.3)), 1.0),
                        FillRule::Winding,
                        Transform::identity(),
                        None,
                    );
                }
            }
            Category::Text => {
                fill_rect(
                    pm,
                    x - size * 0.5,
                    base - size * 0.7,
                    size,
                    size * 0.45,
                    &solid(Rgb(0.95, 0.93, 0.88), 1.0),
                );
                for l in 0..3 {
                    fill_rect(
                        pm,
                        x - size * 0.4,
                        base - size * (0.62 - l as f32 * 0.12),
                        size * 0.8,
                        size * 0.05,
                        &solid(Rgb(0.15, 0.15, 0.15), 1.0),
                    );
                }
                fill_rect(
                    pm,
                    x - size * 0.03,
                    base - size * 0.25,
                    size * 0.06,
                    size * 0.25,
                    &paint,
                );
            }
            Category::Artwork => {
                fill_rect(
                    pm,
                    x - size * 0.4,
                    base - size * 0.8,
                    size * 0.8,
                    size * 0.6,
                    &solid(Rgb(0.55, 0.4, 0.2), 1.0),
                );
                fill_rect(
                    pm,
                    x - size * 0.34,
                    base - size * 0.74,
                    size * 0.68,
                    size * 0.48,
                    &vgradient(
                        Rgb(0.4, 0.6, 0.8),
                        Rgb(0.8, 0.7, 0.4),
                        base - size * 0.74,
                        base - size * 0.26,
                    ),
                );
            }
            Category::Abstract => {
                for r in 0..4 {
                    let c = fill.mix(Rgb(1.0, 1.0, 1.0), r as f32 * 0.15);
                    circle(
                        pm,
                        x,
                        base - size * 0.5,
                        size * (0.45 - r as f32 * 0.1),
                        &solid(c, 0.8),
                    );
                }
            }
            Category::Object | Category::Landscape => {
                fill_rect(
                    pm,
                    x - size * 0.25,
                    base - size * 0.5,
                    size * 0.5,
                    size * 0.5,
                    &paint,
                );
                circle(pm, x, base - size * 0.5, size * 0.18, &paint);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean(pm: &Pixmap, y0: f32, y1: f32) -> (f32, f32, f32) {
        let (w, h) = (pm.width() as usize, pm.height() as usize);
        let (a, b) = ((y0 * h as f32) as usize, (y1 * h as f32) as usize);
        let mut sum = (0.0, 0.0, 0.0);
        let mut n = 0.0;
        for y in a..b {
            for x in 0..w {
                let px = pm.pixel(x as u32, y as u32).unwrap();
                sum.0 += px.red() as f32;
                sum.1 += px.green() as f32;
                sum.2 += px.blue() as f32;
                n += 1.0;
            }
        }
        (sum.0 / n, sum.1 / n, sum.2 / n)
    }

    #[test]
    fn data_parses() {
        let d = data();
        assert!(d.sky.contains_key("day") && d.ground.contains_key("default"));
        for m in &knowledge().moods {
            assert!(
                d.moods.contains_key(&m.id),
                "sketch.toml lacks mood {}",
                m.id
            );
        }
    }

    #[test]
    fn mood_sets_the_light() {
        let bright = render("a meadow, joyful", 128, 128, 2).unwrap();
        let dark = render("a meadow, mysterious", 128, 128, 2).unwrap();
        let sum = |pm: &Pixmap| mean(pm, 0.0, 0.4).0 + mean(pm, 0.0, 0.4).1 + mean(pm, 0.0, 0.4).2;
        assert!(sum(&bright) > sum(&dark));
    }

    #[test]
    fn beach_sunset_reads_warm_over_water() {
        for seed in 0..5 {
            let pm = render("a beach sunset, calm water", 256, 256, seed).unwrap();
            let sky = mean(&pm, 0.3, 0.5);
            assert!(sky.0 > sky.2, "sky should be warm (red > blue): {sky:?}");
            // water band just under the horizon is bluer than the sky
            let water = mean(&pm, 0.7, 0.78);
            assert!(
                water.2 > water.0 * 0.6,
                "water should read as water: {water:?}"
            );
        }
    }

    #[test]
    fn snowy_village_at_night_reads_dark_and_cold() {
        let pm = render("a snowy village at night", 256, 256, 1).unwrap();
        let all = mean(&pm, 0.0, 1.0);
        let brightness = (all.0 + all.1 + all.2) / 3.0;
        assert!(brightness < 90.0, "too bright for night: {all:?}");
        assert!(all.2 >= all.0, "should be cold (blue >= red): {all:?}");
    }

    #[test]
    fn deterministic_by_seed_and_seed_matters() {
        let a = render_png("a red fox in a forest", 200, 120, 7).unwrap();
        let b = render_png("a red fox in a forest", 200, 120, 7).unwrap();
        let c = render_png("a red fox in a forest", 200, 120, 8).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn any_size_from_64_to_4096() {
        for (w, h) in [(64, 64), (64, 4096), (333, 77)] {
            let pm = render("a lighthouse in a storm", w, h, 1).unwrap();
            assert_eq!((pm.width(), pm.height()), (w, h));
        }
        assert!(render("x", 63, 64, 1).is_err());
        assert!(render("x", 64, 4097, 1).is_err());
    }

    #[test]
    fn every_setting_draws() {
        for idea in [
            "a desert at noon",
            "a city street at night",
            "a forest in fog",
            "a mountain lake at dawn",
            "a meadow in spring",
            "a spaceship in outer space",
            "a coral reef underwater",
            "a cozy living room",
            "three cats",
            "a bowl of ramen",
            "a sign that says \"hi\"",
            "a red car",
            "a tall tree",
            "a castle",
            "a painting of freedom",
            "bond",
            "arctic tundra in a blizzard",
        ] {
            render_png(idea, 128, 96, 3).unwrap();
        }
    }
}
