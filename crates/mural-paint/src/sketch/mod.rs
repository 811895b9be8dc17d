//! The sketch painter: a storyboard frame of a scene.
//!
//! It paints a [`Scene`] (the writer's structured reading of the idea), not
//! the words of a prompt: the backdrop of the setting (data/backdrops.toml,
//! with setting parents), the sky and light for the time of day, weather
//! only when the scene has it, each subject as an icon (Fluent Emoji,
//! data/icons/) at its count, tinted to its color, placed by the scene's
//! relations and sized by the writer's framing, quoted text on a board,
//! and designs (logos, app screens, posters) as designs. Deterministic by
//! seed. It is a composition study, not a neural image, and says so.

mod backdrop;
mod draw;
mod icons;
mod text;

use crate::{BoxFuture, Limits, PaintError, PaintRequest, Painted, Painter, Sizes, SourceType};
use draw::*;
use mural_prompt::{Entity, Scene};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use tiny_skia::Pixmap;

/// The model name the sketch records.
pub const SKETCH_MODEL: &str = "mural-sketch-1";

#[derive(Deserialize)]
struct IconRules {
    aloft: Vec<String>,
    afloat: Vec<String>,
    aged: BTreeMap<String, String>,
    boards: Vec<String>,
    flying: Vec<String>,
    sky_bodies: Vec<String>,
}

#[derive(Deserialize)]
struct SketchData {
    sky: BTreeMap<String, [String; 2]>,
    ground: BTreeMap<String, [String; 2]>,
    night_dim: f32,
    colors: BTreeMap<String, String>,
    moods: BTreeMap<String, [f32; 2]>,
    icons: IconRules,
}

fn data() -> &'static SketchData {
    static D: OnceLock<SketchData> = OnceLock::new();
    D.get_or_init(|| {
        toml::from_str(include_str!("../../data/sketch.toml"))
            .expect("data/sketch.toml is valid (tested)")
    })
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
            // the writer's scene of the idea, else the scene of the prompt
            let owned;
            let scene = match &req.scene {
                Some(s) => s,
                None => {
                    owned = mural_prompt::scene_of(&req.prompt);
                    &owned
                }
            };
            (0..req.n)
                .map(|i| {
                    let seed = req.seed.wrapping_add(i as u64);
                    let png = encode_png(&render_scene(scene, req.width, req.height, seed)?)?;
                    let mut params = serde_json::Map::new();
                    params.insert("sampler".into(), "sketch".into());
                    params.insert("steps".into(), 1.into());
                    params.insert("cfg_scale".into(), 0.into());
                    params.insert(
                        "note".into(),
                        "procedural storyboard sketch, not a neural image".into(),
                    );
                    params.insert(
                        "scene_from".into(),
                        if req.scene.is_some() {
                            "idea"
                        } else {
                            "prompt"
                        }
                        .into(),
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

/// Draws and encodes one sketch of the scene of `text`.
pub fn render_png(text: &str, width: u32, height: u32, seed: u64) -> Result<Vec<u8>, PaintError> {
    encode_png(&render(text, width, height, seed)?)
}

/// Draws the scene of `text` (an idea or any prompt).
pub fn render(text: &str, width: u32, height: u32, seed: u64) -> Result<Pixmap, PaintError> {
    render_scene(&mural_prompt::scene_of(text), width, height, seed)
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

fn color_named(name: &str) -> Option<Rgb> {
    data().colors.get(name).map(|h| Rgb::hex(h))
}

/// One thing to draw: an entity's icon (or labelled shape), its count,
/// tint and how it stands.
struct Subject {
    entity: usize,
    icon: Option<&'static str>,
    label: String,
    count: usize,
    tint: Option<Rgb>,
    aloft: bool,
    afloat: bool,
    board: bool,
    /// Relative size from the concept's scale.
    scale: f32,
}

/// A placed box: top-left and size.
#[derive(Clone, Copy)]
struct Placed {
    x: f32,
    y: f32,
    size: f32,
    z: i32,
    subject: usize,
    flip: bool,
}

/// What to draw: the entities that are not the setting itself (a design
/// draws those too: a coffee-shop logo is a mark of the coffee shop).
fn subjects(scene: &Scene, design: bool) -> Vec<Subject> {
    let d = data();
    let artifact_words: &[String] = scene
        .artifact
        .as_deref()
        .and_then(|a| mural_knowledge::world().artifact(a))
        .map(|a| a.words.as_slice())
        .unwrap_or(&[]);
    let mut out: Vec<Subject> = Vec::new();
    for (i, e) in scene.entities.iter().enumerate() {
        if (e.in_setting && !design) || e.kind.as_deref() == Some("abstract") {
            continue;
        }
        let mut icon = icons::icon_for(e.concept.as_deref(), &e.lemma);
        // a word WordNet does not know still gets its labelled shape
        if icon.is_none()
            && ((e.kind.is_none() && e.concept.is_some())
                || e.category == mural_knowledge::Category::Landscape)
        {
            continue; // a word that names no thing, or a place the backdrop draws
        }
        if !design && icon.is_some_and(|n| d.icons.sky_bodies.iter().any(|b| b == n)) {
            continue; // the sky draws its own sun and moon
        }
        if design
            && artifact_words
                .iter()
                .any(|w| w.split_whitespace().any(|x| x == e.lemma))
        {
            continue; // "screen" in "an app screen" is the design itself
        }
        if e.attributes
            .age
            .as_deref()
            .is_some_and(|a| a == "old" || a == "elderly")
        {
            if let Some(old) = icon.and_then(|n| d.icons.aged.get(n)) {
                icon = Some(old.as_str());
            }
        }
        let tint = e
            .attributes
            .colors
            .iter()
            .find_map(|c| color_named(c))
            .or_else(|| {
                // a color the idea names once, for its one subject
                (scene.entities.len() == 1)
                    .then(|| scene.colors.iter().find_map(|c| color_named(c)))
                    .flatten()
            });
        let flying = e.states.iter().any(|s| d.icons.flying.contains(s));
        let name = icon.unwrap_or("");
        let scale = match e
            .concept
            .as_deref()
            .and_then(|c| mural_knowledge::merged(c).scale)
        {
            Some("tiny") => 0.6,
            Some("small") => 0.8,
            Some("large") => 1.15,
            Some("huge" | "vast") => 1.3,
            _ => 1.0,
        };
        out.push(Subject {
            entity: i,
            icon,
            label: e.lemma.clone(),
            count: count_of(e),
            tint,
            aloft: flying || d.icons.aloft.iter().any(|a| a == name),
            afloat: d.icons.afloat.iter().any(|a| a == name),
            board: d.icons.boards.iter().any(|a| a == name),
            scale,
        });
        if out.len() == 5 {
            break;
        }
    }
    out
}

fn count_of(e: &Entity) -> usize {
    e.count
        .map(|c| c as usize)
        .unwrap_or(if e.plural { 3 } else { 1 })
        .clamp(1, 12)
}

/// The main subject's share of the short side, by framing.
fn framing_size(framing: &str) -> f32 {
    match framing {
        "macro" | "close_up" | "headshot" => 0.78,
        "portrait" => 0.66,
        "full_body" => 0.5,
        "medium" => 0.42,
        "wide" => 0.26,
        "extreme_wide" | "aerial" | "top_down" => 0.15,
        _ => 0.34,
    }
}

/// Draws the scene.
pub fn render_scene(
    scene: &Scene,
    width: u32,
    height: u32,
    seed: u64,
) -> Result<Pixmap, PaintError> {
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
    let framing = mural_prompt::framing_of(scene);
    // a design (logo, app screen, poster) is drawn as a design; a sign or
    // a product shot is a scene
    let artifact = scene
        .artifact
        .as_deref()
        .and_then(|a| mural_knowledge::world().artifact(a))
        .filter(|a| {
            matches!(
                a.framing.as_str(),
                "centered_mark" | "device_screen" | "flat_layout" | "top_down"
            )
        });
    if let Some(a) = artifact {
        let subs = subjects(scene, true);
        design(&mut pm, scene, &a.id, &a.framing, &subs, &mut rng);
        return Ok(pm);
    }
    let subs = subjects(scene, false);

    let d = data();
    let time = scene.time.clone().unwrap_or_default();
    let mood = scene
        .mood
        .as_ref()
        .and_then(|m| d.moods.get(m))
        .map(|v| (v[0], v[1]))
        .unwrap_or((1.0, 0.0));
    let light = backdrop::Light {
        time: &time,
        night: scene.is_night(),
        weather: scene.weather.as_deref().filter(|w| *w != "clear"),
        mood,
        winter: scene.season.as_deref() == Some("winter"),
        horizon: match framing {
            "top_down" => Some(0.0),
            "aerial" => Some(0.18),
            _ => None,
        },
    };
    let setting = scene.setting.as_ref().map(|p| p.id.as_str());
    let b = backdrop::backdrop_for(setting);
    let stage = backdrop::draw(&mut pm, b, &light, &mut rng);
    let placed = layout(
        scene,
        &subs,
        framing,
        &stage,
        &mut rng,
        (width as f32, height as f32),
    );
    draw_subjects(&mut pm, scene, &subs, &placed);
    backdrop::weather(&mut pm, light.weather, stage.kind, &mut rng);
    Ok(pm)
}

/// Places every subject: the ones no relation places go in a row on the
/// ground (in the sky when aloft, on the water when afloat), then each
/// related subject by its relation's layout to the thing it relates to.
fn layout(
    scene: &Scene,
    subs: &[Subject],
    framing: &str,
    stage: &backdrop::Stage,
    rng: &mut Rng,
    (w, h): (f32, f32),
) -> Vec<Placed> {
    let s = w.min(h);
    let world = mural_knowledge::world();
    let base = framing_size(framing);
    let by_entity = |e: usize| subs.iter().position(|x| x.entity == e);
    // relation subjects: (subject, anchor subject, layout)
    let mut related: Vec<(usize, usize, String)> = Vec::new();
    for r in &scene.relations {
        let (Some(a), Some(b)) = (by_entity(r.a), by_entity(r.b)) else {
            continue;
        };
        if a == b || related.iter().any(|x| x.0 == a) {
            continue;
        }
        let layout = world
            .relation(&r.id)
            .map(|f| f.layout.clone())
            .unwrap_or_else(|| "beside".into());
        related.push((a, b, layout));
    }
    // a relation whose anchor hangs, through other relations, on its own
    // subject (a on b, b under a) cannot be drawn: its subject stands alone
    loop {
        let cyclic = related.iter().position(|(a, b, _)| {
            let mut at = *b;
            for _ in 0..=related.len() {
                match related.iter().find(|r| r.0 == at) {
                    Some(r) if r.1 == *a => return true,
                    Some(r) => at = r.1,
                    None => return false,
                }
            }
            true
        });
        match cyclic {
            Some(i) => {
                related.remove(i);
            }
            None => break,
        }
    }
    let anchors: Vec<usize> = (0..subs.len())
        .filter(|i| !related.iter().any(|r| r.0 == *i))
        .collect();
    let mut placed: Vec<Placed> = Vec::new();
    let underwater = stage.kind == backdrop::Kind::Underwater;
    let space = stage.kind == backdrop::Kind::Space;

    // the ground row
    let ground_row: Vec<usize> = anchors
        .iter()
        .copied()
        .filter(|&i| !subs[i].aloft || underwater || space)
        .collect();
    let sky_row: Vec<usize> = anchors
        .iter()
        .copied()
        .filter(|&i| subs[i].aloft && !underwater && !space)
        .collect();
    let sizes: Vec<f32> = ground_row
        .iter()
        .map(|&i| {
            let main = if i == 0 { 1.0 } else { 0.8 };
            let many = match subs[i].count {
                1 => 1.0,
                2..=3 => 0.8,
                _ => 0.62,
            };
            (s * base * subs[i].scale * main * many).min(s * 0.85)
        })
        .collect();
    let total: f32 = ground_row
        .iter()
        .zip(&sizes)
        .map(|(&i, sz)| sz * 1.08 * subs[i].count.min(6) as f32)
        .sum();
    let shrink = if total > w * 0.94 {
        w * 0.94 / total
    } else {
        1.0
    };
    let total = total * shrink;
    // keep the row off the sun or moon when there is room
    let mut cx = w / 2.0;
    if let Some((lx, _, _)) = stage.light {
        if total < w * 0.6 {
            let away = if lx < w / 2.0 { 1.0 } else { -1.0 };
            cx = (w / 2.0 + away * (w * 0.5 - total / 2.0) * 0.6)
                .clamp(total / 2.0, w - total / 2.0);
        }
    }
    let mut x = cx - total / 2.0;
    for (&i, &sz) in ground_row.iter().zip(&sizes) {
        let sz = sz * shrink;
        let n = subs[i].count;
        let rows = if n > 6 { 2 } else { 1 };
        let per_row = n.div_ceil(rows);
        let row_w = sz * 1.08 * per_row as f32;
        let fixed_x = x;
        for k in 0..n {
            let (r, c) = (k / per_row, k % per_row);
            let depth = if rows == 2 && r == 0 { 0.8 } else { 1.0 };
            let size = sz * depth;
            let foot = if underwater || space {
                stage.ground - h * 0.12 + rng.range(-0.08, 0.08) * h
            } else if subs[i].afloat && stage.water.is_some() {
                stage.water.unwrap_or(stage.ground) + size * 0.15
            } else {
                stage.ground - if rows == 2 && r == 0 { sz * 0.35 } else { 0.0 }
            };
            let jitter = if n > 1 {
                rng.range(-0.05, 0.05) * sz
            } else {
                0.0
            };
            placed.push(Placed {
                x: fixed_x + c as f32 * sz * 1.08 + (sz * 1.08 - size) / 2.0 + jitter,
                y: foot - size,
                size,
                z: if rows == 2 && r == 0 { 0 } else { 1 },
                subject: i,
                flip: k % 2 == 1,
            });
        }
        x += row_w.max(sz * 1.08 * n.min(6) as f32);
    }
    // the sky row
    for &i in &sky_row {
        let n = subs[i].count;
        let sz = (s * base.min(0.4) * 0.8 * subs[i].scale).min(w * 0.8 / n as f32);
        let band = (stage.horizon - sz).max(sz * 0.5);
        for k in 0..n {
            let fx = (k as f32 + 0.5) / n as f32;
            placed.push(Placed {
                x: w * 0.06 + fx * w * 0.88 - sz / 2.0 + rng.range(-0.03, 0.03) * w,
                y: band * rng.range(0.12, 0.75),
                size: sz * rng.range(0.8, 1.0),
                z: 1,
                subject: i,
                flip: false,
            });
        }
    }
    // related subjects, by layout, relative to their anchor's first box,
    // anchors first (no cycles are left, so every one gets placed)
    let mut pending: Vec<&(usize, usize, String)> = related.iter().collect();
    while !pending.is_empty() {
        let Some(next) = pending
            .iter()
            .position(|(_, b, _)| placed.iter().any(|p| p.subject == *b))
        else {
            break;
        };
        let (a, b, layout) = pending.remove(next);
        let Some(anchor) = placed.iter().find(|p| p.subject == *b).copied() else {
            continue;
        };
        let n = subs[*a].count;
        let (ax, ay, asz) = (anchor.x, anchor.y, anchor.size);
        let mut put = |k: usize, x: f32, y: f32, size: f32, z: i32| {
            placed.push(Placed {
                x,
                y,
                size,
                z,
                subject: *a,
                flip: k % 2 == 1,
            })
        };
        match layout.as_str() {
            "on" | "stacked" => {
                let size = (asz * 0.55).min(asz * 1.2 / n as f32);
                let row = size * n as f32;
                for k in 0..n {
                    put(
                        k,
                        ax + asz / 2.0 - row / 2.0 + k as f32 * size,
                        ay + asz * 0.12 - size,
                        size,
                        3,
                    );
                }
            }
            "inside" => {
                let size = asz * 0.45 / (n as f32).sqrt();
                for k in 0..n {
                    let off = (k as f32 - (n - 1) as f32 / 2.0) * size * 0.6;
                    put(
                        k,
                        ax + asz / 2.0 - size / 2.0 + off,
                        ay + asz * 0.6 - size / 2.0,
                        size,
                        3,
                    );
                }
            }
            "around" => {
                let size = asz * 0.35;
                let r = asz * 0.75;
                let m = n.max(3);
                for k in 0..m {
                    let t = k as f32 / m as f32 * std::f32::consts::TAU;
                    put(
                        k,
                        ax + asz / 2.0 + t.cos() * r - size / 2.0,
                        ay + asz / 2.0 + t.sin() * r * 0.8 - size / 2.0,
                        size,
                        3,
                    );
                }
            }
            "above" => {
                let size = asz * 0.6;
                for k in 0..n {
                    put(
                        k,
                        ax + asz / 2.0 - size * n as f32 / 2.0 + k as f32 * size,
                        ay - size * 1.05,
                        size,
                        2,
                    );
                }
            }
            "below" | "under" => {
                let size = asz * 0.45;
                for k in 0..n {
                    put(
                        k,
                        ax + asz / 2.0 - size * n as f32 / 2.0 + k as f32 * size,
                        ay + asz - size,
                        size,
                        2,
                    );
                }
            }
            "behind" => {
                let size = asz * 0.85;
                for k in 0..n {
                    put(
                        k,
                        ax + asz * (0.35 + 0.3 * k as f32),
                        ay + asz - size - asz * 0.12,
                        size,
                        0,
                    );
                }
            }
            "in_front" => {
                let size = asz * 0.55;
                for k in 0..n {
                    put(
                        k,
                        ax + asz * (0.05 + 0.3 * k as f32),
                        ay + asz - size + asz * 0.1,
                        size,
                        4,
                    );
                }
            }
            "left_of" => {
                let size = asz * 0.85;
                for k in 0..n {
                    put(
                        k,
                        ax - size * 1.05 * (k + 1) as f32,
                        ay + asz - size,
                        size,
                        1,
                    );
                }
            }
            _ => {
                // beside, right_of, between and the rest
                let size = asz * 0.85;
                for k in 0..n {
                    put(
                        k,
                        ax + asz * 1.02 + size * 1.05 * k as f32,
                        ay + asz - size,
                        size,
                        1,
                    );
                }
            }
        }
    }
    // keep boxes inside the frame
    for p in &mut placed {
        p.x = p.x.clamp(-p.size * 0.1, w - p.size * 0.9);
        p.y = p.y.clamp(-p.size * 0.1, h - p.size * 0.9);
    }
    placed.sort_by_key(|p| p.z);
    placed
}

fn draw_subjects(pm: &mut Pixmap, scene: &Scene, subs: &[Subject], placed: &[Placed]) {
    let mut text_used = false;
    for p in placed {
        let sub = &subs[p.subject];
        if sub.board
            || (!scene.quoted.is_empty()
                && !text_used
                && sub.icon.is_none()
                && is_board_word(&sub.label))
        {
            board(
                pm,
                (p.x, p.y, p.size),
                if text_used { "" } else { quoted(scene) },
                sub.tint,
            );
            text_used = true;
            continue;
        }
        let drawn = sub
            .icon
            .is_some_and(|name| icons::draw(pm, name, (p.x, p.y, p.size), sub.tint, p.flip));
        if !drawn {
            labelled_shape(pm, (p.x, p.y, p.size), &sub.label, sub.tint);
        }
    }
    // quoted text with nothing to carry it: a sign beside the main subject
    if !scene.quoted.is_empty() && !text_used {
        let (w, h) = (pm.width() as f32, pm.height() as f32);
        let s = w.min(h);
        let main = placed.first();
        let size = if main.is_some() { s * 0.34 } else { s * 0.6 };
        let (x, y) = match main {
            Some(p) if p.x + p.size + size < w => (p.x + p.size + s * 0.02, p.y + p.size - size),
            Some(p) if p.x - size > 0.0 => (p.x - size - s * 0.02, p.y + p.size - size),
            _ => ((w - size) / 2.0, h * 0.9 - size),
        };
        board(pm, (x, y.max(0.0), size), quoted(scene), None);
    }
}

fn quoted(scene: &Scene) -> &str {
    scene.quoted.first().map(String::as_str).unwrap_or("")
}

fn is_board_word(word: &str) -> bool {
    matches!(
        word,
        "sign"
            | "banner"
            | "billboard"
            | "signboard"
            | "placard"
            | "label"
            | "menu"
            | "poster"
            | "board"
            | "plaque"
    )
}

/// A signboard on two posts with the text on it, in the box (x, y, size).
fn board(pm: &mut Pixmap, (x, y, size): (f32, f32, f32), words: &str, tint: Option<Rgb>) {
    let face = tint.unwrap_or(Rgb(0.97, 0.95, 0.88));
    let ink = if face.luma() > 0.5 {
        Rgb(0.08, 0.08, 0.1)
    } else {
        Rgb(0.98, 0.98, 0.98)
    };
    let (bw, bh) = (size, size * 0.55);
    let post = solid(Rgb(0.35, 0.24, 0.15), 1.0);
    rect(
        pm,
        x + bw * 0.2,
        y + bh * 0.5,
        size * 0.05,
        size - bh * 0.5,
        &post,
    );
    rect(
        pm,
        x + bw * 0.75,
        y + bh * 0.5,
        size * 0.05,
        size - bh * 0.5,
        &post,
    );
    rounded(
        pm,
        x,
        y,
        bw,
        bh,
        size * 0.03,
        &solid(Rgb(0.3, 0.2, 0.12), 1.0),
    );
    let m = size * 0.03;
    rounded(
        pm,
        x + m,
        y + m,
        bw - 2.0 * m,
        bh - 2.0 * m,
        size * 0.02,
        &solid(face, 1.0),
    );
    if !words.is_empty() {
        text::draw_in_box(
            pm,
            words,
            (x + m * 2.5, y + m * 2.5, bw - m * 5.0, bh - m * 5.0),
            ink,
        );
    }
}

/// The last resort: a plain shape with the thing's name on it.
fn labelled_shape(pm: &mut Pixmap, (x, y, size): (f32, f32, f32), label: &str, tint: Option<Rgb>) {
    let fill = tint.unwrap_or(Rgb(0.72, 0.72, 0.75));
    let ink = if fill.luma() > 0.5 {
        Rgb(0.1, 0.1, 0.12)
    } else {
        Rgb(0.97, 0.97, 0.97)
    };
    rounded(
        pm,
        x + size * 0.05,
        y + size * 0.2,
        size * 0.9,
        size * 0.8,
        size * 0.12,
        &solid(fill.scale(0.7), 1.0),
    );
    rounded(
        pm,
        x + size * 0.08,
        y + size * 0.23,
        size * 0.84,
        size * 0.74,
        size * 0.1,
        &solid(fill, 1.0),
    );
    text::draw_in_box(
        pm,
        label,
        (x + size * 0.14, y + size * 0.35, size * 0.72, size * 0.5),
        ink,
    );
}

/// Designs: a logo or icon is one centered mark on a plain ground; an app
/// screen is a device frame with placeholder UI; a poster, card or menu is
/// a sheet with its title, subject and placeholder lines.
fn design(
    pm: &mut Pixmap,
    scene: &Scene,
    id: &str,
    framing: &str,
    subs: &[Subject],
    rng: &mut Rng,
) {
    let (w, h) = (pm.width() as f32, pm.height() as f32);
    let s = w.min(h);
    let accent = scene
        .colors
        .iter()
        .find_map(|c| color_named(c))
        .or_else(|| subs.iter().find_map(|x| x.tint))
        .unwrap_or(
            [
                Rgb(0.2, 0.45, 0.75),
                Rgb(0.8, 0.3, 0.25),
                Rgb(0.2, 0.6, 0.45),
                Rgb(0.45, 0.3, 0.7),
            ][(rng.next() % 4) as usize],
        );
    let main = subs.iter().find(|x| x.icon.is_some()).or(subs.first());
    let title = scene.quoted.first().cloned().unwrap_or_default();
    let mark = |pm: &mut Pixmap, (x, y, size): (f32, f32, f32)| match main {
        Some(m) if m.icon.is_some() => {
            icons::draw(pm, m.icon.unwrap_or_default(), (x, y, size), m.tint, false);
        }
        Some(m) => labelled_shape(pm, (x, y, size), &m.label, Some(accent)),
        None => {
            let name = scene
                .main()
                .map(|e| e.lemma.as_str())
                .unwrap_or(&scene.idea);
            let initial: String = name
                .chars()
                .filter(|c| c.is_alphanumeric())
                .take(1)
                .collect();
            circle(
                pm,
                x + size / 2.0,
                y + size / 2.0,
                size * 0.45,
                &solid(accent, 1.0),
            );
            text::draw_in_box(
                pm,
                &initial.to_uppercase(),
                (x + size * 0.2, y + size * 0.2, size * 0.6, size * 0.6),
                Rgb(1.0, 1.0, 1.0),
            );
        }
    };
    match framing {
        "centered_mark" => {
            // a plain ground, tinted so a mark's white parts still show
            rect(
                pm,
                0.0,
                0.0,
                w,
                h,
                &solid(accent.mix(Rgb(0.95, 0.95, 0.95), 0.82), 1.0),
            );
            if id == "wordmark" && !title.is_empty() {
                text::draw_in_box(
                    pm,
                    &title,
                    (w * 0.1, h * 0.35, w * 0.8, h * 0.3),
                    accent.scale(0.8),
                );
                return;
            }
            let size = s * 0.5;
            let y = if title.is_empty() {
                (h - size) / 2.0
            } else {
                h * 0.4 - size / 2.0
            };
            mark(pm, ((w - size) / 2.0, y, size));
            if !title.is_empty() {
                text::draw_in_box(
                    pm,
                    &title,
                    (w * 0.15, y + size + s * 0.04, w * 0.7, s * 0.14),
                    Rgb(0.12, 0.12, 0.14),
                );
            }
        }
        "device_screen" => {
            rect(
                pm,
                0.0,
                0.0,
                w,
                h,
                &vgradient(Rgb(0.88, 0.9, 0.93), Rgb(0.75, 0.78, 0.82), 0.0, h),
            );
            let phone = id == "app_screen";
            let (fw, fh) = if phone {
                (h * 0.86 * 0.5, h * 0.86)
            } else {
                (w * 0.86, (w * 0.86 * 0.62).min(h * 0.8))
            };
            let (fw, fh) = (fw.min(w * 0.9), fh);
            let (fx, fy) = ((w - fw) / 2.0, (h - fh) / 2.0);
            rounded(
                pm,
                fx,
                fy,
                fw,
                fh,
                s * 0.04,
                &solid(Rgb(0.1, 0.1, 0.12), 1.0),
            );
            let m = s * 0.02;
            let (sx, sy, sw, sh) = (fx + m, fy + m * 2.0, fw - 2.0 * m, fh - m * 4.0);
            rect(pm, sx, sy, sw, sh, &solid(Rgb(0.98, 0.98, 0.99), 1.0));
            rect(pm, sx, sy, sw, sh * 0.1, &solid(accent, 1.0));
            let heading = if title.is_empty() {
                main.map(|m| m.label.clone()).unwrap_or_default()
            } else {
                title.clone()
            };
            text::draw_in_box(
                pm,
                &heading,
                (sx + sw * 0.05, sy + sh * 0.015, sw * 0.9, sh * 0.07),
                Rgb(1.0, 1.0, 1.0),
            );
            rounded(
                pm,
                sx + sw * 0.05,
                sy + sh * 0.13,
                sw * 0.9,
                sh * 0.3,
                s * 0.015,
                &solid(accent.mix(Rgb(1.0, 1.0, 1.0), 0.8), 1.0),
            );
            let icon = sh * 0.24;
            mark(pm, (sx + sw / 2.0 - icon / 2.0, sy + sh * 0.16, icon));
            for k in 0..4 {
                let y = sy + sh * (0.48 + k as f32 * 0.1);
                circle(
                    pm,
                    sx + sw * 0.1,
                    y + sh * 0.03,
                    sh * 0.025,
                    &solid(accent.mix(Rgb(1.0, 1.0, 1.0), 0.4), 1.0),
                );
                rounded(
                    pm,
                    sx + sw * 0.2,
                    y + sh * 0.015,
                    sw * rng.range(0.4, 0.7),
                    sh * 0.025,
                    sh * 0.01,
                    &solid(Rgb(0.8, 0.8, 0.82), 1.0),
                );
            }
            rounded(
                pm,
                sx + sw * 0.25,
                sy + sh * 0.88,
                sw * 0.5,
                sh * 0.07,
                sh * 0.035,
                &solid(accent, 1.0),
            );
        }
        _ => {
            // a sheet: poster, card, menu, cover, label ...
            rect(pm, 0.0, 0.0, w, h, &solid(Rgb(0.55, 0.5, 0.45), 1.0));
            let (px, py, pw, ph) = (w * 0.1, h * 0.06, w * 0.8, h * 0.88);
            rect(
                pm,
                px + s * 0.01,
                py + s * 0.012,
                pw,
                ph,
                &solid(Rgb(0.3, 0.27, 0.24), 1.0),
            );
            rect(pm, px, py, pw, ph, &solid(Rgb(0.98, 0.96, 0.9), 1.0));
            rect(pm, px, py, pw, ph * 0.2, &solid(accent, 1.0));
            let heading = if title.is_empty() {
                main.map(|m| m.label.clone())
                    .unwrap_or_else(|| id.replace('_', " "))
            } else {
                title.clone()
            };
            text::draw_in_box(
                pm,
                &heading,
                (px + pw * 0.06, py + ph * 0.03, pw * 0.88, ph * 0.14),
                Rgb(1.0, 1.0, 1.0),
            );
            if let Some(m) = main {
                let n = m.count.min(6);
                let size = (pw * 0.8 / n as f32).min(ph * 0.32);
                for k in 0..n {
                    let x = px + pw / 2.0 - size * n as f32 / 2.0 + k as f32 * size;
                    match m.icon {
                        Some(icon) => {
                            icons::draw(pm, icon, (x, py + ph * 0.25, size), m.tint, false);
                        }
                        None => {
                            labelled_shape(pm, (x, py + ph * 0.25, size), &m.label, Some(accent))
                        }
                    }
                }
            }
            for k in 0..5 {
                let y = py + ph * (0.64 + k as f32 * 0.06);
                rounded(
                    pm,
                    px + pw * 0.1,
                    y,
                    pw * rng.range(0.5, 0.8),
                    ph * 0.02,
                    ph * 0.01,
                    &solid(Rgb(0.7, 0.68, 0.64), 1.0),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_parses() {
        let d = data();
        assert!(d.sky.contains_key("day") && d.ground.contains_key("default"));
        for name in d
            .icons
            .aloft
            .iter()
            .chain(&d.icons.afloat)
            .chain(&d.icons.boards)
        {
            assert!(
                icons::exists(name),
                "sketch.toml names a missing icon {name}"
            );
        }
        for (from, to) in &d.icons.aged {
            assert!(icons::exists(from) && icons::exists(to), "{from} -> {to}");
        }
    }

    #[test]
    fn every_backdrop_is_a_setting_and_draws() {
        let w = mural_knowledge::world();
        let text = include_str!("../../data/backdrops.toml");
        let all: toml::Value = toml::from_str(text).unwrap();
        for (id, _) in all["backdrop"].as_table().unwrap() {
            if id != "land" && id != "room" {
                assert!(w.setting(id).is_some(), "backdrops.toml: no setting {id}");
            }
        }
        for s in &w.settings {
            let mut scene = mural_prompt::scene_of("a thing");
            scene.setting = Some(mural_prompt::Place {
                id: s.id.clone(),
                stated: true,
            });
            render_scene(&scene, 96, 64, 3).unwrap();
        }
    }

    #[test]
    fn deterministic_by_seed_and_seed_matters() {
        let a = render_png("a lighthouse on a cliff at dusk", 128, 96, 5).unwrap();
        let b = render_png("a lighthouse on a cliff at dusk", 128, 96, 5).unwrap();
        let c = render_png("a lighthouse on a cliff at dusk", 128, 96, 6).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn any_size_from_64_to_4096() {
        assert!(render("a fox", 64, 64, 1).is_ok());
        assert!(render("a fox", 63, 64, 1).is_err());
        assert!(render("a fox", 4097, 64, 1).is_err());
        let p = render("three red apples on a table", 300, 120, 1).unwrap();
        assert_eq!((p.width(), p.height()), (300, 120));
    }
}
