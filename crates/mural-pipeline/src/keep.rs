//! Keeping one painted image: its recipe embedded, saved without ever
//! replacing a file, recorded in the gallery; or adopted, when an
//! interrupted attempt saved it but did not record it.

use crate::error::PipelineError;
use crate::files;
use crate::recipe::{ImageRecipe, Recipe};
use crate::run::Studio;
use mural_gallery::NewImage;
use mural_paint::Painted;
use mural_prompt::Written;
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

/// One image kept: on disk and in the gallery.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kept {
    pub id: i64,
    pub run_id: i64,
    pub index: usize,
    pub file: String,
    pub idea: String,
    pub prompt: String,
    pub negative_prompt: String,
    pub seed: u64,
    pub width: u32,
    pub height: u32,
    pub painter: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revised_prompt: Option<String>,
    /// Recorded from a file an interrupted attempt left, not painted again.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub adopted: bool,
}

impl Studio<'_> {
    /// Embeds the recipe, saves the file (never replacing one) and records it.
    pub(crate) fn keep(
        &self,
        run_id: i64,
        run: &Recipe,
        w: &Written,
        img: &Painted,
    ) -> Result<Kept, PipelineError> {
        let recipe = ImageRecipe {
            run: Recipe {
                seed: img.seed,
                out: None,
                ..run.clone()
            },
            run_id,
            index: w.index,
            prompt: w.prompt.clone(),
            negative_prompt: w.negative_prompt.clone(),
            writer_params: w.params.clone(),
            painter_params: img.params.clone(),
            revised_prompt: img.revised_prompt.clone(),
        };
        let parameters = mural_meta::infotext(&w.prompt, &w.negative_prompt, &self.infotext(img));
        let recipe_json = recipe.to_value();
        let bytes = mural_meta::embed(
            &img.png,
            &mural_meta::Embed {
                parameters: &parameters,
                recipe: &recipe_json,
                digital_source_type: self.painter.source_type().iptc_uri(),
            },
        )?;
        // named by the seed asked for, so a later attempt can look it up
        let stem = files::stem(run_id, w.index, w.seed, &run.idea);
        let tag = match &run.run_key {
            Some(key) => key.clone(),
            None => std::process::id().to_string(),
        };
        let path = files::save_new(self.out, &stem, &tag, &bytes)?;
        let file = utf8(&path)?;
        self.record(run_id, &recipe, &recipe_json, &file, false)
    }

    /// AUTOMATIC1111's fields for the infotext, from what the painter says
    /// it used.
    fn infotext(&self, img: &Painted) -> Vec<(&'static str, String)> {
        let p = |k: &str| img.params.get(k);
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        let mut fields: Vec<(&str, String)> = Vec::new();
        if let Some(s) = p("steps") {
            fields.push(("Steps", text(s)));
        }
        fields.push((
            "Sampler",
            p("sampler")
                .map(text)
                .unwrap_or_else(|| self.painter.name().to_string()),
        ));
        if let Some(c) = p("cfg_scale") {
            fields.push(("CFG scale", text(c)));
        }
        fields.push(("Seed", img.seed.to_string()));
        fields.push(("Size", format!("{}x{}", img.width, img.height)));
        fields.push((
            "Model",
            p("model")
                .map(text)
                .unwrap_or_else(|| self.painter.model().to_string()),
        ));
        fields.push(("Version", format!("mural {}", env!("CARGO_PKG_VERSION"))));
        fields
    }

    fn record(
        &self,
        run_id: i64,
        recipe: &ImageRecipe,
        recipe_json: &Value,
        file: &str,
        adopted: bool,
    ) -> Result<Kept, PipelineError> {
        // a pool names the member that painted it; else it is the painter
        let painted_by = recipe
            .painter_params
            .get("member")
            .and_then(Value::as_str)
            .unwrap_or(self.painter_label);
        let id = self.gallery.add_image(
            run_id,
            &NewImage {
                index: recipe.index,
                file,
                prompt: &recipe.prompt,
                negative_prompt: &recipe.negative_prompt,
                seed: recipe.run.seed,
                width: recipe.run.width,
                height: recipe.run.height,
                painted_by,
                recipe: recipe_json,
            },
        )?;
        Ok(Kept {
            id,
            run_id,
            index: recipe.index,
            file: file.to_string(),
            idea: recipe.run.idea.clone(),
            prompt: recipe.prompt.clone(),
            negative_prompt: recipe.negative_prompt.clone(),
            seed: recipe.run.seed,
            width: recipe.run.width,
            height: recipe.run.height,
            painter: self.painter_label.to_string(),
            revised_prompt: recipe.revised_prompt.clone(),
            adopted,
        })
    }

    /// A file an interrupted attempt saved but did not record: recorded
    /// now, as it was painted (an LLM writer may write differently now).
    pub(crate) fn adopt(
        &self,
        run_id: i64,
        run: &Recipe,
        w: &Written,
    ) -> Result<Option<Kept>, PipelineError> {
        let want = files::Wanted {
            run_id,
            run_key: run.run_key.as_deref(),
            index: w.index,
            seed: w.seed,
            prompt: &w.prompt,
            idea: &run.idea,
        };
        let Some((path, found)) = files::find_kept(self.out, &want) else {
            return Ok(None);
        };
        // the file's own recipe where it reads, else this run's
        let recipe = ImageRecipe::from_value(&found).unwrap_or_else(|_| ImageRecipe {
            run: run.clone(),
            run_id,
            index: w.index,
            prompt: w.prompt.clone(),
            negative_prompt: w.negative_prompt.clone(),
            writer_params: w.params.clone(),
            painter_params: Default::default(),
            revised_prompt: None,
        });
        let mut recipe = recipe;
        // the size the file really has (find_kept reads it from the PNG)
        if let (Some(wd), Some(ht)) = (found["width"].as_u64(), found["height"].as_u64()) {
            recipe.run.width = wd as u32;
            recipe.run.height = ht as u32;
        }
        let file = utf8(&path)?;
        self.record(run_id, &recipe, &found, &file, true).map(Some)
    }
}

/// A path as recorded: exactly, or not at all.
fn utf8(path: &Path) -> Result<String, PipelineError> {
    path.to_str()
        .map(str::to_string)
        .ok_or_else(|| PipelineError::NonUtf8Path(path.to_string_lossy().into_owned()))
}
