//! The server's part of a run: [`AppState::prepare`] checks a
//! [`Generation`] (everything a client can get wrong is a 400 before
//! anything is recorded), [`AppState::prepare_rerun`] reads a recorded run
//! back with `mural_pipeline::Replay`, and [`AppState::run`] takes an
//! admission and a painting slot and calls the pipeline's one run sequence
//! (`Studio::run`) as a task on the server's runtime, with cancellation:
//! no image starts after Cancel, and the one being painted is abandoned.
//! The prompts the client sees (`on_prompts`) are the prompts painted: the
//! pipeline writes once.

use crate::limits::{Admission, Busy};
use crate::{AppError, AppState};
use mural_gallery::Gallery;
use mural_paint::{PaintError, PaintRequest, Painted, Painter};
use mural_pipeline::{
    random_seed, Event, ItemError, ItemSpec, Kept, PaintItemError, Start, Studio,
};
use mural_prompt::{validate, Target, VerbatimWriter, Writer, Written};
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

/// A checked generation, ready to run.
pub(crate) struct Prepared {
    pub spec: ItemSpec,
    pub writer: Arc<dyn Writer>,
    pub painter: Arc<dyn Painter>,
    pub label: String,
    /// A re-run: the run it repeats (its writer replays the recorded
    /// prompts; they are never written again).
    pub rerun_of: Option<i64>,
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

fn target(name: Option<&str>, default: &str) -> Result<Target, AppError> {
    let name = name.unwrap_or(default);
    Target::parse(name).ok_or_else(|| {
        AppError::invalid(
            "target",
            format!("unknown target {name:?}; use one of: {}", Target::names()),
        )
    })
}

impl AppState {
    /// A request's target: its own, else `[defaults] target`, else `fallback`.
    pub(crate) fn request_target(
        &self,
        name: Option<&str>,
        fallback: &str,
    ) -> Result<Target, AppError> {
        match (name, self.inner.defaults.target) {
            (None, Some(t)) => Ok(t),
            (name, _) => target(name, fallback),
        }
    }

    /// A request's style: its own, else `[defaults] style`.
    pub(crate) fn request_style(&self, style: Option<&str>) -> Option<String> {
        style
            .or(self.inner.defaults.style.as_deref())
            .map(str::to_string)
    }
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
        let size = g
            .size
            .as_deref()
            .or(self.inner.defaults.size.as_deref())
            .unwrap_or("1024x1024");
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
        let suits = mural_paint::suggested_target(painter.name(), painter.model());
        let t = self.request_target(g.target.as_deref(), suits)?;
        let spec = ItemSpec {
            idea: g.idea.trim().to_string(),
            target: t,
            style: self.request_style(g.style.as_deref()),
            n: g.n,
            seed: g.seed.unwrap_or_else(random_seed),
            width,
            height,
            negative,
        };
        validate(&spec.write_request()).map_err(|e| {
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
            rerun_of: None,
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
        if run.images.is_empty() {
            return Err(AppError::invalid(
                "id",
                format!("run {id} kept no images, so it has no prompts to paint again"),
            ));
        }
        let replay = mural_pipeline::Replay::of(&run)
            .map_err(|e| AppError::invalid("id", format!("run {id}: {e}; it cannot be re-run")))?;
        let spec = replay.spec();
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
            writer: Arc::new(replay.writer),
            spec,
            painter,
            label,
            rerun_of: Some(id),
        })
    }

    /// Runs `p` through the pipeline once a painting slot is free;
    /// `on_prompts` hears the prompts, `on_image` each image as it is kept.
    /// `cancel` stops it: no image starts after it, the one being painted
    /// is abandoned, the images kept stay, and the run is finished as
    /// failed with the reason "cancelled". The run is its own task, so a
    /// client that goes away does not stop it halfway.
    pub(crate) async fn run(
        &self,
        p: Prepared,
        admission: Admission,
        cancel: Cancel,
        on_prompts: impl Fn(&[Written]) + Send + Sync + 'static,
        on_image: impl Fn(&Kept) + Send + Sync + 'static,
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
        let task = tokio::spawn(async move {
            // held until the painting ends, even if the client has gone
            let _slot = (flight, permit, admission);
            if cancel.is_cancelled() {
                return Ok(Outcome {
                    run_id: None,
                    kept: Vec::new(),
                    cancelled: true,
                });
            }
            let path = state.inner.gallery.clone();
            let gallery = tokio::task::spawn_blocking(move || Gallery::open(&path))
                .await
                .map_err(|e| AppError::internal(e.to_string()))?
                .map_err(|e| AppError::internal(e.to_string()))?;
            let files = &state.inner.files;
            tokio::fs::create_dir_all(files).await.map_err(|e| {
                AppError::internal(format!("cannot create {}: {e}", files.display()))
            })?;
            let painter = Cancellable {
                painter: p.painter.as_ref(),
                cancel: &cancel,
            };
            let studio = Studio {
                gallery: &gallery,
                painter: &painter,
                painter_label: &p.label,
                writer: p.writer.as_ref(),
                out: files,
                cancel: Some(&cancel.0 .0),
            };
            // what was kept, for a run that ends cancelled
            let kept = std::sync::Mutex::new(Vec::new());
            let on = |e: Event| match e {
                Event::Written(w) => on_prompts(w),
                Event::Image(k) => {
                    on_image(k);
                    kept.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(k.clone());
                }
                Event::Started { .. } => {}
            };
            let start = Start::New {
                rerun_of: p.rerun_of,
                batch: None,
            };
            match studio.run(&p.spec, start, &on).await {
                Ok(f) => Ok(Outcome {
                    run_id: Some(f.run_id),
                    kept: f.kept,
                    cancelled: false,
                }),
                Err(f) => match f.error {
                    PaintItemError::Item(ItemError::Cancelled) => Ok(Outcome {
                        run_id: f.run_id,
                        kept: kept.into_inner().unwrap_or_else(|p| p.into_inner()),
                        cancelled: true,
                    }),
                    PaintItemError::Item(e @ ItemError::Failed { .. })
                        if matches!(e.stage(), Some(mural_pipeline::Stage::Writer(_))) =>
                    {
                        Err(AppError::painter_failed(e.to_string()).code("writer_failed"))
                    }
                    PaintItemError::Item(i) => Err(i.into()),
                    PaintItemError::Fatal(e) => Err(AppError::internal(e.to_string())),
                },
            }
        });
        let result = task
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
    fn a_negative_over_the_limit_is_refused() {
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
