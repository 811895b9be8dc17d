//! The run: the one sequence every image takes.

use crate::error::{ItemError, PaintItemError, PipelineError, Stage};
use crate::keep::Kept;
use crate::recipe::{BatchRef, Recipe, RECIPE_VERSION};
use crate::spec::ItemSpec;
use mural_gallery::{Gallery, GalleryError, LeaseKind, NewRun};
use mural_paint::{PaintRequest, Painter};
use mural_prompt::{BuiltinWriter, Writer, Written};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// The parts one run paints with, as the caller chose them.
pub struct Studio<'a> {
    pub gallery: &'a Gallery,
    pub painter: &'a dyn Painter,
    /// What `--painter` said (a kind, `kind/model` or a profile name), for
    /// the recipe and messages.
    pub painter_label: &'a str,
    pub writer: &'a dyn Writer,
    /// Where images go: an existing folder, absolute, UTF-8.
    pub out: &'a Path,
    /// Set to stop before the next image (the studio's Cancel).
    pub cancel: Option<&'a AtomicBool>,
}

/// Which run to paint.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    /// A new run (`imagine`, the server); `rerun_of` when it paints a
    /// recorded run again, `batch` when it is a batch item's.
    New {
        rerun_of: Option<i64>,
        batch: Option<BatchRef>,
    },
    /// A recorded run, finished in place with its own recipe: images
    /// already recorded are kept, files saved but not recorded are
    /// adopted, only the missing ones are painted.
    Continue { run_id: i64, recipe: Box<Recipe> },
}

impl Start {
    pub fn new() -> Start {
        Start::New {
            rerun_of: None,
            batch: None,
        }
    }
}

impl Default for Start {
    fn default() -> Start {
        Start::new()
    }
}

/// What a run reports as it goes.
#[derive(Debug)]
pub enum Event<'a> {
    /// The run is recorded (before anything is written or painted).
    Started { run_id: i64 },
    /// The prompts about to be painted, negatives added.
    Written(&'a [Written]),
    /// One image kept.
    Image(&'a Kept),
}

/// A run that finished.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub run_id: i64,
    /// The images this call kept (painted or adopted), in order.
    pub kept: Vec<Kept>,
}

/// A run that did not finish: recorded as failed (when it was recorded
/// at all, and is not another process's).
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct RunFailed {
    pub run_id: Option<i64>,
    #[source]
    pub error: PaintItemError,
}

impl RunFailed {
    fn before_start(error: impl Into<PaintItemError>) -> RunFailed {
        RunFailed {
            run_id: None,
            error: error.into(),
        }
    }
}

impl Studio<'_> {
    fn writer_stage(&self) -> Stage {
        Stage::writer(self.writer.name())
    }

    fn painter_stage(&self) -> Stage {
        Stage::painter(self.painter_label)
    }

    /// Checks a spec against the writer's rules and the painter's limits
    /// (size, prompt length) before anything is recorded: a run that cannot
    /// work is refused here, as bad input.
    pub fn check(&self, spec: &ItemSpec) -> Result<(), ItemError> {
        let req = spec.write_request();
        mural_prompt::validate(&req).map_err(|e| ItemError::from_write(self.writer_stage(), e))?;
        let limits = self.painter.limits();
        let invalid = |message: String| ItemError::Invalid {
            stage: self.painter_stage(),
            message,
        };
        limits
            .check_size(spec.width, spec.height)
            .map_err(|e| invalid(e.to_string()))?;
        // the built-in writer's prompts stand for any writer's length
        let written = BuiltinWriter
            .write(&req)
            .map_err(|e| ItemError::from_write(self.writer_stage(), e))?;
        for w in &written {
            limits
                .check_prompt(&w.prompt)
                .map_err(|e| invalid(format!("{e} (target {})", spec.target.name())))?;
        }
        Ok(())
    }

    /// The recipe of a new run: everything to paint it again (no secrets),
    /// and a fresh run key that tells this run's files from any other's.
    pub fn recipe(
        &self,
        spec: &ItemSpec,
        rerun_of: Option<i64>,
        batch: Option<BatchRef>,
    ) -> Recipe {
        Recipe {
            version: RECIPE_VERSION,
            run_key: Some(crate::run_key()),
            idea: spec.idea.clone(),
            writer: self.writer.name().to_string(),
            target: spec.target,
            style: spec.style.clone(),
            seed: spec.seed,
            n: spec.n,
            painter: self.painter_label.to_string(),
            painter_kind: self.painter.name().to_string(),
            model: self.painter.model().to_string(),
            width: spec.width,
            height: spec.height,
            rerun_of,
            negative: spec.negative.clone(),
            mural_version: env!("CARGO_PKG_VERSION").to_string(),
            out: self.out.to_str().map(str::to_string),
            batch,
        }
    }

    /// The run: check, record, write, add the spec's negatives, paint
    /// each missing image, keep it, and record how the run ended. `on`
    /// hears of each step. A failure after the run is recorded marks it
    /// failed, except a lease another process holds (that run is not ours).
    pub async fn run<F: Fn(Event)>(
        &self,
        spec: &ItemSpec,
        start: Start,
        on: &F,
    ) -> Result<Finished, RunFailed> {
        if self.out.to_str().is_none() {
            return Err(RunFailed::before_start(PipelineError::NonUtf8Path(
                self.out.to_string_lossy().into_owned(),
            )));
        }
        self.check(spec).map_err(RunFailed::before_start)?;
        let (run_id, recipe) = match start {
            Start::New { rerun_of, batch } => {
                let recipe = self.recipe(spec, rerun_of, batch);
                let id = self
                    .gallery
                    .start_run(&NewRun {
                        idea: &spec.idea,
                        recipe: &recipe.to_value(),
                    })
                    .map_err(RunFailed::before_start)?;
                (id, recipe)
            }
            Start::Continue { run_id, recipe } => (run_id, *recipe),
        };
        on(Event::Started { run_id });
        let mut kept = Vec::new();
        let result = self
            .paint_missing(spec, run_id, &recipe, on, &mut kept)
            .await;
        let fail = |error: PaintItemError| RunFailed {
            run_id: Some(run_id),
            error,
        };
        match result {
            Ok(()) => {
                self.gallery
                    .finish_run(run_id, None)
                    .map_err(|e| fail(e.into()))?;
                Ok(Finished { run_id, kept })
            }
            // another process paints this run: not ours to mark failed
            Err(e @ PaintItemError::Fatal(PipelineError::Gallery(GalleryError::Leased { .. }))) => {
                Err(fail(e))
            }
            Err(e) => {
                self.gallery
                    .finish_run(run_id, Some(&e.to_string()))
                    .map_err(|e| fail(e.into()))?;
                Err(fail(e))
            }
        }
    }

    /// Writes, paints and keeps every image of the run the gallery does not
    /// have yet, holding the run's lease throughout.
    async fn paint_missing<F: Fn(Event)>(
        &self,
        spec: &ItemSpec,
        run_id: i64,
        recipe: &Recipe,
        on: &F,
        kept: &mut Vec<Kept>,
    ) -> Result<(), PaintItemError> {
        let _lease = self.gallery.lease(LeaseKind::Run, run_id)?;
        let mut written = self
            .writer
            .write_async(&spec.write_request())
            .await
            .map_err(|e| ItemError::from_write(self.writer_stage(), e))?;
        for w in &mut written {
            w.add_negative(&spec.negative);
        }
        on(Event::Written(&written));
        let have: Vec<usize> = self
            .gallery
            .get(run_id)?
            .images
            .iter()
            .map(|i| i.index)
            .collect();
        for w in written.iter().filter(|w| !have.contains(&w.index)) {
            if self.cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
                return Err(ItemError::Cancelled.into());
            }
            let k = match self.adopt(run_id, recipe, w)? {
                Some(k) => k,
                None => {
                    let img = self.paint_one(spec, w).await?;
                    self.keep(run_id, recipe, w, &img)?
                }
            };
            on(Event::Image(&k));
            kept.push(k);
        }
        Ok(())
    }

    async fn paint_one(
        &self,
        spec: &ItemSpec,
        w: &Written,
    ) -> Result<mural_paint::Painted, ItemError> {
        let req = PaintRequest {
            prompt: w.prompt.clone(),
            negative_prompt: w.negative_prompt.clone(),
            width: spec.width,
            height: spec.height,
            n: 1,
            seed: w.seed,
            model: None,
            // a writer that says only what the idea's scene licenses: paint
            // the idea's scene, not the words it added; any other writer's
            // prompt is read by the painter itself
            scene: self
                .writer
                .writes_from_scene()
                .then(|| mural_prompt::scene_of(&w.idea)),
        };
        let painted = self.painter.paint(&req).await.map_err(|e| {
            // a painter stopped by the cancel (abandoning the image it was
            // painting) was cancelled, not failed
            if self.cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
                ItemError::Cancelled
            } else {
                ItemError::from_paint(self.painter_stage(), e)
            }
        })?;
        painted.into_iter().next().ok_or_else(|| ItemError::Failed {
            stage: self.painter_stage(),
            message: "it returned no image".to_string(),
        })
    }
}
