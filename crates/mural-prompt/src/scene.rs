//! Idea -> scene: what the idea depicts, as things, not words.
//!
//! The scene holds the entities the idea names (each a WordNet concept with
//! a count, attributes and states), what they do to each other (actions
//! with roles) and where they are (spatial relations), the setting (stated,
//! or inferred from the main subject), time, weather, season and era, the
//! kind of artifact asked for (a logo is designed, not painted as a scene),
//! and what the idea says of its own making: medium, artist, quoted text,
//! exclusions and language.
//!
//! It is a plain data type with a stable shape: the built-in writer
//! composes from it, the sketch painter can draw it, and the LLM guard
//! can check a model's prompt against it. Like [`crate::analysis`], it
//! records only what the idea says or what the knowledge infers from it;
//! choosing details is the composer's job.

use crate::analysis::{analyze, named_phrases, Analysis, Phrases};
use crate::text::{words, Word};
use mural_knowledge::{knowledge, world, Category};
use serde::Serialize;
use std::sync::OnceLock;

/// The language an idea is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    English,
    /// Another language, by ISO 639-1 code ("es"); the writer keeps the
    /// idea as written and adds only what needs no understanding of it.
    #[serde(untagged)]
    Other(&'static str),
}

/// What an entity's modifiers say about it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Attributes {
    pub colors: Vec<String>,
    pub materials: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub era: Option<String>,
    /// Modifiers of no other kind ("fluffy", "coffee" in "coffee cup").
    pub other: Vec<String>,
}

/// One thing the idea names.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Entity {
    /// The noun as written ("puppies").
    pub noun: String,
    /// Its singular, lower case ("puppy"), or the compound ("ice floe").
    pub lemma: String,
    /// The WordNet synset it names ("puppy.n.01"); `None` for a word
    /// WordNet and the frames do not know.
    pub concept: Option<String>,
    /// The concept frame that describes it: its own, or the nearest
    /// ancestor's ("heron.n.02" -> "bird.n.01").
    pub frame: Option<String>,
    /// person, animal, plant, food, vehicle, ... (vocab.toml `kinds`).
    pub kind: Option<String>,
    pub category: Category,
    pub count: Option<u32>,
    pub plural: bool,
    pub attributes: Attributes,
    /// States the idea gives it (vocab.toml `states`): "sleeping".
    pub states: Vec<String>,
    /// The noun is part of the phrase that names the setting ("floe" in
    /// "an ice floe"): the setting develops it, not the entity.
    pub in_setting: bool,
    #[serde(skip)]
    pub(crate) pos: usize,
}

impl Entity {
    /// How many there are: the count, or 2+ for a plural without one.
    pub fn many(&self) -> bool {
        self.plural || self.count.is_some_and(|c| c > 1)
    }
}

/// Who does what to whom.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Action {
    /// actions.toml id ("chase").
    pub id: String,
    /// The verb as written ("chasing").
    pub verb: String,
    /// Index of the doer in `Scene::entities`.
    pub agent: Option<usize>,
    /// Index of the one acted on.
    pub patient: Option<usize>,
}

/// Where one thing is relative to another.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Relation {
    /// relations.toml id ("on_top_of").
    pub id: String,
    /// The words as written ("on top of").
    pub words: String,
    pub a: usize,
    pub b: usize,
}

/// Where the scene happens.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Place {
    /// settings.toml id.
    pub id: String,
    /// The idea names it (true), or the knowledge infers it from the main
    /// subject (false: a lighthouse stands on a coast).
    pub stated: bool,
}

/// The scene an idea describes.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Scene {
    pub idea: String,
    pub language: Language,
    pub entities: Vec<Entity>,
    pub actions: Vec<Action>,
    pub relations: Vec<Relation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setting: Option<Place>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weather: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub season: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub era: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    /// artifacts.toml id: a logo, an icon, an app screen ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    /// abstracts.toml id, when the idea is an abstract concept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abstraction: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mood: Option<String>,
    pub colors: Vec<String>,
    pub monochrome: bool,
    pub quoted: Vec<String>,
    pub negations: Vec<String>,
}

impl Scene {
    /// The main subject: the first concrete entity that is not the setting
    /// itself, else the first that is not the setting, else the first.
    pub fn main(&self) -> Option<&Entity> {
        self.main_index().map(|i| &self.entities[i])
    }

    pub fn main_index(&self) -> Option<usize> {
        let concrete = |e: &Entity| e.kind.as_deref().is_some_and(|k| k != "abstract");
        // the idea opens with a place that is a thing of its own ("a ruined
        // castle covered in ivy"): that place is what the idea is about
        if let Some(first) = self.entities.first() {
            if first.in_setting && !first.states.is_empty() && first.frame.is_some() {
                return Some(0);
            }
        }
        self.entities
            .iter()
            .position(|e| !e.in_setting && concrete(e))
            .or_else(|| self.entities.iter().position(|e| !e.in_setting))
            .or((!self.entities.is_empty()).then_some(0))
    }

    pub fn is_night(&self) -> bool {
        self.time
            .as_deref()
            .and_then(|t| knowledge().time(t))
            .is_some_and(|t| t.night)
    }

    pub fn is_english(&self) -> bool {
        self.language == Language::English
    }

    /// Whether any entity is in `state`.
    pub fn has_state(&self, state: &str) -> bool {
        self.entities
            .iter()
            .any(|e| e.states.iter().any(|s| s == state))
    }
}

struct Tables {
    settings: Phrases,
    states: Phrases,
    actions: Phrases,
    relations: Phrases,
    eras: Phrases,
    artifacts: Phrases,
    abstracts: Phrases,
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let w = world();
        Tables {
            settings: named_phrases!(w.settings),
            states: named_phrases!(w.states),
            actions: named_phrases!(w.actions),
            relations: named_phrases!(w.relations),
            eras: named_phrases!(w.eras),
            artifacts: named_phrases!(w.artifacts),
            abstracts: named_phrases!(w.abstracts),
        }
    })
}

/// Every (start word, length, id) match of a phrase table, longest first
/// at each position, without overlaps.
fn matches(table: &Phrases, ws: &[Word], quoted: &[bool]) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < ws.len() {
        if quoted[i] {
            i += 1;
            continue;
        }
        match table.at(ws, i) {
            Some((n, id)) if !quoted[i..i + n].iter().any(|q| *q) => {
                out.push((i, n, id.to_string()));
                i += n;
            }
            _ => i += 1,
        }
    }
    out
}

/// Reads the scene of an idea. Never fails: any text has a scene.
pub fn scene_of(idea: &str) -> Scene {
    scene_from(&analyze(idea))
}

/// The scene of an analyzed idea.
pub fn scene_from(a: &Analysis) -> Scene {
    let w = world();
    let lex = &knowledge().lexicon;
    let t = tables();
    let idea = a.idea.as_str();
    let ws = words(idea);
    let spans = crate::analysis::quoted_spans(idea);
    let quoted: Vec<bool> = ws
        .iter()
        .map(|x| spans.iter().any(|&(s, e, _)| x.start >= s && x.end <= e))
        .collect();
    let context: Vec<String> = ws.iter().map(|x| x.lower.clone()).collect();

    let language = language_of(&ws, &quoted);

    // Entities: the analyzer's subjects, found in order in the word list.
    let mut entities: Vec<Entity> = Vec::new();
    // words a compound noun took from the weather or time ("snow" globe)
    let mut absorbed: Vec<String> = Vec::new();
    // word spans a longer name took over ("liberty" in "statue of liberty")
    let mut swallowed: Vec<(usize, usize)> = Vec::new();
    let mut from = 0;
    for s in &a.subjects {
        let pos = (from..ws.len())
            .find(|&i| ws[i].text == s.noun && !quoted[i])
            .unwrap_or(from.min(ws.len().saturating_sub(1)));
        from = pos + 1;
        // a compound WordNet or a frame knows ("ice floe", "hot dog", "snow
        // globe") names one concept, even when its first word also names
        // weather or a time ("snow")
        let known = |c: &String| mural_knowledge::wordnet::senses(c).next().is_some() || w.names(c);
        let before = pos
            .checked_sub(1)
            .filter(|&b| !quoted[b] && idea[ws[b].end..ws[pos].start].trim().is_empty())
            .map(|b| ws[b].lower.clone());
        // a longer name starting here ("statue of liberty", "cup of tea")
        let longer = (3..=4).rev().find_map(|k| {
            let end = pos + k;
            if end > ws.len() || quoted[pos..end].iter().any(|q| *q) {
                return None;
            }
            let name = ws[pos..end]
                .iter()
                .map(|x| x.lower.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let name = name.replacen(&ws[pos].lower, &s.lemma, 1);
            known(&name).then_some((name, end))
        });
        if let Some((_, end)) = &longer {
            swallowed.push((pos + 1, *end));
        }
        let compound = longer.map(|l| l.0).or_else(|| {
            s.attributes
                .last()
                .or(before.as_ref())
                .map(|m| format!("{m} {}", s.lemma))
                .filter(known)
        });
        if let (Some(c), Some(b)) = (&compound, &before) {
            if c.starts_with(b.as_str()) && s.attributes.last() != Some(b) {
                absorbed.push(b.clone());
            }
        }
        let lemma = compound.clone().unwrap_or_else(|| s.lemma.clone());
        let concept = w
            .resolve(&lemma, &context)
            .or_else(|| w.resolve(&s.lemma, &context));
        let merged = concept.map(mural_knowledge::merged);
        let mut attrs = Attributes::default();
        for m in &s.attributes {
            if compound.is_some() && Some(m) == s.attributes.last() {
                continue;
            }
            if lex.terms.colors.contains(m) || lex.terms.neutral_colors.contains(m) {
                attrs.colors.push(m.clone());
            } else if lex.materials.contains(m) {
                attrs.materials.push(m.clone());
            } else if lex.sizes.contains(m) {
                attrs.size = Some(m.clone());
            } else if lex.ages.contains(m) {
                attrs.age = Some(m.clone());
            } else {
                attrs.other.push(m.clone());
            }
        }
        entities.push(Entity {
            noun: s.noun.clone(),
            lemma,
            concept: concept.map(str::to_string),
            frame: merged.as_ref().and_then(|m| m.frame.map(str::to_string)),
            kind: merged.as_ref().and_then(|m| m.kind.map(str::to_string)),
            category: s.category,
            count: s.count,
            plural: s.plural,
            attributes: attrs,
            states: Vec::new(),
            in_setting: false,
            pos,
        });
    }

    // "candle-lit", "lamp-lit": the light's source is in the scene, lit.
    for (i, x) in ws.iter().enumerate() {
        let Some(source) = x.lower.strip_suffix("-lit") else {
            continue;
        };
        if quoted[i] || entities.iter().any(|e| e.lemma == source) {
            continue;
        }
        if let Some(concept) = w.resolve(source, &context).filter(|c| w.frame(c).is_some()) {
            let merged = mural_knowledge::merged(concept);
            entities.push(Entity {
                noun: format!("{source}s"),
                lemma: source.to_string(),
                concept: Some(concept.to_string()),
                frame: merged.frame.map(str::to_string),
                kind: merged.kind.map(str::to_string),
                category: mural_knowledge::category_of(source).map_or(Category::Object, |c| c.0),
                count: None,
                plural: true,
                attributes: Attributes::default(),
                states: vec!["lit".into()],
                in_setting: false,
                // a light source the idea implies: after every named thing
                pos: ws.len() + i,
            });
        }
    }

    // Names of three or four words that have a frame of their own ("the
    // Statue of Liberty"), even where a word in them named a medium.
    let mut medium_taken = false;
    let starts = w.long_name_starts();
    let mut i = 0;
    while i < ws.len() {
        if !starts.contains(&ws[i].lower) {
            i += 1;
            continue;
        }
        let found = (3..=4).rev().find_map(|k| {
            let end = i + k;
            if end > ws.len() || quoted[i..end].iter().any(|q| *q) {
                return None;
            }
            let name = ws[i..end]
                .iter()
                .map(|x| x.lower.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let concept = w
                .resolve(&name, &context)
                .filter(|c| w.frame(c).is_some())?;
            Some((name, concept, end))
        });
        let Some((name, concept, end)) = found else {
            i += 1;
            continue;
        };
        if !entities.iter().any(|e| e.lemma == name) {
            let merged = mural_knowledge::merged(concept);
            let media = &knowledge().media;
            medium_taken |= ws[i..end].iter().any(|x| {
                a.medium.as_ref().is_some_and(|m| {
                    media
                        .iter()
                        .any(|md| &md.id == m && md.words.contains(&x.lower))
                })
            });
            swallowed.push((i, end));
            entities.push(Entity {
                noun: idea[ws[i].start..ws[end - 1].end].to_string(),
                lemma: name,
                concept: Some(concept.to_string()),
                frame: merged.frame.map(str::to_string),
                kind: merged.kind.map(str::to_string),
                category: Category::Object,
                count: None,
                plural: false,
                attributes: Attributes::default(),
                states: Vec::new(),
                in_setting: false,
                pos: i,
            });
        }
        i = end;
    }
    entities.retain(|e| {
        let inside = swallowed.iter().any(|&(a, b)| e.pos >= a && e.pos < b);
        !inside
            || e.concept.as_deref().is_some_and(|c| w.frame(c).is_some()) && e.noun.contains(' ')
    });
    entities.sort_by_key(|e| e.pos);

    // A plural noun that is the verb of an action phrase after a doer is a
    // verb: "a bird flies over the lake" has no flies in it.
    let verbs: Vec<usize> = matches(&t.actions, &ws, &quoted)
        .into_iter()
        .filter(|(i, _, _)| entities.iter().any(|e| e.pos < *i))
        .map(|(i, _, _)| i)
        .collect();
    entities.retain(|e| {
        !(verbs.contains(&e.pos)
            && e.plural
            && e.count.is_none()
            && e.attributes.colors.is_empty()
            && e.lemma.split(' ').count() == 1
            && ws.get(e.pos).is_some_and(|x| x.lower.ends_with('s')))
    });

    // The setting the idea states: the longest phrase naming one. A place
    // word that only begins a thing's name ("sea" in "a sea turtle
    // swimming underwater") gives way to one the idea states on its own.
    let names_a_thing = |start: usize, n: usize| {
        let said = ws[start..start + n]
            .iter()
            .map(|x| x.lower.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        entities.iter().any(|e| {
            e.pos == start + n
                && e.lemma
                    .strip_prefix(said.as_str())
                    .is_some_and(|rest| rest.starts_with(' '))
        })
    };
    let found = matches(&t.settings, &ws, &quoted);
    let stated = found
        .iter()
        .find(|(start, n, _)| !names_a_thing(*start, *n))
        .or(found.first())
        .cloned();
    let mut setting = stated.as_ref().map(|(_, _, id)| Place {
        id: id.clone(),
        stated: true,
    });
    if let Some((start, n, _)) = &stated {
        for e in entities.iter_mut() {
            if e.pos >= *start && e.pos < start + n {
                e.in_setting = true;
            }
        }
        // "a beach sunset": the place is the subject; keep one entity for it
    }

    // States: attach each to the entity the word modifies (an attribute
    // before it, or a participle after it), else the main subject.
    // words inside a thing's own name ("Building" in "the Empire State
    // Building") are not states, actions or relations
    let named: Vec<bool> = (0..ws.len())
        .map(|j| {
            quoted[j]
                || swallowed.iter().any(|&(a, b)| j >= a && j < b)
                || entities.iter().any(|e| {
                    let len = e.lemma.split(' ').count();
                    len > 1 && e.pos < ws.len() && j + len > e.pos && j <= e.pos && j != e.pos
                })
        })
        .collect();
    for (i, n, id) in matches(&t.states, &ws, &named) {
        let target = entities
            .iter()
            .position(|e| e.pos >= i + n && e.pos <= i + n + 2)
            .filter(|&k| {
                // "sleeping puppies": the state word stands right before the noun
                entities[k].pos == i + n
                    || a.subjects
                        .get(k)
                        .is_some_and(|s| s.attributes.contains(&ws[i].lower))
            })
            .or_else(|| entities.iter().rposition(|e| e.pos < i && !e.in_setting))
            .or_else(|| entities.iter().rposition(|e| e.pos < i))
            .or_else(|| entities.iter().position(|e| !e.in_setting));
        if let Some(k) = target {
            let ok = w.state(&id).is_none_or(|st| {
                entities[k]
                    .kind
                    .as_deref()
                    .is_none_or(|kind| st.kinds.iter().any(|x| x == kind || x == "any"))
            });
            if ok && !entities[k].states.contains(&id) {
                entities[k].states.push(id);
            }
        }
    }

    // Actions: the doer is the nearest entity before the verb, the one
    // acted on the nearest after it (setting nouns included: "exploring a
    // shipwreck").
    let mut actions: Vec<Action> = Vec::new();
    for (i, n, id) in matches(&t.actions, &ws, &named) {
        let agent = entities.iter().rposition(|e| e.pos < i);
        let patient = entities
            .iter()
            .position(|e| e.pos >= i + n && e.pos <= i + n + 4);
        let verb = idea[ws[i].start..ws[i + n - 1].end].to_string();
        // "a fishing village": a verb with no doer is a modifier; "a
        // painting of": an -ing word before "of" is a noun; an abstraction
        // does nothing
        let noun_use = ws.get(i + n).is_some_and(|x| x.lower == "of");
        let can_act = agent.is_some_and(|k| {
            entities[k]
                .kind
                .as_deref()
                .is_some_and(|kind| !matches!(kind, "abstract" | "substance" | "place"))
        });
        if !can_act || noun_use {
            continue;
        }
        actions.push(Action {
            id,
            verb,
            agent,
            patient,
        });
    }

    // Relations between two named things.
    let mut relations: Vec<Relation> = Vec::new();
    for (i, n, id) in matches(&t.relations, &ws, &named) {
        let a_ix = entities.iter().rposition(|e| e.pos < i);
        let b_ix = entities
            .iter()
            .position(|e| e.pos >= i + n && e.pos <= i + n + 4);
        if let (Some(x), Some(y)) = (a_ix, b_ix) {
            relations.push(Relation {
                id,
                words: idea[ws[i].start..ws[i + n - 1].end].to_string(),
                a: x,
                b: y,
            });
        }
    }

    // "A horse near a barn" is outside it: a stated indoor setting named
    // by a building the subject is placed outside of gives way to the
    // building's outdoor place, and the building is developed as a thing.
    const OUTSIDE_OF: [&str; 11] = [
        "behind",
        "in_front_of",
        "next_to",
        "left_of",
        "right_of",
        "near",
        "across_from",
        "facing",
        "outside",
        "at_the_foot_of",
        "on_top_of",
    ];
    let indoor = |id: &str| w.setting(id).is_some_and(|s| s.indoor);
    if setting.as_ref().is_some_and(|p| p.stated && indoor(&p.id)) {
        let outside = relations
            .iter()
            .find(|r| {
                OUTSIDE_OF.contains(&r.id.as_str())
                    && entities[r.b].in_setting
                    && matches!(
                        entities[r.b].kind.as_deref(),
                        Some("building" | "structure")
                    )
            })
            .map(|r| r.b);
        if let Some(b) = outside {
            let place = entities[b].concept.as_deref().and_then(|c| {
                mural_knowledge::merged(c)
                    .found_in
                    .iter()
                    .find(|id| !indoor(id))
                    .cloned()
            });
            setting = place.map(|id| Place { id, stated: false });
            entities[b].in_setting = false;
        }
    }

    // Era: an era word, a decade ("1960s") or a year ("in 1215").
    let mut era = matches(&t.eras, &ws, &quoted)
        .into_iter()
        .next()
        .map(|m| m.2);
    let mut year = None;
    for (i, x) in ws.iter().enumerate() {
        if quoted[i] {
            continue;
        }
        let digits = x.lower.trim_end_matches('s').trim_end_matches('\'');
        if digits.len() == 4 && digits.chars().all(|c| c.is_ascii_digit()) {
            let y: i32 = digits.parse().unwrap_or(0);
            let decade = x.lower.ends_with('s');
            let after_in = i > 0 && matches!(ws[i - 1].lower.as_str(), "in" | "year" | "of");
            if (decade || after_in) && (1..=3000).contains(&y) {
                year = Some(y);
                if era.is_none() {
                    era = w.era_of_year(y).map(|e| e.id.clone());
                }
            }
        }
    }
    for e in entities.iter_mut() {
        if let Some(m) = e
            .attributes
            .other
            .iter()
            .find(|m| w.eras.iter().any(|x| x.words.iter().any(|word| word == *m)))
        {
            e.attributes.era = Some(m.clone());
        }
    }

    let artifact_match = matches(&t.artifacts, &ws, &quoted).into_iter().next();
    let artifact = artifact_match.as_ref().map(|m| m.2.clone());
    // "a product shot of", "a headshot of", "in the background": words of
    // the picture's making and layout, not things in it
    let drop: Vec<bool> = entities
        .iter()
        .map(|e| {
            artifact_match
                .as_ref()
                .is_some_and(|(s, n, _)| e.pos >= *s && e.pos < s + n)
                || lex.depiction_nouns.contains(&e.lemma)
                || lex.layout_nouns.contains(&e.lemma)
                || w.framings.iter().any(|f| f.words.contains(&e.lemma))
        })
        .collect();
    if drop.iter().any(|d| *d) {
        let keep: Vec<usize> = (0..entities.len()).filter(|&i| !drop[i]).collect();
        let remap = |i: usize| keep.iter().position(|&k| k == i);
        actions = actions
            .into_iter()
            .filter_map(|mut a| {
                a.agent = a.agent.and_then(remap);
                a.patient = a.patient.and_then(remap);
                a.agent.map(|_| a)
            })
            .collect();
        relations = relations
            .into_iter()
            .filter_map(|r| {
                Some(Relation {
                    a: remap(r.a)?,
                    b: remap(r.b)?,
                    ..r
                })
            })
            .collect();
        let mut i = 0;
        entities.retain(|_| {
            i += 1;
            !drop[i - 1]
        });
    }
    let concrete = entities.iter().any(|e| {
        e.kind.as_deref().is_some_and(|k| k != "abstract")
            && !matches!(e.category, Category::Abstract)
    });
    let abstraction = if concrete || artifact.is_some() {
        None
    } else {
        matches(&t.abstracts, &ws, &quoted)
            .into_iter()
            .next()
            .map(|m| m.2)
    };
    // A design artifact is designed, not set in a place.
    if artifact.is_some() && setting.as_ref().is_some_and(|s| s.stated) {
        let designed = artifact
            .as_deref()
            .and_then(|x| w.artifact(x))
            .is_some_and(|x| x.framing != "device_screen" && x.medium != "photo");
        if designed {
            setting = None;
        }
    }
    // No stated setting: the main subject's usual one.
    let main = entities.iter().position(|e| !e.in_setting);
    if setting.is_none() && artifact.is_none() && language == Language::English {
        // the thing the subject is on, in or tied to anchors it ("balloons
        // tied to a mailbox" stand where mailboxes do), else the subject
        let anchor = relations
            .iter()
            .find(|r| Some(r.a) == main)
            .map(|r| r.b)
            .filter(|&b| {
                entities[b].concept.as_deref().is_some_and(|c| {
                    // what the subject wears ("a man in a business suit")
                    // does not place it
                    !mural_knowledge::wordnet::chain(c).any(|h| h == "clothing.n.01")
                        && !mural_knowledge::merged(c).found_in.is_empty()
                })
            });
        // else a place the idea names by its name ("riding a motorcycle in
        // Rio de Janeiro" is not in a teddy bear's nursery)
        // or a landmark it names by its proper name ("climbing the Great
        // Pyramid" is in the desert, not the gorilla's rainforest)
        let placed = |e: &Entity| {
            e.concept
                .as_deref()
                .is_some_and(|c| !mural_knowledge::merged(c).found_in.is_empty())
        };
        let named = |e: &Entity| e.noun.chars().next().is_some_and(char::is_uppercase);
        let place = || {
            entities
                .iter()
                .position(|e| e.kind.as_deref() == Some("place") && named(e) && placed(e))
                .or_else(|| {
                    entities.iter().enumerate().position(|(i, e)| {
                        Some(i) != main
                            && e.pos > 0
                            && named(e)
                            && matches!(
                                e.kind.as_deref(),
                                Some("building" | "structure" | "natural_feature")
                            )
                            && placed(e)
                    })
                })
        };
        setting = anchor
            .or_else(place)
            .or(main)
            .and_then(|m| entities[m].concept.as_deref())
            .and_then(|c| mural_knowledge::merged(c).found_in.first())
            .map(|id| Place {
                id: id.clone(),
                stated: false,
            });
    }

    // Time: the idea's, else night when a named thing only shows at night
    // (a crescent moon, stars).
    let mut time = a.time.clone().filter(|t| {
        !absorbed.iter().any(|b| {
            knowledge()
                .times
                .iter()
                .any(|x| &x.id == t && x.words.contains(b))
        })
    });
    if time.is_none() {
        let daylight = &lex.terms.daylight;
        let night_only = entities.iter().any(|e| {
            e.concept.as_deref().is_some_and(|c| {
                mural_knowledge::merged(c)
                    .never
                    .iter()
                    .any(|n| daylight.iter().any(|d| d == n))
            })
        });
        if night_only {
            time = Some("night".into());
        }
    }

    Scene {
        idea: idea.to_string(),
        language,
        entities,
        actions,
        relations,
        setting,
        time,
        weather: a.weather.clone().filter(|wx| {
            !absorbed.iter().any(|b| {
                knowledge()
                    .weathers
                    .iter()
                    .any(|x| &x.id == wx && x.words.contains(b))
            })
        }),
        season: a.season.clone(),
        era,
        year,
        artifact,
        abstraction,
        medium: a.medium.clone().filter(|_| !medium_taken),
        artist: a.artist.clone(),
        mood: a.mood.clone(),
        colors: a.colors.clone(),
        monochrome: a.monochrome,
        quoted: a.quoted.clone(),
        negations: a.negations.clone(),
    }
}

/// English, or the language whose function words the idea uses most.
fn language_of(ws: &[Word], quoted: &[bool]) -> Language {
    let langs = &knowledge().lexicon.languages;
    let count = |list: &[String]| {
        ws.iter()
            .zip(quoted)
            .filter(|(w, q)| !**q && list.contains(&w.lower))
            .count()
    };
    let english = langs.get("en").map_or(0, |l| count(l));
    let best = langs
        .iter()
        .filter(|(code, _)| code.as_str() != "en")
        .map(|(code, list)| (count(list), code))
        .max_by_key(|(n, _)| *n);
    match best {
        Some((n, code)) if n >= 2 && n > english => {
            // the code as a &'static str from the static lexicon
            Language::Other(
                knowledge()
                    .lexicon
                    .languages
                    .get_key_value(code)
                    .map_or("xx", |(k, _)| k.as_str()),
            )
        }
        _ => Language::English,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lemmas(s: &Scene) -> Vec<&str> {
        s.entities.iter().map(|e| e.lemma.as_str()).collect()
    }

    #[test]
    fn nouns_become_concepts_in_their_sense() {
        let s = scene_of("a pig in a pen");
        let pen = s.entities.iter().find(|e| e.lemma == "pen").unwrap();
        assert_eq!(pen.concept.as_deref(), Some("pen.n.02"), "{s:?}");
        let s = scene_of("a heron");
        let heron = &s.entities[0];
        assert_eq!(heron.kind.as_deref(), Some("animal"));
        assert!(
            heron.frame.is_some(),
            "a heron has a frame, its own or a bird's"
        );
    }

    #[test]
    fn counts_attributes_and_states() {
        let s = scene_of("two old wooden boats on a lake");
        let boats = s.entities.iter().find(|e| e.lemma == "boat").unwrap();
        assert_eq!(boats.count, Some(2));
        assert_eq!(boats.attributes.age.as_deref(), Some("old"));
        assert_eq!(boats.attributes.materials, ["wooden"]);
        let s = scene_of("two puppies sleeping on a rug");
        assert_eq!(s.entities[0].states, ["sleeping"]);
        assert_eq!(s.entities[0].count, Some(2));
    }

    #[test]
    fn actions_have_roles_and_relations_have_sides() {
        let s = scene_of("a firefighter rescuing a dog");
        let a = &s.actions[0];
        assert_eq!(a.id, "rescue");
        assert_eq!(s.entities[a.agent.unwrap()].lemma, "firefighter");
        assert_eq!(s.entities[a.patient.unwrap()].lemma, "dog");
        let s = scene_of("a red cube on top of a blue sphere");
        let r = &s.relations[0];
        assert_eq!(r.id, "on_top_of");
        assert_eq!(s.entities[r.a].attributes.colors, ["red"]);
        assert_eq!(s.entities[r.b].lemma, "sphere");
        // "painting" before "of" is a noun, not an action
        assert!(scene_of("an abstract painting of a fox").actions.is_empty());
    }

    #[test]
    fn a_weak_noun_after_a_noun_heads_their_compound() {
        let main = |idea: &str| {
            let s = scene_of(idea);
            let m = s.main().map(|e| e.lemma.clone());
            (m, s.setting.map(|p| p.id))
        };
        // regression: "fire" was dropped, leaving a calm, mossy forest
        assert_eq!(
            main("a forest fire"),
            (Some("forest fire".into()), Some("forest".into()))
        );
        assert_eq!(
            scene_of("a forest fire").main().unwrap().concept.as_deref(),
            Some("forest_fire.n.01")
        );
        assert_eq!(
            main("a kitchen fire"),
            (Some("fire".into()), Some("kitchen".into()))
        );
        // verbs stay verbs
        assert_eq!(main("the bells ring").0.as_deref(), Some("bell"));
        assert_eq!(
            main("The horse raced past the barn fell").0.as_deref(),
            Some("horse")
        );
    }

    #[test]
    fn the_setting_is_precise() {
        // regression: "sea" in "sea turtle" named the open ocean, with
        // rolling waves, over the "underwater" the idea states
        let id = |idea: &str| scene_of(idea).setting.unwrap().id;
        assert_eq!(id("a sea turtle swimming underwater"), "underwater");
        assert_eq!(id("a beach ball in a swimming pool"), "swimming_pool");
        // the only place word still places it
        assert_eq!(
            id("a sea turtle"),
            scene_of("a turtle in the sea").setting.unwrap().id
        );
        assert_eq!(
            scene_of("an anglerfish in the deep sea")
                .setting
                .unwrap()
                .id,
            "deep_sea"
        );
        assert_eq!(
            scene_of("raccoons inside a subway car").setting.unwrap().id,
            "subway_car"
        );
        let kitchen = scene_of("a cat in a kitchen");
        assert_eq!(kitchen.setting.unwrap().id, "kitchen");
        // none stated: the subject's usual place
        let p = scene_of("a penguin").setting.unwrap();
        assert!(!p.stated);
        assert_eq!(p.id, "sea_ice");
    }

    #[test]
    fn eras_from_words_decades_and_years() {
        assert_eq!(
            scene_of("a train station in the 1920s").era.as_deref(),
            Some("1920s")
        );
        let s = scene_of("a knight in 1215");
        assert_eq!(s.year, Some(1215));
        assert_eq!(s.era.as_deref(), Some("medieval"));
        assert!(scene_of("a futuristic city").era.is_some());
    }

    #[test]
    fn artifacts_abstractions_exclusions_and_language() {
        let s = scene_of("a logo of an owl for a bookstore");
        assert_eq!(s.artifact.as_deref(), Some("logo"));
        assert!(
            s.setting.is_none(),
            "a logo is designed, not set in a place"
        );
        assert_eq!(scene_of("hope").abstraction.as_deref(), Some("hope"));
        let s = scene_of("a beach without umbrellas");
        assert_eq!(s.negations, ["umbrellas"]);
        assert_eq!(
            scene_of("una plaza en Sevilla al atardecer").language,
            Language::Other("es")
        );
        assert_eq!(
            scene_of("a plaza in Seville at sunset").language,
            Language::English
        );
        let s = scene_of("a sign that says \"Open Late\"");
        assert_eq!(s.quoted, ["Open Late"]);
    }

    #[test]
    fn names_and_compounds_are_one_thing() {
        assert_eq!(
            lemmas(&scene_of("The Statue of Liberty")),
            ["statue of liberty"]
        );
        assert_eq!(lemmas(&scene_of("a snow globe")), ["snow globe"]);
        assert!(
            scene_of("a snow globe").weather.is_none(),
            "the snow is the globe's"
        );
        let s = scene_of("a candle-lit dinner for two");
        let candles = s.entities.iter().find(|e| e.lemma == "candle").unwrap();
        assert_eq!(candles.states, ["lit"]);
        assert_eq!(s.main().unwrap().lemma, "dinner");
    }

    #[test]
    fn night_things_set_the_time() {
        assert_eq!(
            scene_of("an owl on a branch under a crescent moon")
                .time
                .as_deref(),
            Some("night")
        );
    }
}
