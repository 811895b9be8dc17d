//! Analysis -> structured prompt: the built-in writer's choices.
//!
//! Every choice is a pick from the knowledge data, filtered so it fits the
//! idea (no daylight at night, no color in black and white, no lens talk for
//! a watercolor, nothing the idea excludes) and rotated by the seed, so seeds
//! S, S+1, S+2 ... give distinct variations and each reproduces from its seed.

use crate::analysis::Analysis;
use crate::check::{terms, Forbidden};
use mural_knowledge::{
    knowledge, Category, CategoryInfo, Composition, Detail, Lighting, Medium, Mood, Palette, Scene,
    Setting, Style,
};
use serde::Serialize;

/// What the writer decided, before any target's formatting.
#[derive(Debug, Clone, Serialize)]
pub struct Structured {
    pub seed: u64,
    /// The idea (or the user's prompt, when varying), verbatim.
    pub subject: String,
    /// The idea is a full sentence, or a prompt being varied.
    pub sentence: bool,
    pub medium: String,
    /// The prose opens with the idea itself, not "a photograph of" + idea
    /// (the idea is a sentence, names its medium, or names a depiction).
    pub bare_opening: bool,
    /// The prose needs a sentence naming the medium, because the opening
    /// does not ("a logo ..." is drawn as a flat vector illustration).
    pub medium_sentence: bool,
    pub photographic: bool,
    pub graphic: bool,
    pub style: Option<String>,
    /// Details in order of importance: the first goes with the subject.
    pub details: Vec<String>,
    pub detail_tags: Vec<String>,
    pub lighting: Option<String>,
    pub lighting_tags: Vec<String>,
    pub palette: String,
    pub palette_tags: Vec<String>,
    pub mood: String,
    pub mood_tags: Vec<String>,
    pub composition: String,
    pub composition_tags: Vec<String>,
    /// Lens language; only for photographic media.
    pub camera: Option<String>,
    pub technique: String,
    pub style_prose: Vec<String>,
    pub medium_tags: Vec<String>,
    pub negative: Vec<String>,
    /// What the idea excludes ("people").
    pub negations: Vec<String>,
    pub aspect: (u32, u32),
    pub stylize: u32,
    /// Where the horizon sits (fraction of height from the top).
    pub horizon: f32,
    pub quoted: Vec<String>,
    #[serde(skip)]
    pub(crate) idea_hash: u64,
}

impl Structured {
    pub(crate) fn picker(&self) -> Picker {
        Picker {
            seed: self.seed,
            idea_hash: self.idea_hash,
        }
    }
}

/// Seeded picks that rotate with the seed: consecutive seeds give
/// different entries on every axis (up to the list's length).
pub(crate) struct Picker {
    seed: u64,
    idea_hash: u64,
}

/// FNV-1a: stable on every machine and Rust version.
pub(crate) fn fnv(bytes: &[u8], mut h: u64) -> u64 {
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

const FNV_BASIS: u64 = 0xcbf29ce484222325;

impl Picker {
    pub(crate) fn new(idea: &str, seed: u64) -> Picker {
        Picker {
            seed,
            idea_hash: fnv(idea.to_lowercase().as_bytes(), FNV_BASIS),
        }
    }

    pub(crate) fn index(&self, axis: &str, len: usize) -> usize {
        if len <= 1 {
            return 0;
        }
        let offset = fnv(axis.as_bytes(), self.idea_hash) as u128;
        let stride = [7u128, 11, 13, 17, 19, 23, 29, 31]
            .into_iter()
            .find(|p| (len as u128) % p != 0)
            .unwrap_or(1);
        ((offset + self.seed as u128 * stride) % len as u128) as usize
    }

    pub(crate) fn pick<'a, T>(&self, axis: &str, items: &[&'a T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            Some(items[self.index(axis, items.len())])
        }
    }

    /// `n` distinct items, rotated from a seeded start.
    pub(crate) fn take<T: Clone>(&self, axis: &str, items: &[T], n: usize) -> Vec<T> {
        if items.is_empty() {
            return Vec::new();
        }
        let start = self.index(axis, items.len());
        (0..n.min(items.len()))
            .map(|i| items[(start + i) % items.len()].clone())
            .collect()
    }
}

/// Whether a scene detail fits the idea's time, weather and season.
fn detail_fits(d: &Detail, a: &Analysis, time: Option<&str>) -> bool {
    let night = time
        .and_then(|t| knowledge().time(t))
        .is_some_and(|t| t.night);
    if d.night && !night || d.not_night && night {
        return false;
    }
    if !d.times.is_empty() && !time.is_some_and(|t| d.times.iter().any(|x| x == t)) {
        return false;
    }
    if time.is_some_and(|t| d.not_times.iter().any(|x| x == t)) {
        return false;
    }
    if a.weather
        .as_ref()
        .is_some_and(|w| d.not_weather.contains(w))
    {
        return false;
    }
    if a.season.as_ref().is_some_and(|s| d.not_seasons.contains(s)) {
        return false;
    }
    true
}

/// Options for a structured prompt.
#[derive(Debug, Clone, Copy, Default)]
pub struct ComposeOptions<'a> {
    pub style: Option<&'a Style>,
    /// Vary a user's own prompt: keep it whole, vary only the look.
    pub vary: bool,
}

fn category_info(a: &Analysis) -> &'static CategoryInfo {
    knowledge().category(a.category.unwrap_or(Category::Abstract))
}

/// Writes the structured prompt for `a` with `seed`.
pub fn compose(a: &Analysis, seed: u64, opts: ComposeOptions) -> Structured {
    let k = knowledge();
    let p = Picker::new(&a.idea, seed);
    let forbid = Forbidden::for_analysis(a);
    let ok = |text: &str| forbid.allows(text);
    let cat = category_info(a);

    // Medium: named in the idea, else the style's, else a hand-made one for
    // an artist, else the category's.
    let style = opts.style;
    let medium: &Medium = a
        .medium
        .as_deref()
        .or(style.map(|s| s.medium.as_str()))
        .or(a.artist.as_ref().map(|_| "painting"))
        .and_then(|m| k.medium(m))
        .unwrap_or_else(|| {
            let ids: Vec<&String> = cat.media.iter().collect();
            let id = p.pick("medium", &ids).expect("every category lists media");
            k.medium(id).expect("category media resolve (tested)")
        });
    // A style whose medium clashes with the idea's named medium keeps the
    // idea's medium; the style still brings its look where it can.
    let photographic = medium.photographic && !a.non_photographic();
    // Designs (logos, line art) get no scenery: their knowledge is the text
    // category's (legible lettering, a clean background).
    let graphic = medium.graphic;
    let cat = if graphic {
        k.category(Category::Text)
    } else {
        cat
    };
    let scene: Option<&Scene> = a
        .scene
        .as_ref()
        .filter(|_| !graphic)
        .and_then(|s| k.scenes.iter().find(|x| &x.id == s));
    let setting = scene.map(|s| s.setting);

    // Time: the idea's, else the one a chosen light implies, never invented
    // for indoor scenes.
    let time = a.time.clone().filter(|_| !graphic);
    let bad_weather = matches!(
        a.weather.as_deref(),
        Some("rain" | "storm" | "fog" | "cloudy" | "snow")
    );

    // Lighting.
    let lights: Vec<&Lighting> = k
        .lighting
        .iter()
        .filter(|l| match (setting, l.setting) {
            (_, Setting::Any) => true,
            (Some(Setting::Indoor), Setting::Outdoor) => false,
            (Some(Setting::Outdoor), Setting::Indoor) => false,
            (None, Setting::Indoor) => matches!(cat.id.as_str(), "person" | "food" | "object"),
            _ => true,
        })
        .filter(|l| !(bad_weather && l.sunny))
        .filter(|l| match &time {
            Some(t) => l.times.is_empty() || l.times.contains(t),
            None => true,
        })
        .filter(|l| l.for_categories.is_empty() || l.for_categories.contains(&cat.id))
        .filter(|l| photographic || !l.photo_only)
        .filter(|l| l.scenes.is_empty() || scene.is_none_or(|s| l.scenes.contains(&s.id)))
        .filter(|l| ok(&l.text))
        .collect();
    let preferred: Vec<&Lighting> = lights
        .iter()
        .copied()
        .filter(|l| cat.lighting.contains(&l.id))
        .collect();
    let timed: Vec<&Lighting> = lights
        .iter()
        .copied()
        .filter(|l| time.as_ref().is_some_and(|t| l.times.contains(t)))
        .collect();
    let keeps_own_light = opts.vary
        && crate::text::lower_words(&a.idea)
            .iter()
            .any(|w| k.lexicon.terms.lighting.contains(w));
    let lighting = if graphic || keeps_own_light {
        None
    } else if !timed.is_empty() {
        p.pick("lighting", &timed)
    } else if time.is_none() && !preferred.is_empty() {
        p.pick("lighting", &preferred)
    } else {
        p.pick("lighting", &lights)
    };
    // The time the scene is set at: the idea's, or the one the light implies
    // when it names exactly one.
    let effective_time: Option<String> = time.clone().or_else(|| {
        lighting
            .filter(|l| l.times.len() == 1)
            .map(|l| l.times[0].clone())
    });
    let et = effective_time.as_deref();

    // Palette.
    let mono = a.monochrome || style.is_some_and(|s| s.monochrome);
    let palettes: Vec<&Palette> = k
        .palettes
        .iter()
        .filter(|pl| pl.mono == mono)
        .filter(|pl| match et {
            Some(t) => pl.times.is_empty() || pl.times.iter().any(|x| x == t),
            None => pl.times.is_empty() || cat.palettes.contains(&pl.id),
        })
        .filter(|pl| ok(&pl.text))
        .filter(|pl| pl.scenes.is_empty() || scene.is_none_or(|s| pl.scenes.contains(&s.id)))
        // colors the idea names are kept; the palette only supports them
        .filter(|pl| {
            a.colors.is_empty() || !terms().colors.hits(&crate::text::lower_words(&pl.text))
        })
        .collect();
    let timed: Vec<&Palette> = palettes
        .iter()
        .copied()
        .filter(|pl| et.is_some_and(|t| pl.times.iter().any(|x| x == t)))
        .collect();
    let palette = p
        .pick("palette", if timed.is_empty() { &palettes } else { &timed })
        .or_else(|| k.palettes.iter().find(|pl| pl.mono == mono))
        .expect("palettes.toml has mono and color palettes (tested)");
    let palette_text = palette.text.clone();

    // Mood.
    let mood: &Mood = a
        .mood
        .as_deref()
        .and_then(|m| k.mood(m))
        .unwrap_or_else(|| {
            // the place's moods when there is one, else the subject's
            let ids: Vec<&String> = match scene {
                Some(s) => s.moods.iter().collect(),
                None => cat.moods.iter().collect(),
            };
            let moods: Vec<&Mood> = ids
                .iter()
                .filter_map(|id| k.mood(id))
                .filter(|m| ok(&m.text))
                .collect();
            p.pick("mood", &moods).unwrap_or(&k.moods[0])
        });

    // Composition.
    let composition: &Composition = a
        .composition
        .as_deref()
        .or(style.and_then(|s| s.composition.as_deref()))
        .and_then(|c| k.composition(c))
        .unwrap_or_else(|| {
            let comps: Vec<&Composition> = cat
                .compositions
                .iter()
                .filter_map(|c| k.composition(c))
                .filter(|c| c.fits.is_empty() || c.fits.contains(&cat.id))
                .collect();
            p.pick("composition", &comps).unwrap_or(&k.compositions[0])
        });

    let camera = if photographic {
        let options: Vec<&String> = composition
            .camera
            .iter()
            .chain(&cat.camera)
            .filter(|c| ok(c))
            .collect();
        p.pick("camera", &options).cloned()
    } else {
        None
    };
    let techniques: Vec<&String> = medium.technique.iter().filter(|t| ok(t)).collect();
    let technique = p
        .pick("technique", &techniques)
        .cloned()
        .unwrap_or_default();

    // Details.
    let mut details: Vec<String> = Vec::new();
    let mut detail_tags: Vec<String> = Vec::new();
    let subject_plural = a.plural_subject();
    let agree = |s: &str| {
        s.replace("{its}", if subject_plural { "their" } else { "its" })
            .replace("{is}", if subject_plural { "are" } else { "is" })
    };
    let subject_details_all: Vec<String> = cat
        .details
        .iter()
        .map(|d| agree(d))
        .filter(|d| ok(d))
        .collect();
    if !opts.vary {
        let horizon_ok = scene.is_none_or(|s| s.horizon);
        if let Some(t) = et.and_then(|t| k.time(t)) {
            if horizon_ok {
                let h: Vec<&String> = t.horizon_details.iter().filter(|d| ok(d)).collect();
                if let Some(d) = p.pick("time-horizon", &h) {
                    details.push(d.clone());
                }
            }
            let d: Vec<&String> = t.details.iter().filter(|d| ok(d)).collect();
            if let Some(d) = p.pick("time-detail", &d) {
                details.push(d.clone());
            }
            if time.is_some() {
                detail_tags.extend(t.tags.iter().filter(|x| ok(x)).cloned());
            }
        }
        if let Some(s) = scene {
            let fitting: Vec<&Detail> = s
                .details
                .iter()
                .filter(|d| detail_fits(d, a, et))
                .filter(|d| ok(&d.text))
                .collect();
            if let Some((first, rest)) = fitting.split_first() {
                details.push(first.text.clone());
                let rest: Vec<String> = rest.iter().map(|d| d.text.clone()).collect();
                details.extend(p.take("scene-details", &rest, 2));
            }
            detail_tags.extend(
                p.take("scene-tags", &s.tags, 3)
                    .into_iter()
                    .filter(|x| ok(x)),
            );
        }
        if let Some(w) = a
            .weather
            .as_deref()
            .and_then(|w| k.weathers.iter().find(|x| x.id == w))
        {
            let d: Vec<String> = w.details.iter().filter(|d| ok(d)).cloned().collect();
            details.extend(p.take("weather", &d, 1));
            detail_tags.extend(w.tags.iter().filter(|x| ok(x)).cloned());
        }
        if let Some(s) = a
            .season
            .as_deref()
            .and_then(|w| k.seasons.iter().find(|x| x.id == w))
        {
            let d: Vec<String> = s.details.iter().filter(|d| ok(d)).cloned().collect();
            details.extend(p.take("season", &d, 1));
            detail_tags.extend(s.tags.iter().filter(|x| ok(x)).cloned());
        }
        let subject_details = if scene.is_some() && cat.id == "landscape" {
            1
        } else {
            2
        };
        details.extend(p.take("category", &subject_details_all, subject_details));
        detail_tags.extend(
            p.take("category-tags", &cat.tags, 2)
                .into_iter()
                .filter(|x| ok(x)),
        );
        if !a.quoted.is_empty() {
            detail_tags.push("legible text".into());
        }
    } else {
        // varying a finished prompt: a touch of subject detail, no scenery
        details.extend(p.take("category", &subject_details_all, 2));
    }
    details.dedup();

    let mut negative: Vec<String> = Vec::new();
    negative.extend(a.negations.iter().cloned());
    negative.extend(medium.negative.iter().cloned());
    if let Some(s) = style {
        negative.extend(s.negative.iter().cloned());
    }
    negative.extend(cat.negative.iter().cloned());
    negative.extend(["watermark".to_string(), "signature".to_string()]);
    let negative = forbid.clean_negative(negative, a);

    let aspect = style
        .and_then(|s| s.aspect.as_deref())
        .or(graphic.then_some("1:1"))
        .unwrap_or(&composition.aspect);
    let aspect = parse_aspect(aspect).unwrap_or((1, 1));

    let mut medium_tags: Vec<String> = medium.tags.iter().filter(|t| ok(t)).cloned().collect();
    let mut style_prose = Vec::new();
    if let Some(s) = style {
        style_prose.extend(
            s.prose
                .iter()
                .filter(|t| ok(t) && (photographic || forbid.no_camera(t)))
                .cloned(),
        );
        medium_tags.extend(
            s.tags
                .iter()
                .filter(|t| ok(t) && (photographic || forbid.no_camera(t)))
                .cloned(),
        );
    }

    let sentence = a.sentence || opts.vary;
    let bare_opening = sentence || a.medium.is_some() || a.depiction;
    // The idea's own medium word says it ("watercolor"), except for design
    // words ("logo") that do not say how the picture is made.
    let lead_named = a.medium.is_some() && !graphic;
    Structured {
        seed,
        subject: a.idea.clone(),
        sentence,
        medium: medium.id.clone(),
        bare_opening,
        medium_sentence: bare_opening && !lead_named,
        photographic,
        graphic,
        style: style.map(|s| s.id.clone()),
        details,
        detail_tags,
        lighting: lighting.map(|l| l.text.clone()),
        lighting_tags: lighting.map(|l| l.tags.clone()).unwrap_or_default(),
        palette: palette_text,
        palette_tags: palette.tags.clone(),
        mood: mood.text.clone(),
        mood_tags: mood.tags.clone(),
        composition: composition.text.clone(),
        composition_tags: composition.tags.clone(),
        camera,
        technique,
        style_prose,
        medium_tags,
        negative,
        negations: a.negations.clone(),
        aspect,
        stylize: medium.stylize,
        horizon: composition.horizon,
        quoted: a.quoted.clone(),
        idea_hash: p.idea_hash,
    }
}

/// "16:9" -> (16, 9).
pub fn parse_aspect(s: &str) -> Option<(u32, u32)> {
    let (w, h) = s.split_once(':')?;
    let (w, h) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
    (w > 0 && h > 0).then_some((w, h))
}

/// The medium's noun phrase, from its lead ("a watercolor painting of" ->
/// "a watercolor painting").
pub fn medium_phrase(medium: &str) -> String {
    let lead = knowledge()
        .medium(medium)
        .map(|m| m.lead.as_str())
        .unwrap_or("a picture of");
    lead.trim_end_matches(" of")
        .trim_end_matches(" depicting")
        .to_string()
}
