//! `mural serve`: the web studio and an OpenAI-compatible API.
//!
//! [`app`] builds the router from an [`AppState`]; the binary binds it and
//! handles signals. Handlers return `Result<_, AppError>`, and every error
//! leaves as OpenAI's `{"error": {"message", "type", "param", "code"}}`.
//!
//! - `POST /v1/prompts`: the writer alone.
//! - `POST /v1/images/generations`: OpenAI Images, but `prompt` is an idea
//!   the writer rewrites (as DALL-E 3 does) before any painter paints it;
//!   `"mural_rewrite": false` sends the prompt as is.
//! - `GET /v1/models`, `GET /v1/options`, `GET /v1/gallery`, `GET /files/{name}`,
//!   `GET /healthz`.
//! - `POST /v1/jobs` + `GET /v1/jobs/{id}/events` (server-sent events):
//!   the studio's progress stream.
//!
//! Architecture invariant: painting runs on blocking threads, each with its
//! own gallery connection; handlers never hold a database handle across an
//! await. Keys stay inside painters.

mod jobs;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use mural_gallery::{Gallery, NewRun};
use mural_paint::{PaintError, Painter, Profile};
use mural_pipeline::{random_seed, ItemError, ItemSpec, Kept, PaintItemError, Studio};
use mural_prompt::writer::validate;
use mural_prompt::{BuiltinWriter, Target, VerbatimWriter, WriteRequest, Writer};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Request bodies are limited to this.
pub const BODY_LIMIT: usize = 1 << 20;

/// Looks up an environment variable (keys, `OPENAI_BASE_URL`).
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

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
    painters: Mutex<HashMap<String, Arc<dyn Painter>>>,
    jobs: jobs::Jobs,
    in_flight: AtomicUsize,
    idle: tokio::sync::Notify,
}

/// The server's configuration.
pub struct Config {
    /// The gallery database.
    pub gallery: PathBuf,
    /// Where images are saved and served from (`/files/...`).
    pub files: PathBuf,
    /// `MURAL_TOKEN`: when set, every API call needs `Authorization: Bearer`.
    pub token: Option<String>,
    /// Painter profiles from `mural.toml`.
    pub profiles: BTreeMap<String, Profile>,
    /// The painter when a request names none.
    pub default_painter: String,
    pub env: EnvLookup,
}

impl AppState {
    pub fn new(c: Config) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                gallery: c.gallery,
                files: c.files,
                token: c.token.filter(|t| !t.is_empty()),
                profiles: c.profiles,
                default_painter: c.default_painter,
                env: c.env,
                painters: Mutex::new(HashMap::new()),
                jobs: jobs::Jobs::default(),
                in_flight: AtomicUsize::new(0),
                idle: tokio::sync::Notify::new(),
            }),
        }
    }

    /// Waits until no painting is in flight (for graceful shutdown).
    pub async fn drained(&self) {
        loop {
            let notified = self.inner.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.inner.in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::SeqCst)
    }
}

/// The router: API, files, studio.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/v1/prompts", post(prompts))
        .route("/v1/images/generations", post(images))
        .route("/v1/models", get(models))
        .route("/v1/options", get(options))
        .route("/v1/gallery", get(gallery))
        .route("/v1/jobs", post(jobs::create))
        .route("/v1/jobs/{id}/events", get(jobs::events))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth));
    Router::new()
        .route("/", get(studio))
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/files/{name}", get(file))
        .merge(api)
        .fallback(|| async { AppError::not_found("no such route; see README for the API") })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

// ------------------------------------------------------------------ errors

/// An OpenAI-shaped error.
#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub message: String,
    pub kind: &'static str,
    pub param: Option<&'static str>,
    pub code: Option<&'static str>,
}

impl AppError {
    pub fn invalid(param: &'static str, message: impl Into<String>) -> AppError {
        AppError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            kind: "invalid_request_error",
            param: Some(param),
            code: None,
        }
    }

    fn not_found(message: impl Into<String>) -> AppError {
        AppError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
            kind: "invalid_request_error",
            param: None,
            code: Some("not_found"),
        }
    }

    fn internal(message: impl Into<String>) -> AppError {
        AppError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
            kind: "server_error",
            param: None,
            code: None,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = json!({"error": {
            "message": self.message, "type": self.kind, "param": self.param, "code": self.code,
        }});
        (self.status, Json(body)).into_response()
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> AppError {
        let status = r.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return AppError {
                status,
                message: format!("the request body is over {} bytes", BODY_LIMIT),
                kind: "invalid_request_error",
                param: None,
                code: Some("request_too_large"),
            };
        }
        AppError {
            status: if status.is_client_error() {
                status
            } else {
                StatusCode::BAD_REQUEST
            },
            message: format!(
                "the body is not the JSON this endpoint takes: {}",
                r.body_text()
            ),
            kind: "invalid_request_error",
            param: None,
            code: None,
        }
    }
}

impl From<ItemError> for AppError {
    fn from(e: ItemError) -> AppError {
        match e {
            ItemError::Refused(r) => AppError {
                status: StatusCode::BAD_REQUEST,
                message: format!("the painter refused: {r}"),
                kind: "invalid_request_error",
                param: Some("prompt"),
                code: Some("content_policy_violation"),
            },
            ItemError::Invalid(m) => AppError::invalid("prompt", m),
            ItemError::Failed(m) => AppError {
                status: StatusCode::BAD_GATEWAY,
                message: m,
                kind: "server_error",
                param: None,
                code: Some("painter_failed"),
            },
        }
    }
}

/// `Json` whose rejections are OpenAI-shaped errors.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(v) = Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(v))
    }
}

async fn auth(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(token) = &s.inner.token {
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        // EventSource cannot send headers: the events stream may use ?token=
        let query_token = req.uri().query().and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("token="))
                .map(str::to_string)
        });
        let ok = bearer == Some(token.as_str()) || query_token.as_deref() == Some(token.as_str());
        if !ok {
            return AppError {
                status: StatusCode::UNAUTHORIZED,
                message: "missing or wrong token: send Authorization: Bearer <MURAL_TOKEN>".into(),
                kind: "invalid_request_error",
                param: None,
                code: Some("invalid_api_key"),
            }
            .into_response();
        }
    }
    next.run(req).await
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

impl AppState {
    /// Resolves a painter (a kind, `kind/model`, or a profile), built once
    /// per name so its rate limit is shared by every request.
    fn painter(&self, name: Option<&str>) -> Result<(String, Arc<dyn Painter>), AppError> {
        let name = name
            .unwrap_or(&self.inner.default_painter)
            .trim()
            .to_string();
        if let Some(p) = self
            .inner
            .painters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&name)
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
                if !mural_paint::KINDS.contains(&kind) {
                    return Err(AppError::invalid(
                        "model",
                        format!(
                            "unknown painter {name:?}; use a kind ({}), kind/model, or a profile ({})",
                            mural_paint::KINDS.join(", "),
                            self.inner.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
                let mut p = Profile::of_kind(kind);
                p.model = model.map(str::to_string);
                p
            }
        };
        let env = self.inner.env.clone();
        let painter: Arc<dyn Painter> = mural_paint::build(&profile, &move |k| env(k))
            .map_err(|e| AppError::invalid("model", e.to_string()))?
            .into();
        self.inner
            .painters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.clone(), painter.clone());
        Ok((name, painter))
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
            target: t.name().to_string(),
            style: g.style.clone(),
            n: g.n,
            seed: g.seed.unwrap_or_else(random_seed),
            width,
            height,
            negative: String::new(),
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
        Ok(Prepared {
            spec,
            writer: w,
            painter,
            label,
        })
    }

    /// Writes and paints on a blocking thread; `on_image` hears of each
    /// image as it is kept.
    pub(crate) async fn run(
        &self,
        p: Prepared,
        on_prompts: impl Fn(&[mural_prompt::Written]) + Send + 'static,
        on_image: impl Fn(&Kept) + Send + 'static,
    ) -> Result<(i64, Vec<Kept>), AppError> {
        let state = self.clone();
        state.inner.in_flight.fetch_add(1, Ordering::SeqCst);
        let result = tokio::task::spawn_blocking(move || {
            let gallery = Gallery::open(&state.inner.gallery)
                .map_err(|e| AppError::internal(e.to_string()))?;
            std::fs::create_dir_all(&state.inner.files).map_err(|e| {
                AppError::internal(format!(
                    "cannot create {}: {e}",
                    state.inner.files.display()
                ))
            })?;
            let written = p
                .writer
                .write(&p.spec.write_request()?)
                .map_err(|e| AppError::invalid("prompt", e.to_string()))?;
            on_prompts(&written);
            let studio = Studio {
                gallery: &gallery,
                painter: p.painter.as_ref(),
                painter_label: &p.label,
                writer: p.writer,
                out: &state.inner.files,
            };
            let recipe = studio.recipe(&p.spec, None);
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
                    Ok((run_id, kept.into_inner()))
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
        if self.inner.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.inner.idle.notify_waiters();
        }
        result
    }
}

impl From<PaintError> for AppError {
    fn from(e: PaintError) -> AppError {
        ItemError::from(e).into()
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
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

async fn images(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiJson(r): ApiJson<ImagesRequest>,
) -> Result<Json<Value>, AppError> {
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
    let (_, kept) = s.run(prepared, |_| {}, |_| {}).await?;
    let base = base_url(&headers);
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

async fn models(State(s): State<AppState>) -> Json<Value> {
    let mut data = vec![
        json!({"id": "sketch", "object": "model", "created": 0, "owned_by": "mural", "mural_kind": "painter"}),
        json!({"id": "openai/dall-e-3", "object": "model", "created": 0, "owned_by": "openai", "mural_kind": "painter"}),
        json!({"id": "openai/dall-e-2", "object": "model", "created": 0, "owned_by": "openai", "mural_kind": "painter"}),
        json!({"id": "openai/gpt-image-1", "object": "model", "created": 0, "owned_by": "openai", "mural_kind": "painter"}),
        json!({"id": "a1111", "object": "model", "created": 0, "owned_by": "local", "mural_kind": "painter"}),
        json!({"id": "comfyui", "object": "model", "created": 0, "owned_by": "local", "mural_kind": "painter"}),
        json!({"id": "stability/core", "object": "model", "created": 0, "owned_by": "stability", "mural_kind": "painter"}),
        json!({"id": "runway/gen4_image", "object": "model", "created": 0, "owned_by": "runway", "mural_kind": "painter"}),
    ];
    for (name, p) in &s.inner.profiles {
        data.push(json!({"id": name, "object": "model", "created": 0, "owned_by": "profile", "mural_kind": "painter", "mural_painter": p.kind}));
    }
    for w in ["builtin", "verbatim"] {
        data.push(json!({"id": format!("writer/{w}"), "object": "model", "created": 0, "owned_by": "mural", "mural_kind": "writer"}));
    }
    Json(json!({"object": "list", "data": data}))
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
    for k in mural_paint::KINDS.iter().skip(1) {
        painters.push((*k).to_string());
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
    let runs = tokio::task::spawn_blocking(move || {
        let g = Gallery::open(&path).map_err(|e| AppError::internal(e.to_string()))?;
        let search = q.search.filter(|x| !x.trim().is_empty());
        g.list(search.as_deref(), q.limit.unwrap_or(50).min(500))
            .map_err(|e| AppError::internal(e.to_string()))
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))??;
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
    resp.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(resp)
}

const STUDIO: &str = include_str!("../assets/index.html");

async fn studio() -> Response {
    let mut resp = Html(STUDIO).into_response();
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; connect-src 'self'"),
    );
    resp
}
