//! The shapes of the data files. Field docs live in the TOML files' headers.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
pub struct Lexicon {
    pub stopwords: Vec<String>,
    pub finite_verbs: Vec<String>,
    pub containers: Vec<String>,
    pub depiction_nouns: Vec<String>,
    pub numbers: BTreeMap<String, u32>,
    pub terms: Terms,
    pub category_overrides: BTreeMap<String, String>,
    pub materials: Vec<String>,
    pub sizes: Vec<String>,
    pub ages: Vec<String>,
    pub layout_nouns: Vec<String>,
    /// Language code -> its function words ("en" included).
    pub languages: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
pub struct Terms {
    pub plural_quantifiers: Vec<String>,
    pub colors: Vec<String>,
    pub neutral_colors: Vec<String>,
    pub monochrome: Vec<String>,
    pub camera: Vec<String>,
    pub daylight: Vec<String>,
    pub clear_sky: Vec<String>,
    pub lighting: Vec<String>,
    pub people: Vec<String>,
    pub style_of: Vec<String>,
    pub negations: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AtmosphereFile {
    pub time: Vec<Time>,
    pub weather: Vec<Weather>,
    pub season: Vec<Season>,
}

#[derive(Debug, Deserialize)]
pub struct Time {
    pub id: String,
    pub words: Vec<String>,
    pub phrase: String,
    pub night: bool,
    pub details: Vec<String>,
    pub horizon_details: Vec<String>,
    pub tags: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct Weather {
    pub id: String,
    pub words: Vec<String>,
    pub details: Vec<String>,
    pub tags: Vec<String>,
    #[serde(default)]
    pub daylight_only: bool,
}

#[derive(Debug, Deserialize)]
pub struct Season {
    pub id: String,
    pub words: Vec<String>,
    pub details: Vec<String>,
    pub tags: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ScenesFile {
    pub scene: Vec<Scene>,
}

#[derive(Debug, Deserialize)]
pub struct Scene {
    pub id: String,
    pub words: Vec<String>,
    pub setting: Setting,
    pub horizon: bool,
    pub layers: Vec<String>,
    pub moods: Vec<String>,
    pub details: Vec<Detail>,
    pub tags: Vec<String>,
}

/// A detail and the conditions it fits.
#[derive(Debug, Deserialize)]
pub struct Detail {
    pub text: String,
    /// Fits only these times (empty: any).
    #[serde(default)]
    pub times: Vec<String>,
    #[serde(default)]
    pub not_times: Vec<String>,
    /// `Some(true)`: only at night; `not_night`: never at night.
    #[serde(default)]
    pub night: bool,
    #[serde(default)]
    pub not_night: bool,
    #[serde(default)]
    pub not_weather: Vec<String>,
    #[serde(default)]
    pub not_seasons: Vec<String>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Setting {
    Any,
    Outdoor,
    Indoor,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LightingFile {
    pub lighting: Vec<Lighting>,
}

#[derive(Debug, Deserialize)]
pub struct Lighting {
    pub id: String,
    pub text: String,
    pub tags: Vec<String>,
    pub times: Vec<String>,
    pub setting: Setting,
    #[serde(default)]
    pub sunny: bool,
    #[serde(default)]
    pub for_categories: Vec<String>,
    #[serde(default)]
    pub photo_only: bool,
    /// Fits only these scenes (or no named scene); empty: any.
    #[serde(default)]
    pub scenes: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PalettesFile {
    pub palette: Vec<Palette>,
}

#[derive(Debug, Deserialize)]
pub struct Palette {
    pub id: String,
    pub text: String,
    pub tags: Vec<String>,
    pub times: Vec<String>,
    #[serde(default)]
    pub mono: bool,
    /// Fits only these scenes (or no named scene); empty: any.
    #[serde(default)]
    pub scenes: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MoodsFile {
    pub mood: Vec<Mood>,
}

#[derive(Debug, Deserialize)]
pub struct Mood {
    pub id: String,
    pub words: Vec<String>,
    pub text: String,
    pub tags: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CompositionsFile {
    pub composition: Vec<Composition>,
}

#[derive(Debug, Deserialize)]
pub struct Composition {
    pub id: String,
    pub words: Vec<String>,
    pub text: String,
    pub tags: Vec<String>,
    pub camera: Vec<String>,
    pub aspect: String,
    pub fits: Vec<String>,
    /// Where the horizon sits, as a fraction of the height from the top.
    pub horizon: f32,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MediaFile {
    pub medium: Vec<Medium>,
}

#[derive(Debug, Deserialize)]
pub struct Medium {
    pub id: String,
    pub words: Vec<String>,
    pub lead: String,
    pub photographic: bool,
    pub technique: Vec<String>,
    pub tags: Vec<String>,
    pub negative: Vec<String>,
    pub stylize: u32,
    #[serde(default)]
    pub graphic: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CategoriesFile {
    pub category: Vec<CategoryInfo>,
}

#[derive(Debug, Deserialize)]
pub struct CategoryInfo {
    pub id: String,
    pub details: Vec<String>,
    pub tags: Vec<String>,
    pub media: Vec<String>,
    pub lighting: Vec<String>,
    pub compositions: Vec<String>,
    pub palettes: Vec<String>,
    pub moods: Vec<String>,
    pub camera: Vec<String>,
    pub negative: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StylesFile {
    pub style: Vec<Style>,
}

#[derive(Debug, Deserialize)]
pub struct Style {
    pub id: String,
    pub description: String,
    pub medium: String,
    pub prose: Vec<String>,
    pub tags: Vec<String>,
    pub negative: Vec<String>,
    #[serde(default)]
    pub composition: Option<String>,
    #[serde(default)]
    pub aspect: Option<String>,
    #[serde(default)]
    pub monochrome: bool,
}
