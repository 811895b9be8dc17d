//! Subjects as icons: Microsoft's Fluent Emoji (flat, MIT), a curated
//! subset shipped as data (`data/icons/`), rendered with resvg.
//!
//! A concept maps to an icon through `concepts.toml` (keyed by WordNet
//! synset), else through its nearest hypernym's icon (heron -> bird), else
//! through the word when WordNet lacks it. The pack is decompressed and
//! parsed only when a sketch first needs an icon, and every parsed tree
//! (per icon and tint) is cached for the process.

use super::draw::Rgb;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::{Arc, Mutex, OnceLock};
use tiny_skia::{Pixmap, Transform};

static PACK: &[u8] = include_bytes!("../../data/icons/icons.json.gz");

#[derive(Deserialize)]
struct Pack {
    width: f32,
    height: f32,
    icons: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Concepts {
    concepts: BTreeMap<String, String>,
    words: BTreeMap<String, String>,
}

fn pack() -> &'static Pack {
    static P: OnceLock<Pack> = OnceLock::new();
    P.get_or_init(|| {
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(PACK)
            .read_to_end(&mut json)
            .expect("data/icons/icons.json.gz is valid gzip (tested)");
        serde_json::from_slice(&json).expect("data/icons/icons.json.gz is valid (tested)")
    })
}

fn concepts() -> &'static Concepts {
    static C: OnceLock<Concepts> = OnceLock::new();
    C.get_or_init(|| {
        toml::from_str(include_str!("../../data/icons/concepts.toml"))
            .expect("data/icons/concepts.toml is valid (tested)")
    })
}

/// The icon for a concept (or its nearest hypernym's), else for the word.
pub fn icon_for(concept: Option<&str>, lemma: &str) -> Option<&'static str> {
    let c = concepts();
    if let Some(concept) = concept {
        let mut at = Some(concept);
        let mut steps = 0;
        while let Some(s) = at {
            if let Some(icon) = c.concepts.get(s) {
                return Some(icon.as_str());
            }
            at = mural_knowledge::wordnet::hypernym(s);
            steps += 1;
            if steps > 24 {
                break;
            }
        }
    }
    c.words.get(&lemma.to_lowercase()).map(String::as_str)
}

/// Whether the pack has this icon.
#[cfg(test)]
pub fn exists(name: &str) -> bool {
    pack().icons.contains_key(name)
}

type Cache = Mutex<HashMap<(String, Option<String>), Arc<resvg::usvg::Tree>>>;

fn cache() -> &'static Cache {
    static C: OnceLock<Cache> = OnceLock::new();
    C.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The parsed icon, tinted toward `tint` when given.
fn tree(name: &str, tint: Option<Rgb>) -> Option<Arc<resvg::usvg::Tree>> {
    let key = (name.to_string(), tint.map(Rgb::to_hex));
    if let Some(t) = cache().lock().ok()?.get(&key) {
        return Some(t.clone());
    }
    let p = pack();
    let body = p.icons.get(name)?;
    let body = match tint {
        Some(t) => recolor(body, t, main_hue(name)),
        None => body.clone(),
    };
    let svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">{body}</svg>"#,
        w = p.width,
        h = p.height
    );
    let tree = Arc::new(resvg::usvg::Tree::from_str(&svg, &resvg::usvg::Options::default()).ok()?);
    if let Ok(mut c) = cache().lock() {
        c.insert(key, tree.clone());
    }
    Some(tree)
}

/// The hue most of the icon's colored area has, measured on the icon
/// itself rendered small (path text length says nothing of area).
fn main_hue(name: &str) -> Option<f32> {
    let t = tree(name, None)?;
    let mut pm = Pixmap::new(32, 32)?;
    let k = 32.0 / pack().width.max(pack().height);
    resvg::render(&t, Transform::from_scale(k, k), &mut pm.as_mut());
    let mut weights = [0f32; 12];
    for p in pm.pixels() {
        let a = p.alpha();
        if a < 128 {
            continue;
        }
        let c = p.demultiply();
        let rgb = Rgb(
            c.red() as f32 / 255.0,
            c.green() as f32 / 255.0,
            c.blue() as f32 / 255.0,
        );
        let (h, s, l) = rgb.hsl();
        if s > 0.3 && (0.12..0.92).contains(&l) {
            weights[((h / 30.0) as usize).min(11)] += 1.0;
        }
    }
    weights
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .filter(|(_, w)| **w > 0.0)
        .map(|(i, _)| i as f32 * 30.0 + 15.0)
}

/// Draws icon `name` into the box (x, y, size, size), mirrored when `flip`.
/// Returns false when there is no such icon.
pub fn draw(
    pm: &mut Pixmap,
    name: &str,
    (x, y, size): (f32, f32, f32),
    tint: Option<Rgb>,
    flip: bool,
) -> bool {
    let Some(t) = tree(name, tint) else {
        return false;
    };
    let k = size / pack().width.max(pack().height);
    let transform = if flip {
        Transform::from_row(-k, 0.0, 0.0, k, x + size, y)
    } else {
        Transform::from_row(k, 0.0, 0.0, k, x, y)
    };
    resvg::render(&t, transform, &mut pm.as_mut());
    true
}

/// Shifts the icon's main hue family toward `to`: every saturated fill
/// within 50 degrees of the main hue takes the target's hue and
/// saturation, keeping its own lightness (so shading survives). Greys,
/// blacks and whites (eyes, tires, highlights) stay.
fn recolor(body: &str, to: Rgb, main: Option<f32>) -> String {
    let (th, ts, tl) = to.hsl();
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(i) = rest.find('#') {
        out.push_str(&rest[..i]);
        let hex: String = rest[i + 1..]
            .chars()
            .take_while(|c| c.is_ascii_hexdigit())
            .collect();
        if hex.len() == 6 {
            let c = Rgb::hex(&hex);
            let (h, s, l) = c.hsl();
            let near = main.is_some_and(|m| {
                let d = (h - m).abs();
                d.min(360.0 - d) <= 50.0
            });
            let new = if s > 0.3 && near {
                // black and white targets: grey out, keeping relative shade
                if ts < 0.12 {
                    Rgb::from_hsl(0.0, 0.0, (tl + (l - 0.5) * 0.5).clamp(0.03, 0.97))
                } else {
                    Rgb::from_hsl(th, ts.max(0.45), (l * 0.5 + tl * 0.5).clamp(0.08, 0.9))
                }
            } else {
                c
            };
            out.push_str(&new.to_hex());
            rest = &rest[i + 1 + hex.len()..];
        } else {
            out.push('#');
            rest = &rest[i + 1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_and_table_agree() {
        let c = concepts();
        for icon in c.concepts.values().chain(c.words.values()) {
            assert!(exists(icon), "concepts.toml names a missing icon {icon}");
        }
        assert!(pack().icons.len() >= 300);
    }

    #[test]
    fn hypernyms_fall_back() {
        assert_eq!(icon_for(Some("apple.n.01"), "apple"), Some("red-apple"));
        // a heron has no icon of its own: a wading bird's
        assert!(icon_for(Some("heron.n.02"), "heron").is_some());
        assert_eq!(icon_for(Some("no_such.n.01"), "zzz"), None);
    }

    #[test]
    fn recolor_moves_the_main_hue_only() {
        let body = r##"<path fill="#F8312F" d="M0 0h10v10H0z"/><path fill="#1C1C1C" d="M1 1h1"/>"##;
        let out = recolor(body, Rgb(0.1, 0.3, 0.9), Some(15.0));
        assert!(out.contains("#1c1c1c"), "greys stay: {out}");
        let hex = &out[out.find('#').unwrap() + 1..][..6];
        let c = Rgb::hex(hex);
        assert!(c.2 > c.0, "red became blue: {out}");
        // the car's body is its main hue, not its windows
        assert!(main_hue("automobile").is_some_and(|h| !(90.0..270.0).contains(&h)));
    }
}
