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

/// The distinct nouns the scene model finds, and those with a frame of
/// their own (not one inherited from a hypernym).
fn coverage() -> (BTreeSet<String>, BTreeSet<String>) {
    let w = world();
    let mut nouns = BTreeSet::new();
    let mut framed = BTreeSet::new();
    for idea in ideas() {
        for e in scene_of(&idea).entities {
            if !e
                .lemma
                .chars()
                .all(|c| c.is_alphabetic() || c == ' ' || c == '-')
            {
                continue;
            }
            nouns.insert(e.lemma.clone());
            if e.concept.as_deref().is_some_and(|c| w.frame(c).is_some()) {
                framed.insert(e.lemma.clone());
            }
        }
    }
    (nouns, framed)
}

#[test]
fn frames_cover_the_nouns_of_real_ideas() {
    let (nouns, framed) = coverage();
    let share = framed.len() as f64 / nouns.len() as f64;
    let missing: Vec<&String> = nouns.difference(&framed).collect();
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
    let concepts: BTreeSet<&str> = w.concepts.iter().map(|c| c.id.as_str()).collect();
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
