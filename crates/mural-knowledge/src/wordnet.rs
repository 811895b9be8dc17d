//! WordNet 3.0 senses and hypernyms, from sorted tables searched in place
//! (`data/wordnet/senses.tsv`, `hypernyms.tsv`): no start-up cost.

use crate::nouns::{lookup, table, Table};

static SENSES: Table = table!("senses");
static HYPERNYMS: Table = table!("hypernyms");

/// The noun senses of a lemma (lower case, singular), most frequent first:
/// synset names such as "pen.n.01", "pen.n.02".
pub fn senses(lemma: &str) -> impl Iterator<Item = &'static str> {
    lookup(&SENSES, lemma)
        .into_iter()
        .flat_map(|v| v.split(',').filter(|s| !s.is_empty()))
}

/// A synset's first hypernym ("heron.n.02" -> "wading_bird.n.01");
/// `None` at the root (entity.n.01) or for an unknown synset.
pub fn hypernym(synset: &str) -> Option<&'static str> {
    lookup(&HYPERNYMS, synset).filter(|p| !p.is_empty())
}

/// Whether `synset` is a noun synset mural's tables know.
pub fn is_synset(synset: &str) -> bool {
    lookup(&HYPERNYMS, synset).is_some()
}

/// The synset and its ancestors, nearest first, ending at the root.
pub fn chain(synset: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(synset);
    let mut steps = 0;
    std::iter::from_fn(move || {
        let cur = next?;
        steps += 1;
        // WordNet's first-hypernym chains are at most 19 deep; the cap only
        // guards against a corrupted table.
        next = if steps < 32 { hypernym(cur) } else { None };
        Some(cur)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senses_in_order_and_chains_reach_the_root() {
        let pen: Vec<_> = senses("pen").collect();
        assert_eq!(&pen[..2], ["pen.n.01", "pen.n.02"]);
        let heron: Vec<_> = chain("heron.n.02").collect();
        assert!(heron.contains(&"bird.n.01"), "{heron:?}");
        assert_eq!(heron.last(), Some(&"entity.n.01"));
        assert!(is_synset("owl.n.01"));
        assert!(!is_synset("owl.n.99"));
        assert_eq!(hypernym("entity.n.01"), None);
    }
}
