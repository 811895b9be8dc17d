//! The one path from a request to a recorded run: [`AppState::prepare`]
//! checks a [`Generation`] (everything a client can get wrong is a 400
//! before anything is recorded), and [`AppState::run`] writes once,
//! records the run, paints and keeps each image, and finishes the run, on a
//! blocking thread with its own gallery connection. [`replay`] turns a
//! recorded run back into its prompts, for `POST /v1/runs/{id}/rerun`.
//!
//! The sequence itself is `mural-pipeline`'s (`Studio::paint_item`); what
//! is here is the server's part: admission, a painting slot, cancellation
//! between images, and writing exactly once (the prompts a client saw are
//! the prompts painted, even from an LLM writer).

use crate::limits::{Admission, Busy};
use crate::{AppError, AppState};
use mural_gallery::{Gallery, NewRun, Run};
use mural_paint::{PaintError, PaintRequest, Painted, Painter};
use mural_pipeline::{random_seed, ItemSpec, Kept, PaintItemError, Studio};
use mural_prompt::writer::validate;
use mural_prompt::{Target, VerbatimWriter, WriteError, WriteRequest, Writer, Written};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// One generation: what to write and paint.
#[derive(Debug, Clone, Default)]
pub(crate) struct Generation {
    pub idea: String,
    pub target: Option<String>,
    pub style: Option<String>,
    pub writer: Option<String>,
    pub painter: Option<String>,
    pub n: usize,
    pub seed: Option<u64>,
    pub size: Option<String>,
    /// `false`: the idea is the prompt, painted as written (verbatim).
    pub rewrite: bool,
    /// Appended to every written negative prompt, and recorded.
    pub negative: Option<String>,
}

/// A checked generation, ready to run on a blocking thread.
pub(crate) struct Prepared {
    pub spec: ItemSpec,
    pub writer: Arc<dyn Writer>,
    pub painter: Arc<dyn Painter>,
    pub label: String,
    /// A re-run: the run it repeats and its recorded prompts, painted as
    /// they are (never written again).
    pub replay: Option<(i64, Vec<Written>)>,
}

/// How a run ended.
pub(crate) struct Outcome {
    /// `None` when it was cancelled before it was recorded.
    pub run_id: Option<i64>,
    pub kept: Vec<Kept>,
    pub cancelled: bool,
}

/// Asks a job to stop: no image is started after it is set, and the one
/// being painted is abandoned (nothing of it is kept).
#[derive(Clone, Default)]
pub(crate) struct Cancel(Arc<(AtomicBool, tokio::sync::Notify)>);

impl Cancel {
    pub(crate) fn cancel(&self) {
        self.0 .0.store(true, Ordering::SeqCst);
        self.0 .1.notify_waiters();
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.0 .0.load(Ordering::SeqCst)
    }

    async fn cancelled(&self) {
        loop {
            let notified = self.0 .1.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

const CANCELLED: &str = "cancelled";

/// A painter that stops when its job is cancelled.
struct Cancellable<'a> {
    painter: &'a dyn Painter,
    cancel: &'a Cancel,
}

impl Painter for Cancellable<'_> {
    fn name(&self) -> &str {
        self.painter.name()
    }
    fn model(&self) -> &str {
        self.painter.model()
    }
    fn limits(&self) -> mural_paint::Limits {
        self.painter.limits()
    }
    fn source_type(&self) -> mural_paint::SourceType {
        self.painter.source_type()
    }
    fn paint<'b>(
        &'b self,
        req: &'b PaintRequest,
    ) -> futures_util::future::BoxFuture<'b, Result<Vec<Painted>, PaintError>> {
        Box::pin(async move {
            let stop = || PaintError::Failed {
                message: CANCELLED.into(),
            };
            if self.cancel.is_cancelled() {
                return Err(stop());
            }
            tokio::select! {
                r = self.painter.paint(req) => r,
                _ = self.cancel.cancelled() => Err(stop()),
            }
        })
    }
}

/// A writer that gives back prompts already written (once, before the run
/// was recorded, or recorded by an earlier run), under the name of the
/// writer that wrote them.
struct AlreadyWritten {
    name: String,
    prompts: Vec<Written>,
}

impl Writer for AlreadyWritten {
    fn name(&self) -> &str {
        &self.name
    }
    fn write(&self, _: &WriteRequest) -> Result<Vec<Written>, WriteError> {
        Ok(self.prompts.clone())
    }
}

/// A recorded run's prompts, as `mural rerun` replays them: each image's
/// prompt, negative prompt and seed verbatim (renumbered from 0), with the
/// spec it was painted from (idea, target, style, size, negative).
///
/// The lead moves this into `mural-pipeline` (with the typed `Recipe`);
/// until then it reads today's recipe keys.
pub(crate) fn replay(run: &Run) -> Result<(ItemSpec, String, Vec<Written>), AppError> {
    let v = &run.recipe;
    let bad = || {
        AppError::invalid(
            "id",
            format!("run {} has no usable recipe; it cannot be re-run", run.id),
        )
    };
    if run.images.is_empty() {
        return Err(AppError::invalid(
            "id",
            format!(
                "run {} kept no images, so it has no prompts to paint again",
                run.id
            ),
        ));
    }
    let target_name = v["target"].as_str().ok_or_else(bad)?;
    let target = Target::parse(target_name).ok_or_else(bad)?;
    let idea = v["idea"].as_str().unwrap_or(&run.idea).to_string();
    let prompts: Vec<Written> = run
        .images
        .iter()
        .enumerate()
        .map(|(i, im)| Written {
            idea: idea.clone(),
            target,
            seed: im.seed,
            index: i,
            prompt: im.prompt.clone(),
            negative_prompt: im.negative_prompt.clone(),
            params: im.recipe["writer_params"]
                .as_object()
                .cloned()
                .unwrap_or_default(),
            repaired: false,
        })
        .collect();
    let spec = ItemSpec {
        idea,
        target: target.name().to_string(),
        style: v["style"].as_str().map(str::to_string),
        n: prompts.len(),
        seed: prompts[0].seed,
        width: v["width"].as_u64().ok_or_else(bad)? as u32,
        height: v["height"].as_u64().ok_or_else(bad)? as u32,
        negative: v["negative"].as_str().unwrap_or_default().to_string(),
    };
    let writer = v["writer"].as_str().unwrap_or("builtin").to_string();
    Ok((spec, writer, prompts))
}

/// `extra` appended to a written negative prompt.
fn with_negative(written: &str, extra: &str) -> String {
    match (written.trim(), extra.trim()) {
        (w, "") => w.to_string(),
        ("", e) => e.to_string(),
        (w, e) => format!("{w}, {e}"),
    }
}

fn target(name: Option<&str>, default: &str) -> Result<Target, AppError> {
    let name = name.unwrap_or(default);
    Target::parse(name).ok_or_else(|| {
        AppError::invalid(
            "target",
            format!("unknown target {name:?}; use one of: {}", Target::names()),
        )
    })
}

pub(crate) fn request_target(name: Option<&str>) -> Result<Target, AppError> {
    target(name, "gpt-image")
}

/// At most this many characters of negative prompt a request may add.
const MAX_NEGATIVE_CHARS: usize = 2000;

impl AppState {
    pub(crate) fn prepare(&self, g: &Generation) -> Result<Prepared, AppError> {
        if g.idea.trim().is_empty() {
            return Err(AppError::invalid(
                "prompt",
                "the prompt is empty; describe what to paint",
            ));
        }
        if g.n == 0 || g.n > 10 {
            return Err(AppError::invalid(
                "n",
                format!("n must be 1 to 10, got {}", g.n),
            ));
        }
        let negative = g.negative.as_deref().unwrap_or("").trim().to_string();
        if negative.chars().count() > MAX_NEGATIVE_CHARS {
            return Err(AppError::invalid(
                "negative",
                format!("the negative prompt is over {MAX_NEGATIVE_CHARS} characters; shorten it"),
            ));
        }
        let (label, painter) = self.painter(g.painter.as_deref())?;
        let size = g.size.as_deref().unwrap_or("1024x1024");
        let (width, height) =
            mural_paint::parse_size(size).map_err(|e| AppError::invalid("size", e))?;
        painter
            .limits()
            .check_size(width, height)
            .map_err(|e| AppError::invalid("size", format!("{e} (painter {label})")))?;
        let w: Arc<dyn Writer> = if g.rewrite {
            self.writer(g.writer.as_deref())?
        } else {
            Arc::new(VerbatimWriter)
        };
        let default_target = mural_paint::suggested_target(painter.name(), painter.model());
        let t = target(g.target.as_deref(), default_target)?;
        let spec = ItemSpec {
            idea: g.idea.trim().to_string(),
            target: t.name().to_string(),
            style: g.style.clone(),
            n: g.n,
            seed: g.seed.unwrap_or_else(random_seed),
            width,
            height,
            negative,
        };
        let req = spec
            .write_request()
            .map_err(|e| AppError::invalid("prompt", e.to_string()))?;
        validate(&req).map_err(|e| {
            let param = match e {
                mural_prompt::WriteError::UnknownStyle { .. } => "style",
                _ => "prompt",
            };
            AppError::invalid(param, e.to_string())
        })?;
        // only a request that passed every check keeps its painter
        self.keep(&label, &painter);
        Ok(Prepared {
            spec,
            writer: w,
            painter,
            label,
            replay: None,
        })
    }

    /// A recorded run, ready to paint again as it was written: its
    /// painter, size and prompts (see [`replay`]).
    pub(crate) async fn prepare_rerun(&self, id: i64) -> Result<Prepared, AppError> {
        let run = self
            .with_gallery(move |g| {
                g.get(id).map_err(|e| match e {
                    mural_gallery::GalleryError::NoSuchRun(_) => {
                        AppError::not_found(format!("no run {id} in the gallery"))
                    }
                    e => AppError::internal(e.to_string()),
                })
            })
            .await?;
        let (spec, writer_name, prompts) = replay(&run)?;
        let name = self.recorded_painter(&run.recipe).ok_or_else(|| {
            AppError::invalid(
                "id",
                format!("run {id} does not say which painter painted it"),
            )
        })?;
        let (label, painter) = self.painter(Some(&name))?;
        painter
            .limits()
            .check_size(spec.width, spec.height)
            .map_err(|e| AppError::invalid("size", format!("{e} (painter {label})")))?;
        self.keep(&label, &painter);
        Ok(Prepared {
            writer: Arc::new(AlreadyWritten {
                name: writer_name,
                prompts: Vec::new(),
            }),
            spec,
            painter,
            label,
            replay: Some((id, prompts)),
        })
    }

    /// Writes (once) and paints on a blocking thread once a painting slot
    /// is free; `on_prompts` hears the prompts, `on_image` each image as
    /// it is kept. `cancel` stops it between images: the images kept stay,
    /// and the run is finished as failed with the reason "cancelled".
    pub(crate) async fn run(
        &self,
        p: Prepared,
        admission: Admission,
        cancel: Cancel,
        on_prompts: impl Fn(&[Written]) + Send + 'static,
        on_image: impl Fn(&Kept) + Send + 'static,
    ) -> Result<Outcome, AppError> {
        let flight = Busy::new(self, |i| &i.in_flight);
        let permit = tokio::select! {
            acquired = self.inner.painting.clone().acquire_owned() => {
                acquired.map_err(|_| AppError::internal("the server is shutting down"))?
            }
            _ = cancel.cancelled() => {
                return Ok(Outcome { run_id: None, kept: Vec::new(), cancelled: true });
            }
        };
        let state = self.clone();
        let result = tokio::task::spawn_blocking(move || {
            // held until the painting ends, even if the client has gone
            let _slot = (flight, permit, admission);
            if cancel.is_cancelled() {
                return Ok(Outcome {
                    run_id: None,
                    kept: Vec::new(),
                    cancelled: true,
                });
            }
            let gallery = Gallery::open(&state.inner.gallery)
                .map_err(|e| AppError::internal(e.to_string()))?;
            std::fs::create_dir_all(&state.inner.files).map_err(|e| {
                AppError::internal(format!(
                    "cannot create {}: {e}",
                    state.inner.files.display()
                ))
            })?;
            // written once: the prompts shown are the prompts painted
            let (written, rerun_of) = match p.replay {
                Some((id, prompts)) => (prompts, Some(id)),
                None => {
                    let mut written =
                        p.writer
                            .write(&p.spec.write_request()?)
                            .map_err(|e| match e {
                                WriteError::Backend { message, .. } => AppError::painter_failed(
                                    format!("writer {}: {message}", p.writer.name()),
                                )
                                .code("writer_failed"),
                                e => AppError::invalid("prompt", e.to_string()),
                            })?;
                    for w in &mut written {
                        w.negative_prompt = with_negative(&w.negative_prompt, &p.spec.negative);
                    }
                    (written, None)
                }
            };
            on_prompts(&written);
            let writer = AlreadyWritten {
                name: p.writer.name().to_string(),
                prompts: written,
            };
            let painter = Cancellable {
                painter: p.painter.as_ref(),
                cancel: &cancel,
            };
            let studio = Studio {
                gallery: &gallery,
                painter: &painter,
                painter_label: &p.label,
                writer: &writer,
                out: &state.inner.files,
            };
            let recipe = studio.recipe(&p.spec, rerun_of);
            let run_id = gallery
                .start_run(&NewRun {
                    idea: &p.spec.idea,
                    recipe: &recipe,
                })
                .map_err(|e| AppError::internal(e.to_string()))?;
            let kept = std::cell::RefCell::new(Vec::new());
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| AppError::internal(e.to_string()))?;
            let r = rt.block_on(studio.paint_item(&p.spec, run_id, &recipe, &|k| {
                on_image(k);
                kept.borrow_mut().push(k.clone());
            }));
            match r {
                Ok(()) => {
                    gallery
                        .finish_run(run_id, None)
                        .map_err(|e| AppError::internal(e.to_string()))?;
                    Ok(Outcome {
                        run_id: Some(run_id),
                        kept: kept.into_inner(),
                        cancelled: false,
                    })
                }
                Err(_) if cancel.is_cancelled() => {
                    let _ = gallery.finish_run(run_id, Some(CANCELLED));
                    Ok(Outcome {
                        run_id: Some(run_id),
                        kept: kept.into_inner(),
                        cancelled: true,
                    })
                }
                Err(e) => {
                    let _ = gallery.finish_run(run_id, Some(&e.to_string()));
                    Err(match e {
                        PaintItemError::Item(i) => i.into(),
                        PaintItemError::Fatal(f) => AppError::internal(f.to_string()),
                    })
                }
            }
        })
        .await
        .unwrap_or_else(|e| Err(AppError::internal(format!("the painting task failed: {e}"))));
        result.map_err(|mut e| {
            e.message = self.scrub(&e.message);
            e
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::state;
    use crate::PAINTER_CACHE;

    fn generation(painter: &str, size: &str) -> Generation {
        Generation {
            idea: "a lighthouse".into(),
            painter: Some(painter.into()),
            n: 1,
            seed: Some(1),
            size: Some(size.into()),
            rewrite: true,
            ..Default::default()
        }
    }

    /// Regression: every distinct `model` was built and kept forever, even
    /// from requests that were then refused.
    #[test]
    fn the_painter_cache_keeps_only_accepted_painters_and_at_most_a_bound() {
        let s = state("painter-cache");
        for i in 0..50 {
            assert!(s
                .prepare(&generation(&format!("a1111/m{i}"), "13x13"))
                .is_err());
        }
        assert_eq!(s.cached_painters(), 0);
        for i in 0..50 {
            s.prepare(&generation(&format!("a1111/m{i}"), "512x512"))
                .unwrap();
        }
        assert_eq!(s.cached_painters(), PAINTER_CACHE);
        // the most recently used stay
        let cache = s.inner.painters.lock().unwrap();
        assert_eq!(cache.last().unwrap().0, "a1111/m49");
        assert!(!cache.iter().any(|(n, _)| n == "a1111/m0"));
    }

    #[test]
    fn painter_names_that_are_no_names_are_refused() {
        let s = state("painter-names");
        for bad in [
            "sketch/anything",
            "a1111/",
            "a1111/has space",
            "openai/\u{1b}[31m",
        ] {
            let e = s.prepare(&generation(bad, "512x512")).err().unwrap();
            assert_eq!(e.param.as_deref(), Some("model"), "{bad}");
        }
        let long = format!("a1111/{}", "m".repeat(200));
        assert!(s.prepare(&generation(&long, "512x512")).is_err());
        assert_eq!(s.cached_painters(), 0);
    }

    #[test]
    fn a_negative_is_appended_to_the_written_one() {
        assert_eq!(with_negative("blurry", "fog"), "blurry, fog");
        assert_eq!(with_negative("", " fog "), "fog");
        assert_eq!(with_negative("blurry", "  "), "blurry");
        let s = state("negative");
        let mut g = generation("sketch", "64x64");
        g.negative = Some("x".repeat(MAX_NEGATIVE_CHARS + 1));
        let e = s.prepare(&g).err().unwrap();
        assert_eq!(e.param.as_deref(), Some("negative"));
    }

    #[test]
    fn an_unknown_writer_names_the_ones_there_are() {
        let s = state("writers");
        let mut g = generation("sketch", "64x64");
        g.writer = Some("openai:gpt-4o".into());
        let e = s.prepare(&g).err().unwrap();
        assert_eq!(e.param.as_deref(), Some("writer"));
        assert!(e.message.contains("builtin, verbatim"), "{}", e.message);
    }
}
