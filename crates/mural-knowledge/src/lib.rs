//! mural's writer knowledge, as data.
//!
//! Everything the built-in writer knows about the world lives in `data/`:
//! TOML files for scenes, lighting, palettes, moods, compositions, media,
//! categories, styles and word lists, and WordNet-derived tables for noun
//! categories and irregular plurals. They are embedded with `include_str!`
//! and parsed once, on first use.
//!
//! Architecture invariant: this crate holds facts, not decisions. It answers
//! "what is a beach like at sunset" and "what category is a heron"; choosing
//! among the answers is the writer's job (`mural-prompt`).

mod nouns;
mod types;
pub mod wordnet;
pub mod world;
mod world_types;

pub use nouns::{category_of, is_known_word, singular, wordnet_plural, Category};
pub use types::*;
pub use world::{merged, world, Merged, World};

/// FNV-1a as a `Hasher`: the per-thread memos hash short words millions of
/// times, where SipHash's protection against hostile keys buys nothing.
#[derive(Default, Clone, Copy)]
pub struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf29ce484222325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        self.0 = h;
    }
}

/// A `HashMap` hashed with [`Fnv`].
pub type FastMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

use std::sync::OnceLock;

/// Every knowledge table, parsed.
#[derive(Debug)]
pub struct Knowledge {
    pub lexicon: Lexicon,
    pub times: Vec<Time>,
    pub weathers: Vec<Weather>,
    pub seasons: Vec<Season>,
    pub scenes: Vec<Scene>,
    pub lighting: Vec<Lighting>,
    pub palettes: Vec<Palette>,
    pub moods: Vec<Mood>,
    pub compositions: Vec<Composition>,
    pub media: Vec<Medium>,
    pub categories: Vec<CategoryInfo>,
    pub styles: Vec<Style>,
}

macro_rules! data {
    ($file:literal) => {
        ($file, include_str!(concat!("../data/", $file)))
    };
}

fn parse<T: serde::de::DeserializeOwned>((name, text): (&str, &str)) -> T {
    match toml::from_str(text) {
        Ok(v) => v,
        // The files are compiled in and covered by tests; a parse error is a
        // build defect, reported with the file name.
        Err(e) => panic!("data/{name} is invalid: {e}"),
    }
}

/// The knowledge tables, parsed on first use.
pub fn knowledge() -> &'static Knowledge {
    static K: OnceLock<Knowledge> = OnceLock::new();
    K.get_or_init(|| {
        let atmosphere: AtmosphereFile = parse(data!("atmosphere.toml"));
        Knowledge {
            lexicon: parse(data!("lexicon.toml")),
            times: atmosphere.time,
            weathers: atmosphere.weather,
            seasons: atmosphere.season,
            scenes: parse::<ScenesFile>(data!("scenes.toml")).scene,
            lighting: parse::<LightingFile>(data!("lighting.toml")).lighting,
            palettes: parse::<PalettesFile>(data!("palettes.toml")).palette,
            moods: parse::<MoodsFile>(data!("moods.toml")).mood,
            compositions: parse::<CompositionsFile>(data!("compositions.toml")).composition,
            media: parse::<MediaFile>(data!("media.toml")).medium,
            categories: parse::<CategoriesFile>(data!("categories.toml")).category,
            styles: parse::<StylesFile>(data!("styles.toml")).style,
        }
    })
}

impl Knowledge {
    pub fn medium(&self, id: &str) -> Option<&Medium> {
        self.media.iter().find(|m| m.id == id)
    }
    pub fn style(&self, id: &str) -> Option<&Style> {
        self.styles.iter().find(|s| s.id == id)
    }
    pub fn time(&self, id: &str) -> Option<&Time> {
        self.times.iter().find(|t| t.id == id)
    }
    pub fn lighting(&self, id: &str) -> Option<&Lighting> {
        self.lighting.iter().find(|l| l.id == id)
    }
    pub fn palette(&self, id: &str) -> Option<&Palette> {
        self.palettes.iter().find(|p| p.id == id)
    }
    pub fn mood(&self, id: &str) -> Option<&Mood> {
        self.moods.iter().find(|m| m.id == id)
    }
    pub fn composition(&self, id: &str) -> Option<&Composition> {
        self.compositions.iter().find(|c| c.id == id)
    }
    pub fn category(&self, c: Category) -> &CategoryInfo {
        self.categories
            .iter()
            .find(|i| i.id == c.as_str())
            .expect("categories.toml covers every category (tested)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_data_parses() {
        let k = knowledge();
        assert!(k.scenes.len() >= 15);
        assert!(k.styles.len() >= 30, "need at least 30 styles");
        assert!(k.media.len() >= 20);
    }

    #[test]
    fn every_category_has_knowledge() {
        let k = knowledge();
        for c in Category::ALL {
            let info = k.category(c);
            assert!(!info.details.is_empty(), "{c:?}");
            assert!(!info.media.is_empty(), "{c:?}");
        }
    }

    #[test]
    fn every_reference_resolves() {
        let k = knowledge();
        for c in &k.categories {
            for m in &c.media {
                assert!(k.medium(m).is_some(), "{}: medium {m}", c.id);
            }
            for l in &c.lighting {
                assert!(k.lighting(l).is_some(), "{}: lighting {l}", c.id);
            }
            for p in &c.palettes {
                assert!(k.palette(p).is_some(), "{}: palette {p}", c.id);
            }
            for m in &c.moods {
                assert!(k.mood(m).is_some(), "{}: mood {m}", c.id);
            }
            for x in &c.compositions {
                assert!(k.composition(x).is_some(), "{}: composition {x}", c.id);
            }
        }
        for s in &k.styles {
            assert!(k.medium(&s.medium).is_some(), "style {}: medium", s.id);
            if let Some(c) = &s.composition {
                assert!(k.composition(c).is_some(), "style {}: composition", s.id);
            }
            assert!(!s.negative.is_empty(), "style {} needs negatives", s.id);
        }
        for s in &k.scenes {
            for m in &s.moods {
                assert!(k.mood(m).is_some(), "scene {}: mood {m}", s.id);
            }
            for d in &s.details {
                for t in d.times.iter().chain(&d.not_times) {
                    assert!(k.time(t).is_some(), "scene {}: time {t}", s.id);
                }
            }
        }
        for l in &k.lighting {
            for t in &l.times {
                assert!(k.time(t).is_some(), "lighting {}: time {t}", l.id);
            }
        }
        for p in &k.palettes {
            for t in &p.times {
                assert!(k.time(t).is_some(), "palette {}: time {t}", p.id);
            }
        }
    }

    #[test]
    fn style_ids_are_unique_and_kebab_case() {
        let k = knowledge();
        let mut ids: Vec<_> = k.styles.iter().map(|s| s.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), k.styles.len());
        assert!(ids.iter().all(|id| id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit())));
    }

    #[test]
    fn composition_text_has_no_camera_words() {
        let k = knowledge();
        for c in &k.compositions {
            let t = c.text.to_lowercase();
            for term in &k.lexicon.terms.camera {
                assert!(!contains_term(&t, term), "{}: {term}", c.id);
            }
        }
        for m in k.media.iter().filter(|m| !m.photographic) {
            for t in &m.technique {
                for term in &k.lexicon.terms.camera {
                    assert!(!contains_term(&t.to_lowercase(), term), "{}: {term}", m.id);
                }
            }
        }
    }

    fn contains_term(text: &str, term: &str) -> bool {
        text.split(|c: char| !c.is_alphanumeric() && c != '/')
            .any(|w| w == term)
            || (term.contains(' ') && text.contains(term))
    }
}
