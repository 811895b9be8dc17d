//! Noun categories from the WordNet-derived table, and plural handling.
//!
//! The tables are sorted text (`data/wordnet/*.tsv`), searched in place by
//! binary search: no start-up cost, no allocation.

use serde::Serialize;

static NOUNS: Table = table!("nouns");
static PLURALS: Table = table!("plurals");

/// What kind of thing a noun names. Every noun has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Person,
    Animal,
    Plant,
    Food,
    Vehicle,
    Building,
    Object,
    Landscape,
    Artwork,
    Text,
    Abstract,
}

impl Category {
    pub const ALL: [Category; 11] = [
        Category::Person,
        Category::Animal,
        Category::Plant,
        Category::Food,
        Category::Vehicle,
        Category::Building,
        Category::Object,
        Category::Landscape,
        Category::Artwork,
        Category::Text,
        Category::Abstract,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Person => "person",
            Category::Animal => "animal",
            Category::Plant => "plant",
            Category::Food => "food",
            Category::Vehicle => "vehicle",
            Category::Building => "building",
            Category::Object => "object",
            Category::Landscape => "landscape",
            Category::Artwork => "artwork",
            Category::Text => "text",
            Category::Abstract => "abstract",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }

    fn from_code(c: u8) -> Option<Category> {
        Some(match c.to_ascii_lowercase() {
            b'p' => Category::Person,
            b'a' => Category::Animal,
            b'l' => Category::Plant,
            b'f' => Category::Food,
            b'v' => Category::Vehicle,
            b'b' => Category::Building,
            b'o' => Category::Object,
            b's' => Category::Landscape,
            b'r' => Category::Artwork,
            b't' => Category::Text,
            b'x' => Category::Abstract,
            _ => return None,
        })
    }
}

/// A sorted `key<TAB>value` table and the start of each of its lines
/// (written by build.rs), so a binary search slices lines directly.
pub(crate) struct Table {
    pub(crate) text: &'static str,
    pub(crate) index: &'static [u8],
}

macro_rules! table {
    ($name:literal) => {
        crate::nouns::Table {
            text: include_str!(concat!("../data/wordnet/", $name, ".tsv")),
            index: include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".idx")),
        }
    };
}
pub(crate) use table;

/// A [`Table`] that build.rs wrote to OUT_DIR.
macro_rules! built_table {
    ($name:literal) => {
        crate::nouns::Table {
            text: include_str!(concat!(env!("OUT_DIR"), "/", $name, ".tsv")),
            index: include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".idx")),
        }
    };
}
pub(crate) use built_table;

/// Binary search a sorted `key<TAB>value` table for `key`.
pub(crate) fn lookup(table: &Table, key: &str) -> Option<&'static str> {
    let lines = table.index.len() / 4;
    let start = |i: usize| {
        let b = &table.index[i * 4..i * 4 + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
    };
    let text = table.text;
    let (mut lo, mut hi) = (0usize, lines);
    while lo < hi {
        let mid = (lo + hi) / 2;
        let s = start(mid);
        let e = if mid + 1 < lines {
            start(mid + 1) - 1
        } else {
            text.len()
        };
        let line = &text[s..e.max(s)];
        let (k, v) = line.split_once('\t').unwrap_or((line, ""));
        match k.as_bytes().cmp(key.as_bytes()) {
            std::cmp::Ordering::Equal => return Some(v.trim_end_matches('\n')),
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
        }
    }
    None
}

/// A noun's entry in the WordNet table: its category, and whether it is a
/// weak noun (used more as a verb or adjective: "red", "flying").
pub fn wordnet_entry(lemma: &str) -> Option<(Category, bool)> {
    memo(&ENTRY, lemma, |l| {
        let code = lookup(&NOUNS, l)?.as_bytes().first().copied()?;
        Some((Category::from_code(code)?, code.is_ascii_uppercase()))
    })
}

pub(crate) type Memo<T> = std::cell::RefCell<crate::FastMap<String, T>>;

thread_local! {
    static ENTRY: Memo<Option<(Category, bool)>> = Default::default();
    static SINGULAR: Memo<Option<String>> = Default::default();
}

/// A per-thread memo of a table lookup: ideas reuse the same few thousand
/// words, and a binary search over megabytes is the costliest step of
/// reading one. Bounded: cleared when it grows past 100,000 words.
pub(crate) fn memo<T: Clone>(
    cell: &'static std::thread::LocalKey<Memo<T>>,
    key: &str,
    f: impl FnOnce(&str) -> T,
) -> T {
    cell.with(|m| {
        if let Some(v) = m.borrow().get(key) {
            return v.clone();
        }
        let v = f(key);
        let mut m = m.borrow_mut();
        if m.len() > 100_000 {
            m.clear();
        }
        m.insert(key.to_string(), v.clone());
        v
    })
}

/// Whether WordNet (or lexicon.toml) knows `word` at all, as any part of
/// speech, directly or as an inflection ("sitting", "cats", "painted").
/// A word it does not know is most likely a new noun or a name.
pub fn is_known_word(word: &str) -> bool {
    let lower = word.to_lowercase();
    if lookup(&NOUNS, &lower).is_some()
        || crate::knowledge()
            .lexicon
            .category_overrides
            .contains_key(&lower)
        || singular(&lower).is_some()
    {
        return true;
    }
    // verb and adjective inflections
    let stems = [
        lower.strip_suffix("ing").map(|s| s.to_string()),
        lower.strip_suffix("ing").map(|s| format!("{s}e")),
        lower.strip_suffix("ed").map(|s| s.to_string()),
        lower.strip_suffix('d').map(|s| s.to_string()),
        lower.strip_suffix("er").map(|s| s.to_string()),
        lower.strip_suffix("est").map(|s| s.to_string()),
        lower.strip_suffix("ly").map(|s| s.to_string()),
        lower.strip_suffix('s').map(|s| s.to_string()),
    ];
    let doubled = |s: &str| {
        let b = s.as_bytes();
        (b.len() > 2 && b[b.len() - 1] == b[b.len() - 2]).then(|| s[..s.len() - 1].to_string())
    };
    stems.into_iter().flatten().any(|s| {
        s.len() > 1
            && (lookup(&NOUNS, &s).is_some()
                || doubled(&s).is_some_and(|d| lookup(&NOUNS, &d).is_some()))
    })
}

/// The category of a noun (singular or plural, any case), if it is one:
/// first lexicon.toml's overrides, then WordNet.
pub fn category_of(word: &str) -> Option<(Category, bool)> {
    let lower = word.to_lowercase();
    let overrides = &crate::knowledge().lexicon.category_overrides;
    if let Some(c) = overrides.get(&lower).and_then(|c| Category::parse(c)) {
        return Some((c, false));
    }
    if let Some(e) = wordnet_entry(&lower) {
        return Some(e);
    }
    let single = singular(&lower)?;
    if let Some(c) = overrides.get(&single).and_then(|c| Category::parse(c)) {
        return Some((c, false));
    }
    wordnet_entry(&single)
}

/// The irregular plural of a noun WordNet lists ("knife" -> "knives",
/// "tooth" -> "teeth"); `None` for regular nouns.
pub fn wordnet_plural(singular: &str) -> Option<String> {
    static BY_SINGULAR: std::sync::OnceLock<std::collections::HashMap<&'static str, &'static str>> =
        std::sync::OnceLock::new();
    BY_SINGULAR
        .get_or_init(|| {
            PLURALS
                .text
                .lines()
                .filter_map(|l| l.split_once('\t'))
                .map(|(p, s)| (s, p))
                .collect()
        })
        .get(singular)
        .map(|p| p.to_string())
}

/// The singular of a plural noun, if `word` is a known plural: irregular
/// plurals from WordNet ("mice", "geese", "cacti"), then the regular rules,
/// each checked against the noun table. `None` if `word` is not a plural.
pub fn singular(word: &str) -> Option<String> {
    memo(&SINGULAR, word, singular_of)
}

fn singular_of(word: &str) -> Option<String> {
    let lower = word.to_lowercase();
    if let Some(base) = lookup(&PLURALS, &lower) {
        return Some(base.to_string());
    }
    let known = |s: &str| wordnet_entry(s).is_some();
    let candidates: Vec<String> = if let Some(stem) = lower.strip_suffix("ies") {
        vec![format!("{stem}y"), format!("{stem}ie")]
    } else if let Some(stem) = lower.strip_suffix("ves") {
        vec![format!("{stem}f"), format!("{stem}fe"), format!("{stem}ve")]
    } else if let Some(stem) = lower.strip_suffix("men") {
        vec![format!("{stem}man")]
    } else if let Some(stem) = lower.strip_suffix("es") {
        vec![stem.to_string(), format!("{stem}e")]
    } else if let Some(stem) = lower.strip_suffix('s') {
        if stem.ends_with('s') || stem.ends_with('u') || stem.len() < 2 {
            vec![] // "glass", "bus", "as"
        } else {
            vec![stem.to_string()]
        }
    } else {
        vec![]
    };
    candidates.into_iter().find(|c| known(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_from_wordnet() {
        let cat = |w| category_of(w).map(|c| c.0);
        assert_eq!(cat("cat"), Some(Category::Animal));
        assert_eq!(cat("heron"), Some(Category::Animal));
        assert_eq!(cat("pizza"), Some(Category::Food));
        assert_eq!(cat("tulip"), Some(Category::Plant));
        assert_eq!(cat("submarine"), Some(Category::Vehicle));
        assert_eq!(cat("cathedral"), Some(Category::Building));
        assert_eq!(cat("teapot"), Some(Category::Object));
        assert_eq!(cat("astronaut"), Some(Category::Person));
        assert_eq!(cat("glacier"), Some(Category::Landscape));
        assert_eq!(cat("freedom"), Some(Category::Abstract));
        assert_eq!(cat("hot dog"), Some(Category::Food));
    }

    #[test]
    fn overrides_win() {
        assert_eq!(category_of("sign").unwrap().0, Category::Text);
        assert_eq!(category_of("crowd").unwrap().0, Category::Person);
        assert_eq!(category_of("dragons").unwrap().0, Category::Animal);
    }

    #[test]
    fn irregular_plurals() {
        assert_eq!(singular("mice").as_deref(), Some("mouse"));
        assert_eq!(singular("geese").as_deref(), Some("goose"));
        assert_eq!(singular("children").as_deref(), Some("child"));
        assert_eq!(singular("wolves").as_deref(), Some("wolf"));
        assert_eq!(singular("cacti").as_deref(), Some("cactus"));
        assert_eq!(singular("teeth").as_deref(), Some("tooth"));
        assert_eq!(category_of("mice").unwrap().0, Category::Animal);
        assert_eq!(category_of("women").unwrap().0, Category::Person);
    }

    #[test]
    fn regular_plurals() {
        assert_eq!(singular("cats").as_deref(), Some("cat"));
        assert_eq!(singular("boxes").as_deref(), Some("box"));
        assert_eq!(singular("berries").as_deref(), Some("berry"));
        assert_eq!(singular("knives").as_deref(), Some("knife"));
        assert_eq!(singular("glass"), None);
        assert_eq!(singular("cat"), None);
    }

    #[test]
    fn unknown_words_have_no_entry() {
        assert_eq!(category_of("zzzzqx"), None);
        assert!(!is_known_word("zzzzqx"));
        assert!(is_known_word("sitting"));
        assert!(is_known_word("fluffy"));
        assert!(is_known_word("running"));
        assert_eq!(category_of("fluffy"), None);
    }
}
