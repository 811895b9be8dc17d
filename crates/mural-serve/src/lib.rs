//! `mural serve`: the web studio and an OpenAI-compatible API.
//!
//! [`app`] builds the router from an [`AppState`]; [`serve`] serves it on
//! a listener with timeouts and a bounded shutdown; the binary binds and
//! handles signals. Handlers return `Result<_, AppError>`, and every error
//! leaves as OpenAI's `{"error": {"message", "type", "param", "code"}}`
//! (`errors.rs`; axum's own answers are rewritten there too).
//!
//! The modules, one per concern (in the style of axum's examples):
//!
//! - `prompts.rs`: `POST /v1/prompts`, the writer alone.
//! - `images.rs`: `POST /v1/images/generations`, OpenAI Images, but
//!   `prompt` is an idea the writer rewrites (as DALL-E 3 does) before any
//!   painter paints it; `"mural_rewrite": false` sends the prompt as is.
//! - `models.rs`: `GET /v1/models`, `GET /v1/models/{id}`, `GET /v1/options`.
//! - `gallery.rs`: `GET /v1/gallery` (each image with its file's URL).
//! - `files.rs`: `GET /v1/images/{id}/file` (any gallery image, wherever
//!   its file is: the CLI's too) and `GET /files/{name}` (the server's own
//!   folder, for the Images endpoint's URLs); `studio.rs`: the page.
//! - `jobs.rs`: `POST /v1/jobs`, `POST /v1/runs/{id}/rerun`,
//!   `DELETE /v1/jobs/{id}` (cancel) and `GET /v1/jobs/{id}/events`
//!   (server-sent events): the studio's progress stream.
//! - `run.rs`: the one path from a request to a recorded run (and
//!   `replay`, a recorded run's prompts painted again); `painters.rs` and
//!   `writers.rs` resolve names to painters (kept, bounded) and writers.
//! - `limits.rs`: admission (painting + queue, else 429) and the counters
//!   a graceful shutdown waits on.
//! - `guard.rs`: without a token only loopback `Host` names are served
//!   (DNS rebinding); with one, the API and files need
//!   `Authorization: Bearer`, and only the event stream takes `?token=`.
//!
//! Architecture invariant: painting runs on blocking threads, each with its
//! own gallery connection; handlers never hold a database handle across an
//! await. Keys stay inside painters and writers. Error bodies never carry
//! the server's own paths (`AppState::scrub`).

mod errors;
mod files;
mod gallery;
mod guard;
mod images;
mod jobs;
mod limits;
mod models;
mod painters;
mod prompts;
mod run;
mod server;
mod studio;
mod writers;

pub use errors::{ApiJson, AppError};
pub use files::safe_file_name;
pub use limits::Limits;
pub use painters::PAINTER_CACHE;
pub use server::{serve, GRACE};
pub use studio::STUDIO_CSP;

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use axum::{Json, Router};
use mural_llm::WriterProfile;
use mural_paint::{Painter, Profile};
use mural_prompt::Target;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

/// Request bodies are limited to this.
pub const BODY_LIMIT: usize = 1 << 20;

/// Seconds a client is told to wait when painting is full (429).
pub const RETRY_AFTER_S: u64 = 5;

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
    /// Writer profiles (`[writers.NAME]`), offered beside builtin and verbatim.
    writers: BTreeMap<String, WriterProfile>,
    default_painter: String,
    defaults: Defaults,
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
    /// `[defaults]` from `mural.toml`, for requests that name none.
    pub defaults: Defaults,
}

/// What a request (and the studio's pickers) gets when it names none:
/// `[defaults]` in `mural.toml`. Unset: the writer is builtin, the target
/// suits the painter, no style, 1024x1024 (the studio: 512x512), one image.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub writer: Option<String>,
    pub target: Option<Target>,
    pub style: Option<String>,
    /// WxH.
    pub size: Option<String>,
    pub n: Option<usize>,
}

impl AppState {
    pub fn new(c: Config) -> AppState {
        AppState::with_writers(c, BTreeMap::new())
    }

    /// A server that also offers the writer profiles of `mural.toml`
    /// (`[writers.NAME]`); requests naming one get it through
    /// `mural_llm::build`, with keys from [`Config::env`].
    pub fn with_writers(c: Config, writers: BTreeMap<String, WriterProfile>) -> AppState {
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
                writers,
                default_painter: c.default_painter,
                defaults: c.defaults,
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

    /// Shutdown has begun: request bodies still arriving get a 503 at
    /// once, so a half-sent body cannot hold the server open.
    pub fn stop(&self) {
        self.inner.stopping.send_replace(true);
    }

    pub(crate) async fn stopped(&self) {
        let mut rx = self.inner.stopping.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.limits
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

    /// Runs `f` with a gallery connection of its own on a blocking thread
    /// (a database handle never lives across an await); errors scrubbed.
    pub(crate) async fn with_gallery<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mural_gallery::Gallery) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let path = self.inner.gallery.clone();
        tokio::task::spawn_blocking(move || {
            let g = mural_gallery::Gallery::open(&path)
                .map_err(|e| AppError::internal(e.to_string()))?;
            f(&g)
        })
        .await
        .map_err(|e| AppError::internal(e.to_string()))?
        .map_err(|mut e| {
            e.message = self.scrub(&e.message);
            e
        })
    }
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

/// The router: API, files, studio.
pub fn app(state: AppState) -> Router {
    let auth = || middleware::from_fn_with_state(state.clone(), guard::auth);
    let api = Router::new()
        .route("/v1/prompts", post(prompts::prompts))
        .route("/v1/images/generations", post(images::images))
        .route("/v1/images/{id}/file", get(files::by_id))
        .route("/v1/models", get(models::models))
        .route("/v1/models/{*id}", get(models::model))
        .route("/v1/options", get(models::options))
        .route("/v1/gallery", get(gallery::gallery))
        .route("/v1/runs/{id}/rerun", post(jobs::rerun))
        .route("/v1/jobs", post(jobs::create))
        .route(
            "/v1/jobs/{id}",
            axum::routing::delete(jobs::cancel).get(jobs::status),
        )
        .route("/v1/jobs/{id}/cancel", post(jobs::cancel))
        .route("/files/{name}", get(files::by_name))
        .route_layer(auth());
    // EventSource cannot send headers: only the event stream takes ?token=
    let events = Router::new()
        .route("/v1/jobs/{id}/events", get(jobs::events))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            guard::auth_or_query,
        ));
    Router::new()
        .route("/", get(studio::page))
        .route("/studio.js", get(studio::js))
        .route("/studio.css", get(studio::css))
        .route("/healthz", get(|| async { Json(Health { status: "ok" }) }))
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
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limits::handling,
        ))
        .with_state(state)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn state_config() -> Config {
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
            defaults: Default::default(),
        }
    }

    pub(crate) fn state(name: &str) -> AppState {
        let dir = std::env::temp_dir().join(format!("mural-serve-{name}-{}", std::process::id()));
        AppState::new(Config {
            gallery: dir.join("gallery.db"),
            files: dir.join("images"),
            ..state_config()
        })
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
