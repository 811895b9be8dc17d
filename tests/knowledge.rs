//! The knowledge base's size and reach: enough frames of each kind, and
//! frames for the nouns real ideas use (PartiPrompts and the public writer
//! cases).

use crate::util::parti_prompts;
use mural_knowledge::world;
use mural_prompt::scene_of;
use std::collections::BTreeSet;

fn ideas() -> Vec<String> {
    let mut all = parti_prompts();
    for c in crate::util::json_lines(include_str!("../data/eval/writer_cases.jsonl")) {
        all.push(c["idea"].as_str().unwrap().to_string());
    }
    all
}

/// Whether the knowledge knows a word as something other than a thing: a
/// setting, an abstract concept, a design artifact, a framing, a medium, an
/// era, a time of day, a weather or a season.
fn known_otherwise(word: &str) -> bool {
    let w = world();
    let k = mural_knowledge::knowledge();
    let has = |list: &[String]| list.iter().any(|x| x == word);
    w.settings.iter().any(|s| has(&s.words))
        || w.abstracts.iter().any(|s| has(&s.words))
        || w.artifacts.iter().any(|s| has(&s.words))
        || w.framings.iter().any(|s| has(&s.words))
        || w.eras.iter().any(|s| has(&s.words))
        || k.media.iter().any(|s| has(&s.words))
        || k.times.iter().any(|s| has(&s.words))
        || k.weathers.iter().any(|s| has(&s.words))
        || k.seasons.iter().any(|s| has(&s.words))
        || k.lexicon.depiction_nouns.iter().any(|x| x == word)
        || k.lexicon.layout_nouns.iter().any(|x| x == word)
        || k.lexicon.containers.iter().any(|x| x == word)
        || k.lexicon.terms.lighting.iter().any(|x| x == word)
}

/// The distinct nouns the scene model finds that WordNet or the frames
/// know (misread verbs and made-up words are not nouns to cover), and
/// those the knowledge covers: a frame of their own (not one inherited
/// from a hypernym), or another kind of knowledge (a setting, an abstract
/// concept, a medium ...).
fn coverage() -> (BTreeSet<String>, BTreeSet<String>) {
    let w = world();
    let mut nouns = BTreeSet::new();
    let mut covered = BTreeSet::new();
    for idea in ideas() {
        for e in scene_of(&idea).entities {
            let lemma = e.lemma.clone();
            let known =
                mural_knowledge::wordnet::senses(&lemma).next().is_some() || w.names(&lemma);
            // a weak noun ("great", "tall") was a modifier the analyzer
            // could not place; it names no thing
            let weak = mural_knowledge::category_of(&lemma).is_some_and(|c| c.1);
            if !known
                || weak
                || !lemma
                    .chars()
                    .all(|c| c.is_alphabetic() || c == ' ' || c == '-')
            {
                continue;
            }
            nouns.insert(lemma.clone());
            let framed = e.concept.as_deref().is_some_and(|c| w.frame(c).is_some());
            if framed || known_otherwise(&lemma) || known_otherwise(&e.noun.to_lowercase()) {
                covered.insert(lemma);
            }
        }
    }
    (nouns, covered)
}

#[test]
fn frames_cover_the_nouns_of_real_ideas() {
    let (nouns, framed) = coverage();
    let share = framed.len() as f64 / nouns.len() as f64;
    let missing: Vec<&String> = nouns.difference(&framed).collect();
    std::fs::write(
        std::env::temp_dir().join("mural-uncovered-nouns.txt"),
        missing.iter().map(|m| format!("{m}\n")).collect::<String>(),
    )
    .ok();
    eprintln!(
        "{} of {} distinct nouns have frames ({:.1}%); missing: {:?}",
        framed.len(),
        nouns.len(),
        share * 100.0,
        missing
    );
    assert!(share >= 0.9, "{:.1}% < 90%", share * 100.0);
}

#[test]
fn the_knowledge_base_is_big_enough() {
    let w = world();
    let concepts: BTreeSet<&str> = w.concepts().iter().map(|c| c.id.as_str()).collect();
    assert!(concepts.len() >= 2000, "{} concept frames", concepts.len());
    assert!(w.actions.len() >= 200, "{} action frames", w.actions.len());
    assert!(
        w.settings.len() >= 200,
        "{} setting frames",
        w.settings.len()
    );
    assert!(
        w.abstracts.len() >= 150,
        "{} abstract concepts",
        w.abstracts.len()
    );
    assert!(w.relations.len() >= 20, "{} relations", w.relations.len());
    assert!(w.eras.len() >= 20, "{} eras", w.eras.len());
    assert!(w.artifacts.len() >= 20, "{} artifacts", w.artifacts.len());
}
