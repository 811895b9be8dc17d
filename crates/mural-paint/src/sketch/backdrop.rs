//! The backdrop: sky, light and weather for the time, and the setting's
//! layers (data/backdrops.toml says which layers draw each setting).

use super::data;
use super::draw::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use tiny_skia::{GradientStop, LinearGradient, Paint, Pixmap, Point, SpreadMode, Transform};

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Outdoor,
    Indoor,
    Underwater,
    Space,
    Surface,
}

#[derive(Deserialize, Debug)]
pub struct Backdrop {
    pub kind: Kind,
    #[serde(default)]
    pub ground: Option<String>,
    #[serde(default)]
    pub layers: Vec<String>,
    #[serde(default)]
    pub horizon: Option<f32>,
    #[serde(default)]
    pub wall: Option<String>,
    #[serde(default)]
    pub floor: Option<String>,
}

#[derive(Deserialize)]
struct Backdrops {
    backdrop: BTreeMap<String, Backdrop>,
}

fn backdrops() -> &'static BTreeMap<String, Backdrop> {
    static B: OnceLock<Backdrops> = OnceLock::new();
    &B.get_or_init(|| {
        toml::from_str(include_str!("../../data/backdrops.toml"))
            .expect("data/backdrops.toml is valid (tested)")
    })
    .backdrop
}

/// The backdrop of a setting: its own, its nearest parent's, else the
/// generic room (indoors) or land.
pub fn backdrop_for(setting: Option<&str>) -> &'static Backdrop {
    let b = backdrops();
    let w = mural_knowledge::world();
    if let Some(id) = setting {
        for s in w.setting_chain(id) {
            if let Some(x) = b.get(&s.id) {
                return x;
            }
        }
        if w.setting(id).is_some_and(|s| s.indoor) {
            return &b["room"];
        }
    }
    &b["land"]
}

/// Where things stand once the backdrop is drawn.
pub struct Stage {
    pub kind: Kind,
    /// The horizon (outdoors), the foot of the wall (indoors).
    pub horizon: f32,
    /// Where the feet of the main subjects go.
    pub ground: f32,
    /// The water line things float on, when there is open water.
    pub water: Option<f32>,
    /// Where the sun or moon is, to keep subjects off it.
    pub light: Option<(f32, f32, f32)>,
}

/// What the sky needs to know.
pub struct Light<'a> {
    pub time: &'a str,
    pub night: bool,
    pub weather: Option<&'a str>,
    /// (brightness, warmth) from the mood.
    pub mood: (f32, f32),
    pub winter: bool,
    /// A top-down or aerial view: little or no sky.
    pub horizon: Option<f32>,
}

fn pair(map: &BTreeMap<String, [String; 2]>, key: &str, fallback: &str) -> (Rgb, Rgb) {
    let v = map
        .get(key)
        .or_else(|| map.get(fallback))
        .expect("sketch.toml has the fallback keys");
    (Rgb::hex(&v[0]), Rgb::hex(&v[1]))
}

fn overcast(weather: Option<&str>) -> bool {
    matches!(weather, Some("cloudy" | "rain" | "storm" | "fog" | "snow"))
}

fn sky_key<'a>(l: &Light<'a>) -> &'a str {
    match l.weather {
        Some(wx @ ("rain" | "storm" | "fog" | "snow")) if !l.night => wx,
        Some("cloudy") if !l.night => "cloudy",
        _ if l.night => "night",
        _ => match l.time {
            "noon" | "afternoon" | "day" | "" => "day",
            t => t,
        },
    }
}

/// Draws the backdrop and says where things stand.
pub fn draw(pm: &mut Pixmap, b: &Backdrop, l: &Light, rng: &mut Rng) -> Stage {
    let (w, h) = (pm.width() as f32, pm.height() as f32);
    let s = w.min(h);
    let d = data();
    let dim = if l.night { d.night_dim } else { 1.0 };
    let mood = |c: Rgb| {
        let (light, warm) = l.mood;
        let tone = if warm >= 0.0 {
            Rgb(1.0, 0.7, 0.4)
        } else {
            Rgb(0.35, 0.5, 0.9)
        };
        c.scale(light).mix(tone, warm.abs() * 0.5)
    };
    match b.kind {
        Kind::Underwater => {
            let deep = b.layers.iter().any(|x| x == "deep");
            let (top, bottom) = pair(
                &d.sky,
                if deep { "deep_sea" } else { "underwater" },
                "underwater",
            );
            let (top, bottom) = if deep {
                (bottom, top) // darker with depth: the deep sea is darkest below
            } else {
                (bottom.mix(top, 0.3), top.scale(0.55))
            };
            rect(
                pm,
                0.0,
                0.0,
                w,
                h,
                &vgradient(mood(top), mood(bottom), 0.0, h),
            );
            let mut st = Stage {
                kind: b.kind,
                horizon: 0.0,
                ground: h * 0.8,
                water: None,
                light: None,
            };
            for layer in &b.layers {
                draw_layer(pm, layer, b, l, rng, &mut st);
            }
            return st;
        }
        Kind::Space => {
            let (top, bottom) = pair(&d.sky, "space", "night");
            rect(pm, 0.0, 0.0, w, h, &vgradient(top, bottom, 0.0, h));
            stars(pm, rng, h, 2.0);
            let mut st = Stage {
                kind: b.kind,
                horizon: h * 0.5,
                ground: h * 0.62,
                water: None,
                light: None,
            };
            for layer in &b.layers {
                draw_layer(pm, layer, b, l, rng, &mut st);
            }
            return st;
        }
        Kind::Indoor => {
            let wall = Rgb::hex(b.wall.as_deref().unwrap_or("#c9b79c"));
            let floor = Rgb::hex(b.floor.as_deref().unwrap_or("#8a6e52"));
            let lamp = if l.night { 0.8 } else { 1.0 };
            let fy = h * 0.68;
            rect(
                pm,
                0.0,
                0.0,
                w,
                fy,
                &vgradient(
                    mood(wall).scale(lamp * 0.88),
                    mood(wall).scale(lamp),
                    0.0,
                    fy,
                ),
            );
            rect(
                pm,
                0.0,
                fy,
                w,
                h - fy,
                &vgradient(
                    mood(floor).scale(lamp),
                    mood(floor).scale(lamp * 0.75),
                    fy,
                    h,
                ),
            );
            rect(
                pm,
                0.0,
                fy - s * 0.012,
                w,
                s * 0.012,
                &solid(wall.scale(0.6), 1.0),
            );
            let mut st = Stage {
                kind: b.kind,
                horizon: fy,
                ground: fy + (h - fy) * 0.55,
                water: None,
                light: None,
            };
            for layer in &b.layers {
                draw_layer(pm, layer, b, l, rng, &mut st);
            }
            return st;
        }
        Kind::Outdoor | Kind::Surface => {}
    }

    // Sky.
    let horizon = l
        .horizon
        .unwrap_or(b.horizon.unwrap_or(0.6) + rng.range(-0.03, 0.03));
    let hy = h * horizon;
    let (top, bottom) = if b.kind == Kind::Surface {
        pair(&d.sky, "space", "night")
    } else {
        let (t, bt) = pair(&d.sky, sky_key(l), "day");
        (mood(t), mood(bt))
    };
    rect(
        pm,
        0.0,
        0.0,
        w,
        hy.max(1.0),
        &vgradient(top, bottom, 0.0, hy),
    );
    let clear = !overcast(l.weather);
    let mut light = None;
    if b.kind == Kind::Surface || (l.night && clear) {
        stars(pm, rng, hy, if b.kind == Kind::Surface { 1.0 } else { 0.7 });
    }
    if b.kind == Kind::Outdoor && hy > s * 0.15 {
        if l.night {
            if !matches!(l.weather, Some("rain" | "storm" | "fog")) {
                let (mx, my, mr) = (
                    w * rng.range(0.62, 0.82),
                    hy * rng.range(0.22, 0.38),
                    s * 0.055,
                );
                glow(pm, mx, my, mr * 4.0, Rgb(0.8, 0.85, 1.0), 0.3);
                circle(pm, mx, my, mr, &solid(Rgb(0.96, 0.95, 0.86), 1.0));
                // a few craters' shade
                circle(
                    pm,
                    mx - mr * 0.3,
                    my - mr * 0.2,
                    mr * 0.22,
                    &solid(Rgb(0.82, 0.82, 0.76), 1.0),
                );
                circle(
                    pm,
                    mx + mr * 0.35,
                    my + mr * 0.3,
                    mr * 0.15,
                    &solid(Rgb(0.82, 0.82, 0.76), 1.0),
                );
                light = Some((mx, my, mr));
            }
        } else if clear {
            let x = w * rng.range(0.3, 0.7);
            // behind mountains a low sun stands clear of the peaks
            let ridge = if b.layers.iter().any(|x| x == "mountains") {
                s * 0.12
            } else {
                0.0
            };
            let (y, r, col) = match l.time {
                "sunset" | "sunrise" => (hy - s * 0.045 - ridge, s * 0.075, Rgb(1.0, 0.55, 0.22)),
                "golden_hour" | "evening" | "dawn" => {
                    (hy - s * 0.13, s * 0.065, Rgb(1.0, 0.72, 0.35))
                }
                "dusk" => (hy + s * 0.02, s * 0.07, Rgb(1.0, 0.45, 0.3)),
                "morning" | "afternoon" => (hy * 0.42, s * 0.055, Rgb(1.0, 0.93, 0.7)),
                _ => (hy * 0.26, s * 0.055, Rgb(1.0, 0.97, 0.85)),
            };
            glow(pm, x, y, r * 6.0, col, 0.5);
            glow(pm, x, y, r * 2.2, col.mix(Rgb(1.0, 1.0, 0.9), 0.3), 0.6);
            circle(
                pm,
                x,
                y,
                r,
                &solid(col.mix(Rgb(1.0, 0.98, 0.85), 0.55), 1.0),
            );
            light = Some((x, y, r));
        }
        if l.weather == Some("cloudy") || l.weather == Some("storm") || l.weather == Some("rain") {
            clouds(
                pm,
                rng,
                hy,
                if l.night { 0.25 } else { 0.9 },
                l.weather != Some("cloudy"),
            );
        }
    }

    // Ground.
    let ground_key = match b.ground.as_deref() {
        Some("sea") | Some("sky") => b.ground.as_deref().unwrap_or("default"),
        _ if l.winter || l.weather == Some("snow") => "snowfield",
        Some(g) => g,
        None => "default",
    };
    let (g0, g1) = pair(&d.ground, ground_key, "default");
    rect(
        pm,
        0.0,
        hy,
        w,
        h - hy,
        &vgradient(g0.scale(dim), g1.scale(dim), hy, h),
    );
    // dusk or sunset light tints the near ground
    let mut st = Stage {
        kind: b.kind,
        horizon: hy,
        ground: hy + (h - hy) * 0.55,
        water: None,
        light,
    };
    for layer in &b.layers {
        draw_layer(pm, layer, b, l, rng, &mut st);
    }
    st
}

fn stars(pm: &mut Pixmap, rng: &mut Rng, below: f32, density: f32) {
    let (w, h) = (pm.width() as f32, pm.height() as f32);
    let s = w.min(h);
    let n = ((w * below) / 2200.0 * density).min(3000.0) as usize;
    for _ in 0..n {
        let (x, y) = (rng.range(0.0, w), rng.range(0.0, below));
        let r = rng.range(0.4, 1.4) * s / 800.0 + 0.35;
        circle(
            pm,
            x,
            y,
            r,
            &solid(Rgb(1.0, 1.0, 0.95), rng.range(0.45, 1.0)),
        );
    }
    let _ = h;
}

fn clouds(pm: &mut Pixmap, rng: &mut Rng, hy: f32, bright: f32, dark: bool) {
    let w = pm.width() as f32;
    let s = w.min(pm.height() as f32);
    let base = if dark {
        Rgb(0.45, 0.48, 0.52)
    } else {
        Rgb(0.92, 0.93, 0.95)
    };
    for _ in 0..(6.0 * w / s).max(4.0) as usize {
        let (cx, cy) = (rng.range(-0.1, 1.1) * w, rng.range(0.1, 0.75) * hy);
        let r = s * rng.range(0.05, 0.09);
        for k in 0..5 {
            let dx = (k as f32 - 2.0) * r * 0.8;
            let dy = if k % 2 == 0 { 0.0 } else { -r * 0.45 };
            circle(
                pm,
                cx + dx,
                cy + dy,
                r * rng.range(0.8, 1.2),
                &solid(base.scale(bright.max(0.3)), 0.92),
            );
        }
    }
}

fn draw_layer(
    pm: &mut Pixmap,
    layer: &str,
    b: &Backdrop,
    l: &Light,
    rng: &mut Rng,
    st: &mut Stage,
) {
    let (w, h) = (pm.width() as f32, pm.height() as f32);
    let s = w.min(h);
    let d = data();
    let hy = st.horizon;
    let dim = if l.night { d.night_dim } else { 1.0 };
    let ground = |k: &str| {
        let (a, c) = pair(&d.ground, k, "default");
        (a.scale(dim), c.scale(dim))
    };
    let has = |x: &str| b.layers.iter().any(|y| y == x);
    match layer {
        "sea" | "lake" | "river" => {
            let (g0, g1) = ground(if layer == "sea" { "sea" } else { "lake" });
            let sky_low = pair(&d.sky, sky_key(l), "day").1;
            let top = if layer == "river" {
                hy + (h - hy) * 0.25
            } else {
                hy
            };
            let bottom = if has("beach") || has("surf") {
                hy + (h - hy) * 0.45
            } else if layer == "sea" {
                h
            } else {
                hy + (h - hy) * 0.7
            };
            let water_top = sky_low.mix(g0, 0.6).scale(if l.night { 0.5 } else { 1.0 });
            if layer == "river" {
                polygon(
                    pm,
                    &[(w * 0.45, top), (w * 0.55, top), (w * 0.9, h), (w * 0.1, h)],
                    &vgradient(water_top, g1, top, h),
                );
            } else {
                rect(
                    pm,
                    0.0,
                    top,
                    w,
                    bottom - top,
                    &vgradient(water_top, g1, top, bottom),
                );
                st.water = Some(top + (bottom - top) * 0.3);
            }
            // the sun's or moon's path on the water
            if let Some((lx, _, _)) = st.light {
                let col = if l.night {
                    Rgb(0.85, 0.88, 1.0)
                } else {
                    Rgb(1.0, 0.8, 0.5)
                };
                for i in 0..24 {
                    let y = top + (bottom - top) * (i as f32 / 24.0);
                    let half = s * (0.01 + 0.05 * i as f32 / 24.0) * rng.range(0.5, 1.2);
                    rect(
                        pm,
                        lx - half,
                        y,
                        half * 2.0,
                        (bottom - top) / 60.0,
                        &solid(col, 0.35),
                    );
                }
            }
            for _ in 0..(40.0 * w / 1024.0) as usize {
                let y = rng.range(top, bottom);
                let len = s * rng.range(0.02, 0.08);
                rect(
                    pm,
                    rng.range(0.0, w),
                    y,
                    len,
                    (s / 900.0).max(0.7),
                    &solid(Rgb(1.0, 1.0, 1.0), 0.2),
                );
            }
        }
        "surf" => {
            let y = hy + (h - hy) * 0.45;
            for k in 0..3 {
                let yy = y - k as f32 * s * 0.012;
                let mut pts = Vec::new();
                for i in 0..=16 {
                    let x = w * i as f32 / 16.0;
                    pts.push((x, yy + ((x / w) * 9.0 + k as f32).sin() * s * 0.006));
                }
                line(
                    pm,
                    &pts,
                    s * 0.006,
                    &solid(Rgb(1.0, 1.0, 1.0).scale(dim.max(0.6)), 0.7),
                );
            }
        }
        "beach" => {
            let (g0, g1) = ground("beach");
            let top = hy + (h - hy) * 0.45;
            let mut pts = vec![(0.0, h), (0.0, top + s * 0.02)];
            for i in 0..=10 {
                let x = w * i as f32 / 10.0;
                pts.push((x, top + (x / w * 3.0).sin() * s * 0.015));
            }
            pts.push((w, h));
            polygon(pm, &pts, &vgradient(g0, g1, top, h));
            st.ground = top + (h - top) * 0.5;
            // a palm at one edge
            let dark = if l.night || matches!(l.time, "sunset" | "sunrise" | "dusk") {
                Rgb(0.08, 0.06, 0.08)
            } else {
                Rgb(0.2, 0.42, 0.2)
            };
            let x = if rng.f() < 0.5 { w * 0.08 } else { w * 0.92 };
            let (base, tall) = (top + s * 0.06, s * 0.38);
            let lean = if x < w / 2.0 { s * 0.05 } else { -s * 0.05 };
            line(
                pm,
                &[
                    (x, base),
                    (x + lean * 0.5, base - tall * 0.5),
                    (x + lean, base - tall),
                ],
                s * 0.014,
                &solid(dark, 1.0),
            );
            let (cx, cy) = (x + lean, base - tall);
            for k in 0..7 {
                let ang = -2.9 + k as f32 * 0.45;
                let (dx, dy) = (ang.cos() * s * 0.11, ang.sin() * s * 0.05 + s * 0.03);
                polygon(
                    pm,
                    &[
                        (cx, cy),
                        (cx + dx, cy + dy),
                        (cx + dx * 0.6, cy + dy * 0.4 - s * 0.012),
                    ],
                    &solid(dark, 1.0),
                );
            }
        }
        "mountains" | "hills" => {
            let (g0, _) = ground(if layer == "mountains" {
                "mountains"
            } else {
                b.ground.as_deref().unwrap_or("default")
            });
            let bands = if layer == "mountains" { 3 } else { 2 };
            for band in 0..bands {
                let fade = 0.5 - band as f32 * 0.18;
                let haze = pair(&d.sky, sky_key(l), "day").1;
                let col = g0.mix(haze, fade);
                // a low sun or moon: lower ranges, so it shows above them
                let low = st.light.is_some_and(|(_, ly, _)| ly > hy - s * 0.3);
                let peak = if layer == "mountains" {
                    s * (0.34 - band as f32 * 0.08) * if low { 0.45 } else { 1.0 }
                } else {
                    s * (0.08 - band as f32 * 0.02)
                };
                let n = 4 + band * 2;
                let mut pts = vec![(0.0, hy + 1.0)];
                for i in 0..=n {
                    let x = w * i as f32 / n as f32;
                    pts.push((x, hy - peak * rng.range(0.4, 1.0)));
                    if i < n && layer == "mountains" {
                        pts.push((x + w / n as f32 / 2.0, hy - peak * rng.range(0.1, 0.4)));
                    }
                }
                pts.push((w, hy + 1.0));
                polygon(pm, &pts, &solid(col, 1.0));
                if layer == "mountains" && band == 0 && !l.night {
                    // snow caps
                    for win in pts.windows(3) {
                        let (p, c, n) = (win[0], win[1], win[2]);
                        if c.1 < p.1 && c.1 < n.1 && hy - c.1 > peak * 0.6 {
                            let k = 0.25;
                            polygon(
                                pm,
                                &[
                                    c,
                                    (c.0 + (n.0 - c.0) * k, c.1 + (n.1 - c.1) * k),
                                    (c.0 + (p.0 - c.0) * k, c.1 + (p.1 - c.1) * k),
                                ],
                                &solid(Rgb(0.96, 0.97, 1.0), 0.95),
                            );
                        }
                    }
                }
            }
        }
        "forest" | "trees" => {
            let (g0, _) = ground("forest");
            let rows = if layer == "forest" { 3 } else { 1 };
            for row in 0..rows {
                let y0 = hy + (h - hy) * row as f32 * 0.1;
                let col = g0.scale(1.0 - row as f32 * 0.2);
                let n = if layer == "forest" {
                    (16.0 * w / 1024.0) as usize + 6
                } else {
                    5
                };
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
            let (g0, g1) = ground("desert");
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
        "meadow" | "field" | "snowfield" | "ice" => {
            let key = if l.winter || l.weather == Some("snow") {
                "snowfield"
            } else {
                layer
            };
            let key = if key == "ice" { "snowfield" } else { key };
            let (g0, g1) = ground(key);
            let top = if layer == "ice" {
                hy + (h - hy) * 0.35
            } else {
                hy
            };
            let mut pts = vec![(0.0, h)];
            for i in 0..=12 {
                let x = w * i as f32 / 12.0;
                pts.push((x, top + ((x / w) * 4.0).sin() * s * 0.02 + s * 0.01));
            }
            pts.push((w, h));
            polygon(pm, &pts, &vgradient(g0, g1, top, h));
            if layer == "ice" {
                st.ground = top + (h - top) * 0.45;
            }
            if key == "meadow" || key == "field" {
                for _ in 0..(120.0 * w / 1024.0) as usize {
                    let (x, y) = (rng.range(0.0, w), rng.range(hy + s * 0.03, h));
                    rect(
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
        "flowers" => {
            for _ in 0..(90.0 * w / 1024.0) as usize {
                let (x, y) = (rng.range(0.0, w), rng.range(hy + s * 0.04, h));
                let col = [
                    Rgb(0.95, 0.3, 0.4),
                    Rgb(1.0, 0.85, 0.2),
                    Rgb(0.95, 0.95, 0.95),
                    Rgb(0.7, 0.4, 0.9),
                ][(rng.next() % 4) as usize];
                circle(
                    pm,
                    x,
                    y,
                    s * 0.006 * (0.5 + (y - hy) / (h - hy)),
                    &solid(col.scale(dim), 1.0),
                );
            }
        }
        "city" | "village" => {
            let lit = l.night || matches!(l.time, "dusk" | "evening");
            let (g0, _) = ground("city");
            let mut x = 0.0;
            while x < w {
                let bw = s * rng.range(0.05, if layer == "city" { 0.12 } else { 0.1 });
                let bh = if layer == "city" {
                    s * rng.range(0.12, 0.42)
                } else {
                    s * rng.range(0.06, 0.12)
                };
                let col = if layer == "village" {
                    Rgb(0.62, 0.52, 0.42).scale(dim)
                } else {
                    g0.scale(rng.range(0.7, 1.1))
                };
                rect(
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
                        &solid(Rgb(0.55, 0.25, 0.2).scale(dim), 1.0),
                    );
                }
                let win = Rgb(1.0, 0.82, 0.45);
                let step = s * 0.025;
                let mut wy = hy - bh + step * 0.6;
                while wy < hy - step * 0.5 {
                    let mut wx = x + step * 0.4;
                    while wx < x + bw - step * 0.6 {
                        if lit && rng.f() < 0.55 {
                            rect(pm, wx, wy, step * 0.4, step * 0.5, &solid(win, 0.9));
                        } else if !lit {
                            rect(
                                pm,
                                wx,
                                wy,
                                step * 0.4,
                                step * 0.5,
                                &solid(col.scale(0.65), 0.8),
                            );
                        }
                        wx += step;
                    }
                    wy += step;
                }
                x += bw;
            }
        }
        "street" | "road" => {
            let (r0, r1) = ground("road");
            let top = if layer == "street" {
                hy
            } else {
                hy + (h - hy) * 0.05
            };
            let (nl, nr) = if layer == "street" {
                (0.4, 0.6)
            } else {
                (0.46, 0.54)
            };
            polygon(
                pm,
                &[(w * nl, top), (w * nr, top), (w * 1.05, h), (-w * 0.05, h)],
                &vgradient(r0, r1, top, h),
            );
            // lane marks in perspective
            let mut y = top + (h - top) * 0.05;
            let mut len = (h - top) * 0.03;
            while y < h {
                let t = (y - top) / (h - top);
                let half = s * 0.003 + s * 0.01 * t;
                polygon(
                    pm,
                    &[
                        (w / 2.0 - half, y),
                        (w / 2.0 + half, y),
                        (w / 2.0 + half * 1.2, y + len),
                        (w / 2.0 - half * 1.2, y + len),
                    ],
                    &solid(Rgb(0.95, 0.85, 0.4).scale(dim.max(0.6)), 0.9),
                );
                y += len * 2.2;
                len *= 1.35;
            }
            if layer == "street" {
                let walk = Rgb(0.55, 0.55, 0.55).scale(dim);
                polygon(
                    pm,
                    &[(0.0, top), (w * nl, top), (-w * 0.05, h), (0.0, h)],
                    &solid(walk, 1.0),
                );
                polygon(
                    pm,
                    &[(w * nr, top), (w, top), (w, h), (w * 1.05, h)],
                    &solid(walk, 1.0),
                );
                if l.night {
                    for i in 0..4 {
                        let t = 0.2 + i as f32 * 0.25;
                        let (y, x) = (top + (h - top) * t, w * (nl - 0.05 - t * 0.4));
                        glow(
                            pm,
                            x.max(w * 0.03),
                            y - s * 0.2 * t,
                            s * 0.08 * (0.5 + t),
                            Rgb(1.0, 0.8, 0.45),
                            0.5,
                        );
                    }
                }
            }
            st.ground = top + (h - top) * 0.6;
        }
        "rails" => {
            let top = hy;
            let c = Rgb(0.35, 0.3, 0.28).scale(dim);
            polygon(
                pm,
                &[(w * 0.47, top), (w * 0.53, top), (w * 0.8, h), (w * 0.2, h)],
                &solid(Rgb(0.5, 0.46, 0.42).scale(dim), 1.0),
            );
            line(
                pm,
                &[(w * 0.485, top), (w * 0.3, h)],
                s * 0.008,
                &solid(c, 1.0),
            );
            line(
                pm,
                &[(w * 0.515, top), (w * 0.7, h)],
                s * 0.008,
                &solid(c, 1.0),
            );
        }
        "lighthouse" => {
            let (x, base) = (w * rng.range(0.72, 0.85), hy + (h - hy) * 0.2);
            let (tall, half) = (s * 0.42, s * 0.045);
            for k in 0..6 {
                let t0 = k as f32 / 6.0;
                let t1 = (k + 1) as f32 / 6.0;
                let (y0, y1) = (base - tall * t0, base - tall * t1);
                let (h0, h1) = (half * (1.0 - 0.3 * t0), half * (1.0 - 0.3 * t1));
                let col = if k % 2 == 0 {
                    Rgb(0.95, 0.95, 0.92)
                } else {
                    Rgb(0.8, 0.15, 0.15)
                };
                polygon(
                    pm,
                    &[(x - h0, y0), (x + h0, y0), (x + h1, y1), (x - h1, y1)],
                    &solid(col.scale(dim.max(0.5)), 1.0),
                );
            }
            let top = base - tall;
            rect(
                pm,
                x - half * 0.6,
                top - s * 0.05,
                half * 1.2,
                s * 0.05,
                &solid(Rgb(1.0, 0.9, 0.5), 1.0),
            );
            polygon(
                pm,
                &[
                    (x - half * 0.8, top - s * 0.05),
                    (x + half * 0.8, top - s * 0.05),
                    (x, top - s * 0.09),
                ],
                &solid(Rgb(0.2, 0.2, 0.22), 1.0),
            );
            if l.night || overcast(l.weather) {
                glow(pm, x, top - s * 0.025, s * 0.15, Rgb(1.0, 0.9, 0.6), 0.5);
            }
        }
        "rocks" => {
            for _ in 0..5 {
                let (x, y) = (rng.range(0.0, w), rng.range(hy, h));
                let r = s * rng.range(0.02, 0.05) * (0.5 + (y - hy) / (h - hy));
                oval(
                    pm,
                    x - r,
                    y - r * 0.6,
                    r * 2.0,
                    r * 1.2,
                    &solid(Rgb(0.4, 0.37, 0.35).scale(dim), 1.0),
                );
            }
        }
        "craters" => {
            for _ in 0..8 {
                let (x, y) = (rng.range(0.0, w), rng.range(hy + s * 0.02, h));
                let r = s * rng.range(0.02, 0.06) * (0.4 + (y - hy) / (h - hy));
                oval(
                    pm,
                    x - r,
                    y - r * 0.3,
                    r * 2.0,
                    r * 0.6,
                    &solid(Rgb(0.35, 0.35, 0.35), 1.0),
                );
            }
        }
        "planet" => {
            let (px, py, pr) = if b.kind == Kind::Surface {
                (w * rng.range(0.65, 0.85), hy * 0.35, s * 0.09)
            } else {
                (
                    w * rng.range(0.6, 0.8),
                    h * rng.range(0.55, 0.75),
                    s * rng.range(0.12, 0.2),
                )
            };
            let (c0, c1) = if b.kind == Kind::Surface {
                (Rgb(0.45, 0.65, 0.95), Rgb(0.15, 0.3, 0.6))
            } else {
                (Rgb(0.6, 0.5, 0.85), Rgb(0.12, 0.06, 0.22))
            };
            circle(pm, px, py, pr, &vgradient(c0, c1, py - pr, py + pr));
        }
        "clouds_below" => {
            for i in 0..14 {
                let x = w * (i as f32 / 13.0);
                circle(
                    pm,
                    x,
                    hy + s * rng.range(0.0, 0.05),
                    s * rng.range(0.08, 0.14),
                    &solid(Rgb(0.97, 0.97, 1.0).scale(dim.max(0.5)), 1.0),
                );
            }
        }
        "rays" => {
            for i in 0..6 {
                let x = w * (0.05 + i as f32 * 0.17) + rng.range(-0.03, 0.03) * w;
                polygon(
                    pm,
                    &[
                        (x, 0.0),
                        (x + w * 0.05, 0.0),
                        (x + w * 0.16, h * 0.8),
                        (x + w * 0.03, h * 0.8),
                    ],
                    &solid(Rgb(0.75, 0.92, 1.0), 0.08),
                );
            }
            for _ in 0..(50.0 * w / 1024.0) as usize {
                circle(
                    pm,
                    rng.range(0.0, w),
                    rng.range(0.0, h),
                    s * rng.range(0.003, 0.01),
                    &solid(Rgb(0.85, 0.95, 1.0), 0.35),
                );
            }
        }
        "deep" => {
            // marine snow and a few bioluminescent sparks in the dark
            for _ in 0..(120.0 * w / 1024.0) as usize {
                circle(
                    pm,
                    rng.range(0.0, w),
                    rng.range(0.0, h),
                    s * rng.range(0.001, 0.003),
                    &solid(Rgb(0.6, 0.75, 0.85), 0.35),
                );
            }
            for _ in 0..6 {
                let (x, y) = (rng.range(0.0, w), rng.range(0.3, 1.0) * h);
                glow(pm, x, y, s * 0.02, Rgb(0.3, 0.9, 1.0), 0.6);
            }
            st.ground = h * 0.62;
        }
        "seabed" => {
            let top = h * 0.84;
            let mut pts = vec![(0.0, h)];
            for i in 0..=10 {
                let x = w * i as f32 / 10.0;
                pts.push((x, top + ((x / w) * 5.0).sin() * s * 0.015));
            }
            pts.push((w, h));
            polygon(
                pm,
                &pts,
                &vgradient(Rgb(0.62, 0.56, 0.4), Rgb(0.36, 0.32, 0.22), top, h),
            );
            st.ground = h * 0.72;
        }
        "coral" => {
            for _ in 0..7 {
                let x = rng.range(0.0, w);
                let col = [
                    Rgb(0.95, 0.45, 0.5),
                    Rgb(0.98, 0.65, 0.3),
                    Rgb(0.7, 0.4, 0.85),
                ][(rng.next() % 3) as usize];
                for k in 0..4 {
                    let ang = -1.9 + k as f32 * 0.4;
                    let len = s * rng.range(0.06, 0.12);
                    line(
                        pm,
                        &[
                            (x, h * 0.88),
                            (x + ang.cos() * len, h * 0.88 + ang.sin() * len),
                        ],
                        s * 0.014,
                        &solid(col, 1.0),
                    );
                }
            }
        }
        "kelp" => {
            for i in 0..7 {
                let x0 = w * (i as f32 + 0.5) / 7.0 + rng.range(-0.04, 0.04) * w;
                let mut pts = Vec::new();
                for k in 0..=10 {
                    let y = h - h * 0.85 * k as f32 / 10.0;
                    pts.push((x0 + (k as f32 * 0.9 + i as f32).sin() * s * 0.025, y));
                }
                line(pm, &pts, s * 0.018, &solid(Rgb(0.25, 0.45, 0.2), 0.9));
            }
        }
        "window" => {
            let x = w * rng.range(0.12, 0.55);
            window(pm, l, rng, (x, h * 0.14, w * 0.28, h * 0.32))
        }
        "shelves" => {
            let (x0, x1) = (w * 0.04, w * 0.96);
            let wood = Rgb(0.32, 0.2, 0.12).scale(if l.night { 0.8 } else { 1.0 });
            rect(pm, x0, h * 0.05, x1 - x0, h * 0.62, &solid(wood, 1.0));
            let rows = 5;
            for r in 0..rows {
                let y1 = h * 0.05 + h * 0.62 * (r + 1) as f32 / rows as f32;
                let y0 = y1 - h * 0.62 / rows as f32 + s * 0.015;
                let mut x = x0 + s * 0.01;
                while x < x1 - s * 0.03 {
                    let bw = s * rng.range(0.012, 0.028);
                    let bh = (y1 - y0) * rng.range(0.7, 0.95);
                    let col = [
                        Rgb(0.55, 0.12, 0.1),
                        Rgb(0.12, 0.25, 0.45),
                        Rgb(0.15, 0.35, 0.2),
                        Rgb(0.7, 0.55, 0.25),
                        Rgb(0.35, 0.2, 0.35),
                    ][(rng.next() % 5) as usize];
                    rect(pm, x, y1 - bh, bw - 1.0, bh, &solid(col, 1.0));
                    x += bw;
                }
                rect(
                    pm,
                    x0,
                    y1 - s * 0.008,
                    x1 - x0,
                    s * 0.012,
                    &solid(wood.scale(0.7), 1.0),
                );
            }
        }
        "kitchen" => {
            let cab = Rgb(0.93, 0.93, 0.9).scale(if l.night { 0.8 } else { 1.0 });
            // upper cabinets, backsplash tiles, counter, lower cabinets
            for i in 0..4 {
                let x = w * (0.02 + i as f32 * 0.12);
                rect(pm, x, h * 0.06, w * 0.11, h * 0.2, &solid(cab, 1.0));
                rect(
                    pm,
                    x + w * 0.085,
                    h * 0.15,
                    w * 0.01,
                    h * 0.04,
                    &solid(Rgb(0.5, 0.5, 0.5), 1.0),
                );
            }
            let ty = h * 0.5;
            let mut y = h * 0.3;
            while y < ty {
                line(
                    pm,
                    &[(0.0, y), (w, y)],
                    1.0,
                    &solid(Rgb(0.7, 0.7, 0.68), 0.6),
                );
                y += s * 0.03;
            }
            rect(pm, 0.0, ty, w, h * 0.04, &solid(Rgb(0.3, 0.28, 0.26), 1.0));
            rect(
                pm,
                0.0,
                ty + h * 0.04,
                w,
                h * 0.14,
                &solid(cab.scale(0.9), 1.0),
            );
            for i in 0..6 {
                line(
                    pm,
                    &[
                        (w * i as f32 / 6.0, ty + h * 0.04),
                        (w * i as f32 / 6.0, ty + h * 0.18),
                    ],
                    2.0,
                    &solid(Rgb(0.6, 0.6, 0.58), 1.0),
                );
            }
            // a stove: four burners on the counter
            for k in 0..2 {
                oval(
                    pm,
                    w * (0.68 + k as f32 * 0.08),
                    ty - h * 0.008,
                    w * 0.06,
                    h * 0.016,
                    &solid(Rgb(0.15, 0.15, 0.15), 1.0),
                );
            }
            st.ground = ty + h * 0.005;
        }
        "counter" => {
            let ty = h * 0.62;
            rect(
                pm,
                0.0,
                ty,
                w,
                h - ty,
                &vgradient(
                    Rgb(0.55, 0.38, 0.24).scale(dim.max(0.7)),
                    Rgb(0.38, 0.25, 0.15).scale(dim.max(0.7)),
                    ty,
                    h,
                ),
            );
            rect(pm, 0.0, ty, w, s * 0.01, &solid(Rgb(0.7, 0.52, 0.35), 1.0));
            st.ground = ty + (h - ty) * 0.35;
        }
        "diner" => {
            // checkered floor, a counter with red stools
            let fy = st.horizon;
            let tile = s * 0.06;
            let mut y = fy;
            let mut row = 0;
            while y < h {
                let mut x = if row % 2 == 0 { 0.0 } else { tile };
                while x < w {
                    rect(
                        pm,
                        x,
                        y,
                        tile,
                        tile,
                        &solid(Rgb(0.95, 0.95, 0.92).scale(dim.max(0.7)), 1.0),
                    );
                    x += tile * 2.0;
                }
                y += tile;
                row += 1;
            }
            let cy = h * 0.5;
            rect(pm, 0.0, cy, w, h * 0.03, &solid(Rgb(0.85, 0.2, 0.2), 1.0));
            rect(
                pm,
                0.0,
                cy + h * 0.03,
                w,
                fy - cy - h * 0.03,
                &solid(Rgb(0.75, 0.75, 0.78), 1.0),
            );
            for i in 0..5 {
                let x = w * (0.1 + i as f32 * 0.2);
                rect(
                    pm,
                    x - s * 0.005,
                    fy - h * 0.02,
                    s * 0.01,
                    h * 0.1,
                    &solid(Rgb(0.6, 0.6, 0.62), 1.0),
                );
                oval(
                    pm,
                    x - s * 0.04,
                    fy - h * 0.04,
                    s * 0.08,
                    s * 0.035,
                    &solid(Rgb(0.8, 0.12, 0.15), 1.0),
                );
            }
            for i in 0..3 {
                let x = w * (0.2 + i as f32 * 0.3);
                line(
                    pm,
                    &[(x, 0.0), (x, h * 0.1)],
                    2.0,
                    &solid(Rgb(0.2, 0.2, 0.2), 1.0),
                );
                circle(pm, x, h * 0.11, s * 0.025, &solid(Rgb(1.0, 0.85, 0.5), 1.0));
            }
            st.ground = cy + h * 0.005;
        }
        "bed" => {
            let (bx, by, bw, bh) = (w * 0.2, h * 0.5, w * 0.6, h * 0.22);
            rect(
                pm,
                bx - s * 0.02,
                by - h * 0.14,
                s * 0.04 + bw,
                h * 0.16,
                &solid(Rgb(0.45, 0.3, 0.2).scale(dim.max(0.6)), 1.0),
            );
            rounded(
                pm,
                bx,
                by,
                bw,
                bh,
                s * 0.02,
                &solid(Rgb(0.95, 0.95, 0.95).scale(dim.max(0.6)), 1.0),
            );
            rounded(
                pm,
                bx + bw * 0.05,
                by + s * 0.01,
                bw * 0.25,
                bh * 0.35,
                s * 0.02,
                &solid(Rgb(1.0, 1.0, 1.0).scale(dim.max(0.6)), 1.0),
            );
            let blanket = [
                Rgb(0.3, 0.45, 0.7),
                Rgb(0.7, 0.35, 0.35),
                Rgb(0.4, 0.6, 0.45),
            ][(rng.next() % 3) as usize];
            rounded(
                pm,
                bx + bw * 0.35,
                by + s * 0.005,
                bw * 0.65,
                bh,
                s * 0.02,
                &solid(blanket.scale(dim.max(0.6)), 1.0),
            );
            st.ground = by + bh * 0.3;
        }
        "station" => {
            // a roof of trusses, a platform edge and two rails
            let roof = Rgb(0.3, 0.32, 0.36);
            for i in 0..8 {
                let x = w * i as f32 / 7.0;
                line(
                    pm,
                    &[(x, 0.0), (w / 2.0, h * 0.35)],
                    s * 0.006,
                    &solid(roof, 0.8),
                );
            }
            rect(
                pm,
                0.0,
                h * 0.08,
                w,
                h * 0.3,
                &solid(
                    Rgb(0.75, 0.85, 0.92).scale(if l.night { 0.3 } else { 1.0 }),
                    0.35,
                ),
            );
            let py = h * 0.78;
            rect(pm, 0.0, py, w, s * 0.015, &solid(Rgb(0.95, 0.85, 0.2), 1.0));
            rect(
                pm,
                0.0,
                py + s * 0.015,
                w,
                h - py,
                &solid(Rgb(0.25, 0.22, 0.2), 1.0),
            );
            for k in 0..2 {
                rect(
                    pm,
                    0.0,
                    py + h * (0.07 + k as f32 * 0.08),
                    w,
                    s * 0.008,
                    &solid(Rgb(0.6, 0.6, 0.62), 1.0),
                );
            }
            // a hanging clock
            let (cx, cy) = (w * 0.5, h * 0.2);
            line(
                pm,
                &[(cx, 0.0), (cx, cy - s * 0.05)],
                2.0,
                &solid(roof, 1.0),
            );
            circle(pm, cx, cy, s * 0.05, &solid(Rgb(0.15, 0.15, 0.15), 1.0));
            circle(pm, cx, cy, s * 0.043, &solid(Rgb(0.97, 0.97, 0.95), 1.0));
            line(
                pm,
                &[(cx, cy), (cx, cy - s * 0.03)],
                s * 0.006,
                &solid(Rgb(0.1, 0.1, 0.1), 1.0),
            );
            line(
                pm,
                &[(cx, cy), (cx + s * 0.02, cy)],
                s * 0.006,
                &solid(Rgb(0.1, 0.1, 0.1), 1.0),
            );
            st.ground = py - s * 0.005;
            st.horizon = h * 0.55;
        }
        "studio" => {
            // a seamless sweep and a soft light
            let wall = Rgb::hex(b.wall.as_deref().unwrap_or("#d4d0ca"));
            let floor = Rgb::hex(b.floor.as_deref().unwrap_or("#c2beb6"));
            rect(pm, 0.0, 0.0, w, h, &vgradient(wall, floor, h * 0.2, h));
            glow(pm, w * 0.5, h * 0.45, s * 0.5, Rgb(1.0, 1.0, 1.0), 0.35);
            st.ground = h * 0.82;
        }
        "tables" => {
            for i in 0..2 {
                let x = w * (0.15 + i as f32 * 0.55);
                let y = h * 0.74;
                oval(
                    pm,
                    x,
                    y,
                    w * 0.2,
                    h * 0.04,
                    &solid(Rgb(0.45, 0.3, 0.2).scale(dim.max(0.6)), 1.0),
                );
                rect(
                    pm,
                    x + w * 0.095,
                    y + h * 0.03,
                    w * 0.01,
                    h * 0.12,
                    &solid(Rgb(0.3, 0.2, 0.12), 1.0),
                );
            }
        }
        "stage" => {
            let cur = Rgb(0.55, 0.08, 0.1);
            rect(pm, 0.0, 0.0, w * 0.14, h * 0.75, &solid(cur, 1.0));
            rect(pm, w * 0.86, 0.0, w * 0.14, h * 0.75, &solid(cur, 1.0));
            rect(pm, 0.0, 0.0, w, h * 0.08, &solid(cur.scale(0.8), 1.0));
            glow(pm, w * 0.5, h * 0.6, s * 0.35, Rgb(1.0, 0.95, 0.8), 0.45);
        }
        "cave" => {
            let rock = Rgb(0.18, 0.15, 0.13);
            let mut pts = vec![(0.0, 0.0), (w, 0.0), (w, h)];
            for i in (0..=10).rev() {
                let x = w * i as f32 / 10.0;
                let t = (x / w - 0.5).abs() * 2.0;
                pts.push((x, h * (0.15 + 0.7 * t * t) + rng.range(-0.03, 0.03) * h));
            }
            pts.push((0.0, h));
            polygon(pm, &pts, &solid(rock, 1.0));
        }
        _ => {}
    }
}

/// A window on the back wall that shows the time of day.
fn window(pm: &mut Pixmap, l: &Light, rng: &mut Rng, (x, y, ww, wh): (f32, f32, f32, f32)) {
    let s = pm.width().min(pm.height()) as f32;
    let (top, bottom) = pair(&data().sky, sky_key(l), "day");
    rect(pm, x, y, ww, wh, &vgradient(top, bottom, y, y + wh));
    if l.night {
        for _ in 0..12 {
            circle(
                pm,
                x + rng.range(0.05, 0.95) * ww,
                y + rng.range(0.05, 0.6) * wh,
                s * 0.002 + 0.5,
                &solid(Rgb(1.0, 1.0, 0.95), 0.9),
            );
        }
        circle(
            pm,
            x + ww * 0.72,
            y + wh * 0.28,
            s * 0.025,
            &solid(Rgb(0.96, 0.95, 0.86), 1.0),
        );
    } else if matches!(l.time, "sunset" | "sunrise" | "golden_hour") {
        circle(
            pm,
            x + ww * 0.4,
            y + wh * 0.8,
            s * 0.03,
            &solid(Rgb(1.0, 0.75, 0.4), 1.0),
        );
    }
    let frame = solid(Rgb(0.95, 0.93, 0.9), 1.0);
    let t = s * 0.01;
    rect(pm, x - t, y - t, ww + 2.0 * t, t, &frame);
    rect(pm, x - t, y + wh, ww + 2.0 * t, t, &frame);
    rect(pm, x - t, y, t, wh, &frame);
    rect(pm, x + ww, y, t, wh, &frame);
    rect(pm, x + ww / 2.0 - t / 2.0, y, t, wh, &frame);
    rect(pm, x, y + wh / 2.0 - t / 2.0, ww, t, &frame);
}

/// Rain, snow, fog or a storm, over everything.
pub fn weather(pm: &mut Pixmap, weather: Option<&str>, kind: Kind, rng: &mut Rng) {
    if !matches!(kind, Kind::Outdoor) {
        return;
    }
    let (w, h) = (pm.width() as f32, pm.height() as f32);
    let s = w.min(h);
    match weather {
        Some("rain") | Some("storm") => {
            let paint = solid(Rgb(0.8, 0.85, 0.95), 0.4);
            for _ in 0..((w * h) / 3000.0).min(3000.0) as usize {
                let (x, y) = (rng.range(-0.1 * w, w), rng.range(0.0, h));
                let len = s * rng.range(0.02, 0.05);
                line(
                    pm,
                    &[(x, y), (x + len * 0.3, y + len)],
                    (s / 700.0).max(1.0),
                    &paint,
                );
            }
            if weather == Some("storm") {
                let mut x = w * rng.range(0.2, 0.8);
                let mut y = 0.0;
                let mut pts = vec![(x, y)];
                while y < h * 0.5 {
                    x += s * rng.range(-0.04, 0.04);
                    y += s * rng.range(0.03, 0.07);
                    pts.push((x, y));
                }
                line(
                    pm,
                    &pts,
                    (s / 250.0).max(1.0),
                    &solid(Rgb(1.0, 1.0, 0.9), 0.9),
                );
            }
        }
        Some("snow") => {
            for _ in 0..((w * h) / 1500.0).min(5000.0) as usize {
                let (x, y) = (rng.range(0.0, w), rng.range(0.0, h));
                circle(
                    pm,
                    x,
                    y,
                    s * rng.range(0.002, 0.006),
                    &solid(Rgb(1.0, 1.0, 1.0), rng.range(0.6, 0.95)),
                );
            }
        }
        Some("fog") => {
            for i in 0..5 {
                let y = h * (0.3 + i as f32 * 0.12);
                let c = Rgb(0.88, 0.9, 0.92);
                let shader = LinearGradient::new(
                    Point::from_xy(0.0, y),
                    Point::from_xy(0.0, y + h * 0.25),
                    vec![
                        GradientStop::new(0.0, c.color(0.0)),
                        GradientStop::new(0.5, c.color(0.5)),
                        GradientStop::new(1.0, c.color(0.0)),
                    ],
                    SpreadMode::Pad,
                    Transform::identity(),
                );
                if let Some(shader) = shader {
                    rect(
                        pm,
                        0.0,
                        y,
                        w,
                        h * 0.25,
                        &Paint {
                            shader,
                            ..Default::default()
                        },
                    );
                }
            }
        }
        _ => {}
    }
}
