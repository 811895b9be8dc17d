//! `mural serve`: the web studio and an OpenAI-compatible API.
//!
//! [`app`] builds the router from an [`AppState`]; [`serve`] serves it on
//! a listener with timeouts and a bounded shutdown; the binary binds and
//! handles signals. Handlers return `Result<_, AppError>`, and every error
//! leaves as OpenAI's `{"error": {"message", "type", "param", "code"}}`
//! (`errors.rs`; axum's own answers are rewritten there too).
//!
//! - `POST /v1/prompts`: the writer alone.
//! - `POST /v1/images/generations`: OpenAI Images, but `prompt` is an idea
//!   the writer rewrites (as DALL-E 3 does) before any painter paints it;
//!   `"mural_rewrite": false` sends the prompt as is.
//! - `GET /v1/models`, `GET /v1/models/{id}`, `GET /v1/options`,
//!   `GET /v1/gallery`, `GET /files/{name}`, `GET /healthz`.
//! - `POST /v1/jobs` + `GET /v1/jobs/{id}/events` (server-sent events):
//!   the studio's progress stream.
//!
//! Guards (`guard.rs`): without a token only loopback `Host` names are
//! served (DNS rebinding); with one, the API and `/files/` need
//! `Authorization: Bearer`, and only the event stream takes `?token=`.
//! Bounds: painters kept per name (at most [`PAINTER_CACHE`]), requests
//! painting and queued ([`Limits`], past that 429), job stories kept.
//!
//! Architecture invariant: painting runs on blocking threads, each with its
//! own gallery connection; handlers never hold a database handle across an
//! await. Keys stay inside painters. Error bodies never carry the server's
//! own paths (`AppState::scrub`).

mod errors;
mod guard;
mod jobs;
mod server;

pub use errors::{ApiJson, AppError};
pub use server::{serve, GRACE};

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mural_gallery::Gallery;
use mural_paint::{PaintError, PaintRequest, Painted, Painter, PainterKind, Profile};
use mural_pipeline::{random_seed, Event, ItemSpec, Kept, PaintItemError, Start, Studio};
use mural_prompt::{validate, BuiltinWriter, Target, VerbatimWriter, WriteRequest, Writer};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Request bodies are limited to this.
pub const BODY_LIMIT: usize = 1 << 20;

/// Painters kept built (least recently used first out).
pub const PAINTER_CACHE: usize = 16;

/// Seconds a client is told to wait when painting is full (429).
pub const RETRY_AFTER_S: u64 = 5;

/// Looks up an environment variable (keys, `OPENAI_BASE_URL`).
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The server's bounds on time and work.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Requests painting at once.
    pub painting: usize,
    /// Requests waiting for a painting slot; past that, 429.
    pub queued: usize,
    /// How long a client has to send its request headers (also how long an
    /// idle keep-alive connection stays open).
    pub header_timeout: Duration,
    /// How long a client has to send a request body.
    pub body_timeout: Duration,
    /// After a shutdown signal, how long painting in flight may take.
    pub shutdown_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Limits {
            painting: cores.clamp(2, 4),
            queued: 32,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(120),
        }
    }
}

/// What the server knows; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    gallery: PathBuf,
    files: PathBuf,
    token: Option<String>,
    profiles: BTreeMap<String, Profile>,
    default_painter: String,
    env: EnvLookup,
    addr: Option<SocketAddr>,
    base_url: String,
    limits: Limits,
    /// Built painters by name, most recently used last.
    painters: Mutex<Vec<(String, Arc<dyn Painter>)>>,
    jobs: jobs::Jobs,
    /// Requests painting or waiting to (bounded by `limits`).
    admitted: AtomicUsize,
    painting: Arc<tokio::sync::Semaphore>,
    in_flight: AtomicUsize,
    /// Requests inside a handler (a response not yet begun).
    handling: AtomicUsize,
    idle: tokio::sync::Notify,
    /// Set when shutdown begins: bodies still arriving are abandoned.
    stopping: tokio::sync::watch::Sender<bool>,
}

/// The server's configuration.
pub struct Config {
    /// The gallery database.
    pub gallery: PathBuf,
    /// Where images are saved and served from (`/files/...`).
    pub files: PathBuf,
    /// `MURAL_TOKEN`: when set, every API call and file needs
    /// `Authorization: Bearer`. A blank token counts as none.
    pub token: Option<String>,
    /// Painter profiles from `mural.toml`.
    pub profiles: BTreeMap<String, Profile>,
    /// The painter when a request names none.
    pub default_painter: String,
    pub env: EnvLookup,
    /// The bound address: image URLs are built from it (never from `Host`),
    /// and `Host` may name its port. `None`: URLs are relative.
    pub addr: Option<SocketAddr>,
    /// The URL clients reach this server at, when it is not the bound
    /// address (a public listener); image URLs start with it.
    pub public_url: Option<String>,
    pub limits: Limits,
}

impl AppState {
    pub fn new(c: Config) -> AppState {
        let base_url = match (&c.public_url, c.addr) {
            (Some(u), _) => u.trim_end_matches('/').to_string(),
            (None, Some(a)) => {
                // a wildcard listener is reached on loopback, at least
                let ip = match a.ip() {
                    std::net::IpAddr::V4(v) if v.is_unspecified() => {
                        std::net::IpAddr::from([127, 0, 0, 1])
                    }
                    std::net::IpAddr::V6(v) if v.is_unspecified() => {
                        std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
                    }
                    ip => ip,
                };
                format!("http://{}", SocketAddr::new(ip, a.port()))
            }
            (None, None) => String::new(),
        };
        let painting = c.limits.painting.max(1);
        AppState {
            inner: Arc::new(Inner {
                gallery: c.gallery,
                files: c.files,
                token: c.token.filter(|t| !t.trim().is_empty()),
                profiles: c.profiles,
                default_painter: c.default_painter,
                env: c.env,
                addr: c.addr,
                base_url,
                limits: c.limits,
                painters: Mutex::new(Vec::new()),
                jobs: jobs::Jobs::default(),
                admitted: AtomicUsize::new(0),
                painting: Arc::new(tokio::sync::Semaphore::new(painting)),
                in_flight: AtomicUsize::new(0),
                handling: AtomicUsize::new(0),
                idle: tokio::sync::Notify::new(),
                stopping: tokio::sync::watch::Sender::new(false),
            }),
        }
    }

    /// Waits until no painting is in flight and no request is inside a
    /// handler (for graceful shutdown).
    pub async fn drained(&self) {
        loop {
            let notified = self.inner.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.inner.in_flight.load(Ordering::SeqCst) == 0
                && self.inner.handling.load(Ordering::SeqCst) == 0
            {
                return;
            }
            notified.await;
        }
    }

    /// Shutdown has begun: request bodies still arriving get a 503 at
    /// once, so a half-sent body cannot hold the server open.
    pub fn stop(&self) {
        self.inner.stopping.send_replace(true);
    }

    pub(crate) async fn stopped(&self) {
        let mut rx = self.inner.stopping.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::SeqCst)
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// How many painters are built and kept (at most [`PAINTER_CACHE`]).
    pub fn cached_painters(&self) -> usize {
        self.inner
            .painters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// How many job stories are kept.
    pub fn kept_jobs(&self) -> usize {
        self.inner.jobs.len()
    }

    /// A message without the server's own paths (the image folder, the
    /// gallery and its folder): error bodies must not reveal them.
    pub(crate) fn scrub(&self, message: &str) -> String {
        let mut out = message.to_string();
        let mut known: Vec<(String, &str)> = vec![
            (self.inner.files.display().to_string(), "<out>"),
            (self.inner.gallery.display().to_string(), "<gallery.db>"),
        ];
        if let Some(home) = self.inner.gallery.parent() {
            known.push((home.display().to_string(), "<MURAL_HOME>"));
        }
        for p in [&self.inner.files, &self.inner.gallery] {
            if let Ok(c) = p.canonicalize() {
                known.push((c.display().to_string(), "<out>"));
            }
        }
        // the longest first, so a folder does not hide the file in it
        known.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        for (p, name) in known {
            if p.len() > 1 {
                out = out.replace(&p, name);
            }
        }
        out
    }
}

/// The router: API, files, studio.
pub fn app(state: AppState) -> Router {
    let auth = || middleware::from_fn_with_state(state.clone(), guard::auth);
    let api = Router::new()
        .route("/v1/prompts", post(prompts))
        .route("/v1/images/generations", post(images))
        .route("/v1/models", get(models))
        .route("/v1/models/{*id}", get(model))
        .route("/v1/options", get(options))
        .route("/v1/gallery", get(gallery))
        .route("/v1/jobs", post(jobs::create))
        .route("/files/{name}", get(file))
        .route_layer(auth());
    // EventSource cannot send headers: only the event stream takes ?token=
    let events = Router::new()
        .route("/v1/jobs/{id}/events", get(jobs::events))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            guard::auth_or_query,
        ));
    Router::new()
        .route("/", get(studio))
        .route("/studio.js", get(studio_js))
        .route("/studio.css", get(studio_css))
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .merge(api)
        .merge(events)
        .fallback(|| async { AppError::not_found("no such route; see README for the API") })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            errors::openai_shaped,
        ))
        .layer(middleware::from_fn(guard::headers))
        .layer(middleware::from_fn_with_state(state.clone(), guard::host))
        .layer(middleware::from_fn_with_state(state.clone(), handling))
        .with_state(state)
}

// ------------------------------------------------------------------ writing

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PromptsRequest {
    idea: String,
    target: Option<String>,
    n: Option<usize>,
    seed: Option<u64>,
    style: Option<String>,
    writer: Option<String>,
}

fn writer(name: Option<&str>) -> Result<&'static dyn Writer, AppError> {
    match name.unwrap_or("builtin") {
        "builtin" => Ok(&BuiltinWriter),
        "verbatim" => Ok(&VerbatimWriter),
        other => Err(AppError::invalid(
            "writer",
            format!("unknown writer {other:?}; this server has: builtin, verbatim"),
        )),
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

async fn prompts(ApiJson(r): ApiJson<PromptsRequest>) -> Result<Json<Value>, AppError> {
    let w = writer(r.writer.as_deref())?;
    let req = WriteRequest {
        idea: r.idea,
        target: target(r.target.as_deref(), "gpt-image")?,
        n: r.n.unwrap_or(1),
        seed: r.seed.unwrap_or_else(random_seed),
        style: r.style,
        vary: false,
    };
    let written = w.write(&req).map_err(|e| {
        let param = match &e {
            mural_prompt::WriteError::BadCount { .. } => "n",
            mural_prompt::WriteError::UnknownStyle { .. } => "style",
            _ => "idea",
        };
        AppError::invalid(param, e.to_string())
    })?;
    let prompts: Vec<Value> = written
        .into_iter()
        .map(|w| json!({"prompt": w.prompt, "negative_prompt": w.negative_prompt, "params": w.params, "seed": w.seed}))
        .collect();
    Ok(Json(json!({ "prompts": prompts })))
}

// ------------------------------------------------------------------ painting

/// One generation: what to write and paint.
#[derive(Debug, Clone)]
pub(crate) struct Generation {
    pub idea: String,
    pub target: Option<String>,
    pub style: Option<String>,
    pub writer: Option<String>,
    pub painter: Option<String>,
    pub n: usize,
    pub seed: Option<u64>,
    pub size: Option<String>,
    pub rewrite: bool,
}

/// A checked generation, ready to run on a blocking thread.
pub(crate) struct Prepared {
    pub spec: ItemSpec,
    pub writer: &'static dyn Writer,
    pub painter: Arc<dyn Painter>,
    pub label: String,
}

/// A painter as the server uses it: a service rejecting *this server's*
/// credentials is the server's trouble (502 `painter_failed`), not a bad
/// request from the client.
struct Served(Box<dyn Painter>);

impl Painter for Served {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn model(&self) -> &str {
        self.0.model()
    }
    fn limits(&self) -> mural_paint::Limits {
        self.0.limits()
    }
    fn source_type(&self) -> mural_paint::SourceType {
        self.0.source_type()
    }
    fn paint<'a>(
        &'a self,
        req: &'a PaintRequest,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<Painted>, PaintError>> {
        Box::pin(async move {
            self.0.paint(req).await.map_err(|e| match e {
                PaintError::Auth { message } => PaintError::Failed {
                    message: format!(
                        "the painter refused this server's credentials ({message}); the server's operator must fix its key"
                    ),
                },
                e => e,
            })
        })
    }
}

/// A painter name as a request may give it: a kind, `kind/model`,
/// `kind:model` or a profile; short, printable, no spaces.
fn check_painter_name(name: &str) -> Result<(), AppError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_./:@+".contains(&c));
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid(
            "model",
            format!(
                "model {:?} is not a painter name: use a kind ({}), kind/model or a profile, at most 128 letters, digits and -_./:@+",
                name.chars().take(140).collect::<String>(),
                PainterKind::names()
            ),
        ))
    }
}

/// Holds a place among the requests painting or waiting to (see
/// [`AppState::admit`]).
pub(crate) struct Admission(AppState);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.inner.admitted.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Counts a painting in flight, or a request in a handler, until dropped,
/// wherever it is dropped (a client that goes away included).
struct Busy(AppState, fn(&Inner) -> &AtomicUsize);

impl Busy {
    fn new(s: &AppState, counter: fn(&Inner) -> &AtomicUsize) -> Busy {
        counter(&s.inner).fetch_add(1, Ordering::SeqCst);
        Busy(s.clone(), counter)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        (self.1)(&self.0.inner).fetch_sub(1, Ordering::SeqCst);
        self.0.inner.idle.notify_waiters();
    }
}

/// Counts requests inside handlers, so shutdown waits for them and not for
/// connections that never finished sending one.
async fn handling(
    State(s): State<AppState>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let _busy = Busy::new(&s, |i| &i.handling);
    next.run(req).await
}

impl AppState {
    /// Resolves a painter (a kind, `kind/model`, or a profile). Painters are
    /// kept per name, so a rate limit is shared by every request, but only
    /// once a request naming one has passed every check (see [`Self::keep`]),
    /// and at most [`PAINTER_CACHE`] of them.
    fn painter(&self, name: Option<&str>) -> Result<(String, Arc<dyn Painter>), AppError> {
        let name = name
            .unwrap_or(&self.inner.default_painter)
            .trim()
            .to_string();
        if !self.inner.profiles.contains_key(&name) {
            check_painter_name(&name)?;
        }
        if let Some((_, p)) = self
            .inner
            .painters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|(n, _)| *n == name)
        {
            return Ok((name, p.clone()));
        }
        let profile = match self.inner.profiles.get(&name) {
            Some(p) => p.clone(),
            None => {
                let (kind, model) = match name.split_once(['/', ':']) {
                    Some((k, m)) => (k, Some(m)),
                    None => (name.as_str(), None),
                };
                let Ok(kind) = kind.parse::<PainterKind>() else {
                    return Err(AppError::invalid(
                        "model",
                        format!(
                            "unknown painter {name:?}; use a kind ({}), kind/model, or a profile ({})",
                            PainterKind::names(),
                            self.inner.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                };
                if kind == PainterKind::Sketch && model.is_some() {
                    return Err(AppError::invalid(
                        "model",
                        format!("unknown painter {name:?}: sketch has no models; use \"sketch\""),
                    ));
                }
                if model.is_some_and(|m| m.is_empty()) {
                    return Err(AppError::invalid(
                        "model",
                        format!("painter {name:?} names no model after the kind; write kind/model"),
                    ));
                }
                let mut p = Profile::of_kind(kind);
                p.model = model.map(str::to_string);
                p
            }
        };
        let env = self.inner.env.clone();
        let painter = mural_paint::build(&profile, &move |k| env(k))
            .map_err(|e| AppError::invalid("model", self.scrub(&e.to_string())))?;
        Ok((name, Arc::new(Served(painter))))
    }

    /// Keeps a painter for later requests (the most recently used first),
    /// dropping the least recently used past [`PAINTER_CACHE`].
    fn keep(&self, name: &str, painter: &Arc<dyn Painter>) {
        let mut cache = self
            .inner
            .painters
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(i) = cache.iter().position(|(n, _)| n == name) {
            let entry = cache.remove(i);
            cache.push(entry);
            return;
        }
        cache.push((name.to_string(), painter.clone()));
        if cache.len() > PAINTER_CACHE {
            let over = cache.len() - PAINTER_CACHE;
            cache.drain(..over);
        }
    }

    /// A place among the requests painting or waiting to paint; a 429 with
    /// `retry-after` when painting and its queue are full.
    pub(crate) fn admit(&self) -> Result<Admission, AppError> {
        let l = &self.inner.limits;
        let max = l.painting.max(1) + l.queued;
        self.inner
            .admitted
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .map_err(|_| AppError::busy(RETRY_AFTER_S))?;
        Ok(Admission(self.clone()))
    }

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
        let (label, painter) = self.painter(g.painter.as_deref())?;
        let size = g.size.as_deref().unwrap_or("1024x1024");
        let (width, height) =
            mural_paint::parse_size(size).map_err(|e| AppError::invalid("size", e))?;
        painter
            .limits()
            .check_size(width, height)
            .map_err(|e| AppError::invalid("size", format!("{e} (painter {label})")))?;
        let w = if g.rewrite {
            writer(g.writer.as_deref())?
        } else {
            &VerbatimWriter
        };
        let default_target = mural_paint::suggested_target(painter.name(), painter.model());
        let t = target(g.target.as_deref(), default_target)?;
        let spec = ItemSpec {
            idea: g.idea.trim().to_string(),
            target: t,
            style: g.style.clone(),
            n: g.n,
            seed: g.seed.unwrap_or_else(random_seed),
            width,
            height,
            negative: String::new(),
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
        })
    }

    /// Writes and paints once a painting slot is free, through the
    /// pipeline's one run sequence; `on_prompts` hears the prompts about
    /// to be painted, `on_image` each image as it is kept. The run is its
    /// own task: a client that goes away does not stop it halfway.
    pub(crate) async fn run(
        &self,
        p: Prepared,
        admission: Admission,
        on_prompts: impl Fn(&[mural_prompt::Written]) + Send + Sync + 'static,
        on_image: impl Fn(&Kept) + Send + Sync + 'static,
    ) -> Result<(i64, Vec<Kept>), AppError> {
        let flight = Busy::new(self, |i| &i.in_flight);
        let permit = self
            .inner
            .painting
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AppError::internal("the server is shutting down"))?;
        let state = self.clone();
        let task = tokio::spawn(async move {
            // held until the painting ends, even if the client has gone
            let _slot = (flight, permit, admission);
            let path = state.inner.gallery.clone();
            let gallery = tokio::task::spawn_blocking(move || Gallery::open(&path))
                .await
                .map_err(|e| AppError::internal(e.to_string()))?
                .map_err(|e| AppError::internal(e.to_string()))?;
            let files = &state.inner.files;
            tokio::fs::create_dir_all(files).await.map_err(|e| {
                AppError::internal(format!("cannot create {}: {e}", files.display()))
            })?;
            let studio = Studio {
                gallery: &gallery,
                painter: p.painter.as_ref(),
                painter_label: &p.label,
                writer: p.writer,
                out: files,
                cancel: None,
            };
            let on = |e: Event| match e {
                Event::Written(w) => on_prompts(w),
                Event::Image(k) => on_image(k),
                Event::Started { .. } => {}
            };
            studio
                .run(&p.spec, Start::new(), &on)
                .await
                .map(|f| (f.run_id, f.kept))
                .map_err(|f| match f.error {
                    PaintItemError::Item(i) => AppError::from(i),
                    PaintItemError::Fatal(e) => AppError::internal(e.to_string()),
                })
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

/// OpenAI's `CreateImageRequest`, plus mural's fields.
#[derive(Deserialize)]
struct ImagesRequest {
    prompt: Option<String>,
    model: Option<String>,
    n: Option<usize>,
    size: Option<String>,
    response_format: Option<String>,
    /// Accepted for compatibility; the painter profile decides.
    #[allow(dead_code)]
    quality: Option<String>,
    #[allow(dead_code)]
    style: Option<String>,
    #[allow(dead_code)]
    user: Option<String>,
    /// mural: `false` paints the prompt exactly as given.
    mural_rewrite: Option<bool>,
    mural_target: Option<String>,
    mural_style: Option<String>,
    mural_writer: Option<String>,
    mural_seed: Option<u64>,
    /// OpenAI's streaming of partial images: not implemented, refused.
    stream: Option<bool>,
}

async fn images(
    State(s): State<AppState>,
    ApiJson(r): ApiJson<ImagesRequest>,
) -> Result<Json<Value>, AppError> {
    if r.stream == Some(true) {
        return Err(AppError::invalid(
            "stream",
            "stream: true is not supported here; leave it out for one reply with every image (the studio's POST /v1/jobs streams progress)",
        ));
    }
    let format = r.response_format.as_deref().unwrap_or("url");
    if format != "url" && format != "b64_json" {
        return Err(AppError::invalid(
            "response_format",
            format!("response_format must be url or b64_json, got {format:?}"),
        ));
    }
    let g = Generation {
        idea: r.prompt.unwrap_or_default(),
        target: r.mural_target,
        style: r.mural_style,
        writer: r.mural_writer,
        painter: r.model,
        n: r.n.unwrap_or(1),
        seed: r.mural_seed,
        size: r.size,
        rewrite: r.mural_rewrite.unwrap_or(true),
    };
    let prepared = s.prepare(&g)?;
    let admission = s.admit()?;
    let (_, kept) = s.run(prepared, admission, |_| {}, |_| {}).await?;
    // from the bound address, never from `Host` (DNS rebinding)
    let base = &s.inner.base_url;
    let mut data = Vec::new();
    for k in &kept {
        let name = std::path::Path::new(&k.file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut item = json!({ "revised_prompt": k.prompt });
        if format == "b64_json" {
            use base64::Engine;
            let bytes = std::fs::read(&k.file)
                .map_err(|e| AppError::internal(format!("cannot read {name}: {e}")))?;
            item["b64_json"] = json!(base64::engine::general_purpose::STANDARD.encode(bytes));
        } else {
            item["url"] = json!(format!("{base}/files/{name}"));
        }
        data.push(item);
    }
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(Json(json!({ "created": created, "data": data })))
}

fn model_list(s: &AppState) -> Vec<Value> {
    let mut data = vec![
        json!({"id": "sketch", "object": "model", "created": 0, "owned_by": "mural", "mural_kind": "painter"}),
        json!({"id": "a1111", "object": "model", "created": 0, "owned_by": "local", "mural_kind": "painter"}),
        json!({"id": "comfyui", "object": "model", "created": 0, "owned_by": "local", "mural_kind": "painter"}),
    ];
    // every hosted image model the catalog has that still works, with its
    // shutdown date as OpenAI's own list carries it
    let catalog = mural_catalog::Catalog::current();
    for m in catalog.models() {
        if m.kind != mural_catalog::Kind::Image || m.status == mural_catalog::Status::Shutdown {
            continue;
        }
        let kind = match m.provider {
            mural_catalog::Provider::Google => "gemini",
            p => p.as_str(),
        };
        data.push(json!({
            "id": format!("{kind}/{}", m.id),
            "object": "model",
            "created": 0,
            "owned_by": m.provider.as_str(),
            "mural_kind": "painter",
            "shutdown_date": m.shutdown.map(|d| d.to_string()),
            "mural_lifecycle": m.status.as_str(),
        }));
    }
    for (name, p) in &s.inner.profiles {
        data.push(json!({"id": name, "object": "model", "created": 0, "owned_by": "profile", "mural_kind": "painter", "mural_painter": p.kind}));
    }
    for w in ["builtin", "verbatim"] {
        data.push(json!({"id": format!("writer/{w}"), "object": "model", "created": 0, "owned_by": "mural", "mural_kind": "writer"}));
    }
    data
}

async fn models(State(s): State<AppState>) -> Json<Value> {
    Json(json!({"object": "list", "data": model_list(&s)}))
}

/// `GET /v1/models/{id}`; ids may hold a slash (`openai/gpt-image-2`).
async fn model(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, AppError> {
    model_list(&s)
        .into_iter()
        .find(|m| m["id"].as_str() == Some(id.as_str()))
        .map(Json)
        .ok_or_else(|| {
            AppError::not_found(format!(
                "the model {id:?} does not exist; GET /v1/models lists them"
            ))
            .param("model")
            .code("model_not_found")
        })
}

/// Everything the studio's pickers offer.
async fn options(State(s): State<AppState>) -> Json<Value> {
    let styles: Vec<Value> = mural_knowledge::knowledge()
        .styles
        .iter()
        .map(|st| json!({"id": st.id, "description": st.description}))
        .collect();
    let mut painters: Vec<String> = vec!["sketch".into()];
    painters.extend(s.inner.profiles.keys().cloned());
    for k in PainterKind::ALL.iter().skip(1) {
        painters.push(k.to_string());
    }
    Json(json!({
        "targets": Target::ALL.iter().map(|t| t.name()).collect::<Vec<_>>(),
        "styles": styles,
        "writers": ["builtin", "verbatim"],
        "painters": painters,
        "default_painter": s.inner.default_painter,
    }))
}

#[derive(Deserialize)]
struct GalleryQuery {
    search: Option<String>,
    limit: Option<usize>,
}

async fn gallery(
    State(s): State<AppState>,
    Query(q): Query<GalleryQuery>,
) -> Result<Json<Value>, AppError> {
    let path = s.inner.gallery.clone();
    let scrub = s.clone();
    let runs = tokio::task::spawn_blocking(move || {
        let g = Gallery::open(&path).map_err(|e| AppError::internal(e.to_string()))?;
        let search = q.search.filter(|x| !x.trim().is_empty());
        g.list(search.as_deref(), q.limit.unwrap_or(50).min(500))
            .map_err(|e| AppError::internal(e.to_string()))
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))?
    .map_err(|mut e| {
        e.message = scrub.scrub(&e.message);
        e
    })?;
    let runs: Vec<Value> = runs
        .into_iter()
        .map(|r| {
            let mut v = serde_json::to_value(&r).unwrap_or(Value::Null);
            if let Some(images) = v.get_mut("images").and_then(Value::as_array_mut) {
                for i in images {
                    let name = i["file"]
                        .as_str()
                        .and_then(|f| std::path::Path::new(f).file_name())
                        .map(|n| n.to_string_lossy().into_owned());
                    if let Some(n) = name {
                        i["url"] = json!(format!("/files/{n}"));
                    }
                    // the server's own paths stay private
                    if let Some(o) = i.as_object_mut() {
                        o.remove("file");
                    }
                }
            }
            v
        })
        .collect();
    Ok(Json(json!({ "runs": runs })))
}

/// A file name mural could have written: no separators, no leading dot,
/// nothing but letters, digits, `-`, `_`, `.`, and `.png`.
pub fn safe_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name.ends_with(".png")
        && !name.contains("..")
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

async fn file(State(s): State<AppState>, Path(name): Path<String>) -> Result<Response, AppError> {
    if !safe_file_name(&name) {
        return Err(AppError::not_found(format!("no file {name:?}")));
    }
    let path = s.inner.files.join(&name);
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| AppError::not_found(format!("no file {name:?}")))?;
    let mut resp = bytes.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    Ok(resp)
}

const STUDIO: &str = include_str!("../assets/index.html");
const STUDIO_JS: &str = include_str!("../assets/studio.js");
const STUDIO_CSS: &str = include_str!("../assets/studio.css");

/// The studio's policy: its script and styles are files from this server,
/// nothing inline runs, and no page may frame it.
pub const STUDIO_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

async fn studio() -> Response {
    let mut resp = Html(STUDIO).into_response();
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(STUDIO_CSP),
    );
    resp
}

async fn studio_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        STUDIO_JS,
    )
        .into_response()
}

async fn studio_css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STUDIO_CSS,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(name: &str) -> AppState {
        let dir = std::env::temp_dir().join(format!("mural-serve-{name}-{}", std::process::id()));
        AppState::new(Config {
            gallery: dir.join("gallery.db"),
            files: dir.join("images"),
            token: None,
            profiles: Default::default(),
            default_painter: "sketch".into(),
            env: Arc::new(|_| None),
            addr: None,
            public_url: None,
            limits: Default::default(),
        })
    }

    fn generation(painter: &str, size: &str) -> Generation {
        Generation {
            idea: "a lighthouse".into(),
            target: None,
            style: None,
            writer: None,
            painter: Some(painter.into()),
            n: 1,
            seed: Some(1),
            size: Some(size.into()),
            rewrite: true,
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

    /// Regression: an image URL echoed the request's `Host`.
    #[test]
    fn the_base_url_is_the_bound_address() {
        let c = |addr: &str, public: Option<&str>| {
            AppState::new(Config {
                addr: Some(addr.parse().unwrap()),
                public_url: public.map(str::to_string),
                ..state_config()
            })
            .inner
            .base_url
            .clone()
        };
        assert_eq!(c("127.0.0.1:7878", None), "http://127.0.0.1:7878");
        assert_eq!(c("[::1]:80", None), "http://[::1]:80");
        assert_eq!(c("0.0.0.0:9000", None), "http://127.0.0.1:9000");
        assert_eq!(
            c("0.0.0.0:9000", Some("https://studio.lan/")),
            "https://studio.lan"
        );
    }

    fn state_config() -> Config {
        Config {
            gallery: "g.db".into(),
            files: "images".into(),
            token: None,
            profiles: Default::default(),
            default_painter: "sketch".into(),
            env: Arc::new(|_| None),
            addr: None,
            public_url: None,
            limits: Default::default(),
        }
    }

    /// Regression: error bodies carried the server's absolute paths.
    #[test]
    fn scrub_hides_the_servers_paths() {
        let s = AppState::new(Config {
            gallery: "/srv/home/.mural/gallery.db".into(),
            files: "/srv/home/pictures".into(),
            ..state_config()
        });
        let m = s.scrub("cannot write /srv/home/pictures/mural-1-0-1.png: denied; gallery /srv/home/.mural/gallery.db; home /srv/home/.mural");
        assert!(!m.contains("/srv"), "{m}");
        assert!(m.contains("<out>/mural-1-0-1.png"), "{m}");
    }
}
