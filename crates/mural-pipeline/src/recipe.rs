//! The recipe: mural's persistence format. A run's recipe is recorded in
//! the gallery before anything is painted; each image's recipe (the run's
//! plus what painted that image) is embedded in its PNG and recorded with
//! it. Both are read back to paint again (`rerun`), to finish a run
//! (`--resume`) and to adopt a file an interrupted attempt saved.
//!
//! Versions: 1 is every recipe written before the field existed (mural
//! 0.1 until this struct); 2 adds `version` and nothing else, so both read
//! the same way. Fields added later must have a default, so older recipes
//! keep reading; a recipe from a newer mural is refused with a clear error.

use crate::spec::ItemSpec;
use mural_prompt::Target;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The version this mural writes.
pub const RECIPE_VERSION: u32 = 2;

fn version_1() -> u32 {
    1
}

fn builtin() -> String {
    "builtin".to_string()
}

/// A recipe that cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecipeError {
    #[error("the recipe was written by a newer mural (recipe version {found}, this mural reads up to {RECIPE_VERSION}); upgrade mural")]
    TooNew { found: u32 },
    #[error("the recipe cannot be read ({0})")]
    Malformed(String),
}

/// Where a batch item's run sits in its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRef {
    pub id: i64,
    pub index: usize,
}

/// A run's recipe: everything to paint it again, and nothing secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    #[serde(default = "version_1")]
    pub version: u32,
    /// 128 random bits, as hex, made when the run starts and never reused:
    /// a file belongs to this run only if its recipe carries this key.
    /// Version-1 recipes from before run keys have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_key: Option<String>,
    pub idea: String,
    /// The writer's name ("builtin", "openai:gpt-6-luna", a profile).
    #[serde(default = "builtin")]
    pub writer: String,
    pub target: Target,
    #[serde(default)]
    pub style: Option<String>,
    /// The run's first seed; in an image's recipe, that image's seed.
    pub seed: u64,
    pub n: usize,
    /// What `--painter` said: a kind, `kind/model` or a profile name.
    pub painter: String,
    /// The painter's kind ("sketch", "a1111" ...).
    #[serde(default)]
    pub painter_kind: String,
    /// The model the painter used ("(default)" when it chose).
    #[serde(default)]
    pub model: String,
    pub width: u32,
    pub height: u32,
    #[serde(default)]
    pub rerun_of: Option<i64>,
    /// Added to every written negative prompt.
    #[serde(default)]
    pub negative: String,
    #[serde(default)]
    pub mural_version: String,
    /// The absolute folder the images go to (the gallery's copy only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out: Option<String>,
    /// The batch item this run paints, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<BatchRef>,
}

/// One image's recipe: its run's, with what painted this image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRecipe {
    #[serde(flatten)]
    pub run: Recipe,
    pub run_id: i64,
    pub index: usize,
    pub prompt: String,
    #[serde(default)]
    pub negative_prompt: String,
    /// What the writer chose for the target (size, model, Midjourney
    /// parameters ...).
    #[serde(default)]
    pub writer_params: Map<String, Value>,
    /// What the painter reports it used (steps, sampler, the pool member ...).
    #[serde(default)]
    pub painter_params: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revised_prompt: Option<String>,
}

fn check_version(v: &Value) -> Result<(), RecipeError> {
    match v.get("version").and_then(Value::as_u64) {
        Some(found) if found > RECIPE_VERSION as u64 => Err(RecipeError::TooNew {
            found: found.min(u32::MAX as u64) as u32,
        }),
        _ => Ok(()),
    }
}

impl Recipe {
    /// Reads a run's recipe as the gallery holds it (any version up to
    /// this mural's).
    pub fn from_value(v: &Value) -> Result<Recipe, RecipeError> {
        check_version(v)?;
        Recipe::deserialize(v).map_err(|e| RecipeError::Malformed(e.to_string()))
    }

    pub fn to_value(&self) -> Value {
        // a struct of strings, numbers and maps always serializes
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The spec that paints this run again.
    pub fn spec(&self) -> ItemSpec {
        ItemSpec {
            idea: self.idea.clone(),
            target: self.target,
            style: self.style.clone(),
            n: self.n,
            seed: self.seed,
            width: self.width,
            height: self.height,
            negative: self.negative.clone(),
        }
    }

    /// The model the run asked for, if it named one (not the painter's
    /// "(default)").
    pub fn named_model(&self) -> Option<&str> {
        Some(self.model.as_str()).filter(|m| !m.is_empty() && !m.starts_with('('))
    }
}

impl ImageRecipe {
    /// Reads an image's recipe (from its PNG or the gallery).
    pub fn from_value(v: &Value) -> Result<ImageRecipe, RecipeError> {
        check_version(v)?;
        ImageRecipe::deserialize(v).map_err(|e| RecipeError::Malformed(e.to_string()))
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run recorded by mural before recipes had a version (today's
    /// gallery rows), read from the fixture `tests/data/recipes`.
    fn fixture() -> Value {
        serde_json::from_str(include_str!(
            "../../../tests/data/recipes/v1-gallery-run.json"
        ))
        .unwrap()
    }

    #[test]
    fn version_1_run_and_image_recipes_still_read() {
        let run = fixture();
        let r = Recipe::from_value(&run["recipe"]).unwrap();
        assert_eq!(r.version, 1);
        assert_eq!(r.idea, "a red fox in the snow");
        assert_eq!(r.target, Target::GptImage);
        assert_eq!((r.n, r.seed, r.width, r.height), (2, 7, 64, 64));
        assert_eq!(r.negative, "fog");
        assert!(r.run_key.is_some() && r.out.is_some());
        let img = ImageRecipe::from_value(&run["images"][1]["recipe"]).unwrap();
        assert_eq!((img.run_id, img.index, img.run.seed), (2, 1, 8));
        assert_eq!(img.prompt, run["images"][1]["prompt"].as_str().unwrap());
        assert_eq!(img.painter_params["sampler"], "sketch");
        assert_eq!(img.run.run_key, r.run_key);
    }

    #[test]
    fn the_oldest_recipes_without_keys_or_negatives_still_read() {
        // the first recipe mural wrote (before run keys, negatives, out)
        let v = serde_json::json!({
            "idea": "a lighthouse", "writer": "builtin", "target": "dalle", "style": null,
            "seed": 3, "n": 1, "painter": "sketch", "painter_kind": "sketch",
            "model": "mural-sketch-1", "width": 1024, "height": 1024, "rerun_of": null,
            "mural_version": "0.1.0"
        });
        let r = Recipe::from_value(&v).unwrap();
        assert_eq!(
            (r.version, r.run_key.as_deref(), r.negative.as_str()),
            (1, None, "")
        );
        assert_eq!(r.spec().target, Target::Dalle);
    }

    #[test]
    fn a_written_recipe_reads_back_the_same() {
        let mut r = Recipe::from_value(&fixture()["recipe"]).unwrap();
        r.version = RECIPE_VERSION;
        r.batch = Some(BatchRef { id: 3, index: 9 });
        let v = r.to_value();
        assert_eq!(v["version"], RECIPE_VERSION);
        assert_eq!(v["target"], "gpt-image");
        assert_eq!(Recipe::from_value(&v).unwrap(), r);
    }

    #[test]
    fn a_newer_recipe_is_refused_by_name() {
        let mut v = fixture()["recipe"].clone();
        v["version"] = 99.into();
        let e = Recipe::from_value(&v).unwrap_err();
        assert_eq!(e, RecipeError::TooNew { found: 99 });
        assert!(e.to_string().contains("upgrade mural"));
        let e = Recipe::from_value(&serde_json::json!({"idea": "x"})).unwrap_err();
        assert!(matches!(e, RecipeError::Malformed(_)), "{e}");
    }
}
