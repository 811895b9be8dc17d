//! The world: concept frames, settings, states, actions, relations, eras,
//! abstract concepts, design artifacts and looks (`data/SCHEMA.md`).
//!
//! build.rs turns the TOML into a postcard blob; this module embeds it,
//! decodes it once and indexes it. Lookups are facts: which frame a noun
//! has, what a frame inherits, which setting a phrase names. Choosing among
//! them is the writer's job.

use crate::wordnet;
pub use crate::world_types::*;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

static BLOB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/world.bin"));
static FRAMES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/frames.bin"));
static FRAME_IDS: crate::nouns::Table = crate::nouns::built_table!("frame_ids");
static FRAME_WORDS: crate::nouns::Table = crate::nouns::built_table!("frame_words");

/// Every world table, indexed.
#[derive(Debug)]
pub struct World {
    pub vocab: Vocab,
    pub settings: Vec<SettingFrame>,
    pub states: Vec<StateFrame>,
    pub actions: Vec<ActionFrame>,
    pub relations: Vec<RelationFrame>,
    pub eras: Vec<EraFrame>,
    pub abstracts: Vec<AbstractFrame>,
    pub artifacts: Vec<ArtifactFrame>,
    pub looks: Vec<LookFrame>,
    pub framings: Vec<FramingFrame>,
    pub artists: Vec<ArtistFrame>,
    /// (file, table kind, id) of every entry, for the schema tests.
    pub sources: Vec<(String, &'static str, String)>,
    /// Concept frames decoded so far (each at most once, for the life of
    /// the process).
    frames: std::sync::Mutex<HashMap<String, Option<&'static ConceptFrame>>>,
    long_name_starts: std::collections::HashSet<String>,
    setting_ix: HashMap<String, usize>,
    state_ix: HashMap<String, usize>,
}

/// The world, decoded on first use.
pub fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let blob: WorldBlob = match postcard::from_bytes(BLOB) {
            Ok(b) => b,
            // written by build.rs from the same types: a mismatch is a build defect
            Err(e) => panic!("world.bin does not decode: {e}"),
        };
        World::new(blob)
    })
}

/// [`World::merged`] for the process's world, remembered per synset (a
/// merge walks a chain of a dozen hypernyms; scenes ask for the same few
/// again and again). The memo holds at most one entry per synset.
pub fn merged(synset: &str) -> Merged<'static> {
    thread_local! {
        static MERGED: crate::nouns::Memo<Merged<'static>> = Default::default();
    }
    crate::nouns::memo(&MERGED, synset, |s| world().merged(s))
}

/// A concept's frame with what it inherits from its ancestors' frames.
#[derive(Debug, Clone, Default)]
pub struct Merged<'a> {
    /// The synset the noun resolved to.
    pub synset: String,
    /// The frame that holds its look (its own, or the nearest ancestor's).
    pub frame: Option<&'a str>,
    /// How many hypernym steps up `frame` sits (0: the concept's own).
    pub distance: usize,
    pub kind: Option<&'a str>,
    pub scale: Option<&'a str>,
    pub mood: Option<&'a str>,
    pub look: &'a [String],
    pub found_in: &'a [String],
    pub props: &'a [String],
    /// State -> phrases, nearest frame first.
    pub states: BTreeMap<&'a str, &'a [String]>,
    /// Everything that never fits, along the whole chain.
    pub never: Vec<&'a str>,
}

impl World {
    fn new(blob: WorldBlob) -> World {
        let mut w = World {
            vocab: blob.vocab,
            settings: Vec::new(),
            states: Vec::new(),
            actions: Vec::new(),
            relations: Vec::new(),
            eras: Vec::new(),
            abstracts: Vec::new(),
            artifacts: Vec::new(),
            looks: Vec::new(),
            framings: Vec::new(),
            artists: Vec::new(),
            sources: Vec::new(),
            frames: std::sync::Mutex::new(HashMap::new()),
            long_name_starts: blob.long_name_starts.into_iter().collect(),
            setting_ix: HashMap::new(),
            state_ix: HashMap::new(),
        };
        for (file, f) in blob.files {
            let src = &mut w.sources;
            let mut note = |kind: &'static str, id: &str| src.push((file.clone(), kind, id.into()));
            f.concept.iter().for_each(|x| note("concept", &x.id));
            f.setting.iter().for_each(|x| note("setting", &x.id));
            f.state.iter().for_each(|x| note("state", &x.id));
            f.action.iter().for_each(|x| note("action", &x.id));
            f.relation.iter().for_each(|x| note("relation", &x.id));
            f.era.iter().for_each(|x| note("era", &x.id));
            f.r#abstract.iter().for_each(|x| note("abstract", &x.id));
            f.artifact.iter().for_each(|x| note("artifact", &x.id));
            f.look.iter().for_each(|x| note("look", &x.id));
            f.framing.iter().for_each(|x| note("framing", &x.id));
            f.artist.iter().for_each(|x| note("artist", &x.id));
            w.settings.extend(f.setting);
            w.states.extend(f.state);
            w.actions.extend(f.action);
            w.relations.extend(f.relation);
            w.eras.extend(f.era);
            w.abstracts.extend(f.r#abstract);
            w.artifacts.extend(f.artifact);
            w.looks.extend(f.look);
            w.framings.extend(f.framing);
            w.artists.extend(f.artist);
        }
        for (file, id) in blob.concept_sources {
            w.sources.push((file, "concept", id));
        }
        for (i, s) in w.settings.iter().enumerate() {
            w.setting_ix.entry(s.id.clone()).or_insert(i);
        }
        for (i, s) in w.states.iter().enumerate() {
            w.state_ix.entry(s.id.clone()).or_insert(i);
        }
        w
    }

    /// The first words of the names of three or more words that have a
    /// frame ("statue" for "statue of liberty"), so a scene tries long
    /// names only where one can start.
    pub fn long_name_starts(&self) -> &std::collections::HashSet<String> {
        &self.long_name_starts
    }

    /// Whether a frame lists `word` (lower case) among its `words`.
    pub fn names(&self, word: &str) -> bool {
        crate::nouns::lookup(&FRAME_WORDS, word).is_some()
    }

    /// The frame written for exactly this synset, decoded on first use.
    pub fn frame(&self, synset: &str) -> Option<&'static ConceptFrame> {
        let mut cache = self.frames.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = cache.get(synset) {
            return *f;
        }
        let f = crate::nouns::lookup(&FRAME_IDS, synset).and_then(|v| {
            let (off, len) = v.split_once(',')?;
            let (off, len): (usize, usize) = (off.parse().ok()?, len.parse().ok()?);
            let frame: ConceptFrame = postcard::from_bytes(FRAMES.get(off..off + len)?).ok()?;
            // at most one per frame written, for the life of the process
            Some(&*Box::leak(Box::new(frame)))
        });
        cache.insert(synset.to_string(), f);
        f
    }

    /// Every concept frame, decoded (for checks over the whole base).
    pub fn concepts(&self) -> Vec<&'static ConceptFrame> {
        FRAME_IDS
            .text
            .lines()
            .filter_map(|l| l.split('\t').next())
            .filter_map(|id| self.frame(id))
            .collect()
    }

    pub fn setting(&self, id: &str) -> Option<&SettingFrame> {
        self.setting_ix.get(id).map(|&i| &self.settings[i])
    }

    pub fn state(&self, id: &str) -> Option<&StateFrame> {
        self.state_ix.get(id).map(|&i| &self.states[i])
    }

    pub fn action(&self, id: &str) -> Option<&ActionFrame> {
        self.actions.iter().find(|a| a.id == id)
    }

    pub fn relation(&self, id: &str) -> Option<&RelationFrame> {
        self.relations.iter().find(|a| a.id == id)
    }

    pub fn era(&self, id: &str) -> Option<&EraFrame> {
        self.eras.iter().find(|a| a.id == id)
    }

    /// The era whose years hold `year`: the first in eras.toml's order,
    /// which lists the main line of history before regional and styled eras.
    pub fn era_of_year(&self, year: i32) -> Option<&EraFrame> {
        self.eras
            .iter()
            .find(|e| e.years[0] <= year && year <= e.years[1])
    }

    pub fn abstract_concept(&self, id: &str) -> Option<&AbstractFrame> {
        self.abstracts.iter().find(|a| a.id == id)
    }

    pub fn artifact(&self, id: &str) -> Option<&ArtifactFrame> {
        self.artifacts.iter().find(|a| a.id == id)
    }

    /// The artist an "in the style of X" names, by any of their names.
    pub fn artist(&self, name: &str) -> Option<&ArtistFrame> {
        let name = name.to_lowercase();
        self.artists.iter().find(|a| {
            a.words
                .iter()
                .any(|w| name == *w || name.ends_with(&format!(" {w}")))
        })
    }

    pub fn framing(&self, id: &str) -> Option<&FramingFrame> {
        self.framings.iter().find(|a| a.id == id)
    }

    pub fn look(&self, id: &str) -> Option<&LookFrame> {
        self.looks.iter().find(|a| a.id == id)
    }

    /// A setting and its parents, nearest first.
    pub fn setting_chain<'a>(&'a self, id: &str) -> Vec<&'a SettingFrame> {
        let mut out: Vec<&SettingFrame> = Vec::new();
        let mut cur = self.setting(id);
        while let Some(s) = cur {
            if out.iter().any(|x| x.id == s.id) {
                break;
            }
            out.push(s);
            cur = s.parent.as_deref().and_then(|p| self.setting(p));
        }
        out
    }

    /// The synset a noun names here: among its WordNet senses (and frames
    /// that list it in `words`), the first whose frame has a cue among
    /// `context`; else the first sense with a frame of its own; else the
    /// first sense. `None` for words WordNet and the frames do not know.
    pub fn resolve<'a>(&'a self, lemma: &str, context: &[String]) -> Option<&'a str> {
        let lemma = lemma.to_lowercase();
        let mut candidates: Vec<&'a str> = Vec::new();
        if let Some(ids) = crate::nouns::lookup(&FRAME_WORDS, &lemma) {
            candidates.extend(ids.split(',').filter(|s| !s.is_empty()));
        }
        for s in wordnet::senses(&lemma) {
            if !candidates.contains(&s) {
                candidates.push(s);
            }
        }
        let cued = candidates.iter().find(|s| {
            self.frame(s)
                .is_some_and(|f| f.cues.iter().any(|c| context.iter().any(|w| w == c)))
        });
        cued.or_else(|| candidates.iter().find(|s| self.frame(s).is_some()))
            .or(candidates.first())
            .copied()
    }

    /// The kind of a synset: the first kind root on its chain.
    pub fn kind_of<'a>(&'a self, synset: &str) -> Option<&'a str> {
        wordnet::chain(synset).find_map(|s| self.vocab.kind_roots.get(s).map(|k| k.as_str()))
    }

    /// A synset's frame merged with its ancestors': the nearest frame's
    /// look, settings and props; each state from the nearest frame that
    /// describes it; `never` from every frame on the chain.
    pub fn merged<'a>(&'a self, synset: &str) -> Merged<'a> {
        let mut m = Merged {
            synset: synset.to_string(),
            ..Default::default()
        };
        for (depth, s) in wordnet::chain(synset).enumerate() {
            if m.kind.is_none() {
                m.kind = self.vocab.kind_roots.get(s).map(|k| k.as_str());
            }
            let Some(f) = self.frame(s) else { continue };
            if m.frame.is_none() && !f.look.is_empty() {
                m.frame = Some(f.id.as_str());
                m.distance = depth;
                m.look = &f.look;
            }
            if m.scale.is_none() {
                m.scale = f.scale.as_deref();
            }
            if m.mood.is_none() {
                m.mood = f.mood.as_deref();
            }
            if m.found_in.is_empty() {
                m.found_in = &f.found_in;
            }
            if m.props.is_empty() && m.frame.is_none_or(|x| x == f.id) {
                m.props = &f.props;
            }
            for (k, v) in &f.states {
                m.states.entry(k.as_str()).or_insert(v.as_slice());
            }
            m.never.extend(f.never.iter().map(|s| s.as_str()));
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge;

    fn ids(list: &[String]) -> std::collections::BTreeSet<&str> {
        list.iter().map(String::as_str).collect()
    }

    /// The schema test: every reference resolves, every concept reaches a
    /// root, no frame is empty, ids are unique.
    #[test]
    fn every_reference_resolves() {
        let w = world();
        let v = &w.vocab;
        let (times, weathers, seasons) = (ids(&v.times), ids(&v.weathers), ids(&v.seasons));
        let (moods, states, kinds) = (ids(&v.moods), ids(&v.states), ids(&v.kinds));
        let (framings, settings) = (ids(&v.framings), ids(&v.settings));
        let eras: std::collections::BTreeSet<&str> = w.eras.iter().map(|e| e.id.as_str()).collect();
        let k = knowledge();
        let mut bad: Vec<String> = Vec::new();
        let mut check = |ok: bool, what: String| {
            if !ok {
                bad.push(what)
            }
        };
        let mut seen = std::collections::BTreeSet::new();
        for (file, kind, id) in &w.sources {
            check(
                seen.insert((*kind, id.as_str())),
                format!("{file}: duplicate {kind} {id}"),
            );
        }
        for (synset, kind) in &v.kind_roots {
            check(wordnet::is_synset(synset), format!("kind root {synset}"));
            check(
                kinds.contains(kind.as_str()),
                format!("kind root {synset}: kind {kind}"),
            );
        }
        for c in w.concepts() {
            let at = format!("concept {}", c.id);
            check(
                wordnet::is_synset(&c.id),
                format!("{at}: not a WordNet synset"),
            );
            let root = wordnet::chain(&c.id).last();
            check(
                root == Some("entity.n.01"),
                format!("{at}: chain ends at {root:?}"),
            );
            check(
                !(c.look.is_empty()
                    && c.states.is_empty()
                    && c.found_in.is_empty()
                    && c.props.is_empty()
                    && c.never.is_empty()),
                format!("{at}: empty frame"),
            );
            for s in c.states.keys() {
                check(states.contains(s.as_str()), format!("{at}: state {s}"));
            }
            for s in &c.found_in {
                check(settings.contains(s.as_str()), format!("{at}: setting {s}"));
            }
            if let Some(m) = &c.mood {
                check(moods.contains(m.as_str()), format!("{at}: mood {m}"));
            }
            if let Some(s) = &c.scale {
                check(
                    ["tiny", "small", "medium", "large", "huge", "vast"].contains(&s.as_str()),
                    format!("{at}: scale {s}"),
                );
            }
        }
        for s in &w.settings {
            let at = format!("setting {}", s.id);
            check(
                settings.contains(s.id.as_str()),
                format!("{at}: not in vocab"),
            );
            if let Some(p) = &s.parent {
                check(w.setting(p).is_some(), format!("{at}: parent {p}"));
            }
            check(
                framings.contains(s.framing.as_str()),
                format!("{at}: framing"),
            );
            check(
                !s.details.is_empty() && !s.tags.is_empty(),
                format!("{at}: empty"),
            );
            for m in &s.moods {
                check(moods.contains(m.as_str()), format!("{at}: mood {m}"));
            }
            for t in &s.times {
                check(times.contains(t.as_str()), format!("{at}: time {t}"));
            }
            for e in &s.eras {
                check(eras.contains(e.as_str()), format!("{at}: era {e}"));
            }
            for d in &s.details {
                for t in d.times.iter().chain(&d.not_times) {
                    check(times.contains(t.as_str()), format!("{at}: detail time {t}"));
                }
                for x in d.weathers.iter().chain(&d.not_weathers) {
                    check(
                        weathers.contains(x.as_str()),
                        format!("{at}: detail weather {x}"),
                    );
                }
                for x in d.seasons.iter().chain(&d.not_seasons) {
                    check(
                        seasons.contains(x.as_str()),
                        format!("{at}: detail season {x}"),
                    );
                }
                for x in &d.eras {
                    check(eras.contains(x.as_str()), format!("{at}: detail era {x}"));
                }
            }
        }
        for id in &v.settings {
            check(
                w.setting(id).is_some(),
                format!("vocab setting {id} has no frame"),
            );
        }
        for s in &w.states {
            let at = format!("state {}", s.id);
            check(
                states.contains(s.id.as_str()),
                format!("{at}: not in vocab"),
            );
            for x in &s.kinds {
                check(
                    kinds.contains(x.as_str()) || x == "any",
                    format!("{at}: kind {x}"),
                );
            }
            for x in s.generic.keys() {
                check(
                    kinds.contains(x.as_str()) || x == "any",
                    format!("{at}: generic {x}"),
                );
            }
            if let Some(m) = &s.mood {
                check(moods.contains(m.as_str()), format!("{at}: mood {m}"));
            }
        }
        for a in &w.actions {
            let at = format!("action {}", a.id);
            check(!a.agent.is_empty(), format!("{at}: no agent phrases"));
            check(moods.contains(a.mood.as_str()), format!("{at}: mood"));
            check(
                framings.contains(a.framing.as_str()),
                format!("{at}: framing"),
            );
            for x in a.agent.keys().chain(a.patient.keys()) {
                check(
                    kinds.contains(x.as_str()) || x == "any",
                    format!("{at}: kind {x}"),
                );
            }
        }
        for r in &w.relations {
            check(
                r.prose.contains("{a}") && r.prose.contains("{b}"),
                format!("relation {}: prose needs {{a}} and {{b}}", r.id),
            );
        }
        for e in &w.eras {
            check(e.years[0] <= e.years[1], format!("era {}: years", e.id));
            check(
                !e.anachronisms.is_empty(),
                format!("era {}: anachronisms", e.id),
            );
        }
        for x in &w.abstracts {
            check(
                x.metaphors.len() >= 3,
                format!("abstract {}: metaphors", x.id),
            );
            check(
                moods.contains(x.mood.as_str()),
                format!("abstract {}: mood", x.id),
            );
        }
        for x in &w.artifacts {
            let at = format!("artifact {}", x.id);
            check(
                k.medium(&x.medium).is_some(),
                format!("{at}: medium {}", x.medium),
            );
            check(
                framings.contains(x.framing.as_str()),
                format!("{at}: framing"),
            );
            check(
                ["quoted_only", "allowed", "none"].contains(&x.lettering.as_str()),
                format!("{at}: lettering"),
            );
        }
        for l in &w.looks {
            let at = format!("look {}", l.id);
            check(
                k.medium(&l.medium).is_some(),
                format!("{at}: medium {}", l.medium),
            );
            check(moods.contains(l.mood.as_str()), format!("{at}: mood"));
            for t in &l.times {
                check(times.contains(t.as_str()), format!("{at}: time {t}"));
            }
            for x in &l.kinds {
                check(kinds.contains(x.as_str()), format!("{at}: kind {x}"));
            }
            for x in &l.framings {
                check(framings.contains(x.as_str()), format!("{at}: framing {x}"));
            }
            for x in l.moods.iter().chain(&l.not_moods) {
                check(moods.contains(x.as_str()), format!("{at}: mood {x}"));
            }
            for x in l.states.iter().chain(&l.not_states) {
                check(states.contains(x.as_str()), format!("{at}: state {x}"));
            }
            for x in &l.weathers {
                check(weathers.contains(x.as_str()), format!("{at}: weather {x}"));
            }
        }
        for f in &v.framings {
            check(w.framing(f).is_some(), format!("framing {f} has no frame"));
        }
        for a in &w.artists {
            check(
                k.medium(&a.medium).is_some(),
                format!("artist {}: medium {}", a.id, a.medium),
            );
        }
        assert!(
            bad.is_empty(),
            "{} problems:\n{}",
            bad.len(),
            bad.join("\n")
        );
    }

    #[test]
    fn inheritance_follows_wordnet() {
        let w = world();
        // a frame's never lists add up along the chain, and kinds come from roots
        let owl = w.merged("owl.n.01");
        assert_eq!(owl.kind, Some("animal"));
        assert_eq!(w.kind_of("sailboat.n.01"), Some("vehicle"));
        let firefighter = w.resolve("firefighter", &[]).unwrap();
        assert_eq!(w.kind_of(firefighter), Some("person"));
        assert!(w.resolve("pen", &["pig".into()]).is_some());
    }
}
