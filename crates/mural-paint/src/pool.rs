//! Pools: one [`Painter`] over several backends (`[pools.NAME]` in
//! `mural.toml`), so one batch keeps many GPUs busy and survives one going
//! away.
//!
//! A [`Pool`] routes each request to the least-loaded healthy member that
//! can serve it (its size, and the model asked for, by the member's own
//! model list), weighted by the speed learned from its recent paints:
//! score = (in flight + 1) x seconds per image ([`route::pick`]). Each
//! member has its own concurrency. When a member fails (an error after its
//! own retries, a timeout, a refused connection) it is marked down and the
//! *same* request goes to another member, inside the one `paint` call: the
//! caller records the item once. A refusal or a bad request is returned at
//! once. A member that is down is probed with a cheap GET (A1111
//! `/sdapi/v1/sd-models`, ComfyUI `/object_info/CheckpointLoaderSimple`)
//! after an exponential backoff, and rejoins when it answers. When every
//! member that could serve a request is down, the request waits (probes
//! continue) up to `max_wait_s`, then fails as `Unavailable`, which a
//! batch records as a resumable failure.
//!
//! Architecture invariant: a pool is only a painter. It knows nothing of
//! the gallery or the journal; each member is a painter built by
//! [`crate::build`], with its own retries, limits and secrets.

use crate::{BoxFuture, Limits, PaintError, PaintRequest, Painted, Painter, Profile, Sizes};
use crate::{PainterKind, SourceType};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A `[pools.NAME]` table: painter profiles that paint as one.
///
/// ```toml
/// [pools.farm]
/// members = ["gpu1", "gpu2", "gpu3"]    # [painters.NAME] profiles
/// model = "sd_xl_base_1.0"               # optional: only members that hold it
/// concurrency = { gpu1 = 4 }             # optional: overrides a member's own
/// max_wait_s = 120                       # when every member is down
/// backoff_ms = 1000                      # first wait before probing a failed member
/// ```
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// The `[painters.NAME]` profiles that paint for the pool.
    pub members: Vec<String>,
    /// The model to paint with; members that lack it are never chosen.
    pub model: Option<String>,
    /// Requests in flight per member, overriding the member profile's
    /// `concurrency` (default 2).
    #[serde(default)]
    pub concurrency: BTreeMap<String, usize>,
    /// Seconds a request waits for a member while every one that could
    /// serve it is down (default 120).
    pub max_wait_s: Option<f64>,
    /// Milliseconds before a failed member is first probed (default 1000),
    /// doubling after each failed probe up to `max_backoff_ms` (60000).
    pub backoff_ms: Option<u64>,
    pub max_backoff_ms: Option<u64>,
}

/// A member's concurrency when neither the pool nor its profile sets one.
pub const DEFAULT_MEMBER_CONCURRENCY: usize = 2;

/// A pool resolved against the painter profiles, ready to build.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolSpec {
    pub name: String,
    /// (member name, its profile, its concurrency)
    pub members: Vec<(String, Profile, usize)>,
    pub settings: Settings,
}

/// How a pool waits and probes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub max_wait: Duration,
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// The longest a health probe may take.
    pub probe_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_wait: Duration::from_secs(120),
            backoff: Duration::from_millis(1000),
            max_backoff: Duration::from_secs(60),
            probe_timeout: Duration::from_secs(5),
        }
    }
}

impl PoolConfig {
    /// Resolves the members against `painters`; the error names the fix.
    pub fn resolve(
        &self,
        name: &str,
        painters: &BTreeMap<String, Profile>,
    ) -> Result<PoolSpec, String> {
        if self.members.is_empty() {
            return Err(format!(
                "pool {name:?} has no members; add members = [\"gpu1\", ...] naming [painters.NAME] profiles"
            ));
        }
        let mut members = Vec::new();
        for m in &self.members {
            let Some(p) = painters.get(m) else {
                let known: Vec<String> = painters.keys().cloned().collect();
                return Err(format!(
                    "pool {name:?} names member {m:?}, which is not a [painters.NAME] profile{}",
                    if known.is_empty() {
                        "; add one".to_string()
                    } else {
                        format!(
                            " (nearest: {})",
                            crate::remote::nearest(m, &known).join(", ")
                        )
                    }
                ));
            };
            if p.pool.is_some() {
                return Err(format!(
                    "pool {name:?} names {m:?}, which is a pool; members must be painter profiles"
                ));
            }
            if members.iter().any(|(n, _, _)| n == m) {
                return Err(format!("pool {name:?} names member {m:?} twice"));
            }
            let c = self
                .concurrency
                .get(m)
                .copied()
                .or(p.concurrency)
                .unwrap_or(DEFAULT_MEMBER_CONCURRENCY);
            if c == 0 {
                return Err(format!(
                    "pool {name:?}: member {m:?} has concurrency 0; give it at least 1"
                ));
            }
            members.push((m.clone(), p.clone(), c));
        }
        if let Some(k) = self.concurrency.keys().find(|k| !self.members.contains(k)) {
            return Err(format!(
                "pool {name:?} sets the concurrency of {k:?}, which is not one of its members"
            ));
        }
        let mut settings = Settings::default();
        if let Some(w) = self.max_wait_s.filter(|w| w.is_finite() && *w >= 0.0) {
            settings.max_wait = Duration::from_secs_f64(w);
        }
        if let Some(b) = self.backoff_ms {
            settings.backoff = Duration::from_millis(b.max(1));
        }
        if let Some(b) = self.max_backoff_ms {
            settings.max_backoff = Duration::from_millis(b.max(1));
        }
        settings.max_backoff = settings.max_backoff.max(settings.backoff);
        Ok(PoolSpec {
            name: name.to_string(),
            members,
            settings,
        })
    }
}

impl PoolSpec {
    /// The profile `--painter NAME` resolves to: the members' kind (so the
    /// target that suits them is the default; the first member's when they
    /// differ), the pool's model, and the
    /// pool itself, which [`crate::build`] builds.
    pub fn profile(&self, model: Option<String>) -> Profile {
        // a mixed pool suggests the first member's target
        let kind = self
            .kind()
            .or(self.members.first().map(|m| m.1.kind))
            .unwrap_or_default();
        Profile {
            kind,
            model,
            pool: Some(Box::new(self.clone())),
            ..Profile::default()
        }
    }

    /// The kind every member shares, if they share one.
    pub fn kind(&self) -> Option<PainterKind> {
        let first = self.members.first()?.1.kind;
        self.members
            .iter()
            .all(|(_, p, _)| p.kind == first)
            .then_some(first)
    }
}

/// The routing rules, as pure functions (no clock, no IO).
pub mod route {
    use std::time::Duration;

    /// What the router knows of one member for one request.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct View {
        pub healthy: bool,
        /// Takes the request's size and holds its model (or may: not probed).
        pub capable: bool,
        pub in_flight: usize,
        pub capacity: usize,
        /// Learned seconds per image; `None` before its first paint.
        pub secs_per_image: Option<f64>,
        /// Images it painted: of equal scores, the one with fewer wins.
        pub done: u64,
    }

    /// The member to send a request to: among the healthy, capable members
    /// with a free slot, the lowest (in flight + 1) x seconds per image. A
    /// member not yet measured counts as fast as the fastest measured one,
    /// so it gets work and is measured. Of equal scores, the member that
    /// painted fewer wins (then the first).
    pub fn pick(views: &[View]) -> Option<usize> {
        let fastest = views
            .iter()
            .filter_map(|v| v.secs_per_image)
            .filter(|s| s.is_finite() && *s > 0.0)
            .fold(None, |a: Option<f64>, s| Some(a.map_or(s, |a| a.min(s))))
            .unwrap_or(1.0);
        views
            .iter()
            .enumerate()
            .filter(|(_, v)| v.healthy && v.capable && v.in_flight < v.capacity)
            .map(|(i, v)| {
                let speed = v
                    .secs_per_image
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .unwrap_or(fastest);
                (i, (v.in_flight as f64 + 1.0) * speed, v.done)
            })
            .fold(
                None,
                |best: Option<(usize, f64, u64)>, (i, s, d)| match best {
                    Some((_, b, bd)) if b < s || (b == s && bd <= d) => best,
                    _ => Some((i, s, d)),
                },
            )
            .map(|(i, _, _)| i)
    }

    /// The wait before probing a member after its `failures`-th failure in
    /// a row: `initial`, doubling, at most `max`.
    pub fn backoff(initial: Duration, max: Duration, failures: u32) -> Duration {
        let shift = failures.saturating_sub(1).min(20);
        initial.saturating_mul(1u32 << shift).min(max)
    }

    /// The new seconds-per-image estimate after one paint (an exponentially
    /// weighted mean: recent paints count most).
    pub fn ewma(prev: Option<f64>, sample: f64) -> f64 {
        const ALPHA: f64 = 0.3;
        match prev {
            Some(p) => p + ALPHA * (sample - p),
            None => sample,
        }
    }
}

/// One member's state, as [`Pool::stats`] reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberStats {
    pub name: String,
    pub kind: String,
    /// The member's URL (credentials in it removed).
    pub url: String,
    pub healthy: bool,
    pub in_flight: usize,
    pub capacity: usize,
    /// Images painted.
    pub done: u64,
    /// Requests that failed on this member (and went elsewhere).
    pub failed: u64,
    pub secs_per_image: Option<f64>,
    /// Why it is down, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The models its server listed at the last probe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
}

/// The compact one-line summary a progress bar shows:
/// `gpu1 12 0.05s/img · gpu2 down 3`.
pub fn summary(stats: &[MemberStats]) -> String {
    stats
        .iter()
        .map(|s| {
            let speed = s
                .secs_per_image
                .map_or(String::new(), |t| format!(" {t:.2}s/img"));
            if s.healthy {
                format!("{} {}{speed}", s.name, s.done)
            } else {
                format!("{} down {}", s.name, s.done)
            }
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// One probe of a member, as `mural pool status` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeReport {
    pub name: String,
    pub kind: String,
    pub url: String,
    pub healthy: bool,
    pub latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
enum Health {
    Up,
    Down {
        failures: u32,
        next_probe: Instant,
        /// When a probe started, while one runs.
        probing: Option<Instant>,
    },
}

#[derive(Debug)]
struct State {
    in_flight: usize,
    done: u64,
    failed: u64,
    ewma: Option<f64>,
    health: Health,
    /// The model list of its last probe; `None` before one (or for a kind
    /// that has no model list).
    models: Option<Vec<String>>,
    last_error: Option<String>,
}

/// How to ask a member's own API whether it is up and what it holds.
#[derive(Debug, Clone)]
struct Probe {
    kind: ProbeKind,
    base: String,
    auth: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ProbeKind {
    A1111,
    Comfy,
    /// A kind with no cheap probe: it rejoins when its backoff is over.
    None,
}

struct Member {
    name: String,
    kind: String,
    url: String,
    painter: Box<dyn Painter>,
    capacity: usize,
    limits: Limits,
    probe: Probe,
    state: Mutex<State>,
}

impl Member {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn can_take_size(&self, w: u32, h: u32) -> bool {
        self.limits.check_size(w, h).is_ok()
    }
}

/// Whether a model list holds `wanted`, by A1111's names (`title`, the
/// title before its hash, `model_name`) or ComfyUI's file names.
pub fn holds(models: &[String], wanted: &str) -> bool {
    let strip = |s: &str| {
        s.rsplit_once('.')
            .filter(|(_, ext)| ["safetensors", "ckpt", "pt", "bin", "gguf"].contains(ext))
            .map_or(s.to_string(), |(stem, _)| stem.to_string())
    };
    models.iter().any(|m| {
        m == wanted
            || m.split(" [").next() == Some(wanted)
            || strip(m.split(" [").next().unwrap_or(m)) == strip(wanted)
    })
}

struct Inner {
    name: String,
    model: Option<String>,
    members: Vec<Member>,
    settings: Settings,
    changed: tokio::sync::Notify,
    http: mural_http::reqwest::Client,
    /// Members' model lists are probed once before the first request that
    /// names a model.
    caps_probed: tokio::sync::Mutex<bool>,
}

/// Several painters that paint as one (see the module docs).
pub struct Pool {
    inner: Arc<Inner>,
    limits: Limits,
    kind: String,
    model_label: String,
    source_type: SourceType,
}

impl Pool {
    /// Builds every member from its profile (with the pool's model, when it
    /// has one). `env` looks up keys, as for [`crate::build`].
    pub fn new(
        spec: &PoolSpec,
        model: Option<String>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Pool, PaintError> {
        let mut members = Vec::new();
        for (name, profile, capacity) in &spec.members {
            let mut p = profile.clone();
            if model.is_some() {
                p.model = model.clone();
            }
            let painter = crate::build(&p, env).map_err(|e| match e {
                PaintError::InvalidRequest { message } => PaintError::InvalidRequest {
                    message: format!("pool {:?}, member {name:?}: {message}", spec.name),
                },
                e => e,
            })?;
            members.push((name.clone(), p, painter, *capacity));
        }
        Ok(Pool::assemble(&spec.name, model, members, spec.settings))
    }

    /// A pool of painters already built (for tests and benches): (name,
    /// profile it was built from, painter, concurrency).
    pub fn with_painters(
        name: &str,
        model: Option<String>,
        members: Vec<(String, Profile, Box<dyn Painter>, usize)>,
        settings: Settings,
    ) -> Pool {
        Pool::assemble(name, model, members, settings)
    }

    fn assemble(
        name: &str,
        model: Option<String>,
        members: Vec<(String, Profile, Box<dyn Painter>, usize)>,
        settings: Settings,
    ) -> Pool {
        let members: Vec<Member> = members
            .into_iter()
            .map(|(name, p, painter, capacity)| {
                let kind = match p.kind.as_str() {
                    "a1111" | "forge" | "sdnext" => ProbeKind::A1111,
                    "comfyui" | "comfy" => ProbeKind::Comfy,
                    _ => ProbeKind::None,
                };
                let default_url = match kind {
                    ProbeKind::A1111 => "http://127.0.0.1:7860",
                    ProbeKind::Comfy => "http://127.0.0.1:8188",
                    ProbeKind::None => "",
                };
                let base = p
                    .url
                    .clone()
                    .unwrap_or_else(|| default_url.to_string())
                    .trim()
                    .trim_end_matches('/')
                    .to_string();
                let auth = p
                    .api_auth
                    .as_deref()
                    .and_then(|a| a.trim().split_once(':'))
                    .map(|(u, pw)| (u.to_string(), pw.to_string()));
                Member {
                    kind: p.kind.to_string(),
                    url: mural_http::redact_userinfo(&base),
                    limits: painter.limits(),
                    painter,
                    capacity: capacity.max(1),
                    probe: Probe { kind, base, auth },
                    state: Mutex::new(State {
                        in_flight: 0,
                        done: 0,
                        failed: 0,
                        ewma: None,
                        health: Health::Up,
                        models: None,
                        last_error: None,
                    }),
                    name,
                }
            })
            .collect();
        let limits = union_limits(members.iter().map(|m| &m.limits));
        let kinds: Vec<&str> = members.iter().map(|m| m.kind.as_str()).collect();
        let kind = match kinds.first() {
            Some(k) if kinds.iter().all(|x| x == k) => painter_name(k),
            _ => "pool",
        }
        .to_string();
        let source_type = if kinds.iter().all(|k| *k == "sketch") {
            SourceType::AlgorithmicMedia
        } else {
            SourceType::TrainedAlgorithmicMedia
        };
        let http = mural_http::reqwest::Client::builder()
            .timeout(settings.probe_timeout)
            .connect_timeout(settings.probe_timeout)
            .build()
            .unwrap_or_default();
        Pool {
            model_label: model
                .clone()
                .unwrap_or_else(|| "(each member's own model)".to_string()),
            inner: Arc::new(Inner {
                name: name.to_string(),
                model,
                members,
                settings,
                changed: tokio::sync::Notify::new(),
                http,
                caps_probed: tokio::sync::Mutex::new(false),
            }),
            limits,
            kind,
            source_type,
        }
    }

    /// The pool's name.
    pub fn pool_name(&self) -> &str {
        &self.inner.name
    }

    /// Every member's health, load and speed now.
    pub fn stats(&self) -> Vec<MemberStats> {
        self.inner
            .members
            .iter()
            .map(|m| {
                let s = m.state();
                MemberStats {
                    name: m.name.clone(),
                    kind: m.kind.clone(),
                    url: m.url.clone(),
                    healthy: matches!(s.health, Health::Up),
                    in_flight: s.in_flight,
                    capacity: m.capacity,
                    done: s.done,
                    failed: s.failed,
                    secs_per_image: s.ewma,
                    last_error: s.last_error.clone(),
                    models: s.models.clone(),
                }
            })
            .collect()
    }

    /// Probes every member now (concurrently) and records what it found:
    /// `mural pool status`.
    pub async fn probe_all(&self) -> Vec<ProbeReport> {
        let inner = &self.inner;
        let probes = inner.members.iter().enumerate().map(|(i, m)| async move {
            let started = Instant::now();
            let r = inner.probe(i).await;
            let latency_ms = started.elapsed().as_millis() as u64;
            inner.after_probe(i, &r);
            ProbeReport {
                name: m.name.clone(),
                kind: m.kind.clone(),
                url: m.url.clone(),
                healthy: r.is_ok(),
                latency_ms,
                models: r.as_ref().ok().cloned().flatten(),
                error: r.err(),
            }
        });
        futures_join_all(probes).await
    }
}

/// The name `Painter::name` gives for a kind.
fn painter_name(kind: &str) -> &'static str {
    kind.parse::<PainterKind>()
        .map(PainterKind::as_str)
        .unwrap_or("pool")
}

/// Limits that take what any member takes (each request is then routed
/// only to members that take it).
fn union_limits<'a>(all: impl Iterator<Item = &'a Limits>) -> Limits {
    let all: Vec<&Limits> = all.collect();
    let Some(first) = all.first() else {
        return Limits {
            max_n: 1,
            sizes: Sizes::Fixed { sizes: Vec::new() },
            max_prompt_chars: None,
        };
    };
    if all.iter().all(|l| l == first) {
        return (*first).clone();
    }
    let max_n = all.iter().map(|l| l.max_n).min().unwrap_or(1).max(1);
    let max_prompt_chars = all.iter().filter_map(|l| l.max_prompt_chars).min();
    let fixed: Option<Vec<(u32, u32)>> = all
        .iter()
        .map(|l| match &l.sizes {
            Sizes::Fixed { sizes } => Some(sizes.clone()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
        .map(|v| {
            let mut s: Vec<(u32, u32)> = v.into_iter().flatten().collect();
            s.sort();
            s.dedup();
            s
        });
    let sizes = match fixed {
        Some(sizes) => Sizes::Fixed { sizes },
        None => {
            // ranges (and free sizes) span their union; the step is the
            // finest any member needs
            let (mut min, mut max, mut step) = (u32::MAX, 0u32, u32::MAX);
            for l in &all {
                match &l.sizes {
                    Sizes::Range {
                        min: a,
                        max: b,
                        step: s,
                    } => {
                        min = min.min(*a);
                        max = max.max(*b);
                        step = step.min(*s);
                    }
                    Sizes::Fixed { sizes } => {
                        for (w, h) in sizes {
                            min = min.min(*w.min(h));
                            max = max.max(*w.max(h));
                        }
                        step = 1;
                    }
                    Sizes::Free { .. } => {
                        min = 1;
                        max = max.max(crate::remote::MAX_SIDE);
                        step = 1;
                    }
                }
            }
            Sizes::Range {
                min: min.min(max),
                max,
                step: step.max(1),
            }
        }
    };
    Limits {
        max_n,
        sizes,
        max_prompt_chars,
    }
}

/// Runs futures concurrently and collects their results in order.
async fn futures_join_all<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut tasks: Vec<std::pin::Pin<Box<F>>> = futs.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = tasks.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, t) in tasks.iter_mut().enumerate() {
            if out[i].is_none() {
                match t.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// What to do with a member's error.
fn is_member_failure(e: &PaintError) -> bool {
    // the service's word on the content, or a request that is wrong
    // anywhere, is the caller's answer; the rest is this member's trouble
    !matches!(
        e,
        PaintError::Refused { .. } | PaintError::InvalidRequest { .. }
    )
}

impl Inner {
    /// Asks member `i`'s own API whether it is up: its model list, or
    /// `None` for a kind without one. The error says why not.
    async fn probe(&self, i: usize) -> Result<Option<Vec<String>>, String> {
        let m = &self.members[i];
        let p = &m.probe;
        let url = match p.kind {
            ProbeKind::A1111 => format!("{}/sdapi/v1/sd-models", p.base),
            ProbeKind::Comfy => format!("{}/object_info/CheckpointLoaderSimple", p.base),
            ProbeKind::None => return Ok(None),
        };
        let mut r = self.http.get(&url);
        if let Some((u, pw)) = &p.auth {
            r = r.basic_auth(u, Some(pw));
        }
        let secrets: Vec<String> = p.auth.iter().map(|(_, pw)| pw.clone()).collect();
        let scrub = |m: String| mural_http::redact_secrets(&m, &secrets);
        let reply = r.send().await.map_err(|e| {
            scrub(format!(
                "{}: {}",
                m.url,
                mural_http::redact_userinfo(&e.to_string())
            ))
        })?;
        let status = reply.status();
        if !status.is_success() {
            return Err(format!("{}: HTTP {}", m.url, status.as_u16()));
        }
        let body = reply
            .bytes()
            .await
            .map_err(|e| scrub(format!("{}: {e}", m.url)))?;
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| format!("{}: the reply is not JSON", m.url))?;
        let names: Vec<String> = match p.kind {
            ProbeKind::A1111 => v
                .as_array()
                .ok_or_else(|| format!("{}: sd-models did not return a list", m.url))?
                .iter()
                .filter_map(|e| {
                    e.get("title")
                        .or(e.get("model_name"))
                        .and_then(|s| s.as_str())
                        .map(str::to_string)
                })
                .collect(),
            _ => v
                .pointer("/CheckpointLoaderSimple/input/required/ckpt_name/0")
                .and_then(|a| a.as_array())
                .ok_or_else(|| format!("{}: object_info lists no checkpoints", m.url))?
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect(),
        };
        Ok(Some(names))
    }

    /// Records a probe's answer: up (with its models) or down for longer.
    fn after_probe(&self, i: usize, r: &Result<Option<Vec<String>>, String>) {
        let m = &self.members[i];
        let mut s = m.state();
        match r {
            Ok(models) => {
                s.health = Health::Up;
                s.last_error = None;
                if models.is_some() {
                    s.models = models.clone();
                }
            }
            Err(why) => {
                let failures = match s.health {
                    Health::Down { failures, .. } => failures + 1,
                    Health::Up => 1,
                };
                s.health = Health::Down {
                    failures,
                    next_probe: Instant::now()
                        + route::backoff(
                            self.settings.backoff,
                            self.settings.max_backoff,
                            failures,
                        ),
                    probing: None,
                };
                s.last_error = Some(why.clone());
            }
        }
        drop(s);
        self.changed.notify_waiters();
    }

    /// Marks a member down after a failed request.
    fn failed(&self, i: usize, why: &PaintError) {
        let m = &self.members[i];
        let mut s = m.state();
        s.failed += 1;
        s.last_error = Some(why.to_string());
        if matches!(s.health, Health::Up) {
            s.health = Health::Down {
                failures: 1,
                next_probe: Instant::now() + self.settings.backoff,
                probing: None,
            };
        }
        drop(s);
        self.changed.notify_waiters();
    }

    /// Starts a probe of every down member whose backoff is over, each on
    /// its own task; returns when the next one is due.
    fn probe_due(self: &Arc<Self>) -> Option<Instant> {
        let now = Instant::now();
        let stale = self.settings.probe_timeout * 2;
        let mut next: Option<Instant> = None;
        for (i, m) in self.members.iter().enumerate() {
            let mut s = m.state();
            let Health::Down {
                next_probe,
                probing,
                ..
            } = &mut s.health
            else {
                continue;
            };
            // a probe whose task was dropped (its runtime ended) is stale
            if probing.is_some_and(|p| now.duration_since(p) < stale) {
                continue;
            }
            if *next_probe > now {
                next = Some(next.map_or(*next_probe, |n| n.min(*next_probe)));
                continue;
            }
            *probing = Some(now);
            drop(s);
            let inner = Arc::clone(self);
            let task = async move {
                let r = inner.probe(i).await;
                inner.after_probe(i, &r);
            };
            match tokio::runtime::Handle::try_current() {
                Ok(h) => {
                    h.spawn(task);
                }
                Err(_) => {
                    // no runtime to probe on: let it be tried again
                    let mut s = m.state();
                    if let Health::Down { probing, .. } = &mut s.health {
                        *probing = None;
                    }
                }
            }
        }
        next
    }

    /// Probes every member's model list once, before the first request
    /// that names a model.
    async fn ensure_caps(&self) {
        let mut done = self.caps_probed.lock().await;
        if *done {
            return;
        }
        let results = futures_join_all((0..self.members.len()).map(|i| self.probe(i))).await;
        for (i, r) in results.iter().enumerate() {
            self.after_probe(i, r);
        }
        *done = true;
    }

    /// Whether member `m` can serve a request for `model` at `w`x`h`:
    /// `Some(true)` yes, `Some(false)` never, `None` not known (its list
    /// has not been read: it was down).
    fn capable(&self, m: &Member, s: &State, model: Option<&str>, w: u32, h: u32) -> Option<bool> {
        if !m.can_take_size(w, h) {
            return Some(false);
        }
        match (model, &s.models, m.probe.kind) {
            (None, _, _) | (Some(_), _, ProbeKind::None) => Some(true),
            (Some(want), Some(list), _) => Some(holds(list, want)),
            (Some(_), None, _) => None,
        }
    }

    /// Takes a slot on the best member for the request, waiting while all
    /// that could serve it are busy, or down (up to `max_wait`).
    async fn acquire(self: &Arc<Self>, w: u32, h: u32) -> Result<usize, PaintError> {
        let model = self.model.as_deref();
        let mut all_down_since: Option<Instant> = None;
        loop {
            let notified = self.changed.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            // down members whose backoff is over are probed (on their own
            // tasks) while healthy ones work
            let next = self.probe_due();
            let mut views = Vec::with_capacity(self.members.len());
            let mut maybe = false;
            {
                let mut states: Vec<_> = self.members.iter().map(|m| m.state()).collect();
                for (m, s) in self.members.iter().zip(&states) {
                    let c = self.capable(m, s, model, w, h);
                    maybe |= c != Some(false);
                    views.push(route::View {
                        healthy: matches!(s.health, Health::Up),
                        capable: c == Some(true),
                        in_flight: s.in_flight,
                        capacity: m.capacity,
                        secs_per_image: s.ewma,
                        done: s.done,
                    });
                }
                if maybe {
                    if let Some(i) = route::pick(&views) {
                        states[i].in_flight += 1;
                        return Ok(i);
                    }
                }
            }
            if !maybe {
                return Err(self.none_can_serve(model, w, h));
            }
            let any_up = views.iter().any(|v| v.healthy && v.capable);
            if any_up {
                all_down_since = None;
            } else {
                let since = *all_down_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= self.settings.max_wait {
                    return Err(self.all_down(model));
                }
            }
            let mut wait = Duration::from_millis(250);
            if let Some(n) = next {
                wait = wait
                    .min(n.saturating_duration_since(Instant::now()) + Duration::from_millis(1));
            }
            if let Some(since) = all_down_since {
                wait = wait.min(
                    (since + self.settings.max_wait).saturating_duration_since(Instant::now())
                        + Duration::from_millis(1),
                );
            }
            let _ = tokio::time::timeout(wait, notified).await;
        }
    }

    fn release(&self, i: usize) {
        let mut s = self.members[i].state();
        s.in_flight = s.in_flight.saturating_sub(1);
        drop(s);
        self.changed.notify_waiters();
    }

    fn none_can_serve(&self, model: Option<&str>, w: u32, h: u32) -> PaintError {
        let names: Vec<&str> = self.members.iter().map(|m| m.name.as_str()).collect();
        let sized: Vec<&Member> = self
            .members
            .iter()
            .filter(|m| m.can_take_size(w, h))
            .collect();
        let message = match model {
            Some(model) if !sized.is_empty() => format!(
                "no member of pool {:?} has the model {model:?} (members: {}); put it on a member or pick one they list",
                self.name,
                sized
                    .iter()
                    .map(|m| {
                        let s = m.state();
                        match &s.models {
                            Some(l) if !l.is_empty() => {
                                let l: Vec<String> = l.iter().take(4).cloned().collect();
                                format!("{} has {}", m.name, l.join(", "))
                            }
                            _ => format!("{} has none", m.name),
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            _ => format!(
                "no member of pool {:?} takes the size {w}x{h} (members: {})",
                self.name,
                names.join(", ")
            ),
        };
        PaintError::InvalidRequest { message }
    }

    fn all_down(&self, model: Option<&str>) -> PaintError {
        let why: Vec<String> = self
            .members
            .iter()
            .map(|m| {
                let s = m.state();
                match &s.last_error {
                    Some(e) => format!("{}: {}", m.name, e),
                    None => format!("{}: down", m.name),
                }
            })
            .collect();
        PaintError::Unavailable {
            message: format!(
                "every member of pool {:?} that can paint{} stayed down for {:.0}s ({}); the item can be tried again",
                self.name,
                model.map_or(String::new(), |m| format!(" {m:?}")),
                self.settings.max_wait.as_secs_f64(),
                why.join("; ")
            ),
            retry_after_ms: None,
        }
    }
}

impl Painter for Pool {
    fn name(&self) -> &str {
        &self.kind
    }

    fn model(&self) -> &str {
        &self.model_label
    }

    fn limits(&self) -> Limits {
        self.limits.clone()
    }

    fn source_type(&self) -> SourceType {
        self.source_type
    }

    fn pool_stats(&self) -> Vec<MemberStats> {
        self.stats()
    }

    fn paint<'a>(
        &'a self,
        req: &'a PaintRequest,
    ) -> BoxFuture<'a, Result<Vec<Painted>, PaintError>> {
        Box::pin(async move {
            let inner = &self.inner;
            if inner.model.is_some() {
                inner.ensure_caps().await;
            }
            // each failure takes a member out until it answers a probe, so
            // this bounds a request that keeps meeting flapping members
            let attempts = 3 * inner.members.len().max(1);
            let mut last: Option<PaintError> = None;
            for _ in 0..attempts {
                let i = inner.acquire(req.width, req.height).await?;
                let m = &inner.members[i];
                let started = Instant::now();
                let r = m.painter.paint(req).await;
                let secs = started.elapsed().as_secs_f64();
                match r {
                    Ok(mut images) => {
                        {
                            let mut s = m.state();
                            s.in_flight = s.in_flight.saturating_sub(1);
                            s.done += images.len() as u64;
                            s.ewma = Some(route::ewma(s.ewma, secs / images.len().max(1) as f64));
                            s.health = Health::Up;
                        }
                        inner.changed.notify_waiters();
                        for img in &mut images {
                            img.params
                                .insert("pool".into(), serde_json::json!(inner.name));
                            img.params
                                .insert("member".into(), serde_json::json!(m.name));
                        }
                        return Ok(images);
                    }
                    Err(e) if !is_member_failure(&e) => {
                        inner.release(i);
                        return Err(e);
                    }
                    Err(e) => {
                        inner.release(i);
                        inner.failed(i, &e);
                        last = Some(e);
                    }
                }
            }
            Err(PaintError::Unavailable {
                message: format!(
                    "pool {:?}: {attempts} members failed this request in turn; last: {}",
                    inner.name,
                    last.map_or("none".to_string(), |e| e.to_string())
                ),
                retry_after_ms: None,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::route::{backoff, ewma, pick, View};
    use super::*;

    fn v(in_flight: usize, secs: Option<f64>) -> View {
        View {
            healthy: true,
            capable: true,
            in_flight,
            capacity: 4,
            secs_per_image: secs,
            done: 0,
        }
    }

    #[test]
    fn the_least_loaded_fastest_member_is_picked() {
        // equal speed: the one with less in flight
        assert_eq!(pick(&[v(2, Some(1.0)), v(1, Some(1.0))]), Some(1));
        // twice as fast takes up to twice the load
        assert_eq!(pick(&[v(1, Some(0.5)), v(0, Some(1.0))]), Some(0));
        assert_eq!(pick(&[v(2, Some(0.5)), v(0, Some(1.0))]), Some(1));
        // ties go to the one that painted fewer, then the first
        assert_eq!(pick(&[v(0, None), v(0, None)]), Some(0));
        let mut busy = v(0, None);
        busy.done = 9;
        assert_eq!(pick(&[busy, v(0, None)]), Some(1));
        // an unmeasured member counts as fast as the fastest
        assert_eq!(pick(&[v(1, Some(0.2)), v(0, None)]), Some(1));
    }

    #[test]
    fn down_full_and_incapable_members_are_never_picked() {
        let mut down = v(0, Some(0.1));
        down.healthy = false;
        let mut lacks = v(0, Some(0.1));
        lacks.capable = false;
        let mut full = v(4, Some(0.1));
        full.capacity = 4;
        assert_eq!(pick(&[down, lacks, full, v(3, Some(9.0))]), Some(3));
        assert_eq!(pick(&[down, lacks, full]), None);
        assert_eq!(pick(&[]), None);
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let (a, max) = (Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(backoff(a, max, 1), Duration::from_millis(100));
        assert_eq!(backoff(a, max, 2), Duration::from_millis(200));
        assert_eq!(backoff(a, max, 4), Duration::from_millis(800));
        assert_eq!(backoff(a, max, 5), max);
        assert_eq!(backoff(a, max, 1000), max);
        assert_eq!(backoff(a, max, 0), Duration::from_millis(100));
    }

    #[test]
    fn speed_is_a_weighted_mean_of_recent_paints() {
        assert_eq!(ewma(None, 2.0), 2.0);
        let e = ewma(Some(2.0), 1.0);
        assert!(e < 2.0 && e > 1.0, "{e}");
        // a long run of fast paints forgets a slow start
        let mut s = Some(10.0);
        for _ in 0..50 {
            s = Some(ewma(s, 0.1));
        }
        assert!((s.unwrap() - 0.1).abs() < 0.01);
    }

    #[test]
    fn model_names_match_as_a1111_and_comfyui_list_them() {
        let list = vec![
            "sd_xl_base_1.0.safetensors [31e35c80fc]".to_string(),
            "sd_xl_base_1.0".to_string(),
            "flux1-dev.safetensors".to_string(),
        ];
        assert!(holds(&list, "sd_xl_base_1.0"));
        assert!(holds(&list, "sd_xl_base_1.0.safetensors"));
        assert!(holds(&list, "flux1-dev"));
        assert!(!holds(&list, "v1-5-pruned"));
    }

    fn profiles(names: &[(&str, &str)]) -> BTreeMap<String, Profile> {
        names
            .iter()
            .map(|(n, k)| (n.to_string(), Profile::of_kind(k.parse().unwrap())))
            .collect()
    }

    #[test]
    fn a_pool_resolves_its_members_or_names_the_fix() {
        let painters = profiles(&[("gpu1", "a1111"), ("gpu2", "a1111"), ("cloud", "openai")]);
        let mut c = PoolConfig {
            members: vec!["gpu1".into(), "gpu2".into()],
            ..PoolConfig::default()
        };
        c.concurrency.insert("gpu2".into(), 5);
        let spec = c.resolve("farm", &painters).unwrap();
        assert_eq!(spec.members[0].2, DEFAULT_MEMBER_CONCURRENCY);
        assert_eq!(spec.members[1].2, 5);
        assert_eq!(spec.kind(), Some(PainterKind::A1111));
        assert_eq!(spec.profile(None).kind, PainterKind::A1111);
        c.members.push("gpu9".into());
        let e = c.resolve("farm", &painters).unwrap_err();
        assert!(e.contains("\"gpu9\"") && e.contains("nearest: gpu1"), "{e}");
        let e = PoolConfig::default()
            .resolve("farm", &painters)
            .unwrap_err();
        assert!(e.contains("no members"), "{e}");
        let mixed = PoolConfig {
            members: vec!["gpu1".into(), "cloud".into()],
            ..PoolConfig::default()
        };
        assert_eq!(mixed.resolve("m", &painters).unwrap().kind(), None);
    }

    #[test]
    fn limits_take_what_any_member_takes() {
        let a = Limits {
            max_n: 8,
            sizes: Sizes::Range {
                min: 64,
                max: 2048,
                step: 8,
            },
            max_prompt_chars: None,
        };
        let b = Limits {
            max_n: 1,
            sizes: Sizes::Range {
                min: 256,
                max: 4096,
                step: 64,
            },
            max_prompt_chars: Some(1000),
        };
        let u = union_limits([&a, &b].into_iter());
        assert_eq!(u.max_n, 1);
        assert_eq!(u.max_prompt_chars, Some(1000));
        assert!(u.check_size(64, 64).is_ok() && u.check_size(4096, 4096).is_ok());
        assert_eq!(union_limits([&a, &a].into_iter()), a);
    }

    /// A painter that fails or paints as it is told, counting calls.
    struct Scripted {
        fail: std::sync::atomic::AtomicBool,
        refuse: bool,
        calls: std::sync::atomic::AtomicUsize,
    }

    impl Painter for Arc<Scripted> {
        fn name(&self) -> &str {
            "scripted"
        }
        fn model(&self) -> &str {
            "s"
        }
        fn limits(&self) -> Limits {
            Limits {
                max_n: 1,
                sizes: Sizes::Range {
                    min: 1,
                    max: 4096,
                    step: 1,
                },
                max_prompt_chars: None,
            }
        }
        fn source_type(&self) -> SourceType {
            SourceType::AlgorithmicMedia
        }
        fn paint<'a>(
            &'a self,
            req: &'a PaintRequest,
        ) -> BoxFuture<'a, Result<Vec<Painted>, PaintError>> {
            Box::pin(async move {
                use std::sync::atomic::Ordering::SeqCst;
                self.calls.fetch_add(1, SeqCst);
                if self.refuse {
                    return Err(PaintError::Refused {
                        reason: "policy".into(),
                    });
                }
                if self.fail.load(SeqCst) {
                    return Err(PaintError::Unavailable {
                        message: "HTTP 503".into(),
                        retry_after_ms: None,
                    });
                }
                Ok(vec![Painted {
                    png: Vec::new(),
                    width: req.width,
                    height: req.height,
                    seed: req.seed,
                    revised_prompt: None,
                    params: serde_json::Map::new(),
                }])
            })
        }
    }

    fn scripted(fail: bool, refuse: bool) -> Arc<Scripted> {
        Arc::new(Scripted {
            fail: fail.into(),
            refuse,
            calls: 0.into(),
        })
    }

    fn req() -> PaintRequest {
        PaintRequest {
            prompt: "a cat".into(),
            negative_prompt: String::new(),
            width: 64,
            height: 64,
            n: 1,
            seed: 7,
            model: None,
            scene: None,
        }
    }

    fn pool_of(members: &[Arc<Scripted>], max_wait: Duration) -> Pool {
        Pool::with_painters(
            "farm",
            None,
            members
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    (
                        format!("m{i}"),
                        Profile::of_kind(PainterKind::Sketch),
                        Box::new(p.clone()) as Box<dyn Painter>,
                        1,
                    )
                })
                .collect(),
            Settings {
                max_wait,
                backoff: Duration::from_secs(3600),
                ..Settings::default()
            },
        )
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_failed_member_hands_the_same_request_to_another_and_is_marked_down() {
        use std::sync::atomic::Ordering::SeqCst;
        let (bad, good) = (scripted(true, false), scripted(false, false));
        let pool = pool_of(&[bad.clone(), good.clone()], Duration::from_secs(60));
        let out = pool.paint(&req()).await.unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].params["member"], "m1");
        assert_eq!(out[0].params["pool"], "farm");
        assert_eq!((bad.calls.load(SeqCst), good.calls.load(SeqCst)), (1, 1));
        let stats = pool.stats();
        assert!(!stats[0].healthy && stats[1].healthy, "{stats:?}");
        assert_eq!((stats[0].failed, stats[1].done), (1, 1));
        assert!(stats[0].last_error.as_deref().unwrap().contains("503"));
        // a down member gets nothing until it answers a probe
        pool.paint(&req()).await.unwrap();
        assert_eq!(bad.calls.load(SeqCst), 1);
        assert!(summary(&pool.stats()).contains("m0 down"));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_refusal_is_not_retried_elsewhere() {
        use std::sync::atomic::Ordering::SeqCst;
        let (refuses, good) = (scripted(false, true), scripted(false, false));
        let pool = pool_of(&[refuses.clone(), good.clone()], Duration::from_secs(60));
        let e = pool.paint(&req()).await.unwrap_err();
        assert!(matches!(e, PaintError::Refused { .. }), "{e:?}");
        assert_eq!(good.calls.load(SeqCst), 0);
        assert!(
            pool.stats()[0].healthy,
            "a refusal is not the member's fault"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn when_every_member_is_down_the_item_fails_as_retryable_after_the_wait() {
        let pool = pool_of(
            &[scripted(true, false), scripted(true, false)],
            Duration::ZERO,
        );
        let e = pool.paint(&req()).await.unwrap_err();
        assert!(e.retryable(), "{e:?}");
        assert!(e.to_string().contains("stayed down"), "{e}");
        assert!(e.to_string().contains("m0: HTTP 503"), "{e}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_size_no_member_takes_is_a_bad_request_naming_the_members() {
        let pool = pool_of(&[scripted(false, false)], Duration::ZERO);
        let mut r = req();
        r.width = 9000;
        let e = pool.paint(&r).await.unwrap_err();
        assert!(matches!(e, PaintError::InvalidRequest { .. }), "{e:?}");
        assert!(
            e.to_string().contains("9000x64") && e.to_string().contains("m0"),
            "{e}"
        );
    }
}
