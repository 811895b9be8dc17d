//! The shapes of the world files (`data/concepts/*.toml`, `data/world/*.toml`).
//! Field meanings are in `data/SCHEMA.md`.
//!
//! This file is also compiled into `build.rs`, which reads the TOML, checks
//! it against these types and stores it in a compact binary form, so a
//! process pays no TOML parsing for thousands of frames. Keep it free of
//! crate-internal imports.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Phrases by kind of thing ("animal", "person", ... or "any").
pub type ByKind = BTreeMap<String, Vec<String>>;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConceptFrame {
    /// A WordNet 3.0 noun synset ("owl.n.01").
    pub id: String,
    #[serde(default)]
    pub words: Vec<String>,
    #[serde(default)]
    pub cues: Vec<String>,
    #[serde(default)]
    pub scale: Option<String>,
    #[serde(default)]
    pub look: Vec<String>,
    #[serde(default)]
    pub states: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub found_in: Vec<String>,
    #[serde(default)]
    pub props: Vec<String>,
    #[serde(default)]
    pub never: Vec<String>,
    /// The mood the thing brings to a scene, when it has one of its own
    /// (balloons are festive, a gravestone somber).
    #[serde(default)]
    pub mood: Option<String>,
}

/// A phrase and the conditions it is true under.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CondText {
    pub text: String,
    #[serde(default)]
    pub times: Vec<String>,
    #[serde(default)]
    pub not_times: Vec<String>,
    #[serde(default)]
    pub night: bool,
    #[serde(default)]
    pub day: bool,
    #[serde(default)]
    pub weathers: Vec<String>,
    #[serde(default)]
    pub not_weathers: Vec<String>,
    #[serde(default)]
    pub seasons: Vec<String>,
    #[serde(default)]
    pub not_seasons: Vec<String>,
    #[serde(default)]
    pub eras: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingFrame {
    pub id: String,
    pub words: Vec<String>,
    #[serde(default)]
    pub parent: Option<String>,
    pub indoor: bool,
    pub sky: bool,
    pub horizon: bool,
    pub daylight: bool,
    pub weather: bool,
    #[serde(default)]
    pub times: Vec<String>,
    #[serde(default)]
    pub eras: Vec<String>,
    pub details: Vec<CondText>,
    pub tags: Vec<String>,
    #[serde(default)]
    pub never: Vec<String>,
    pub moods: Vec<String>,
    pub framing: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateFrame {
    pub id: String,
    pub words: Vec<String>,
    pub kinds: Vec<String>,
    #[serde(default)]
    pub mood: Option<String>,
    #[serde(default)]
    pub generic: ByKind,
    #[serde(default)]
    pub excludes: Vec<String>,
    /// Features that cannot be seen, or not as usual, in this state: the
    /// writer drops look phrases naming them ("eyes" while sleeping).
    #[serde(default)]
    pub hides: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionFrame {
    pub id: String,
    pub words: Vec<String>,
    pub agent: ByKind,
    #[serde(default)]
    pub patient: ByKind,
    #[serde(default)]
    pub scene: Vec<String>,
    pub framing: String,
    pub motion: bool,
    pub mood: String,
    #[serde(default)]
    pub excludes: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelationFrame {
    pub id: String,
    pub words: Vec<String>,
    pub prose: String,
    pub tag: String,
    pub layout: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EraFrame {
    pub id: String,
    pub words: Vec<String>,
    pub years: [i32; 2],
    #[serde(default)]
    pub clothing: Vec<String>,
    #[serde(default)]
    pub vehicles: Vec<String>,
    #[serde(default)]
    pub materials: Vec<String>,
    #[serde(default)]
    pub technology: Vec<String>,
    pub details: Vec<String>,
    pub anachronisms: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbstractFrame {
    pub id: String,
    pub words: Vec<String>,
    pub metaphors: Vec<String>,
    pub mood: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactFrame {
    pub id: String,
    pub words: Vec<String>,
    pub aspect: String,
    pub framing: String,
    pub medium: String,
    pub layout: Vec<String>,
    pub traits: Vec<String>,
    pub lettering: String,
    #[serde(default)]
    pub never: Vec<String>,
    pub tags: Vec<String>,
    #[serde(default)]
    pub negative: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookFrame {
    pub id: String,
    pub family: String,
    pub medium: String,
    pub lead: String,
    pub light: String,
    pub palette: String,
    pub technique: String,
    pub mood: String,
    pub tags: Vec<String>,
    #[serde(default)]
    pub negative: Vec<String>,
    #[serde(default)]
    pub times: Vec<String>,
    #[serde(default)]
    pub indoor: Option<bool>,
    #[serde(default)]
    pub kinds: Vec<String>,
    #[serde(default)]
    pub framings: Vec<String>,
    #[serde(default)]
    pub moods: Vec<String>,
    #[serde(default)]
    pub not_moods: Vec<String>,
    #[serde(default)]
    pub states: Vec<String>,
    #[serde(default)]
    pub not_states: Vec<String>,
    #[serde(default)]
    pub weathers: Vec<String>,
    #[serde(default)]
    pub color: Option<bool>,
    #[serde(default)]
    pub night: bool,
    #[serde(default)]
    pub day: bool,
    #[serde(default)]
    pub aspect: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vocab {
    pub times: Vec<String>,
    pub weathers: Vec<String>,
    pub seasons: Vec<String>,
    pub moods: Vec<String>,
    pub states: Vec<String>,
    pub kinds: Vec<String>,
    pub framings: Vec<String>,
    pub settings: Vec<String>,
    /// Synset -> kind, for the synsets that root each kind.
    pub kind_roots: BTreeMap<String, String>,
}

/// How much of the scene the frame shows, and from where.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FramingFrame {
    /// A vocab.toml framing id.
    pub id: String,
    /// Words that ask for it in an idea ("headshot", "aerial view").
    #[serde(default)]
    pub words: Vec<String>,
    /// Its aspect ratio ("2:3").
    pub aspect: String,
    /// Clauses that say what the frame shows (one is picked per prompt).
    pub text: Vec<String>,
    /// Camera positions, as adverbial phrases ("from a low angle").
    #[serde(default)]
    pub positions: Vec<String>,
    /// Lens language for photographic looks.
    #[serde(default)]
    pub lenses: Vec<String>,
    pub tags: Vec<String>,
    /// Where the horizon sits, as a fraction of the height from the top.
    pub horizon: f32,
}

/// A named artist's way of working, for "in the style of X".
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtistFrame {
    pub id: String,
    /// How ideas name the artist ("van gogh", "vincent van gogh").
    pub words: Vec<String>,
    /// A media.toml id.
    pub medium: String,
    /// NOUN PHRASE naming the picture ("an oil painting").
    pub lead: String,
    /// NOUN PHRASE: the artist's hand ("thick, swirling impasto strokes").
    pub technique: String,
    /// NOUN PHRASE: the artist's colors.
    pub palette: String,
    pub tags: Vec<String>,
}

/// One data file's tables (any subset).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldFile {
    #[serde(default)]
    pub concept: Vec<ConceptFrame>,
    #[serde(default)]
    pub setting: Vec<SettingFrame>,
    #[serde(default)]
    pub state: Vec<StateFrame>,
    #[serde(default)]
    pub action: Vec<ActionFrame>,
    #[serde(default)]
    pub relation: Vec<RelationFrame>,
    #[serde(default)]
    pub era: Vec<EraFrame>,
    #[serde(default)]
    pub r#abstract: Vec<AbstractFrame>,
    #[serde(default)]
    pub artifact: Vec<ArtifactFrame>,
    #[serde(default)]
    pub look: Vec<LookFrame>,
    #[serde(default)]
    pub framing: Vec<FramingFrame>,
    #[serde(default)]
    pub artist: Vec<ArtistFrame>,
}

/// Everything, as build.rs stores it: the vocabulary, then each file's
/// tables with the file's name (for error messages and tests).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WorldBlob {
    pub vocab: Vocab,
    /// Each file's tables, less its concept frames (stored apart).
    pub files: Vec<(String, WorldFile)>,
    /// (file, synset) of every concept frame, for the schema tests.
    pub concept_sources: Vec<(String, String)>,
    /// First words of the frames' names of three or more words.
    pub long_name_starts: Vec<String>,
}
