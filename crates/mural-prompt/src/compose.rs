//! Scene -> structured prompt: the built-in writer's choices.
//!
//! The composer first develops what the idea names (the subject's look in
//! its state, the action caught mid-moment, the relation made explicit, the
//! count, the quoted text, the setting), then adds one coherent *look*
//! (medium, light, palette, technique and mood chosen together) and a
//! framing chosen from what must be seen.
//!
//! Nothing is said without a licence: a detail comes from the frame of the
//! thing, its state, its setting or its era, and passes [`Licence`], which
//! holds everything the scene rules out (the frames' `never` lists, the
//! states' and actions' `excludes`, the era's anachronisms, daylight at
//! night, lens talk for hand-made media, colors in black and white, what
//! the idea excludes). When nothing fits, nothing is added.
//!
//! The seed picks among licensed options, so seeds S, S+1, ... give
//! distinct variations (another moment, camera position, look) and each
//! reproduces from its seed.

use crate::analysis::Analysis;
use crate::check::{camera_count, terms, Forbidden};
use crate::scene::{Entity, Scene};
use crate::text::{article_for, capitalize, join_list, lower_words, stem};
use mural_knowledge::world::{CondText, FramingFrame, LookFrame, SettingFrame};
use mural_knowledge::{knowledge, world, Merged, Style};
use serde::Serialize;

/// What a sentence of the prose is about, in the order people write them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Subject,
    Look,
    Others,
    Relation,
    Count,
    Text,
    Setting,
    Light,
    Framing,
    Medium,
}

/// One sentence of prose.
#[derive(Debug, Clone, Serialize)]
pub struct Sentence {
    pub part: Part,
    pub text: String,
}

/// What the writer decided, before any target's formatting.
#[derive(Debug, Clone, Serialize)]
pub struct Structured {
    pub seed: u64,
    /// The idea (or the user's prompt, when varying), verbatim.
    pub subject: String,
    /// The idea is a full sentence, or a prompt being varied.
    pub sentence: bool,
    /// The look's media.toml id.
    pub medium: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub look: Option<String>,
    pub photographic: bool,
    pub graphic: bool,
    pub style: Option<String>,
    /// The prose, in order: subject and action, its development, the
    /// setting, light and mood, framing, medium and technique.
    pub prose: Vec<Sentence>,
    /// Short prose for Midjourney (front-loaded, concise).
    pub short: Vec<Sentence>,
    /// Tags after the subject, most important first.
    pub tags: Vec<String>,
    /// The fragile part of the idea to weight for Stable Diffusion
    /// ("seven candles", "two moons").
    pub weighted: Vec<String>,
    /// Quality tags that suit the medium.
    pub quality: Vec<String>,
    /// The tag that names how the picture is made ("watercolor painting"),
    /// which goes right after the subject so every variation shows its look.
    pub lead_tag: Option<String>,
    pub negative: Vec<String>,
    /// What the idea excludes ("people").
    pub negations: Vec<String>,
    pub framing: String,
    pub aspect: (u32, u32),
    pub stylize: u32,
    /// Where the horizon sits (fraction of height from the top).
    pub horizon: f32,
    pub time: Option<String>,
    pub mood: String,
    pub quoted: Vec<String>,
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

    pub(crate) fn pick<'a, T: ?Sized>(&self, axis: &str, items: &[&'a T]) -> Option<&'a T> {
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

/// Everything a scene rules out, and the test every generated phrase
/// passes before the writer may say it.
pub struct Licence {
    forbid: Forbidden,
    /// Terms, each as base words.
    terms: Vec<Vec<String>>,
    /// A fragment of each term every inflection contains ("smok" for
    /// "smoke"), to skip texts that cannot match with one substring search.
    roots: Roots,
    /// The looks whose words this licence might object to (see
    /// [`LookIndex`]); every other look passes without being read.
    objections: std::cell::OnceCell<Vec<Objection>>,
    /// Set once the look is chosen: a black-and-white look names no
    /// colors, and a hand-made one no lenses ("sunglasses with dark lenses"
    /// would read as camera talk).
    look_rules: std::cell::Cell<(bool, bool)>,
    /// Term indexes by the first three letters of their first word.
    by_key: std::cell::OnceCell<mural_knowledge::FastMap<u32, Vec<usize>>>,
}

impl Licence {
    /// What the scene rules out.
    pub fn for_scene(scene: &Scene, a: &Analysis) -> Licence {
        let w = world();
        let lex = &knowledge().lexicon.terms;
        let mut raw: Vec<&str> = Vec::new();
        for e in &scene.entities {
            if let Some(c) = e.concept.as_deref() {
                raw.extend(mural_knowledge::merged(c).never);
            }
            for s in &e.states {
                if let Some(st) = w.state(s) {
                    raw.extend(st.excludes.iter().map(String::as_str));
                }
            }
        }
        if let Some(p) = &scene.setting {
            for s in w.setting_chain(&p.id) {
                raw.extend(s.never.iter().map(String::as_str));
            }
            if let Some(s) = w.setting(&p.id) {
                if !s.sky {
                    raw.extend(["sky", "clouds", "horizon"]);
                }
                if !s.daylight {
                    raw.extend(lex.daylight.iter().map(String::as_str));
                    raw.extend(["sun", "sunbeams", "shafts of sunlight"]);
                }
                if !s.weather {
                    raw.extend(["overcast", "drizzle", "breeze", "rainfall", "snowfall"]);
                }
                if !s.indoor {
                    raw.extend([
                        "studio",
                        "softbox",
                        "seamless backdrop",
                        "window light",
                        "lamplight",
                    ]);
                }
            }
        }
        for act in &scene.actions {
            if let Some(f) = w.action(&act.id) {
                raw.extend(f.excludes.iter().map(String::as_str));
            }
        }
        if let Some(e) = scene.era.as_deref().and_then(|e| w.era(e)) {
            raw.extend(e.anachronisms.iter().map(String::as_str));
        }
        if let Some(x) = scene.artifact.as_deref().and_then(|x| w.artifact(x)) {
            raw.extend(x.never.iter().map(String::as_str));
            // a design gets lettering only when the idea gives the words
            if scene.quoted.is_empty() {
                raw.extend([
                    "lettering",
                    "typography",
                    "legible",
                    "words",
                    "text",
                    "letters",
                    "headline",
                    "title",
                ]);
            }
        }
        if scene.is_night() {
            raw.extend(lex.daylight.iter().map(String::as_str));
        } else if scene.time.is_some() {
            raw.extend(["moonlight", "moonlit", "starlight", "starry", "night sky"]);
        }
        let mut terms: Vec<Vec<String>> = raw
            .into_iter()
            .map(|t| lower_words(t).iter().map(|w| base(w)).collect())
            .filter(|t: &Vec<String>| !t.is_empty())
            .collect();
        // what the idea itself says is never ruled out
        let idea_words: Vec<String> = a.content_words.iter().map(|w| base(w)).collect();
        terms.retain(|t| {
            !(t.len() == 1
                && idea_words
                    .iter()
                    .any(|w| inflects(w, &t[0]) || inflects(&t[0], w)))
        });
        terms.sort();
        terms.dedup();
        let roots: Vec<String> = terms
            .iter()
            .map(|t| {
                let w = &t[0];
                w.strip_suffix('e')
                    .filter(|r| r.len() >= 3)
                    .unwrap_or(w)
                    .to_string()
            })
            .collect();
        let roots = Roots::new(&roots);
        Licence {
            forbid: Forbidden::for_analysis(a),
            terms,
            roots,
            objections: std::cell::OnceCell::new(),
            look_rules: std::cell::Cell::new((false, false)),
            by_key: std::cell::OnceCell::new(),
        }
    }

    /// Whether the writer may say `text` in this scene.
    pub fn allows(&self, text: &str) -> bool {
        if !self.forbid.allows(text) {
            return false;
        }
        let (mono, no_lens) = self.look_rules.get();
        let (colors, camera) = look_rule_roots();
        let suspect = mono && colors.may_start_a_word_of(text)
            || no_lens
                && (camera.may_start_a_word_of(text) || text.contains("mm") || text.contains("f/"));
        if suspect {
            let ws = lower_words(text);
            if mono && terms().colors.hits(&ws) || no_lens && camera_count(text, &ws) > 0 {
                return false;
            }
        }
        if !self.roots.may_start_a_word_of(text) {
            return true;
        }
        let ws: Vec<String> = lower_words(text)
            .iter()
            .flat_map(|w| {
                let mut v = vec![base(w)];
                if w.contains('-') {
                    v.extend(w.split('-').map(base));
                }
                v
            })
            .collect();
        // a term matches its own inflections ("steam": "steaming", "frost":
        // "frosty"), never a different word that shares a stem ("frosting"
        // does not rule out "frosted")
        // only the terms that start like one of the text's words are tried
        let by_key = self.by_key.get_or_init(|| {
            let mut m: mural_knowledge::FastMap<u32, Vec<usize>> = Default::default();
            for (i, t) in self.terms.iter().enumerate() {
                if let Some(f) = t.first() {
                    m.entry(Roots::key(f.as_bytes())).or_default().push(i);
                }
            }
            m
        });
        let matches_at = |t: &[String], at: usize| {
            at + t.len() <= ws.len()
                && ws[at..at + t.len()]
                    .iter()
                    .zip(t)
                    .enumerate()
                    .all(|(i, (w, x))| {
                        if i + 1 == t.len() {
                            inflects(x, w)
                        } else {
                            w == x
                        }
                    })
        };
        let short: Vec<usize> = self
            .terms
            .iter()
            .enumerate()
            .filter(|(_, t)| t.first().is_some_and(|f| f.len() < 3))
            .map(|(i, _)| i)
            .collect();
        !ws.iter().enumerate().any(|(at, w)| {
            let keyed = by_key.get(&Roots::key(w.as_bytes())).into_iter().flatten();
            keyed
                .chain(short.iter())
                .any(|&i| matches_at(&self.terms[i], at))
        })
    }

    /// What this licence holds against look `i`'s words.
    fn objection(&self, i: usize) -> Objection {
        let marks = self.objections.get_or_init(|| {
            let rules = self.forbid.rules();
            let facts = rules.iter().any(|r| *r).then(look_facts);
            // the looks with a word that is a form of a ruled-out term: a
            // one-word term rules the look out; a longer one needs a reading
            let mut maybe = vec![false; look_texts().len()];
            let mut out = vec![false; look_texts().len()];
            let words = look_words();
            let firsts = self
                .terms
                .iter()
                .filter_map(|t| t.first().map(|f| (f, t.len() == 1)))
                .chain(self.forbid.negated().iter().map(|n| (n, false)));
            for (t, single) in firsts {
                if t.len() < 3 {
                    maybe.iter_mut().for_each(|m| *m = true);
                    break;
                }
                for &(j, w) in words.get(&Roots::key(t.as_bytes())).into_iter().flatten() {
                    if out[j] {
                        continue;
                    }
                    if inflects(t, w) || inflects(t, &base(w)) {
                        if single {
                            out[j] = true;
                        } else {
                            maybe[j] = true;
                        }
                    } else if !single && !maybe[j] {
                        // an excluded word matches by stem ("cars", "car")
                        maybe[j] = w.starts_with(t.as_str());
                    }
                }
            }
            for (m, o) in maybe.iter_mut().zip(&out) {
                *m = *m || *o;
            }
            (0..maybe.len())
                .map(|j| {
                    let certain =
                        facts.is_some_and(|f| rules.iter().zip(&f[j]).any(|(r, f)| *r && *f));
                    if certain || out[j] {
                        Objection::Certain
                    } else if maybe[j] {
                        Objection::Maybe
                    } else {
                        Objection::None
                    }
                })
                .collect()
        });
        marks.get(i).copied().unwrap_or(Objection::Maybe)
    }
}

/// A word's base for matching: lower case, singular, no possessive.
pub(crate) fn base(w: &str) -> String {
    let w = w.trim_end_matches("'s").trim_end_matches('\'');
    thread_local! {
        static MEMO: std::cell::RefCell<mural_knowledge::FastMap<String, String>> =
            Default::default();
    }
    MEMO.with(|m| {
        if let Some(b) = m.borrow().get(w) {
            return b.clone();
        }
        let b = mural_knowledge::singular(w).unwrap_or_else(|| w.to_string());
        let mut m = m.borrow_mut();
        // a bounded memo: words repeat across prompts, ideas do not
        if m.len() > 50_000 {
            m.clear();
        }
        m.insert(w.to_string(), b.clone());
        b
    })
}

/// Whether `word` is `term` or one of its regular inflections.
pub(crate) fn inflects(term: &str, word: &str) -> bool {
    word == term
        || word.strip_prefix(term).is_some_and(|rest| {
            matches!(rest, "s" | "es" | "ing" | "ed" | "d" | "y" | "ey" | "ly")
                || (rest.len() == 4 && rest.ends_with("ing") && term.ends_with(&rest[..1]))
        })
        || term.strip_suffix('e').is_some_and(|t| {
            word.strip_prefix(t)
                .is_some_and(|r| matches!(r, "ing" | "ed" | "y"))
        })
}

/// Word-start keys of the color and camera vocabularies, so the look's
/// rules read a phrase in full only when it might name one.
fn look_rule_roots() -> &'static (Roots, Roots) {
    static R: std::sync::OnceLock<(Roots, Roots)> = std::sync::OnceLock::new();
    R.get_or_init(|| {
        let t = &knowledge().lexicon.terms;
        // two-letter terms ("f/") are caught by the substring checks
        let long = |v: &Vec<String>| -> Vec<String> {
            v.iter()
                .map(|c| c.to_lowercase())
                .filter(|c| c.len() >= 3)
                .collect()
        };
        let (colors, camera) = (long(&t.colors), long(&t.camera));
        (Roots::new(&colors), Roots::new(&camera))
    })
}

/// The first three letters of each ruled-out term: a term only matches a
/// word it starts, so a text none of whose words starts like a term is
/// allowed without reading it further.
struct Roots {
    keys: Vec<u32>,
    /// A term shorter than three letters: every text is read in full.
    short: bool,
}

impl Roots {
    fn key(b: &[u8]) -> u32 {
        b.iter()
            .take(3)
            .fold(0u32, |k, c| (k << 8) | c.to_ascii_lowercase() as u32)
    }

    fn new(roots: &[String]) -> Roots {
        let mut keys: Vec<u32> = roots
            .iter()
            .filter(|r| r.len() >= 3)
            .map(|r| Roots::key(r.as_bytes()))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        Roots {
            keys,
            short: roots.iter().any(|r| r.len() < 3),
        }
    }

    fn may_start_a_word_of(&self, text: &str) -> bool {
        if self.short {
            return true;
        }
        if self.keys.is_empty() {
            return false;
        }
        let b = text.as_bytes();
        (0..b.len()).any(|i| {
            let start = b[i].is_ascii_alphabetic() && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
            // non-ASCII text is read in full
            !b[i].is_ascii()
                || start
                    && i + 3 <= b.len()
                    && self.keys.binary_search(&Roots::key(&b[i..i + 3])).is_ok()
        })
    }
}

/// Options for a structured prompt.
#[derive(Debug, Clone, Copy, Default)]
pub struct ComposeOptions<'a> {
    pub style: Option<&'a Style>,
    /// Vary a user's own prompt: keep it whole, vary only the look.
    pub vary: bool,
    /// Only tags will be rendered (Stable Diffusion): the prose's final
    /// polish (repeats, contradictions across sentences) can be skipped.
    pub tags_only: bool,
}

/// Whether a conditional phrase holds at this time, weather, season, era.
fn holds(c: &CondText, time: Option<&str>, night: bool, scene: &Scene) -> bool {
    if c.night && !night || c.day && night {
        return false;
    }
    if c.night && time.is_none() || c.day && time.is_none() && !c.times.is_empty() {
        return false;
    }
    if !c.times.is_empty() && !time.is_some_and(|t| c.times.iter().any(|x| x == t)) {
        return false;
    }
    if time.is_some_and(|t| c.not_times.iter().any(|x| x == t)) {
        return false;
    }
    let weather = scene.weather.as_deref();
    if !c.weathers.is_empty() && !weather.is_some_and(|x| c.weathers.iter().any(|y| y == x)) {
        return false;
    }
    if weather.is_some_and(|x| c.not_weathers.iter().any(|y| y == x)) {
        return false;
    }
    let season = scene.season.as_deref();
    if !c.seasons.is_empty() && !season.is_some_and(|x| c.seasons.iter().any(|y| y == x)) {
        return false;
    }
    if season.is_some_and(|x| c.not_seasons.iter().any(|y| y == x)) {
        return false;
    }
    if !c.eras.is_empty() && !scene.era.as_ref().is_some_and(|e| c.eras.contains(e)) {
        return false;
    }
    true
}

/// The one acted on, joined to the moment: "with the rabbit bounding away",
/// "with the donut showing a bite already missing", "with the rabbit, ears
/// flat against its back".
fn with_patient(who: &str, phrase: &str) -> String {
    let first = phrase.split(' ').next().unwrap_or("");
    let participle = first.ends_with("ing") || first.ends_with("ed");
    let preposition = matches!(
        first,
        "in" | "on"
            | "at"
            | "under"
            | "against"
            | "inside"
            | "beneath"
            | "halfway"
            | "just"
            | "still"
            | "mid-air"
            | "out"
    );
    if participle || preposition {
        format!("with {who} {phrase}")
    } else if starts_with_article(phrase) {
        format!("with {who} showing {phrase}")
    } else {
        format!("with {who}, {phrase}")
    }
}

/// `{its}` -> its/their.
fn agree(s: &str, many: bool) -> String {
    s.replace("{its}", if many { "their" } else { "its" })
}

/// `{its}` for this entity: "their" for several, "his" or "her" for a
/// person the noun says is a man or a woman, "their" for another person,
/// else "its" ("arms easy at his sides", not "at its sides").
fn agree_to(s: &str, e: &Entity) -> String {
    const HIS: [&str; 20] = [
        "man",
        "boy",
        "king",
        "prince",
        "father",
        "grandfather",
        "son",
        "brother",
        "husband",
        "gentleman",
        "uncle",
        "nephew",
        "monk",
        "groom",
        "businessman",
        "fisherman",
        "cowboy",
        "grandpa",
        "dad",
        "old man",
    ];
    const HER: [&str; 20] = [
        "woman",
        "girl",
        "queen",
        "princess",
        "mother",
        "grandmother",
        "daughter",
        "sister",
        "wife",
        "lady",
        "aunt",
        "niece",
        "nun",
        "bride",
        "businesswoman",
        "ballerina",
        "actress",
        "grandma",
        "mom",
        "old woman",
    ];
    let pronoun = if e.many() {
        "their"
    } else if e.kind.as_deref() == Some("person") {
        let head = e.lemma.rsplit(' ').next().unwrap_or(&e.lemma);
        if HIS.contains(&e.lemma.as_str()) || HIS.contains(&head) {
            "his"
        } else if HER.contains(&e.lemma.as_str()) || HER.contains(&head) {
            "her"
        } else {
            "their"
        }
    } else {
        "its"
    };
    s.replace("{its}", pronoun)
}

/// A proper name the idea capitalizes ("Rio de Janeiro", "the Great
/// Pyramid", "IPA"), in its capitals; `None` for a common noun. A capital
/// only at the idea's start counts for a place alone ("Paris at night",
/// not "Cats on a sofa").
fn proper_name(e: &Entity) -> Option<String> {
    let capital = e.noun.chars().next().is_some_and(char::is_uppercase);
    let place = e.kind.as_deref() == Some("place");
    if !capital || e.many() || !(place || e.pos > 0) {
        return None;
    }
    // one word as written ("IPA", "Triceratops")
    if e.noun.to_lowercase() == e.lemma {
        return Some(e.noun.clone());
    }
    const SMALL: [&str; 12] = [
        "de", "of", "the", "and", "la", "le", "du", "da", "del", "van", "von", "y",
    ];
    let named = e
        .lemma
        .split(' ')
        .enumerate()
        .map(|(i, w)| {
            if i > 0 && SMALL.contains(&w) {
                w.to_string()
            } else {
                capitalize(w)
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    Some(named)
}

/// A phrase without its leading "a" or "an".
fn without_article(s: &str) -> &str {
    s.strip_prefix("a ")
        .or_else(|| s.strip_prefix("an "))
        .unwrap_or(s)
}

/// A name without its leading "the".
fn bare_the(s: &str) -> &str {
    s.strip_prefix("the ").unwrap_or(s)
}

/// The entity as a definite noun phrase, with or without its colors (a
/// black-and-white picture names no colors beyond the idea's own words):
/// "the cat", "the red cats", "Rio de Janeiro", "the Taj Mahal". A proper
/// name takes an article as the idea does ("in Paris", "the Kremlin", "a
/// Triceratops").
fn the_entity(e: &Entity, colors: bool, idea: &str) -> String {
    // the end of a longer name the writer does not know ("Ha Long Bay",
    // "the Arches National Park") is a common noun to it
    let lower = idea.to_lowercase();
    let inside_longer = lower
        .find(e.lemma.as_str())
        .and_then(|at| idea.get(..at))
        .and_then(|head| head.trim_end().rsplit(' ').next())
        .is_some_and(|before| {
            before.chars().next().is_some_and(char::is_uppercase)
                && !["the", "a", "an"].contains(&before.to_lowercase().as_str())
        });
    // a Title Case idea ("A Bowl of Chicken Pho") capitalizes every word
    let words: Vec<&str> = idea
        .split_whitespace()
        .filter(|w| w.len() > 3 && w.chars().all(char::is_alphabetic))
        .collect();
    let title_case = words.len() >= 3
        && words
            .iter()
            .all(|w| w.chars().next().is_some_and(char::is_uppercase));
    if let Some(name) = proper_name(e).filter(|_| !inside_longer && !title_case) {
        let article = ["the", "a", "an"]
            .iter()
            .any(|a| lower.contains(&format!("{a} {}", e.lemma)));
        return if article { format!("the {name}") } else { name };
    }
    let noun = if e.many() {
        // "black holes": the compound's head, in the plural as written
        match e.lemma.rsplit_once(' ') {
            Some((head, _)) => format!("{head} {}", e.noun.to_lowercase()),
            None => e.noun.to_lowercase(),
        }
    } else {
        e.lemma.clone()
    };
    let mut mods: Vec<&str> = if colors {
        e.attributes.colors.iter().map(String::as_str).collect()
    } else {
        Vec::new()
    };
    mods.extend(e.attributes.materials.iter().map(String::as_str));
    if mods.is_empty() {
        format!("the {noun}")
    } else {
        format!("the {} {noun}", mods.join(" "))
    }
}

fn is_color_phrase(text: &str) -> bool {
    terms().colors.hits(&lower_words(text))
}

fn starts_with_article(s: &str) -> bool {
    s.starts_with("a ") || s.starts_with("an ")
}

/// A feature phrase made to fit several of a thing: "a curling ribbon
/// string" -> "curling ribbon strings". Phrases that are not a plain noun
/// phrase ("a body tapering to a knot") are left out rather than mangled.
fn plural_phrase(p: &str) -> Option<String> {
    let rest = p.strip_prefix("a ").or_else(|| p.strip_prefix("an "));
    let Some(rest) = rest else {
        return Some(p.to_string());
    };
    // an -ing word may lead ("curling ribbon string"), not follow the noun
    // ("a body tapering to a knot")
    const JOINERS: &[&str] = &[
        "of", "with", "to", "on", "in", "at", "and", "or", "from", "over", "under", "that",
    ];
    let plain = !rest.contains(',')
        && rest
            .split(' ')
            .enumerate()
            .all(|(i, w)| !JOINERS.contains(&w) && (i == 0 || !w.ends_with("ing")));
    if !plain {
        return None;
    }
    let (head, last) = rest.rsplit_once(' ').unwrap_or(("", rest));
    let plural = if let Some(p) = mural_knowledge::wordnet_plural(last) {
        p
    } else if last.ends_with(['s', 'x']) || last.ends_with("ch") || last.ends_with("sh") {
        format!("{last}es")
    } else if last.ends_with('y')
        && !last.ends_with("ay")
        && !last.ends_with("ey")
        && !last.ends_with("oy")
    {
        format!("{}ies", &last[..last.len() - 1])
    } else {
        format!("{last}s")
    };
    Some(if head.is_empty() {
        plural
    } else {
        format!("{head} {plural}")
    })
}

/// Whether a look phrase names the thing itself as the kind it is, in
/// the plural ("pear-shaped fruits" of an avocado, "smooth oval fruits" of
/// a plum), not a part of it: a plural head that is one of the kinds above
/// it in WordNet, with no phrase after it.
fn names_itself(e: &Entity, phrase: &str) -> bool {
    if [
        " of ", " on ", " in ", " with ", " over ", " at ", " along ",
    ]
    .iter()
    .any(|p| phrase.contains(p))
    {
        return false;
    }
    let Some(last) = phrase.rsplit(' ').next() else {
        return false;
    };
    let Some(head) = mural_knowledge::singular(last).filter(|h| h != last) else {
        return false;
    };
    // the kinds the food frames are written about in the plural
    if !["fruit", "berry", "nut"].contains(&head.as_str()) {
        return false;
    }
    if e.lemma.rsplit(' ').next() == Some(head.as_str()) {
        return false;
    }
    e.concept.as_deref().is_some_and(|c| {
        mural_knowledge::wordnet::chain(c)
            .skip(1)
            .take(3)
            .filter_map(|h| h.split('.').next())
            .any(|h| h == head || h.rsplit('_').next() == Some(head.as_str()))
    })
}

/// A phrase for the thing itself, as a kind: "pear-shaped fruits" -> "a
/// pear-shaped fruit" (or "pear-shaped fruits" for several).
fn as_kind(phrase: &str, many: bool) -> String {
    let bare = without_article(phrase);
    if many {
        return bare.to_string();
    }
    let (rest, last) = bare.rsplit_once(' ').unwrap_or(("", bare));
    let one = mural_knowledge::singular(last).unwrap_or_else(|| last.to_string());
    let text = if rest.is_empty() {
        one
    } else {
        format!("{rest} {one}")
    };
    format!("{} {text}", article_for(&text))
}

/// A look phrase as a tag: itself when short (four words at most), else
/// the noun phrase before its first preposition when that has two to four
/// words ("a curvy hollow body with a narrow waist" -> "a curvy hollow
/// body"); else none. A lone noun is no tag: "a ring in its nose" would
/// put a ring anywhere.
fn tag_of(phrase: &str) -> Option<String> {
    const CUT: [&str; 12] = [
        " with ",
        " over ",
        " at ",
        " along ",
        " across ",
        " around ",
        " on ",
        " in ",
        " under ",
        " beneath ",
        " behind ",
        " between ",
    ];
    let words = |t: &str| t.split(' ').count();
    if words(phrase) <= 4 {
        return Some(phrase.to_string());
    }
    let cut = CUT.iter().filter_map(|c| phrase.find(c)).min()?;
    let head = phrase[..cut].trim();
    let bare = without_article(head);
    // it must end on its noun: "fleet numbers painted" (on the doors),
    // "an engine slung low" (in the frame) are no tags
    let last = bare.rsplit(' ').next().unwrap_or(bare);
    let noun = !last.ends_with("ing")
        && !last.ends_with("ed")
        && ![
            "low", "high", "up", "down", "out", "off", "back", "apart", "open", "bound", "hung",
            "slung", "set", "held", "worn", "spread", "cut", "shut", "tight", "loose", "flat",
        ]
        .contains(&last)
        && mural_knowledge::wordnet::senses(
            &mural_knowledge::singular(last).unwrap_or_else(|| last.to_string()),
        )
        .next()
        .is_some();
    (noun && words(bare) >= 2 && words(head) <= 4).then(|| head.to_string())
}

/// How the main subject looks: licensed look phrases of its frame, less
/// the features its states hide (open eyes on a sleeper) and the parts the
/// moment already describes.
fn look_phrases(e: &Entity, m: &Merged, lic: &Licence, mono: bool) -> Vec<String> {
    let w = world();
    let hidden: Vec<String> = e
        .states
        .iter()
        .filter_map(|s| w.state(s))
        .flat_map(|s| s.hides.iter().map(|h| stem(h)))
        .collect();
    m.look
        .iter()
        .filter(|p| hidden.is_empty() || !lower_words(p).iter().any(|x| hidden.contains(&stem(x))))
        .filter_map(|p| {
            if e.many() {
                plural_phrase(p)
            } else {
                Some(p.clone())
            }
        })
        .filter(|p| !((mono || !e.attributes.colors.is_empty()) && is_color_phrase(p)))
        .filter(|p| lic.allows(p))
        .map(|p| agree_to(&p, e))
        .collect()
}

/// Phrases for an entity's states: its frame's, else the state's generic
/// ones for its kind.
fn state_phrases(e: &Entity, m: Option<&Merged>, lic: &Licence) -> Vec<Vec<String>> {
    let w = world();
    e.states
        .iter()
        .map(|s| {
            let own = m.and_then(|m| m.states.get(s.as_str())).map(|v| v.to_vec());
            let generic = || {
                w.state(s)
                    .map(|st| {
                        let kind = e.kind.as_deref().unwrap_or("any");
                        st.generic
                            .get(kind)
                            .or_else(|| st.generic.get("any"))
                            .cloned()
                            .unwrap_or_default()
                    })
                    .unwrap_or_default()
            };
            own.unwrap_or_else(generic)
                .iter()
                .filter(|p| lic.allows(p))
                .map(|p| agree_to(p, e))
                .collect()
        })
        .collect()
}

fn by_kind<'a>(
    table: &'a std::collections::BTreeMap<String, Vec<String>>,
    e: Option<&Entity>,
) -> &'a [String] {
    let kind = e.and_then(|e| e.kind.as_deref()).unwrap_or("any");
    table
        .get(kind)
        .or_else(|| table.get("any"))
        .map_or(&[], |v| v.as_slice())
}

fn number_word(n: u32) -> String {
    const W: [&str; 13] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve",
    ];
    W.get(n as usize)
        .map_or_else(|| n.to_string(), |w| w.to_string())
}

/// The framing id the built-in writer gives a scene ("portrait", "wide",
/// "centered_mark" ...), for painters that compose from the scene.
pub fn framing_of(scene: &Scene) -> &'static str {
    &choose_framing(scene, &crate::analyze(&scene.idea)).id
}

/// The framing: what the idea asks for, else what must be seen.
fn choose_framing(scene: &Scene, a: &Analysis) -> &'static FramingFrame {
    let w = world();
    let get = |id: &str| w.framing(id).or_else(|| w.framings.first());
    let fallback = || {
        w.framings
            .first()
            .expect("framings.toml is not empty (tested)")
    };
    // the idea names a framing ("headshot", "aerial view")
    let idea_words = lower_words(&scene.idea);
    for f in &w.framings {
        if f.words.iter().any(|p| {
            let pw = lower_words(p);
            !pw.is_empty() && idea_words.windows(pw.len()).any(|x| x == pw.as_slice())
        }) {
            // "a portrait of a dog" is a portrait; "portrait" of a landscape is not asked for
            return f;
        }
    }
    if let Some(x) = scene.artifact.as_deref().and_then(|x| w.artifact(x)) {
        return get(&x.framing).unwrap_or_else(fallback);
    }
    let main = scene.main();
    let main_kind = main.and_then(|e| e.kind.as_deref());
    let action = scene
        .actions
        .iter()
        .find_map(|act| w.action(&act.id).map(|f| (act, f)));
    if let Some((act, f)) = action {
        let two = act.agent.is_some() && act.patient.is_some();
        if f.motion || two {
            return get(&f.framing).unwrap_or_else(fallback);
        }
    }
    if let Some(m) = main {
        if m.count.is_some_and(|c| c >= 3) {
            return get("wide").unwrap_or_else(fallback);
        }
    }
    let setting = scene.setting.as_ref().and_then(|p| w.setting(&p.id));
    let scale = main
        .and_then(|e| e.concept.as_deref())
        .and_then(|c| mural_knowledge::merged(c).scale);
    if main.is_none_or(|e| e.in_setting) || matches!(scale, Some("huge" | "vast")) {
        if let Some(s) = setting.filter(|s| !s.indoor) {
            return get(&s.framing).unwrap_or_else(fallback);
        }
        return get("wide").unwrap_or_else(fallback);
    }
    if main_kind == Some("person") && scene.entities.len() == 1 && !a.plural_subject() {
        return get("portrait").unwrap_or_else(fallback);
    }
    match scale {
        Some("tiny") => get("macro"),
        Some("small") => get("close_up"),
        Some("large") => get("wide"),
        _ => get("medium"),
    }
    .unwrap_or_else(fallback)
}

/// The mood the scene implies, strongest reason first.
fn scene_mood(scene: &Scene, place_mood: bool) -> Option<String> {
    let w = world();
    if let Some(m) = &scene.mood {
        return Some(m.clone());
    }
    if matches!(scene.weather.as_deref(), Some("storm")) {
        return Some("dramatic".into());
    }
    for act in &scene.actions {
        if let Some(f) = w.action(&act.id) {
            return Some(f.mood.clone());
        }
    }
    for e in &scene.entities {
        for s in &e.states {
            if let Some(m) = w.state(s).and_then(|st| st.mood.clone()) {
                return Some(m);
            }
        }
    }
    for e in &scene.entities {
        if let Some(m) = e
            .concept
            .as_deref()
            .and_then(|c| mural_knowledge::merged(c).mood)
        {
            return Some(m.to_string());
        }
    }
    if let Some(x) = scene
        .abstraction
        .as_deref()
        .and_then(|x| w.abstract_concept(x))
    {
        return Some(x.mood.clone());
    }
    // the place's own mood, where the picture shows the place
    scene
        .setting
        .as_ref()
        .filter(|_| place_mood)
        .and_then(|p| w.setting(&p.id))
        .and_then(|s| s.moods.first().cloned())
}

/// Whether a look fits the scene.
#[allow(clippy::too_many_arguments)]
fn look_fits(
    index: usize,
    l: &LookFrame,
    scene: &Scene,
    setting: Option<&SettingFrame>,
    framing: &str,
    mood: Option<&str>,
    lic: Option<&Licence>,
    medium_wanted: Option<&str>,
    scene_states: &[&str],
    scene_facts: (bool, Option<&str>),
) -> bool {
    if let Some(m) = medium_wanted {
        if l.medium != m {
            return false;
        }
    }
    // where the scene is unknown, looks tied to indoors or outdoors stay out
    let indoor = setting.map(|s| s.indoor);
    match (l.indoor, indoor) {
        (Some(want), Some(is)) if want != is => return false,
        (Some(_), None) => return false,
        _ => {}
    }
    let (night, kind) = scene_facts;
    let time = scene.time.as_deref();
    if l.night && time.is_some() && !night || l.day && night {
        return false;
    }
    if !l.times.is_empty() {
        match time {
            Some(t) if !l.times.iter().any(|x| x == t) => return false,
            // a timed look sets the time only where the sky and sun can be seen
            None if setting.is_some_and(|s| !s.sky || !s.daylight) => return false,
            _ => {}
        }
    }
    if l.night && time.is_none() && setting.is_some_and(|s| !s.sky) {
        return false;
    }
    if !l.weathers.is_empty() {
        match scene.weather.as_deref() {
            Some(w) if !l.weathers.iter().any(|x| x == w) => return false,
            None if l.weathers.iter().all(|x| x != "clear") => return false,
            _ => {}
        }
    } else if matches!(
        scene.weather.as_deref(),
        Some("storm" | "rain" | "snow" | "fog")
    ) && l.light.contains("sun")
    {
        return false;
    }
    if !l.kinds.is_empty() && !kind.is_some_and(|k| l.kinds.iter().any(|x| x == k)) {
        return false;
    }
    if !l.framings.is_empty() && !l.framings.iter().any(|f| f == framing) {
        return false;
    }
    if let Some(m) = mood {
        if l.not_moods.iter().any(|x| x == m) {
            return false;
        }
        if !l.moods.is_empty() && !l.moods.iter().any(|x| x == m) {
            return false;
        }
    }
    let states = &scene_states;
    if !l.states.is_empty() && !l.states.iter().any(|s| states.contains(&s.as_str())) {
        return false;
    }
    if l.not_states.iter().any(|s| states.contains(&s.as_str())) {
        return false;
    }
    let mono_look = l.color == Some(false);
    if mono_look && !scene.colors.is_empty() || scene.monochrome && !mono_look {
        return false;
    }

    lic.is_none_or(|lic| look_is_licensed(index, l, lic))
}

/// Whether the licence lets the look's words through: only looks it might
/// object to are read in full.
fn look_is_licensed(index: usize, l: &LookFrame, lic: &Licence) -> bool {
    match lic.objection(index) {
        Objection::None => true,
        Objection::Certain => false,
        Objection::Maybe => [&l.lead, &l.light, &l.palette, &l.technique]
            .iter()
            .all(|t| t.is_empty() || lic.allows(t)),
    }
}

/// What a licence holds against a look before reading it.
#[derive(Clone, Copy, PartialEq)]
enum Objection {
    None,
    /// Its words break a categorical rule (daylight at night ...).
    Certain,
    /// Its words might be ruled-out terms.
    Maybe,
}

/// Each look's words, lower case, joined once per process.
fn look_texts() -> &'static [String] {
    static T: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        world()
            .looks
            .iter()
            .map(|l| format!("{} {} {} {}", l.lead, l.light, l.palette, l.technique).to_lowercase())
            .collect()
    })
}

/// Every word of every look, by its first three letters: (look, word).
/// Built once per process without allocating a string per word.
fn look_words() -> &'static std::collections::HashMap<u32, Vec<(usize, &'static str)>> {
    type Words = std::collections::HashMap<u32, Vec<(usize, &'static str)>>;
    static W: std::sync::OnceLock<Words> = std::sync::OnceLock::new();
    W.get_or_init(|| {
        let mut map: Words = Default::default();
        for (i, text) in look_texts().iter().enumerate() {
            for w in text
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.len() >= 3)
            {
                map.entry(Roots::key(w.as_bytes()))
                    .or_default()
                    .push((i, w));
            }
        }
        map
    })
}

/// The color words each look's palette names, found once per process.
fn look_palette_colors() -> &'static [Vec<String>] {
    static C: std::sync::OnceLock<Vec<Vec<String>>> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        let k = knowledge();
        world()
            .looks
            .iter()
            .map(|l| {
                lower_words(&l.palette)
                    .into_iter()
                    .map(|w| {
                        let b = w.strip_suffix('s').unwrap_or(&w);
                        if k.lexicon.terms.colors.iter().any(|c| c == b) {
                            b.to_string()
                        } else {
                            w
                        }
                    })
                    .filter(|w| k.lexicon.terms.colors.contains(w))
                    .collect()
            })
            .collect()
    })
}

/// What each look's words trip of `Forbidden`'s categorical rules
/// (daylight, color, camera, clear-sky and people words, in the order of
/// `Forbidden::rules`), found once per process and only when a scene has
/// such a rule.
fn look_facts() -> &'static [[bool; 5]] {
    static F: std::sync::OnceLock<Vec<[bool; 5]>> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        let t = terms();
        look_texts()
            .iter()
            .map(|text| {
                let ws = lower_words(text);
                [
                    t.daylight.hits(&ws),
                    t.colors.hits(&ws),
                    camera_count(text, &ws) > 0,
                    t.clear_sky.hits(&ws),
                    t.people.hits(&ws),
                ]
            })
            .collect()
    })
}

/// Writes the structured prompt for `scene` with `seed`.
pub fn compose(scene: &Scene, a: &Analysis, seed: u64, opts: ComposeOptions) -> Structured {
    let w = world();
    let k = knowledge();
    let p = Picker::new(&scene.idea, seed);
    let lic = Licence::for_scene(scene, a);
    let style = opts.style;
    let artifact = scene.artifact.as_deref().and_then(|x| w.artifact(x));
    let setting = scene.setting.as_ref().and_then(|s| w.setting(&s.id));
    let framing = choose_framing(scene, a);
    let close = matches!(
        framing.id.as_str(),
        "headshot" | "portrait" | "close_up" | "macro"
    );
    // a close view of a subject whose place the idea does not name shows no place
    let shows_place = !(close && scene.setting.as_ref().is_some_and(|p| !p.stated));
    let implied_mood = scene_mood(scene, shows_place);

    // The look: the idea's medium, else the style's, else the artifact's,
    // else any that fits; looks are filtered by the scene before the pick.
    let artist = scene.artist.as_deref().and_then(|x| w.artist(x));
    let wanted_medium: Option<&str> = scene
        .medium
        .as_deref()
        .or(style.map(|s| s.medium.as_str()))
        .or(artist.map(|a| a.medium.as_str()))
        // an artist we have no frame for: most often oil on canvas
        .or(scene.artist.as_ref().map(|_| "oil"))
        .or(artifact.map(|x| x.medium.as_str()));
    // facts every look is held to, found once: night, and the subject's kind
    let scene_facts = (
        scene.is_night(),
        scene.main().and_then(|e| e.kind.as_deref()),
    );
    let scene_states: Vec<&str> = scene
        .entities
        .iter()
        .flat_map(|e| e.states.iter().map(String::as_str))
        .collect();
    // Which looks fit depends on a few facts of the scene (medium, place,
    // time, weather, kind, framing, mood, states, colors), shared by many
    // ideas: remember the structural fit per set of facts, then let this
    // scene's licence read only the looks it might object to.
    let facts = format!(
        "{:?}|{:?}|{:?}|{:?}|{}|{:?}|{:?}|{:?}|{}|{:?}|{:?}|{}|{}|{}",
        wanted_medium,
        setting.map(|s| (s.indoor, s.sky, s.daylight)),
        scene.time,
        scene.weather,
        scene.is_night(),
        scene.main().and_then(|e| e.kind.as_deref()),
        implied_mood,
        scene_states,
        framing.id,
        scene.artifact,
        setting.is_none(),
        scene.colors.is_empty(),
        scene.monochrome,
        scene.abstraction.is_some(),
    );
    let structural = |medium: Option<&str>| -> Vec<usize> {
        thread_local! {
            static MEMO: std::cell::RefCell<mural_knowledge::FastMap<String, Vec<usize>>> =
                Default::default();
        }
        let key = format!("{facts}|{medium:?}");
        MEMO.with(|m| {
            if let Some(v) = m.borrow().get(&key) {
                return v.clone();
            }
            let v: Vec<usize> = w
                .looks
                .iter()
                .enumerate()
                .filter(|(i, l)| {
                    look_fits(
                        *i,
                        l,
                        scene,
                        setting,
                        &framing.id,
                        implied_mood.as_deref(),
                        None,
                        medium,
                        &scene_states,
                        scene_facts,
                    )
                })
                .map(|(i, _)| i)
                .collect();
            let mut m = m.borrow_mut();
            if m.len() > 20_000 {
                m.clear();
            }
            m.insert(key, v.clone());
            v
        })
    };
    let licensed = |ix: Vec<usize>| -> Vec<&LookFrame> {
        ix.into_iter()
            .map(|i| (i, &w.looks[i]))
            .filter(|(i, l)| look_is_licensed(*i, l, &lic))
            .map(|(_, l)| l)
            .collect()
    };
    let mut eligible: Vec<&LookFrame> = licensed(structural(wanted_medium));
    if eligible.is_empty() && wanted_medium.is_none() {
        eligible = licensed(structural(None));
    }
    // colors the idea names lead: prefer looks whose palette names no
    // other colors (when enough of them fit to vary among)
    if !scene.colors.is_empty() {
        let palettes = look_palette_colors();
        let index_of = |l: &LookFrame| w.looks.iter().position(|x| std::ptr::eq(x, l));
        let calm: Vec<&LookFrame> = eligible
            .iter()
            .copied()
            .filter(|l| {
                index_of(l).is_some_and(|i| {
                    palettes[i]
                        .iter()
                        .all(|c| scene.colors.iter().any(|x| x == c))
                })
            })
            .collect();
        if calm.len() >= 8 {
            eligible = calm;
        }
    }
    let design = artifact.is_some_and(|x| x.medium != "photo");
    if design {
        eligible.retain(|l| l.family == "design" || wanted_medium.is_some());
    }
    // a photographed artifact (a product shot) takes the looks made for its kind of subject
    if artifact.is_some() && !design {
        let kind = scene.main().and_then(|e| e.kind.as_deref());
        let suited: Vec<&LookFrame> = eligible
            .iter()
            .copied()
            .filter(|l| kind.is_some_and(|k| l.kinds.iter().any(|x| x == k)))
            .collect();
        if !suited.is_empty() {
            eligible = suited;
        }
    }
    let look: Option<&LookFrame> = if opts.vary && eligible.is_empty() {
        None
    } else {
        p.pick("look", &eligible)
    };
    let medium_id = wanted_medium
        .map(str::to_string)
        .or(look.map(|l| l.medium.clone()))
        .unwrap_or_else(|| "photo".into());
    let medium = k.medium(&medium_id).or_else(|| k.medium("photo"));
    let non_photo_idea = a.non_photographic();
    let photographic = medium.is_some_and(|m| m.photographic) && !non_photo_idea;
    let graphic = medium.is_some_and(|m| m.graphic) || design;
    // from here on, every phrase also fits the look
    lic.look_rules.set((
        !scene.monochrome && look.is_some_and(|l| l.color == Some(false)),
        !photographic,
    ));

    // The time the scene is set at: the idea's, or the look's when the
    // look names exactly one and the place shows the sky.
    let time: Option<String> = scene.time.clone().or_else(|| {
        look.filter(|l| l.times.len() == 1 && setting.is_none_or(|s| s.sky))
            .map(|l| l.times[0].clone())
    });
    let night = time
        .as_deref()
        .and_then(|t| k.time(t))
        .is_some_and(|t| t.night)
        || look.is_some_and(|l| l.night);
    let mood_id = implied_mood
        .clone()
        .or(look.map(|l| l.mood.clone()))
        .or_else(|| setting.and_then(|s| s.moods.first().cloned()))
        .unwrap_or_else(|| "serene".into());
    let mood_text = k
        .mood(&mood_id)
        .map(|m| m.text.clone())
        .unwrap_or_else(|| mood_id.clone());
    let many = |e: &Entity| e.many();

    let mut prose: Vec<Sentence> = Vec::new();
    let mut short: Vec<Sentence> = Vec::new();
    let mut tags: Vec<String> = Vec::new();
    let mut weighted: Vec<String> = Vec::new();
    // a tag target reads no prose: its sentences need no polish
    let tags_only = opts.tags_only;
    let say = |part: Part, text: String| Sentence {
        part,
        text: if tags_only {
            text
        } else {
            crate::text::fix_articles(&text)
        },
    };
    let idea = scene.idea.trim().trim_end_matches(['.', ',', ';', ':']);
    let opening = capitalize(idea);
    let main_ix = scene.main_index();
    let mono = scene.monochrome;
    let the = |e: &Entity| the_entity(e, !mono, &scene.idea);
    let main = main_ix.map(|i| &scene.entities[i]);
    let english = scene.is_english();

    // 1. The subject, mid-moment: its states and the action.
    let mut moment: Vec<String> = Vec::new();
    let mut tag_moment: Vec<String> = Vec::new();
    if english && !opts.vary {
        if let Some(e) = main {
            let m = e.concept.as_deref().map(|c| mural_knowledge::merged(c));
            for (i, ps) in state_phrases(e, m.as_ref(), &lic).into_iter().enumerate() {
                let picked = p.take(&format!("state{i}"), &ps, 2);
                tag_moment.extend(picked.iter().filter(|x| x.split(' ').count() <= 5).cloned());
                moment.extend(picked);
            }
        }
        let mut done: Vec<&str> = Vec::new();
        for (i, act) in scene.actions.iter().enumerate().take(2) {
            let Some(f) = w.action(&act.id) else { continue };
            // the same action twice ("a man eating ... and a woman eating ...")
            // is described once
            if done.contains(&act.id.as_str()) {
                continue;
            }
            done.push(act.id.as_str());
            let agent = act.agent.map(|x| &scene.entities[x]);
            let patient = act.patient.map(|x| &scene.entities[x]);
            // a person is "his", "her" or "their", never "its"
            let ag: Vec<String> = by_kind(&f.agent, agent)
                .iter()
                .filter(|x| lic.allows(x))
                .map(|x| match agent {
                    Some(e) if many(e) => agree(x, true),
                    Some(e) => agree_to(x, e),
                    None => agree(x, false),
                })
                .collect();
            let picked = p.take(&format!("agent{i}"), &ag, 2);
            tag_moment.extend(picked.iter().filter(|x| x.split(' ').count() <= 5).cloned());
            moment.extend(picked);
            if let Some(pe) = patient.filter(|pe| !pe.in_setting) {
                let pa: Vec<String> = by_kind(&f.patient, Some(pe))
                    .iter()
                    .filter(|x| lic.allows(x))
                    .map(|x| agree_to(x, pe))
                    .collect();
                if let Some(x) = p.pick(&format!("patient{i}"), &pa.iter().collect::<Vec<_>>()) {
                    moment.push(with_patient(&the(pe), x));
                }
            }
            let sc: Vec<&String> = f.scene.iter().filter(|x| lic.allows(x)).collect();
            if let Some(x) = p.pick(&format!("scene{i}"), &sc) {
                moment.push(agree(x, true));
            }
        }
    }
    // no phrase twice, and no four words twice ("body arched in the ...")
    let mut seen_moment: Vec<Vec<String>> = Vec::new();
    moment.retain(|m| {
        let grams: Vec<Vec<String>> = lower_words(m).windows(4).map(|w| w.to_vec()).collect();
        let whole = lower_words(m);
        let new = !seen_moment.contains(&whole) && !grams.iter().any(|g| seen_moment.contains(g));
        if new {
            seen_moment.push(whole);
            seen_moment.extend(grams);
        }
        new
    });
    if let Some(x) = scene
        .abstraction
        .as_deref()
        .and_then(|x| w.abstract_concept(x))
    {
        // the first metaphors are the most recognizable; variations rotate among them
        let ms: Vec<&String> = x
            .metaphors
            .iter()
            .filter(|m| lic.allows(m))
            .take(3)
            .collect();
        if let Some(m) = p.pick("metaphor", &ms) {
            moment.push(format!("shown as {m}"));
            tag_moment.push(m.clone());
        }
    }
    let first = if a.sentence || opts.vary {
        let end = if opening.ends_with(['!', '?']) {
            ""
        } else {
            "."
        };
        format!("{opening}{end}")
    } else if moment.is_empty() {
        format!("{opening}.")
    } else {
        format!("{opening}, {}.", moment.join(", "))
    };
    prose.push(say(Part::Subject, first.clone()));
    short.push(say(Part::Subject, first));

    // 2. How the main subject looks; other named things, briefly.
    if english && !opts.vary {
        let face_only =
            framing.id == "headshot" && main.is_some_and(|e| e.kind.as_deref() == Some("person"));
        if let Some(e) = main.filter(|e| !e.in_setting && !face_only) {
            if let Some(m) = e.concept.as_deref().map(|c| mural_knowledge::merged(c)) {
                let said: Vec<String> = moment
                    .iter()
                    .flat_map(|x| lower_words(x))
                    .map(|x| stem(&x))
                    .collect();
                let phrases: Vec<String> = look_phrases(e, &m, &lic, scene.monochrome)
                    .into_iter()
                    .filter(|p| {
                        lower_words(p)
                            .last()
                            .is_none_or(|head| !said.contains(&stem(head)))
                    })
                    .collect();
                if !phrases.is_empty() {
                    // the two most telling features, then others by seed
                    let fixed = phrases.len().min(2);
                    let mut chosen: Vec<String> = phrases[..fixed].to_vec();
                    chosen.extend(p.take("look-phrases", &phrases[fixed..], 2));
                    let verb = if e.many() { "have" } else { "has" };
                    // a long name is not repeated ("the statue of liberty")
                    let who = if e.lemma.split(' ').count() >= 3 {
                        if e.many() {
                            "They".to_string()
                        } else {
                            "It".to_string()
                        }
                    } else {
                        capitalize(&the(e))
                    };
                    // a phrase about the thing itself, not a part of it
                    // ("pear-shaped fruits" of an avocado) says what it is:
                    // "The avocado, a pear-shaped fruit, has ..."
                    let named = !matches!(who.as_str(), "It" | "They");
                    let (itself, parts): (Vec<String>, Vec<String>) = chosen
                        .iter()
                        .cloned()
                        .partition(|x| named && names_itself(e, x));
                    let sentence = match (itself.first(), parts.is_empty()) {
                        (Some(kind), false) => format!(
                            "{who}, {}, {verb} {}.",
                            as_kind(kind, e.many()),
                            join_list(&parts)
                        ),
                        (Some(kind), true) => format!(
                            "{who} {} {}.",
                            if e.many() { "are" } else { "is" },
                            as_kind(kind, e.many())
                        ),
                        (None, _) => format!("{who} {verb} {}.", join_list(&chosen)),
                    };
                    prose.push(say(Part::Look, sentence));
                    short.push(say(
                        Part::Look,
                        format!("{who} {verb} {}.", join_list(&chosen[..1])),
                    ));
                    tags.extend(chosen.iter().filter_map(|x| tag_of(x)));
                }
            }
        }
        tags.extend(tag_moment);
        // a close view of a person develops the face
        let close = matches!(framing.id.as_str(), "headshot" | "portrait" | "close_up");
        if close && main.is_some_and(|e| e.kind.as_deref() == Some("person")) {
            if let Some(face) = w.frame("face.n.01") {
                let ph: Vec<String> = face
                    .look
                    .iter()
                    .filter(|x| lic.allows(x))
                    .cloned()
                    .collect();
                let picked = p.take("face", &ph, 2);
                if !picked.is_empty() {
                    prose.push(say(
                        Part::Look,
                        format!("The face shows {}.", join_list(&picked)),
                    ));
                    tags.extend(picked);
                }
            }
        }
        let mut described: Vec<&str> = main.map(|e| e.lemma.as_str()).into_iter().collect();
        for (i, e) in scene.entities.iter().enumerate() {
            if Some(i) == main_ix || prose.len() > 7 || described.contains(&e.lemma.as_str()) {
                continue;
            }
            described.push(e.lemma.as_str());
            let Some(m) = e.concept.as_deref().map(|c| mural_knowledge::merged(c)) else {
                continue;
            };
            // the place itself is described by its setting, unless it has a
            // frame of its own (a shipwreck's hull, an ice floe's edges)
            let limit = if e.in_setting { 0 } else { 3 };
            if m.distance > limit || m.kind == Some("abstract") {
                continue;
            }
            if artifact.is_some() && e.kind.as_deref() == Some("building") {
                continue;
            }
            // the most telling feature of each other thing
            let ph = look_phrases(e, &m, &lic, scene.monochrome);
            if let Some(x) = ph.first() {
                let verb = if e.many() { "have" } else { "has" };
                prose.push(say(
                    Part::Others,
                    format!("{} {verb} {x}.", capitalize(&the(e))),
                ));
            }
        }
        // 3. Relations between named things, made explicit (the first two).
        let mut shown = 0;
        for r in &scene.relations {
            if shown == 2 {
                break;
            }
            // "in", "on", "by" only place things; the idea already says so
            if matches!(
                r.words.to_lowercase().as_str(),
                "in" | "on" | "by" | "at" | "over" | "round" | "before"
            ) {
                continue;
            }
            let (x, y) = (&scene.entities[r.a], &scene.entities[r.b]);
            if x.in_setting || y.in_setting || x.lemma == y.lemma {
                continue;
            }
            let Some(f) = w.relation(&r.id) else { continue };
            if matches!(f.layout.as_str(), "on") {
                continue;
            }
            let text = f.prose.replace("{a}", &the(x)).replace("{b}", &the(y));
            // a relation the idea already says in these words adds nothing
            let bare = |t: &str| t.to_lowercase().replace("the ", "");
            let idea = bare(&scene.idea);
            let same_words = f.prose.contains(&format!(" {} ", r.words.to_lowercase()));
            if idea.contains(&bare(&text))
                || same_words && idea.contains(&bare(&format!("{} {}", r.words, the(y))))
            {
                continue;
            }
            let opener = if shown == 0 {
                "The composition shows"
            } else {
                "It also shows"
            };
            prose.push(say(Part::Relation, format!("{opener} {text}.")));
            shown += 1;
            tags.insert(
                0,
                f.tag
                    .replace("{a}", bare_the(&the(x)))
                    .replace("{b}", bare_the(&the(y))),
            );
        }
        // 4. Counts, reinforced.
        for e in &scene.entities {
            if let Some(n) = e.count.filter(|n| *n >= 2 && *n <= 12) {
                let word = number_word(n);
                let noun = e.noun.to_lowercase();
                let text = if n == 2 {
                    format!("Both {noun} are fully in view.")
                } else {
                    format!("Exactly {word} {noun} are in view, each one distinct.")
                };
                prose.push(say(Part::Count, text));
                let mods: Vec<&str> = e.attributes.colors.iter().map(String::as_str).collect();
                let phrase = if mods.is_empty() {
                    format!("{word} {noun}")
                } else {
                    format!("{word} {} {noun}", mods.join(" "))
                };
                weighted.push(phrase);
            }
        }
    }
    // 5. Quoted text, spelled out.
    if !scene.quoted.is_empty() {
        let quotes: Vec<String> = scene.quoted.iter().map(|q| format!("\"{q}\"")).collect();
        let verb = if quotes.len() == 1 {
            "appears"
        } else {
            "appear"
        };
        let s = format!(
            "The text {} {verb} exactly as written, in clean, legible lettering.",
            join_list(&quotes)
        );
        prose.push(say(Part::Text, s.clone()));
        short.push(say(Part::Text, s));
        tags.push("legible lettering".into());
    }
    // 6. The artifact's design, or the setting around the subject.
    if let Some(x) = artifact.filter(|_| !opts.vary) {
        let layout: Vec<&String> = x.layout.iter().filter(|t| lic.allows(t)).collect();
        let traits: Vec<String> = x.traits.iter().filter(|t| lic.allows(t)).cloned().collect();
        // a mark for a business borrows one thing from its trade ("an owl
        // for a bookstore" holds an open book)
        if let Some(client) = scene
            .entities
            .iter()
            .skip_while(|e| Some(*e) != main)
            .skip(1)
            .find(|e| e.concept.is_some())
            .filter(|_| x.framing == "centered_mark")
        {
            let m = mural_knowledge::merged(client.concept.as_deref().unwrap_or_default());
            let motifs: Vec<String> = m
                .look
                .iter()
                .chain(m.props)
                .filter(|x| lic.allows(x))
                .cloned()
                .collect();
            if let (Some(x), Some(e)) = (p.pick("motif", &motifs.iter().collect::<Vec<_>>()), main)
            {
                prose.push(say(
                    Part::Look,
                    format!(
                        "The mark pairs {} with a simple motif of the {}: {x}.",
                        the(e),
                        client.lemma
                    ),
                ));
            }
        }
        if let Some(l) = p.pick("layout", &layout) {
            let tr = p.take("traits", &traits, 2);
            let text = if tr.is_empty() {
                format!("It is designed as {l}.")
            } else {
                format!("It is designed as {l}, with {}.", join_list(&tr))
            };
            prose.push(say(Part::Setting, text.clone()));
            short.push(say(Part::Setting, text));
        }
        tags.extend(x.tags.iter().filter(|t| lic.allows(t)).cloned());
    } else if let Some(s) = setting.filter(|_| english && !opts.vary && shows_place) {
        let fitting = |s: &SettingFrame| -> Vec<String> {
            s.details
                .iter()
                .filter(|d| holds(d, time.as_deref(), night, scene))
                .filter(|d| lic.allows(&d.text))
                .map(|d| agree(&d.text, true))
                .collect()
        };
        // the place's own details, the most telling first; its parent's
        // only when it has few
        // (a tag target reads only the setting's tags)
        let mut details = if tags_only { Vec::new() } else { fitting(s) };
        if !tags_only && details.len() < 3 {
            if let Some(parent) = w.setting_chain(&s.id).get(1) {
                details.extend(fitting(parent));
            }
        }
        // where the place is the subject ("an airport terminal"), say more of it
        let place_is_subject = main.is_none_or(|e| e.in_setting);
        let want = if place_is_subject { 3 } else { 2 };
        let mut picked: Vec<String> = details.iter().take(1).cloned().collect();
        if details.len() > 1 {
            picked.extend(p.take("setting", &details[1..], want - 1));
        }
        if !picked.is_empty() {
            let text = match picked.as_slice() {
                [a, b, c] => format!("{}, {b}, and {c}.", capitalize(a)),
                _ => format!("{}.", capitalize(&picked.join(", and "))),
            };
            short.push(say(Part::Setting, format!("{}.", capitalize(&picked[0]))));
            prose.push(say(Part::Setting, text));
        }
        tags.extend(
            p.take(
                "setting-tags",
                &s.tags
                    .iter()
                    .filter(|t| lic.allows(t))
                    .cloned()
                    .collect::<Vec<_>>(),
                3,
            ),
        );
        // the main subject's own props, where it usually is
        if let Some(e) = main.filter(|e| !e.in_setting && !tags_only) {
            if let Some(m) = e.concept.as_deref().map(|c| mural_knowledge::merged(c)) {
                let at_home = m
                    .found_in
                    .iter()
                    .any(|f| w.setting_chain(&s.id).iter().any(|x| &x.id == f));
                if at_home {
                    let props: Vec<String> = m
                        .props
                        .iter()
                        .filter(|x| lic.allows(x))
                        .map(|x| agree_to(x, e))
                        .collect();
                    let picked = p.take("props", &props, 2);
                    if !picked.is_empty() {
                        let verb = if picked.len() > 1 { "are" } else { "is" };
                        prose.push(say(
                            Part::Setting,
                            format!("Nearby {verb} {}.", join_list(&picked)),
                        ));
                    }
                }
            }
        }
    }
    // The era's look.
    if let Some(e) = scene.era.as_deref().and_then(|e| w.era(e)) {
        if english && !opts.vary {
            let mut period: Vec<String> = Vec::new();
            let pools: [&Vec<String>; 4] = [&e.clothing, &e.technology, &e.vehicles, &e.materials];
            for (i, pool) in pools.iter().enumerate() {
                let ok: Vec<&String> = pool.iter().filter(|x| lic.allows(x)).collect();
                if let Some(x) = p.pick(&format!("era{i}"), &ok) {
                    period.push(x.clone());
                }
            }
            let chosen = p.take("era-details", &period, 2);
            if !chosen.is_empty() {
                prose.push(say(
                    Part::Setting,
                    format!("Period details include {}.", join_list(&chosen)),
                ));
                tags.extend(chosen.iter().filter(|x| x.split(' ').count() <= 4).cloned());
            }
        }
    }
    // Weather and season, when the idea names them and the place shows them.
    if english && !opts.vary && setting.is_none_or(|s| s.weather) {
        if let Some(wx) = scene
            .weather
            .as_deref()
            .and_then(|x| k.weathers.iter().find(|y| y.id == x))
        {
            let d: Vec<&String> = wx.details.iter().filter(|d| lic.allows(d)).collect();
            if let Some(x) = p.pick("weather", &d) {
                prose.push(say(Part::Setting, format!("The scene has {x}.")));
            }
            tags.extend(wx.tags.iter().filter(|t| lic.allows(t)).cloned());
        }
        if let Some(se) = scene
            .season
            .as_deref()
            .and_then(|x| k.seasons.iter().find(|y| y.id == x))
        {
            tags.extend(se.tags.iter().filter(|t| lic.allows(t)).cloned());
        }
    }

    // The sky at this time, where the place shows it.
    let sky = setting.map_or(artifact.is_none() && scene.abstraction.is_none(), |s| s.sky);
    if let Some(t) = time
        .as_deref()
        .and_then(|t| k.time(t))
        .filter(|_| english && sky && !opts.vary && !tags_only)
    {
        let mut d: Vec<&String> = t.horizon_details.iter().filter(|x| lic.allows(x)).collect();
        let extra: Vec<&String> = t.details.iter().filter(|x| lic.allows(x)).collect();
        if d.is_empty() {
            d = extra.clone();
        }
        if let Some(first) = p.pick("sky", &d) {
            let second = p.pick("sky-detail", &extra).filter(|x| *x != first);
            let text = match second {
                Some(x) => format!("The scene has {first}, with {x}."),
                None => format!("The scene has {first}."),
            };
            prose.push(say(Part::Setting, text.clone()));
            short.push(say(Part::Setting, text));
        }
    }

    // 7. Light and mood.
    if let Some(l) = look {
        let light = (!(l.light.is_empty() || opts.vary && says_light(&scene.idea)))
            .then_some(l.light.as_str());
        let hue = artist.map_or(l.palette.as_str(), |a| a.palette.as_str());
        let palette = if starts_with_article(hue) {
            format!("with {hue}")
        } else {
            format!("in {hue}")
        };
        let text = match light {
            Some(light) => {
                format!("The scene is lit by {light}, {palette}, and the mood is {mood_text}.")
            }
            None => format!("It is rendered {palette}, and the mood is {mood_text}."),
        };
        prose.push(say(Part::Light, text.clone()));
        short.push(say(Part::Light, text));
    } else {
        prose.push(say(Part::Light, format!("The mood is {mood_text}.")));
    }
    // 8. Framing: what the frame shows and from where.
    let positions: Vec<&String> = framing.positions.iter().collect();
    let frame_text: Vec<&String> = framing.text.iter().filter(|t| lic.allows(t)).collect();
    if let Some(t) = p.pick("framing", &frame_text).filter(|_| !opts.vary) {
        let pos = p.pick("position", &positions);
        let pos = pos.filter(|pos| !t.contains(pos.as_str()));
        if let Some(pos) = pos {
            // the camera position as a short tag ("low angle")
            let tag = pos
                .trim_start_matches("from ")
                .trim_start_matches("at ")
                .trim_start_matches("a ")
                .to_string();
            tags.push(tag);
        }
        let text = match pos {
            Some(pos) => format!("{}, seen {pos}.", capitalize(t)),
            None => format!("{}.", capitalize(t)),
        };
        prose.push(say(Part::Framing, text.clone()));
        short.push(say(Part::Framing, text));
    }
    // 9. Medium and technique.
    if let Some(l) = look {
        let mut technique = l.technique.clone();
        if photographic && !opts.vary && !tags_only {
            let lenses: Vec<&String> = framing.lenses.iter().filter(|x| lic.allows(x)).collect();
            if let Some(lens) = p.pick("lens", &lenses) {
                if camera_count(&technique, &lower_words(&technique)) == 0 {
                    technique = format!("{technique}, shot on {lens}");
                }
            }
        }
        let lead = if scene.medium.is_some() || style.is_some() {
            // the idea or the style named the medium; the look adds its craft
            l.lead.clone()
        } else {
            l.lead.clone()
        };
        let (lead, technique) = match artist {
            Some(a) => (a.lead.clone(), a.technique.clone()),
            None => (lead, technique),
        };
        let text = format!("The picture is {lead}, with {technique}.");
        prose.push(say(Part::Medium, text.clone()));
        short.push(say(Part::Medium, format!("{}.", capitalize(&lead))));
    } else if let Some(m) = medium {
        if let Some(t) = m.technique.iter().find(|t| lic.allows(t)) {
            prose.push(say(
                Part::Medium,
                format!("The picture is {}, with {t}.", medium_phrase(&m.id)),
            ));
        }
    }
    if let Some(s) = style {
        for x in s.prose.iter().filter(|x| lic.allows(x)) {
            prose.push(say(Part::Medium, format!("{}.", capitalize(x))));
        }
    }

    // Tags: the artist, the look, framing and style after the subject's own.
    if let Some(a) = artist {
        tags.extend(a.tags.iter().cloned());
    }
    if let Some(l) = look {
        tags.extend(l.tags.iter().filter(|t| lic.allows(t)).cloned());
    }
    if let Some(s) = style {
        tags.extend(s.tags.iter().filter(|t| lic.allows(t)).cloned());
    }
    tags.extend(
        framing
            .tags
            .iter()
            .take(1)
            .filter(|t| lic.allows(t))
            .cloned(),
    );
    if let Some(t) = time.as_deref().and_then(|t| k.time(t)) {
        if scene.time.is_none() {
            tags.extend(t.tags.iter().take(1).filter(|x| lic.allows(x)).cloned());
        }
    }
    if let Some(m) = k.mood(&mood_id) {
        tags.extend(m.tags.iter().take(1).cloned());
    }
    let lead_tag = artist
        .and_then(|a| a.tags.first())
        .or(look.and_then(|l| l.tags.first()))
        .cloned();
    // tags are short: no leading article, no inner commas
    let mut tags: Vec<String> = tags
        .into_iter()
        .filter(|t| {
            let (mono, no_lens) = lic.look_rules.get();
            let ws = lower_words(t);
            !(mono && terms().colors.hits(&ws) || no_lens && camera_count(t, &ws) > 0)
        })
        .map(|t| {
            let t = t
                .strip_prefix("a ")
                .or_else(|| t.strip_prefix("an "))
                .or_else(|| t.strip_prefix("the "))
                .unwrap_or(&t)
                .replace(',', "");
            t.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .filter(|t| !t.is_empty())
        .collect();
    let quality: Vec<String> = if photographic {
        vec!["sharp focus".into(), "high detail".into()]
    } else if graphic {
        vec!["clean design".into()]
    } else {
        vec!["masterpiece".into(), "best quality".into()]
    };

    // Negative prompt: what the idea excludes, what fights the look.
    let mut negative: Vec<String> = Vec::new();
    negative.extend(scene.negations.iter().cloned());
    if let Some(x) = artifact {
        negative.extend(x.negative.iter().cloned());
    }
    if let Some(l) = look {
        negative.extend(l.negative.iter().cloned());
    } else if let Some(m) = medium {
        negative.extend(m.negative.iter().cloned());
    }
    if let Some(s) = style {
        negative.extend(s.negative.iter().cloned());
    }
    if main.is_some_and(|e| matches!(e.kind.as_deref(), Some("person" | "animal"))) {
        negative.extend(["extra limbs".to_string(), "deformed anatomy".to_string()]);
    }
    negative.extend([
        "blurry".to_string(),
        "watermark".to_string(),
        "signature".to_string(),
    ]);
    let pos_words: Vec<String> = tags.iter().flat_map(|t| lower_words(t)).collect();
    negative.retain(|n| {
        scene.negations.contains(n) || !lower_words(n).iter().all(|w| pos_words.contains(w))
    });
    let negative = lic.forbid.clean_negative(negative, a);

    let (prose, short) = if opts.tags_only {
        (prose, short)
    } else {
        let prose = drop_repeats(&scene.idea, prose);
        let prose = drop_repeated_phrases(&scene.idea, prose);
        let short = drop_repeated_phrases(&scene.idea, short);
        (
            prune_conflicts(&scene.idea, prose),
            prune_conflicts(&scene.idea, short),
        )
    };
    let aspect_text = artifact
        .map(|x| x.aspect.as_str())
        .or(style.and_then(|s| s.aspect.as_deref()))
        .unwrap_or(framing.aspect.as_str());
    let aspect = parse_aspect(aspect_text).unwrap_or((1, 1));
    tags.dedup();
    Structured {
        seed,
        subject: scene.idea.clone(),
        sentence: a.sentence || opts.vary,
        medium: medium_id,
        look: look.map(|l| l.id.clone()),
        photographic,
        graphic,
        style: style.map(|s| s.id.clone()),
        prose,
        short,
        tags,
        weighted,
        quality,
        lead_tag,
        negative,
        negations: scene.negations.clone(),
        framing: framing.id.clone(),
        aspect,
        stylize: medium.map_or(150, |m| m.stylize),
        horizon: framing.horizon,
        time,
        mood: mood_id,
        quoted: scene.quoted.clone(),
    }
}

/// Drops a description that says again what an earlier one said ("the
/// street has buildings on both sides" after "buildings rise on both sides
/// of the street"): two shared content words, the idea's own aside.
fn drop_repeats(idea: &str, prose: Vec<Sentence>) -> Vec<Sentence> {
    let k = knowledge();
    let idea_stems: Vec<String> = lower_words(idea).iter().map(|w| stem(w)).collect();
    let content = |t: &str| -> Vec<String> {
        let mut v: Vec<String> = lower_words(t)
            .iter()
            .filter(|w| w.len() > 3 && !k.lexicon.stopwords.contains(w))
            .map(|w| stem(w))
            .filter(|w| {
                !idea_stems.contains(w) && !matches!(w.as_str(), "scene" | "light" | "frame")
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let mut kept: Vec<Sentence> = Vec::new();
    let mut said: Vec<Vec<String>> = Vec::new();
    for s in prose {
        let c = content(&s.text);
        let droppable = matches!(s.part, Part::Others | Part::Setting | Part::Look);
        let repeats = said
            .iter()
            .any(|prev| c.iter().filter(|w| prev.contains(w)).count() >= 2);
        if droppable && repeats {
            continue;
        }
        said.push(c);
        kept.push(s);
    }
    kept
}

/// Drops a sentence that repeats a four-word phrase already said (the
/// invariant `check` holds every prompt to), the subject excepted.
fn drop_repeated_phrases(idea: &str, prose: Vec<Sentence>) -> Vec<Sentence> {
    let quoted: Vec<String> = crate::analysis::quoted_spans(idea)
        .into_iter()
        .map(|q| q.2)
        .collect();
    let grams = |t: &str| -> Vec<Vec<String>> {
        let mut t = t.to_string();
        for q in &quoted {
            t = t.replace(q.as_str(), " ");
        }
        lower_words(&t).windows(4).map(|w| w.to_vec()).collect()
    };
    let mut seen: Vec<Vec<String>> = Vec::new();
    let mut kept = Vec::new();
    for s in prose {
        let g = grams(&s.text);
        let keep =
            matches!(s.part, Part::Subject | Part::Text) || !g.iter().any(|x| seen.contains(x));
        if keep {
            seen.extend(g);
            kept.push(s);
        }
    }
    kept
}

/// Drops the sentences that make the prompt contradict itself where the
/// idea alone does not (the last guard: every phrase already passed the
/// licence, but a sentence can change how the whole prompt reads).
fn prune_conflicts(idea: &str, mut prose: Vec<Sentence>) -> Vec<Sentence> {
    let count = |t: &str| crate::lint::conflicts(t).len();
    let first = prose
        .first()
        .map(|s| s.text.clone())
        .unwrap_or_else(|| idea.to_string());
    let base = count(&first);
    let all: Vec<&str> = prose.iter().map(|s| s.text.as_str()).collect();
    if count(&all.join(" ")) <= base {
        return prose;
    }
    prose.retain(|s| {
        matches!(s.part, Part::Subject | Part::Text)
            || count(&format!("{first} {}", s.text)) <= base
    });
    prose
}

fn says_light(text: &str) -> bool {
    let k = knowledge();
    lower_words(text)
        .iter()
        .any(|w| k.lexicon.terms.lighting.contains(w))
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
