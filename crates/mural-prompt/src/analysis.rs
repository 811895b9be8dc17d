//! Idea -> analysis: what the idea names, with no invention.
//!
//! The analyzer reads subjects (with counts and attributes), the setting,
//! time of day, weather, season, colors, mood, a named medium or artist,
//! composition hints, negations ("without people") and quoted text. Every
//! field records only what the idea says; the writer decides what to add.

use crate::text::{words, Word};
use mural_knowledge::{category_of, knowledge, singular, Category};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::OnceLock;

/// One thing the idea is about.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Subject {
    /// The noun as written ("cats").
    pub noun: String,
    /// Its singular, lower case ("cat").
    pub lemma: String,
    pub category: Category,
    /// An explicit count ("three cats" -> 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    pub plural: bool,
    /// Words that modify it ("fluffy", "red", "coffee" in "coffee cup").
    pub attributes: Vec<String>,
}

/// The structured reading of an idea.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Analysis {
    pub idea: String,
    pub subjects: Vec<Subject>,
    /// Category of the main subject (the first one), or of the setting.
    pub category: Option<Category>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scene: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weather: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub season: Option<String>,
    pub colors: Vec<String>,
    pub monochrome: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mood: Option<String>,
    /// Medium the idea names (media.toml id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    /// "in the style of X": X, verbatim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub composition: Option<String>,
    /// Nouns the idea excludes ("without people" -> "people").
    pub negations: Vec<String>,
    /// Quoted text, verbatim, without the quote marks.
    pub quoted: Vec<String>,
    /// Whether the idea is a full sentence (has a verb), not a noun phrase.
    pub sentence: bool,
    /// Whether the idea opens by naming a depiction ("a portrait of ...").
    pub depiction: bool,
    /// Lower-case content words of the idea (not stopwords), in order.
    pub content_words: Vec<String>,
}

impl Analysis {
    pub fn is_night(&self) -> bool {
        self.time
            .as_deref()
            .and_then(|t| knowledge().time(t))
            .is_some_and(|t| t.night)
    }

    /// Whether the idea names a medium that is not photographic (or an
    /// artist, whose work we assume is made by hand).
    pub fn non_photographic(&self) -> bool {
        match &self.medium {
            Some(m) => knowledge().medium(m).is_some_and(|m| !m.photographic),
            None => self.artist.is_some(),
        }
    }

    pub fn plural_subject(&self) -> bool {
        self.subjects.first().is_some_and(|s| s.plural)
    }
}

/// Quoted spans: `"..."`, curly double quotes, and `'...'` when the quotes
/// stand at word boundaries (so "dog's" is no quote). Returns (start, end)
/// byte spans including the quote marks, and the inner text.
pub fn quoted_spans(idea: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = idea.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        let close = match c {
            '"' => Some('"'),
            '\u{201C}' => Some('\u{201D}'),
            '\'' | '\u{2018}' => {
                let prev_ok = i == 0 || !chars[i - 1].1.is_alphanumeric();
                if prev_ok {
                    Some(if c == '\'' { '\'' } else { '\u{2019}' })
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some(close) = close {
            let single = close == '\'' || close == '\u{2019}';
            let found = (i + 1..chars.len()).find(|&j| {
                chars[j].1 == close
                    && (!single || j + 1 == chars.len() || !chars[j + 1].1.is_alphanumeric())
            });
            if let Some(j) = found {
                let inner = &idea[chars[i].0 + c.len_utf8()..chars[j].0];
                if !inner.trim().is_empty() {
                    let end = chars[j].0 + close.len_utf8();
                    out.push((pos, end, inner.to_string()));
                    i = j + 1;
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

/// A phrase table of named entries (anything with an `id` and the `words`
/// naming it: media, times, settings, actions ...).
macro_rules! named_phrases {
    ($items:expr) => {
        crate::analysis::Phrases::new($items.iter().map(|x| (x.id.as_str(), x.words.as_slice())))
    };
}
pub(crate) use named_phrases;

/// A phrase table indexed by first word: matching is a hash lookup, not a scan.
pub(crate) struct Phrases {
    by_first: HashMap<String, Vec<(Vec<String>, String)>>,
}

impl Phrases {
    pub(crate) fn new<'a>(entries: impl IntoIterator<Item = (&'a str, &'a [String])>) -> Phrases {
        let mut by_first: HashMap<String, Vec<(Vec<String>, String)>> = HashMap::new();
        for (id, phrases) in entries {
            for p in phrases {
                let pw = crate::text::lower_words(p);
                if let Some(first) = pw.first() {
                    by_first
                        .entry(first.clone())
                        .or_default()
                        .push((pw, id.to_string()));
                }
            }
        }
        Phrases { by_first }
    }

    fn plain(list: &[String]) -> Phrases {
        Phrases::new([("", list)])
    }

    /// The longest phrase starting at word `i`: (length in words, id).
    pub(crate) fn at(&self, ws: &[Word], i: usize) -> Option<(usize, &str)> {
        let mut best: Option<(usize, &str)> = None;
        for (pw, id) in self.by_first.get(&ws[i].lower)? {
            if pw.len() > best.map_or(0, |b| b.0)
                && i + pw.len() <= ws.len()
                && ws[i..i + pw.len()]
                    .iter()
                    .zip(pw)
                    .all(|(w, p)| &w.lower == p)
            {
                best = Some((pw.len(), id));
            }
        }
        best
    }
}

fn match_at(p: &Phrases, ws: &[Word], i: usize) -> usize {
    p.at(ws, i).map_or(0, |b| b.0)
}

struct Tables {
    media: Phrases,
    compositions: Phrases,
    times: Phrases,
    weathers: Phrases,
    seasons: Phrases,
    moods: Phrases,
    scenes: Phrases,
    style_of: Phrases,
    monochrome: Phrases,
    negations: Phrases,
    quantifiers: Phrases,
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let k = knowledge();
        let t = &k.lexicon.terms;
        Tables {
            media: named_phrases!(k.media),
            compositions: named_phrases!(k.compositions),
            times: named_phrases!(k.times),
            weathers: named_phrases!(k.weathers),
            seasons: named_phrases!(k.seasons),
            moods: named_phrases!(k.moods),
            scenes: named_phrases!(k.scenes),
            style_of: Phrases::plain(&t.style_of),
            monochrome: Phrases::plain(&t.monochrome),
            negations: Phrases::plain(&t.negations),
            quantifiers: Phrases::plain(&t.plural_quantifiers),
        }
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Free,
    Quoted,
    Stop,
    Consumed,
}

/// A category for a noun nobody has seen: what its container holds, its
/// suffix, or an object.
fn guess_category(word: &str, previous: Option<&Subject>) -> Category {
    const FOOD_CONTAINERS: &[&str] = &[
        "bowl", "cup", "mug", "plate", "glass", "slice", "loaf", "jar", "bottle", "tray", "pot",
        "carton", "can", "basket", "box", "spoonful", "serving", "piece",
    ];
    if previous.is_some_and(|p| FOOD_CONTAINERS.contains(&p.lemma.as_str())) {
        return Category::Food;
    }
    if ["ness", "ity", "tion", "ism", "ment"]
        .iter()
        .any(|s| word.ends_with(s))
    {
        return Category::Abstract;
    }
    if ["ist", "ian", "naut"].iter().any(|s| word.ends_with(s)) {
        return Category::Person;
    }
    Category::Object
}

/// Reads an idea. Never fails: any text has an analysis.
pub fn analyze(idea: &str) -> Analysis {
    let lex = &knowledge().lexicon;
    let t = tables();
    let idea = idea.trim();
    let quotes = quoted_spans(idea);
    let ws = words(idea);
    let mut role: Vec<Role> = ws
        .iter()
        .map(|w| {
            if quotes.iter().any(|&(s, e, _)| w.start >= s && w.end <= e) {
                Role::Quoted
            } else if lex.stopwords.contains(&w.lower) {
                Role::Stop
            } else {
                Role::Free
            }
        })
        .collect();
    let mut a = Analysis {
        idea: idea.to_string(),
        quoted: quotes.iter().map(|q| q.2.clone()).collect(),
        ..Default::default()
    };
    a.content_words = ws
        .iter()
        .zip(&role)
        .filter(|(_, r)| **r == Role::Free)
        .map(|(w, _)| w.lower.clone())
        .collect();
    a.sentence = ws
        .iter()
        .zip(&role)
        .any(|(w, r)| *r != Role::Quoted && lex.finite_verbs.contains(&w.lower))
        || idea.trim_end_matches(['.', '!', '?']).contains(". ");

    // "in the style of X": X runs to the next punctuation.
    'style: for (i, _) in ws.iter().enumerate() {
        let n = match_at(&t.style_of, &ws, i);
        if n > 0 && i + n < ws.len() {
            let from = ws[i + n].start;
            let rest = &idea[from..];
            let stop = rest.find([',', '.', ';', '(', ')']).unwrap_or(rest.len());
            let artist = rest[..stop].trim();
            if !artist.is_empty() {
                a.artist = Some(artist.to_string());
                for (j, w) in ws.iter().enumerate().skip(i) {
                    if w.start < from + stop {
                        role[j] = Role::Consumed;
                    }
                }
                break 'style;
            }
        }
    }

    // Monochrome before colors, so "black and white" is not two colors.
    for i in 0..ws.len() {
        if role[i] == Role::Quoted {
            continue;
        }
        let n = match_at(&t.monochrome, &ws, i);
        // "black-and-white plumage" names colors of a thing; "a black and
        // white photo", "in black and white" ask for a monochrome picture
        let describes_thing = ws.get(i + n).is_some_and(|next| {
            let depiction = lex.depiction_nouns.contains(&next.lower)
                || knowledge()
                    .media
                    .iter()
                    .any(|m| m.words.contains(&next.lower))
                || ["photo", "photograph", "film", "print", "drawing", "version"]
                    .contains(&next.lower.as_str());
            !depiction && matches!(category_of(&next.lower), Some((_, false)))
        });
        // a black-and-white picture is asked for up front, not in a later
        // sentence describing something in it ("a newspaper with
        // black-and-white photographs")
        let first_sentence_end = idea.find(". ").unwrap_or(idea.len());
        if n > 0 && !describes_thing && ws[i].start < first_sentence_end {
            a.monochrome = true;
            role[i..i + n].iter_mut().for_each(|r| *r = Role::Consumed);
        }
    }

    // Named things, each the first (longest) match in the idea.
    let found = |table: &Phrases, role: &mut Vec<Role>| -> Option<String> {
        for i in 0..ws.len() {
            if role[i] == Role::Quoted || role[i] == Role::Consumed {
                continue;
            }
            if let Some((n, id)) = table.at(&ws, i) {
                role[i..i + n].iter_mut().for_each(|r| *r = Role::Consumed);
                return Some(id.to_string());
            }
        }
        None
    };
    a.medium = found(&t.media, &mut role);
    a.composition = found(&t.compositions, &mut role);
    a.time = found(&t.times, &mut role);
    a.weather = found(&t.weathers, &mut role);
    a.season = found(&t.seasons, &mut role);
    a.mood = found(&t.moods, &mut role);
    // The scene is matched without consuming: "a beach" is both the setting and the subject.
    a.scene = found(&t.scenes, &mut role.clone());

    // A color word that is a thing too ("a rose", "a red rose", "the
    // lemon"), right after an article, a color, a size or an age and
    // ending its phrase, is the thing.
    let color_noun: Vec<bool> = (0..ws.len())
        .map(|i| {
            let w = &ws[i];
            role[i] == Role::Free
                && !lex.terms.neutral_colors.contains(&w.lower)
                && i > 0
                && {
                    let p = ws[i - 1].lower.as_str();
                    matches!(p, "a" | "an" | "the")
                        || lex.terms.colors.contains(&ws[i - 1].lower)
                        || lex.terms.neutral_colors.contains(&ws[i - 1].lower)
                        || lex.sizes.contains(&ws[i - 1].lower)
                        || lex.ages.contains(&ws[i - 1].lower)
                }
                && category_of(&w.lower).is_some()
                && ws.get(i + 1).is_none_or(|n| {
                    role[i + 1] == Role::Stop
                        || idea[w.end..n.start].contains([',', '.', ';', ':', '!', '?', ')'])
                })
        })
        .collect();

    // Colors.
    for (i, w) in ws.iter().enumerate() {
        if role[i] == Role::Free
            && !color_noun[i]
            && (lex.terms.colors.contains(&w.lower) || lex.terms.neutral_colors.contains(&w.lower))
        {
            a.colors.push(w.lower.clone());
        }
    }

    // Negations: the nouns after "without", "no", ... up to punctuation or a
    // word that is not a noun, "and" or "or".
    let mut negated_idx = vec![false; ws.len()];
    for i in 0..ws.len() {
        if role[i] == Role::Quoted {
            continue;
        }
        let n = match_at(&t.negations, &ws, i);
        if n == 0 {
            continue;
        }
        let mut j = i + n;
        while j < ws.len() {
            let between = &idea[ws[j - 1].end..ws[j].start];
            if between.contains([',', '.', ';', ':', '(']) && between.trim() != "," {
                break;
            }
            let w = &ws[j].lower;
            if ["any", "a", "an", "the", "single", "other", "and", "or"].contains(&w.as_str()) {
                j += 1;
                continue;
            }
            if lex.stopwords.contains(w) {
                break;
            }
            match category_of(w) {
                Some((_, false)) if role[j] != Role::Quoted => {
                    a.negations.push(w.clone());
                    negated_idx[j] = true;
                    j += 1;
                }
                _ => break,
            }
        }
    }

    // Subjects: nouns not otherwise used; the last noun of a run is the
    // head, earlier ones and adjectives before it are its attributes.
    let numbers = &lex.numbers;
    // Whether word `j` follows a determiner, a number or "of": there a
    // weak noun ("a train") or an "-ing" word ("a painting") is a noun;
    // elsewhere "-ing" words are participles ("a knight fighting a dragon").
    let determiner = |j: usize| {
        j > 0
            && (matches!(
                ws[j - 1].lower.as_str(),
                "a" | "an"
                    | "the"
                    | "this"
                    | "that"
                    | "my"
                    | "his"
                    | "her"
                    | "their"
                    | "its"
                    | "some"
                    | "of"
            ) || numbers.contains_key(&ws[j - 1].lower)
                || ws[j - 1].lower.parse::<u32>().is_ok())
    };
    let participle: Vec<bool> = (0..ws.len())
        .map(|j| ws[j].lower.ends_with("ing") && ws[j].lower.len() > 4 && !determiner(j))
        .collect();
    let mut pending_attrs: Vec<String> = Vec::new();
    let mut pending_count: Option<u32> = None;
    let mut pending_plural = false;
    // the word the last subject was made from
    let mut last_subject_at: Option<usize> = None;
    // a word read as the verb of the noun before it
    let mut verb_at: Option<usize> = None;
    let world = mural_knowledge::world::world();
    let mut i = 0;
    while i < ws.len() {
        let w = &ws[i];
        if role[i] == Role::Quoted {
            pending_attrs.clear();
            i += 1;
            continue;
        }
        // quantifier phrases ("a group of", "several")
        let q = match_at(&t.quantifiers, &ws, i);
        if q > 0 {
            pending_plural = true;
            i += q;
            continue;
        }
        if let Some(&n) = numbers.get(&w.lower) {
            pending_count = Some(n);
            i += 1;
            continue;
        }
        if let Ok(n) = w.lower.parse::<u32>() {
            if n > 0 && n < 10_000 {
                pending_count = Some(n);
            }
            i += 1;
            continue;
        }
        if role[i] == Role::Stop {
            if !matches!(w.lower.as_str(), "a" | "an" | "the") {
                pending_attrs.clear();
                pending_count = None;
                pending_plural = false;
            }
            i += 1;
            continue;
        }
        if role[i] == Role::Consumed || negated_idx[i] || participle[i] {
            pending_attrs.clear();
            pending_count = None;
            pending_plural = false;
            i += 1;
            continue;
        }
        if verb_at == Some(i) {
            pending_attrs.clear();
            i += 1;
            continue;
        }
        let entry = category_of(&w.lower);
        // "a bird flies over the lake": after a singular noun, a plural
        // form is its verb where the article agrees only with the first
        // ("a"/"an"), or where a motion word follows ("the bird flies over")
        let verb_next = ws.get(i + 1).is_some_and(|n| {
            let plural_form =
                singular(&n.lower).is_some_and(|s| s != n.lower) && !n.lower.ends_with("ss");
            let singular_here = singular(&w.lower).is_none_or(|s| s == w.lower);
            let article = i > 0 && matches!(ws[i - 1].lower.as_str(), "a" | "an");
            let motion = ws.get(i + 2).is_some_and(|m| {
                matches!(
                    m.lower.as_str(),
                    "over" | "across" | "into" | "through" | "past" | "toward" | "towards" | "away"
                )
            });
            role[i + 1] == Role::Free
                && matches!(entry, Some((_, false)))
                && !lex.terms.colors.contains(&w.lower)
                && !lex.terms.neutral_colors.contains(&w.lower)
                && idea[w.end..n.start].trim().is_empty()
                && plural_form
                && singular_here
                && (article || motion)
        });
        if verb_next {
            verb_at = Some(i + 1);
        }
        let next_is_noun = !verb_next
            && ws.get(i + 1).is_some_and(|n| {
                role[i + 1] == Role::Free
                    && !negated_idx[i + 1]
                    && !participle[i + 1]
                    && idea[w.end..n.start].trim().is_empty()
                    && matches!(category_of(&n.lower), Some((_, false)))
            });
        // A word WordNet has never seen, at the end of a noun phrase, is a
        // new noun: "a bowl of ramen", "a tiny pikachu".
        let unseen = entry.is_none()
            && w.lower.len() >= 3
            && w.lower.chars().all(|c| c.is_alphabetic() || c == '-')
            && !next_is_noun
            && !mural_knowledge::is_known_word(&w.lower)
            && ws.get(i + 1).is_none_or(|n| {
                role[i + 1] != Role::Free
                    || mural_knowledge::is_known_word(&n.lower) && category_of(&n.lower).is_none()
            });
        let entry = if unseen {
            Some((guess_category(&w.lower, a.subjects.last()), false))
        } else {
            entry
        };
        // A weak noun ("train", "ring") is a noun right after a determiner;
        // a color word is always an attribute.
        let after_determiner = determiner(i);
        let is_color = !color_noun[i]
            && (lex.terms.colors.contains(&w.lower) || lex.terms.neutral_colors.contains(&w.lower));
        // "old", "tiny", "wooden" before another word modify it
        let modifier = (lex.ages.contains(&w.lower)
            || lex.sizes.contains(&w.lower)
            || lex.materials.contains(&w.lower))
            && ws.get(i + 1).is_some_and(|n| {
                role[i + 1] == Role::Free && idea[w.end..n.start].trim().is_empty()
            });
        // A weak noun right after a singular noun is the head of their
        // compound where the two name one thing WordNet knows ("a forest
        // fire" is a fire, not a forest and a stray word), or where the
        // first names a place and the weak noun ends the phrase ("a kitchen
        // fire": a word with a frame of its own; "the bells ring", "the
        // forest burns" and "the barn fell" stay verbs).
        let ends_phrase = ws
            .get(i + 1)
            .is_none_or(|n| role[i + 1] != Role::Free || !idea[w.end..n.start].trim().is_empty());
        let compound_head = matches!(entry, Some((_, true)))
            && i > 0
            && last_subject_at == Some(i - 1)
            && idea[ws[i - 1].end..w.start].trim().is_empty()
            && a.subjects.last().is_some_and(|s| {
                !s.plural
                    && (mural_knowledge::wordnet::senses(&format!("{} {}", s.lemma, w.lower))
                        .next()
                        .is_some()
                        || ends_phrase
                            && !w.lower.ends_with('s')
                            && mural_knowledge::wordnet::senses(&w.lower)
                                .any(|c| world.frame(c).is_some())
                            && world.settings.iter().any(|x| x.words.contains(&s.lemma)))
            });
        if compound_head {
            if let Some(prev) = a.subjects.pop() {
                pending_attrs = prev.attributes;
                pending_attrs.push(prev.lemma);
                pending_count = prev.count;
                pending_plural = prev.plural;
            }
        }
        let entry = match entry {
            _ if is_color || modifier => None,
            Some((c, true)) if after_determiner || compound_head => Some((c, false)),
            e => e,
        };
        match entry {
            Some((category, false)) if !next_is_noun => {
                let lemma = singular(&w.lower).unwrap_or_else(|| w.lower.clone());
                let plural = pending_plural
                    || pending_count.is_some_and(|c| c > 1)
                    || (lemma != w.lower && !w.lower.ends_with("ss"));
                a.subjects.push(Subject {
                    noun: w.text.to_string(),
                    lemma,
                    category,
                    count: pending_count,
                    plural,
                    attributes: std::mem::take(&mut pending_attrs),
                });
                pending_count = None;
                pending_plural = false;
                last_subject_at = Some(i);
            }
            _ => pending_attrs.push(w.lower.clone()),
        }
        i += 1;
    }

    // "a bowl of ramen": the contained thing is the main subject.
    if a.subjects.len() > 1 && lex.containers.contains(&a.subjects[0].lemma) {
        let container = a.subjects.remove(0);
        a.subjects.insert(1, container);
    }
    a.depiction = ws
        .iter()
        .zip(&role)
        .find(|(_, r)| **r != Role::Stop)
        .is_some_and(|(w, _)| {
            lex.depiction_nouns.contains(&w.lower)
                || singular(&w.lower).is_some_and(|s| lex.depiction_nouns.contains(&s))
        });
    a.category = a.subjects.first().map(|s| s.category).or_else(|| {
        if a.scene.is_some() || a.time.is_some() || a.weather.is_some() {
            Some(Category::Landscape)
        } else if !a.quoted.is_empty() {
            Some(Category::Text)
        } else {
            None
        }
    });
    // A named medium that is itself the only "subject" ("a painting") is not one.
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beach_sunset() {
        let a = analyze("a beach sunset");
        assert_eq!(a.scene.as_deref(), Some("beach"));
        assert_eq!(a.time.as_deref(), Some("sunset"));
        assert_eq!(a.category, Some(Category::Landscape));
        assert_eq!(a.content_words, ["beach", "sunset"]);
        assert!(!a.sentence);
    }

    #[test]
    fn counts_and_attributes() {
        let a = analyze("three fluffy cats on a red chair");
        assert_eq!(a.subjects[0].lemma, "cat");
        assert_eq!(a.subjects[0].count, Some(3));
        assert!(a.subjects[0].plural);
        assert_eq!(a.subjects[0].attributes, ["fluffy"]);
        assert_eq!(a.subjects[1].lemma, "chair");
        assert_eq!(a.subjects[1].attributes, ["red"]);
        assert_eq!(a.colors, ["red"]);
        assert_eq!(a.category, Some(Category::Animal));
    }

    #[test]
    fn irregular_plural_subject() {
        let a = analyze("two mice");
        assert_eq!(a.subjects[0].lemma, "mouse");
        assert!(a.subjects[0].plural);
        assert_eq!(a.subjects[0].category, Category::Animal);
    }

    #[test]
    fn quoted_text_and_sign() {
        let a = analyze("a sign that says \"Very Deep Learning\"");
        assert_eq!(a.quoted, ["Very Deep Learning"]);
        assert_eq!(a.category, Some(Category::Text));
        assert!(a.sentence);
        // no subject inside the quote
        assert!(a.subjects.iter().all(|s| s.lemma != "learning"));
    }

    #[test]
    fn single_quotes_but_not_apostrophes() {
        let a = analyze("a dog's bowl with 'good boy' on it");
        assert_eq!(a.quoted, ["good boy"]);
    }

    #[test]
    fn medium_and_artist() {
        let a = analyze("a watercolor of a fox");
        assert_eq!(a.medium.as_deref(), Some("watercolor"));
        assert!(a.non_photographic());
        let a = analyze("a harbor in the style of Cezanne");
        assert_eq!(a.artist.as_deref(), Some("Cezanne"));
        assert!(a.non_photographic());
        let a = analyze("a DSLR photo of a fox");
        assert_eq!(a.medium.as_deref(), Some("photo"));
        assert!(!a.non_photographic());
    }

    #[test]
    fn negations() {
        let a = analyze("a city street at night without people or cars");
        assert_eq!(a.negations, ["people", "cars"]);
        assert!(a.is_night());
        assert!(a.subjects.iter().all(|s| s.lemma != "people"));
    }

    #[test]
    fn monochrome_is_not_colors() {
        let a = analyze("a black and white photo of a lighthouse");
        assert!(a.monochrome);
        assert!(a.colors.is_empty());
    }

    #[test]
    fn weather_season_mood_composition() {
        let a = analyze("a misty autumn forest, aerial view, mysterious");
        assert_eq!(a.weather.as_deref(), Some("fog"));
        assert_eq!(a.season.as_deref(), Some("autumn"));
        assert_eq!(a.mood.as_deref(), Some("mysterious"));
        assert_eq!(a.composition.as_deref(), Some("aerial"));
        assert_eq!(a.scene.as_deref(), Some("forest"));
    }

    #[test]
    fn containers_defer_to_contents() {
        let a = analyze("a bowl of ramen");
        assert_eq!(a.subjects[0].lemma, "ramen");
        assert_eq!(a.category, Some(Category::Food));
        assert!(analyze("a portrait of an old fisherman").depiction);
        assert!(!analyze("an old fisherman").depiction);
    }

    #[test]
    fn participles_are_not_nouns() {
        let a = analyze("pixel art of a knight fighting a dragon");
        let lemmas: Vec<&str> = a.subjects.iter().map(|s| s.lemma.as_str()).collect();
        assert_eq!(lemmas, ["knight", "dragon"]);
        assert_eq!(a.category, Some(Category::Person));
        let a = analyze("a painting of a building");
        assert_eq!(a.subjects.last().unwrap().lemma, "building");
    }

    #[test]
    fn noun_compounds_have_a_head() {
        let a = analyze("a coffee cup");
        assert_eq!(a.subjects.len(), 1);
        assert_eq!(a.subjects[0].lemma, "cup");
        assert_eq!(a.subjects[0].attributes, ["coffee"]);
    }

    #[test]
    fn unseen_words_still_analyze() {
        let a = analyze("bond");
        assert_eq!(a.content_words, ["bond"]);
        assert!(a.category.is_some());
        let a = analyze("a bowl of zorblax");
        assert_eq!(a.subjects[0].lemma, "zorblax");
        assert_eq!(a.category, Some(Category::Food));
        let a = analyze("a shiny zorblax");
        assert_eq!(a.subjects[0].attributes, ["shiny"]);
        assert_eq!(a.category, Some(Category::Object));
    }
}
