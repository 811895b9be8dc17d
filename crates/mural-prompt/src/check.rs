//! The writer's invariants, as checks any writer's output can be held to:
//! every content word of the idea survives, quoted text stays verbatim,
//! nothing contradicts the idea, the target's budget holds, and the prose is
//! grammatical. The built-in writer also uses `Forbidden` to never pick a
//! fragment that would break them.

use crate::analysis::Analysis;
use crate::target::Target;
use crate::text::{article_for, lower_words, stem};
use mural_knowledge::knowledge;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::OnceLock;

/// A set of terms (single words and phrases) matched as whole words.
pub struct TermSet {
    single: HashSet<String>,
    multi: Vec<Vec<String>>,
}

impl TermSet {
    fn new<'a>(terms: impl IntoIterator<Item = &'a String>) -> TermSet {
        let mut single = HashSet::new();
        let mut multi = Vec::new();
        for t in terms {
            let w = lower_words(t);
            match w.len() {
                0 => {}
                1 => {
                    single.insert(w.into_iter().next().unwrap());
                }
                _ => multi.push(w),
            }
        }
        TermSet { single, multi }
    }

    /// How many times the terms occur in `words` (a hyphenated word counts
    /// its parts too: "blue-hour" names blue).
    pub fn count(&self, words: &[String]) -> usize {
        let mut n = words
            .iter()
            .filter(|w| {
                self.single.contains(*w)
                    || (w.contains('-') && w.split('-').any(|p| self.single.contains(p)))
            })
            .count();
        for m in &self.multi {
            n += words.windows(m.len()).filter(|w| w == m).count();
        }
        n
    }

    pub fn hits(&self, words: &[String]) -> bool {
        self.count(words) > 0
    }
}

/// The term sets of lexicon.toml, built once.
pub struct Terms {
    pub camera: TermSet,
    pub daylight: TermSet,
    pub colors: TermSet,
    pub people: TermSet,
    pub clear_sky: TermSet,
}

/// Whether a noun names what populates a scene (people, animals,
/// vehicles): excluding it leaves a place deserted.
pub(crate) fn populates(noun: &str) -> bool {
    use mural_knowledge::{category_of, Category};
    terms().people.hits(&[noun.to_lowercase()])
        || matches!(
            category_of(noun),
            Some((Category::Person | Category::Animal | Category::Vehicle, _))
        )
}

pub fn terms() -> &'static Terms {
    static T: OnceLock<Terms> = OnceLock::new();
    T.get_or_init(|| {
        let t = &knowledge().lexicon.terms;
        Terms {
            camera: TermSet::new(&t.camera),
            daylight: TermSet::new(&t.daylight),
            colors: TermSet::new(&t.colors),
            people: TermSet::new(&t.people),
            clear_sky: TermSet::new(&t.clear_sky),
        }
    })
}

/// Lens and camera words, plus focal lengths ("24mm", "16-35mm") and "f/8".
pub fn camera_count(text: &str, words: &[String]) -> usize {
    let focal = words
        .iter()
        .filter(|w| {
            w.ends_with("mm")
                && w.len() > 2
                && w[..w.len() - 2]
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '-')
        })
        .count();
    terms().camera.count(words) + focal + text.to_lowercase().matches("f/").count()
}

/// What a fragment may not say, given the idea: daylight at night, colors
/// in black and white, lens talk for a hand-made medium, clear skies in bad
/// weather, people where the idea has none, and every excluded word.
pub struct Forbidden {
    night: bool,
    mono: bool,
    no_camera: bool,
    bad_weather: bool,
    no_people: bool,
    negated: Vec<String>,
}

impl Forbidden {
    /// Whether any of its categorical rules is on: night, black and white,
    /// no lens talk, bad weather, no people.
    pub(crate) fn rules(&self) -> [bool; 5] {
        [
            self.night,
            self.mono,
            self.no_camera,
            self.bad_weather,
            self.no_people,
        ]
    }

    /// The idea's excluded words, as stems.
    pub(crate) fn negated(&self) -> &[String] {
        &self.negated
    }

    pub fn for_analysis(a: &Analysis) -> Forbidden {
        let people = &terms().people;
        Forbidden {
            night: a.is_night(),
            mono: a.monochrome,
            no_camera: a.non_photographic(),
            bad_weather: matches!(
                a.weather.as_deref(),
                Some("rain" | "storm" | "fog" | "cloudy" | "snow")
            ),
            no_people: a
                .negations
                .iter()
                .any(|n| people.hits(std::slice::from_ref(n))),
            negated: a.negations.iter().map(|n| stem(n)).collect(),
        }
    }

    /// Whether a generated fragment fits the idea.
    pub fn allows(&self, text: &str) -> bool {
        if !(self.night || self.mono || self.no_camera || self.bad_weather || self.no_people)
            && self.negated.is_empty()
        {
            return true;
        }
        let words = lower_words(text);
        let t = terms();
        !(self.night && t.daylight.hits(&words)
            || self.mono && t.colors.hits(&words)
            || self.no_camera && camera_count(text, &words) > 0
            || self.bad_weather && t.clear_sky.hits(&words)
            || self.no_people && t.people.hits(&words)
            || (!self.negated.is_empty() && words.iter().any(|w| self.negated.contains(&stem(w)))))
    }

    pub fn no_camera(&self, text: &str) -> bool {
        camera_count(text, &lower_words(text)) == 0
    }

    /// Negative terms, deduplicated, minus any that would fight the idea: a
    /// term sharing a word with the idea ("blurry" for "a blurry photo"), and
    /// "text" when the idea asks for text.
    pub(crate) fn clean_negative(&self, terms: Vec<String>, a: &Analysis) -> Vec<String> {
        let idea_stems: HashSet<String> = a
            .content_words
            .iter()
            .filter(|w| !a.negations.contains(w))
            .map(|w| stem(w))
            .collect();
        let wants_text =
            !a.quoted.is_empty() || a.category == Some(mural_knowledge::Category::Text);
        let mut seen = HashSet::new();
        terms
            .into_iter()
            .filter(|t| {
                let ws = lower_words(t);
                let negated = a.negations.iter().any(|n| n == t);
                negated || !ws.iter().any(|w| idea_stems.contains(&stem(w)))
            })
            .filter(|t| {
                !(wants_text
                    && matches!(t.as_str(), "text" | "letters" | "words" | "watermark text"))
            })
            .filter(|t| !(self.mono && matches!(t.as_str(), "black and white" | "monochrome")))
            .filter(|t| seen.insert(t.to_lowercase()))
            .collect()
    }
}

/// Which invariant a [`Violation`] breaks. Its name (`as_str`, `Display`
/// and serde, in snake_case) is stable: JSON and messages carry it.
///
/// [`check`] finds the first seven; the LLM writers' guard adds the last
/// four (text that is no description of the idea).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A content word of the idea is missing.
    DroppedWord,
    /// Quoted text is not verbatim.
    QuoteChanged,
    /// The text adds what the idea rules out (daylight at night, color in
    /// black and white, people where there are none).
    Contradiction,
    /// Lens or camera words for a non-photographic medium.
    CameraTerms,
    /// A wrong article, an article before a plural, a placeholder.
    Grammar,
    /// A four-word phrase said twice.
    RepeatedPhrase,
    /// Over the target's budget (CLIP tokens, characters), or empty.
    Budget,
    /// The text repeats the instructions the model was given.
    Echo,
    /// Too few words of description beyond the idea.
    TooShort,
    /// A detail the knowledge rules out for this idea.
    Misfit,
    /// Chat debris: markup, template braces, links, code fences.
    Debris,
}

impl Rule {
    pub const ALL: [Rule; 11] = [
        Rule::DroppedWord,
        Rule::QuoteChanged,
        Rule::Contradiction,
        Rule::CameraTerms,
        Rule::Grammar,
        Rule::RepeatedPhrase,
        Rule::Budget,
        Rule::Echo,
        Rule::TooShort,
        Rule::Misfit,
        Rule::Debris,
    ];

    /// The rule's stable name ("dropped_word").
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::DroppedWord => "dropped_word",
            Rule::QuoteChanged => "quote_changed",
            Rule::Contradiction => "contradiction",
            Rule::CameraTerms => "camera_terms",
            Rule::Grammar => "grammar",
            Rule::RepeatedPhrase => "repeated_phrase",
            Rule::Budget => "budget",
            Rule::Echo => "echo",
            Rule::TooShort => "too_short",
            Rule::Misfit => "misfit",
            Rule::Debris => "debris",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One broken invariant.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Violation {
    pub rule: Rule,
    pub detail: String,
}

fn v(rule: Rule, detail: String) -> Violation {
    Violation { rule, detail }
}

/// Checks a written prompt against the idea it came from.
pub fn check(a: &Analysis, target: Target, prompt: &str, negative: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    let t = terms();
    let pw = lower_words(prompt);
    let iw = lower_words(&a.idea);
    let all_stems: HashSet<String> = pw
        .iter()
        .chain(&lower_words(negative))
        .map(|w| stem(w))
        .collect();
    let pos_stems: HashSet<String> = pw.iter().map(|w| stem(w)).collect();

    // 1. Every content word survives (in the negative prompt if negated).
    for w in &a.content_words {
        let s = stem(w);
        let found = if a.negations.contains(w) {
            // FLUX.2 says exclusions positively, without the excluded word
            target.rephrases_exclusions() || all_stems.contains(&s)
        } else {
            pos_stems.contains(&s)
        };
        if !found {
            out.push(v(
                Rule::DroppedWord,
                format!("the idea's word {w:?} is missing"),
            ));
        }
    }
    // 2. Quoted text verbatim.
    for q in &a.quoted {
        if !prompt.contains(q.as_str()) {
            out.push(v(
                Rule::QuoteChanged,
                format!("quoted text {q:?} is not verbatim"),
            ));
        }
    }
    // 3. No contradictions: generated text adds no term the idea rules out.
    let added = |set: &TermSet| set.count(&pw) > set.count(&iw);
    if a.is_night() && added(&t.daylight) {
        out.push(v(
            Rule::Contradiction,
            "daylight words in a night scene".into(),
        ));
    }
    if a.monochrome && added(&t.colors) {
        out.push(v(
            Rule::Contradiction,
            "color words in a black and white idea".into(),
        ));
    }
    let people_negated = a
        .negations
        .iter()
        .any(|n| t.people.hits(std::slice::from_ref(n)));
    if people_negated && added(&t.people) {
        out.push(v(
            Rule::Contradiction,
            "people added to an idea without people".into(),
        ));
    }
    if a.non_photographic() && camera_count(prompt, &pw) > camera_count(&a.idea, &iw) {
        out.push(v(
            Rule::CameraTerms,
            "lens or camera words for a non-photographic medium".into(),
        ));
    }
    // 4. Grammar (prose targets): a/an, placeholders, repeated phrases.
    if target.is_prose() {
        let idea_lower = a.idea.to_lowercase();
        let ws = crate::text::words(prompt);
        for pair in ws.windows(2) {
            let (art, next) = (&pair[0], &pair[1]);
            if (art.lower == "a" || art.lower == "an") && prompt[art.end..next.start] == *" " {
                let phrase = format!("{} {}", art.lower, next.lower);
                if article_for(next.text) != art.lower && !idea_lower.contains(&phrase) {
                    out.push(v(Rule::Grammar, format!("wrong article in {phrase:?}")));
                }
                // "a" before a plural noun the writer added
                // "a sports car", "a news stand": plurals that modify a noun
                let attributive = [
                    "sports",
                    "arts",
                    "news",
                    "series",
                    "species",
                    "physics",
                    "crossroads",
                    "means",
                    "goods",
                    "savings",
                    "sales",
                    "works",
                    "glasses",
                ];
                if mural_knowledge::singular(&next.lower).is_some_and(|s| s != next.lower)
                    && !next.lower.ends_with("ss")
                    && !attributive.contains(&next.lower.as_str())
                    && !idea_lower.contains(&phrase)
                {
                    out.push(v(
                        Rule::Grammar,
                        format!("article before a plural in {phrase:?}"),
                    ));
                }
            }
        }
        if prompt.contains("{its}") || prompt.contains("{is}") {
            out.push(v(Rule::Grammar, "unfilled placeholder".into()));
        }
        // quoted text may be repeated for emphasis
        let unquote = |text: &str| {
            let mut t = text.to_string();
            for q in &a.quoted {
                t = t.replace(q.as_str(), " ");
            }
            lower_words(&t)
        };
        if let Some(p) = repeated_phrase(&unquote(prompt), &unquote(&a.idea)) {
            out.push(v(Rule::RepeatedPhrase, format!("{p:?} appears twice")));
        }
    }
    // 5. Budgets.
    out.extend(
        crate::lint::lint(prompt, target)
            .warnings
            .into_iter()
            .filter(|w| w.code != "contradiction")
            .map(|w| v(Rule::Budget, w.message)),
    );
    out
}

/// A 4-word phrase that occurs twice in the prompt but not twice in the idea.
fn repeated_phrase(pw: &[String], iw: &[String]) -> Option<String> {
    let mut seen = HashSet::new();
    for w in pw.windows(4) {
        if !seen.insert(w) {
            let in_idea = iw.windows(4).filter(|x| *x == w).count();
            if in_idea < 2 {
                return Some(w.join(" "));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_are_the_old_strings_through_serde_and_display() {
        let old = [
            "dropped_word",
            "quote_changed",
            "contradiction",
            "camera_terms",
            "grammar",
            "repeated_phrase",
            "budget",
            "echo",
            "too_short",
            "misfit",
            "debris",
        ];
        assert_eq!(Rule::ALL.len(), old.len());
        for (rule, name) in Rule::ALL.into_iter().zip(old) {
            assert_eq!(rule.as_str(), name);
            assert_eq!(rule.to_string(), name);
            let json = serde_json::to_string(&rule).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<Rule>(&json).unwrap(), rule);
        }
        assert!(serde_json::from_str::<Rule>("\"DroppedWord\"").is_err());
    }

    #[test]
    fn a_violation_serializes_its_rule_by_name() {
        let a = crate::analyze("a red fox in the snow");
        let found = check(&a, Target::Dalle, "A red animal in the snow.", "");
        let dropped = found
            .iter()
            .find(|v| v.rule == Rule::DroppedWord)
            .expect("fox is missing");
        assert_eq!(
            serde_json::to_value(dropped).unwrap(),
            serde_json::json!({"rule": "dropped_word", "detail": "the idea's word \"fox\" is missing"})
        );
    }
}
