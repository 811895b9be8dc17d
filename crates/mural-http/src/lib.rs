//! One HTTP policy for every remote backend (painters and LLM writers).
//!
//! - Connect and request timeouts.
//! - Retries with exponential backoff and jitter for connection errors,
//!   timeouts, 408, 409, 429, 5xx and truncated or invalid bodies. A
//!   `retry-after-ms` or `retry-after` header (seconds or an HTTP date) is
//!   honored up to a cap, as the official OpenAI clients do; so is
//!   `x-should-retry`.
//! - No retry for refusals (content policy, moderation), 400, 401/403 and
//!   `insufficient_quota`: those come back at once with their reason.
//! - A per-client concurrency limit and rate limiter, shared by every call
//!   made through clones of one [`Client`].
//! - Secrets (API keys, basic-auth passwords) are registered with the client
//!   and scrubbed from every message it produces, including the server's own
//!   error text, which sometimes echoes the key back.
//!
//! Architecture invariant: this crate knows HTTP and nothing about images
//! or prompts. Backends decide what a reply means through a `judge`
//! closure; the policy decides whether and when to try again.

use bytes::Bytes;
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use reqwest;

/// Timeouts and retries.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub connect_timeout: Duration,
    /// The whole request, body included.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// The longest `retry-after` honored; longer hints are cut to this.
    pub max_retry_after: Duration,
    /// The largest reply body read, in bytes. A longer one is refused as
    /// it streams in (or at once, when its `content-length` says so), never
    /// buffered whole; a streamed reply counts all its pieces.
    pub max_body: usize,
}

/// The default [`Policy::max_body`]: 64 MiB, far above any image or
/// completion a service sends, and far below what would hurt the machine.
pub const MAX_BODY: usize = 64 << 20;

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(300),
            max_retries: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            max_body: MAX_BODY,
        }
    }
}

/// How hard one client may press its server.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Limit {
    /// Requests in flight at once (0 = no limit).
    pub concurrency: usize,
    /// Requests started per minute (None = no limit).
    pub rate_per_minute: Option<f64>,
}

/// What kind of failure, which decides what the caller does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The request is wrong; fix it.
    InvalidRequest,
    /// The service refused the content (policy, moderation).
    Refused,
    /// Credentials missing or rejected.
    Auth,
    /// Quota or billing: nothing to retry.
    Quota,
    /// Temporary trouble that outlasted the retries.
    Unavailable,
    /// The server answered something that cannot be used.
    Failed,
}

/// A failed call, with a message safe to print (secrets scrubbed).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct HttpError {
    pub kind: Kind,
    pub message: String,
    /// Attempts made (1 = no retry).
    pub attempts: u32,
}

impl HttpError {
    pub fn new(kind: Kind, message: impl Into<String>) -> HttpError {
        HttpError {
            kind,
            message: message.into(),
            attempts: 1,
        }
    }
}

/// A whole reply: status, headers and the complete body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON, or why not (a truncated or invalid body is
    /// worth another try).
    pub fn json(&self) -> Result<Value, Verdict<Value>> {
        serde_json::from_slice(&self.body).map_err(|e| Verdict::Retry {
            message: format!("the reply is not valid JSON ({e})"),
            retry_after: None,
        })
    }
}

/// After one attempt: the call's result, or how long to wait.
enum Step<T> {
    Return(Result<T, HttpError>),
    Wait(Duration),
}

/// What a backend makes of one reply.
#[derive(Debug)]
pub enum Verdict<T> {
    Done(T),
    /// Worth another try after the backoff (or the hint).
    Retry {
        message: String,
        retry_after: Option<Duration>,
    },
    Fail(HttpError),
}

impl<T> Verdict<T> {
    /// Re-types a non-`Done` verdict (for `?`-style early returns).
    pub fn cast<U>(self) -> Verdict<U> {
        match self {
            Verdict::Done(_) => Verdict::Fail(HttpError::new(
                Kind::Failed,
                "internal: cast of a finished verdict",
            )),
            Verdict::Retry {
                message,
                retry_after,
            } => Verdict::Retry {
                message,
                retry_after,
            },
            Verdict::Fail(e) => Verdict::Fail(e),
        }
    }
}

struct Gate {
    permits: Option<tokio::sync::Semaphore>,
    interval: Option<Duration>,
    next: Mutex<Option<tokio::time::Instant>>,
}

impl Gate {
    fn new(limit: Limit) -> Gate {
        Gate {
            permits: (limit.concurrency > 0)
                .then(|| tokio::sync::Semaphore::new(limit.concurrency)),
            interval: limit
                .rate_per_minute
                .filter(|r| *r > 0.0 && r.is_finite())
                .map(|r| Duration::from_secs_f64(60.0 / r)),
            next: Mutex::new(None),
        }
    }

    async fn enter(&self, metered: bool) -> Option<tokio::sync::SemaphorePermit<'_>> {
        let permit = match &self.permits {
            Some(s) => s.acquire().await.ok(),
            None => None,
        };
        if let (true, Some(interval)) = (metered, self.interval) {
            let slot = {
                let now = tokio::time::Instant::now();
                let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
                let slot = next.map_or(now, |n| n.max(now));
                *next = Some(slot + interval);
                slot
            };
            tokio::time::sleep_until(slot).await;
        }
        permit
    }
}

/// The concurrency limit and rate limiter on their own, for backends that
/// are not HTTP (and for tests and benches of what sits above them).
pub struct Limiter(Gate);

impl Limiter {
    pub fn new(limit: Limit) -> Limiter {
        Limiter(Gate::new(limit))
    }

    /// Waits for a slot; hold the returned permit while the work runs.
    pub async fn enter(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.0.enter(true).await
    }
}

struct Inner {
    http: reqwest::Client,
    policy: Policy,
    gate: Gate,
    service: String,
    secrets: Vec<String>,
    key_hint: Option<String>,
}

/// An HTTP client with mural's policy. Clones share limits.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// Builds a [`Client`].
pub struct ClientBuilder {
    service: String,
    policy: Policy,
    limit: Limit,
    secrets: Vec<String>,
    key_hint: Option<String>,
}

impl ClientBuilder {
    pub fn policy(mut self, p: Policy) -> Self {
        self.policy = p;
        self
    }
    pub fn limit(mut self, l: Limit) -> Self {
        self.limit = l;
        self
    }
    /// A value never to show: it is scrubbed from every message.
    pub fn secret(mut self, s: &str) -> Self {
        if s.len() >= 4 {
            self.secrets.push(s.to_string());
        }
        self
    }
    /// Where the key comes from ("OPENAI_API_KEY"), named in auth errors.
    pub fn key_hint(mut self, hint: &str) -> Self {
        self.key_hint = Some(hint.to_string());
        self
    }
    pub fn build(self) -> Result<Client, HttpError> {
        let http = reqwest::Client::builder()
            .connect_timeout(self.policy.connect_timeout)
            .timeout(self.policy.timeout)
            .user_agent(concat!("mural/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HttpError::new(Kind::Failed, format!("cannot set up HTTP: {e}")))?;
        let secrets = secret_list(self.secrets);
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                gate: Gate::new(self.limit),
                policy: self.policy,
                service: self.service,
                secrets,
                key_hint: self.key_hint,
            }),
        })
    }
}

impl Client {
    /// `service` names the backend in messages ("openai at https://...").
    pub fn builder(service: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            service: service.into(),
            policy: Policy::default(),
            limit: Limit::default(),
            secrets: Vec::new(),
            key_hint: None,
        }
    }

    pub fn service(&self) -> &str {
        &self.inner.service
    }

    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// Scrubs every registered secret and any `user:password@` in URLs.
    pub fn redact(&self, s: &str) -> String {
        redact_secrets(&redact_userinfo(s), &self.inner.secrets)
    }

    /// A call that counts against the rate limit (a generation).
    pub async fn call<T>(
        &self,
        what: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        judge: impl Fn(&Reply) -> Verdict<T>,
    ) -> Result<T, HttpError> {
        self.run(what, true, build, judge).await
    }

    /// A call that does not count against the rate limit (status polls,
    /// downloads, model lists), with the same retries.
    pub async fn fetch<T>(
        &self,
        what: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        judge: impl Fn(&Reply) -> Verdict<T>,
    ) -> Result<T, HttpError> {
        self.run(what, false, build, judge).await
    }

    async fn run<T>(
        &self,
        what: &str,
        metered: bool,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        judge: impl Fn(&Reply) -> Verdict<T>,
    ) -> Result<T, HttpError> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome = {
                let _permit = self.inner.gate.enter(metered).await;
                match self.send(build(&self.inner.http)).await {
                    Ok(reply) => judge(&reply),
                    Err(v) => v.cast(),
                }
            };
            match self.settle(what, attempt, outcome) {
                Step::Return(r) => return r,
                Step::Wait(d) => tokio::time::sleep(d).await,
            }
        }
    }

    /// What one attempt's verdict means: a result to return (messages
    /// redacted and prefixed), or a wait before the next attempt.
    fn settle<T>(&self, what: &str, attempt: u32, outcome: Verdict<T>) -> Step<T> {
        let (message, hint) = match outcome {
            Verdict::Done(t) => return Step::Return(Ok(t)),
            Verdict::Fail(mut e) => {
                e.message = self.redact(&format!("{}: {what}: {}", self.service(), e.message));
                e.attempts = attempt;
                return Step::Return(Err(e));
            }
            Verdict::Retry {
                message,
                retry_after,
            } => (message, retry_after),
        };
        if attempt > self.inner.policy.max_retries {
            return Step::Return(Err(HttpError {
                kind: Kind::Unavailable,
                message: self.redact(&format!(
                    "{}: {what}: {message} (gave up after {attempt} attempt{})",
                    self.service(),
                    if attempt == 1 { "" } else { "s" }
                )),
                attempts: attempt,
            }));
        }
        Step::Wait(self.backoff(attempt, hint))
    }

    /// A streamed call (server-sent events and the like): `on_chunk` hears
    /// each piece of a successful body as it arrives. A failed reply goes to
    /// `judge` whole, as in [`Client::call`]. Retries happen only before the
    /// first piece: a stream cut off midway fails rather than repeat text
    /// the caller has already shown.
    pub async fn stream(
        &self,
        what: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        on_chunk: &mut (dyn FnMut(&[u8]) + Send),
        judge: impl Fn(&Reply) -> Verdict<()>,
    ) -> Result<(), HttpError> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome: Verdict<()> = {
                let _permit = self.inner.gate.enter(true).await;
                match build(&self.inner.http).send().await {
                    Err(e) => self.transport(e),
                    Ok(resp) if !resp.status().is_success() => {
                        let status = resp.status().as_u16();
                        let headers = resp.headers().clone();
                        match self.read_body(resp).await {
                            Ok(body) => judge(&Reply {
                                status,
                                headers,
                                body,
                            }),
                            Err(v) => v.cast(),
                        }
                    }
                    Ok(mut resp) => {
                        let mut got = false;
                        let mut total = 0usize;
                        loop {
                            match resp.chunk().await {
                                Ok(Some(c)) => {
                                    total = total.saturating_add(c.len());
                                    if total > self.inner.policy.max_body {
                                        break self.too_large();
                                    }
                                    got = true;
                                    on_chunk(&c);
                                }
                                Ok(None) => break Verdict::Done(()),
                                Err(e) if !got => break self.transport(e),
                                Err(e) => {
                                    let message = match self.transport::<()>(e) {
                                        Verdict::Retry { message, .. } => message,
                                        _ => "the connection failed".to_string(),
                                    };
                                    break Verdict::Fail(HttpError::new(
                                        Kind::Unavailable,
                                        format!("the stream was cut off: {message}"),
                                    ));
                                }
                            }
                        }
                    }
                }
            };
            match self.settle(what, attempt, outcome) {
                Step::Return(r) => return r,
                Step::Wait(d) => tokio::time::sleep(d).await,
            }
        }
    }

    /// The wait before retry number `attempt` (1-based).
    pub fn backoff(&self, attempt: u32, hint: Option<Duration>) -> Duration {
        let p = &self.inner.policy;
        if let Some(h) = hint {
            return h.min(p.max_retry_after);
        }
        let exp = p
            .initial_backoff
            .saturating_mul(1u32 << (attempt - 1).min(16))
            .min(p.max_backoff);
        exp.mul_f64(1.0 - 0.25 * fastrand::f64())
    }

    /// A transport failure (connect, timeout, cut-off body), as a retry.
    fn transport<T>(&self, e: reqwest::Error) -> Verdict<T> {
        let mut reason = if e.is_timeout() {
            format!(
                "timed out after {:.1}s",
                self.inner.policy.timeout.as_secs_f64()
            )
        } else if e.is_connect() {
            "cannot connect".to_string()
        } else if e.is_body() || e.is_decode() {
            "the reply was cut off".to_string()
        } else {
            "the request failed".to_string()
        };
        let mut source = std::error::Error::source(&e);
        let mut last = String::new();
        while let Some(s) = source {
            last = s.to_string();
            source = s.source();
        }
        if !last.is_empty() {
            reason.push_str(&format!(" ({last})"));
        }
        if let Some(url) = e.url() {
            reason.push_str(&format!(" [{}]", redact_userinfo(url.as_str())));
        }
        Verdict::Retry {
            message: reason,
            retry_after: None,
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Reply, Verdict<Reply>> {
        let resp = req.send().await.map_err(|e| self.transport(e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = self.read_body(resp).await?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// A reply over [`Policy::max_body`]: the same server would send it
    /// again, so it is not retried.
    fn too_large<T>(&self) -> Verdict<T> {
        Verdict::Fail(HttpError::new(
            Kind::Failed,
            format!(
                "the reply is larger than {}, more than mural accepts; check the server's URL and what it sends",
                size_text(self.inner.policy.max_body)
            ),
        ))
    }

    /// Reads a body piece by piece, refusing it once it passes
    /// [`Policy::max_body`] (at once when `content-length` says it will).
    async fn read_body(&self, mut resp: reqwest::Response) -> Result<Bytes, Verdict<Reply>> {
        let cap = self.inner.policy.max_body;
        let declared = resp.content_length().unwrap_or(0);
        if declared > cap as u64 {
            return Err(self.too_large());
        }
        let mut body = Vec::with_capacity(declared as usize);
        while let Some(piece) = resp.chunk().await.map_err(|e| self.transport(e))? {
            if body.len() + piece.len() > cap {
                return Err(self.too_large());
            }
            body.extend_from_slice(&piece);
        }
        Ok(Bytes::from(body))
    }

    /// A reply's JSON body: the [`classify`](Client::classify) verdict for
    /// an error status, a retry for a body that is not JSON.
    pub fn json_body<T>(&self, r: &Reply) -> Result<Value, Verdict<T>> {
        if let Some(v) = self.classify(r) {
            return Err(v);
        }
        r.json().map_err(Verdict::cast)
    }

    /// The standard reading of a non-2xx reply: `None` for success.
    ///
    /// Refusals (content policy, moderation), bad requests, auth and quota
    /// fail at once; 408, 409, 429 and 5xx are retried, honoring
    /// `retry-after-ms`, `retry-after` and `x-should-retry`.
    pub fn classify<T>(&self, r: &Reply) -> Option<Verdict<T>> {
        if r.is_success() {
            return None;
        }
        let json: Option<Value> = serde_json::from_slice(&r.body).ok();
        let message = json.as_ref().and_then(error_message).unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&r.body);
            let text = text.trim();
            if text.is_empty() {
                String::new()
            } else {
                text.chars().take(300).collect()
            }
        });
        let code = json.as_ref().and_then(error_code).unwrap_or_default();
        let detail = if message.is_empty() {
            format!("HTTP {}", r.status)
        } else {
            format!("HTTP {}: {message}", r.status)
        };
        const REFUSALS: &[&str] = &[
            "content_policy_violation",
            "moderation_blocked",
            "content_filter",
            "content_moderation",
            "content_filtered",
            "safety",
        ];
        if REFUSALS.iter().any(|c| code.eq_ignore_ascii_case(c)) {
            return Some(Verdict::Fail(HttpError::new(Kind::Refused, detail)));
        }
        if code == "insufficient_quota" || code == "billing_hard_limit_reached" {
            return Some(Verdict::Fail(HttpError::new(
                Kind::Quota,
                format!("{detail}; check the account's plan and billing"),
            )));
        }
        let should_retry = r.header("x-should-retry");
        if should_retry == Some("false") {
            return Some(Verdict::Fail(HttpError::new(Kind::Failed, detail)));
        }
        let retryable = matches!(r.status, 408 | 409 | 429) || r.status >= 500;
        if retryable || should_retry == Some("true") {
            return Some(Verdict::Retry {
                message: detail,
                retry_after: retry_after(&r.headers),
            });
        }
        let kind = match r.status {
            401 | 403 => Kind::Auth,
            400 | 404 | 405 | 413 | 415 | 422 => Kind::InvalidRequest,
            _ => Kind::Failed,
        };
        let detail = match (kind, &self.inner.key_hint) {
            (Kind::Auth, Some(hint)) => format!("{detail}; check {hint}"),
            (Kind::Auth, None) => format!("{detail}; check the credentials"),
            _ => detail,
        };
        Some(Verdict::Fail(HttpError::new(kind, detail)))
    }
}

/// The server's hint for when to try again: `retry-after-ms`, then
/// `retry-after` as seconds or an HTTP date.
pub fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        if ms.is_finite() && ms >= 0.0 {
            return Some(Duration::from_secs_f64(ms / 1000.0));
        }
    }
    let v = get("retry-after")?;
    if let Ok(s) = v.parse::<f64>() {
        return (s.is_finite() && s >= 0.0).then(|| Duration::from_secs_f64(s));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The human message in an error body, whatever its shape: OpenAI's
/// `{"error":{"message"}}`, `{"error":"..."}`, FastAPI's `{"detail"}`,
/// Stability's `{"errors":[...]}`, ComfyUI's `node_errors`.
pub fn error_message(v: &Value) -> Option<String> {
    let text = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Array(a) => {
                let parts: Vec<String> = a
                    .iter()
                    .filter_map(|x| match x {
                        Value::String(s) => Some(s.clone()),
                        Value::Object(o) => o
                            .get("msg")
                            .or_else(|| o.get("message"))
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        _ => None,
                    })
                    .collect();
                (!parts.is_empty()).then(|| parts.join("; "))
            }
            _ => None,
        }
    };
    let mut msg = match v.get("error") {
        Some(Value::Object(e)) => e.get("message").and_then(text),
        Some(e) => text(e),
        None => None,
    };
    if msg.is_none() {
        msg = ["message", "detail", "errors", "failure", "name"]
            .iter()
            .find_map(|k| v.get(k).and_then(text));
    }
    // ComfyUI: the node that failed and why
    if let Some(Value::Object(nodes)) = v.get("node_errors") {
        let mut parts = Vec::new();
        for (id, n) in nodes {
            let class = n.get("class_type").and_then(Value::as_str).unwrap_or("?");
            if let Some(errs) = n.get("errors").and_then(Value::as_array) {
                for e in errs {
                    let m = e.get("message").and_then(Value::as_str).unwrap_or("error");
                    let d = e.get("details").and_then(Value::as_str).unwrap_or("");
                    parts.push(format!("node {id} ({class}): {m} {d}").trim().to_string());
                }
            }
        }
        if !parts.is_empty() {
            let nodes = parts.join("; ");
            msg = Some(match msg {
                Some(m) => format!("{m}: {nodes}"),
                None => nodes,
            });
        }
    }
    msg
}

/// The machine-readable error code, as a string even when the server sends
/// a number (some OpenAI-compatible servers do).
pub fn error_code(v: &Value) -> Option<String> {
    let as_text = |c: &Value| match c {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match v.get("error") {
        Some(Value::Object(e)) => e
            .get("code")
            .and_then(as_text)
            .or_else(|| e.get("type").and_then(as_text)),
        _ => v
            .get("code")
            .or_else(|| v.get("name"))
            .or_else(|| v.get("failureCode"))
            .and_then(as_text),
    }
}

/// Secrets ready for [`redact_secrets`]: at least 4 characters (shorter
/// ones would scrub ordinary words), no repeats, longest first (so a secret
/// containing another is scrubbed whole).
pub fn secret_list(secrets: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = secrets.into_iter().filter(|s| s.len() >= 4).collect();
    out.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    out.dedup();
    out
}

/// Replaces every secret of a [`secret_list`] in `s` with `[redacted]`.
pub fn redact_secrets(s: &str, secrets: &[String]) -> String {
    let mut out = s.to_string();
    for secret in secrets {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "[redacted]");
        }
    }
    out
}

/// A byte count as people say it: "64 MiB", "512 KiB", "100 bytes".
pub fn size_text(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes % (1 << 10) == 0 {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

/// Replaces `scheme://user:password@` with `scheme://[redacted]@`.
pub fn redact_userinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                out.push_str("[redacted]");
                out.push_str(&tail[at..end]);
            }
            None => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_scrubbed() {
        assert_eq!(
            redact_userinfo("GET http://bob:hunter2@host:7860/sdapi failed"),
            "GET http://[redacted]@host:7860/sdapi failed"
        );
        assert_eq!(redact_userinfo("http://host/x"), "http://host/x");
    }

    #[test]
    fn secrets_are_scrubbed_longest_first() {
        let c = Client::builder("t")
            .secret("sk-abc")
            .secret("sk-abcdef")
            .build()
            .unwrap();
        assert_eq!(
            c.redact("key sk-abcdef and sk-abc"),
            "key [redacted] and [redacted]"
        );
    }

    #[test]
    fn error_shapes() {
        let openai: Value = serde_json::json!({"error": {"message": "bad size", "type": "invalid_request_error", "param": "size", "code": null}});
        assert_eq!(error_message(&openai).unwrap(), "bad size");
        assert_eq!(error_code(&openai).unwrap(), "invalid_request_error");
        let llama: Value =
            serde_json::json!({"error": {"code": 400, "message": "n > 1 unsupported"}});
        assert_eq!(error_code(&llama).unwrap(), "400");
        let comfy: Value = serde_json::json!({"error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation"},
            "node_errors": {"4": {"class_type": "CheckpointLoaderSimple", "errors": [{"message": "Value not in list", "details": "ckpt_name: 'x' not in []"}]}}});
        let m = error_message(&comfy).unwrap();
        assert!(
            m.contains("failed validation") && m.contains("node 4 (CheckpointLoaderSimple)"),
            "{m}"
        );
        let fastapi: Value = serde_json::json!({"detail": [{"loc": ["body", "steps"], "msg": "value is not a valid integer"}]});
        assert_eq!(
            error_message(&fastapi).unwrap(),
            "value is not a valid integer"
        );
        let stability: Value = serde_json::json!({"id": "x", "name": "bad_request", "errors": ["aspect_ratio: invalid"]});
        assert_eq!(error_message(&stability).unwrap(), "aspect_ratio: invalid");
    }

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(150)));
        let mut h = HeaderMap::new();
        let later = std::time::SystemTime::now() + Duration::from_secs(30);
        h.insert(
            "retry-after",
            httpdate::fmt_http_date(later).parse().unwrap(),
        );
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        h.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn backoff_grows_and_honors_hints_up_to_the_cap() {
        let c = Client::builder("t").build().unwrap();
        let b1 = c.backoff(1, None);
        let b3 = c.backoff(3, None);
        assert!(b1 <= Duration::from_millis(500) && b1 >= Duration::from_millis(375));
        assert!(b3 <= Duration::from_secs(2) && b3 >= Duration::from_millis(1500));
        assert_eq!(
            c.backoff(9, None).max(Duration::from_secs(8)),
            Duration::from_secs(8)
        );
        assert_eq!(
            c.backoff(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            c.backoff(1, Some(Duration::from_secs(600))),
            Duration::from_secs(60)
        );
    }
}
