//! Painting a recorded run again: its recipe gives the spec and the
//! painter, and its images give the prompts, replayed exactly as they were
//! painted (`mural rerun`, the studio's Re-run). The writer is not asked
//! again: an LLM would write differently, and even the built-in writer's
//! knowledge may have grown since.

use crate::recipe::{Recipe, RecipeError};
use crate::spec::ItemSpec;
use mural_gallery::Run;
use mural_prompt::{BuiltinWriter, WriteError, WriteRequest, Writer, Written};

/// The prompts a run recorded, as a writer: prompt `i` is image `i`'s. An
/// image the run never got (it failed) is written again by the built-in
/// writer when the run was the built-in writer's; otherwise it cannot be
/// replayed and the error says so.
pub struct Recorded {
    name: String,
    prompts: Vec<Written>,
}

impl Recorded {
    /// The prompts of `run`, under the name of the writer that wrote them.
    pub fn of(run: &Run, recipe: &Recipe) -> Recorded {
        Recorded {
            name: recipe.writer.clone(),
            prompts: run
                .images
                .iter()
                .map(|im| Written {
                    idea: recipe.idea.clone(),
                    target: recipe.target,
                    seed: im.seed,
                    index: im.index,
                    prompt: im.prompt.clone(),
                    negative_prompt: im.negative_prompt.clone(),
                    params: im.recipe["writer_params"]
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                    repaired: false,
                })
                .collect(),
        }
    }

    fn builtin(&self) -> bool {
        self.name == BuiltinWriter.name()
    }
}

impl Writer for Recorded {
    fn name(&self) -> &str {
        &self.name
    }

    fn writes_from_scene(&self) -> bool {
        self.builtin()
    }

    fn write(&self, req: &WriteRequest) -> Result<Vec<Written>, WriteError> {
        mural_prompt::validate(req)?;
        let fresh = if self.builtin() && self.prompts.len() < req.n {
            Some(BuiltinWriter.write(req)?)
        } else {
            None
        };
        (0..req.n)
            .map(|i| {
                let recorded = self.prompts.iter().find(|p| p.index == i).cloned();
                let mut w = match (recorded, &fresh) {
                    (Some(w), _) => w,
                    (None, Some(fresh)) => fresh[i].clone(),
                    (None, None) => {
                        return Err(WriteError::Config {
                            message: format!(
                                "the run recorded no prompt #{} (written by {}); it cannot be re-run exactly",
                                i + 1,
                                self.name
                            ),
                        })
                    }
                };
                w.seed = req.seed.wrapping_add(i as u64);
                Ok(w)
            })
            .collect()
    }
}

/// Everything to paint a recorded run again.
pub struct Replay {
    pub recipe: Recipe,
    pub writer: Recorded,
}

impl Replay {
    pub fn of(run: &Run) -> Result<Replay, RecipeError> {
        let recipe = Recipe::from_value(&run.recipe)?;
        let writer = Recorded::of(run, &recipe);
        Ok(Replay { recipe, writer })
    }

    pub fn spec(&self) -> ItemSpec {
        self.recipe.spec()
    }

    /// What `--painter` said, and the model if the run named one.
    pub fn painter(&self) -> (&str, Option<&str>) {
        (&self.recipe.painter, self.recipe.named_model())
    }
}
